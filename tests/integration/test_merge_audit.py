"""Merging contacts stays an agent's action, and each merge is recorded: an audit record with who merged, when, and
the two contact ids; never a name, a phone number or an address."""

from __future__ import annotations

import json

from tests.integration.test_whatsapp_flow import post, wa_message, wa_payload


def new_contact(stack, sender: str, name: str) -> dict:
    post(stack, wa_payload(wa_message(f"wamid.m.{sender}", sender=sender, text="hello"), sender=sender, name=name))
    stack.drain("ProcessorFunction")
    conv = next(c for c in stack.http("GET", "/api/conversations", role="agent").json()["items"]
                if c["contact"]["name"] == name)
    stack.http("PATCH", f"/api/contacts/{conv['contact']['id']}", {"email": f"{sender}@example.org"}, role="agent")
    return conv["contact"]


def test_an_agent_merges_and_the_merge_is_audited_without_personal_data(stack):
    keep, other = new_contact(stack, "15559990001", "Maria Keep"), new_contact(stack, "15559990002", "Maria Other")
    r = stack.http("POST", f"/api/contacts/{keep['id']}/merge", {"other": other["id"]}, role="agent")
    assert r.status == 200
    (record,) = [a for a in stack.items("AUDIT#") if a["kind"] == "contact_merge"]
    assert record["actor"] == "agent@example.com" and record["target"] == keep["id"] and record["merged"] == other["id"]
    assert record["at"] and record["counts"] == {"identities": 2, "conversations": 1}
    dump = json.dumps(record)
    for personal in ("Maria", "15559990001", "15559990002", "example.org"):
        assert personal not in dump
    # a refused merge (into itself, or of a contact that is gone) records nothing
    assert stack.http("POST", f"/api/contacts/{keep['id']}/merge", {"other": keep["id"]}, role="agent").status == 400
    assert stack.http("POST", f"/api/contacts/{keep['id']}/merge", {"other": other["id"]}, role="agent").status == 404
    assert len([a for a in stack.items("AUDIT#") if a["kind"] == "contact_merge"]) == 1

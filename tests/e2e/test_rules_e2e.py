"""Automation rules and macros as a new user would try them on the local stack (issue 19's "done when"): the refund
rule routes, labels and prioritizes a WhatsApp message once even when it is delivered twice; after the clock moves
three days a pending conversation is resolved by the idle rule (TimersFunction, with its own IAM role enforced); an
agent applies a macro that replies, labels and resolves."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.conftest import running_stack
from tests.integration.test_whatsapp_flow import wa_message, wa_payload


@pytest.fixture(scope="module")
def stack():
    with running_stack() as s:  # its own clock: moving it must not disturb the other tests' stack
        yield s


def test_refund_rule_idle_rule_and_a_macro(stack):
    s = stack
    team = s.api("POST", "/api/teams", {"name": "Billing", "members": ["bill@example.com"]}, role="admin").json()
    r = s.api("POST", "/api/rules", {
        "name": "Refunds to billing", "event": "message.received",
        "conditions": [{"field": "channel", "op": "eq", "value": "whatsapp"},
                       {"field": "text", "op": "contains", "value": "refund"}],
        "actions": [{"type": "assign_team", "value": team["id"]}, {"type": "add_label", "value": "refund"},
                    {"type": "set_priority", "value": "high"}]}, role="admin")
    assert r.status == 201, r
    refund_rule = r.json()
    r = s.api("POST", "/api/rules", {"name": "Pending for 3 days: resolve", "event": "conversation.idle",
                                     "status": "pending", "idle_minutes": 3 * 24 * 60,
                                     "actions": [{"type": "resolve"}]}, role="admin")
    assert r.status == 201, r
    idle_rule = r.json()

    # A matching WhatsApp message, delivered twice
    sender = "1555" + str(uuid.uuid4().int)[:7]
    payload = wa_payload(wa_message(f"wamid.{uuid.uuid4().hex}", sender=sender, text="I want a refund"), sender=sender,
                         name="Rita")
    assert s.post_meta("whatsapp", payload).status == 200
    assert s.post_meta("whatsapp", payload).status == 200
    conv = s.wait_for(lambda: next((c for c in s.conversations() if c["contact"]["name"] == "Rita"
                                    and c["priority"] == "high"), None), 20)
    assert conv and conv["labels"] == ["refund"] and conv["team"] == team["id"]
    runs = s.api("GET", f"/api/rules/{refund_rule['id']}/runs", role="admin").json()["items"]
    assert [(x["conversation_id"], x["outcome"]) for x in runs] == [(conv["id"], "ok")]

    # Pending, then three days pass: the idle rule resolves it, once
    assert s.api("POST", f"/api/conversations/{conv['id']}/pending").status == 200
    assert s.request("POST", "/_local/run/TimersFunction", b"").status == 200
    assert s.api("GET", f"/api/conversations/{conv['id']}").json()["status"] == "pending"
    s.request("POST", "/_local/clock", {"advance_seconds": 3 * 86400 + 60})
    assert s.request("POST", "/_local/run/TimersFunction", b"").status == 200
    resolved = s.api("GET", f"/api/conversations/{conv['id']}").json()
    assert resolved["status"] == "resolved" and resolved["resolved_by"] == f"automation:rule:{idle_rule['id']}"
    assert s.request("POST", "/_local/run/TimersFunction", b"").status == 200
    assert len(s.api("GET", f"/api/rules/{idle_rule['id']}/runs", role="admin").json()["items"]) == 1

    # An agent applies a macro that replies, labels and resolves (to a conversation whose window is open)
    sender = "1555" + str(uuid.uuid4().int)[:7]
    message = wa_message(f"wamid.{uuid.uuid4().hex}", sender=sender, text="where is my parcel?")
    message["timestamp"] = str(s.request("GET", "/_local/clock").json()["epoch"])  # written now, by the moved clock
    assert s.post_meta("whatsapp", wa_payload(message, sender=sender, name="Pia")).status == 200
    other = s.wait_for(lambda: next((c for c in s.conversations() if c["contact"]["name"] == "Pia"), None), 20)
    macro = s.api("POST", "/api/macros", {"name": "Shipped", "actions": [
        {"type": "send_message", "value": {"text": "It has shipped, {{contact.first_name}}!"}},
        {"type": "add_label", "value": "shipping"}, {"type": "resolve"}]}).json()
    r = s.api("POST", f"/api/conversations/{other['id']}/macros/{macro['id']}")
    assert r.status == 200, r
    assert r.json()["conversation"]["status"] == "resolved"
    assert [x["ok"] for x in r.json()["results"]] == [True, True, True], r.json()["results"]
    assert s.wait_for(lambda: any(m["text"] == "It has shipped, Pia!" and m["status"] == "sent"
                                  for m in s.messages(other["id"])), 20)
    outbox = [i["body"].get("text", {}).get("body") for i in s.request("GET", "/_local/outbox").json()["items"]
              if isinstance(i["body"], dict)]
    assert outbox.count("It has shipped, Pia!") == 1

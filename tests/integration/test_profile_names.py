"""Contacts agents can tell apart: a new Messenger or Instagram contact gets its name from the Graph API's user
profile (the sandbox answers it), once; a failed look-up never costs the message, and the contact then shows by
its channel address."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from infra.local.sandbox import Fault, profile
from switchboard.channels.base import Channel
from switchboard.channels.messenger import MessengerChannel
from switchboard.errors import ServiceUnavailable
from switchboard.store import contacts
from switchboard.store.table import Table
from tests.integration.test_meta_messaging import PAGE, conversation_of, from_customer, messages, now_ms, post
from tests.integration.test_whatsapp_flow import post as post_whatsapp
from tests.integration.test_whatsapp_flow import wa_message, wa_payload


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(channel, sender id) of every profile look-up the processor asks a channel for."""
    seen: list[tuple[str, str]] = []
    for cls in (Channel, MessengerChannel):
        real = cls.fetch_profile

        def spy(self: Any, sender_id: str, real: Any = real) -> str | None:
            seen.append((self.name, sender_id))
            return real(self, sender_id)

        monkeypatch.setattr(cls, "fetch_profile", spy)
    return seen


def write(stack, channel: str, psid: str, mid: str, text: str = "hello") -> None:
    post(stack, channel, {"id": PAGE, "time": now_ms(), "messaging": [
        from_customer(psid, message={"mid": mid, "text": text})]})


def test_a_new_messenger_contact_is_named_from_its_profile_once(stack, lookups):
    psid = f"PSID{uuid.uuid4().hex[:8]}"
    # When a customer writes for the first time
    write(stack, "messenger", psid, f"m_{psid}_1", "hi")
    # Then the contact, the conversation and the message carry the profile's name
    name = profile(psid)["name"]
    conv = conversation_of(stack, psid)
    assert conv["contact"]["name"] == name and conv["contact"]["display"] == name
    assert [m["sender"] for m in messages(stack, conv["id"])] == [name]
    assert stack.http("GET", f"/api/contacts/{conv['contact']['id']}", role="agent").json()["name"] == name
    # And their next messages look nothing up again
    write(stack, "messenger", psid, f"m_{psid}_2", "still there?")
    write(stack, "messenger", psid, f"m_{psid}_1", "hi")  # a redelivery
    assert lookups == [("messenger", psid)]


def test_an_instagram_contact_is_named_from_its_profile(stack, lookups):
    igsid = f"IGSID{uuid.uuid4().hex[:8]}"
    write(stack, "instagram", igsid, f"ig_{igsid}")
    assert conversation_of(stack, igsid)["contact"]["name"] == profile(igsid, instagram=True)["name"]
    assert lookups == [("instagram", igsid)]


def test_a_transient_graph_error_is_retried_within_the_call(stack):
    psid = f"PSID{uuid.uuid4().hex[:8]}"
    stack.sandbox.add_fault("messenger", Fault(status=503, count=1))
    write(stack, "messenger", psid, f"m_{psid}")
    assert conversation_of(stack, psid)["contact"]["name"] == profile(psid)["name"]


@pytest.mark.parametrize("fault", [Fault(status=500, count=50), Fault(status=400, count=1, body={
    "error": {"message": "No profile available for this user.", "code": 100, "error_subcode": 2018218}})])
def test_a_failed_look_up_stores_the_message_without_a_name(stack, fault):
    psid = f"PSID{uuid.uuid4().hex[:8]}"
    stack.sandbox.add_fault("messenger", fault)
    write(stack, "messenger", psid, f"m_{psid}", "where is my order?")
    stack.sandbox.faults.clear()
    # Then the message is there all the same, and the contact shows by its channel address
    conv = conversation_of(stack, psid)
    assert conv and [m["text"] for m in messages(stack, conv["id"])] == ["where is my order?"]
    assert conv["contact"]["name"] is None and conv["contact"]["display"] == f"Messenger {psid}"
    assert stack.queue_count("InboundQueue") == 0 and stack.queue_count("InboundDLQ") == 0


def test_a_look_up_that_raises_does_not_cost_the_message(stack, monkeypatch):
    def broken(self: Any, sender_id: str) -> str | None:
        raise ServiceUnavailable("secret unavailable")

    monkeypatch.setattr(MessengerChannel, "fetch_profile", broken)
    psid = f"PSID{uuid.uuid4().hex[:8]}"
    write(stack, "messenger", psid, f"m_{psid}", "hello?")
    conv = conversation_of(stack, psid)
    assert conv and [m["text"] for m in messages(stack, conv["id"])] == ["hello?"]


def test_a_contact_named_by_its_message_is_not_looked_up(stack, lookups):
    post_whatsapp(stack, wa_payload(wa_message("wamid.named", sender="15551230001"), name="Ann", sender="15551230001"))
    stack.drain("ProcessorFunction")
    assert lookups == []


def test_a_profile_name_never_replaces_a_name_already_set(stack):
    table = Table()
    named, _ = contacts.resolve(table, "messenger:PSIDnamed", "messenger", "PSIDnamed", "Set by an agent")
    assert contacts.name_if_unnamed(table, named.id, "From the profile").name == "Set by an agent"
    unnamed, _ = contacts.resolve(table, "messenger:PSIDunnamed", "messenger", "PSIDunnamed", None)
    assert contacts.name_if_unnamed(table, unnamed.id, "From the profile").name == "From the profile"
    assert contacts.get(table, unnamed.id).name == "From the profile"
    assert contacts.name_if_unnamed(table, "ct_gone", "Anyone") is None

"""Web chat on moto: sessions with an Origin allow-list, idempotent messages, each visitor reads only their own."""

from __future__ import annotations

import pytest

from switchboard.channels.webchat import read_token
from switchboard.errors import BadRequest, Forbidden, Unauthorized
from switchboard.services import webchat
from tests.integration.test_whatsapp_flow import conversations, messages


def visitor(origin: str | None = "https://shop.example.com", **body):
    session = webchat.start_session(origin, body)
    return session, read_token(f"Bearer {session['token']}")


def test_a_visitor_writes_an_agent_answers_and_the_visitor_reads_the_reply(stack):
    session, me = visitor(name="Eve")
    first = webchat.post_message(me, {"client_message_id": "c-0000001", "text": "Do you ship to Riga?"})
    again = webchat.post_message(me, {"client_message_id": "c-0000001", "text": "Do you ship to Riga?"})
    assert first["id"] == again["id"] and again["duplicate"] is True
    stack.drain("ProcessorFunction")
    (conv,) = conversations(stack)
    assert conv["channel"] == "webchat" and conv["contact"]["name"] == "Eve"
    assert [m["text"] for m in messages(stack, conv["id"])] == ["Do you ship to Riga?"]  # stored once
    stack.http("POST", f"/api/conversations/{conv['id']}/messages", {"text": "Yes, in 2 days."}, role="agent")
    stack.http("POST", f"/api/conversations/{conv['id']}/notes", {"text": "internal"}, role="agent")
    stack.drain("SenderFunction")
    items = webchat.list_messages(me)["items"]
    assert [(m["from"], m["text"]) for m in items] == [("you", "Do you ship to Riga?"), ("agent", "Yes, in 2 days.")]
    # the same browser resumes its conversation with its visitor id
    _, resumed = visitor(visitor_id=session["visitor_id"])
    assert len(webchat.list_messages(resumed)["items"]) == 2


def test_a_visitor_never_reads_another_visitors_conversation(stack):
    _, alice = visitor()
    _, mallory = visitor()
    webchat.post_message(alice, {"client_message_id": "a-0000001", "text": "my secret order"})
    stack.drain("ProcessorFunction")
    assert webchat.list_messages(mallory)["items"] == []
    with pytest.raises(BadRequest):
        visitor(visitor_id="v_guess")  # ids are ours: 128 random bits, not guessable or made up
    with pytest.raises(Unauthorized):
        read_token("Bearer " + "x" * 40 + ".y")


def test_origin_allow_list_and_bad_input(stack, settings_env):
    settings_env(WEBCHAT_ALLOWED_ORIGINS="https://shop.example.com")
    assert visitor("https://shop.example.com")[0]["token"]
    with pytest.raises(Forbidden):
        visitor("https://evil.example.net")
    with pytest.raises(Forbidden):
        visitor(None)
    _, me = visitor()
    for bad in ({"client_message_id": "short", "text": "x"}, {"client_message_id": "c-0000002", "text": ""},
                {"client_message_id": "c-0000003", "text": "x" * 10_001}, {"text": "no id"}):
        with pytest.raises(BadRequest):
            webchat.post_message(me, bad)
    stack.drain("ProcessorFunction")
    assert conversations(stack) == []


def test_tokens_expire(stack):
    from switchboard import clock

    session, _ = visitor()
    clock.advance(5 * 3600)
    with pytest.raises(Unauthorized):
        read_token(f"Bearer {session['token']}")


def test_an_email_ties_a_chat_to_a_contact_only_when_the_website_vouches_for_it(stack):
    from switchboard.channels.webchat import identity_hash

    with pytest.raises(Forbidden):
        visitor(email="victim@example.com")  # anyone can type an address
    with pytest.raises(Forbidden):
        visitor(email="victim@example.com", identity_hash="0" * 64)
    _, me = visitor(email="Known@Example.com", identity_hash=identity_hash("known@example.com"))
    assert me.identity == "email:known@example.com"

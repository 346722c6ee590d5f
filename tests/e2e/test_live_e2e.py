"""The live workspace (issue 15) on the local stack: the WebSocket at /ws, events after a signed webhook, presence
and typing between agents, visitors kept to their own conversation, refused tokens."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.integration.test_whatsapp_flow import wa_message, wa_payload


def ws_url(s, **query: str) -> str:
    from urllib.parse import urlencode

    return s.base.replace("http://", "ws://") + "/ws?" + urlencode(query)


def agent_socket(s, email: str) -> ClientConnection:
    token = s.request("POST", "/_local/token", {"email": email, "role": "agent"}).json()["token"]
    return connect(ws_url(s, token=token), open_timeout=20)


def next_event(ws: ClientConnection, predicate, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, "no such event"
        event = json.loads(ws.recv(timeout=left))
        if predicate(event):
            return event


def every_event(ws: ClientConnection, *predicates, timeout: float = 20) -> list[dict]:
    """The first event matching each predicate, whatever order they arrive in."""
    found: list[dict | None] = [None] * len(predicates)
    deadline = time.monotonic() + timeout
    while not all(found):
        left = deadline - time.monotonic()
        assert left > 0, f"no such events: {[i for i, f in enumerate(found) if f is None]}"
        event = json.loads(ws.recv(timeout=left))
        for i, predicate in enumerate(predicates):
            if found[i] is None and predicate(event):
                found[i] = event
                break
    return found  # type: ignore[return-value]


def no_event(ws: ClientConnection, predicate, wait: float = 3) -> None:
    deadline = time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0:
        try:
            event = json.loads(ws.recv(timeout=left))
        except TimeoutError:
            return
        assert not predicate(event), event


def test_a_connected_agent_receives_message_created_after_a_signed_webhook(local_stack):
    s = local_stack
    sender = "3715" + str(uuid.uuid4().int)[:7]
    with agent_socket(s, "ann@example.com") as ann, agent_socket(s, "bob@example.com") as bob:
        assert s.post_meta("whatsapp", wa_payload(wa_message(f"wamid.live.{sender}", sender=sender, text="hello"),
                                                  sender=sender)).status == 200
        events = [next_event(ws, lambda e: e["type"] == "message.created" and e["direction"] == "inbound")
                  for ws in (ann, bob)]  # both agents at once
        conv_id = events[0]["conversation_id"]
        assert events[1]["conversation_id"] == conv_id and "text" not in events[0]  # ids only, read through the API
        assert any(m["id"] == events[0]["message_id"] for m in s.messages(conv_id))
        # presence and typing go to the other agents, not back to the one who sent them
        ann.send(json.dumps({"action": "viewing", "conversation_id": conv_id}))
        seen = next_event(bob, lambda e: e["type"] == "presence")
        assert seen == {"type": "presence", "conversation_id": conv_id, "agent": "ann@example.com"}
        ann.send(json.dumps({"action": "typing", "conversation_id": conv_id}))
        assert next_event(bob, lambda e: e["type"] == "typing")["agent"] == "ann@example.com"
        no_event(ann, lambda e: e["type"] in ("presence", "typing"), wait=1)
        # a change of assignee reaches everyone, and the new assignee's notification reaches them
        r = s.api("POST", f"/api/conversations/{conv_id}/assign", {"agent": "bob@example.com"})
        assert r.status == 200
        assert next_event(ann, lambda e: e["type"] == "conversation.updated")["assignee"] == "bob@example.com"
        note = next_event(bob, lambda e: e["type"] == "notification")
        assert note["notification"]["type"] == "assigned" and note["conversation_id"] == conv_id
        # a reply: message.created, then its delivery status
        r = s.api("POST", f"/api/conversations/{conv_id}/messages", {"text": "Hi!"})
        assert r.status == 202
        reply_id = r.json()["id"]
        # (in either order: the API's push and the sender's receipt race, as they do on AWS)
        created, updated = every_event(ann, lambda e: e["type"] == "message.created" and e["message_id"] == reply_id,
                                       lambda e: e["type"] == "message.updated" and e["message_id"] == reply_id
                                       and e.get("status") == "sent")
        assert created["direction"] == "outbound" and updated["status"] == "sent"


def test_forged_and_expired_tokens_are_refused_at_connect(local_stack):
    s = local_stack
    token = s.request("POST", "/_local/token", {"email": "ann@example.com", "role": "agent"}).json()["token"]
    header, body, _ = token.split(".")
    for bad in ({"token": f"{header}.{body}.forged"}, {"token": "nonsense"}, {"visitor_token": "v1.nonsense"}, {}):
        with pytest.raises(InvalidStatus) as refused:
            connect(ws_url(s, **bad), open_timeout=20)
        assert refused.value.response.status_code == 401, bad


def test_a_visitor_hears_only_their_own_conversation(local_stack):
    s = local_stack

    def session() -> str:
        r = s.request("POST", "/webchat/sessions", {"widget_id": "live-e2e"}, {"Origin": "http://127.0.0.1"})
        assert r.status == 201, r
        return r.json()["token"]

    def say(token: str, text: str) -> None:
        r = s.request("POST", "/webchat/messages", {"client_message_id": uuid.uuid4().hex, "text": text},
                      {"Authorization": f"Bearer {token}"})
        assert r.status in (200, 201), r

    first, second = session(), session()
    say(first, "first visitor")
    say(second, "second visitor")

    def conversation_with(text: str) -> str:
        def found():
            for conv in s.conversations(channel="webchat"):
                if any(m["text"] == text for m in s.messages(conv["id"])):
                    return conv["id"]
            return None

        conv_id = s.wait_for(found)
        assert conv_id
        return conv_id

    conv_first, conv_second = conversation_with("first visitor"), conversation_with("second visitor")
    with connect(ws_url(s, visitor_token=first), open_timeout=20) as visitor:
        assert s.api("POST", f"/api/conversations/{conv_second}/messages", {"text": "to the second"}).status == 202
        r = s.api("POST", f"/api/conversations/{conv_first}/messages", {"text": "to the first"})
        assert r.status == 202
        assert s.api("POST", f"/api/conversations/{conv_first}/notes", {"text": "internal"}).status == 201
        # the first event it hears is its own agent reply: not the other visitor's, not the note
        event = next_event(visitor, lambda e: True)
        assert event == {"type": "message.created", "conversation_id": conv_first, "message_id": r.json()["id"]}
        no_event(visitor, lambda e: True, wait=3)  # nothing else (no delivery statuses, no notes)

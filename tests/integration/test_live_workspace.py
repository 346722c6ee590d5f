"""The live workspace (issue 15) on moto: no double replies (`after`), notifications."""

from __future__ import annotations

import json
import time

from switchboard import clock
from tests.integration.test_agent_api import api, conversation_from
from tests.integration.test_whatsapp_flow import messages, post, wa_message, wa_payload


def _newest(stack, conv_id: str) -> str:
    return messages(stack, conv_id)[-1]["id"]


def test_a_reply_after_the_newest_message_goes_and_a_crossed_one_is_refused(stack):
    conv = conversation_from(stack, "15550001501", "w.live.1", "hello")
    seen = _newest(stack, conv["id"])
    time.sleep(1.1)  # WhatsApp's timestamps are in seconds: same-second messages are ordered by id (see crossing.py)
    # the customer writes again before the agent answers
    post(stack, wa_payload(wa_message("w.live.2", sender="15550001501", text="are you there?"), sender="15550001501"))
    stack.drain("ProcessorFunction")
    r = api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"text": "Hi!", "after": seen})
    assert r.status == 409 and r.json()["error"]["code"] == "conversation_changed", r
    assert not [m for m in messages(stack, conv["id"]) if m["direction"] == "outbound"]  # nothing stored or queued
    assert stack.drain("SenderFunction") == 0
    # having read it, the same draft goes
    r = api(stack, "POST", f"/api/conversations/{conv['id']}/messages",
            {"text": "Hi!", "after": _newest(stack, conv["id"])})
    assert r.status == 202, r


def test_a_colleagues_reply_crosses_but_my_own_and_notes_do_not(stack):
    conv = conversation_from(stack, "15550001502", "w.live.3", "hello")
    seen = _newest(stack, conv["id"])
    # my own reply (from another tab) and a colleague's note do not stop me
    assert api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"text": "one", "after": seen}).status == 202
    assert api(stack, "POST", f"/api/conversations/{conv['id']}/notes", {"text": "fyi"}, role="admin").status == 201
    assert api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"text": "two", "after": seen}).status == 202
    # a colleague answers: my reply would cross theirs
    assert api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"text": "me too"}, role="admin").status \
        == 202
    r = api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"text": "three", "after": seen})
    assert r.status == 409 and r.json()["error"]["code"] == "conversation_changed"
    assert [m["text"] for m in messages(stack, conv["id"]) if m["direction"] == "outbound" and m["type"] != "note"] \
        == ["one", "two", "me too"]


def test_after_must_name_a_message_of_the_conversation(stack):
    conv = conversation_from(stack, "15550001503", "w.live.4", "hello")
    r = api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"text": "x", "after": "m_nope"})
    assert r.status == 400 and r.json()["error"]["code"] == "unknown_message"
    assert api(stack, "POST", "/api/conversations/cv_missing/messages", {"text": "x", "after": "m_nope"}).status \
        == 404
    assert api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"text": "x", "after": ""}).status == 422


# -- notifications ---------------------------------------------------------------------------------------------------
def as_user(stack, email: str, method: str, path: str, body=None, role: str = "agent"):
    """A request as a named agent (stack.http names agents by their role)."""
    from infra.local import auth
    from infra.local.events import http_event
    from infra.local.lambdas import match
    from tests.integration.conftest import Response

    headers = {"Content-Type": "application/json"} if body is not None else {}
    route, params = match(stack.routes, method, path)
    claims = auth.verify(f"Bearer {auth.issue(email, role)}")
    event = http_event(method, path, "", headers, json.dumps(body).encode() if body is not None else b"",
                       f"{route.method} {route.path}", params, claims, "127.0.0.1")
    result = stack.functions[route.function].invoke(event)
    return Response(result["statusCode"], result.get("body") or "", result.get("headers") or {})


def notes_of(stack, email: str) -> dict:
    r = as_user(stack, email, "GET", "/api/notifications")
    assert r.status == 200, r
    return r.json()


def test_a_mention_in_a_note_notifies_the_agent_once_and_it_can_be_read(stack):
    conv = conversation_from(stack, "15550001504", "w.live.5", "hello")
    for who in ("ann.lee@example.com", "bob@example.com"):  # agents known by their availability
        assert as_user(stack, who, "PUT", "/api/me/availability", {"available": False}).status == 200
    r = as_user(stack, "bob@example.com", "POST", f"/api/conversations/{conv['id']}/notes",
                {"text": "@ann can you look? cc @nobody and @bob@example.com"})
    assert r.status == 201
    note_id = r.json()["id"]
    mine = notes_of(stack, "ann.lee@example.com")
    assert mine["unread"] == 1
    (item,) = mine["items"]
    assert item["type"] == "mention" and item["conversation_id"] == conv["id"] and item["by"] == "bob@example.com"
    assert item["message_id"] == note_id and item["read"] is False
    assert notes_of(stack, "bob@example.com")["items"] == []  # never by mentioning oneself
    assert "ann.lee@example.com" in [i["email"] for i in as_user(stack, "x@example.com", "GET",
                                                                  "/api/mentionable").json()["items"]]
    # someone else's read names nothing of hers; her own does
    assert as_user(stack, "bob@example.com", "POST", "/api/notifications/read", {"ids": [item["id"]]}).json() \
        == {"read": 0}
    assert as_user(stack, "ann.lee@example.com", "POST", "/api/notifications/read", {"ids": [item["id"]]}).json() \
        == {"read": 1}
    assert notes_of(stack, "ann.lee@example.com")["unread"] == 0
    for bad in ({"ids": []}, {"ids": ["../x"]}, {}):
        assert as_user(stack, "ann.lee@example.com", "POST", "/api/notifications/read", bad).status == 422


def test_assigned_and_customer_replied_notify_the_assignee_once_under_redelivery(stack):
    conv = conversation_from(stack, "15550001505", "w.live.6", "hello")
    as_user(stack, "ann@example.com", "POST", f"/api/conversations/{conv['id']}/assign", {"agent": "ann@example.com"})
    assert notes_of(stack, "ann@example.com")["items"] == []  # assigned to herself: nothing to tell
    as_user(stack, "bob@example.com", "POST", f"/api/conversations/{conv['id']}/assign", {"agent": "cy@example.com"})
    (assigned,) = notes_of(stack, "cy@example.com")["items"]
    assert assigned["type"] == "assigned" and assigned["by"] == "bob@example.com"
    payload = wa_payload(wa_message("w.live.7", sender="15550001505", text="any news?"), sender="15550001505")
    post(stack, payload)
    post(stack, payload)  # the provider's retry
    stack.drain("ProcessorFunction")
    kinds = [i["type"] for i in notes_of(stack, "cy@example.com")["items"]]
    assert sorted(kinds) == ["assigned", "customer_replied"]  # each once (ordered by when each happened)


def test_erasing_the_contact_deletes_the_notifications_that_name_its_conversation(stack):
    conv = conversation_from(stack, "15550001506", "w.live.8", "hello")
    as_user(stack, "bob@example.com", "POST", f"/api/conversations/{conv['id']}/assign", {"agent": "cy@example.com"})
    assert len(notes_of(stack, "cy@example.com")["items"]) == 1
    r = stack.http("DELETE", f"/api/contacts/{conv['contact']['id']}", role="admin")
    assert r.status in (200, 204), r
    assert notes_of(stack, "cy@example.com")["items"] == []


def test_an_sla_warning_notifies_the_assignee_once_even_when_its_mail_is_retried(stack, monkeypatch):
    from tests.integration.test_sla import SLA, customer_writes, make_flaky, settings, timers

    settings(stack, {"sla": SLA})
    api(stack, "PUT", "/api/me/availability", {"available": True})
    conv = customer_writes(stack, "live.sla.1", "hello", sender="15554441501")
    assert conv["assignee"] == "agent@example.com"
    clock.advance(21 * 60)  # the warning is due
    make_flaky(monkeypatch, "sesv2", "send_email")  # the first mail fails: the timer tries again
    assert timers(stack)["errors"] == 1
    assert timers(stack)["sla_done"] == 1
    warnings = [n for n in notes_of(stack, "agent@example.com")["items"] if n["type"] == "sla_warning"]
    assert [n["conversation_id"] for n in warnings] == [conv["id"]]  # once, though the timer ran twice


# -- erasure and retention forget web chat visitors' connections ------------------------------------------------------
WS_API = "https://ws1.execute-api.us-east-1.amazonaws.com/local"  # moto's @connections API stands in for API Gateway


def visitor_socket(stack, connection_id: str, token: str) -> None:
    event = {"requestContext": {"routeKey": "$connect", "connectionId": connection_id},
             "queryStringParameters": {"visitor_token": token}}
    assert stack.functions["WebSocketFunction"].invoke(event)["statusCode"] == 200


def posted() -> dict:
    """What moto's @connections API was sent, by connection (a DeleteConnection forgets the connection)."""
    from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends
    from moto.core import DEFAULT_ACCOUNT_ID

    return {c: bytes(conn.data) for c, conn in
            apigatewaymanagementapi_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].connections.items()}


def web_chat_conversation(stack, text: str = "hello"):
    from switchboard.services import webchat
    from tests.integration.test_webchat import visitor

    session, me = visitor()
    webchat.post_message(me, {"client_message_id": f"c-{time.time_ns()}", "text": text})
    stack.drain("ProcessorFunction")
    (conv,) = [c for c in conversations_of(stack) if c["channel"] == "webchat"]
    return session, conv


def conversations_of(stack) -> list[dict]:
    return api(stack, "GET", "/api/conversations").json()["items"]


def test_erasing_a_contact_forgets_and_closes_their_visitors_connections_and_no_later_push_reaches_them(
        stack, settings_env):
    from switchboard.models import Message
    from switchboard.services import push
    from switchboard.store import conversations
    from switchboard.store.table import Table

    settings_env(WEBSOCKET_MANAGEMENT_URL=WS_API)
    session, conv = web_chat_conversation(stack)
    # Given the visitor's widget connected (two browser tabs), and a reply that reached it
    visitor_socket(stack, "c_visitor1", session["token"])
    visitor_socket(stack, "c_visitor2", session["token"])
    assert len(stack.items("WSCONN#")) == 4  # each connection's listing and pointer
    assert api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"text": "Hi!"}).status == 202
    stack.drain("SenderFunction")
    assert b'"message.created"' in posted()["c_visitor1"]
    before = conversations.get(Table(), conv["id"])
    # When an admin erases the contact
    r = stack.http("DELETE", f"/api/contacts/{conv['contact']['id']}", role="admin")
    assert r.status == 200, r
    assert r.json()["erased"]["connections"] == 2
    # Then the connection items are gone, and each socket was closed (moto forgets a deleted connection)
    assert stack.items("WSCONN#") == []
    assert posted() == {}
    # and a later push about that conversation (work still in flight) reaches no one
    assert before is not None
    late = Message(id="m_late", conversation_id=conv["id"], direction="outbound", channel="webchat",
                   created_at=clock.iso(clock.now()), status="queued", text="x")
    push.message_created(Table(), before, late)
    push.to_visitor(Table(), before.recipient, {"type": "typing", "conversation_id": conv["id"]})
    assert posted() == {}


def test_retention_forgets_the_visitors_connections_with_the_contact(stack, settings_env):
    from switchboard.services import lifecycle

    settings_env(WEBSOCKET_MANAGEMENT_URL=WS_API)
    session, _ = web_chat_conversation(stack)
    visitor_socket(stack, "c_visitor3", session["token"])
    assert len(stack.items("WSCONN#VISITOR#")) == 1
    clock.advance(400 * 86400)  # past every retention (the connection's own TTL too: TTL deletion lags by days)
    counts = lifecycle.run_retention()
    assert counts["contacts"] == 1 and counts["connections"] == 1
    assert stack.items("WSCONN#") == []
    assert posted() == {}

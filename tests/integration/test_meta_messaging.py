"""Messenger and Instagram events of today through the webhook and the processor: standby messages, the Page inbox's
echoes, unsends, hearts and events that are not a customer speaking."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

from tests.integration.test_whatsapp_flow import SECRET

PAGE = "PAGE1"
PAGE_INBOX_APP = "263902037430900"


def post(stack, channel: str, entry: dict[str, Any]):
    raw = json.dumps({"object": "page" if channel == "messenger" else "instagram", "entry": [entry]}).encode()
    signature = "sha256=" + hmac.new(SECRET, raw, hashlib.sha256).hexdigest()
    answer = stack.http("POST", f"/webhooks/{channel}", raw,
                        {"Content-Type": "application/json", "X-Hub-Signature-256": signature})
    assert answer.status == 200, answer
    stack.drain("ProcessorFunction")
    return answer


def now_ms() -> int:
    return int(time.time() * 1000)


def from_customer(psid: str, **kind: Any) -> dict[str, Any]:
    return {"sender": {"id": psid}, "recipient": {"id": PAGE}, "timestamp": now_ms(), **kind}


def conversation_of(stack, psid: str) -> dict | None:
    for conv in stack.http("GET", "/api/conversations", role="agent").json()["items"]:
        detail = stack.http("GET", f"/api/contacts/{conv['contact']['id']}", role="agent").json()
        if any(i["address"] == psid for i in detail["identities"]):
            return conv
    return None


def messages(stack, conv_id: str) -> list[dict]:
    return stack.http("GET", f"/api/conversations/{conv_id}/messages", role="agent").json()["items"]


def test_standby_messages_page_inbox_answers_and_unsends_reach_the_conversation(stack):
    psid = f"PSID{uuid.uuid4().hex[:8]}"
    # Given a bot app owns the thread: the customer's message reaches us on standby
    post(stack, "messenger", {"id": PAGE, "time": now_ms(), "standby": [
        from_customer(psid, message={"mid": "m_standby", "text": "is anyone there?"})]})
    conv = conversation_of(stack, psid)
    assert conv, "a customer message on standby was lost"
    # When a colleague answers in the Page inbox (its echo), and a bot's echo and an opt-in come along
    post(stack, "messenger", {"id": PAGE, "time": now_ms(), "messaging": [
        {"sender": {"id": PAGE}, "recipient": {"id": psid}, "timestamp": now_ms(),
         "message": {"mid": "m_inbox", "text": "Yes, how can we help?", "is_echo": True, "app_id": PAGE_INBOX_APP}},
        {"sender": {"id": PAGE}, "recipient": {"id": psid}, "timestamp": now_ms(),
         "message": {"mid": "m_bot", "text": "Bot reply", "is_echo": True, "app_id": 555}},
        from_customer(psid, optin={"type": "notification_messages", "payload": "x"})]})
    # Then agents see the customer's message and the colleague's answer, once each; the rest is not stored
    shown = [(m["direction"], m["text"]) for m in messages(stack, conv["id"])]
    assert shown == [("inbound", "is anyone there?"), ("outbound", "Yes, how can we help?")]
    assert messages(stack, conv["id"])[1]["sender"] == "external:page_inbox"
    detail = stack.http("GET", f"/api/conversations/{conv['id']}", role="agent").json()
    assert detail["first_response_at"]  # the colleague answered
    assert stack.sandbox.outbox == []  # nothing was sent again
    # And when the customer unsends their message, its content goes and a trace stays
    post(stack, "messenger", {"id": PAGE, "time": now_ms(), "messaging": [
        from_customer(psid, message={"mid": "m_standby", "is_deleted": True})]})
    inbound = [m for m in messages(stack, conv["id"]) if m["direction"] == "inbound"]
    assert [(m["deleted"], m["text"]) for m in inbound] == [(True, "")]


def test_an_instagram_heart_and_an_unsupported_message_show_as_placeholders(stack):
    igsid = f"IGSID{uuid.uuid4().hex[:8]}"
    post(stack, "instagram", {"id": PAGE, "time": now_ms(), "messaging": [
        from_customer(igsid, message={"mid": "ig_heart", "attachments": [{"type": "like_heart"}]}),
        {**from_customer(igsid, message={"mid": "ig_unsupported", "is_unsupported": True}), "timestamp": now_ms() + 1}]})
    conv = conversation_of(stack, igsid)
    assert conv
    assert [(m["type"], m["summary"]) for m in messages(stack, conv["id"])] == [
        ("like_heart", "Sent a heart \u2764\ufe0f"), ("unsupported", "Unsupported message")]
    assert conv["last_message"]["text"]  # the inbox preview is not blank either

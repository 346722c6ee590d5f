"""The provider sandbox answers indicators (issue 15) as the providers do, and records them in its outbox."""

from __future__ import annotations

import json

from infra.local.sandbox import Sandbox

JSON = {"content-type": "application/json"}


def call(sandbox: Sandbox, path: str, body: dict) -> tuple[int, dict]:
    status, _, answer = sandbox.handle("POST", f"/_sandbox/{path}", "", JSON, json.dumps(body).encode())
    return status, json.loads(answer)


def test_whatsapp_read_and_typing_are_answered_with_success_and_recorded():
    sandbox = Sandbox("http://sandbox")
    read = {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN1"}
    typing = {**read, "typing_indicator": {"type": "text"}}
    assert call(sandbox, "whatsapp/v21.0/200000000000002/messages", read) == (200, {"success": True})
    assert call(sandbox, "whatsapp/v21.0/200000000000002/messages", typing) == (200, {"success": True})
    assert [e["body"] for e in sandbox.outbox] == [read, typing]
    assert call(sandbox, "whatsapp/v21.0/200000000000002/messages", {**read, "message_id": "nope"})[0] == 400


def test_messenger_and_instagram_sender_actions_answer_with_the_recipient_only():
    sandbox = Sandbox("http://sandbox")
    for channel in ("messenger", "instagram"):
        for action in ("mark_seen", "typing_on"):
            body = {"recipient": {"id": "PSID1"}, "sender_action": action}
            assert call(sandbox, f"{channel}/v21.0/PAGE1/messages", body) == (200, {"recipient_id": "PSID1"})
    assert [(e["channel"], e["body"]["sender_action"]) for e in sandbox.outbox] == [
        ("messenger", "mark_seen"), ("messenger", "typing_on"), ("instagram", "mark_seen"), ("instagram", "typing_on")]


def test_telegram_send_chat_action_is_answered_ok():
    sandbox = Sandbox("http://sandbox")
    body = {"chat_id": 111, "action": "typing"}
    assert call(sandbox, "telegram/bot123:t/sendChatAction", body) == (200, {"ok": True, "result": True})
    assert sandbox.outbox[0]["body"] == body and sandbox.outbox[0]["url"].endswith("/sendChatAction")


def test_a_fault_for_the_next_send_is_not_taken_by_a_read_receipt_or_typing():
    from infra.local.sandbox import is_indicator

    assert is_indicator("v21.0/200/messages", {"messaging_product": "whatsapp", "status": "read", "message_id": "w"})
    assert is_indicator("v21.0/me/messages", {"recipient": {"id": "1"}, "sender_action": "typing_on"})
    assert is_indicator("bot123/sendChatAction", {"chat_id": 1, "action": "typing"})
    assert not is_indicator("v21.0/200/messages", {"messaging_product": "whatsapp", "type": "text"})

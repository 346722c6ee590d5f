"""Indicators customers see (issue 15) on moto: an agent's socket actions through the WebSocket function's own handler
reach the provider sandbox as read receipts and typing, once per new customer message and once per interval, only
inside the reply window, never with the setting off, and never fail the socket."""

from __future__ import annotations

import json
import time
from typing import Any

from switchboard import clock
from switchboard.services import automation_config
from switchboard.store import conversations as conversation_store
from switchboard.store.table import Table
from tests.integration.test_agent_api import conversation_from
from tests.integration.test_meta_messaging import from_customer
from tests.integration.test_meta_messaging import post as meta_post
from tests.integration.test_telegram_sms_flow import telegram, tg_message
from tests.integration.test_whatsapp_flow import conversations, post, wa_message, wa_payload

AGENT = "agent@example.com"


def socket(stack, route: str, connection_id: str, body: dict | None = None, query: dict | None = None) -> Any:
    context: dict[str, Any] = {"routeKey": route, "connectionId": connection_id}
    if route == "$connect":
        context["authorizer"] = {"jwt": {"claims": {"email": AGENT}}}  # as the local stack's /ws hands them over
    return stack.functions["WebSocketFunction"].invoke(
        {"requestContext": context, "queryStringParameters": query, "body": json.dumps(body) if body else None})


def agent_socket(stack, connection_id: str = "c_agent1") -> Any:
    assert socket(stack, "$connect", connection_id, query={"token": "t"})["statusCode"] == 200

    def act(action: str, conv_id: str) -> None:
        assert socket(stack, "$default", connection_id, {"action": action, "conversation_id": conv_id}) \
            == {"statusCode": 200}
    return act


def indicator_calls(stack, channel: str) -> list[dict]:
    def is_indicator(body: Any) -> bool:
        return isinstance(body, dict) and (body.get("status") == "read" or "sender_action" in body
                                           or body.get("action") == "typing")
    return [e for e in stack.sandbox.outbox if e["channel"] == channel and is_indicator(e["body"])]


def test_whatsapp_read_once_per_new_customer_message_and_typing_once_per_interval(stack):
    conv = conversation_from(stack, "15550002001", "wamid.ind1", "hello")
    act = agent_socket(stack)
    act("viewing", conv["id"])
    act("viewing", conv["id"])  # the app's periodic viewing: nothing new to mark
    other_tab = agent_socket(stack, "c_agent2")
    other_tab("viewing", conv["id"])
    calls = indicator_calls(stack, "whatsapp")
    assert [c["body"] for c in calls] == [{"messaging_product": "whatsapp", "status": "read",
                                           "message_id": "wamid.ind1"}]
    assert calls[0]["url"].endswith("/messages") and calls[0]["answered"] == 200

    for _ in range(3):
        act("typing", conv["id"])
    typing = [c["body"] for c in indicator_calls(stack, "whatsapp") if "typing_indicator" in c["body"]]
    assert typing == [{"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.ind1",
                       "typing_indicator": {"type": "text"}}]
    clock.advance(6)
    act("typing", conv["id"])
    assert len([c for c in indicator_calls(stack, "whatsapp") if "typing_indicator" in c["body"]]) == 2

    # the customer writes again: the next viewing marks the new message
    post(stack, wa_payload(wa_message("wamid.ind2", sender="15550002001", text="still there?"), sender="15550002001"))
    stack.drain("ProcessorFunction")
    act("viewing", conv["id"])
    act("viewing", conv["id"])
    reads = [c["body"]["message_id"] for c in indicator_calls(stack, "whatsapp") if "typing_indicator" not in c["body"]]
    assert reads == ["wamid.ind1", "wamid.ind2"]


def test_nothing_past_the_reply_window(stack):
    conv = conversation_from(stack, "15550002002", "wamid.ind3", "hello")
    clock.advance(24 * 3600 + 60)
    act = agent_socket(stack)
    act("viewing", conv["id"])
    act("typing", conv["id"])
    assert indicator_calls(stack, "whatsapp") == []


def test_nothing_with_the_setting_off(stack):
    automation_config.save(Table(), {"live": {"customer_indicators": False}})
    conv = conversation_from(stack, "15550002003", "wamid.ind4", "hello")
    act = agent_socket(stack)
    act("viewing", conv["id"])
    act("typing", conv["id"])
    assert indicator_calls(stack, "whatsapp") == []
    stored = conversation_store.get(Table(), conv["id"])
    assert stored is not None and stored.indicated_read_at is None and stored.indicated_typing_at is None


def test_a_provider_failure_never_reaches_the_socket_and_is_not_retried(stack):
    from infra.local.sandbox import Fault

    conv = conversation_from(stack, "15550002004", "wamid.ind5", "hello")
    stack.sandbox.add_fault("whatsapp", Fault(status=503, count=5, indicators=True))
    act = agent_socket(stack)
    started = time.monotonic()
    act("viewing", conv["id"])  # answers 200 to the socket (asserted in act)
    assert time.monotonic() - started < 5  # one attempt, no backoff
    assert [c["answered"] for c in indicator_calls(stack, "whatsapp")] == [503]
    act("viewing", conv["id"])  # marked as tried: not called again for the same message
    assert len(indicator_calls(stack, "whatsapp")) == 1


def test_messenger_sender_actions_and_telegram_typing(stack):
    meta_post(stack, "messenger", {"id": "PAGE1", "time": int(time.time() * 1000),
                                   "messaging": [from_customer("PSID-ind", message={"mid": "m_ind1", "text": "hi"})]})
    telegram(stack, {"update_id": 90001, "message": tg_message(71, chat=333, text="hello bot")})
    stack.drain("ProcessorFunction")
    by_channel = {c["channel"]: c for c in conversations(stack)}
    act = agent_socket(stack)
    for channel in ("messenger", "telegram"):
        act("viewing", by_channel[channel]["id"])
        act("typing", by_channel[channel]["id"])
        act("typing", by_channel[channel]["id"])
    assert [c["body"] for c in indicator_calls(stack, "messenger")] == [
        {"recipient": {"id": "PSID-ind"}, "sender_action": "mark_seen"},
        {"recipient": {"id": "PSID-ind"}, "sender_action": "typing_on"}]
    tg = indicator_calls(stack, "telegram")  # no read receipts on Telegram
    assert [c["body"] for c in tg] == [{"chat_id": 333, "action": "typing"}]
    assert tg[0]["url"].endswith("/sendChatAction")

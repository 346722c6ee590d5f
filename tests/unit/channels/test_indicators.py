"""Indicators (issue 15): each channel's read receipt and typing payload, one attempt with a short timeout, and the
send error a refusal is."""

from __future__ import annotations

from typing import Any

import pytest

from switchboard.channels import http
from switchboard.channels.base import INDICATOR_TIMEOUT_SECONDS
from switchboard.channels.email import EmailChannel
from switchboard.channels.instagram import InstagramChannel
from switchboard.channels.messenger import MessengerChannel
from switchboard.channels.sms import SmsChannel
from switchboard.channels.telegram import TelegramChannel
from switchboard.channels.whatsapp import WhatsAppChannel
from switchboard.errors import PermanentSendError, RetryableSendError
from tests.unit.channels.test_whatsapp import FakeHttp, response

GRAPH = "https://graph.example/v21.0"
IG_GRAPH = "https://ig.example/v21.0"
TELEGRAM = "https://telegram.example"


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch, settings_env) -> FakeHttp:
    settings_env(WHATSAPP_API_BASE_URL=GRAPH, MESSENGER_API_BASE_URL=GRAPH, INSTAGRAM_API_BASE_URL=IG_GRAPH,
                 TELEGRAM_API_BASE_URL=TELEGRAM)
    fake = FakeHttp()
    monkeypatch.setattr(http, "request", fake)
    return fake


def one_attempt(kwargs: dict[str, Any]) -> None:
    assert kwargs["retries"] is False and kwargs["timeout"] == INDICATOR_TIMEOUT_SECONDS


# -- WhatsApp ------------------------------------------------------------------------------------------------------
def test_whatsapp_marks_the_customers_message_read(calls: FakeHttp) -> None:
    calls.answers.append(response(200, {"success": True}))
    WhatsAppChannel().indicate("200000000000002", "15551234567", "read", "wamid.IN1")
    [(method, url, kwargs)] = calls.calls
    assert (method, url) == ("POST", f"{GRAPH}/200000000000002/messages")
    assert kwargs["json"] == {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN1"}
    assert kwargs["headers"] == {"Authorization": "Bearer test-whatsapp-token"}
    one_attempt(kwargs)


def test_whatsapp_typing_rides_on_a_read_receipt_of_the_latest_message(calls: FakeHttp) -> None:
    calls.answers.append(response(200, {"success": True}))
    WhatsAppChannel().indicate("200000000000002", "15551234567", "typing", "wamid.IN2")
    [(_, url, kwargs)] = calls.calls
    assert url == f"{GRAPH}/200000000000002/messages"
    assert kwargs["json"] == {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN2",
                              "typing_indicator": {"type": "text"}}
    one_attempt(kwargs)


def test_whatsapp_without_a_customer_message_shows_nothing(calls: FakeHttp) -> None:
    WhatsAppChannel().indicate("200000000000002", "15551234567", "typing", None)
    assert calls.calls == []


def test_whatsapp_refusals_are_the_send_errors_they_are(calls: FakeHttp) -> None:
    calls.answers += [response(400, {"error": {"message": "(#100) Invalid parameter", "code": 100}}),
                      response(429, {"error": {"message": "throttled", "code": 130429}})]
    with pytest.raises(PermanentSendError):
        WhatsAppChannel().indicate("200000000000002", "15551234567", "read", "wamid.IN1")
    with pytest.raises(RetryableSendError):
        WhatsAppChannel().indicate("200000000000002", "15551234567", "read", "wamid.IN1")


def test_whatsapp_refuses_an_inbox_that_is_not_a_phone_number_id_without_a_call(calls: FakeHttp) -> None:
    with pytest.raises(PermanentSendError):
        WhatsAppChannel().indicate("../me", "15551234567", "read", "wamid.IN1")
    assert calls.calls == []


# -- Messenger and Instagram -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "action"), [("read", "mark_seen"), ("typing", "typing_on")])
def test_messenger_sends_the_sender_action(calls: FakeHttp, kind: str, action: str) -> None:
    calls.answers.append(response(200, {"recipient_id": "PSID1"}))  # no message id: that is not a failure
    MessengerChannel().indicate("PAGE1", "PSID1", kind, "m_1")  # type: ignore[arg-type]
    [(method, url, kwargs)] = calls.calls
    assert (method, url) == ("POST", f"{GRAPH}/PAGE1/messages")
    assert kwargs["json"] == {"recipient": {"id": "PSID1"}, "sender_action": action}
    assert kwargs["headers"] == {"Authorization": "Bearer test-page-token"}
    one_attempt(kwargs)


@pytest.mark.parametrize(("kind", "action"), [("read", "mark_seen"), ("typing", "typing_on")])
def test_instagram_sends_the_sender_action_to_its_own_graph(calls: FakeHttp, kind: str, action: str) -> None:
    calls.answers.append(response(200, {"recipient_id": "IGSID1"}))
    InstagramChannel().indicate("IG1", "IGSID1", kind, None)  # type: ignore[arg-type]
    [(_, url, kwargs)] = calls.calls
    assert url == f"{IG_GRAPH}/IG1/messages"
    assert kwargs["json"] == {"recipient": {"id": "IGSID1"}, "sender_action": action}
    assert kwargs["headers"] == {"Authorization": "Bearer test-instagram-token"}


def test_messenger_outside_the_window_is_a_permanent_error(calls: FakeHttp) -> None:
    calls.answers.append(response(400, {"error": {"message": "outside window", "code": 10, "error_subcode": 2018278}}))
    with pytest.raises(PermanentSendError):
        MessengerChannel().indicate("PAGE1", "PSID1", "typing", None)


# -- Telegram --------------------------------------------------------------------------------------------------------
def test_telegram_sends_the_typing_chat_action(calls: FakeHttp) -> None:
    calls.answers.append(response(200, {"ok": True, "result": True}))
    TelegramChannel().indicate("123", "111", "typing", None)
    [(method, url, kwargs)] = calls.calls
    assert (method, url) == ("POST", f"{TELEGRAM}/bot123:test-bot-token/sendChatAction")
    assert kwargs["json"] == {"chat_id": 111, "action": "typing"}
    one_attempt(kwargs)


def test_telegram_types_through_a_business_connection_as_its_sends_go(calls: FakeHttp) -> None:
    calls.answers.append(response(200, {"ok": True, "result": True}))
    TelegramChannel().indicate("business:BC1", "222", "typing", None)
    assert calls.calls[0][2]["json"] == {"chat_id": 222, "action": "typing", "business_connection_id": "BC1"}


def test_telegram_has_no_read_receipts(calls: FakeHttp) -> None:
    assert TelegramChannel.indicators == frozenset({"typing"})
    TelegramChannel().indicate("123", "111", "read", "111:45")
    assert calls.calls == []


def test_telegram_refusals_are_send_errors(calls: FakeHttp) -> None:
    calls.answers.append(response(403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked"}))
    with pytest.raises(PermanentSendError):
        TelegramChannel().indicate("123", "111", "typing", None)


# -- channels without indicators -------------------------------------------------------------------------------------
@pytest.mark.parametrize("channel", [SmsChannel, EmailChannel])
def test_channels_without_indicators_do_nothing(calls: FakeHttp, channel: Any) -> None:
    assert channel.indicators == frozenset()
    channel().indicate("inbox", "someone", "typing", "x")
    channel().indicate("inbox", "someone", "read", "x")
    assert calls.calls == []


def test_a_single_attempt_session_does_not_retry() -> None:
    adapter = http.session(False, False).get_adapter("https://graph.example/")
    assert adapter.max_retries.total == 0
    assert http.session(False, False) is not http.session(False)

"""Rich replies (issue 13): what each channel sends for a quoted reply and for choices (the in-channel survey's
rating question), checked against the providers' limits, with the HTTP layer faked (no network)."""

from __future__ import annotations

import email
import email.policy
import io
import json
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests

from infra.local.sandbox import interactive_problem
from switchboard.channels import http
from switchboard.channels.email import _build_reply
from switchboard.channels.instagram import InstagramChannel
from switchboard.channels.messenger import MessengerChannel
from switchboard.channels.sms import SmsChannel
from switchboard.channels.telegram import TelegramChannel, inline_keyboard
from switchboard.channels.whatsapp import WhatsAppChannel, interactive_choices
from switchboard.models import SendRequest

RATINGS = [{"id": f"csat:{n}:2026-12-04T10:00:00.000Z", "title": f"{n} {label}"}
           for n, label in enumerate(["Poor", "Fair", "Good", "Very good", "Excellent"], start=1)]


class Fake:
    def __init__(self, answer: dict[str, Any], status: int = 200) -> None:
        self.answer, self.status = answer, status
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def __call__(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        self.calls.append((method, url, kwargs))
        response = requests.Response()
        response.status_code = self.status
        response.raw = io.BytesIO(json.dumps(self.answer).encode())
        return response


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch):
    def install(answer: dict[str, Any]) -> Fake:
        recorder = Fake(answer)
        monkeypatch.setattr(http, "request", recorder)
        return recorder

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send",
                        lambda *args, **kwargs: pytest.fail("a unit test tried the real network"))
    return install


def request(channel: str, inbox: str, recipient: str, **more: Any) -> SendRequest:
    return SendRequest(**{"channel": channel, "inbox_id": inbox, "recipient": recipient, "text": "How did we do?",
                          **more})


# -- WhatsApp ------------------------------------------------------------------------------------------------------
def test_whatsapp_five_choices_are_a_list_within_graph_limits(fake) -> None:
    graph = fake({"messages": [{"id": "wamid.S1"}]})
    WhatsAppChannel().send(request("whatsapp", "1234567890", "15551234567", choices=RATINGS, choices_label="Rate us",
                                   reply_to="wamid.Q"))
    body = graph.calls[0][2]["json"]
    assert body["type"] == "interactive" and "text" not in body and body["context"] == {"message_id": "wamid.Q"}
    interactive = body["interactive"]
    assert interactive["type"] == "list" and interactive["action"]["button"] == "Rate us"
    assert [r["id"] for r in interactive["action"]["sections"][0]["rows"]] == [c["id"] for c in RATINGS]
    assert interactive_problem(body) is None  # what the sandbox checks as Graph does


def test_whatsapp_up_to_three_choices_are_reply_buttons_and_titles_are_cut_to_the_limit() -> None:
    choices = [{"id": "yes", "title": "Yes please, book it for me"}, {"id": "no", "title": "No"}]
    interactive = interactive_choices(request("whatsapp", "1", "2", choices=choices))
    assert interactive["type"] == "button"
    assert [b["reply"]["title"] for b in interactive["action"]["buttons"]] == ["Yes please, book it ", "No"]
    assert interactive_problem({"type": "interactive", "interactive": interactive}) is None
    too_long = {"type": "interactive", "interactive": {**interactive, "action": {"buttons": [
        {"type": "reply", "reply": {"id": "x", "title": "x" * 21}}]}}}
    assert interactive_problem(too_long)  # the sandbox refuses what Graph refuses


def test_whatsapp_a_template_keeps_precedence_over_choices(fake) -> None:
    graph = fake({"messages": [{"id": "wamid.S2"}]})
    template = {"name": "hello", "language": "en_US", "components": []}
    WhatsAppChannel().send(request("whatsapp", "1234567890", "15551234567", choices=RATINGS, template=template))
    assert graph.calls[0][2]["json"]["type"] == "template"


# -- Messenger and Instagram -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("channel_class, name", [(MessengerChannel, "messenger"), (InstagramChannel, "instagram")])
def test_meta_quick_replies_and_the_quoted_message(fake, channel_class, name) -> None:
    graph = fake({"recipient_id": "PSID", "message_id": "m_S1"})
    channel_class().send(request(name, "1122334455", "PSID", choices=RATINGS, reply_to="m_QUOTED"))
    body = graph.calls[0][2]["json"]
    assert body["reply_to"] == {"mid": "m_QUOTED"}
    assert body["message"]["text"] == "How did we do?"
    assert body["message"]["quick_replies"] == [{"content_type": "text", "title": c["title"], "payload": c["id"]}
                                                for c in RATINGS]


def test_messenger_without_a_quote_sends_no_reply_to(fake) -> None:
    graph = fake({"recipient_id": "PSID", "message_id": "m_S2"})
    MessengerChannel().send(request("messenger", "1122334455", "PSID"))
    assert "reply_to" not in graph.calls[0][2]["json"] and "quick_replies" not in graph.calls[0][2]["json"]["message"]


# -- Telegram --------------------------------------------------------------------------------------------------------
def test_telegram_choices_are_an_inline_keyboard_with_callback_data_within_64_bytes(fake) -> None:
    bot = fake({"ok": True, "result": {"message_id": 9, "chat": {"id": 42}}})
    TelegramChannel().send(request("telegram", "123", "42", choices=RATINGS, reply_to="42:7"))
    body = bot.calls[0][2]["json"]
    assert body["reply_parameters"] == {"message_id": 7, "allow_sending_without_reply": True}
    rows = body["reply_markup"]["inline_keyboard"]
    assert [b["callback_data"] for row in rows for b in row] == [c["id"] for c in RATINGS]
    assert all(len(b["callback_data"].encode()) <= 64 for row in rows for b in row)


def test_telegram_short_choices_share_one_row() -> None:
    keyboard = inline_keyboard([{"id": str(n), "title": str(n)} for n in range(1, 6)])
    assert len(keyboard["inline_keyboard"]) == 1 and len(keyboard["inline_keyboard"][0]) == 5


# -- SMS and email ---------------------------------------------------------------------------------------------------
def test_sms_lists_the_choices_under_the_question(fake) -> None:
    twilio = fake({"sid": "SM1", "status": "queued"})
    SmsChannel().send(request("sms", "+15550001111", "+14155550100", choices=RATINGS))
    body = twilio.calls[0][2]["data"]["Body"]
    assert body.splitlines() == ["How did we do?", "1 Poor", "2 Fair", "3 Good", "4 Very good", "5 Excellent"]
    assert parse_qs(f"Body={body}")  # plain text, nothing the form could not carry


def test_email_a_quoted_reply_answers_that_mail_within_the_thread() -> None:
    raw = _build_reply(request("email", "help@example.com", "ann@example.com", subject="Order",
                               thread_refs=["<a@x.example>", "<b@x.example>"], reply_to="<a@x.example>",
                               conversation_id="cv_1"),
                       "help@example.com", "ann@example.com", "<ours@example.com>")
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert mail["In-Reply-To"] == "<a@x.example>"
    assert mail["References"] == "<a@x.example> <b@x.example>"


def test_email_without_a_quote_answers_the_latest_mail() -> None:
    raw = _build_reply(request("email", "help@example.com", "ann@example.com", subject="Order",
                               thread_refs=["<a@x.example>", "<b@x.example>"], conversation_id="cv_1"),
                       "help@example.com", "ann@example.com", "<ours@example.com>")
    assert email.message_from_bytes(raw, policy=email.policy.default)["In-Reply-To"] == "<b@x.example>"

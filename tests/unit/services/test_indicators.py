"""Indicators customers see (issue 15) without AWS: the checks that cost nothing come first (channel, setting, window,
what the conversation already records), a failure never raises and is logged by ids only."""

from __future__ import annotations

import logging
import types
from typing import Any

import pytest

from switchboard import clock, observability
from switchboard.errors import PermanentSendError, RetryableSendError, ServiceUnavailable
from switchboard.models import Conversation, Message
from switchboard.services import automation_config, indicators, sending
from switchboard.store import conversations, messages

PHONE = "15557654321"


class FakeChannel:
    indicators = frozenset({"read", "typing"})
    indicators_name_message = True
    reply_window_seconds = 24 * 3600

    def __init__(self, fail: Exception | None = None):
        self.calls: list[tuple[str, str, str, str | None]] = []
        self.fail = fail

    def human_reply_window_seconds(self) -> int:
        return self.reply_window_seconds

    def indicate(self, inbox_id: str, recipient: str, kind: str, provider_message_id: str | None) -> None:
        self.calls.append((inbox_id, recipient, kind, provider_message_id))
        if self.fail:
            raise self.fail


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch):
    state = types.SimpleNamespace(channel=FakeChannel(), enabled=True, claims=[], claim_ok=True)
    fake_registry = types.SimpleNamespace(get=lambda name: state.channel)
    monkeypatch.setattr(indicators, "registry", fake_registry)
    monkeypatch.setattr(sending, "registry", fake_registry)  # the reply window's rule
    state.counted = []
    monkeypatch.setattr(observability, "count_by_reason", lambda name, channel, reason: state.counted.append(
        (name, channel, reason)))
    monkeypatch.setattr(observability, "count_by_channel", lambda name, channel: state.counted.append((name, channel)))
    monkeypatch.setattr(automation_config, "load", lambda table: types.SimpleNamespace(
        live=types.SimpleNamespace(customer_indicators=state.enabled)))

    def claim(name: str) -> Any:
        def call(*args: Any) -> bool:
            state.claims.append((name, *args[1:]))
            return state.claim_ok
        return call

    monkeypatch.setattr(conversations, "claim_read_receipt", claim("read"))
    monkeypatch.setattr(conversations, "claim_typing", claim("typing"))
    monkeypatch.setattr(messages, "latest_inbound", lambda table, conv_id: Message(
        id="m_9", conversation_id=conv_id, direction="inbound", channel="whatsapp", created_at=clock.iso(clock.now()),
        status="received", text="my card number is 4111", provider_message_id="wamid.LATEST"))
    return state


def conv(**fields: Any) -> Conversation:
    now = clock.iso(clock.now())
    return Conversation.model_validate({"id": "cv_1", "channel": "whatsapp", "inbox_id": "200000000000002",
                                        "contact_id": "ct_1", "recipient": PHONE, "created_at": now,
                                        "updated_at": now, "last_inbound_at": now, **fields})


def test_viewing_marks_the_latest_customer_message_read(world):
    assert indicators.on_action(None, "viewing", conv()) == "sent"  # type: ignore[arg-type]
    assert world.channel.calls == [("200000000000002", PHONE, "read", "wamid.LATEST")]
    assert world.counted == [("CustomerIndicatorsSent", "whatsapp")]


def test_nothing_new_costs_no_write_and_no_call(world):
    c = conv()
    assert indicators.on_action(None, "viewing", c.model_copy(update={"indicated_read_at": c.last_inbound_at})) \
        == "nothing_new"  # type: ignore[arg-type]
    assert world.claims == [] and world.channel.calls == []


def test_another_tab_claimed_it_first(world):
    world.claim_ok = False
    assert indicators.on_action(None, "viewing", conv()) == "nothing_new"  # type: ignore[arg-type]
    assert world.channel.calls == []


def test_typing_within_the_interval_costs_no_write(world):
    recent = clock.now().timestamp() - 2
    assert indicators.on_action(None, "typing", conv(indicated_typing_at=recent)) == "throttled"  # type: ignore[arg-type]
    assert world.claims == []
    assert indicators.on_action(None, "typing", conv(indicated_typing_at=recent - 4)) == "sent"  # type: ignore[arg-type]
    assert [c[0] for c in world.claims] == ["typing"]


@pytest.mark.parametrize("fields", [
    {"last_inbound_at": "2020-01-01T00:00:00.000Z"},  # the 24-hour window closed
    {"last_inbound_at": None},  # the customer never wrote
])
def test_nothing_outside_the_reply_window(world, fields):
    assert indicators.on_action(None, "typing", conv(**fields)) == "window_closed"  # type: ignore[arg-type]
    assert world.claims == [] and world.channel.calls == []


def test_nothing_with_the_setting_off_blocked_or_on_a_comment_thread(world):
    world.enabled = False
    assert indicators.on_action(None, "viewing", conv()) == "off"  # type: ignore[arg-type]
    world.enabled = True
    assert indicators.on_action(None, "viewing", conv(blocked=True)) == "unsupported"  # type: ignore[arg-type]
    assert indicators.on_action(None, "viewing", conv(kind="comment")) == "unsupported"  # type: ignore[arg-type]
    assert world.claims == [] and world.channel.calls == []


@pytest.mark.parametrize("error", [
    PermanentSendError(f"whatsapp error 100: invalid recipient {PHONE}"),
    RetryableSendError("throttled"),
    ServiceUnavailable("secret whatsapp_access_token unavailable"),
])
def test_a_failure_is_logged_by_ids_and_never_raised(world, caplog, error):
    world.channel = FakeChannel(fail=error)
    with caplog.at_level(logging.WARNING):
        assert indicators.on_action(None, "viewing", conv()) == "failed"  # type: ignore[arg-type]
    [record] = [r for r in caplog.records if r.name == indicators.__name__]
    assert record.conversation_id == "cv_1" and record.channel == "whatsapp" and record.kind == "read"  # type: ignore[attr-defined]
    shown = record.getMessage() + repr(vars(record))
    assert PHONE not in shown and "4111" not in shown and "invalid recipient" not in shown
    assert world.counted[0][:2] == ("CustomerIndicatorsFailed", "whatsapp")


def test_a_channel_whose_indicators_name_only_the_customer_reads_no_message(world, monkeypatch):
    world.channel.indicators_name_message = False
    monkeypatch.setattr(messages, "latest_inbound", lambda *a: pytest.fail("no message look-up needed"))
    assert indicators.on_action(None, "viewing", conv()) == "sent"  # type: ignore[arg-type]
    assert indicators.on_action(None, "typing", conv()) == "sent"  # type: ignore[arg-type]
    assert [c[2:] for c in world.channel.calls] == [("read", None), ("typing", None)]

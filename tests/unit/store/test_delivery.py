"""store/delivery.py: queued -> sending -> sent (or back, or failed), and receipts that never move backwards."""

from __future__ import annotations

import pytest

from switchboard import clock
from switchboard.models import Message
from switchboard.store import delivery, messages
from switchboard.store.table import ConditionFailed


@pytest.fixture
def queued(table):
    message = Message(id="m_1", conversation_id="cv_1", direction="outbound", channel="whatsapp", text="Hi",
                      created_at=clock.iso(clock.now()), status="queued")
    messages.add_note(table, message)  # a plain conditional put of the message item
    return message


def status(table, message) -> str:
    return messages.get_message(table, message.conversation_id, message.created_at, message.id).status


def test_a_send_is_claimed_once(table, queued):
    assert delivery.claim_send(table, queued, clock.epoch() + 120)
    assert not delivery.claim_send(table, queued, clock.epoch() + 120)
    assert status(table, queued) == "sending"


def test_a_released_send_is_queued_again(table, queued):
    delivery.claim_send(table, queued, clock.epoch() + 120)
    delivery.release_send(table, queued)
    assert status(table, queued) == "queued"


def test_only_a_message_being_sent_is_recorded_sent_or_deferred(table, queued):
    assert not delivery.defer(table, queued, clock.epoch() + 60)
    with pytest.raises(ConditionFailed):
        delivery.record_sent(table, queued, "wamid.1")
    delivery.claim_send(table, queued, clock.epoch() + 120)
    assert delivery.defer(table, queued, clock.epoch() + 60)
    delivery.record_sent(table, queued, "wamid.1")
    assert status(table, queued) == "sent"


def test_receipts_move_forward_never_back(table, queued):
    delivery.claim_send(table, queued, clock.epoch() + 120)
    delivery.record_sent(table, queued, "wamid.1")
    assert delivery.apply_receipt(table, "whatsapp", "wamid.1", "read", 2.0) == "applied"
    assert delivery.apply_receipt(table, "whatsapp", "wamid.1", "delivered", 1.0) == "stale"
    assert status(table, queued) == "read"
    assert delivery.apply_receipt(table, "whatsapp", "wamid.unknown", "read", 1.0) == "unknown"


def test_a_failure_is_recorded_with_its_reason(table, queued):
    delivery.record_failed(table, queued, "x" * 600)
    stored = messages.get_message(table, queued.conversation_id, queued.created_at, queued.id)
    assert stored.status == "failed" and len(stored.failure_reason) == 500

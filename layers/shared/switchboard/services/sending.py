"""The sender's work for one outbound job: send a stored reply through its channel, exactly once."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from switchboard import clock, observability
from switchboard.channels import registry
from switchboard.errors import PermanentSendError, RetryableSendError
from switchboard.settings import get_settings
from switchboard.store import conversations
from switchboard.store.table import Table

if TYPE_CHECKING:
    from switchboard.models import Conversation, OutboundJob


def window_closes_at(conv: Conversation) -> str | None:
    """When free-form replies stop being allowed (None: the channel has no window)."""
    seconds = registry.get(conv.channel).reply_window_seconds
    if seconds is None or not conv.last_inbound_at:
        return None
    return clock.iso(clock.parse_iso(conv.last_inbound_at) + timedelta(seconds=seconds))


def window_open(conv: Conversation) -> bool:
    closes = window_closes_at(conv)
    return closes is None or clock.iso(clock.now()) < closes


def send(job: OutboundJob, table: Table | None = None, attempt: int = 1) -> str:
    """Returns what happened; raises RetryableSendError to have the queue try again later.

    `attempt` is the queue's receive count: on the last one the queue allows, a retryable failure is final."""
    from switchboard.models import SendRequest

    table = table or Table()
    message = conversations.get_message(table, job.conversation_id, job.created_at, job.message_id)
    if message is None:
        return "missing"  # erased before it went out
    if message.status == "sending":
        if clock.epoch() < (message.lease_until or 0):
            raise RetryableSendError("another attempt is in flight")
        # An earlier attempt claimed it and never recorded an outcome: it may have gone out. Never send twice.
        conversations.record_failed(table, message, "delivery outcome unknown after a timeout; check before resending")
        return "unknown"
    if message.status != "queued":
        return "done"  # sent (or failed) by an earlier delivery of this job
    conv = conversations.get(table, job.conversation_id)
    if conv is None:
        conversations.record_failed(table, message, "conversation no longer exists")
        return "failed"
    if not window_open(conv):
        conversations.record_failed(table, message, "reply window closed: the customer's last message is older "
                                    "than the channel allows for free-form replies")
        return "failed"
    if not conversations.claim_send(table, message, clock.epoch() + get_settings().send_lease_seconds):
        return "done"
    channel = registry.get(conv.channel)
    try:
        result = channel.send(SendRequest(channel=conv.channel, inbox_id=conv.inbox_id, recipient=conv.recipient,
                                          text=message.text, reply_to=message.reply_to, conversation_id=conv.id,
                                          message_id=message.id, subject=conv.subject, thread_refs=conv.thread_refs))
    except PermanentSendError as exc:
        observability.count("SendFailures")
        conversations.record_failed(table, message, exc.message)
        if exc.recipient_blocked:
            conversations.set_blocked(table, conv.id, True)
        return "failed"
    except RetryableSendError as exc:
        if attempt >= get_settings().send_max_attempts:
            # The queue would move the job to its DLQ next, leaving the reply "queued" for good: say it failed.
            observability.count("SendFailures")
            conversations.record_failed(table, message, f"gave up after {attempt} attempts: {exc.message}")
            return "failed"
        conversations.release_send(table, message)
        raise
    conversations.record_sent(table, message, result.provider_message_id)
    observability.count("RepliesSent")
    return "sent"

"""The processor's work for one inbound event: contact, conversation, message, media, receipts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from switchboard import clock, ids, observability
from switchboard.errors import RetryableSendError
from switchboard.services import assignment, automation, media
from switchboard.services.automation_config import backstop_expiry
from switchboard.store import contacts, conversations, delivery, markers, messages
from switchboard.store.table import Table

if TYPE_CHECKING:
    from switchboard.models import (
        Contact,
        ContactEvent,
        Conversation,
        InboundEnvelope,
        InboundMessage,
        Message,
        StatusUpdate,
    )

# An event can overtake what it refers to (a receipt before the sender's record, an edit before its
# message): retry it for this long, then let it go.
OVERTAKEN_RETRY_SECONDS = 300


@dataclass
class Outcome:
    result: str
    conversation_id: str | None = None


def process(envelope: InboundEnvelope, table: Table | None = None, attempt: int = 1) -> Outcome:
    """`attempt` is the queue's receive count: some failures are given up on after a few."""
    from switchboard.models import ContactEvent, StatusUpdate

    table = table or Table()
    event = envelope.event
    if isinstance(event, StatusUpdate):
        return _receipt(table, event, envelope)
    if isinstance(event, ContactEvent):
        return _contact_event(table, event)
    if event.edited:
        return _edit(table, event, envelope)
    return _message(table, event, attempt)


def message_id(event: InboundMessage) -> str:
    """The same provider message always maps to the same stored message, whichever delivery brings it."""
    return ids.stable_id("m_", event.channel, event.provider_message_id)


def message_for(event: InboundMessage, conversation_id: str, sender: str | None) -> Message:
    from switchboard.models import Message

    return Message(
        id=message_id(event), conversation_id=conversation_id,
        direction="inbound", channel=event.channel, type=event.type, text=event.text,
        attachments=event.attachments, location=event.location, reply_to=event.reply_to,
        reaction=event.reaction, payload=event.payload, created_at=clock.iso(clock.from_epoch(event.timestamp)),
        status="received", sender=sender, provider_message_id=event.provider_message_id, raw_ref=event.raw_ref,
        message_ref=event.message_ref)


def _conversation(table: Table, event: InboundMessage, contact: Contact) -> Conversation:
    """Email follows its thread (a reply to one of our messages); everything else the contact's current one."""
    for ref in reversed(event.thread_refs):
        if ref.startswith("conversation:"):  # written to a conversation's reply address
            conv = conversations.get(table, ref.removeprefix("conversation:"))
            # only its own customer joins it that way: a reply address is no key to someone else's thread
            if conv and conv.channel == event.channel and conv.contact_id == contact.id:
                return conv
            continue
        conv_id = conversations.by_provider_message(table, event.channel, ref)
        conv = conversations.get(table, conv_id) if conv_id else None
        if conv:
            return conv
    conv = conversations.active_for(table, event.channel, event.inbox_id, contact, event.sender_id,
                                    backstop_expiry(table, event.channel, clock.now().timestamp()))
    if conv.assignee is None and conv.last_inbound_at is None:  # new: round-robin to an available agent
        conv = assignment.auto_assign(table, conv)
        observability.count_by_channel("ConversationsOpened", conv.channel)
    return conv


def _unanswered(conv: Conversation) -> bool:
    """The customer was already waiting for an answer in this open conversation (so its wait has begun)."""
    inbound, answered = conv.last_inbound_at, conv.last_agent_reply_at
    return conv.status == "open" and bool(inbound) and (not answered or (inbound or "") > answered)


def _message(table: Table, event: InboundMessage, attempt: int = 1) -> Outcome:
    from switchboard.models import dedupe_id

    contact, _ = contacts.resolve(table, event.identity, event.channel, event.sender_id, event.sender_name,
                                  message_id(event))
    conv = _conversation(table, event, contact)
    message = message_for(event, conv.id, contact.name)
    message = message.model_copy(update={"expires_at": backstop_expiry(table, event.channel, clock.now().timestamp())})
    previous_inbound = conv.last_inbound_at if conv.last_inbound_at != message.created_at else None
    waiting = _unanswered(conv)
    stored = messages.store_inbound(table, conv, message, clock.iso(clock.now()), event.sender_id)
    if event.message_ref:  # email: replies name this message; the thread continues in this conversation
        conversations.record_thread(table, conv, message, event.message_ref, event.thread_refs, event.subject)
    if stored and conv.status == "resolved":
        assignment.reopened(table, conv)  # the customer wrote again: back on its agent's load
        observability.count_by_channel("ConversationsReopened", conv.channel)
    if stored:  # what the write just changed, without reading it back
        conv = conv.model_copy(update={"status": "open",
                                       "last_inbound_at": max(message.created_at, conv.last_inbound_at or "")})
    else:
        # A redelivery: finish whatever the earlier attempt left undone (automation, media).
        message = messages.get_message(table, conv.id, message.created_at, message.id) or message
        conv = conversations.get(table, conv.id, consistent=True) or conv
    # Each automated reply is claimed once, so running this again on a redelivery sends nothing twice.
    automation.on_inbound(table, conv, contact, message, first_contact=contact.first_message_id == message.id,
                          previous_inbound=previous_inbound if stored else None, already_waiting=stored and waiting)
    media.store_pending(table, message, attempt)
    markers.mark_processed(table, event.channel, dedupe_id(event), conv.id, message.created_at, message.id)
    return Outcome("stored" if stored else "duplicate", conv.id)


def _overtaken(envelope: InboundEnvelope, what: str) -> None:
    waited = (clock.now() - clock.parse_iso(envelope.received_at)).total_seconds()
    if waited < OVERTAKEN_RETRY_SECONDS:
        raise RetryableSendError(f"{what} not recorded yet")


def _edit(table: Table, event: InboundMessage, envelope: InboundEnvelope) -> Outcome:
    from switchboard.models import dedupe_id

    original = markers.get(table, event.channel, event.provider_message_id)
    if not original or not original.get("processed"):
        _overtaken(envelope, "the edited message")
        return _message(table, event.model_copy(update={"edited": False}))  # never seen: keep it as a message
    conv_id = original["conversation_id"]
    changed = messages.edit_message(table, conv_id, original["message_created_at"], original["message_id"],
                                         event.text, event.timestamp)
    markers.mark_processed(table, event.channel, dedupe_id(event), conv_id)
    return Outcome("edited" if changed else "stale", conv_id)


def _contact_event(table: Table, event: ContactEvent) -> Outcome:
    from switchboard.models import dedupe_id

    contact = contacts.find(table, event.identity)
    conv = conversations.active(table, event.channel, event.inbox_id, contact.id) if contact else None
    if conv:
        conversations.set_blocked(table, conv.id, event.event == "blocked")
    markers.mark_processed(table, event.channel, dedupe_id(event), conv.id if conv else None)
    return Outcome(event.event if conv else "unknown", conv.id if conv else None)


def _receipt(table: Table, event: StatusUpdate, envelope: InboundEnvelope) -> Outcome:
    if event.watermark is not None:
        contact = contacts.find(table, f"{event.channel}:{event.sender_id}")
        conv = conversations.active(table, event.channel, event.inbox_id or "", contact.id) if contact else None
        if conv is None:
            return Outcome("unknown")
        moved = delivery.apply_watermark(table, conv.id, event.status, event.watermark)
        return Outcome(f"watermark:{moved}", conv.id)
    reason = None
    if event.status == "failed":
        reason = " ".join(filter(None, [event.error_code, event.error_title])) or "failed at the provider"
    result = delivery.apply_receipt(table, event.channel, event.provider_message_id, event.status,
                                         event.timestamp, reason)
    if result == "unknown":
        _overtaken(envelope, "the receipt's message")
    return Outcome(result)

"""The processor's work for one inbound event: contact, conversation, message, media, receipts."""

from __future__ import annotations

from dataclasses import dataclass

from switchboard import clock, ids
from switchboard.errors import RetryableSendError
from switchboard.models import InboundEnvelope, InboundMessage, Message, StatusUpdate
from switchboard.services import media
from switchboard.store import contacts, conversations, markers
from switchboard.store.table import Table

# A receipt can overtake the sender's record of the provider id: retry it for this long, then let it go.
UNKNOWN_RECEIPT_RETRY_SECONDS = 300


@dataclass
class Outcome:
    result: str
    conversation_id: str | None = None


def process(envelope: InboundEnvelope, table: Table | None = None) -> Outcome:
    table = table or Table()
    event = envelope.event
    if isinstance(event, StatusUpdate):
        return _receipt(table, event, envelope)
    return _message(table, event)


def message_for(event: InboundMessage, conversation_id: str, sender: str | None) -> Message:
    return Message(
        id=ids.stable_id("m_", event.channel, event.provider_message_id), conversation_id=conversation_id,
        direction="inbound", channel=event.channel, type=event.type, text=event.text,
        attachments=event.attachments, location=event.location, reply_to=event.reply_to,
        reaction=event.reaction, payload=event.payload, created_at=clock.iso(clock.from_epoch(event.timestamp)),
        status="received", sender=sender, provider_message_id=event.provider_message_id)


def _message(table: Table, event: InboundMessage) -> Outcome:
    contact = contacts.resolve(table, event.identity, event.channel, event.sender_id, event.sender_name)
    conv = conversations.active_for(table, event.channel, event.inbox_id, contact, event.sender_id)
    message = message_for(event, conv.id, contact.name)
    stored = conversations.store_inbound(table, conv, message, clock.iso(clock.now()))
    if not stored:
        # A redelivery: finish whatever the earlier attempt left undone (media).
        message = conversations.get_message(table, conv.id, message.created_at, message.id) or message
    media.store_pending(table, message)
    markers.mark_processed(table, event.channel, event.provider_message_id, conv.id)
    return Outcome("stored" if stored else "duplicate", conv.id)


def _receipt(table: Table, event: StatusUpdate, envelope: InboundEnvelope) -> Outcome:
    reason = None
    if event.status == "failed":
        reason = " ".join(filter(None, [event.error_code, event.error_title])) or "failed at the provider"
    result = conversations.apply_receipt(table, event.channel, event.provider_message_id, event.status,
                                         event.timestamp, reason)
    if result == "unknown":
        waited = (clock.now() - clock.parse_iso(envelope.received_at)).total_seconds()
        if waited < UNKNOWN_RECEIPT_RETRY_SECONDS:
            raise RetryableSendError("receipt for a message not recorded yet")
    return Outcome(result)

"""Sending a reply that carries files (rich replies): the channel splits it into parts, the provider messages it
sends (one per file on WhatsApp, Messenger, Instagram and Telegram; one for SMS, email and web chat). Each part is
sent once and recorded on the message as it goes (sent_parts), so that a retry (a provider's 429 or Retry-After,
a 5xx, a Lambda that ran out of time) sends only the parts that have not gone out. Retries, Retry-After and the
lease work as for text (services/sending.py): a part whose outcome is unknown fails the reply, never goes twice."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from switchboard.errors import PermanentSendError, RetryableSendError, ServiceUnavailable
from switchboard.store import sent_parts
from switchboard.store.table import ConditionFailed, Table

if TYPE_CHECKING:
    from switchboard.channels.base import Channel
    from switchboard.models import Message, OutboundFile, SendRequest, SendResult

# A reply of many large files takes longer than one invocation should: after this long, what is left goes with the
# next delivery of the job (the sender's timeout is 30 s; a part already started always finishes or fails).
TIME_BUDGET_SECONDS = 12.0
RECORD_PAUSES = (0.2, 0.5, 1.0)
KINDS = ("image", "audio", "video", "document")


def outbound_files(message: Message) -> list[OutboundFile]:
    """The message's stored files, as channels send them."""
    from switchboard.models import OutboundFile

    files = []
    for index, attachment in enumerate(message.attachments):
        if not attachment.s3_key or attachment.status != "stored":
            raise PermanentSendError(f"file {index + 1} of this reply is not stored: not sent")
        files.append(OutboundFile(index=index, kind=attachment.kind if attachment.kind in KINDS else "document",
                                  mime_type=attachment.mime_type or "application/octet-stream",
                                  filename=attachment.filename, size=attachment.size or 0, s3_key=attachment.s3_key))
    return files


def send_parts(table: Table, message: Message, channel: Channel, request: SendRequest) -> SendResult:
    """Send the parts not sent yet, in order. The result names the first part; the others are its aliases (linked
    to the message for their receipts once the whole reply is recorded sent)."""
    from switchboard.models import SendResult

    parts = channel.send_parts(request.model_copy(update={"files": outbound_files(message)}))
    sent = dict(message.sent_parts or {})
    started = time.monotonic()
    aliases: list[str] = []
    for number, part in enumerate(parts):
        key = str(number)
        if key in sent:
            continue
        if time.monotonic() - started > TIME_BUDGET_SECONDS:
            raise RetryableSendError(f"sent {len(sent)} of {len(parts)} parts; the rest with the next delivery",
                                     retry_after=0)
        try:
            result = channel.send(part)
        except PermanentSendError as exc:
            if not sent:
                raise
            raise PermanentSendError(f"{len(sent)} of {len(parts)} parts of this reply were sent, then: {exc.message}",
                                     recipient_blocked=exc.recipient_blocked) from exc
        _record(table, message, key, result.provider_message_id)
        sent[key] = result.provider_message_id
        aliases += result.aliases
    ids = [sent[str(number)] for number in range(len(parts))]
    return SendResult(provider_message_id=ids[0], aliases=[*ids[1:], *aliases])


def _record(table: Table, message: Message, part: str, provider_message_id: str) -> None:
    """The provider took this part: worth a few tries to record (as the sender records a whole reply)."""
    for attempt, pause in enumerate((*RECORD_PAUSES, None)):
        try:
            sent_parts.record_part(table, message, part, provider_message_id)
            return
        except ConditionFailed:
            if attempt:  # an earlier try was applied although its answer was lost
                return
            raise
        except ServiceUnavailable:
            if pause is None:
                raise
            time.sleep(pause)

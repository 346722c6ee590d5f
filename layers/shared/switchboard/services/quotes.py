"""Quoted replies (rich replies, issue 13): an agent's reply names the message it answers (`reply_to`, our id), and
goes out as the channel's own reply to it (WhatsApp `context`, Telegram `reply_parameters`, Messenger and Instagram
`reply_to.mid`, email In-Reply-To); a customer's quoted reply names one of ours, or one of theirs. Either way the
message keeps a copy of what it quotes (`quoted`, a capped snippet), so that showing a conversation costs no read
per quote. Only a message of the same conversation is quoted: the copy then lives and dies with what it copies
(retention, erasure)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from switchboard.errors import BadRequest
from switchboard.store import delivery, markers, messages, rich_replies

if TYPE_CHECKING:
    from switchboard.models import Message
    from switchboard.store.table import Table

SNIPPET_CHARS = 200


def snapshot(message: Message) -> dict[str, Any]:
    """What a quote shows of a message: who, when, and the start of what it said (or what it was)."""
    kinds = {a.kind for a in message.attachments}
    text = message.text or message.summary or (f"[{', '.join(sorted(kinds))}]" if kinds else f"[{message.type}]")
    if message.deleted_at is not None:
        text = "[deleted]"
    return {"id": message.id, "direction": message.direction, "text": text[:SNIPPET_CHARS], "sender": message.sender,
            "created_at": message.created_at}


def native_ref(message: Message) -> str | None:
    """The id the channel quotes a message by: the provider's message id, or for email its RFC Message-ID."""
    if message.channel == "email":
        ref = message.message_ref or message.provider_message_id
        return ref if ref and ref.startswith("<") else None
    if message.channel == "webchat":
        return None  # the widget shows the quote from `quoted`; there is no provider to tell
    return message.provider_message_id


def for_reply(table: Table, conv_id: str, reply_to: str) -> Message:
    """The message an agent's reply quotes: a message of this conversation the customer can see (400 otherwise)."""
    quoted = rich_replies.find_message(table, conv_id, reply_to)
    if quoted is None:
        raise BadRequest("reply_to is not a message of this conversation", code="unknown_message")
    if quoted.type == "note" or quoted.status == "note":
        raise BadRequest("an internal note cannot be quoted to the customer: they never saw it", code="quote_of_note")
    return quoted


def inbound_quote(table: Table, message: Message) -> dict[str, Any] | None:
    """The copy of what a customer's message quotes (`reply_to`, a provider id), when it is a message of the same
    conversation we know: one of our replies (by its provider id), or one of the customer's (by its dedupe marker).
    At most two reads, and only for a message that quotes."""
    if not message.reply_to or message.direction != "inbound":
        return None
    found: Message | None = None
    link = delivery.provider_message(table, message.channel, message.reply_to)
    if link and link.get("conversation_id") == message.conversation_id:
        found = messages.get_message(table, message.conversation_id, str(link["created_at"]), str(link["message_id"]))
    else:
        marker = markers.get(table, message.channel, message.reply_to)
        if marker and marker.get("conversation_id") == message.conversation_id \
                and marker.get("message_created_at") not in (None, "-"):
            found = messages.get_message(table, message.conversation_id, str(marker["message_created_at"]),
                                         str(marker["message_id"]))
    return snapshot(found) if found else None

"""Agents' replies: handed to the sender through the outbound FIFO queue and stored as queued."""

from __future__ import annotations

from switchboard import clock, ids, observability
from switchboard.channels import registry
from switchboard.errors import BadRequest, Conflict
from switchboard.models import Message
from switchboard.services import uploads
from switchboard.services.automation_config import backstop_expiry
from switchboard.services.sending import hand_over, past_window, window_open
from switchboard.store import conversations
from switchboard.store.table import Table


def reply(conv_id: str, text: str, agent: str, table: Table | None = None,
          attachments: list[str] | None = None) -> Message:
    """`attachments`: upload ids (rich replies): checked and copied under the message before anything is queued."""
    table = table or Table()
    conv = conversations.require(table, conv_id)
    if not window_open(conv):
        raise Conflict("the reply window of this conversation has closed; the customer has to write first",
                       code="reply_window_closed")
    too_long = registry.get(conv.channel).text_problem(text)
    if too_long:  # told now, not as a failed message a moment later
        raise BadRequest(too_long, code="text_too_long")
    message = Message(id=ids.new_id("m_"), conversation_id=conv.id, direction="outbound", channel=conv.channel,
                      text=text, created_at=clock.iso(clock.now()), status="queued", sender=agent,
                      expires_at=backstop_expiry(table, conv.channel, clock.now().timestamp()))
    if attachments:  # rich replies: the files go with the message, or nothing is queued
        message = uploads.with_files(conv, message, attachments, past_window(conv))
    try:
        hand_over(table, conv, message)  # a failure is a 5xx with nothing stored: the agent sends again
    except Exception:
        uploads.discard([a.s3_key for a in message.attachments if a.s3_key])  # the copies, not the uploads
        raise
    if attachments:
        uploads.discard_uploads(conv.id, attachments)
    if conv.first_response_at is None:
        observability.seconds("FirstResponseTime",
                              (clock.parse_iso(message.created_at) - clock.parse_iso(conv.created_at)).total_seconds())
    return message

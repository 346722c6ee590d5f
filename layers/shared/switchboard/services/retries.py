"""Retrying a failed reply (rich replies, issue 13): `POST /api/conversations/{id}/messages/{message_id}/retry` sends
it again as a new attempt, once.

Only an outbound message of ours that failed can be retried (409 `not_failed` otherwise): a double click, or a client
repeating the request, finds it queued already and sends nothing twice. The job goes on the outbound queue first
(deduplicated per attempt), then the message moves from failed to queued for that attempt in one conditional write;
the sender waits a moment for that write when the job overtakes it (services/sending.py), so nothing is ever left
queued without a job. A reply whose files went out in part sends only the rest; one that had gone out whole before
a receipt said it failed is sent whole again."""

from __future__ import annotations

from typing import TYPE_CHECKING

from switchboard import clock, observability, queue
from switchboard.errors import Conflict, NotFound
from switchboard.models import EXTERNAL_SENDER, OutboundJob
from switchboard.services import optouts
from switchboard.services.sending import window_open
from switchboard.store import contacts, conversations, rich_replies

if TYPE_CHECKING:
    from switchboard.models import Message
    from switchboard.store.table import Table


def retry(table: Table, conv_id: str, message_id: str) -> Message:
    conv = conversations.require(table, conv_id)
    message = rich_replies.find_message(table, conv_id, message_id)
    if message is None:
        raise NotFound("no such message in this conversation", code="message_not_found")
    if message.direction != "outbound" or message.type == "note" or (message.sender or "").startswith(EXTERNAL_SENDER):
        raise Conflict("only a reply sent from here can be retried", code="not_failed")
    if message.status != "failed":
        raise Conflict(f"only a failed reply can be retried; this one is {message.status}", code="not_failed")
    if not message.template and not window_open(conv, human=not message.automated):
        raise Conflict("the reply window of this conversation has closed; the customer has to write first, or send "
                       "an approved template (GET /api/templates)", code="reply_window_closed")
    optouts.check_send(contacts.get(table, conv.contact_id), conv.channel)
    private = message.visibility == "private" and bool(message.comment_id)
    if private:  # issue 17: the comment's one private reply, claimed again (409 private_reply_sent if taken since)
        from switchboard.services import comments

        comments.claim_private(table, conv, str(message.comment_id), message.id)
    attempt = message.attempt + 1
    try:
        queue.send_outbound(OutboundJob(conversation_id=conv.id, message_id=message.id, created_at=message.created_at,
                                        correlation_id=observability.correlation_id(), retry=attempt,
                                        retry_requested_at=clock.iso(clock.now())))
    except Exception:  # nothing queued: a 5xx, and the claim goes back as for a new reply (services/replies.py)
        if private:
            comments.release_private(table, conv, str(message.comment_id), message.id)
        raise
    if not rich_replies.requeue_failed(table, message, attempt, fresh=bool(message.provider_message_id)):
        raise Conflict("this reply is being retried already", code="not_failed")
    observability.count("RepliesRetried")
    return message.model_copy(update={"status": "queued", "attempt": attempt, "failure_reason": None})

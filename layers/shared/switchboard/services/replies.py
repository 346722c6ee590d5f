"""Agents' replies: handed to the sender through the outbound FIFO queue and stored as queued."""

from __future__ import annotations

from typing import Any

from switchboard import clock, ids, observability
from switchboard.channels import registry
from switchboard.errors import BadRequest, Conflict
from switchboard.models import Message
from switchboard.services import quotes, uploads
from switchboard.services.automation_config import backstop_expiry
from switchboard.services.sending import hand_over, past_window, window_open
from switchboard.store import contacts, conversations
from switchboard.store.table import Table


def reply(conv_id: str, text: str, agent: str, table: Table | None = None, *, template: dict[str, Any] | None = None,
          attachments: list[str] | None = None, first_contact: bool = False, reply_to: str | None = None,
          visibility: str | None = None) -> Message:
    """`template` (templates capability): {'name', 'language', 'parameters'} of an approved WhatsApp template,
    checked against the stored one (400 before anything is queued) and sent whatever the reply window.
    `attachments`: upload ids (rich replies): checked and copied under the message before anything is queued.
    `first_contact`: the agent is reaching the customer first (POST /api/conversations).
    `reply_to`: the id of a message of this conversation it quotes (rich replies: services/quotes.py; 400 otherwise).
    `visibility` (issue 17): a comment conversation's reply goes on the thread ("public") or as the one private reply
    to the commenter ("private"); required there. Elsewhere absent or "private" (a message is private already)."""
    from switchboard.services import optouts, templates

    table = table or Table()
    conv = conversations.require(table, conv_id)
    if conv.channel == "voice":  # issue 17: a call is answered by SMS or WhatsApp (services/voice.py)
        from switchboard.services.voice import reply_refusal

        raise Conflict(reply_refusal(conv.channel) or "", code="channel_cannot_reply")
    if template is not None:
        if attachments:
            raise BadRequest("a template carries its own header: send the files in a reply of their own",
                             code="template_with_attachments")
        prepared, text = templates.prepare(table, conv.channel, template)
    else:
        prepared = None
        if not text.strip() and not attachments:
            raise BadRequest("write a text, attach a file, or choose a template", code="empty_reply")
        if not window_open(conv):
            raise Conflict("the reply window of this conversation has closed; the customer has to write first, or "
                           "send an approved template (GET /api/templates)", code="reply_window_closed")
        too_long = registry.get(conv.channel).text_problem(text)
        if too_long:  # told now, not as a failed message a moment later
            raise BadRequest(too_long, code="text_too_long")
    optouts.check_send(contacts.get(table, conv.contact_id), conv.channel, first_contact=first_contact)
    from switchboard.services import comments

    target = comments.reply_target(table, conv, visibility, reply_to)  # issue 17: public or private, or a 4xx
    if target and (attachments or template is not None):
        raise BadRequest("a reply to a comment is text only", code="comment_reply_text_only")
    if target.get("visibility") == "private":  # quoted to choose the comment, not quoted in the message
        reply_to = None
    quoted = quotes.for_reply(table, conv.id, reply_to) if reply_to else None  # rich replies: a quoted reply
    message = Message(id=ids.new_id("m_"), conversation_id=conv.id, direction="outbound", channel=conv.channel,
                      type="template" if prepared else "text", text=text, created_at=clock.iso(clock.now()),
                      status="queued", sender=agent, template=prepared,
                      expires_at=backstop_expiry(table, conv.channel, clock.now().timestamp()))
    if quoted is not None:  # sent as the channel's own reply to it, shown quoted in the app
        message = message.model_copy(update={"reply_to": quotes.native_ref(quoted), "quoted": quotes.snapshot(quoted)})
    if attachments:  # rich replies: the files go with the message, or nothing is queued
        message = uploads.with_files(conv, message, attachments, past_window(conv))
    if target:
        message = message.model_copy(update={"visibility": target["visibility"], "comment_id": target["comment_id"],
                                             "comment_from": target.get("comment_from"), "reply_to": None,
                                             "quoted": None})
    private = target.get("visibility") == "private"
    if private:  # Meta allows one per comment: claimed before it is queued (a second is a 409)
        comments.claim_private(table, conv, target["comment_id"], message.id)
    try:
        # An agent reaching the customer first is not a response to anyone: first response times stay the customers'.
        hand_over(table, conv, message, counts_as_response=not first_contact)
    except Exception:  # a failure is a 5xx with nothing stored: the agent sends again
        if private:
            comments.release_private(table, conv, target["comment_id"], message.id)
        uploads.discard([a.s3_key for a in message.attachments if a.s3_key])  # the copies, not the uploads
        raise
    if attachments:
        uploads.discard_uploads(conv.id, attachments)
    if conv.first_response_at is None and not first_contact:
        observability.seconds("FirstResponseTime",
                              (clock.parse_iso(message.created_at) - clock.parse_iso(conv.created_at)).total_seconds())
    return message

"""Public comment threads (issue 17): the conversation of a thread, its post, the rules of answering (public on the
thread, or one private reply within 7 days), and moderation (hide, unhide, delete)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from switchboard import clock, observability
from switchboard.channels import comments as channel_comments
from switchboard.channels import registry
from switchboard.errors import BadRequest, Conflict, NotFound
from switchboard.store import contacts, conversations, keys, messages, rich_replies

if TYPE_CHECKING:
    from switchboard.channels.messenger import MessengerChannel
    from switchboard.models import Contact, Conversation, InboundMessage, Message
    from switchboard.store.table import Table

COMMENT_CHANNELS = ("messenger", "instagram")
POST_PICTURE = "post-picture"  # the filename that marks a comment's attachment as the post's picture (not the comment's)


def _channel(name: str) -> MessengerChannel:
    from switchboard.channels.messenger import MessengerChannel

    channel = registry.get(name)
    assert isinstance(channel, MessengerChannel)
    return channel


# -- in ------------------------------------------------------------------------------------------------------------
def enrich(event: InboundMessage) -> InboundMessage:
    """An Instagram mention arrives as ids only: its author and text are looked up (a failure keeps the placeholder
    author, so the mention is still shown)."""
    if event.comment is None or not event.comment.mention or not event.sender_id.startswith("mention-"):
        return event
    found = channel_comments.fetch_comment(_channel(event.channel), event.comment.id) or {}
    author: dict[str, Any] = found["from"] if isinstance(found.get("from"), dict) else {}
    sender = str(author.get("id") or "") or None
    handle = str(found.get("username") or author.get("username") or "") or None
    text = str(found.get("text") or "")
    update: dict[str, Any] = {"text": text, "summary": None if text else event.summary}
    if sender:
        update |= {"sender_id": sender, "identity": f"{event.channel}:{sender}"}
    if handle:
        update["sender_name"] = f"@{handle}"
    return event.model_copy(update=update)


def thread(table: Table, event: InboundMessage, contact: Contact, expires_at: int | None) -> Conversation:
    """The conversation of the event's comment thread, started (with its post read from the Graph API) on its first
    comment. A reply under a comment joins that comment's thread, whoever wrote it."""
    ref = event.comment
    assert ref is not None
    pointer = keys.comment_thread(event.channel, event.inbox_id, ref.thread_id)
    found = table.get(pointer)  # read once: a new thread's conversation is started from what was read here
    conv = conversations.pointed(table, found)
    if conv is not None:
        return conv
    post = ref.post
    if not (post.permalink and post.text and post.thumbnail_url):
        fetched = channel_comments.fetch_post(_channel(event.channel), post.id)
        if fetched is not None:
            post = post.model_copy(update={k: v for k, v in fetched.model_dump().items()
                                           if v and not getattr(post, k)})
    extra = {"kind": "comment", "post": post.model_dump(mode="json", exclude_none=True),
             "comment_thread": ref.thread_id, "mention": ref.mention}
    conv = conversations.start_for(table, pointer, found, event.channel, event.inbox_id, contact, event.sender_id,
                                   expires_at, extra)
    observability.count_by_channel("CommentThreadsOpened", conv.channel)
    return conv


def with_comment(conv: Conversation, message: Message, event: InboundMessage) -> Message:
    """The stored comment: its id, and on the thread's first comment the post's picture, copied into our bucket with
    the message's other files (so that retention and erasure take it with the message)."""
    update: dict[str, Any] = {"comment_id": event.provider_message_id, "comment_from": event.sender_id}
    thumb = conv.post.thumbnail_url if conv.post else None
    if thumb and event.comment and event.provider_message_id == conv.comment_thread and \
            not any(a.url == thumb for a in message.attachments):
        from switchboard.models import Attachment

        update["attachments"] = [*message.attachments, Attachment(kind="image", url=thumb, filename=POST_PICTURE)]
    return message.model_copy(update=update)


def post_picture(table: Table, conv: Conversation) -> Any:
    """The attachment that is our copy of the post's picture (None before it is stored, or without one)."""
    thumb = conv.post.thumbnail_url if conv.post else None
    if not thumb:
        return None
    items, _ = messages.page(table, conv.id, limit=10)
    return next((a for m in items for a in m.attachments if a.url == thumb and a.s3_key), None)


# -- answering -----------------------------------------------------------------------------------------------------
def reply_target(table: Table, conv: Conversation, visibility: str | None, reply_to: str | None) -> dict[str, Any]:
    """What a reply on this conversation answers ({'visibility', 'comment_id', ...}), or a 4xx before anything is
    queued. A message conversation takes no visibility or "private" (it is private already); a comment conversation
    needs one, so that nothing is posted publicly by accident (macros and rules included)."""
    if conv.kind != "comment":
        if visibility == "public":
            raise BadRequest("only a comment conversation can be answered publicly", code="not_a_comment")
        return {}
    if visibility is None:
        raise BadRequest("choose the visibility of a reply to a comment: public (on the thread) or private (one "
                         "message to the commenter)", code="visibility_required")
    if visibility == "public":
        return {"visibility": "public", "comment_id": conv.comment_thread, "mention": conv.mention,
                "post_id": conv.post.id if conv.post else None}
    comment = _private_target(table, conv, reply_to)
    closes = clock.parse_iso(comment.created_at).timestamp() + channel_comments.PRIVATE_REPLY_SECONDS
    if clock.now().timestamp() >= closes:
        raise Conflict("Meta allows a private reply within 7 days of the comment; this one is older",
                       code="private_reply_window_closed")
    return {"visibility": "private", "comment_id": comment.comment_id or comment.provider_message_id,
            "comment_from": comment.comment_from}


def _private_target(table: Table, conv: Conversation, reply_to: str | None) -> Message:
    """The comment a private reply answers: the one quoted, else the customer's latest comment in the thread."""
    if reply_to:
        quoted = rich_replies.find_message(table, conv.id, reply_to)
        if quoted is None or quoted.direction != "inbound" or not quoted.comment_id:
            raise BadRequest("reply_to must name a customer's comment of this conversation", code="invalid_reply_to")
        return quoted
    items, _ = messages.page(table, conv.id, limit=200)
    found = [m for m in items if m.direction == "inbound" and m.comment_id and m.deleted_at is None]
    if not found:
        raise Conflict("no comment of the customer to answer privately", code="no_comment")
    return found[-1]


def claim_private(table: Table, conv: Conversation, comment_id: str, message_id: str) -> None:
    if not conversations.claim_private_reply(table, conv.channel, comment_id, message_id):
        raise Conflict("this comment has had its private reply already (Meta allows one per comment)",
                       code="private_reply_sent")


def release_private(table: Table, conv: Conversation, comment_id: str, message_id: str) -> None:
    conversations.release_private_reply(table, conv.channel, comment_id, message_id)


def private_reply_failed(table: Table, conv: Conversation, message: Message, outcome_unknown: bool = False) -> None:
    """A queued private reply failed for good: the provider refused it (or it never reached the provider), so the
    comment's one private reply is still unused and its claim goes back (the agent can try again: a new private reply,
    or Retry). When the outcome is unknown (it went out and no answer came) the claim stays: it may have arrived."""
    if message.visibility != "private" or not message.comment_id or outcome_unknown:
        return
    conversations.release_private_reply(table, conv.channel, message.comment_id, message.id)
    observability.count_by_reason("PrivateRepliesReleased", conv.channel, "send_failed")


def after_private_reply(table: Table, conv: Conversation, message: Message, recipient_id: str | None) -> None:
    """The commenter's inbox id (Messenger's PSID) that the private reply reached: their answer comes from it, and
    continues as a normal conversation with the same contact (the comment's author: in a thread, not necessarily the
    conversation's first commenter). A commenter who had written to the Page before has a contact by that id already:
    Meta has just said the two are one person, so the comment's contact is merged into it (audited, as an agent's
    merge is), and the comment thread and the inbox conversation share one contact."""
    if not recipient_id or recipient_id == message.comment_from:
        return  # nothing reached, or the same id in the inbox as on the comment (Instagram): nothing to link
    author = contacts.find(table, f"{conv.channel}:{message.comment_from}") if message.comment_from else None
    author_id = author.id if author else conv.contact_id
    identity = f"{conv.channel}:{recipient_id}"
    try:
        contacts.add_identity(table, author_id, identity, conv.channel, recipient_id)
    except Conflict:  # the customer had written to the Page before, as a contact of their own
        owner = contacts.find(table, identity)
        if owner is None or owner.id == author_id:
            return  # gone meanwhile (erased), or joined by a rerun of this very step
        from switchboard.services import contacts as contact_service
        from switchboard.services.workflow import AUTOMATION

        contact_service.merge(table, owner.id, author_id, actor=f"{AUTOMATION}:private_reply")
        observability.count_by_reason("ContactsMerged", conv.channel, "private_reply")


# -- moderation ----------------------------------------------------------------------------------------------------
def moderate(table: Table, conv_id: str, message_id: str, action: str, agent: str) -> Message:
    """Hide, unhide or delete a customer's comment at the provider, then record it on the message."""
    conv = conversations.require(table, conv_id)
    message = rich_replies.find_message(table, conv.id, message_id)
    if message is None:
        raise NotFound(f"message {message_id} not found")
    if conv.kind != "comment" or message.direction != "inbound" or not message.comment_id:
        raise BadRequest("only a customer's comment can be moderated", code="not_a_comment")
    if message.deleted_at is not None:
        raise Conflict("the comment was deleted", code="comment_deleted")
    _moderate_at_provider(conv.channel, message.comment_id, action)
    record = {"action": action, "by": agent, "at": clock.iso(clock.now())}
    messages.set_moderation(table, message, action == "hide", record)
    message = message.model_copy(update={"hidden": action == "hide", "moderation": record})
    if action == "delete":
        from switchboard.services import search
        from switchboard.store import erasure

        erasure.delete_objects(messages.mark_deleted(table, conv.id, message.created_at, message.id,
                                                     clock.now().timestamp()) or [])
        search.message_changed(table, conv.id, message.id)
        message = messages.get_message(table, conv.id, message.created_at, message.id) or message
    observability.count_by_reason("CommentsModerated", conv.channel, action)
    return message


def _moderate_at_provider(channel: str, comment_id: str, action: str) -> None:
    """The provider's hide, unhide or delete; nothing is recorded when it fails. A refusal (4xx) is a 409 the agent
    reads; the provider out of reach, failing (5xx, 429) or not answering in time is a 502 the client tries again
    (each action is idempotent at the provider: hiding twice, or deleting a deleted comment, changes nothing more)."""
    from switchboard.errors import PermanentSendError, ProviderUnavailable, RetryableSendError

    try:
        channel_comments.moderate(_channel(channel), comment_id, action)
    except RetryableSendError as exc:
        observability.count_by_reason("ModerationsFailed", channel, "unavailable")
        raise ProviderUnavailable(f"the provider could not be reached to {action} the comment ({exc.message}): "
                                  "try again", retry_after=exc.retry_after) from None
    except PermanentSendError as exc:
        if exc.outcome_unknown:
            observability.count_by_reason("ModerationsFailed", channel, "unavailable")
            raise ProviderUnavailable(f"the provider did not answer in time to {action} the comment: try again") \
                from None
        observability.count_by_reason("ModerationsFailed", channel, "refused")
        raise Conflict(f"the provider did not {action} the comment: {exc.message}", code="moderation_failed") \
            from None

"""Conversation routes: the inbox, one conversation, its messages, replies."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from switchboard.api import auth
from switchboard.api.inboxes import with_teams
from switchboard.api.schemas import (
    AssignIn,
    ConversationDetail,
    ConversationPage,
    ConversationSummary,
    LabelsIn,
    MessageOut,
    MessagePage,
    ModerateIn,
    NoteIn,
    PostOut,
    ReplyIn,
)
from switchboard.errors import BadRequest
from switchboard.models import Conversation
from switchboard.services import attributes as custom_attributes
from switchboard.services import crossing, inbox, inboxes, links, media, notifications, push, replies, workflow
from switchboard.services.sending import window_closes_at, window_open
from switchboard.store.table import Table

router = APIGatewayHttpRouter()


@router.get("/api/conversations", summary="The inbox, newest activity first (or another sort)",
            description="Filters: status, channel, assignee, label, priority, and attr.<key>=<value> for a list "
                        "attribute of conversations (GET /api/attributes). sort: activity (newest first, the "
                        "default), priority (then the longest waiting), waiting (the longest waiting first), sla_due "
                        "(the SLA due time nearest first, breached ones on top).")
def list_conversations(
    status: Annotated[Literal["open", "pending", "resolved", "snoozed"] | None, Query()] = None,
    channel: Annotated[str | None, Query(max_length=32)] = None,
    assignee: Annotated[str | None, Query(max_length=320)] = None,
    label: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
    inbox_: Annotated[str | None, Query(alias="inbox", max_length=64, description="an inbox id (issue 14)")] = None,
    team: Annotated[str | None, Query(max_length=64, description="a team id, or mine: the caller's teams")] = None,
    priority: Annotated[Literal["urgent", "high", "normal", "low"] | None, Query()] = None,  # issue 14
    sort: Annotated[Literal["activity", "priority", "waiting", "sla_due"], Query()] = "activity",  # issue 14
    source: Annotated[str | None, Query(max_length=64, description="an entry link's id: the conversations that "
                                        "came through it, newest first (other filters do not apply)")] = None,
) -> ConversationPage:
    table = Table()
    if source:  # growth: the link's own list (store/links.py), not the inbox indexes
        found, after = links.conversations_from(table, source, limit, cursor)
        return ConversationPage(items=with_teams([ConversationSummary.of(c) for c in found]), next_cursor=after)
    wanted = {name[len("attr."):]: value for name, value in (router.current_event.query_string_parameters or {}).items()
              if name.startswith("attr.")}
    attributes = custom_attributes.inbox_filter(table, wanted)  # issue 14: list attributes only, checked (400)
    if inbox_ or team:  # issue 14: the inbox of some inboxes (InboxIndex), newest activity first
        if priority or sort != "activity" or attributes:
            raise BadRequest("inbox and team views are sorted by activity: combine them with status, channel, "
                             "assignee or label, not with priority, sort or attribute filters")
        items, next_cursor = inboxes.page(table, inbox=inbox_, team=team, caller=auth.current(router).email,
                                          status=status, channel=channel, assignee=assignee, label=label,
                                          limit=limit, cursor=cursor)
    else:
        items, next_cursor = inbox.page(table, status=status, channel=channel, assignee=assignee, label=label,
                                        limit=limit, cursor=cursor, priority=priority, sort=sort, attributes=attributes)
    return ConversationPage(items=with_teams([ConversationSummary.of(c) for c in items]), next_cursor=next_cursor)


@router.get("/api/conversations/<conversation_id>", summary="One conversation, with its reply window")
def get_conversation(conversation_id: str) -> ConversationDetail:
    return _detail(inbox.get(Table(), conversation_id))


@router.get("/api/conversations/<conversation_id>/messages", summary="Messages, oldest first")
def list_messages(
    conversation_id: str,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
) -> MessagePage:
    items, next_cursor = inbox.message_page(Table(), conversation_id, limit=limit, cursor=cursor)
    return MessagePage(items=[MessageOut.of(m, media.presigned_url) for m in items], next_cursor=next_cursor)


@router.post("/api/conversations/<conversation_id>/messages", summary="Reply (queued, then sent)",
             responses={202: {"description": "queued", "content": {"application/json": {"model": MessageOut}}},
                        409: {"description": "conversation_changed: a message arrived after `after` (issue 15)"}})
def post_message(conversation_id: str, body: ReplyIn) -> Response[MessageOut]:
    who = auth.current(router)
    crossing.check(Table(), conversation_id, body.after, who.email)  # issue 15: 409 conversation_changed
    message = replies.reply(conversation_id, body.text, who.email, attachments=body.attachments,
                            template=body.template.model_dump(mode="json") if body.template else None,
                            reply_to=body.reply_to, visibility=body.visibility)
    return Response(status_code=202, content_type="application/json", body=MessageOut.of(message, media.presigned_url))


@router.post("/api/conversations/<conversation_id>/messages/<message_id>/moderate",
             summary="Hide, unhide or delete a customer's comment (comment conversations)",
             responses={400: {"description": "not_a_comment: only a customer's comment can be moderated"},
                        409: {"description": "moderation_failed: the provider refused; comment_deleted"},
                        502: {"description": "provider_unavailable: the provider could not be reached, failed or "
                                             "did not answer in time; nothing was recorded: try again"}})
def moderate(conversation_id: str, message_id: str, body: ModerateIn) -> MessageOut:
    from switchboard.services import comments

    who = auth.current(router)
    message = comments.moderate(Table(), conversation_id, message_id, body.action, who.email)
    return MessageOut.of(message, media.presigned_url)


def _post(conv: Conversation) -> PostOut | None:
    """issue 17: the post of a comment thread, with a link to our copy of its picture."""
    if conv.kind != "comment" or conv.post is None:
        return None
    from switchboard.services import comments

    picture = comments.post_picture(Table(), conv)
    return PostOut(id=conv.post.id, permalink=conv.post.permalink, text=conv.post.text,
                   thumbnail=media.presigned_url(picture) if picture else None)


def _detail(conv: Conversation) -> ConversationDetail:
    summary = with_teams([ConversationSummary.of(conv)])[0].model_dump()
    return ConversationDetail(**summary, inbox_id=conv.inbox_id, created_at=conv.created_at,
                              last_inbound_at=conv.last_inbound_at, first_response_at=conv.first_response_at,
                              resolved_at=conv.resolved_at, resolved_by=conv.resolved_by,
                              reply_window_closes_at=window_closes_at(conv), reply_window_open=window_open(conv),
                              blocked=conv.blocked, subject=conv.subject or None, rating=conv.rating,
                              rating_comment=conv.rating_comment, post=_post(conv), mention=conv.mention)


@router.post("/api/conversations/<conversation_id>/notes", summary="Add an internal note (never sent)",
             responses={201: {"description": "stored", "content": {"application/json": {"model": MessageOut}}}})
def post_note(conversation_id: str, body: NoteIn) -> Response[MessageOut]:
    who = auth.current(router)
    table = Table()
    note = inbox.add_note(table, conversation_id, body.text, who.email)
    notifications.note_added(table, note)  # issue 15: @mentions notify (a failure is counted, the note stays)
    push.note_created(table, note)  # issue 15: the other agents' apps
    return Response(status_code=201, content_type="application/json", body=MessageOut.of(note))


@router.post("/api/conversations/<conversation_id>/resolve", summary="Resolve")
def resolve(conversation_id: str) -> ConversationDetail:
    who = auth.current(router)
    return _detail(workflow.resolve(Table(), conversation_id, who.email))


@router.post("/api/conversations/<conversation_id>/reopen", summary="Reopen")
def reopen(conversation_id: str) -> ConversationDetail:
    return _detail(workflow.reopen(Table(), conversation_id))


@router.post("/api/conversations/<conversation_id>/pending", summary="Mark pending (waiting on the customer)")
def pending(conversation_id: str) -> ConversationDetail:
    return _detail(workflow.pending(Table(), conversation_id))


@router.post("/api/conversations/<conversation_id>/assign", summary="Assign to an agent (null unassigns)")
def assign(conversation_id: str, body: AssignIn) -> ConversationDetail:
    return _detail(inbox.assign(Table(), conversation_id, body.agent, by=auth.current(router).email))


@router.post("/api/conversations/<conversation_id>/labels", summary="Replace the labels")
def labels(conversation_id: str, body: LabelsIn) -> ConversationDetail:
    return _detail(inbox.set_labels(Table(), conversation_id, body.labels))


@router.post("/api/conversations/<conversation_id>/read", summary="Mark read (clears the unread count)")
def read(conversation_id: str) -> ConversationDetail:
    return _detail(inbox.mark_read(Table(), conversation_id))

"""Conversation routes: the inbox, one conversation, its messages, replies."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from switchboard.api.auth import caller
from switchboard.api.schemas import (
    ConversationDetail,
    ConversationPage,
    ConversationSummary,
    MessageOut,
    MessagePage,
    ReplyIn,
)
from switchboard.services import replies
from switchboard.services.sending import window_closes_at, window_open
from switchboard.store import conversations
from switchboard.store.table import Table

router = APIGatewayHttpRouter()


@router.get("/api/conversations", summary="The inbox, newest activity first")
def list_conversations(
    status: Annotated[Literal["open", "pending", "resolved"] | None, Query()] = None,
    channel: Annotated[str | None, Query(max_length=32)] = None,
    assignee: Annotated[str | None, Query(max_length=320)] = None,
    label: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
) -> ConversationPage:
    caller(router.current_event.raw_event)
    items, next_cursor = conversations.inbox(Table(), status=status, channel=channel, assignee=assignee,
                                             label=label, limit=limit, cursor=cursor)
    return ConversationPage(items=[ConversationSummary.of(c) for c in items], next_cursor=next_cursor)


@router.get("/api/conversations/<conversation_id>", summary="One conversation, with its reply window")
def get_conversation(conversation_id: str) -> ConversationDetail:
    caller(router.current_event.raw_event)
    conv = conversations.require(Table(), conversation_id)
    summary = ConversationSummary.of(conv).model_dump()
    return ConversationDetail(**summary, inbox_id=conv.inbox_id, created_at=conv.created_at,
                              last_inbound_at=conv.last_inbound_at, first_response_at=conv.first_response_at,
                              resolved_at=conv.resolved_at, reply_window_closes_at=window_closes_at(conv),
                              reply_window_open=window_open(conv), blocked=conv.blocked)


@router.get("/api/conversations/<conversation_id>/messages", summary="Messages, oldest first")
def list_messages(
    conversation_id: str,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
) -> MessagePage:
    caller(router.current_event.raw_event)
    table = Table()
    conversations.require(table, conversation_id)
    items, next_cursor = conversations.messages(table, conversation_id, limit=limit, cursor=cursor)
    return MessagePage(items=[MessageOut.of(m) for m in items], next_cursor=next_cursor)


@router.post("/api/conversations/<conversation_id>/messages", summary="Reply (queued, then sent)",
             responses={202: {"description": "queued", "content": {"application/json": {"model": MessageOut}}}})
def post_message(conversation_id: str, body: ReplyIn) -> Response[MessageOut]:
    who = caller(router.current_event.raw_event)
    message = replies.reply(conversation_id, body.text, who.email)
    return Response(status_code=202, content_type="application/json", body=MessageOut.of(message))

"""The agent API's request and response models (the OpenAPI document is generated from these)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from switchboard.models import Attachment, Conversation, Location, Message


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ErrorBody(ApiModel):
    code: str
    message: str


class ErrorResponse(ApiModel):
    error: ErrorBody


class Health(ApiModel):
    status: Literal["ok"] = "ok"


class ContactRef(ApiModel):
    id: str
    name: str | None = None


class LastMessage(ApiModel):
    text: str
    direction: Literal["inbound", "outbound"]
    created_at: str


class ConversationSummary(ApiModel):
    id: str
    channel: str
    status: Literal["open", "pending", "resolved"]
    contact: ContactRef
    assignee: str | None = None
    labels: list[str] = []
    last_message: LastMessage | None = None
    updated_at: str

    @classmethod
    def of(cls, conv: Conversation) -> ConversationSummary:
        return cls(id=conv.id, channel=conv.channel, status=conv.status,
                   contact=ContactRef(id=conv.contact_id, name=conv.contact_name), assignee=conv.assignee,
                   labels=conv.labels, last_message=LastMessage.model_validate(conv.last_message)
                   if conv.last_message else None, updated_at=conv.updated_at)


class ConversationPage(ApiModel):
    items: list[ConversationSummary]
    next_cursor: str | None = None


class ConversationDetail(ConversationSummary):
    inbox_id: str
    created_at: str
    last_inbound_at: str | None = None
    first_response_at: str | None = None
    resolved_at: str | None = None
    reply_window_closes_at: str | None = Field(
        None, description="when free-form replies stop being allowed; null for channels without a window")
    reply_window_open: bool = True
    blocked: bool = Field(False, description="the customer blocked us on this channel")


class MessageOut(ApiModel):
    id: str
    direction: Literal["inbound", "outbound"]
    type: str
    text: str
    attachments: list[Attachment] = []
    location: Location | None = None
    reply_to: str | None = None
    reaction: str | None = None
    created_at: str
    status: str
    failure_reason: str | None = None
    sender: str | None = None

    @classmethod
    def of(cls, message: Message) -> MessageOut:
        return cls.model_validate(message.model_dump())


class MessagePage(ApiModel):
    items: list[MessageOut]
    next_cursor: str | None = None


class ReplyIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=10_000)

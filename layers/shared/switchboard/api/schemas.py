"""The agent API's request and response models (the OpenAPI document is generated from these)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from switchboard.models import Attachment, Conversation, Location, Message

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


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
    unread_count: int = 0

    @classmethod
    def of(cls, conv: Conversation) -> ConversationSummary:
        return cls(id=conv.id, channel=conv.channel, status=conv.status,
                   contact=ContactRef(id=conv.contact_id, name=conv.contact_name), assignee=conv.assignee,
                   labels=conv.labels, last_message=LastMessage.model_validate(conv.last_message)
                   if conv.last_message else None, updated_at=conv.updated_at, unread_count=conv.unread_count)


class ConversationPage(ApiModel):
    items: list[ConversationSummary]
    next_cursor: str | None = None


class ConversationDetail(ConversationSummary):
    inbox_id: str
    created_at: str
    last_inbound_at: str | None = None
    first_response_at: str | None = None
    resolved_at: str | None = None
    resolved_by: str | None = None
    reply_window_closes_at: str | None = Field(
        None, description="when free-form replies stop being allowed; null for channels without a window")
    reply_window_open: bool = True
    blocked: bool = Field(False, description="the customer blocked us on this channel")
    subject: str | None = Field(None, description="email: the thread's subject")
    rating: int | None = Field(None, ge=1, le=5, description="the customer's survey rating of its last resolution")
    rating_comment: str | None = Field(None, description="the comment the customer added to that rating")


class AttachmentOut(ApiModel):
    kind: str
    filename: str | None = None
    mime_type: str | None = None
    size: int | None = None
    status: str
    url: str | None = Field(None, description="a short-lived presigned link, once stored")


class MessageOut(ApiModel):
    id: str
    direction: Literal["inbound", "outbound"]
    type: str
    text: str
    attachments: list[AttachmentOut] = []
    location: Location | None = None
    reply_to: str | None = None
    reaction: str | None = None
    payload: str | None = Field(None, description="the payload of the button, quick reply or postback the customer chose")
    created_at: str
    status: str
    failure_reason: str | None = None
    sender: str | None = None
    edited: bool = False

    @classmethod
    def of(cls, message: Message, link: Callable[[Attachment], str | None] | None = None) -> MessageOut:
        data = message.model_dump(exclude={"attachments"})
        attachments = [AttachmentOut(kind=a.kind, filename=a.filename, mime_type=a.mime_type, size=a.size,
                                     status=a.status, url=link(a) if link and a.s3_key else None)
                       for a in message.attachments]
        return cls(**data, attachments=attachments, edited=message.edited_at is not None)


class MessagePage(ApiModel):
    items: list[MessageOut]
    next_cursor: str | None = None


class ReplyIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=10_000)


class NoteIn(ReplyIn):
    pass


class AssignIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    agent: str | None = Field(max_length=320, description="the agent's email; null unassigns (required: an empty "
                                                         "body must not unassign by accident)")


Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[^,\s][^,]*$")]


class LabelsIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    labels: list[Label] = Field(max_length=20)


class CannedIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    shortcut: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    text: str = Field(min_length=1, max_length=4000)


class CannedOut(ApiModel):
    id: str
    shortcut: str
    text: str


class CannedList(ApiModel):
    items: list[CannedOut]


class Identity(ApiModel):
    identity: str
    channel: str
    address: str


class ContactConversation(ApiModel):
    id: str
    channel: str
    status: str
    updated_at: str


class ContactOut(ApiModel):
    id: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    surveys_opt_out: bool = False
    created_at: str
    identities: list[Identity] = []
    conversations: list[ContactConversation] = []


class ContactPatch(ApiModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=200)
    email: str | None = Field(None, max_length=320, pattern=EMAIL_PATTERN)
    phone: str | None = Field(None, pattern=r"^\+[1-9][0-9]{6,14}$", description="E.164")
    surveys_opt_out: bool | None = None


class Me(ApiModel):
    email: str
    role: Literal["agent", "admin"]
    now: str = Field(description="the server's time (ISO 8601): the app measures its own clock against it")


class Percentiles(ApiModel):
    p50: float | None = None
    p90: float | None = None
    count: int = 0


class Csat(ApiModel):
    average: float | None = None
    responses: int = 0
    satisfied_share: float | None = Field(None, description="share of ratings 4 and 5")


class MetricsOut(ApiModel):
    model_config = ConfigDict(populate_by_name=True)
    from_: str = Field(alias="from")
    to: str
    conversations: int
    first_response_seconds: Percentiles
    resolution_seconds: Percentiles
    csat: Csat
    by_channel: dict[str, int]
    by_status: dict[str, int] = Field(description="open, pending, resolved: where the conversations opened in the "
                                                  "period stand now")
    activity: dict[str, int] = Field(description="opened, resolved, reopened: what happened in the period")

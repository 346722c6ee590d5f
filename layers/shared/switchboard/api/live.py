"""The live workspace (issue 15): an agent's notifications, and who can be mentioned in a note."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import ConfigDict, Field, StringConstraints

from switchboard.api import auth
from switchboard.api.schemas import ApiModel
from switchboard.services import notifications
from switchboard.store.table import Table

router = APIGatewayHttpRouter()

NotificationId = Annotated[str, StringConstraints(pattern=notifications.ID_PATTERN)]


class NotificationOut(ApiModel):
    id: str
    type: Literal["mention", "assigned", "customer_replied", "sla_warning"]
    conversation_id: str
    created_at: str
    read: bool
    by: str | None = Field(None, description="who mentioned or assigned (an agent's email)")
    message_id: str | None = Field(None, description="the note that mentions, or the customer's message")


class NotificationList(ApiModel):
    items: list[NotificationOut]
    unread: int = Field(description="how many of these are unread")


class ReadIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[NotificationId] = Field(min_length=1, max_length=100)


class ReadOut(ApiModel):
    read: int


class Mentionable(ApiModel):
    email: str


class MentionableList(ApiModel):
    items: list[Mentionable]


@router.get("/api/notifications", summary="My notifications, newest first, and how many are unread",
            description="Types: mention (an @email or @name in an internal note), assigned (a conversation assigned "
                        "to me by someone else), customer_replied (in a conversation assigned to me), sla_warning.")
def list_notifications(limit: Annotated[int, Query(ge=1, le=100)] = notifications.LIST_LIMIT) -> NotificationList:
    items, unread = notifications.listing(Table(), auth.current(router).email, limit)
    return NotificationList(items=[NotificationOut(**i) for i in items], unread=unread)


@router.post("/api/notifications/read", summary="Mark my notifications read")
def read_notifications(body: ReadIn) -> ReadOut:
    return ReadOut(read=notifications.mark_read(Table(), auth.current(router).email, body.ids))


@router.get("/api/mentionable", summary="Who an internal note can mention (@email, or @name)")
def mentionable() -> MentionableList:
    return MentionableList(items=[Mentionable(email=e) for e in sorted(notifications.known_agents(Table()))])

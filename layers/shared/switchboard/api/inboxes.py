"""Inboxes and teams (issue 14): every agent reads them (the inbox filters, the conversation header); admins name
inboxes, attach them to teams, add or block one, and make teams (auth.ADMIN_ROUTES)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import ConfigDict, Field, StringConstraints

from switchboard.api import auth
from switchboard.api.schemas import EMAIL_PATTERN, ApiModel, ConversationSummary
from switchboard.channel_names import Channel
from switchboard.models import IgnoredInbox, Inbox, Team
from switchboard.services import inboxes
from switchboard.store.table import Table

router = APIGatewayHttpRouter()

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
Member = Annotated[str, StringConstraints(strip_whitespace=True, max_length=320, pattern=EMAIL_PATTERN)]
Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=320,
                                           pattern=r"^[\x21-\x7e]+$")]
ID = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class InboxOut(ApiModel):
    id: str
    name: str | None = Field(None, description="set by admins; the app shows the address until then")
    channel: str
    address: str = Field(description="the business address: a WhatsApp phone_number_id, a Page or Instagram "
                                     "account id, the Telegram bot id (or business:<connection>), an SMS number, "
                                     "an email address, a web chat widget id")
    team: str | None = None
    status: Literal["active", "blocked"] = "active"
    created_at: str
    origin: str

    @classmethod
    def of(cls, inbox: Inbox) -> InboxOut:
        return cls(**inbox.model_dump())


class IgnoredOut(ApiModel):
    id: str
    channel: str
    address: str
    events: int = Field(description="events ignored (counted since the first, for 30 days after the last)")
    first_at: str
    last_at: str

    @classmethod
    def of(cls, ignored: IgnoredInbox) -> IgnoredOut:
        return cls(**ignored.model_dump())


class InboxList(ApiModel):
    items: list[InboxOut]
    ignored: list[IgnoredOut] | None = Field(None, description="with ?include=ignored (admins): business addresses "
                                             "whose events were ignored, newest first; POST /api/inboxes allows one")


class InboxPatch(ApiModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | Literal[""] | None = Field(None, description="null or empty: no name")
    team: ID | Literal[""] | None = Field(None, description="a team id; null or empty: no team")


class InboxIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    channel: Channel
    address: Address
    name: Name | None = None
    team: ID | None = None


class TeamOut(ApiModel):
    id: str
    name: str
    members: list[str]
    created_at: str

    @classmethod
    def of(cls, team: Team) -> TeamOut:
        return cls(**team.model_dump())


class TeamList(ApiModel):
    items: list[TeamOut]


class TeamIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    members: list[Member] = Field([], max_length=500, description="agents' emails")


@router.get("/api/inboxes", summary="Inboxes: one per business number, page, account, bot, address or widget")
def list_inboxes(
    include: Annotated[Literal["ignored"] | None, Query(description="ignored: also the addresses whose events "
                                                                    "were ignored (admins)")] = None,
) -> InboxList:
    table = Table()
    found, _ = inboxes.directory(table, fresh=True)
    listed = InboxList(items=[InboxOut.of(i) for i in sorted(found, key=lambda i: (i.channel, i.name or i.address))])
    if include == "ignored":
        auth.require_admin(auth.current(router))
        listed.ignored = [IgnoredOut.of(i) for i in inboxes.ignored(table)]
    return listed


@router.post("/api/inboxes", summary="Add an inbox, or allow an ignored or blocked address (admins)",
             responses={201: {"description": "added", "content": {"application/json": {"model": InboxOut}}}})
def add_inbox(body: InboxIn) -> Response[InboxOut]:
    who = auth.current(router)
    inbox = inboxes.add(Table(), body.channel, body.address, body.name, body.team, who.email)
    return Response(status_code=201, content_type="application/json", body=InboxOut.of(inbox))


@router.patch("/api/inboxes/<inbox_id>", summary="Name an inbox, attach it to a team (admins)")
def patch_inbox(inbox_id: str, body: InboxPatch) -> InboxOut:
    who = auth.current(router)
    return InboxOut.of(inboxes.change(Table(), inbox_id, body.model_dump(exclude_unset=True), who.email))


@router.delete("/api/inboxes/<inbox_id>", summary="Block an inbox: its events are ignored from now on (admins)")
def block_inbox(inbox_id: str) -> InboxOut:
    who = auth.current(router)
    return InboxOut.of(inboxes.block(Table(), inbox_id, who.email))


@router.get("/api/teams", summary="Teams, with their members")
def list_teams() -> TeamList:
    _, teams = inboxes.directory(Table(), fresh=True)
    return TeamList(items=[TeamOut.of(t) for t in sorted(teams, key=lambda t: t.name.casefold())])


@router.post("/api/teams", summary="Create a team (admins)",
             responses={201: {"description": "created", "content": {"application/json": {"model": TeamOut}}}})
def create_team(body: TeamIn) -> Response[TeamOut]:
    who = auth.current(router)
    team = inboxes.create_team(Table(), body.name, body.members, who.email)
    return Response(status_code=201, content_type="application/json", body=TeamOut.of(team))


@router.put("/api/teams/<team_id>", summary="Rename a team, set its members (admins)")
def put_team(team_id: str, body: TeamIn) -> TeamOut:
    who = auth.current(router)
    return TeamOut.of(inboxes.replace_team(Table(), team_id, body.name, body.members, who.email))


@router.delete("/api/teams/<team_id>", summary="Delete a team; its inboxes have none from now on (admins)",
               responses={204: {"description": "deleted"}})
def delete_team(team_id: str) -> Any:  # not Response[None]: validation would serialize its body to "null"
    who = auth.current(router)
    inboxes.delete_team(Table(), team_id, who.email)
    return Response(status_code=204)  # no body at all: a 204 has none



def with_teams(summaries: list[ConversationSummary]) -> list[ConversationSummary]:
    """Each conversation's team: its inbox's (from the directory, cached briefly)."""
    if not summaries:
        return summaries
    teams = {i.id: i.team for i in inboxes.directory()[0]}
    # issue 19: a team a rule or macro gave the conversation comes first
    return [s.model_copy(update={"team": s.team or teams.get(s.inbox or "")}) for s in summaries]

"""The team: agents' availability for round-robin assignment, and merging contacts."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import ConfigDict, Field

from switchboard.api import auth
from switchboard.api.contacts import contact_view
from switchboard.api.schemas import ApiModel, ContactOut
from switchboard.services import assignment, contacts
from switchboard.store.table import Table

router = APIGatewayHttpRouter()


class Agent(ApiModel):
    email: str
    available: bool
    max_open: int
    open_count: int


class AgentList(ApiModel):
    items: list[Agent]


class AvailabilityIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    available: bool
    max_open: int | None = Field(None, ge=0, le=500, description="the most open conversations assigned at once")


class MergeIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    other: str = Field(min_length=1, max_length=64, description="the contact merged into this one (it goes away)")


@router.get("/api/agents", summary="Agents with their availability and open load")
def list_agents() -> AgentList:
    return AgentList(items=[Agent(**a) for a in assignment.agents(Table())])


@router.put("/api/me/availability", summary="Take (or stop taking) new conversations, up to a cap")
def set_availability(body: AvailabilityIn) -> Agent:
    who = auth.current(router)
    return Agent(**assignment.set_availability(Table(), who.email, body.available, body.max_open))


@router.post("/api/contacts/<contact_id>/merge", summary="Merge another contact into this one")
def merge_contacts(contact_id: str, body: MergeIn) -> ContactOut:
    table = Table()
    contacts.merge(table, contact_id, body.other, actor=auth.current(router).email)
    return contact_view(table, contact_id)

"""Who works on what: agents' availability, and round-robin assignment of new conversations under a per-agent cap."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from switchboard import clock
from switchboard.store import agents as store_agents
from switchboard.store import conversations, reports
from switchboard.store.table import Table

if TYPE_CHECKING:
    from switchboard.models import Agent, Conversation

DEFAULT_MAX_OPEN = 10


def _view(agent: Agent) -> dict[str, Any]:
    return {"email": agent.email, "available": agent.available, "max_open": agent.max_open,
            "open_count": max(0, agent.open_count)}


def agents(table: Table) -> list[dict[str, Any]]:
    return [_view(a) for a in store_agents.list_all(table)]


def set_availability(table: Table, email: str, available: bool, max_open: int | None = None) -> dict[str, Any]:
    return _view(store_agents.set_availability(table, email, available, max_open, DEFAULT_MAX_OPEN))


def _load(table: Table, email: str | None, delta: int) -> None:
    """Count an assigned open conversation on (or off) an agent's load (not a registered agent's: one assigned by
    hand to someone who never set availability)."""
    if email:
        store_agents.add_load(table, email, delta)


def auto_assign(table: Table, conv: Conversation, members: Collection[str] | None = None) -> Conversation:
    """A new conversation goes to the available agent assigned least recently, below their cap; with `members`
    (its inbox's team, issue 14), to one of them only: none available, it waits in the team's queue."""
    if conv.assignee:
        return conv
    allowed = {m.lower() for m in members} if members is not None else None
    candidates = sorted((a for a in store_agents.list_all(table) if a.available and a.open_count < a.max_open
                         and (allowed is None or a.email.lower() in allowed)),
                        key=lambda a: (a.last_assigned_at or "", a.email))
    for candidate in candidates:
        if store_agents.claim_slot(table, candidate.email, clock.iso(clock.now())):  # a place under the cap
            assigned = conversations.assign(table, conv.id, candidate.email)
            reports.assigned(table, assigned, candidate.email, clock.iso(clock.now()))  # reports: per agent
            return assigned
    return conv


def reassign(table: Table, conv: Conversation, agent: str | None) -> Conversation:
    """A hand assignment moves the conversation's weight from one agent's load to the other's."""
    updated = conversations.assign(table, conv.id, agent)
    if (conv.assignee or None) != (updated.assignee or None):
        reports.assigned(table, updated, updated.assignee, clock.iso(clock.now()))  # reports: conversations per agent
    if conv.status != "resolved" and (conv.assignee or None) != (updated.assignee or None):
        _load(table, conv.assignee, -1)
        _load(table, updated.assignee, +1)
    return updated


def closed(table: Table, conv: Conversation) -> None:
    """Resolved: off its agent's load."""
    _load(table, conv.assignee, -1)


def reopened(table: Table, conv: Conversation) -> None:
    _load(table, conv.assignee, +1)

"""Agents' availability, cap and open load (one partition: a team has dozens, read in one Query): what round-robin
assignment reads and claims."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from switchboard.store import keys
from switchboard.store.table import ConditionFailed, Table

if TYPE_CHECKING:
    from switchboard.models import Agent


def _agent(item: dict[str, Any]) -> Agent:
    from switchboard.models import Agent

    return Agent.model_validate(item)


def list_all(table: Table) -> list[Agent]:
    return [_agent(i) for i in table.query_all("pk = :pk", {":pk": keys.AGENTS_PK})]


def set_availability(table: Table, email: str, available: bool, max_open: int | None, default_max_open: int) -> Agent:
    """Registers the agent on first use (no load, never assigned); `max_open` None keeps the cap they have."""
    expression = "SET email = :e, available = :a, open_count = if_not_exists(open_count, :z), " \
                 "last_assigned_at = if_not_exists(last_assigned_at, :never)"
    vals: dict[str, Any] = {":e": email.lower(), ":a": available, ":z": 0, ":never": ""}
    expression += ", max_open = :m" if max_open is not None else ", max_open = if_not_exists(max_open, :m)"
    vals[":m"] = max_open if max_open is not None else default_max_open
    return _agent(table.update(keys.agent(email), expression, vals=vals, return_new=True) or {})


def add_load(table: Table, email: str, delta: int) -> bool:
    """Count an assigned open conversation on (or off) a registered agent's load; False for someone who never set
    their availability."""
    try:
        table.update(keys.agent(email), "ADD open_count :d", vals={":d": delta}, condition="attribute_exists(pk)")
    except ConditionFailed:
        return False
    return True


def claim_slot(table: Table, email: str, now: str) -> bool:
    """Take one place under the agent's cap, if they are available and have one: two processors never overfill one
    agent."""
    try:
        table.update(keys.agent(email), "ADD open_count :one SET last_assigned_at = :now",
                     vals={":one": 1, ":now": now, ":t": True}, condition="available = :t AND open_count < max_open")
    except ConditionFailed:
        return False
    return True

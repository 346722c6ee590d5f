"""Who works on what: agents' availability, and round-robin assignment of new conversations under a per-agent cap."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from switchboard import clock
from switchboard.store import conversations, keys
from switchboard.store.table import ConditionFailed, Table

if TYPE_CHECKING:
    from switchboard.models import Conversation

DEFAULT_MAX_OPEN = 10


def agents(table: Table) -> list[dict[str, Any]]:
    items = table.query_all("pk = :pk", {":pk": keys.AGENTS_PK})
    return [{"email": i["email"], "available": bool(i.get("available")), "max_open": int(i.get("max_open", 0)),
             "open_count": max(0, int(i.get("open_count", 0)))} for i in items]


def set_availability(table: Table, email: str, available: bool, max_open: int | None = None) -> dict[str, Any]:
    expression = "SET email = :e, available = :a, open_count = if_not_exists(open_count, :z), " \
                 "last_assigned_at = if_not_exists(last_assigned_at, :never)"
    vals: dict[str, Any] = {":e": email.lower(), ":a": available, ":z": 0, ":never": ""}
    expression += ", max_open = :m" if max_open is not None else ", max_open = if_not_exists(max_open, :m)"
    vals[":m"] = max_open if max_open is not None else DEFAULT_MAX_OPEN
    item = table.update(keys.agent(email), expression, vals=vals, return_new=True) or {}
    return {"email": item["email"], "available": item["available"], "max_open": int(item["max_open"]),
            "open_count": max(0, int(item.get("open_count", 0)))}


def _load(table: Table, email: str | None, delta: int) -> None:
    """Count an assigned open conversation on (or off) an agent's load."""
    if not email:
        return
    try:
        table.update(keys.agent(email), "ADD open_count :d", vals={":d": delta}, condition="attribute_exists(pk)")
    except ConditionFailed:
        pass  # not a registered agent (assigned by hand to someone who never set availability)


def auto_assign(table: Table, conv: Conversation) -> Conversation:
    """A new conversation goes to the available agent assigned least recently, below their cap."""
    if conv.assignee:
        return conv
    items, _ = table.query("pk = :pk", {":pk": keys.AGENTS_PK})
    candidates = sorted((i for i in items if i.get("available") and int(i.get("open_count", 0)) < int(i.get("max_open", 0))),
                        key=lambda i: (i.get("last_assigned_at") or "", i["email"]))
    for candidate in candidates:
        try:  # claim a place under the cap: two processors never overfill one agent
            table.update(keys.agent(candidate["email"]), "ADD open_count :one SET last_assigned_at = :now",
                         vals={":one": 1, ":now": clock.iso(clock.now()), ":t": True},
                         condition="available = :t AND open_count < max_open")
        except ConditionFailed:
            continue
        return conversations.assign(table, conv.id, candidate["email"])
    return conv


def reassign(table: Table, conv: Conversation, agent: str | None) -> Conversation:
    """A hand assignment moves the conversation's weight from one agent's load to the other's."""
    updated = conversations.assign(table, conv.id, agent)
    if conv.status != "resolved" and (conv.assignee or None) != (updated.assignee or None):
        _load(table, conv.assignee, -1)
        _load(table, updated.assignee, +1)
    return updated


def closed(table: Table, conv: Conversation) -> None:
    """Resolved: off its agent's load."""
    _load(table, conv.assignee, -1)


def reopened(table: Table, conv: Conversation) -> None:
    _load(table, conv.assignee, +1)

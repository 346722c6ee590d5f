"""Agents' notifications (issue 15, the live workspace): a mention in an internal note, a conversation assigned to
you, a customer replying in your conversation, an SLA about to be missed.

Each is stored once under a stable id (its cause's time, then a digest of what caused it), so a retried processor
run, timer or request lands on the same item; then it is pushed to the agent's open apps. A notification holds ids
only (the conversation, the message, who caused it), never message text or the customer's name, and is deleted with
its conversation (erasure, retention) or by its TTL after KEEP_DAYS."""

from __future__ import annotations

import hashlib
import logging
import re
from typing import TYPE_CHECKING, Any

from switchboard import clock, observability
from switchboard.errors import SwitchboardError
from switchboard.store import agents
from switchboard.store import notifications as store
from switchboard.store.table import Table

if TYPE_CHECKING:
    from switchboard.models import Conversation, Message

logger = logging.getLogger(__name__)

TYPES = ("mention", "assigned", "customer_replied", "sla_warning")
KEEP_DAYS = 30
LIST_LIMIT = 50
ID_PATTERN = r"^n_[0-9]{13}[0-9a-f]{16}$"
# "@ann@example.com" or "@ann" (an agent's email, or the part of it before the @, or its first name: ann.lee@...)
MENTION = re.compile(r"(?<![\w.@])@([A-Za-z0-9._%+-]+(?:@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)?)")


def notification_id(at: str, *stable: str) -> str:
    """Time-ordered (the cause's time, in ms) and stable (a digest of what caused it)."""
    millis = int(clock.parse_iso(at).timestamp() * 1000)
    return f"n_{millis:013d}{hashlib.sha256(chr(31).join(stable).encode()).hexdigest()[:16]}"


def notify(table: Table, agent: str, kind: str, conv_id: str, at: str, stable: tuple[str, ...], *,
           by: str | None = None, message_id: str | None = None, required: bool = False) -> dict[str, Any] | None:
    """Store (once) and push one notification. `required`: raise on a failure (the caller's work is retried, the
    same id is written again); otherwise a failure is logged and counted, and the caller's work goes on."""
    agent = agent.lower()
    item: dict[str, Any] = {"id": notification_id(at, kind, agent, *stable), "kind": kind, "conversation_id": conv_id,
                            "created_at": at, "read": False,
                            "expires_at": int(clock.parse_iso(at).timestamp()) + KEEP_DAYS * 86400}
    if by:
        item["by"] = by
    if message_id:
        item["message_id"] = message_id
    try:
        new = store.put(table, agent, item)
    except SwitchboardError:
        observability.count("NotificationsFailed")
        logger.warning("notification not stored", extra={"kind": kind, "conversation_id": conv_id})
        if required:
            raise
        return None
    if new:
        observability.count("NotificationsCreated")
        from switchboard.services import push

        push.to_agent(table, agent, {"type": "notification", "conversation_id": conv_id, "notification": view(item)})
    return item


def view(item: dict[str, Any]) -> dict[str, Any]:
    return {"id": item["id"], "type": item.get("kind"), "conversation_id": item.get("conversation_id"),
            "created_at": item.get("created_at"), "read": bool(item.get("read")), "by": item.get("by"),
            "message_id": item.get("message_id")}


def listing(table: Table, agent: str, limit: int = LIST_LIMIT) -> tuple[list[dict[str, Any]], int]:
    """The agent's newest notifications, and how many of them are unread."""
    items = [view(i) for i in store.newest(table, agent, limit)]
    return items, sum(1 for i in items if not i["read"])


def mark_read(table: Table, agent: str, ids: list[str]) -> int:
    return store.mark_read(table, agent, list(dict.fromkeys(ids)), clock.iso(clock.now()))


# -- the causes ------------------------------------------------------------------------------------------------------
def known_agents(table: Table) -> set[str]:
    """Everyone who can be mentioned: agents who set their availability, teams' members, and agents with the app
    open now (their WebSocket connections)."""
    from switchboard.services import inboxes
    from switchboard.store import connections

    known = {a.email.lower() for a in agents.list_all(table)}
    for team in inboxes.directory(table)[1]:
        known |= {m.lower() for m in team.members}
    known |= {str(c["agent"]) for c in connections.agents(table) if c.get("agent")}
    return known


def mentioned(text: str, known: set[str]) -> set[str]:
    """The known agents an internal note mentions (an unknown @word is nobody)."""
    found: set[str] = set()
    for token in MENTION.findall(text or ""):
        token = token.lower().rstrip(".")
        if "@" in token:
            found |= {token} & known
            continue
        for email in known:
            local = email.split("@", 1)[0]
            if token in (local, re.split(r"[._+-]", local, maxsplit=1)[0]):
                found.add(email)
    return found


def note_added(table: Table, note: Message) -> list[str]:
    """Notify the agents an internal note mentions (never its author). Returns who was notified."""
    if "@" not in note.text:
        return []
    try:
        who = mentioned(note.text, known_agents(table)) - {(note.sender or "").lower()}
    except SwitchboardError:
        observability.count("NotificationsFailed")
        return []
    for agent in sorted(who):
        notify(table, agent, "mention", note.conversation_id, note.created_at, (note.id,), by=note.sender,
               message_id=note.id)
    return sorted(who)


def assigned(table: Table, conv: Conversation, previous: str | None, *, by: str | None = None,
             stable: tuple[str, ...] | None = None, required: bool = False) -> None:
    """A conversation assigned to someone (not by themselves)."""
    if not conv.assignee or (previous or "").lower() == conv.assignee.lower():
        return
    if by and by.lower() == conv.assignee.lower():
        return
    now = clock.iso(clock.now())
    notify(table, conv.assignee, "assigned", conv.id, now, stable or (conv.id, previous or "", now), by=by,
           required=required)


def customer_replied(table: Table, conv: Conversation, message: Message, *, required: bool = False) -> None:
    """The customer wrote in a conversation assigned to someone: that agent is told."""
    if conv.assignee and message.direction == "inbound":
        notify(table, conv.assignee, "customer_replied", conv.id, message.created_at, (message.id,),
               message_id=message.id, required=required)


def sla_warning(table: Table, conv: Conversation, target: str, due_at: str, warned_at: str) -> None:
    """The assignee is told before an SLA target is missed (`warned_at`: when the timer was due to warn, so that a
    rerun writes the same notification). Raises on a failure: the timer tries again."""
    if conv.assignee:
        notify(table, conv.assignee, "sla_warning", conv.id, warned_at, (conv.id, target, due_at), required=True)

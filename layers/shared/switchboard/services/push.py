"""Push (issue 15, the live workspace): events to the agents' apps and web chat visitors over API Gateway's
WebSocket API, through its @connections management API (locally, the local stack's emulation of it).

Events are thin: `{"type", "conversation_id", ...ids}`. The app reads what changed through the agent API it already
uses (with its own permissions and presigned links), so that a push carries no message text and a missed push costs
a refetch, not a wrong screen. Who hears what:
- agents: every conversation event (every agent may see every conversation), and their own notifications;
- a web chat visitor: only their own conversation's agent replies, their files once stored, and agent typing;
  never notes or who answered.

A push never delays or fails the work that caused it by more than its short timeouts: every failure (DynamoDB,
API Gateway, a bug) is logged with ids and counted (`PushFailed`, EMF), and the caller goes on. A connection API
Gateway reports gone (410) is forgotten (`PushGone`). Fan-out: one Query of the agents' connections and one
PostToConnection per connection, side by side (switchboard.parallel).

Erasing a contact (or retention deleting one) disconnects their web chat visitors: their connection items are
deleted, so that no later event finds them, and each socket is closed (DeleteConnection)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from switchboard import aws, observability
from switchboard.settings import get_settings
from switchboard.store import connections
from switchboard.store.table import Table

if TYPE_CHECKING:
    from switchboard.models import Conversation, Message

logger = logging.getLogger(__name__)


def enabled() -> bool:
    return bool(get_settings().websocket_management_url)


def _never_fails[**P](fn: Callable[P, None]) -> Callable[P, None]:
    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        if not enabled():
            return
        try:
            fn(*args, **kwargs)
        except Exception:  # whatever went wrong, the caller's work is done and stays done
            observability.count("PushFailed")
            logger.warning("push failed", exc_info=True, extra={"push": fn.__name__})

    return wrapper


def _client() -> Any:
    settings = get_settings()
    return aws.websocket_management(settings.websocket_management_url, settings.push_timeout_seconds)


def _post(connection: dict[str, Any], data: bytes) -> str:
    client = _client()
    try:
        client.post_to_connection(ConnectionId=connection["connection_id"], Data=data)
    except client.exceptions.GoneException:
        return "gone"
    except Exception:  # one connection's failure is counted, the others still get the event
        logger.warning("push to a connection failed", exc_info=True,
                       extra={"connection_id": connection["connection_id"]})
        return "failed"
    return "sent"


def send(table: Table, targets: list[dict[str, Any]], event: dict[str, Any]) -> dict[str, int]:
    """Post one event to each connection; forget those that are gone. Returns the counts."""
    from switchboard.parallel import parallel

    if not targets:
        return {"sent": 0, "gone": 0, "failed": 0}
    data = json.dumps(event, separators=(",", ":")).encode()
    outcomes = parallel(lambda c: _post(c, data), targets)
    counts = {k: outcomes.count(k) for k in ("sent", "gone", "failed")}
    for connection, outcome in zip(targets, outcomes, strict=True):
        if outcome == "gone":
            connections.remove(table, connection["connection_id"], connection["pk"])
    if counts["sent"]:
        observability.count("PushSent", counts["sent"])
    if counts["gone"]:
        observability.count("PushGone", counts["gone"])
    if counts["failed"]:
        observability.count("PushFailed", counts["failed"])
    return counts


def _close(connection_id: str) -> str:
    client = _client()
    try:
        client.delete_connection(ConnectionId=connection_id)
    except client.exceptions.GoneException:
        return "gone"
    except Exception:  # the socket stays open, but nothing lists it any more: no event reaches it, its TTL ends it
        logger.warning("closing a connection failed", exc_info=True, extra={"connection_id": connection_id})
        return "failed"
    return "closed"


def disconnect_visitors(table: Table, visitor_ids: list[str]) -> int:
    """Forget every connection of these web chat visitors (raises if the store fails: the erasure or retention run
    is retried), then close them (best effort, counted). Returns how many were forgotten."""
    from switchboard.parallel import parallel

    forgotten = [c for visitor_id in dict.fromkeys(visitor_ids) for c in connections.remove_visitor(table, visitor_id)]
    if forgotten and enabled():
        outcomes = parallel(_close, forgotten)
        for outcome, metric in (("closed", "VisitorsDisconnected"), ("failed", "PushFailed")):
            if outcomes.count(outcome):
                observability.count(metric, outcomes.count(outcome))
    return len(forgotten)


# -- what the code calls where things happen --------------------------------------------------------------------------
@_never_fails
def to_agents(table: Table, event: dict[str, Any], *, skip: str | None = None) -> None:
    """Every agent's apps (`skip`: the connection the event came from)."""
    send(table, [c for c in connections.agents(table) if c["connection_id"] != skip], event)


@_never_fails
def to_agent(table: Table, agent: str, event: dict[str, Any]) -> None:
    send(table, [c for c in connections.agents(table) if c.get("agent") == agent.lower()], event)


@_never_fails
def to_visitor(table: Table, visitor_id: str, event: dict[str, Any]) -> None:
    send(table, connections.visitor(table, visitor_id), event)


def _visitor_of(conv: Conversation) -> str | None:
    """A web chat conversation's visitor: the one who last wrote in it (their id is its recipient address)."""
    return conv.recipient if conv.channel == "webchat" and conv.recipient else None


def message_created(table: Table, conv: Conversation, message: Message) -> None:
    note = message.type == "note" or message.status == "note"
    event: dict[str, Any] = {"type": "message.created", "conversation_id": conv.id, "message_id": message.id,
                             "direction": message.direction, "created_at": message.created_at, "note": note}
    to_agents(table, event)
    visitor = _visitor_of(conv)
    if visitor and message.direction == "outbound" and not note:
        to_visitor(table, visitor, {"type": "message.created", "conversation_id": conv.id, "message_id": message.id})


def note_created(table: Table, note: Message) -> None:
    """An internal note: agents only."""
    to_agents(table, {"type": "message.created", "conversation_id": note.conversation_id, "message_id": note.id,
                      "direction": note.direction, "created_at": note.created_at, "note": True})


def message_updated(table: Table, conv_id: str, message_id: str, status: str) -> None:
    """A delivery status moved (sent, delivered, read, failed)."""
    to_agents(table, {"type": "message.updated", "conversation_id": conv_id, "message_id": message_id,
                      "status": status})


def transcript_changed(table: Table, conv_id: str, message_id: str, status: str) -> None:
    """issue 17: a voicemail's transcription finished (completed or failed): the apps read the message again."""
    to_agents(table, {"type": "message.updated", "conversation_id": conv_id, "message_id": message_id,
                      "transcript": status})


def files_stored(table: Table, conv: Conversation, message: Message) -> None:
    """A message's files are in our bucket now (after its message.created): the apps, and a web chat visitor whose
    own message it is, read it again to show them."""
    event = {"type": "message.updated", "conversation_id": conv.id, "message_id": message.id, "files": "stored"}
    to_agents(table, event)
    visitor = _visitor_of(conv)
    if visitor:
        to_visitor(table, visitor, event)


def conversation_updated(table: Table, conv: Conversation, *changed: str) -> None:
    """Its status, assignee, labels or priority changed."""
    to_agents(table, {"type": "conversation.updated", "conversation_id": conv.id, "changed": list(changed),
                      "status": conv.status, "assignee": conv.assignee})


def activity(table: Table, kind: str, conv: Conversation, agent: str, *, skip: str | None = None) -> None:
    """An agent's presence ("viewing") or typing, to the other agents' apps; typing also to the conversation's web
    chat visitor, unnamed."""
    to_agents(table, {"type": "presence" if kind == "viewing" else "typing", "conversation_id": conv.id,
                      "agent": agent}, skip=skip)
    visitor = _visitor_of(conv)
    if kind == "typing" and visitor:
        to_visitor(table, visitor, {"type": "typing", "conversation_id": conv.id, "from": "agent"})


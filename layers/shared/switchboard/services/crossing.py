"""No double replies (issue 15, the live workspace): a reply carries `after`, the newest message its agent saw; when
the customer wrote since, or a colleague replied, the reply is refused (409 conversation_changed) and nothing is
sent, so that the agent reads first.

What counts as new: a customer's message, or another agent's reply. Not the agent's own replies (sent from another
tab), not internal notes (nothing reached the customer), not automated messages (a greeting or holding reply is no
answer to the customer). The check reads back from the newest message to `after` (it costs what arrived since); a
reply racing another within the same few milliseconds is not caught (there is no lock on a
conversation), which the app's presence and typing indicators make rare. Messages are in the order of their
timestamps, which some providers give in whole seconds (WhatsApp): two customer messages of the same second are
ordered by id, and one of them sorting before the `after` the agent saw is not seen as new."""

from __future__ import annotations

from typing import TYPE_CHECKING

from switchboard.errors import BadRequest, Conflict
from switchboard.store import conversations, messages

if TYPE_CHECKING:
    from switchboard.models import Message
    from switchboard.store.table import Table


def crosses(message: Message, agent: str) -> bool:
    if message.direction == "inbound":
        return True
    if message.type == "note" or message.status == "note" or message.automated:
        return False
    return (message.sender or "").lower() != agent.lower()


def check(table: Table, conv_id: str, after: str | None, agent: str) -> None:
    """Raise 409 conversation_changed when something the agent has not seen would be crossed by their reply."""
    if after is None:
        return
    found, newer = messages.newer_than(table, conv_id, after)
    if not found and len(newer) < 200:
        conversations.require(table, conv_id)  # a conversation that is not there is a 404
        raise BadRequest("`after` is not a message of this conversation", code="unknown_message")
    crossing = [m for m in newer if crosses(m, agent)]
    if crossing or not found:
        raise Conflict(f"{len(crossing)} new message(s) arrived since the one you saw: read them, then send again",
                       code="conversation_changed")

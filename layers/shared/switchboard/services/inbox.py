"""Agents' work on conversations: the inbox, one conversation and its messages, internal notes, labels, read,
assignment by hand (resolve, reopen and pending are in workflow)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from switchboard import clock, ids
from switchboard.services import assignment, events
from switchboard.store import conversations, inbox, messages, reports
from switchboard.store.table import Table

if TYPE_CHECKING:
    from switchboard.models import Conversation, Message


def page(table: Table, *, status: str | None = None, channel: str | None = None, assignee: str | None = None,
         label: str | None = None, limit: int = 25, cursor: str | None = None, priority: str | None = None,
         sort: str = "activity", attributes: dict[str, str] | None = None) -> tuple[list[Conversation], str | None]:
    """Newest activity first. Labels are stored lower-cased (see `set_labels`), so the filter is too: "VIP" finds
    "vip". A priority, another sort or an attribute filter (issue 14) is store/views.py's."""
    label = label.strip().lower() if label else label
    if priority or sort != "activity" or attributes:
        from switchboard.store import views

        return views.page(table, statuses=(status,) if status else inbox.STATUSES, sort=sort, priority=priority,
                          assignee=assignee, channel=channel, label=label, attributes=attributes, limit=limit,
                          cursor=cursor)
    return inbox.page(table, status=status, channel=channel, assignee=assignee, label=label, limit=limit,
                      cursor=cursor)


def get(table: Table, conv_id: str) -> Conversation:
    return conversations.require(table, conv_id)


def message_page(table: Table, conv_id: str, limit: int = 50,
                 cursor: str | None = None) -> tuple[list[Message], str | None]:
    conversations.require(table, conv_id)
    return messages.page(table, conv_id, limit=limit, cursor=cursor)


def add_note(table: Table, conv_id: str, text: str, by: str) -> Message:
    """An internal note: stored in the conversation, never sent, never counted as a response."""
    from switchboard.models import Message

    conv = conversations.require(table, conv_id)
    note = Message(id=ids.new_id("m_"), conversation_id=conv.id, direction="outbound", channel=conv.channel,
                   type="note", text=text, created_at=clock.iso(clock.now()), status="note", sender=by)
    messages.add_note(table, note)
    return note


def set_labels(table: Table, conv_id: str, labels: list[str]) -> Conversation:
    """Replace the labels: lower-cased, each once, in the order given."""
    from switchboard.services import search

    before = conversations.require(table, conv_id)
    after = conversations.set_labels(table, conv_id, list(dict.fromkeys(label.lower() for label in labels)))
    search.labels_changed(table, after, before.labels, after.labels)  # a conversation is found by its labels
    added = [label for label in after.labels if label not in before.labels]
    if added:  # reports: conversations per label, counted when the label is put on
        reports.labelled(table, added, clock.iso(clock.now()))
    from switchboard.services import push  # issue 15: the apps' inboxes

    push.conversation_updated(table, after, "labels")
    return after


def mark_read(table: Table, conv_id: str) -> Conversation:
    return conversations.mark_read(table, conv_id)


def assign(table: Table, conv_id: str, agent: str | None, by: str | None = None) -> Conversation:
    """By hand (None unassigns): the conversation's weight moves from one agent's load to the other's. `by`: who
    did it (issue 15: nobody is notified of assigning a conversation to themselves)."""
    before = conversations.require(table, conv_id)
    updated = assignment.reassign(table, before, agent)
    events.assigned(table, updated, before.assignee, by=by)
    return updated

"""Events for CRMs and other systems: published where the work happens, delivered by the events function.

Publishing is one read of who subscribes (nothing is queued when no endpoint wants the type) and one SendMessage:
it never costs the work that caused it more. A failure to publish is counted (`EventsPublishFailed`); where the work
is retried anyway (the processor, from its queue) it is raised, so that the retry publishes again under the same
event id, which every endpoint receives at most once more (its delivery is claimed once per event id).

An event carries ids and facts only (EventRecord); what it is about (the conversation, the message, the contact) is
read when it is delivered (`render`): something erased or deleted by retention in between is never sent, the event
is dropped instead."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from switchboard import clock, ids, observability
from switchboard.errors import ServiceUnavailable
from switchboard.store import contacts, conversations, messages, webhooks
from switchboard.store.table import Table

if TYPE_CHECKING:
    from switchboard.models import Contact, Conversation, EventRecord, Message

logger = logging.getLogger(__name__)

EVENT_TYPES = ("conversation.created", "conversation.status_changed", "conversation.assigned", "message.created",
               "contact.updated", "contact.merged", "contact.erased", "csat.submitted")


def subscribed(table: Table) -> set[str]:
    """The event types some endpoint wants (one Query of the endpoints' partition)."""
    wanted: set[str] = set()
    for endpoint in webhooks.endpoints(table):
        wanted |= set(endpoint.get("events") or [])
    return set(EVENT_TYPES) if "*" in wanted else wanted


def publish(table: Table, event_type: str, subject: dict[str, str], facts: dict[str, Any] | None = None, *,
            stable: tuple[str, ...] | None = None, required: bool = False) -> EventRecord | None:
    """Queue an event if an endpoint wants it. `stable`: parts that name the event whatever the attempt (a retried
    processor run publishes the same id again). `required`: raise on failure (the caller's work is retried)."""
    from switchboard import queue
    from switchboard.models import EventJob, EventRecord

    try:
        if event_type not in subscribed(table):
            return None
        event = EventRecord(id=ids.stable_id("ev_", event_type, *stable) if stable else ids.new_id("ev_"),
                            type=event_type, created_at=clock.iso(clock.now()), subject=subject, facts=facts or {})
        queue.send_event(EventJob(event=event))
    except ServiceUnavailable:
        observability.count("EventsPublishFailed")
        logger.warning("event not published", extra={"event_type": event_type, **subject})
        if required:
            raise
        return None
    observability.count("EventsPublished")
    return event


# -- what the code calls where things happen ---------------------------------------------------------------------
def conversation_created(table: Table, conv: Conversation, *, required: bool = False) -> None:
    publish(table, "conversation.created", {"conversation_id": conv.id}, stable=(conv.id,), required=required)
    if conv.assignee:  # round-robin assigned it as it opened
        assigned(table, conv, None, stable=(conv.id, "auto", conv.assignee), required=required)


def status_changed(table: Table, conv: Conversation, old: str | None, *, by: str | None = None,
                   stable: tuple[str, ...] | None = None, required: bool = False) -> None:
    if old == conv.status:
        return
    publish(table, "conversation.status_changed", {"conversation_id": conv.id},
            {"from": old, "to": conv.status, "by": by}, stable=stable, required=required)
    from switchboard.services import push  # issue 15: the apps' inboxes

    push.conversation_updated(table, conv, "status")


def assigned(table: Table, conv: Conversation, previous: str | None, *, stable: tuple[str, ...] | None = None,
             required: bool = False, by: str | None = None) -> None:
    if (previous or None) == (conv.assignee or None):
        return
    publish(table, "conversation.assigned", {"conversation_id": conv.id},
            {"assignee": conv.assignee, "previous": previous}, stable=stable, required=required)
    from switchboard.services import notifications, push  # issue 15: the new assignee is told; the apps' inboxes

    notifications.assigned(table, conv, previous, by=by, stable=stable, required=required)
    push.conversation_updated(table, conv, "assignee")


def message_created(table: Table, message: Message, *, required: bool = False) -> None:
    """A customer's message, a reply (agent or automation), or the business's message sent elsewhere (an echo)."""
    publish(table, "message.created", {"conversation_id": message.conversation_id, "message_id": message.id,
                                       "message_created_at": message.created_at},
            {"direction": message.direction}, stable=(message.id,), required=required)


def contact_updated(table: Table, contact_id: str, fields: list[str]) -> None:
    publish(table, "contact.updated", {"contact_id": contact_id}, {"changed": sorted(fields)})


def contact_merged(table: Table, contact_id: str, merged_id: str) -> None:
    publish(table, "contact.merged", {"contact_id": contact_id}, {"merged_contact_id": merged_id})


def contact_erased(table: Table, contact_id: str) -> None:
    """The last event about the contact: its id only. Events about them still queued are dropped at delivery."""
    publish(table, "contact.erased", {}, {"contact_id": contact_id})


def csat_submitted(table: Table, conv_id: str, rating: int, agent: str | None) -> None:
    publish(table, "csat.submitted", {"conversation_id": conv_id}, {"rating": rating, "agent": agent},
            stable=(conv_id, "csat", str(rating)))


# -- rendering at delivery ---------------------------------------------------------------------------------------
def conversation_view(conv: Conversation) -> dict[str, Any]:
    return {"id": conv.id, "channel": conv.channel, "inbox_id": conv.inbox_id, "status": conv.status,
            "assignee": conv.assignee, "labels": conv.labels, "created_at": conv.created_at,
            "updated_at": conv.updated_at, "contact": {"id": conv.contact_id, "name": conv.contact_name},
            "source": conv.source.model_dump(mode="json", exclude_none=True) if conv.source else None}


def message_view(message: Message) -> dict[str, Any]:
    return {"id": message.id, "direction": message.direction, "type": message.type,
            "text": "" if message.deleted_at else message.text, "summary": message.summary,
            "created_at": message.created_at, "sender": message.sender,
            "attachments": [{"kind": a.kind, "filename": a.filename, "mime_type": a.mime_type, "size": a.size}
                            for a in message.attachments]}


def contact_view(contact: Contact) -> dict[str, Any]:
    return {"id": contact.id, "name": contact.name, "email": contact.email, "phone": contact.phone,
            "created_at": contact.created_at}


def render(table: Table, event: EventRecord) -> dict[str, Any] | None:
    """The event's `data` from what is stored now; None when what it is about is gone (erased, or past retention)."""
    subject, facts = event.subject, event.facts
    if event.type == "webhook.test":
        return {"test": True, **facts}
    if event.type == "contact.erased":
        return {"contact": {"id": facts.get("contact_id")}}
    if event.type.startswith("contact."):
        contact = contacts.get(table, subject.get("contact_id", ""))
        return {"contact": contact_view(contact), **facts} if contact else None
    conv = conversations.get(table, subject.get("conversation_id", ""))
    if conv is None:
        return None
    data: dict[str, Any] = {"conversation": conversation_view(conv)}
    if event.type == "message.created":
        message = messages.get_message(table, conv.id, subject.get("message_created_at", ""),
                                       subject.get("message_id", ""), consistent=False)
        if message is None:
            return None
        data["message"] = message_view(message)
    elif event.type == "csat.submitted":
        data |= {"rating": facts.get("rating"), "agent": facts.get("agent"), "comment": conv.rating_comment}
    else:
        data |= facts
    return data

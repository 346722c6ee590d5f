"""Conversation state changes agents make: resolve (which schedules the survey), reopen, pending."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from switchboard import clock, observability
from switchboard.errors import Conflict
from switchboard.models import Conversation
from switchboard.services import assignment, events, sla
from switchboard.services.automation_config import load as load_settings
from switchboard.store import contacts, conversations, due, metrics, queue, suppression
from switchboard.store.table import ConditionFailed, Table

AUTOMATION = "automation"


def resolve(table: Table, conv_id: str, by: str) -> Conversation:
    """Resolve once: counted in the day's resolution times; a survey follows unless automation resolved it."""
    for _attempt in range(3):  # the status it had is checked in the write: a change in between is read again
        conv = conversations.require(table, conv_id, consistent=True)
        if conv.status == "resolved":
            break
        if _resolve_from(table, conv, by):
            events.status_changed(table, conv.model_copy(update={"status": "resolved"}), conv.status, by=by)
            break
    return conversations.require(table, conv_id, consistent=True)


def _resolve_from(table: Table, conv: Conversation, by: str) -> bool:
    conv_id = conv.id
    now = clock.now()
    at = clock.iso(now)
    seconds = (now - clock.parse_iso(conv.created_at)).total_seconds()
    also: list[dict[str, Any]] = []
    survey = load_settings(table).survey
    # No survey for what automation resolved, nor for a conversation of automated mail only (list or bulk mail, a
    # notification): a survey there would be one machine answering another.
    wanted = survey.enabled and not by.startswith(AUTOMATION) and not conv.auto_submitted
    recipient = survey_recipient(table, conv.contact_id) if wanted else None
    if recipient:
        # Everything the survey job needs travels in its entry: the job reads nothing else. Reopening, a new
        # customer message, opting out or a bounce delete the entry.
        due_at = clock.iso(now + timedelta(minutes=survey.delay_minutes))
        also.append(due.survey_put(conv_id, due_at, contact_id=conv.contact_id, resolution=at, resolved_by=by,
                                      email=recipient[0], name=recipient[1]))
    if not conversations.mark_resolved(table, conv, at, by, also):
        return False  # changed meanwhile (resolved by someone else, reopened, parked, or gone)
    due.cancel(table, conv_id, due.AUTO_REPLY)  # resolved: no holding reply any more
    queue.resolution_met(table, conv, at)  # issue 14: the resolution target counted, SLA and snooze timers gone
    assignment.closed(table, conv)
    metrics.record(table, at[:10], {"resolved": 1, f"res_{metrics.bucket(seconds)}": 1})
    metrics.status_moved(table, conv, conv.status, "resolved")
    observability.count("ConversationsResolved")
    observability.seconds("ResolutionTime", seconds)
    return True


def survey_recipient(table: Table, contact_id: str) -> tuple[str, str | None] | None:
    """(email, name) of a contact who may get a survey: has an address, did not opt out, never bounced."""
    contact = contacts.get(table, contact_id)
    if contact is None or not contact.email or contact.surveys_opt_out or contact.email_suppressed \
            or contact.do_not_contact or "email" in contact.opted_out:
        return None
    if suppression.is_suppressed(table, contact.email):  # bounced before this contact had the address
        return None
    return contact.email, contact.name


def reopen(table: Table, conv_id: str) -> Conversation:
    """Open again: from resolved (a new SLA cycle), or from pending or snoozed (its wake-up is off)."""
    conv, updated = _set_status(table, conv_id, "open", lambda c: sla.reopened(table, c))
    if conv.status == "resolved":
        at = clock.iso(clock.now())
        assignment.reopened(table, conv)
        due.cancel(table, conv_id, due.SURVEY)
        metrics.record(table, at[:10], {"reopened": 1})
        observability.count_by_channel("ConversationsReopened", conv.channel)
    return updated


def pending(table: Table, conv_id: str) -> Conversation:
    """Waiting on the customer: no survey for an earlier resolution, no auto-reply while parked."""
    conversations.require(table, conv_id)  # 404 before anything is cancelled
    due.cancel_all(table, [conv_id], [due.SURVEY, due.AUTO_REPLY])
    return _set_status(table, conv_id, "pending")[1]


def _set_status(table: Table, conv_id: str, status: str,
                more: Callable[[Conversation], queue.Delta] | None = None) -> tuple[Conversation, Conversation]:
    """(the conversation as it was, as it is now). Leaving a snooze takes its wake-up off (issue 14); `more`: what
    else the write changes, from the conversation as read (conditional: read again when it moved)."""
    for _attempt in range(3):
        conv = conversations.require(table, conv_id, consistent=True)
        also = queue.leaving_snooze(conv) + (more(conv) if more else queue.Delta())
        try:
            updated = conversations.set_status(table, conv_id, status, also=also or None)
        except ConditionFailed:
            continue  # changed (or gone) meanwhile: read it again
        if conv.status == "snoozed":
            due.cancel(table, conv_id, queue.SNOOZE)
        events.status_changed(table, updated, conv.status)  # growth: conversation.status_changed, for other systems
        return conv, updated
    raise Conflict("the conversation kept changing; try again", code="conversation_busy")

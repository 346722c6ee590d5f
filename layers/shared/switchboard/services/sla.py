"""SLA targets (issue 14): first response, next response and resolution due times, set as customers write and
agents answer (counted in business hours when the settings say so); TimersFunction warns the assignee before a due
time and records a breach, each once. Hit rates come from daily counters (store/metrics.py).

A target's timer is a DueIndex entry (DUE#sla#<target>) put *before* the conversation's write that sets its due
time, so an entry is never later than the truth: one that is early or stale is checked against the conversation
and moved on or dropped."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from switchboard import clock, observability
from switchboard.services.automation_config import load as load_settings
from switchboard.store import due, metrics, queue
from switchboard.store.table import ConditionFailed, Table

if TYPE_CHECKING:
    from switchboard.automation_settings import AutomationSettings
    from switchboard.models import Conversation

TARGETS = queue.SLA_TARGETS
SHORT = {"first_response": "fr", "next_response": "nr", "resolution": "res"}


def _due(config: AutomationSettings, conv: Conversation, target: str, start: str) -> str | None:
    from switchboard import business_time  # with the settings' model: not on a function's import path

    minutes = config.sla.minutes(target, conv.priority)
    if not minutes:
        return None
    hours = config.business_hours if config.sla.business_hours_only else None
    return clock.iso(business_time.add_minutes(hours, clock.parse_iso(start), minutes))


def customer_message(table: Table, conv: Conversation, received_at: str) -> queue.Delta:
    """A customer message: a new cycle (a new or reopened conversation) gets its resolution target and its first (or,
    answered before, next) response target; a new wait in a running cycle gets the next response target. Their
    timers are scheduled here; the returned delta goes into the message's own write."""
    config = load_settings(table)
    if not config.sla.enabled:
        return queue.Delta()
    new_cycle = conv.status == "resolved" or conv.sla is None
    dues: dict[str, str | None] = {}
    if new_cycle:
        dues["resolution"] = _due(config, conv, "resolution", received_at)
        answered_before = conv.first_response_at is not None
        dues["next_response" if answered_before else "first_response"] = \
            _due(config, conv, "next_response" if answered_before else "first_response", received_at)
    elif conv.waiting_since is None and conv.first_response_at is not None:
        dues["next_response"] = _due(config, conv, "next_response", received_at)
    set_dues = {t: at for t, at in dues.items() if at}
    if not set_dues and not new_cycle:
        return queue.Delta()
    _schedule(table, config, conv.id, set_dues, {})
    return queue.sla_change(conv, set_dues, reset=new_cycle)


def reopened(table: Table, conv: Conversation) -> queue.Delta:
    """An agent reopened a resolved conversation: a new cycle, with a resolution target (and a response target when
    the customer is waiting, which resolving ended: none)."""
    config = load_settings(table)
    if not config.sla.enabled or conv.status != "resolved":
        return queue.Delta()
    dues = {t: at for t, at in {"resolution": _due(config, conv, "resolution", clock.iso(clock.now()))}.items() if at}
    _schedule(table, config, conv.id, dues, {})
    return queue.sla_change(conv, dues, reset=True)


def _next_step(config: AutomationSettings, due_at: str, marks: dict[str, Any], target: str) -> tuple[str, str] | None:
    """(when, "warn" | "breach") of a target's next step, from what is recorded; None when both are done."""
    if marks.get(f"breached_{target}") == due_at:
        return None
    lead = config.sla.warn_before_minutes
    warn_at = clock.iso(clock.parse_iso(due_at) - timedelta(minutes=lead)) if lead else None
    if warn_at and marks.get(f"warned_{target}") != due_at and warn_at < due_at:
        return warn_at, "warn"
    return due_at, "breach"


def _schedule(table: Table, config: AutomationSettings, conv_id: str, dues: dict[str, str], marks: dict[str, Any]) -> None:
    for target, due_at in dues.items():
        step = _next_step(config, due_at, marks, target)
        if step:
            due.schedule_sla(table, conv_id, target, due_at, step[0], step[1])


# -- TimersFunction ---------------------------------------------------------------------------------------------------
def handle(table: Table, entry: dict[str, Any]) -> bool:
    """One due SLA step: the warning (mailed to the assignee, shown in the app) or the breach (recorded, counted),
    each once: the conversation's conditional write claims it. Then the entry moves on to the next step or goes."""
    config = load_settings(table)
    if not config.sla.enabled:
        due.take(table, entry)  # SLAs turned off: nothing to warn about or record
        return False
    target, due_at, event = entry["target"], entry["due_at"], entry.get("event", "breach")
    if event == "warn" and due_at <= clock.iso(clock.now()):
        event = "breach"  # too late to warn (the timers were held up): the breach it is
    mark = f"{'warned' if event == 'warn' else 'breached'}_{target}"
    try:
        item = queue.claim_sla_mark(table, entry["conversation_id"], mark, queue.due_field(target), due_at)
    except ConditionFailed:
        return _settle_stale(table, config, entry)
    from switchboard.models import Conversation

    conv = Conversation.model_validate(item or {})
    if event == "warn":
        from switchboard.services import notifications, sla_warnings

        try:
            # issue 15: the in-app notification (stable: the entry's warning time), then the mail
            notifications.sla_warning(table, conv, target, due_at, str(entry.get("due_sk", due_at)).split("#", 1)[0])
            sla_warnings.warn(conv, target, due_at)
        except Exception:  # not warned: the mark goes, and the entry stays due for the next run
            _unmark(table, conv.id, mark, due_at)
            raise
        observability.count("SlaWarnings")
    else:
        metrics.record(table, clock.iso(clock.now())[:10], {"sla_breaches": 1, f"sla_breach_{SHORT[target]}": 1})
        observability.count("SlaBreaches")
    _move_on(table, config, entry, conv.sla or {})
    return True


def _unmark(table: Table, conv_id: str, mark: str, due_at: str) -> None:
    queue.remove_sla_mark(table, conv_id, mark, due_at)


def _move_on(table: Table, config: AutomationSettings, entry: dict[str, Any], sla: dict[str, Any]) -> None:
    """The entry's next step from what the conversation says now, or the entry goes."""
    target = entry["target"]
    due_at: str | None = sla.get(queue.due_field(target))
    step = _next_step(config, due_at, sla, target) if due_at else None
    if step is None:
        due.take(table, entry)
    elif due_at == entry["due_at"]:
        due.advance_sla(table, entry, step[0], step[1])
    elif due_at:  # the due time moved since the entry was written: its own step
        due.schedule_sla(table, entry["conversation_id"], target, due_at, step[0], step[1])


def _settle_stale(table: Table, config: AutomationSettings, entry: dict[str, Any]) -> bool:
    """The conversation's write did not apply: the step was done before (a rerun), the target is met or moved, or
    the conversation is gone. The conversation says which."""
    from switchboard.store import conversations

    conv = conversations.get(table, entry["conversation_id"], consistent=True)
    if conv is None:
        due.take(table, entry)
        return False
    _move_on(table, config, entry, conv.sla or {})
    return False


def run(table: Table) -> dict[str, int]:
    from switchboard.services import jobs

    return jobs.run(due.SLA, handle, table)


def view(sla: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the API shows: the due times, the targets breached and warned about in this cycle, the nearest due time
    and the seconds left until it (negative: overdue), by the server's clock. Nothing while SLAs are turned off (due
    times set before stay on the conversations, unwatched)."""
    if not sla or not load_settings(Table()).sla.enabled:
        return None
    nearest = queue.sla_due(sla)
    left = int((clock.parse_iso(nearest) - clock.now()).total_seconds()) if nearest else None
    return {**{queue.due_field(t): sla.get(queue.due_field(t)) for t in TARGETS},
            "breached": [t for t in TARGETS if sla.get(f"breached_{t}")],
            "warned": [t for t in TARGETS if sla.get(f"warned_{t}")],
            "next_due_at": nearest, "seconds_left": left}

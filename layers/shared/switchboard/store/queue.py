"""Organizing the queue (issue 14): a conversation's priority, snooze, waiting time and SLA due times, and the sort keys
they give it in QueueIndex, PriorityIndex and SlaIndex (store/keys.py).

The writes that change them as a side effect (a customer message, a reply, a status change) take a `Delta` from here
and make it part of their own single write. A sort key that depends on a field the write did not change (the
priority's rank in `queue_sk`) is written on the condition that the field is still what was read, so that an agent
changing the priority at that very moment never leaves the conversation filed under the old one: the write fails
and its caller reads again."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from switchboard import clock
from switchboard.errors import BadRequest, Conflict
from switchboard.store import due, keys, metrics
from switchboard.store.table import ConditionFailed, Table

if TYPE_CHECKING:
    from switchboard.models import Conversation

SLA_TARGETS = ("first_response", "next_response", "resolution")
RESPONSE_TARGETS = ("first_response", "next_response")
SNOOZE = keys.SNOOZE


def due_field(target: str) -> str:
    return f"{target}_due_at"


# -- deltas ---------------------------------------------------------------------------------------------------------
@dataclass
class Delta:
    """Attributes to set and remove, and conditions, to add to another write's UpdateExpression. Paths may be nested
    one level (`sla.first_response_due_at`); every name and value gets a placeholder of its own."""

    sets: dict[str, Any] = field(default_factory=dict)
    removes: list[str] = field(default_factory=list)
    conditions: list[tuple[str, str, Any]] = field(default_factory=list)  # (kind, path, value)

    def __bool__(self) -> bool:
        return bool(self.sets or self.removes or self.conditions)

    def __add__(self, other: Delta) -> Delta:
        return Delta({**self.sets, **other.sets}, [*self.removes, *(r for r in other.removes if r not in self.removes)],
                     [*self.conditions, *other.conditions])

    def render(self, tag: str = "q") -> tuple[list[str], list[str], list[str], dict[str, str], dict[str, Any]]:
        """(SET clauses, REMOVE clauses, conditions, names, values) with placeholders #<tag>N and :<tag>N."""
        names: dict[str, str] = {}
        vals: dict[str, Any] = {}

        def path(text: str) -> str:
            parts = []
            for part in text.split("."):
                placeholder = next((k for k, v in names.items() if v == part), None)
                if placeholder is None:
                    placeholder = f"#{tag}{len(names)}"
                    names[placeholder] = part
                parts.append(placeholder)
            return ".".join(parts)

        def value(v: Any) -> str:
            placeholder = f":{tag}{len(vals)}"
            vals[placeholder] = v
            return placeholder

        sets = [f"{path(p)} = {value(v)}" for p, v in self.sets.items()]
        removes = [path(p) for p in self.removes if p not in self.sets]
        conditions = []
        for kind, p, v in self.conditions:
            if kind == "eq":
                conditions.append(f"{path(p)} = {value(v)}")
            elif kind == "eq_or_absent":  # a field whose absence means this value (an older item's default)
                conditions.append(f"(attribute_not_exists({path(p)}) OR {path(p)} = {value(v)})")
            elif kind == "absent":
                conditions.append(f"attribute_not_exists({path(p)})")
            else:  # "exists"
                conditions.append(f"attribute_exists({path(p)})")
        return sets, removes, conditions, names, vals


def merge(expression: str, delta: Delta | None, names: dict[str, str] | None, vals: dict[str, Any],
          condition: str | None, tag: str = "q") -> tuple[str, dict[str, str], dict[str, Any], str]:
    """`expression` ("SET ... [REMOVE ...]") with the delta's clauses added, and the names, values and condition
    ("" for none)."""
    if not delta:
        return expression, names or {}, vals, condition or ""
    sets, removes, conditions, extra_names, extra_vals = delta.render(tag)
    set_part, _, remove_part = expression.partition(" REMOVE ")
    if sets:
        set_part = f"{set_part}, {', '.join(sets)}" if set_part.startswith("SET ") else f"SET {', '.join(sets)}"
    if removes:
        remove_part = ", ".join(filter(None, [remove_part, *removes]))
    expression = set_part + (f" REMOVE {remove_part}" if remove_part else "")
    condition = " AND ".join(filter(None, [condition, *conditions]))
    return expression, {**(names or {}), **extra_names}, {**vals, **extra_vals}, condition


def same_priority(conv: Conversation) -> Delta:
    """The condition that the priority is still the one read (an item written before priorities had none)."""
    kind = "eq_or_absent" if conv.priority == "normal" else "eq"
    return Delta(conditions=[(kind, "priority", conv.priority)])


def waiting(conv: Conversation, since: str | None) -> Delta:
    """The customer starts waiting (`since`), or waits no longer (None): QueueIndex's key follows."""
    if since is None and conv.waiting_since is None:
        return Delta()
    delta = Delta(sets={"queue_sk": keys.queue_sort(conv.priority, since, conv.id)})
    if since:
        delta.sets["waiting_since"] = since
    else:
        delta.removes.append("waiting_since")
    return delta + same_priority(conv)


def activity(conv: Conversation, at: str) -> Delta:
    """New activity (the inbox's order): PriorityIndex's key follows, for a priority other than normal."""
    sort = keys.priority_sort(conv.priority, at, conv.id)
    return Delta(sets={"prio_sk": sort}) + same_priority(conv) if sort else Delta()


def sla_due(sla: dict[str, str] | None) -> str | None:
    """The nearest due time of the targets not met yet (breached ones included: they are the most overdue)."""
    dues = [v for k, v in (sla or {}).items() if k.endswith("_due_at") and v]
    return min(dues) if dues else None


def sla_change(conv: Conversation, dues: Mapping[str, str | None], reset: bool = False) -> Delta:
    """Set (a time) or clear (None) targets' due times; `reset` starts a new cycle (marks of warnings and breaches
    go). SlaIndex's key follows."""
    current = dict(conv.sla or {})
    after = {} if reset else dict(current)
    for target, at in dues.items():
        if at:
            after[due_field(target)] = at
        else:
            after.pop(due_field(target), None)
    if after == current:
        return Delta()
    delta = Delta()
    if reset or conv.sla is None:  # the whole map (on the condition that nobody made one meanwhile, if none)
        delta.sets["sla"] = after
        if conv.sla is None:
            delta.conditions.append(("absent", "sla", None))
    else:
        for name in set(current) | set(after):
            if name not in after:
                delta.removes.append(f"sla.{name}")
            elif current.get(name) != after[name]:
                delta.sets[f"sla.{name}"] = after[name]
    nearest = sla_due(after)
    if nearest:
        delta.sets["sla_sk"] = keys.sla_sort(nearest, conv.id)
    else:
        delta.removes.append("sla_sk")
    return delta


# -- what a customer message, a reply and a resolution change ------------------------------------------------------
def customer_message(conv: Conversation, received_at: str) -> Delta:
    """A customer message: their wait starts (unless it has), a snooze ends, the activity moves."""
    delta = activity(conv, received_at)
    if conv.waiting_since is None:
        delta = delta + waiting(conv, received_at)
    if conv.snoozed_until:
        delta.removes.append("snoozed_until")
    return delta


def answered(conv: Conversation, at: str, counts_as_response: bool) -> Delta:
    """An outbound message: the activity moves; an agent's answer also ends the wait and meets the response
    targets."""
    delta = activity(conv, at)
    if counts_as_response:
        delta = delta + waiting(conv, None)
        met = {t: None for t in RESPONSE_TARGETS if (conv.sla or {}).get(due_field(t))}
        if met:
            delta = delta + sla_change(conv, met)
    return delta


def response_met(table: Table, conv: Conversation, at: str, first: bool) -> None:
    """After an agent's answer was stored: the response targets it met are counted (on time or not) and their timers
    go."""
    sla = conv.sla or {}
    counters: dict[str, int | float] = {}
    met = [t for t in RESPONSE_TARGETS if sla.get(due_field(t))]
    for target in met:
        if target == "first_response" and not first:
            continue
        short = "fr" if target == "first_response" else "nr"
        counters |= {f"sla_{short}_n": 1, f"sla_{short}_hit": 1 if at <= sla[due_field(target)] else 0}
    if counters:
        metrics.record(table, at[:10], counters)
    if met:
        due.cancel_all(table, [conv.id], [keys.sla_due_job(t) for t in met])


def resolved(conv: Conversation) -> Delta:
    """Resolving: nobody waits any more and every target is met (or missed, and counted at that)."""
    delta = waiting(conv, None)
    if sla_due(conv.sla):
        delta = delta + sla_change(conv, dict.fromkeys(SLA_TARGETS))
    if conv.snoozed_until:
        delta.removes.append("snoozed_until")
    return delta


def leaving_snooze(conv: Conversation) -> Delta:
    """A status change out of a snooze (reopen, pending): it no longer wakes."""
    return Delta(removes=["snoozed_until"]) if conv.snoozed_until else Delta()


def resolution_met(table: Table, conv: Conversation, at: str) -> None:
    """After a resolution was stored: its target counted, the conversation's timers gone."""
    sla = conv.sla or {}
    if sla.get(due_field("resolution")):
        metrics.record(table, at[:10], {"sla_res_n": 1, "sla_res_hit": 1 if at <= sla[due_field("resolution")] else 0})
    jobs = [keys.sla_due_job(t) for t in SLA_TARGETS if sla.get(due_field(t))]
    if conv.status == "snoozed":
        jobs.append(SNOOZE)
    if jobs:
        due.cancel_all(table, [conv.id], jobs)


# -- priority --------------------------------------------------------------------------------------------------------
ATTEMPTS = 3


def set_priority(table: Table, conv_id: str, priority: str) -> Conversation:
    """Set the priority and file the conversation under it in QueueIndex and PriorityIndex. The keys depend on the
    waiting time and the activity as read: the write is conditional on both, and read again if they moved."""
    from switchboard.store.conversations import require

    for _attempt in range(ATTEMPTS):
        conv = require(table, conv_id, consistent=True)
        if conv.priority == priority:
            return conv
        delta = Delta(sets={"priority": priority, "queue_sk": keys.queue_sort(priority, conv.waiting_since, conv.id)},
                      conditions=[("exists", "pk", None), ("eq", "updated_at", conv.updated_at),
                                  ("eq", "waiting_since", conv.waiting_since) if conv.waiting_since
                                  else ("absent", "waiting_since", None)]) + same_priority(conv)
        prio = keys.priority_sort(priority, conv.updated_at, conv.id)
        if prio:
            delta.sets["prio_sk"] = prio
        else:
            delta.removes.append("prio_sk")
        expression, names, vals, condition = merge("", delta, None, {}, None)
        try:
            item = table.update(keys.conversation(conv_id), expression, names=names, vals=vals, condition=condition,
                                return_new=True)
        except ConditionFailed:
            continue  # a message, a reply or another agent changed it meanwhile: read it again
        return _conversation(item or {})
    raise Conflict("the conversation kept changing; try again", code="conversation_busy")


def _conversation(item: dict[str, Any]) -> Conversation:
    from switchboard.models import Conversation

    return Conversation.model_validate(item)


# -- snooze ----------------------------------------------------------------------------------------------------------
SNOOZABLE = ("open", "pending", "snoozed")


def snooze(table: Table, conv_id: str, until: str) -> Conversation:
    """Snoozed until `until`: its wake-up is scheduled first (a wake-up without a snooze is harmless: the timer finds
    the conversation not snoozed and lets it be), then the conversation is hidden from the open inbox."""
    from switchboard.store.conversations import require

    for _attempt in range(ATTEMPTS):
        conv = require(table, conv_id, consistent=True)
        if conv.status not in SNOOZABLE:
            raise Conflict(f"a {conv.status} conversation cannot be snoozed (reopen it first)", code="invalid_transition")
        due.schedule_wake(table, conv_id, until)
        try:
            before = table.update(keys.conversation(conv_id),
                                  "SET #st = :sn, gsi1pk = :g1, snoozed_until = :u",
                                  names={"#st": "status"},
                                  vals={":sn": "snoozed", ":g1": keys.inbox_status_pk("snoozed"), ":u": until,
                                        ":was": conv.status},
                                  condition="attribute_exists(pk) AND #st = :was", return_old=True) or {}
        except ConditionFailed:
            continue  # resolved, reopened or gone meanwhile: read it again
        # No holding reply while snoozed: the agent has decided when to come back to it.
        due.cancel_all(table, [conv_id], [due.AUTO_REPLY])
        metrics.status_moved(table, conv, before.get("status"), "snoozed")
        return require(table, conv_id, consistent=True)
    raise Conflict("the conversation kept changing; try again", code="conversation_busy")


def wake(table: Table, entry: dict[str, Any]) -> Conversation | None:
    """A snooze's time has come: back to open, at the top of the inbox. Only if it is still snoozed until that very
    time (a customer message, an agent, or a new snooze may have changed it since): never woken twice. Nothing is
    read: the conditional write decides, and returns the conversation."""
    conv_id, until = entry["conversation_id"], entry["until"]
    now = clock.iso(clock.now())
    sort = keys.inbox_sort(now, conv_id)
    try:
        item = table.update(
            keys.conversation(conv_id),
            "SET #st = :open, gsi1pk = :g1, updated_at = :now, gsi1sk = :sort, gsi2sk = :sort REMOVE snoozed_until",
            names={"#st": "status"},
            vals={":open": "open", ":g1": keys.inbox_status_pk("open"), ":now": now, ":sort": sort,
                  ":sn": "snoozed", ":until": until},
            condition="attribute_exists(pk) AND #st = :sn AND snoozed_until = :until", return_new=True)
    except ConditionFailed:
        return None
    woken = _conversation(item or {})
    prio = keys.priority_sort(woken.priority, now, conv_id)
    if prio:  # PriorityIndex follows the activity, unless something changed it again meanwhile (and set it)
        try:
            table.update(keys.conversation(conv_id), "SET prio_sk = :p", vals={":p": prio, ":pr": woken.priority,
                                                                               ":sort": sort},
                         condition="priority = :pr AND gsi1sk = :sort")
        except ConditionFailed:
            pass
    metrics.status_moved(table, woken, "snoozed", "open")
    return woken


def validate_until(until: str) -> str:
    """An ISO 8601 time with a zone, in the future, at most a year ahead; returned in the store's form."""
    from datetime import timedelta

    try:
        moment = clock.parse_iso(until)
    except ValueError:
        raise BadRequest("until must be an ISO 8601 time, e.g. 2026-05-04T09:00:00Z", code="invalid_until") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise BadRequest("until needs a time zone (Z or an offset such as +02:00)", code="invalid_until")
    now = clock.now()
    if moment <= now:
        raise BadRequest("until must be in the future", code="invalid_until")
    if moment > now + timedelta(days=366):
        raise BadRequest("until must be within a year", code="invalid_until")
    return clock.iso(moment)



# -- SLA warnings and breaches (services/sla.py): each recorded once, by a conditional mark on the conversation ----
def claim_sla_mark(table: Table, conv_id: str, mark: str, due_field_name: str, due_at: str) -> dict[str, Any] | None:
    """SET sla.<mark> = due_at while sla.<due field> is still that due time and the mark is not set for it: the
    conversation as it is now. ConditionFailed when the target was met or moved, or the mark is there already."""
    return table.update(
        keys.conversation(conv_id), "SET sla.#mark = :due", names={"#mark": mark, "#due": due_field_name},
        vals={":due": due_at}, condition="sla.#due = :due AND (attribute_not_exists(sla.#mark) OR sla.#mark <> :due)",
        return_new=True)


def remove_sla_mark(table: Table, conv_id: str, mark: str, due_at: str) -> None:
    """Undo claim_sla_mark (the warning could not be sent): only the mark for that due time."""
    try:
        table.update(keys.conversation(conv_id), "REMOVE sla.#mark", names={"#mark": mark}, vals={":due": due_at},
                     condition="sla.#mark = :due")
    except ConditionFailed:
        pass

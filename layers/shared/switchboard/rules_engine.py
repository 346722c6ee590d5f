"""Automation rules and macros (issue 19), the pure part: what a rule and a macro are, how a rule's conditions are
checked when it is saved (an unevaluable rule is refused, never stored), and how they are evaluated against the
facts of one event. No I/O here: the store and services build on it, and the unit tests test it alone."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from switchboard.channel_names import CHANNELS
from switchboard.errors import BadRequest

RuleEvent = Literal["conversation.created", "message.received", "conversation.status_changed", "conversation.idle"]
EVENTS: tuple[str, ...] = get_args(RuleEvent)
Op = Literal["eq", "neq", "contains", "starts_with", "in"]
OPS: tuple[str, ...] = get_args(Op)
ActionType = Literal["assign_agent", "assign_team", "add_label", "set_priority", "send_message", "resolve",
                     "snooze_minutes", "notify_email", "set_status"]
ACTION_TYPES: tuple[str, ...] = get_args(ActionType)
# What a macro may do: an agent's own actions on the conversation on screen (no mail to third parties from a click).
MACRO_ACTIONS = ("assign_agent", "assign_team", "add_label", "set_priority", "send_message", "resolve",
                 "snooze_minutes", "set_status")
STATUSES = ("open", "pending", "resolved", "snoozed")
IDLE_STATUSES = ("open", "pending", "resolved")  # a snooze has its own timer
PRIORITIES = ("urgent", "high", "normal", "low")
SCALAR_FIELDS = ("channel", "inbox", "text", "status", "priority", "label", "contact.email", "contact.email_domain",
                 "business_hours", "assignee", "team")
ATTR_PREFIX = "attr."
MAX_CONDITIONS, MAX_ACTIONS, MAX_VALUE = 20, 10, 500
MAX_IDLE_MINUTES = 366 * 24 * 60
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str = Field(min_length=1, max_length=80, description="channel, inbox, text, status, priority, label, "
                       "contact.email, contact.email_domain, business_hours (open | closed), assignee, team, "
                       "attr.<key>")
    op: str = Field(description="eq, neq, contains, starts_with, in (in: value is a list)")
    value: Any = None


class Action(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str = Field(description=", ".join(ACTION_TYPES))
    value: Any = None


class RuleSpec(BaseModel):
    """A rule as stored and as evaluated."""

    id: str
    name: str
    enabled: bool = True
    event: RuleEvent
    idle_minutes: int | None = None
    status: str | None = None  # conversation.idle: the status it idles in
    conditions: list[Condition] = []
    actions: list[Action] = []
    position: int = 0
    created_at: str | None = None
    updated_at: str | None = None
    updated_by: str | None = None

    @cached_property
    def condition_dicts(self) -> list[dict[str, Any]]:
        """The conditions as the evaluator reads them (made once per cached rule, not per message)."""
        return [c.model_dump() for c in self.conditions]


class MacroSpec(BaseModel):
    id: str
    name: str
    actions: list[Action] = []
    owner: str | None = None  # None: shared (made by an admin); else the agent who may use and change it
    shared: bool = False
    created_at: str | None = None
    updated_at: str | None = None


# -- checking a rule when it is saved ---------------------------------------------------------------------------
@dataclass
class Known:
    """What the saved rule may refer to: the custom attributes' types by key, team ids, canned response ids."""

    attributes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    teams: frozenset[str] = frozenset()
    canned: frozenset[str] = frozenset()


def _bad(message: str) -> BadRequest:
    return BadRequest(message, code="invalid_rule")


def _strings(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not value or len(value) > 50 or not all(
            isinstance(v, str) and 0 < len(v) <= MAX_VALUE for v in value):
        raise _bad(f"{what}: op 'in' takes a list of 1 to 50 non-empty strings")
    return value


ENUMS: dict[str, tuple[str, ...]] = {"channel": CHANNELS, "status": STATUSES, "priority": PRIORITIES,
                                     "business_hours": ("open", "closed")}


def check_condition(cond: Condition, known: Known) -> Condition:
    """The condition as it will be evaluated (values normalized), or BadRequest invalid_rule."""
    name, op, value = cond.field, cond.op, cond.value
    if op not in OPS:
        raise _bad(f"condition on {name}: op must be one of {', '.join(OPS)}")
    if name.startswith(ATTR_PREFIX):
        key = name[len(ATTR_PREFIX):]
        if key not in known.attributes:
            raise _bad(f"condition field {name}: no custom attribute {key!r} is defined (GET /api/attributes)")
    elif name not in SCALAR_FIELDS:
        raise _bad(f"unknown condition field {name!r}; known: {', '.join(SCALAR_FIELDS)}, attr.<key>")
    if name == "business_hours" and op not in ("eq", "neq"):
        raise _bad("business_hours takes eq or neq with open or closed")
    if op == "in":
        values = _strings(value, name)
    else:
        if isinstance(value, bool) or isinstance(value, int | float):
            value = str(value).lower()
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_VALUE:
            raise _bad(f"condition on {name}: value must be a non-empty string of at most {MAX_VALUE} characters")
        values = [value]
    allowed = ENUMS.get(name)
    if allowed and op in ("eq", "neq", "in"):
        wrong = [v for v in values if v.lower() not in allowed]
        if wrong:
            raise _bad(f"condition on {name}: {wrong[0]!r} is not one of {', '.join(allowed)}")
    normalized = [v.strip() for v in values]
    return Condition(field=name, op=op, value=normalized if op == "in" else normalized[0])


def check_action(action: Action, known: Known, allowed: tuple[str, ...] = ACTION_TYPES) -> Action:
    kind, value = action.type, action.value
    if kind not in allowed:
        raise _bad(f"unknown action {kind!r}; known: {', '.join(allowed)}")
    if kind == "assign_agent":
        if not isinstance(value, str) or not EMAIL.match(value):
            raise _bad("assign_agent takes an agent's email address")
        return Action(type=kind, value=value.strip().lower())
    if kind == "assign_team":
        if not isinstance(value, str) or value not in known.teams:
            raise _bad("assign_team takes the id of an existing team (GET /api/teams)")
    elif kind == "add_label":
        if not isinstance(value, str) or not value.strip() or len(value) > 50:
            raise _bad("add_label takes a label of 1 to 50 characters")
        return Action(type=kind, value=value.strip().lower())
    elif kind == "set_priority":
        if value not in PRIORITIES:
            raise _bad(f"set_priority takes one of {', '.join(PRIORITIES)}")
    elif kind == "set_status":
        if value not in ("open", "pending", "resolved"):
            raise _bad("set_status takes open, pending or resolved")
    elif kind == "send_message":
        if not isinstance(value, dict) or len(value) != 1:
            raise _bad('send_message takes {"text": ...} or {"canned_id": ...}')
        if "text" in value:
            if not isinstance(value["text"], str) or not value["text"].strip() or len(value["text"]) > 4096:
                raise _bad("send_message text must be 1 to 4096 characters")
        elif "canned_id" in value:
            if value["canned_id"] not in known.canned:
                raise _bad("send_message canned_id names no canned response (GET /api/canned-responses)")
        else:
            raise _bad('send_message takes {"text": ...} or {"canned_id": ...}')
    elif kind == "resolve":
        return Action(type=kind, value=None)
    elif kind == "snooze_minutes":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_IDLE_MINUTES:
            raise _bad(f"snooze_minutes takes a whole number of minutes from 1 to {MAX_IDLE_MINUTES}")
    elif kind == "notify_email":
        if not isinstance(value, str) or not EMAIL.match(value.strip()):
            raise _bad("notify_email takes an email address")
        return Action(type=kind, value=value.strip())
    return Action(type=kind, value=value)


def check_rule(body: Mapping[str, Any], known: Known) -> dict[str, Any]:
    """A rule body (name, enabled, event, idle_minutes, status, conditions, actions) checked and normalized: what is
    stored. BadRequest invalid_rule for anything that could not be evaluated."""
    event = body.get("event")
    if event not in EVENTS:
        raise _bad(f"event must be one of {', '.join(EVENTS)}")
    conditions = [check_condition(Condition.model_validate(c), known) for c in body.get("conditions") or []]
    actions = [check_action(Action.model_validate(a), known) for a in body.get("actions") or []]
    if len(conditions) > MAX_CONDITIONS:
        raise _bad(f"at most {MAX_CONDITIONS} conditions")
    if not actions or len(actions) > MAX_ACTIONS:
        raise _bad(f"a rule needs 1 to {MAX_ACTIONS} actions")
    idle, status = body.get("idle_minutes"), body.get("status")
    if event == "conversation.idle":
        if isinstance(idle, bool) or not isinstance(idle, int) or not 1 <= idle <= MAX_IDLE_MINUTES:
            raise _bad(f"conversation.idle needs idle_minutes, 1 to {MAX_IDLE_MINUTES}")
        if status not in IDLE_STATUSES:
            raise _bad(f"conversation.idle needs the status it idles in: {', '.join(IDLE_STATUSES)}")
    elif idle is not None or status is not None:
        raise _bad("idle_minutes and status belong to conversation.idle rules only")
    return {"name": str(body.get("name") or "").strip(), "enabled": bool(body.get("enabled", True)), "event": event,
            "idle_minutes": idle, "status": status,
            "conditions": [c.model_dump() for c in conditions], "actions": [a.model_dump() for a in actions]}


def check_macro_actions(actions: list[Any], known: Known) -> list[dict[str, Any]]:
    if not actions or len(actions) > MAX_ACTIONS:
        raise _bad(f"a macro needs 1 to {MAX_ACTIONS} actions")
    return [check_action(Action.model_validate(a), known, MACRO_ACTIONS).model_dump() for a in actions]


# -- evaluating -------------------------------------------------------------------------------------------------
@dataclass
class Facts:
    """What conditions read, for one event. `lazy` values (business hours, the contact) are computed on first use, so
    a rule that does not ask costs nothing."""

    channel: str = ""
    inbox: str = ""
    text: str = ""
    status: str = ""
    priority: str = "normal"
    labels: list[str] = field(default_factory=list)
    assignee: str | None = None
    team: str | None = None
    conversation_attributes: Mapping[str, Any] = field(default_factory=dict)
    contact: Callable[[], tuple[str | None, Mapping[str, Any]]] = lambda: (None, {})  # (email, attributes)
    business_open: Callable[[], bool] = lambda: True
    _cache: dict[str, Any] = field(default_factory=dict)

    def _contact(self) -> tuple[str | None, Mapping[str, Any]]:
        if "contact" not in self._cache:
            self._cache["contact"] = self.contact()
        return self._cache["contact"]

    def values(self, name: str) -> list[str]:
        """The field's values, lower-cased (several for labels; none when unknown or unset)."""
        if name == "label":
            return [label.lower() for label in self.labels]
        if name == "business_hours":
            if "open" not in self._cache:
                self._cache["open"] = self.business_open()
            return ["open" if self._cache["open"] else "closed"]
        if name in ("contact.email", "contact.email_domain"):
            email = (self._contact()[0] or "").lower()
            if not email:
                return []
            return [email if name == "contact.email" else email.rsplit("@", 1)[-1]]
        if name.startswith(ATTR_PREFIX):
            key = name[len(ATTR_PREFIX):]
            value = self.conversation_attributes.get(key)
            if value is None:
                value = self._contact()[1].get(key)
            if value is None:
                return []
            return [str(v).lower() for v in value] if isinstance(value, list) else [str(value).lower()]
        raw = {"channel": self.channel, "inbox": self.inbox, "text": self.text, "status": self.status,
               "priority": self.priority, "assignee": self.assignee, "team": self.team}.get(name)
        return [str(raw).lower()] if raw else []


def holds(cond: Mapping[str, Any], facts: Facts) -> bool:
    """One condition. A field with no value (no contact email, an attribute not set) matches only `neq`."""
    op, value = cond["op"], cond["value"]
    have = facts.values(cond["field"])
    if op == "in":
        wanted = {str(v).lower() for v in value}
        return any(h in wanted for h in have)
    want = str(value).lower()
    if op == "eq":
        return want in have
    if op == "neq":
        return want not in have
    if op == "contains":
        return any(want in h for h in have)
    if op == "starts_with":
        return any(h.startswith(want) for h in have)
    return False


def matches(conditions: Sequence[Mapping[str, Any]], facts: Facts) -> bool:
    """Every condition holds (none: always)."""
    return all(holds(c, facts) for c in conditions)

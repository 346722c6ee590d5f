"""The rules' condition evaluator and the checks made when a rule is saved (issue 19): every field and op, the
values each field accepts, and the actions' values. Pure: no AWS."""

from __future__ import annotations

import pytest

from switchboard.errors import BadRequest
from switchboard.rules_engine import (
    ACTION_TYPES,
    OPS,
    SCALAR_FIELDS,
    Action,
    Condition,
    Facts,
    Known,
    check_action,
    check_condition,
    check_macro_actions,
    check_rule,
    holds,
    matches,
)

KNOWN = Known(attributes={"plan": {"type": "text"}, "seats": {"type": "number"}}, teams=frozenset({"tm_billing"}),
              canned=frozenset({"cr_1"}))


def facts(**over) -> Facts:
    base = dict(channel="whatsapp", inbox="ib_abc", text="Hello, I want a REFUND for order 42", status="open",
                priority="high", labels=["VIP", "billing"], assignee="ann@example.com", team="tm_billing",
                conversation_attributes={"seats": 12, "tags": ["a", "B"]},
                contact=lambda: ("Jo@Acme.COM", {"plan": "Gold"}), business_open=lambda: False)
    return Facts(**(base | over))


@pytest.mark.parametrize(("field", "op", "value", "expected"), [
    ("channel", "eq", "WhatsApp", True), ("channel", "neq", "whatsapp", False), ("channel", "in", ["sms", "whatsapp"], True),
    ("inbox", "starts_with", "ib_", True), ("inbox", "eq", "ib_other", False),
    ("text", "contains", "refund", True), ("text", "contains", "cancel", False), ("text", "starts_with", "hello", True),
    ("text", "eq", "hello", False), ("status", "eq", "open", True), ("status", "in", ["pending", "resolved"], False),
    ("priority", "neq", "urgent", True), ("priority", "eq", "high", True),
    ("label", "eq", "vip", True), ("label", "neq", "vip", False), ("label", "in", ["spam", "billing"], True),
    ("label", "contains", "bill", True), ("label", "starts_with", "vi", True), ("label", "eq", "spam", False),
    ("contact.email", "contains", "@acme.com", True), ("contact.email", "eq", "jo@acme.com", True),
    ("contact.email_domain", "eq", "acme.com", True), ("contact.email_domain", "in", ["b.com"], False),
    ("business_hours", "eq", "closed", True), ("business_hours", "eq", "open", False),
    ("business_hours", "neq", "open", True),
    ("assignee", "eq", "ANN@example.com", True), ("team", "eq", "tm_billing", True),
    ("attr.plan", "eq", "gold", True), ("attr.seats", "eq", "12", True), ("attr.tags", "in", ["b"], True),
    ("attr.missing", "eq", "x", False), ("attr.missing", "neq", "x", True),
])
def test_every_field_and_op(field, op, value, expected):
    assert holds({"field": field, "op": op, "value": value}, facts()) is expected


def test_unset_values_match_only_neq_and_lazy_facts_are_computed_once_and_only_when_asked():
    calls = {"contact": 0, "hours": 0}

    def contact():
        calls["contact"] += 1
        return (None, {})

    def hours():
        calls["hours"] += 1
        return True

    f = facts(contact=contact, business_open=hours, assignee=None)
    assert matches([{"field": "channel", "op": "eq", "value": "whatsapp"}], f)
    assert calls == {"contact": 0, "hours": 0}
    assert not holds({"field": "contact.email", "op": "contains", "value": "@"}, f)
    assert holds({"field": "contact.email", "op": "neq", "value": "a@b.c"}, f)
    assert not holds({"field": "assignee", "op": "eq", "value": "x@y.z"}, f)
    assert holds({"field": "business_hours", "op": "eq", "value": "open"}, f)
    assert holds({"field": "business_hours", "op": "neq", "value": "closed"}, f)
    assert calls == {"contact": 1, "hours": 1}


def test_all_conditions_must_hold_and_none_always_matches():
    assert matches([], facts())
    assert matches([{"field": "channel", "op": "eq", "value": "whatsapp"},
                    {"field": "text", "op": "contains", "value": "refund"}], facts())
    assert not matches([{"field": "channel", "op": "eq", "value": "whatsapp"},
                        {"field": "text", "op": "contains", "value": "cancel"}], facts())


@pytest.mark.parametrize(("field", "op", "value"), [
    ("colour", "eq", "red"), ("text", "like", "x"), ("status", "eq", "closed"), ("priority", "in", ["high", "meh"]),
    ("channel", "eq", "fax"), ("business_hours", "contains", "open"), ("business_hours", "eq", "sometimes"),
    ("label", "in", "vip"), ("label", "in", []), ("label", "in", [1, 2]), ("text", "eq", ""), ("text", "eq", None),
    ("text", "contains", "x" * 501), ("attr.unknown", "eq", "x"),
])
def test_unevaluable_conditions_are_refused(field, op, value):
    with pytest.raises(BadRequest) as refused:
        check_condition(Condition(field=field, op=op, value=value), KNOWN)
    assert refused.value.code == "invalid_rule"


def test_conditions_are_normalized_and_every_documented_field_and_op_is_accepted():
    assert check_condition(Condition(field="text", op="contains", value="  refund "), KNOWN).value == "refund"
    assert check_condition(Condition(field="attr.seats", op="eq", value=12), KNOWN).value == "12"
    for field in SCALAR_FIELDS:
        for op in OPS:
            if field == "business_hours" and op not in ("eq", "neq"):
                continue
            good = {"channel": "sms", "status": "open", "priority": "low", "business_hours": "open"}.get(field, "x")
            check_condition(Condition(field=field, op=op, value=[good] if op == "in" else good), KNOWN)


@pytest.mark.parametrize(("kind", "value"), [
    ("assign_agent", "nobody"), ("assign_team", "tm_gone"), ("add_label", ""), ("add_label", "x" * 51),
    ("set_priority", "meh"), ("send_message", "hi"), ("send_message", {"text": ""}), ("send_message", {"canned_id": "x"}),
    ("send_message", {"text": "a", "canned_id": "cr_1"}), ("snooze_minutes", 0), ("snooze_minutes", "5"),
    ("snooze_minutes", True), ("notify_email", "nope"), ("set_status", "snoozed"), ("explode", None),
])
def test_bad_actions_are_refused(kind, value):
    with pytest.raises(BadRequest):
        check_action(Action(type=kind, value=value), KNOWN)


def test_good_actions_are_normalized():
    assert check_action(Action(type="add_label", value=" Refund "), KNOWN).value == "refund"
    assert check_action(Action(type="assign_agent", value="Ann@Example.com"), KNOWN).value == "ann@example.com"
    assert check_action(Action(type="resolve", value="whatever"), KNOWN).value is None
    for kind, value in {"assign_team": "tm_billing", "set_priority": "urgent", "send_message": {"canned_id": "cr_1"},
                        "snooze_minutes": 60, "notify_email": "boss@example.com", "set_status": "pending"}.items():
        assert check_action(Action(type=kind, value=value), KNOWN).value == value
    assert set(ACTION_TYPES) >= {"assign_agent", "assign_team", "add_label", "set_priority", "send_message", "resolve",
                                 "snooze_minutes", "notify_email"}


def test_rules_need_an_event_actions_and_for_idle_a_status_and_minutes():
    body = {"name": "r", "event": "message.received", "actions": [{"type": "resolve"}]}
    assert check_rule(body, KNOWN)["event"] == "message.received"
    for bad in ({**body, "event": "x"}, {**body, "actions": []}, {**body, "event": "conversation.idle"},
                {**body, "event": "conversation.idle", "idle_minutes": 5, "status": "snoozed"},
                {**body, "status": "open"}, {**body, "actions": [{"type": "resolve"}] * 11}):
        with pytest.raises(BadRequest):
            check_rule(bad, KNOWN)
    idle = check_rule({**body, "event": "conversation.idle", "idle_minutes": 4320, "status": "pending"}, KNOWN)
    assert (idle["idle_minutes"], idle["status"]) == (4320, "pending")


def test_macros_take_an_agents_actions_only():
    assert check_macro_actions([{"type": "add_label", "value": "x"}, {"type": "resolve"}], KNOWN)[1]["type"] == "resolve"
    with pytest.raises(BadRequest):
        check_macro_actions([{"type": "notify_email", "value": "a@b.co"}], KNOWN)
    with pytest.raises(BadRequest):
        check_macro_actions([], KNOWN)

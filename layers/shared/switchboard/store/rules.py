"""Automation rules and macros (issue 19): the rules and macros themselves, each rule's runs (the once-per-event
claim and its outcome), the conversations' idle timers and the mails that notify_email actions leave for
TimersFunction. Every read is a GetItem or a Query (the rules' and macros' partitions, a rule's runs on GSI1, what is
due on DueIndex)."""

from __future__ import annotations

from typing import Any

from switchboard import clock
from switchboard.errors import NotFound
from switchboard.store import due, keys
from switchboard.store.table import ConditionFailed, Table

RUN_DAYS = 30  # a run's record is kept this long (and goes sooner with its conversation: it is in its partition)


def _live(item: dict[str, Any]) -> bool:
    expires = item.get("expires_at")
    return not expires or int(expires) > clock.epoch()


# -- rules ------------------------------------------------------------------------------------------------------
def list_rules(table: Table) -> list[dict[str, Any]]:
    """Every rule, in the order they run (position, then creation)."""
    items = table.query_all("pk = :pk AND begins_with(sk, :p)", {":pk": keys.RULES_PK, ":p": "RULE#"},
                            consistent=True)
    return sorted(items, key=lambda r: (int(r.get("position", 0)), r.get("created_at", ""), r["id"]))


def get_rule(table: Table, rule_id: str) -> dict[str, Any]:
    item = table.get(keys.rule(rule_id), consistent=True)
    if item is None:
        raise NotFound(f"rule {rule_id} not found", code="rule_not_found")
    return item


def put_rule(table: Table, rule: dict[str, Any], must_exist: bool = False) -> None:
    table.put({**keys.rule(rule["id"]), "type": "rule", **rule},
              condition="attribute_exists(pk)" if must_exist else "attribute_not_exists(pk)")


def delete_rule(table: Table, rule_id: str) -> None:
    try:
        table.delete(keys.rule(rule_id), condition="attribute_exists(pk)")
    except ConditionFailed:
        raise NotFound(f"rule {rule_id} not found", code="rule_not_found") from None


def version(table: Table) -> str:
    """The rules' version ("" before any change): one small GetItem."""
    item = table.get(keys.rules_version(), consistent=True)
    return str(item.get("version", "")) if item else ""


def bump_version(table: Table, version: str) -> None:
    table.put({**keys.rules_version(), "type": "rules_version", "version": version})


# -- macros -----------------------------------------------------------------------------------------------------
def list_macros(table: Table) -> list[dict[str, Any]]:
    items = table.query_all("pk = :pk AND begins_with(sk, :p)", {":pk": keys.MACROS_PK, ":p": "MACRO#"},
                            consistent=True)
    return sorted(items, key=lambda m: (str(m.get("name", "")).lower(), m["id"]))


def get_macro(table: Table, macro_id: str) -> dict[str, Any]:
    item = table.get(keys.macro(macro_id), consistent=True)
    if item is None:
        raise NotFound(f"macro {macro_id} not found", code="macro_not_found")
    return item


def put_macro(table: Table, macro: dict[str, Any], must_exist: bool = False) -> None:
    table.put({**keys.macro(macro["id"]), "type": "macro", **macro},
              condition="attribute_exists(pk)" if must_exist else "attribute_not_exists(pk)")


def delete_macro(table: Table, macro_id: str) -> None:
    table.delete(keys.macro(macro_id))


# -- runs -------------------------------------------------------------------------------------------------------
def claim_run(table: Table, conv_id: str, rule_id: str, event_id: str, event: str, lease_seconds: int) -> bool:
    """The once-per-event claim: a conditional put of the run. False when this rule already ran (or is running) for
    this event of this conversation; a run whose lease ran out (its function died mid-way) may be taken over."""
    now = clock.now()
    at = clock.iso(now)
    item = {**keys.rule_run(conv_id, rule_id, event_id), **keys.rule_run_index(rule_id, at, conv_id), "type": "rule_run",
            "rule_id": rule_id, "conversation_id": conv_id, "event": event, "event_id": event_id, "at": at,
            "outcome": "running", "lease_until": int(now.timestamp()) + lease_seconds,
            "expires_at": int(now.timestamp()) + RUN_DAYS * 86400}
    try:
        table.put(item, condition="attribute_not_exists(pk) OR (outcome = :running AND lease_until < :now)",
                  vals={":running": "running", ":now": int(now.timestamp())})
    except ConditionFailed:
        return False
    return True


def finish_run(table: Table, conv_id: str, rule_id: str, event_id: str, outcome: str,
               actions: list[dict[str, Any]]) -> None:
    table.update(keys.rule_run(conv_id, rule_id, event_id), "SET outcome = :o, actions = :a REMOVE lease_until",
                 vals={":o": outcome, ":a": actions})


def get_run(table: Table, conv_id: str, rule_id: str, event_id: str) -> dict[str, Any] | None:
    return table.get(keys.rule_run(conv_id, rule_id, event_id), consistent=True)


def runs(table: Table, rule_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """The rule's latest runs, newest first (GSI1 partition RULERUNS#<rule>); expired ones are gone."""
    items, _ = table.query("gsi1pk = :pk", {":pk": keys.rule_runs_pk(rule_id)}, index=keys.INBOX_BY_STATUS,
                           forward=False, limit=limit)
    return [i for i in items if _live(i)]


# -- idle timers --------------------------------------------------------------------------------------------------
def arm_idle(table: Table, conv_id: str, status: str, since: str, due_at: str) -> None:
    """The conversation's idle timer (one per conversation: entering another status or new activity replaces it)."""
    table.put({**keys.due(conv_id, keys.IDLE), **keys.due_index(keys.IDLE, due_at, conv_id), "type": "due",
               "job": keys.IDLE, "conversation_id": conv_id, "status": status, "since": since})


def reschedule_idle(table: Table, entry: dict[str, Any], due_at: str) -> bool:
    """Move a timer on to its next rule's time, if nobody replaced it meanwhile."""
    return due.postpone(table, entry, keys.IDLE, due_at)


# -- notify_email's mails ---------------------------------------------------------------------------------------
def queue_mail(table: Table, conv_id: str, run_key: str, to: str, rule_name: str, rule_id: str) -> bool:
    """A mail for TimersFunction to send (it holds the SES permission and the sender address); once per run and
    action (a conditional put), in the conversation's partition (erasure takes it)."""
    due_at = clock.iso(clock.now())
    try:
        table.put({**keys.rule_mail(conv_id, run_key), **keys.due_index(keys.RULE_MAIL, due_at, conv_id),
                   "type": "due", "job": keys.RULE_MAIL, "conversation_id": conv_id, "to": to,
                   "rule_name": rule_name, "rule_id": rule_id}, condition="attribute_not_exists(pk)")
    except ConditionFailed:
        return False
    return True


def set_team(table: Table, conv_id: str, team_id: str) -> None:
    """assign_team: the conversation's own team (shown before its inbox's)."""
    try:
        table.update(keys.conversation(conv_id), "SET team = :t", vals={":t": team_id}, condition="attribute_exists(pk)")
    except ConditionFailed:
        raise NotFound(f"conversation {conv_id} not found") from None

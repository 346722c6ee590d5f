"""Bulk actions (issue 14): several conversations resolved, reopened, assigned, labelled, snoozed or prioritized in one
request, each through the same service as its single route (so each is the same idempotent action), each with its
own result. One conversation's failure never stops the others."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from switchboard import observability
from switchboard.errors import SwitchboardError
from switchboard.services import inbox, priority, snooze, workflow
from switchboard.store import conversations
from switchboard.store.table import Table

MAX_IDS = 100
ACTIONS = ("resolve", "reopen", "assign", "label", "snooze", "priority")


def _label(table: Table, conv_id: str, labels: list[str]) -> None:
    """Adds the labels to each conversation's own (a bulk replace would wipe labels the agent cannot see)."""
    conv = conversations.require(table, conv_id)
    inbox.set_labels(table, conv_id, [*conv.labels, *labels])


def run(table: Table, ids: list[str], action: str, by: str, *, agent: str | None = None,
        labels: list[str] | None = None, until: str | None = None, preset: str | None = None,
        priority_: str | None = None) -> list[dict[str, Any]]:
    steps: dict[str, Callable[[str], Any]] = {
        "resolve": lambda conv_id: workflow.resolve(table, conv_id, by),
        "reopen": lambda conv_id: workflow.reopen(table, conv_id),
        "assign": lambda conv_id: inbox.assign(table, conv_id, agent),
        "label": lambda conv_id: _label(table, conv_id, labels or []),
        "snooze": lambda conv_id: snooze.snooze(table, conv_id, until=until, preset=preset),
        "priority": lambda conv_id: priority.set_priority(table, conv_id, priority_ or "normal"),
    }
    step = steps[action]
    results: list[dict[str, Any]] = []
    for conv_id in dict.fromkeys(ids):  # each once, in the order given
        try:
            step(conv_id)
        except SwitchboardError as exc:  # this one's outcome; 503s among them may be retried (the actions repeat safely)
            results.append({"id": conv_id, "ok": False, "error": {"code": exc.code, "message": exc.message}})
            continue
        results.append({"id": conv_id, "ok": True})
    observability.count("BulkActions", len(results))
    return results

"""The contract's keys, their targets, and the printed table."""

from __future__ import annotations

from typing import Any

MAX_IMPORT_RATIO = 1.20


def _at_most(limit: str) -> tuple[str, Any]:
    """A target "<= limit", the limit as printed ("8.00" is checked as 8.0)."""
    return f"<= {limit}", lambda v: v <= float(limit)


REPORTED: tuple[str, Any] = ("reported", None)
READ_ONCE = _at_most("1.1")  # items read per item wanted: a query that reads what it needs, and little more

# key -> (target as text, check); None: reported without a target.
FIXED_TARGETS: dict[str, tuple[str, Any]] = {
    "aws_requests_per_message": _at_most("1.2"),
    "retention_items_read_per_item_deleted": READ_ONCE,
    "auto_reply_items_read_per_item_due": READ_ONCE,
    "survey_items_read_per_item_due": READ_ONCE,
    "inbox_items_read_per_item_returned": READ_ONCE,
    # issue 14: the inbox limited to an inbox, to a team (of one inbox), and to a team of two inboxes (merged)
    "inbox_items_read_per_item_returned_by_inbox": READ_ONCE,
    "inbox_items_read_per_item_returned_by_team": READ_ONCE,
    "inbox_items_read_per_item_returned_by_team_of_two_inboxes": REPORTED,
    # issue 14: the same page with the priority filter and in each order, and the timers
    "inbox_items_read_per_item_returned.priority_filter": READ_ONCE,
    "inbox_items_read_per_item_returned.priority_normal": READ_ONCE,
    "inbox_items_read_per_item_returned.sort_priority": READ_ONCE,
    "inbox_items_read_per_item_returned.sort_waiting": READ_ONCE,
    "inbox_items_read_per_item_returned.sort_sla_due": READ_ONCE,
    "timers_items_read_per_item_due": READ_ONCE,
    "webhook_cpu_ms_per_message": REPORTED,
    "webhook_ms_for_1000_messages": _at_most("3000"),
    "cost_usd_per_million_messages": _at_most("8.00"),
    # contacts and search (issue 14)
    "search_p95_ms": ("< 300", lambda v: v < 300),
    "search_items_read_per_result": _at_most("1.5"),
    "search_cost_usd_per_million_messages": REPORTED,
    "search_cost_share_of_message_cost": _at_most("0.10"),
    # automation rules (issue 19): 50 enabled rules cost a message at most 1 ms of CPU, and no more AWS requests
    "rules_cpu_ms_per_message_50_rules": _at_most("1.0"),
    "rules_aws_requests_per_message_50_rules": ("0 (as 0 rules)", lambda v: v <= 0),
    # reports (issue 16): a report reads its range's days, never conversations; the export's rate (moto-bound)
    "report_items_read_per_day": _at_most("1.5"),
    "export_rows_per_second": REPORTED,
    # the live workspace (issue 15): a webhook's 200 to the event at a connected agent's socket; push fan-out's cost
    "push_latency_ms_p95": _at_most("500"),
    "push_cost_usd_per_million_messages": REPORTED,
}


def contract_keys(functions: list[str]) -> list[str]:
    return [f"cold_import_ratio.{f}" for f in functions] + list(FIXED_TARGETS)


def target(key: str) -> tuple[str, Any]:
    if key.startswith("cold_import_ratio."):
        return _at_most(f"{MAX_IMPORT_RATIO:.2f}")
    return FIXED_TARGETS[key]


def verdicts(results: dict[str, Any], keys: list[str]) -> dict[str, dict[str, Any]]:
    out = {}
    for key in keys:
        text, check = target(key)
        value = results.get(key)
        if value is None:
            status = "MISSING"
        elif check is None:
            status = "reported"
        else:
            status = "pass" if check(value) else "MISSED"
        out[key] = {"target": text, "status": status}
    return out


def table(results: dict[str, Any], checks: dict[str, dict[str, Any]]) -> str:
    width = max(len(k) for k in checks) + 2
    lines = [f"{'key':<{width}}{'value':>12}  {'target':<10}{'result'}", "-" * (width + 34)]
    for key, check in checks.items():
        value = results.get(key)
        shown = "-" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)
        lines.append(f"{key:<{width}}{shown:>12}  {check['target']:<10}{check['status']}")
    missed = [k for k, c in checks.items() if c["status"] in ("MISSED", "MISSING")]
    lines += ["", "targets missed: " + (", ".join(missed) if missed else "none")]
    return "\n".join(lines)

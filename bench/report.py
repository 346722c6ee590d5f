"""The contract's keys, their targets, and the printed table."""

from __future__ import annotations

from typing import Any

MAX_IMPORT_RATIO = 1.20

# key -> (target as text, check); None: reported without a target.
FIXED_TARGETS: dict[str, tuple[str, Any]] = {
    "aws_requests_per_message": ("<= 1.2", lambda v: v <= 1.2),
    "retention_items_read_per_item_deleted": ("<= 1.1", lambda v: v <= 1.1),
    "auto_reply_items_read_per_item_due": ("<= 1.1", lambda v: v <= 1.1),
    "survey_items_read_per_item_due": ("<= 1.1", lambda v: v <= 1.1),
    "inbox_items_read_per_item_returned": ("<= 1.1", lambda v: v <= 1.1),
    # issue 14: the inbox limited to an inbox, to a team (of one inbox), and to a team of two inboxes (merged)
    "inbox_items_read_per_item_returned_by_inbox": ("<= 1.1", lambda v: v <= 1.1),
    "inbox_items_read_per_item_returned_by_team": ("<= 1.1", lambda v: v <= 1.1),
    "inbox_items_read_per_item_returned_by_team_of_two_inboxes": ("reported", None),
    # issue 14: the same page with the priority filter and in each order, and the timers
    "inbox_items_read_per_item_returned.priority_filter": ("<= 1.1", lambda v: v <= 1.1),
    "inbox_items_read_per_item_returned.priority_normal": ("<= 1.1", lambda v: v <= 1.1),
    "inbox_items_read_per_item_returned.sort_priority": ("<= 1.1", lambda v: v <= 1.1),
    "inbox_items_read_per_item_returned.sort_waiting": ("<= 1.1", lambda v: v <= 1.1),
    "inbox_items_read_per_item_returned.sort_sla_due": ("<= 1.1", lambda v: v <= 1.1),
    "timers_items_read_per_item_due": ("<= 1.1", lambda v: v <= 1.1),
    "webhook_cpu_ms_per_message": ("reported", None),
    "webhook_ms_for_1000_messages": ("<= 3000", lambda v: v <= 3000),
    "cost_usd_per_million_messages": ("<= 8.00", lambda v: v <= 8.0),
    # contacts and search (issue 14)
    "search_p95_ms": ("< 300", lambda v: v < 300),
    "search_items_read_per_result": ("<= 1.5", lambda v: v <= 1.5),
    "search_cost_usd_per_million_messages": ("reported", None),
    "search_cost_share_of_message_cost": ("<= 0.10", lambda v: v <= 0.10),
    # automation rules (issue 19): 50 enabled rules cost a message at most 1 ms of CPU, and no more AWS requests
    "rules_cpu_ms_per_message_50_rules": ("<= 1.0", lambda v: v <= 1.0),
    "rules_aws_requests_per_message_50_rules": ("0 (as 0 rules)", lambda v: v <= 0),
    # reports (issue 16): a report reads its range's days, never conversations; the export's rate (moto-bound)
    "report_items_read_per_day": ("<= 1.5", lambda v: v <= 1.5),
    "export_rows_per_second": ("reported", None),
    # the live workspace (issue 15): a webhook's 200 to the event at a connected agent's socket; push fan-out's cost
    "push_latency_ms_p95": ("<= 500", lambda v: v <= 500),
    "push_cost_usd_per_million_messages": ("reported", None),
}


def contract_keys(functions: list[str]) -> list[str]:
    return [f"cold_import_ratio.{f}" for f in functions] + list(FIXED_TARGETS)


def target(key: str) -> tuple[str, Any]:
    if key.startswith("cold_import_ratio."):
        return f"<= {MAX_IMPORT_RATIO:.2f}", lambda v: v <= MAX_IMPORT_RATIO
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
    lines.append("")
    lines.append("targets missed: " + (", ".join(missed) if missed else "none"))
    return "\n".join(lines)

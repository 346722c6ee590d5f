"""Per-day aggregates, updated as events happen, so the metrics endpoint reads days, not messages.

One item per UTC day (METRICS#<yyyy-mm-dd> / DAY) with flat counters: conversations and per-channel
counts, resolutions, histograms of first response and resolution times (bucket counters), CSAT sums, and the
current status of the day's new conversations (`status_<status>`, moved -1/+1 with each change).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from switchboard.errors import ServiceUnavailable
from switchboard.store import keys
from switchboard.store.table import Table

# Upper bounds (seconds) of the time buckets; the last one is open-ended.
BUCKETS = (15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800)
MAX_DAYS = 400
STATUSES = ("open", "pending", "resolved", "snoozed")  # snoozed: issue 14


key = keys.metrics_day


def bucket(seconds: float) -> int:
    return next((i for i, upper in enumerate(BUCKETS) if seconds <= upper), len(BUCKETS))


def increment(day: str, counters: dict[str, int | float]) -> dict[str, Any]:
    """An Update action (for a transaction) adding to the day's counters."""
    names = {f"#c{i}": name for i, name in enumerate(counters)}
    vals = {f":c{i}": value for i, value in enumerate(counters.values())}
    return {"Update": {"Key": key(day), "UpdateExpression": "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(counters))),
                       "ExpressionAttributeNames": names, "ExpressionAttributeValues": vals}}


def add(table: Table, day: str, counters: dict[str, int | float]) -> None:
    spec = increment(day, counters)["Update"]
    table.update(spec["Key"], spec["UpdateExpression"], names=spec["ExpressionAttributeNames"],
                 vals=spec["ExpressionAttributeValues"])


def record(table: Table, day: str, counters: dict[str, int | float]) -> None:
    """Count an event that has just happened, once: outside its transaction (an item there bills twice and one
    daily item would contend with every transaction). A failure loses the count, never the event, never doubles."""
    try:
        add(table, day, counters)
    except ServiceUnavailable:
        pass


def status_moved(table: Table, conv: Any, old: str | None, new: str) -> None:
    """A conversation's status changed: the day it was opened counts where its conversations stand now."""
    if old and old != new:
        record(table, conv.created_at[:10], {f"status_{old}": -1, f"status_{new}": 1})


def days(table: Table, first: date, last: date) -> list[dict[str, Any]]:
    """The days' aggregate items: one GetItem per day (BatchGetItem, 100 at a time)."""
    count = min((last - first).days + 1, MAX_DAYS)
    wanted = [key((first + timedelta(days=i)).isoformat()) for i in range(max(count, 0))]
    found: list[dict[str, Any]] = []
    for start in range(0, len(wanted), 100):
        found += table.batch_get(wanted[start:start + 100])
    return found


def percentile(histogram: list[int], share: float) -> float | None:
    """The share-th percentile of a bucket histogram, interpolated inside its bucket."""
    total = sum(histogram)
    if not total:
        return None
    target = share * total
    seen = 0
    for i, count in enumerate(histogram):
        if count and seen + count >= target:
            low = BUCKETS[i - 1] if i > 0 else 0
            high = BUCKETS[i] if i < len(BUCKETS) else BUCKETS[-1] * 2
            return round(low + (high - low) * (target - seen) / count, 1)
        seen += count
    return float(BUCKETS[-1])


def summarize(items: list[dict[str, Any]]) -> dict[str, Any]:
    totals: dict[str, float] = {}
    for item in items:
        for name, value in item.items():
            if isinstance(value, int | float) and name not in ("pk", "sk"):
                totals[name] = totals.get(name, 0) + value
    frt = [int(totals.get(f"frt_{i}", 0)) for i in range(len(BUCKETS) + 1)]
    res = [int(totals.get(f"res_{i}", 0)) for i in range(len(BUCKETS) + 1)]
    responses = int(totals.get("csat_n", 0))
    return {
        "conversations": int(totals.get("conversations", 0)),
        "first_response_seconds": {"p50": percentile(frt, 0.5), "p90": percentile(frt, 0.9), "count": sum(frt)},
        "resolution_seconds": {"p50": percentile(res, 0.5), "p90": percentile(res, 0.9), "count": sum(res)},
        "csat": {"average": round(totals.get("csat_sum", 0) / responses, 2) if responses else None,
                 "responses": responses,
                 "satisfied_share": round(totals.get("csat_45", 0) / responses, 3) if responses else None},
        "by_channel": {name[len("channel_"):]: int(v) for name, v in sorted(totals.items()) if name.startswith("channel_")},
        # Where the conversations opened in the period stand now (a counter moves with each status change)...
        "by_status": {status: max(0, int(totals.get(f"status_{status}", 0))) for status in STATUSES},
        # ...and what happened in the period, to conversations of any age.
        "activity": {"opened": int(totals.get("conversations", 0)), "resolved": int(totals.get("resolved", 0)),
                     "reopened": int(totals.get("reopened", 0))},
        "sla": sla_summary(totals),  # issue 14
    }


def _rate(hits: float, total: float) -> float | None:
    return round(hits / total, 3) if total else None


def sla_summary(totals: dict[str, float]) -> dict[str, Any]:
    """SLA hit rates (targets met in time over targets met or missed, counted when the answer or the resolution came)
    and breaches (counted when TimersFunction recorded them)."""
    return {"first_response_hit_rate": _rate(totals.get("sla_fr_hit", 0), totals.get("sla_fr_n", 0)),
            "next_response_hit_rate": _rate(totals.get("sla_nr_hit", 0), totals.get("sla_nr_n", 0)),
            "resolution_hit_rate": _rate(totals.get("sla_res_hit", 0), totals.get("sla_res_n", 0)),
            "breaches": int(totals.get("sla_breaches", 0)),
            "breaches_by_target": {"first_response": int(totals.get("sla_breach_fr", 0)),
                                   "next_response": int(totals.get("sla_breach_nr", 0)),
                                   "resolution": int(totals.get("sla_breach_res", 0))},
            "counted": {"first_response": int(totals.get("sla_fr_n", 0)), "next_response": int(totals.get("sla_nr_n", 0)),
                        "resolution": int(totals.get("sla_res_n", 0))}}
# growth: conversations by source, counted on the day each opened (`source_link:<link id>`, `source_ad:<ad id>`,
# `source_page`, `source_other`; see services/links.metric_name). For the reports.
SOURCE_PREFIX = "source_"


def by_source(items: list[dict[str, Any]]) -> dict[str, int]:
    """Conversations per source over the days' items: {"link:lk_...": 3, "ad:123": 1, "page": 2, "other": 0}."""
    totals: dict[str, int] = {}
    for item in items:
        for name, value in item.items():
            if name.startswith(SOURCE_PREFIX) and isinstance(value, int | float):
                key = name[len(SOURCE_PREFIX):]
                totals[key] = totals.get(key, 0) + int(value)
    return dict(sorted(totals.items()))

"""Reports by agent, label, channel, inbox and source over a range of business days: read from the daily report
counters (store/reports.py), one item per day of the range, never a conversation; and their CSV."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

from switchboard import clock
from switchboard.errors import BadRequest
from switchboard.store import agents as store_agents
from switchboard.store import links, metrics, reports
from switchboard.store.table import Table

DEFAULT_DAYS = 30
# Reports and exports cover days a business can have had: the bounds keep `last + 1 day` and the zone's
# midnight of either end representable (date.max + 1 day overflowed into a 500).
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(9000, 12, 31)
SOURCE_NAMES = {"none": "No source", "page": "Web pages (widget)", "other": "Other references"}


def date_range(table: Table, from_: str | None, to: str | None) -> tuple[date, date]:
    """`from` and `to` as business days (YYYY-MM-DD, inclusive); default: the last 30 days to today there."""
    try:
        last = date.fromisoformat(to) if to else date.fromisoformat(reports.local_day(table, clock.now()))
        first = date.fromisoformat(from_) if from_ else last - timedelta(days=DEFAULT_DAYS - 1)
    except (ValueError, OverflowError):
        raise BadRequest("from and to are dates (YYYY-MM-DD)", code="invalid_range") from None
    if not EARLIEST_DAY <= first <= LATEST_DAY or not EARLIEST_DAY <= last <= LATEST_DAY:
        raise BadRequest(f"from and to are days from {EARLIEST_DAY} to {LATEST_DAY}", code="invalid_range")
    if first > last or (last - first).days >= metrics.MAX_DAYS:
        raise BadRequest(f"from must not be after to, and the range at most {metrics.MAX_DAYS} days",
                         code="invalid_range")
    return first, last


def _row(key: str, counters: dict[str, int]) -> dict[str, Any]:
    frt, res = reports.histogram(counters, "f"), reports.histogram(counters, "s")
    responses = max(0, counters.get("cn", 0))
    return {
        "key": key,
        "conversations": max(0, counters.get("n", 0)),
        "resolved": max(0, counters.get("r", 0)),
        "first_response_seconds": {"p50": metrics.percentile(frt, 0.5), "p90": metrics.percentile(frt, 0.9),
                                   "count": sum(frt)},
        "resolution_seconds": {"p50": metrics.percentile(res, 0.5), "p90": metrics.percentile(res, 0.9),
                               "count": sum(res)},
        "csat": {"average": round(counters.get("cs", 0) / responses, 2) if responses else None,
                 "responses": responses,
                 "satisfied_share": round(counters.get("c45", 0) / responses, 3) if responses else None},
    }


def _names(table: Table, dimension: str) -> dict[str, str]:
    """Display names where the key is an id: links' names for sources (one Query)."""
    if dimension != "sources":
        return {}
    names = dict(SOURCE_NAMES)
    names |= {f"link:{link['id']}": str(link.get("name") or link["id"]) for link in links.list_all(table)}
    return names


def report(table: Table, dimension: str, from_: str | None, to: str | None) -> dict[str, Any]:
    """{"from", "to", "dimension", "items": [...]}: one row per key, busiest first. Agents also carry
    `currently_open` (their assigned open conversations now, from the round-robin load; every registered agent is
    listed, active in the range or not)."""
    if dimension not in reports.DIMENSIONS:
        raise BadRequest(f"reports are by {', '.join(reports.DIMENSIONS)}", code="invalid_dimension")
    first, last = date_range(table, from_, to)
    totals = reports.totals(reports.days(table, dimension, first, last))
    rows = {key: _row(key, counters) for key, counters in totals.items()}
    if dimension == "agents":
        for agent in store_agents.list_all(table):
            rows.setdefault(agent.email.lower(), _row(agent.email.lower(), {}))["currently_open"] = \
                max(0, agent.open_count)
        for row in rows.values():
            row.setdefault("currently_open", None)  # not a registered agent (automation, or never signed up)
    names = _names(table, dimension)
    for key, row in rows.items():
        if key in names or key.startswith("ad:"):
            row["name"] = names.get(key) or f"Ad {key[3:]}"
    items = sorted(rows.values(), key=lambda r: (-r["conversations"], -r["resolved"], r["key"]))
    return {"dimension": dimension, "from": first.isoformat(), "to": last.isoformat(), "items": items}


CSV_COLUMNS = ["key", "name", "conversations", "resolved", "first_response_p50_seconds",
               "first_response_p90_seconds", "resolution_p50_seconds", "resolution_p90_seconds", "csat_average",
               "csat_responses", "currently_open"]


def cell(value: Any) -> Any:
    """A spreadsheet never runs a cell as a formula (CSV injection): text starting with = + - @ is quoted."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def to_csv(result: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    columns = [c for c in CSV_COLUMNS if c != "currently_open" or result["dimension"] == "agents"]
    writer.writerow(columns)
    for row in result["items"]:
        flat = {"key": row["key"], "name": row.get("name"), "conversations": row["conversations"],
                "resolved": row["resolved"],
                "first_response_p50_seconds": row["first_response_seconds"]["p50"],
                "first_response_p90_seconds": row["first_response_seconds"]["p90"],
                "resolution_p50_seconds": row["resolution_seconds"]["p50"],
                "resolution_p90_seconds": row["resolution_seconds"]["p90"],
                "csat_average": row["csat"]["average"], "csat_responses": row["csat"]["responses"],
                "currently_open": row.get("currently_open")}
        writer.writerow([cell(flat[c]) for c in columns])
    return out.getvalue()

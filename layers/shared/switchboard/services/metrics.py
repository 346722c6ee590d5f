"""The numbers agents see: first response and resolution times, CSAT and volume, from the daily aggregates."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from switchboard import clock
from switchboard.errors import BadRequest
from switchboard.store import metrics
from switchboard.store.table import Table

DEFAULT_DAYS = 30


def summary(table: Table, from_: str | None = None, to: str | None = None) -> dict[str, Any]:
    """The period's summary (`from` and `to` are YYYY-MM-DD, inclusive; default: the last 30 days to today)."""
    try:
        last = date.fromisoformat(to) if to else clock.now().date()
        first = date.fromisoformat(from_) if from_ else last - timedelta(days=DEFAULT_DAYS - 1)
    except (ValueError, OverflowError):  # OverflowError: a default `from` before year 1 (to=0001-01-01)
        raise BadRequest("from and to are dates (YYYY-MM-DD)", code="invalid_range") from None
    if first > last or (last - first).days >= metrics.MAX_DAYS:
        raise BadRequest(f"from must not be after to, and the range at most {metrics.MAX_DAYS} days",
                         code="invalid_range")
    return {"from": first.isoformat(), "to": last.isoformat(), **metrics.summarize(metrics.days(table, first, last))}

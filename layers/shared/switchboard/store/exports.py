"""Conversations by the day they were created (CreatedIndex), for the conversation export: one Query per UTC day,
page by page, so that an export's memory does not grow with its range."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from switchboard import clock
from switchboard.store import keys
from switchboard.store.table import Table

PAGE = 500


def created_between(table: Table, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
    """The conversations created in [start, end), oldest first, as CreatedIndex projects them (the export's fields);
    expired ones (past their TTL, not yet deleted) are left out."""
    low, high = clock.iso(start), clock.iso(end)
    day, last = start.astimezone(UTC).date(), (end - timedelta(microseconds=1)).astimezone(UTC).date()
    now = clock.epoch()
    while day <= last:
        for items, _ in table.pages("created_pk = :pk AND created_sk BETWEEN :lo AND :hi",
                                    {":pk": keys.created_pk(day.isoformat()), ":lo": low, ":hi": high},
                                    index=keys.CREATED_INDEX, page_size=PAGE):
            for item in items:
                expires = item.get("expires_at")
                if isinstance(expires, int | float) and 0 < expires <= now:
                    continue
                yield item
        day += timedelta(days=1)

"""Running a scheduled job over what is due: each due item handled once, one failure never stopping the run."""

from __future__ import annotations

from typing import Any

from switchboard.errors import SwitchboardError
from switchboard.store import due
from switchboard.store.table import Table


def run(job: str, handle: Any, table: Table | None = None) -> dict[str, int]:
    """Apply `handle(table, item)` to each item due for `job` (read through the sparse DueIndex, never a Scan);
    returns counts for the log.

    One item's failure does not stop the run: it stays due and the next run tries it again.
    """
    table = table or Table()
    counts = {"due": 0, "done": 0, "errors": 0}
    for item in due.due_items(table, job):
        counts["due"] += 1
        try:
            if handle(table, item):
                counts["done"] += 1
        except SwitchboardError:
            counts["errors"] += 1
    return counts

"""Scheduled jobs read only what is due, through the sparse DueIndex, never a Scan."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from switchboard import clock
from switchboard.errors import SwitchboardError
from switchboard.store import keys
from switchboard.store.table import ConditionFailed, Table

PAGE = 100


def due_items(table: Table, job: str, limit: int = 1000) -> Iterator[dict[str, Any]]:
    """Items due for `job` at the clock's now, oldest first, at most `limit`."""
    upper = clock.iso(clock.now()) + "~"  # '~' sorts after '#<id>': everything due up to now
    for items, _ in table.pages("due_pk = :pk AND due_sk <= :now", {":pk": keys.due_pk(job), ":now": upper},
                                index=keys.DUE_INDEX, cap=limit, page_size=PAGE):
        yield from items


def take(table: Table, item: dict[str, Any]) -> bool:
    """Claim a due item by deleting it: of two overlapping runs, one wins."""
    try:
        table.delete({"pk": item["pk"], "sk": item["sk"]}, condition="due_sk = :s", vals={":s": item["due_sk"]})
    except ConditionFailed:
        return False
    return True


def settle(table: Table, item: dict[str, Any], **attrs: Any) -> bool:
    """Claim a due item by taking it off the index but keeping it (with `attrs`): of two overlapping runs, one
    wins, and the item still says the work was done until something deletes it."""
    names = {f"#a{i}": name for i, name in enumerate(attrs)}
    vals: dict[str, Any] = {f":a{i}": value for i, value in enumerate(attrs.values())} | {":s": item["due_sk"]}
    sets = ", ".join(f"#a{i} = :a{i}" for i in range(len(attrs)))
    try:
        table.update({"pk": item["pk"], "sk": item["sk"]}, (f"SET {sets} " if sets else "") + "REMOVE due_pk, due_sk",
                     names=names or None, vals=vals, condition="due_sk = :s")
    except ConditionFailed:
        return False
    return True


def run(job: str, handle: Any, table: Table | None = None) -> dict[str, int]:
    """Apply `handle(table, item)` to each due item; returns counts for the log.

    One item's failure does not stop the run: it stays due and the next run tries it again.
    """
    table = table or Table()
    counts = {"due": 0, "done": 0, "errors": 0}
    for item in due_items(table, job):
        counts["due"] += 1
        try:
            if handle(table, item):
                counts["done"] += 1
        except SwitchboardError:
            counts["errors"] += 1
    return counts

"""Raised retention and the TTL backstops: the policy the backstops were last reviewed for (RETENTIONPOLICY), the
channels under review (BACKSTOPREVIEW / <channel>, with where the review resumes), and moving one item's backstop."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from switchboard import ids
from switchboard.store import keys
from switchboard.store.table import ConditionFailed, Table


def reviewed_days(table: Table) -> dict[str, Any] | None:
    """The retention days per channel the backstops were last reviewed for (None: never recorded)."""
    item = table.get(keys.retention_reviewed(), consistent=True)
    return dict(item.get("days", {})) if item is not None else None


def set_reviewed(table: Table, days: Mapping[str, int], at: str) -> None:
    table.put({**keys.retention_reviewed(), "type": "retention_reviewed", "days": days, "at": at})


def request_review(table: Table, channel: str, at: str) -> None:
    """A newer review replaces an unfinished one: it starts again from the top."""
    table.put({**keys.backstop_review(channel), "type": "backstop_review", "channel": channel,
               "review_id": ids.new_id("br_"), "requested_at": at})


def reviews(table: Table) -> list[dict[str, Any]]:
    """The channels under review: `channel`, `review_id` and the `cursor` to resume from."""
    return table.query_all("pk = :pk", {":pk": keys.BACKSTOP_REVIEW_PK}, consistent=True)


def save_progress(table: Table, review: dict[str, Any], cursor: dict[str, Any] | None) -> bool:
    """Where the review resumes next run, or (cursor None) it is done and goes. False when the channel's review was
    requested again meanwhile: the newer one goes through every conversation anyway."""
    key = keys.backstop_review(review["channel"])
    try:
        if cursor:
            table.update(key, "SET #c = :c", names={"#c": "cursor"}, vals={":c": cursor, ":id": review["review_id"]},
                         condition="review_id = :id")
        else:
            table.delete(key, condition="review_id = :id", vals={":id": review["review_id"]})
    except ConditionFailed:
        return False
    return True


def move_expiry(table: Table, item: dict[str, Any], old: int, new: int) -> bool:
    """Move an item's TTL backstop from `old` to `new`, not over a newer write's own backstop."""
    try:
        table.update({"pk": item["pk"], "sk": item["sk"]}, "SET expires_at = :e", vals={":e": new, ":old": old},
                     condition="expires_at = :old")
    except ConditionFailed:
        return False
    return True

"""The audit log (AUDIT#<yyyy-mm>): retention runs and erasures (counts only), and every agent's and admin's action
that changes or reveals data (who, what, when, the target's id; never message text or personal data)."""

from __future__ import annotations

from datetime import date
from typing import Any

from switchboard import ids
from switchboard.store import keys
from switchboard.store.table import ConditionFailed, Table, decode_cursor, encode_cursor

# The jobs' own records, as actions in the log.
SYSTEM_ACTIONS = {"retention": "retention.run", "erasure": "contact.erasure_completed"}


def record(table: Table, at: str, kind: str, counts: dict[str, Any], **details: Any) -> None:
    table.put({**keys.audit(at[:7], at, ids.new_id("au_")), "type": "audit", "kind": kind, "at": at,
               "counts": counts, "actor": "system", "action": SYSTEM_ACTIONS.get(kind, kind), **details})


# -- agents' and admins' actions ------------------------------------------------------------------------------------
def begin_action(table: Table, at: str, request_id: str, actor: str, action: str, target: str | None,
                 expires_at: int) -> dict[str, str]:
    """Before the action runs: one record per request (keyed by its id), so nothing is done unrecorded. Returns
    its key, for `finish_action`."""
    key = keys.audit(at[:7], at, request_id)
    try:
        table.put({**key, "type": "audit", "kind": "action", "at": at, "actor": actor, "action": action,
                   "target": target, "outcome": "pending", "request_id": request_id, "expires_at": expires_at},
                  condition="attribute_not_exists(pk)")
    except ConditionFailed:
        pass  # this request's record is there already
    return key


def finish_action(table: Table, key: dict[str, str], status: int, target: str | None) -> None:
    """The action's outcome (its HTTP status), and the target a creation named."""
    expression = "SET outcome = :o, #status = :s" + (", target = if_not_exists(target, :t)" if target else "")
    vals: dict[str, Any] = {":o": "done" if status < 400 else "failed", ":s": status}
    if target:
        vals[":t"] = target
    table.update(key, expression, names={"#status": "status"}, vals=vals)


def forget_action(table: Table, key: dict[str, str]) -> None:
    """An action refused as bad input or in conflict (4xx): nothing changed, nothing to keep."""
    table.delete(key)


def _months(first: date, last: date) -> list[str]:
    """Months from the last back to the first, as yyyy-mm."""
    months, year, month = [], last.year, last.month
    while (year, month) >= (first.year, first.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months


def page(table: Table, first: date, last: date, *, actor: str | None, action: str | None, limit: int,
         cursor: str | None, read_cap: int = 1000) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first, from `last` back to `first` (whole days): one Query per month partition, the actor and action
    filters applied by DynamoDB (filtered-out records are still read: at most `read_cap` per request, then a cursor).
    The cursor names the month and the key to resume after."""
    state = decode_cursor(cursor) or {}
    months = _months(first, last)
    if state.get("m") in months:
        months = months[months.index(state["m"]):]
    filters, vals, names = [], {}, {}
    if actor:
        filters.append("#actor = :actor")
        names["#actor"], vals[":actor"] = "actor", actor
    if action:
        filters.append("begins_with(#action, :action)")  # "contact." finds every contact action
        names["#action"], vals[":action"] = "action", action
    found: list[dict[str, Any]] = []
    read = 0
    page_size = 200 if filters else limit
    for position, month in enumerate(months):
        start = state.get("k") if state.get("m") == month else None
        while True:
            items, last_key = table.query(
                "pk = :pk AND sk BETWEEN :lo AND :hi",
                {":pk": keys.audit_pk(month), ":lo": first.isoformat(), ":hi": f"{last.isoformat()}~", **vals},
                names=names or None, forward=False, limit=page_size, start=start,
                filter_expression=" AND ".join(filters) or None)
            read += page_size
            for index, item in enumerate(items):
                found.append(item)
                if len(found) == limit:
                    if index < len(items) - 1 or last_key:
                        return found, encode_cursor({"m": month, "k": {"pk": item["pk"], "sk": item["sk"]}})
                    later = months[position + 1:]
                    return found, encode_cursor({"m": later[0]}) if later else None
            if not last_key:
                break
            start = last_key
            if read >= read_cap:
                return found, encode_cursor({"m": month, "k": last_key})
    return found, None


def prune(table: Table, cutoff: str, months_back: int = 3) -> int:
    """Delete the records older than `cutoff` (ISO time) in its month and the few before it: the retention job runs
    hourly, so older months were emptied by earlier runs (TTL, on `expires_at`, is the backstop)."""
    year, month = int(cutoff[:4]), int(cutoff[5:7])
    deleted = 0
    for _ in range(months_back + 1):
        old = table.query_all("pk = :pk AND sk < :cut", {":pk": keys.audit_pk(f"{year:04d}-{month:02d}"),
                                                         ":cut": cutoff}, cap=5000)
        deleted += table.batch_delete([{"pk": i["pk"], "sk": i["sk"]} for i in old]) if old else 0
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return deleted

"""Event endpoints (one partition: a business has a handful) and their deliveries.

A delivery item (WEBHOOK#<endpoint> / DELIVERY#<event time>#<event id>) is the delivery log's line and the delivery's
state at once. It is put once per event and endpoint (the claim: a redelivered event adds nothing), with DueIndex keys
`DUE#webhook` while an attempt is due. An attempt takes it by moving its due time to a lease (a crashed attempt comes
due again); the outcome settles it (delivered, dropped), schedules the next try, or parks it under
`DUE#webhook_parked#<endpoint>` until an admin replays it. It holds the event's ids and facts, never a body."""

from __future__ import annotations

from typing import Any

from switchboard.store import keys
from switchboard.store.table import ConditionFailed, Table, decode_cursor, encode_cursor

MAX_ENDPOINTS = 50
DELIVERY_TTL_SECONDS = 30 * 86400  # the delivery log's lines go a month after their last change


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("pk", "sk", "type")}


# -- endpoints --------------------------------------------------------------------------------------------------
def put_endpoint(table: Table, endpoint: dict[str, Any]) -> None:
    table.put({**keys.webhook_endpoint(endpoint["id"]), "type": "webhook_endpoint", **endpoint},
              condition="attribute_not_exists(pk)")


def endpoints(table: Table) -> list[dict[str, Any]]:
    items = table.query_all("pk = :pk AND begins_with(sk, :p)", {":pk": keys.WEBHOOKS_PK, ":p": "ENDPOINT#"},
                            cap=MAX_ENDPOINTS)
    return sorted((_plain(i) for i in items), key=lambda e: e.get("created_at", ""))


def endpoint(table: Table, endpoint_id: str) -> dict[str, Any] | None:
    item = table.get(keys.webhook_endpoint(endpoint_id))
    return _plain(item) if item else None


def delete_endpoint(table: Table, endpoint_id: str) -> bool:
    try:
        table.delete(keys.webhook_endpoint(endpoint_id), condition="attribute_exists(pk)")
    except ConditionFailed:
        return False
    return True


# -- deliveries -------------------------------------------------------------------------------------------------
def claim(table: Table, endpoint_id: str, event: dict[str, Any], now: str, expires_at: int,
          due: bool = True) -> dict[str, Any] | None:
    """The delivery of `event` to the endpoint, put once, due now. None when it exists already."""
    key = keys.webhook_delivery(endpoint_id, event["created_at"], event["id"])
    item = {**key, "type": "webhook_delivery", "endpoint_id": endpoint_id, "event": event, "event_type": event["type"],
            "state": "pending", "attempts": 0, "created_at": now, "updated_at": now, "expires_at": expires_at}
    if due:
        item |= keys.webhook_due(now, endpoint_id, event["id"])
    try:
        table.put(item, condition="attribute_not_exists(pk)")
    except ConditionFailed:
        return None
    return item


def get(table: Table, endpoint_id: str, sk: str) -> dict[str, Any] | None:
    return table.get({"pk": keys.webhook_deliveries_pk(endpoint_id), "sk": sk}, consistent=True)


def take(table: Table, item: dict[str, Any], now: str, lease_until: str) -> dict[str, Any] | None:
    """Take a due delivery for one attempt: its due time moves to the lease's end (on the condition that it is
    still due as read, so one attempt at a time). None when someone else took or settled it."""
    due_sk = item.get("due_sk")
    if not due_sk or item.get("due_pk") != keys.due_pk(keys.WEBHOOK_DUE) or due_sk > f"{now}#~":
        return None
    event_id = item["event"]["id"]
    try:
        return table.update({"pk": item["pk"], "sk": item["sk"]},
                            "SET due_sk = :lease, attempts = attempts + :one, #st = :st, updated_at = :now, "
                            "first_attempt_at = if_not_exists(first_attempt_at, :now)",
                            names={"#st": "state"},
                            vals={":lease": keys.webhook_due(lease_until, item["endpoint_id"], event_id)["due_sk"],
                                  ":one": 1, ":st": "attempting", ":now": now, ":was": due_sk},
                            condition="due_sk = :was", return_new=True)
    except ConditionFailed:
        return None


def settle(table: Table, item: dict[str, Any], outcome: dict[str, Any], expires_at: int,
           next_due: dict[str, str] | None = None) -> bool:
    """An attempt's outcome (`state`, `status`, `latency_ms`, `error`, ...): due again at `next_due` (a retry, or the
    parked partition), or out of the index (delivered, dropped). Only by the attempt holding the lease."""
    sets = {**outcome, "expires_at": expires_at}
    names = {f"#f{i}": k for i, k in enumerate(sets)}
    vals: dict[str, Any] = {f":v{i}": v for i, v in enumerate(sets.values())}
    expression = "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(sets)))
    if next_due:
        expression += ", due_pk = :dpk, due_sk = :dsk"
        vals |= {":dpk": next_due["due_pk"], ":dsk": next_due["due_sk"]}
    else:
        expression += " REMOVE due_pk, due_sk"
    vals[":lease"] = item["due_sk"]
    try:
        table.update({"pk": item["pk"], "sk": item["sk"]}, expression, names=names, vals=vals,
                     condition="due_sk = :lease")
    except ConditionFailed:
        return False
    return True


def due(table: Table, now: str, cap: int) -> list[dict[str, Any]]:
    """Deliveries due by `now` (retries, and attempts whose lease ran out), oldest first."""
    return table.query_all("due_pk = :pk AND due_sk <= :now", {":pk": keys.due_pk(keys.WEBHOOK_DUE),
                                                                ":now": f"{now}#~"},
                           index=keys.DUE_INDEX, cap=cap, page_size=min(cap, 200))


def parked(table: Table, endpoint_id: str, cap: int) -> list[dict[str, Any]]:
    return table.query_all("due_pk = :pk", {":pk": keys.webhook_parked_pk(endpoint_id)}, index=keys.DUE_INDEX,
                           cap=cap)


def unpark(table: Table, item: dict[str, Any], now: str, expires_at: int) -> bool:
    """A parked delivery, due again now with a fresh 24 hours of retries."""
    try:
        table.update({"pk": item["pk"], "sk": item["sk"]},
                     "SET due_pk = :dpk, due_sk = :dsk, #st = :st, first_attempt_at = :now, updated_at = :now, "
                     "expires_at = :exp, replayed = if_not_exists(replayed, :zero) + :one",
                     names={"#st": "state"},
                     vals={":dpk": keys.due_pk(keys.WEBHOOK_DUE),
                           ":dsk": keys.webhook_due(now, item["endpoint_id"], item["event"]["id"])["due_sk"],
                           ":st": "pending", ":now": now, ":exp": expires_at, ":zero": 0, ":one": 1,
                           ":was": item["due_pk"]},
                     condition="due_pk = :was")
    except ConditionFailed:
        return False
    return True


def log_page(table: Table, endpoint_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """The endpoint's delivery log, newest event first."""
    start = decode_cursor(cursor)
    items, last = table.query("pk = :pk AND begins_with(sk, :p)",
                              {":pk": keys.webhook_deliveries_pk(endpoint_id), ":p": keys.DELIVERY_PREFIX},
                              forward=False, limit=limit, start=start)
    return items, encode_cursor(last)


def record_test(table: Table, item: dict[str, Any], outcome: dict[str, Any]) -> None:
    """A test event's one attempt, as a line of the delivery log (it is never retried)."""
    names = {f"#f{i}": k for i, k in enumerate(outcome)}
    vals = {f":v{i}": v for i, v in enumerate(outcome.values())}
    table.update({"pk": item["pk"], "sk": item["sk"]}, "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(outcome))),
                 names=names, vals=vals)

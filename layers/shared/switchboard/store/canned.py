"""Canned responses: a team's saved replies, unique by shortcut."""

from __future__ import annotations

from typing import Any

from switchboard import clock, ids
from switchboard.errors import Conflict, NotFound
from switchboard.store import keys
from switchboard.store.table import ConditionFailed, Table


def list_all(table: Table) -> list[dict[str, Any]]:
    items = table.query_all("pk = :pk", {":pk": keys.canned_pk()})
    return sorted(({"id": i["id"], "shortcut": i["shortcut"], "text": i["text"]} for i in items),
                  key=lambda c: c["shortcut"])


def create(table: Table, shortcut: str, text: str, by: str) -> dict[str, Any]:
    canned_id = ids.new_id("cr_")
    item = {**keys.canned(canned_id), "type": "canned", "id": canned_id, "shortcut": shortcut, "text": text,
            "created_by": by, "created_at": clock.iso(clock.now())}
    try:
        table.transact([
            {"Put": {"Item": {**keys.canned_shortcut(shortcut), "type": "canned_shortcut", "canned_id": canned_id},
                     "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Put": {"Item": item}},
        ])
    except ConditionFailed:
        raise Conflict(f"a canned response with shortcut {shortcut!r} exists", code="shortcut_taken") from None
    return {"id": canned_id, "shortcut": shortcut, "text": text}


def delete(table: Table, canned_id: str) -> None:
    item = table.get(keys.canned(canned_id))
    if not item:
        raise NotFound(f"canned response {canned_id} not found")
    table.transact([
        {"Delete": {"Key": keys.canned(canned_id)}},
        {"Delete": {"Key": keys.canned_shortcut(item["shortcut"])}},
    ])

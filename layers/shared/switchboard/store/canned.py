"""Canned responses: a team's saved replies, unique by shortcut."""

from __future__ import annotations

from typing import Any

from switchboard import clock, ids
from switchboard.errors import Conflict, NotFound
from switchboard.store import keys
from switchboard.store.table import ConditionFailed, Table


def list_all(table: Table) -> list[dict[str, Any]]:
    items = table.query_all("pk = :pk", {":pk": keys.canned_pk()})
    return sorted(({"id": i["id"], "shortcut": i["shortcut"], "text": i["text"], "created_by": i.get("created_by"),
                    "updated_at": i.get("updated_at")} for i in items),
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
    return {"id": canned_id, "shortcut": shortcut, "text": text, "created_by": by}


def delete(table: Table, canned_id: str) -> None:
    item = table.get(keys.canned(canned_id))
    if not item:
        raise NotFound(f"canned response {canned_id} not found")
    table.transact([
        {"Delete": {"Key": keys.canned(canned_id)}},
        {"Delete": {"Key": keys.canned_shortcut(item["shortcut"])}},
    ])


# -- editing (templates capability) ----------------------------------------------------------------
def get(table: Table, canned_id: str) -> dict[str, Any]:
    item = table.get(keys.canned(canned_id))
    if not item:
        raise NotFound(f"canned response {canned_id} not found")
    return item


def update(table: Table, item: dict[str, Any], shortcut: str | None, text: str | None, by: str) -> dict[str, Any]:
    """Change the text and/or the shortcut of a canned response as read (`item`): conditional on it being unchanged
    since, and a new shortcut claimed in the same transaction (the old one released)."""
    canned_id = item["id"]
    new_shortcut = shortcut if shortcut is not None else item["shortcut"]
    new_text = text if text is not None else item["text"]
    now = clock.iso(clock.now())
    actions: list[dict[str, Any]] = [{"Update": {
        "Key": keys.canned(canned_id),
        "UpdateExpression": "SET shortcut = :s, #t = :t, updated_at = :now, updated_by = :by",
        "ConditionExpression": "attribute_exists(pk) AND shortcut = :old",
        "ExpressionAttributeNames": {"#t": "text"},
        "ExpressionAttributeValues": {":s": new_shortcut, ":t": new_text, ":now": now, ":by": by,
                                      ":old": item["shortcut"]}}}]
    if new_shortcut.lower() != item["shortcut"].lower():
        actions += [
            {"Put": {"Item": {**keys.canned_shortcut(new_shortcut), "type": "canned_shortcut", "canned_id": canned_id},
                     "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Delete": {"Key": keys.canned_shortcut(item["shortcut"])}},
        ]
    try:
        table.transact(actions)
    except ConditionFailed as exc:
        if len(actions) > 1 and exc.reasons and len(exc.reasons) > 1 and exc.reasons[1] == "ConditionalCheckFailed":
            raise Conflict(f"a canned response with shortcut {new_shortcut!r} exists", code="shortcut_taken") from None
        raise Conflict("the canned response changed meanwhile (or was deleted): reload and try again",
                       code="canned_changed") from None
    return {"id": canned_id, "shortcut": new_shortcut, "text": new_text, "created_by": item.get("created_by"),
            "updated_at": now}

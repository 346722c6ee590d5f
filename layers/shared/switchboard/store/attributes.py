"""Custom attributes (issue 14): the admins' definitions (one partition), and the values on a conversation or a
contact (their `attributes` map, changed key by key so that two agents editing different fields both keep theirs)."""

from __future__ import annotations

from typing import Any

from switchboard import clock
from switchboard.errors import Conflict, NotFound
from switchboard.store import keys
from switchboard.store.table import ConditionFailed, Table

FIELDS = ("key", "label", "type", "applies_to", "options")


def _definition(item: dict[str, Any]) -> dict[str, Any]:
    return {"key": item["key"], "label": item["label"], "type": item["value_type"], "applies_to": item["applies_to"],
            **({"options": item["options"]} if item.get("options") else {})}


def list_all(table: Table) -> list[dict[str, Any]]:
    items = table.query_all("pk = :pk", {":pk": keys.ATTRIBUTES_PK}, cap=1000)
    return sorted((_definition(i) for i in items), key=lambda d: (d["applies_to"], d["key"]))


def create(table: Table, definition: dict[str, Any], by: str) -> dict[str, Any]:
    item = {**keys.attribute_definition(definition["key"]), "type": "attribute_definition",
            "key": definition["key"], "label": definition["label"], "value_type": definition["type"],
            "applies_to": definition["applies_to"], "options": definition.get("options") or None, "created_by": by,
            "created_at": clock.iso(clock.now())}
    try:
        table.put(item, condition="attribute_not_exists(pk)")
    except ConditionFailed:
        raise Conflict(f"an attribute {definition['key']!r} exists: delete it first to define it again",
                       code="attribute_exists") from None
    return _definition(item)


def delete(table: Table, key: str) -> None:
    try:
        table.delete(keys.attribute_definition(key), condition="attribute_exists(pk)")
    except ConditionFailed:
        raise NotFound(f"no attribute {key!r}") from None


def set_values(table: Table, item_key: dict[str, str], values: dict[str, Any], has_map: bool) -> dict[str, Any]:
    """Set (or, None, remove) values in the item's `attributes` map; returns the item as written. `has_map`: the item
    had a map when read (else one is made, on the condition that nobody made one meanwhile)."""
    names = {"#at": "attributes"}
    vals: dict[str, Any] = {}
    if has_map:
        sets, removes = [], []
        for i, (key, value) in enumerate(values.items()):
            names[f"#k{i}"] = key
            if value is None:
                removes.append(f"#at.#k{i}")
            else:
                sets.append(f"#at.#k{i} = :v{i}")
                vals[f":v{i}"] = value
        expression = " ".join(filter(None, ["SET " + ", ".join(sets) if sets else "",
                                            "REMOVE " + ", ".join(removes) if removes else ""]))
        condition = "attribute_exists(pk) AND attribute_exists(#at)"
    else:
        expression, condition = "SET #at = :map", "attribute_exists(pk) AND attribute_not_exists(#at)"
        vals[":map"] = {k: v for k, v in values.items() if v is not None}
    try:
        return table.update(item_key, expression, names=names, vals=vals or None, condition=condition,
                            return_new=True) or {}
    except ConditionFailed:
        current = table.get(item_key, consistent=True)
        if current is None:
            raise NotFound("not found") from None
        return set_values(table, item_key, values, has_map="attributes" in current)

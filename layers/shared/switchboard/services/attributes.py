"""Custom attributes (issue 14): admins define fields for contacts and conversations (text, number, date, list,
checkbox); agents set values, each checked against its definition (400 otherwise); a list attribute of conversations
filters the inbox (attr.<key>=<value>). Values live on the conversation or the contact, so export and erasure take
them with the rest."""

from __future__ import annotations

import math
from datetime import date
from typing import TYPE_CHECKING, Any

from switchboard.errors import BadRequest
from switchboard.store import attributes, keys
from switchboard.store.table import Table

if TYPE_CHECKING:
    from switchboard.models import Contact, Conversation

MAX_DEFINITIONS = 200
MAX_TEXT = 1000
MAX_VALUES = 50


def definitions(table: Table, applies_to: str | None = None) -> list[dict[str, Any]]:
    found = attributes.list_all(table)
    return [d for d in found if applies_to is None or d["applies_to"] == applies_to]


def create(table: Table, definition: dict[str, Any], by: str) -> dict[str, Any]:
    if definition["type"] == "list":
        options = definition.get("options") or []
        if not options:
            raise BadRequest("a list attribute needs its options", code="invalid_attribute")
        if len(set(options)) != len(options):
            raise BadRequest("a list attribute's options must differ", code="invalid_attribute")
    elif definition.get("options"):
        raise BadRequest("only a list attribute has options", code="invalid_attribute")
    if len(attributes.list_all(table)) >= MAX_DEFINITIONS:
        raise BadRequest(f"at most {MAX_DEFINITIONS} attributes", code="too_many_attributes")
    return attributes.create(table, {**definition, "options": definition.get("options") or None}, by)


def delete(table: Table, key: str) -> None:
    """The definition goes. Values already set stay on their records (the app no longer shows them) until edited, and
    are exported and erased with them."""
    attributes.delete(table, key)


def _problem(key: str, kind: str, value: Any, definition: dict[str, Any]) -> Any:
    """The value as stored, or raise BadRequest saying what the definition expects."""
    def bad(expected: str) -> BadRequest:
        return BadRequest(f"attributes.{key}: expected {expected}", code="invalid_attribute_value")

    if kind == "text":
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise bad(f"text of at most {MAX_TEXT} characters")
        return value.strip() or None
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise bad("a number")
        return value
    if kind == "date":
        if isinstance(value, str) and len(value) == 10:
            try:
                return date.fromisoformat(value).isoformat()
            except ValueError:
                pass
        raise bad("a date, YYYY-MM-DD")
    if kind == "list":
        options = definition.get("options") or []
        if value not in options:
            raise bad(f"one of {', '.join(map(repr, options))}")
        return value
    if not isinstance(value, bool):  # checkbox
        raise bad("true or false")
    return value


def validate(table: Table, values: dict[str, Any], applies_to: str) -> dict[str, Any]:
    """Values checked against their definitions (None removes one); an unknown key, or one of the other kind of
    record, is refused."""
    if not values:
        raise BadRequest("attributes: nothing to change", code="empty_patch")
    if len(values) > MAX_VALUES:
        raise BadRequest(f"attributes: at most {MAX_VALUES} at once", code="invalid_attribute_value")
    defined = {d["key"]: d for d in definitions(table, applies_to)}
    checked: dict[str, Any] = {}
    for key, value in values.items():
        definition = defined.get(key)
        if definition is None:
            raise BadRequest(f"attributes.{key}: no such {applies_to} attribute (GET /api/attributes)",
                             code="unknown_attribute")
        checked[key] = None if value is None else _problem(key, definition["type"], value, definition)
    return checked


def set_on_conversation(table: Table, conv: Conversation, values: dict[str, Any]) -> Conversation:
    from switchboard.models import Conversation

    checked = validate(table, values, "conversation")
    item = attributes.set_values(table, keys.conversation(conv.id), checked, has_map=bool(conv.attributes))
    return Conversation.model_validate(item)


def set_on_contact(table: Table, contact: Contact, values: dict[str, Any]) -> None:
    checked = validate(table, values, "contact")
    attributes.set_values(table, keys.contact(contact.id), checked, has_map=bool(contact.attributes))


def inbox_filter(table: Table, wanted: dict[str, str]) -> dict[str, str]:
    """attr.<key>=<value> filters of the inbox: each a list attribute of conversations, and one of its options."""
    if not wanted:
        return {}
    defined = {d["key"]: d for d in definitions(table, "conversation")}
    for key, value in wanted.items():
        definition = defined.get(key)
        if definition is None or definition["type"] != "list":
            raise BadRequest(f"attr.{key}: filter by a list attribute of conversations (GET /api/attributes)",
                             code="unknown_attribute")
        if value not in (definition.get("options") or []):
            raise BadRequest(f"attr.{key}: one of {', '.join(definition.get('options') or [])}",
                             code="invalid_attribute_value")
    return wanted

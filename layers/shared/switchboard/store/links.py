"""Entry links (one partition: a business has dozens), conversations' sources, and each link's conversations.

A conversation that came through a link gets `source` on its item (set once, by its first inbound message) and an
item in the link's partition (SOURCE#<link id>, newest first) that the inbox's source filter reads. Retention and
erasure delete that item with the conversation (store/erasure.py)."""

from __future__ import annotations

from typing import Any

from switchboard.store import keys
from switchboard.store.table import ConditionFailed, Table, decode_cursor, encode_cursor

MAX_LINKS = 1000


def put(table: Table, item: dict[str, Any]) -> bool:
    """A new link; False when its id is taken (a reference drawn twice)."""
    try:
        table.put({**keys.link(item["id"]), "type": "link", **item}, condition="attribute_not_exists(pk)")
    except ConditionFailed:
        return False
    return True


def get(table: Table, link_id: str) -> dict[str, Any] | None:
    item = table.get(keys.link(link_id))
    return _plain(item) if item else None


def list_all(table: Table) -> list[dict[str, Any]]:
    items = table.query_all("pk = :pk AND begins_with(sk, :p)", {":pk": keys.LINKS_PK, ":p": "LINK#"}, cap=MAX_LINKS)
    return sorted((_plain(i) for i in items), key=lambda i: i.get("created_at", ""), reverse=True)


def delete(table: Table, link_id: str) -> bool:
    try:
        table.delete(keys.link(link_id), condition="attribute_exists(pk)")
    except ConditionFailed:
        return False
    return True


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("pk", "sk", "type")}


def set_source(table: Table, conv_id: str, source: dict[str, Any]) -> bool:
    """The conversation's source, once: False when it has one already (a redelivery, or a later message)."""
    try:
        table.update(keys.conversation(conv_id), "SET #src = :s", names={"#src": "source"}, vals={":s": source},
                     condition="attribute_exists(pk) AND attribute_not_exists(#src)")
    except ConditionFailed:
        return False
    return True


def add_conversation(table: Table, link_id: str, created_at: str, conv_id: str) -> None:
    table.put({**keys.source_conversation(link_id, created_at, conv_id), "type": "source_conversation",
               "link_id": link_id, "conversation_id": conv_id, "created_at": created_at})


def remove_conversation(table: Table, link_id: str, created_at: str, conv_id: str) -> None:
    table.delete(keys.source_conversation(link_id, created_at, conv_id))


def conversation_ids(table: Table, link_id: str, limit: int, cursor: str | None) -> tuple[list[str], str | None]:
    """One page of the link's conversations, newest first: their ids, and where the next page starts."""
    start = decode_cursor(cursor)
    if start is not None and set(start) != {"pk", "sk"}:
        from switchboard.errors import BadRequest

        raise BadRequest("invalid cursor", code="invalid_cursor")
    items, last = table.query("pk = :pk", {":pk": keys.source_pk(link_id)}, forward=False, limit=limit, start=start)
    return [i["conversation_id"] for i in items], encode_cursor(last)

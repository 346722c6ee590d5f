"""WebSocket connections (issue 15, the live workspace): agents' in one partition (every agent's app hears about
every conversation), a web chat visitor's under their visitor id, and each connection's own pointer item so that
$disconnect (which knows only the connection id) finds its listing. Every item carries a TTL: API Gateway closes a
connection after two hours at most, and a $disconnect that never ran leaves nothing behind for long. A visitor's are
also deleted with the contact they belong to (erasure, retention): one Query of their partition finds them."""

from __future__ import annotations

from typing import Any

from switchboard.store import keys
from switchboard.store.conversations import live
from switchboard.store.table import Table


def add(table: Table, connection_id: str, partition: str, item: dict[str, Any], expires_at: int) -> None:
    """Listing first, then the pointer: a $disconnect racing a $connect finds at worst the listing (its TTL ends it)."""
    table.put({**keys.ws_listing(partition, connection_id), "type": "ws_connection", **item,
               "connection_id": connection_id, "expires_at": expires_at})
    table.put({**keys.ws_connection(connection_id), "type": "ws_pointer", "partition": partition, **item,
               "expires_at": expires_at})


def add_agent(table: Table, connection_id: str, agent: str, connected_at: str, expires_at: int) -> None:
    add(table, connection_id, keys.WS_AGENTS_PK, {"agent": agent.lower(), "connected_at": connected_at}, expires_at)


def add_visitor(table: Table, connection_id: str, visitor_id: str, connected_at: str, expires_at: int) -> None:
    add(table, connection_id, keys.ws_visitor_pk(visitor_id), {"visitor_id": visitor_id, "connected_at": connected_at},
        expires_at)


def get(table: Table, connection_id: str) -> dict[str, Any] | None:
    item = table.get(keys.ws_connection(connection_id))
    return item if live(item) else None


def remove(table: Table, connection_id: str, partition: str | None = None) -> None:
    """Forget a connection ($disconnect, or gone: 410). `partition` when the caller knows it (no read)."""
    if partition is None:
        pointer = table.get(keys.ws_connection(connection_id))
        partition = pointer.get("partition") if pointer else None
    if partition:
        table.delete(keys.ws_listing(partition, connection_id))
    table.delete(keys.ws_connection(connection_id))


def remove_visitor(table: Table, visitor_id: str) -> list[str]:
    """Forget every connection of a web chat visitor, live or expired (TTL deletion lags): their listings and each
    one's pointer. Returns the connection ids (for the caller to close them)."""
    listed = table.query_all("pk = :pk", {":pk": keys.ws_visitor_pk(visitor_id)}, consistent=True)
    ids = [str(i["sk"]) for i in listed]
    table.batch_delete([keys.ws_listing(keys.ws_visitor_pk(visitor_id), c) for c in ids]
                       + [keys.ws_connection(c) for c in ids])
    return ids


def _listed(table: Table, partition: str) -> list[dict[str, Any]]:
    return [i for i in table.query_all("pk = :pk", {":pk": partition}) if live(i)]


def agents(table: Table) -> list[dict[str, Any]]:
    """Every agent connection: the fan-out of one event (one Query; 1 KB per ~5 connections)."""
    return _listed(table, keys.WS_AGENTS_PK)


def visitor(table: Table, visitor_id: str) -> list[dict[str, Any]]:
    return _listed(table, keys.ws_visitor_pk(visitor_id))

"""Dedupe markers of inbound provider messages: the webhook's durable write."""

from __future__ import annotations

from typing import Any

from switchboard.store import keys
from switchboard.store.table import ConditionFailed, Table


def claim_inbound(table: Table, channel: str, provider_id: str, received_at: str, expires_at: int) -> dict[str, Any] | None:
    """Record first sight of a provider message. None when new, else the existing marker."""
    item = {**keys.inbound_marker(channel, provider_id), "type": "inbound_marker", "received_at": received_at,
            "expires_at": expires_at}
    try:
        table.put(item, condition="attribute_not_exists(pk)", return_old_on_fail=True)
    except ConditionFailed as exc:
        return exc.item or {"processed": False}
    return None


def claim_alias(table: Table, channel: str, alias: str, provider_id: str, now: int, expires_at: int) -> str:
    """Tie another name of a provider message (an email's Message-ID) to its provider id, once: returns the provider
    id that holds the alias, ours when it is new (or when the earlier claim has expired)."""
    item = {**keys.inbound_marker(channel, alias), "type": "inbound_alias", "provider_id": provider_id,
            "expires_at": expires_at}
    try:
        table.put(item, condition="attribute_not_exists(pk) OR expires_at < :now", vals={":now": now},
                  return_old_on_fail=True)
    except ConditionFailed as exc:
        return str((exc.item or {}).get("provider_id") or provider_id)
    return provider_id


def mark_processed(table: Table, channel: str, provider_id: str, conversation_id: str | None,
                   message_created_at: str | None = None, message_id: str | None = None) -> None:
    """After processing: redeliveries are acknowledged without enqueueing, and edits find their message."""
    table.update(keys.inbound_marker(channel, provider_id),
                 "SET #p = :t, conversation_id = :c, message_created_at = :at, message_id = :m",
                 names={"#p": "processed"},
                 vals={":t": True, ":c": conversation_id or "-", ":at": message_created_at or "-", ":m": message_id or "-"})


def processed(table: Table, channel: str, provider_ids: list[str]) -> set[str]:
    """Which of these events were stored and processed already (BatchGetItem: 100 keys a request)."""
    by_pk = {keys.inbound_marker(channel, p)["pk"]: p for p in provider_ids}
    markers = [keys.inbound_marker(channel, p) for p in provider_ids]
    found: set[str] = set()
    for start in range(0, len(markers), 100):
        found |= {by_pk[item["pk"]] for item in table.batch_get(markers[start:start + 100], consistent=True)
                  if item.get("processed")}
    return found


def get(table: Table, channel: str, provider_id: str) -> dict[str, Any] | None:
    return table.get(keys.inbound_marker(channel, provider_id), consistent=True)


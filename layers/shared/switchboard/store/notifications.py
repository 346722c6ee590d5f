"""Agents' notifications (issue 15): one partition per agent, newest first, with a TTL backstop; each listed in its
conversation's partition too, so that deleting the conversation (erasure, retention) deletes them."""

from __future__ import annotations

from typing import Any

from switchboard.store import keys
from switchboard.store.conversations import live
from switchboard.store.table import ConditionFailed, Table


def put(table: Table, agent: str, item: dict[str, Any]) -> bool:
    """Store a notification once: False when that id was stored before (a retry). The conversation's reference is
    written first, so that an erasure always finds what names the conversation."""
    nid, conv_id = item["id"], item.get("conversation_id")
    if conv_id:
        table.put({**keys.notification_ref(conv_id, agent, nid), "type": "notification_ref", "agent": agent.lower(),
                   "notification_id": nid, "expires_at": item["expires_at"]})
    try:
        table.put({**keys.notification(agent, nid), "type": "notification", **item},
                  condition="attribute_not_exists(pk)")
    except ConditionFailed:
        return False
    return True


def newest(table: Table, agent: str, limit: int) -> list[dict[str, Any]]:
    items, _ = table.query("pk = :pk AND begins_with(sk, :p)",
                           {":pk": keys.notifications_pk(agent), ":p": keys.NOTIFICATION_PREFIX},
                           forward=False, limit=limit)
    return [i for i in items if live(i)]


def mark_read(table: Table, agent: str, notification_ids: list[str], at: str) -> int:
    """Mark the agent's own notifications read (another agent's ids name nothing in this partition)."""
    done = 0
    for nid in notification_ids:
        try:
            table.update(keys.notification(agent, nid), "SET #r = :t, read_at = if_not_exists(read_at, :at)",
                         names={"#r": "read"}, vals={":t": True, ":at": at}, condition="attribute_exists(pk)")
            done += 1
        except ConditionFailed:
            pass
    return done


def conversation_keys(items: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The notifications a conversation's partition lists (its items as read for a deletion)."""
    return [keys.notification(i["agent"], i["notification_id"]) for i in items
            if i["sk"].startswith(keys.NOTIFICATION_REF_PREFIX) and i.get("agent") and i.get("notification_id")]

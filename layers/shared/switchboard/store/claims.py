"""Once-only claims of automated replies: the greeting (per contact, or per message after a quiet spell) and the
away message (per conversation per local day). A conditional put decides, so a rerun or a retry never sends twice."""

from __future__ import annotations

from typing import Any

from switchboard.store import keys
from switchboard.store.table import ConditionFailed, Table


def _claim(table: Table, key: dict[str, str], **attrs: Any) -> bool:
    """Record that something happened, once. False when it had already happened."""
    try:
        table.put({**key, "type": "marker", **attrs}, condition="attribute_not_exists(pk)")
    except ConditionFailed:
        return False
    return True


def claim_greeting(table: Table, contact_id: str, message_id: str | None = None) -> bool:
    """The greeting on first contact (once ever), or again for one message after a quiet spell (`message_id`)."""
    return _claim(table, keys.greeted(contact_id, message_id))


def claim_away(table: Table, conv_id: str, local_day: str, expires_at: int) -> bool:
    return _claim(table, keys.away_sent(conv_id, local_day), expires_at=expires_at)

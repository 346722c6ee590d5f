"""Addresses never to mail again (a permanent bounce or a complaint), kept as hashes (keys.suppression)."""

from __future__ import annotations

from typing import Any

from switchboard.store import keys
from switchboard.store.table import Table


def suppress(table: Table, address: str, reason: str, at: str) -> None:
    table.put({**keys.suppression(address), "type": "suppression", "reason": reason, "at": at})


def is_suppressed(table: Table, address: str) -> bool:
    return table.get(keys.suppression(address)) is not None


def get(table: Table, address: str) -> dict[str, Any] | None:
    """The suppression of an address ({'reason', 'at'}), or None when it may be mailed."""
    return table.get(keys.suppression(address)) if address and "@" in address else None

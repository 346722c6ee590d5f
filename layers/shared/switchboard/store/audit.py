"""Audit records (AUDIT#<yyyy-mm>) of retention runs and erasures (counts only, never content or people's ids) and of
contact merges (the agent, and the two contact ids: no names, no addresses)."""

from __future__ import annotations

from typing import Any

from switchboard import ids
from switchboard.store import keys
from switchboard.store.table import Table


def record(table: Table, at: str, kind: str, counts: dict[str, Any], **details: Any) -> None:
    table.put({**keys.audit(at[:7], at, ids.new_id("au_")), "type": "audit", "kind": kind, "at": at,
               "counts": counts, **details})

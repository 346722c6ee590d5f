"""The admins' automation settings document (SETTINGS / AUTOMATION), versioned so that two saves never overwrite
each other unseen."""

from __future__ import annotations

from typing import Any

from switchboard.store import keys
from switchboard.store.table import ConditionFailed, Table


def read(table: Table) -> tuple[dict[str, Any] | None, int]:
    """(the stored document, its version); (None, 0) before the first save."""
    item = table.get(keys.settings_doc(), consistent=True)
    return (item["document"], int(item.get("version", 0))) if item else (None, 0)


def write(table: Table, document: dict[str, Any], version: int) -> bool:
    """Store the document as version + 1, only if `version` is still the stored one. False when it changed meanwhile."""
    try:
        table.put({**keys.settings_doc(), "type": "settings", "document": document, "version": version + 1},
                  condition="attribute_not_exists(pk) OR version = :v", vals={":v": version})
    except ConditionFailed:
        return False
    return True

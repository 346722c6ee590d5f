"""Message templates (WhatsApp): the approved ones, as the last sync found them. One partition per channel."""

from __future__ import annotations

from typing import Any

from switchboard.store import keys
from switchboard.store.table import Table


def _strip(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("pk", "sk", "type")}


def list_all(table: Table, channel: str) -> list[dict[str, Any]]:
    """Every stored template of the channel, by name then language (one Query)."""
    items = table.query_all("pk = :pk AND begins_with(sk, :p)",
                            {":pk": keys.templates_pk(channel), ":p": keys.TEMPLATE_PREFIX})
    return [_strip(i) for i in items]


def get(table: Table, channel: str, name: str, language: str) -> dict[str, Any] | None:
    item = table.get(keys.template(channel, name, language))
    return _strip(item) if item else None


def replace_all(table: Table, channel: str, templates: list[dict[str, Any]], synced_at: str) -> dict[str, int]:
    """Make the stored set exactly `templates`: each one put (a put of an unchanged template changes nothing, so a
    rerun is harmless), those no longer there deleted. Returns counts."""
    stored = {(t["name"], t["language"]): t for t in list_all(table, channel)}
    wanted = {(t["name"], t["language"]): t for t in templates}
    written = 0
    for (name, language), template in wanted.items():
        if stored.get((name, language)) != template:
            table.put({**keys.template(channel, name, language), "type": "template", **template})
            written += 1
    gone = [keys.template(channel, name, language) for name, language in stored if (name, language) not in wanted]
    removed = table.batch_delete(gone) if gone else 0
    table.put({**keys.templates_sync(channel), "type": "templates_sync", "synced_at": synced_at,
               "count": len(wanted)})
    return {"templates": len(wanted), "written": written, "removed": removed}


def last_sync(table: Table, channel: str) -> dict[str, Any] | None:
    item = table.get(keys.templates_sync(channel))
    return _strip(item) if item else None

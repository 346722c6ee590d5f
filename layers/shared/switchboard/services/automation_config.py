"""The admins' automation settings document: stored in the table, defaults from the template, cached briefly.

The document's model (switchboard.automation_settings, pydantic) is imported when settings are first loaded."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from switchboard.errors import BadRequest, Conflict
from switchboard.settings import get_settings
from switchboard.store import settings_doc
from switchboard.store.table import Table

if TYPE_CHECKING:
    from switchboard.automation_settings import AutomationSettings
    from switchboard.channel_names import Channel

_cache: tuple[float, AutomationSettings] | None = None


def _defaults() -> dict[str, Any]:
    """Built-in defaults, then the template's: DefaultRetentionDays and the AutomationDefaults document."""
    from switchboard.automation_settings import defaults, merge

    settings = get_settings()
    base = defaults(settings.default_retention_days).model_dump(mode="json")
    if not settings.automation_defaults.strip():
        return base
    try:
        overrides = json.loads(settings.automation_defaults)
        return merge(base, overrides if isinstance(overrides, dict) else {}).model_dump(mode="json")
    except (ValueError, BadRequest):
        return base  # a broken parameter must not stop the product; the built-in defaults apply


def _effective(document: dict[str, Any] | None) -> AutomationSettings:
    """What admins saved, over the template's defaults."""
    from switchboard.automation_settings import load as from_document
    from switchboard.automation_settings import merge

    try:
        return merge(_defaults(), document or {})
    except BadRequest:  # saved under an older schema: keep every section that still validates
        return from_document(document, get_settings().default_retention_days)


def load(table: Table, fresh: bool = False) -> AutomationSettings:
    global _cache
    if not fresh and _cache and time.monotonic() - _cache[0] < get_settings().settings_cache_seconds:
        return _cache[1]
    document, _ = settings_doc.read(table)
    current = _effective(document)
    _cache = (time.monotonic(), current)
    return current


def save(table: Table, patch: dict[str, Any]) -> AutomationSettings:
    """Merge a partial document into the stored one and validate the whole (BadRequest when invalid)."""
    from switchboard.automation_settings import deep_merge, merge

    global _cache
    document, version = settings_doc.read(table)
    # Only what admins set is stored (their edits, accumulated): what they never touched follows the template.
    edits = deep_merge(document or {}, patch)
    updated = merge(_defaults(), edits)  # validates the whole effective document (BadRequest)
    if not settings_doc.write(table, edits, version):
        raise Conflict("the settings changed meanwhile; reload and try again", code="settings_conflict")
    _cache = None
    from switchboard.store import reports  # reports: the business day follows a new time zone at once

    reports.forget_zone()
    return updated


GRACE_DAYS = 30


def backstop_expiry(table: Table, channel: Channel, start: float) -> int:
    """The TTL backstop of a conversation's items: twice the channel's retention after `start`, plus a grace
    period. TTL deletion lags by days; the retention job deletes on time, this only catches what it missed,
    generously enough that a long-running conversation never loses messages early."""
    retention = load(table).retention
    return backstop_after(retention.channels.get(channel, retention.default_days), start)


def backstop_after(days: int, start: float) -> int:
    """The TTL backstop of an item written at `start` under a retention of `days`, rounded up to the end of its UTC
    day (less than a day later than the exact time, against a grace of GRACE_DAYS): every write of one day sets the
    same value, so a conversation's messages of that day leave its `expires_at` as it was, and the indexes that
    project it without the activity (CreatedIndex) are not written again for each message."""
    return -(-(int(start) + (2 * days + GRACE_DAYS) * 86400) // 86400) * 86400


def forget() -> None:
    global _cache
    _cache = None

"""Snoozing a conversation (issue 14): hidden from the open inbox until a time, when TimersFunction wakes it; a
customer message wakes it at once. The presets are the app's: an hour, tomorrow 9:00 and next Monday 9:00 in the
business time zone (settings business_hours.timezone)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from switchboard import clock, observability
from switchboard.errors import BadRequest
from switchboard.services.automation_config import load as load_settings
from switchboard.store import queue
from switchboard.store.table import Table

if TYPE_CHECKING:
    from switchboard.models import Conversation

PRESETS = ("1h", "tomorrow", "next_week")
MORNING = time(9, 0)


def preset_until(table: Table, preset: str) -> str:
    now = clock.now()
    if preset == "1h":
        return clock.iso(now + timedelta(hours=1))
    zone = load_settings(table).business_hours.zone
    today = now.astimezone(zone).date()
    if preset == "tomorrow":
        day = today + timedelta(days=1)
    elif preset == "next_week":
        day = today + timedelta(days=7 - today.weekday())  # the coming Monday
    else:
        raise BadRequest(f"preset must be one of {', '.join(PRESETS)}", code="invalid_preset")
    return clock.iso(datetime.combine(day, MORNING, tzinfo=zone))


def snooze(table: Table, conv_id: str, until: str | None = None, preset: str | None = None) -> Conversation:
    """Until a time (ISO 8601 with a zone) or a preset: exactly one of them."""
    if (until is None) == (preset is None):
        raise BadRequest("give either until (ISO 8601) or a preset (1h, tomorrow, next_week)", code="invalid_until")
    moment = queue.validate_until(until if until is not None else preset_until(table, preset or ""))
    conv = queue.snooze(table, conv_id, moment)
    observability.count("ConversationsSnoozed")
    from switchboard.services import push  # issue 15: the apps' inboxes

    push.conversation_updated(table, conv, "status")
    return conv

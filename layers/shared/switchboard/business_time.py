"""Counting minutes in business hours (SLA targets, issue 14): the moment a span of open time after a start ends.

Built on business_hours' opening stretches, so time zones, daylight saving changes, overnight intervals and
holidays count as they do for the away message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from switchboard.automation_settings import BusinessHours
from switchboard.business_hours import _local, _occurrences

HORIZON_DAYS = 400  # a schedule open less than this far ahead counts wall-clock time instead (never open at all)


def add_minutes(hours: BusinessHours | None, start: datetime, minutes: float) -> datetime:
    """`start` plus `minutes`, counted only while the business is open (all the time when `hours` is None). A start
    outside business hours begins counting at the next opening."""
    if minutes <= 0:
        return start.astimezone(UTC)
    if hours is None:
        return (start + timedelta(minutes=minutes)).astimezone(UTC)
    left = timedelta(minutes=minutes)
    day = _local(hours, start).date()
    for offset in range(-1, HORIZON_DAYS):
        for opens, closes in sorted(_occurrences(hours, day + timedelta(days=offset))):
            begin = max(opens, start)
            if closes <= begin:
                continue
            if begin + left <= closes:
                return (begin + left).astimezone(UTC)
            left -= closes - begin
    return (start + timedelta(minutes=minutes)).astimezone(UTC)  # no opening hours at all: wall-clock time


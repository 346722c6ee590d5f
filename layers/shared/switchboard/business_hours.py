"""Whether the business is open at a moment, and when it opens next, in the configured time zone.

An interval is one stretch of real time: it opens the first time the local clock reads its start and closes the
first time the clock reads its end. So across daylight saving changes:
- spring forward (the clock skips an hour): 01:30-03:30 is open one real hour, and a start inside the skipped hour
  opens at the moment of the change; an interval wholly inside the skipped hour never opens;
- fall back (the clock repeats an hour): 01:30-03:30 is open three real hours, without a break; an interval that
  lies inside the repeated hour opens once (on its first pass), not twice;
- 09:00-17:00 on either change day is 09:00 to 17:00 by the local clock.
A holiday closes the whole local day. An overnight interval (end before start) belongs to the day it starts: its
tail after midnight is open even when the next day is a holiday, and closed when the day it started is one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from switchboard.automation_settings import MINUTES_PER_DAY, BusinessHours

LOOKAHEAD = timedelta(days=14)


def is_open(hours: BusinessHours, moment: datetime) -> bool:
    """Is the business open at this (aware) moment?"""
    day = _local(hours, moment).date()
    return any(
        opens <= moment < closes
        for offset in (-1, 0, 1)  # yesterday's overnight tail; tomorrow's only where the clock went back over midnight
        for opens, closes in _occurrences(hours, day + timedelta(days=offset))
    )


def next_open(hours: BusinessHours, moment: datetime) -> datetime | None:
    """The earliest moment at or after `moment` when the business is open (`moment` itself when open now), in UTC;
    None if it doesn't open within 14 days."""
    if is_open(hours, moment):
        return moment.astimezone(UTC)
    horizon = moment + LOOKAHEAD
    day = _local(hours, moment).date()
    openings = (
        opens
        for offset in range(-1, LOOKAHEAD.days + 2)
        for opens, _ in _occurrences(hours, day + timedelta(days=offset))
        if moment < opens <= horizon
    )
    return min(openings, default=None)


def local_date(hours: BusinessHours, moment: datetime) -> date:
    """The business's local calendar day at this moment (for "at most once per conversation per local day")."""
    return _local(hours, moment).date()


def _local(hours: BusinessHours, moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("moment must be timezone-aware")
    return moment.astimezone(hours.zone)


def _occurrences(hours: BusinessHours, day: date) -> list[tuple[datetime, datetime]]:
    """The [opens, closes) stretches, in UTC, of the intervals that start on this local day."""
    if day in hours.holidays:
        return []
    zone = hours.zone
    midnight = datetime.combine(day, time())
    stretches = []
    for start, end in hours.days.intervals(day.weekday()):
        finish = end if end > start else end + MINUTES_PER_DAY  # overnight: ends on the next day
        opens = _first_reading(zone, midnight + timedelta(minutes=start))
        closes = _first_reading(zone, midnight + timedelta(minutes=finish))
        if opens < closes:
            stretches.append((opens, closes))
    return stretches


def _first_reading(zone: ZoneInfo, wall: datetime) -> datetime:
    """The first moment (UTC) at which the local clock reads `wall` (naive) or later."""
    early = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    late = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if early <= late:  # an ordinary time, or one the clock reads twice (fall back): its first reading
        return early
    # A skipped time (spring forward): the clock jumps past it at the change, which lies in (late, early].
    low, high = int(late.timestamp()), int(early.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)

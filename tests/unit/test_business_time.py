"""Counting SLA minutes in business hours (issue 14): inside and outside opening hours, weekends, holidays, time
zones across a daylight saving change, overnight intervals, and against a minute-by-minute count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.business_hours import is_open
from switchboard.business_time import add_minutes
from tests.unit.test_business_hours import NINE_TO_FIVE, WEEKDAYS, hours, utc

WEEK = hours(**{d: NINE_TO_FIVE for d in WEEKDAYS[:5]})  # Mon-Fri 09:00-17:00 UTC; 2026-03-02 is a Monday


@pytest.mark.parametrize(("start", "minutes", "due"), [
    (utc(2026, 3, 2, 10, 0), 60, utc(2026, 3, 2, 11, 0)),  # inside hours: plain addition
    (utc(2026, 3, 2, 16, 30), 60, utc(2026, 3, 3, 9, 30)),  # runs over the close: the rest the next morning
    (utc(2026, 3, 2, 17, 0), 30, utc(2026, 3, 3, 9, 30)),  # at the close: counting starts at the next opening
    (utc(2026, 3, 2, 6, 0), 30, utc(2026, 3, 2, 9, 30)),  # before opening
    (utc(2026, 3, 7, 12, 0), 60, utc(2026, 3, 9, 10, 0)),  # Saturday: Monday morning
    (utc(2026, 3, 6, 16, 0), 120, utc(2026, 3, 9, 10, 0)),  # Friday afternoon over the weekend
    (utc(2026, 3, 2, 9, 0), 8 * 60 * 5, utc(2026, 3, 6, 17, 0)),  # a whole working week
])
def test_minutes_count_only_while_open(start, minutes, due):
    assert add_minutes(WEEK, start, minutes) == due


def test_without_business_hours_every_minute_counts():
    assert add_minutes(None, utc(2026, 3, 7, 12, 0), 90) == utc(2026, 3, 7, 13, 30)


def test_a_holiday_is_skipped():
    with_holiday = hours(holidays=("2026-03-09",), **{d: NINE_TO_FIVE for d in WEEKDAYS[:5]})
    assert add_minutes(with_holiday, utc(2026, 3, 6, 16, 0), 120) == utc(2026, 3, 10, 10, 0)


def test_a_time_zone_across_the_spring_change_counts_local_hours():
    riga = hours("Europe/Riga", **{d: NINE_TO_FIVE for d in WEEKDAYS[:5]})  # EU summer time starts 2026-03-29
    # Friday 16:00 local (14:00 UTC, winter) + 2 hours: Monday 10:00 local, which is 07:00 UTC in summer
    assert add_minutes(riga, utc(2026, 3, 27, 14, 0), 120) == utc(2026, 3, 30, 7, 0)


def test_an_overnight_interval_counts_across_midnight():
    nights = hours(**{d: [["22:00", "02:00"]] for d in WEEKDAYS})
    assert add_minutes(nights, utc(2026, 3, 2, 23, 30), 180) == utc(2026, 3, 3, 22, 30)


def test_a_week_that_never_opens_counts_wall_clock_time():
    assert add_minutes(hours(), utc(2026, 3, 2, 10, 0), 60) == utc(2026, 3, 2, 11, 0)


@settings(max_examples=60, deadline=None)
@given(start=st.integers(0, 14 * 24 * 60), minutes=st.integers(1, 600))
def test_the_due_time_is_where_a_minute_by_minute_count_ends(start, minutes):
    moment = utc(2026, 3, 2) + timedelta(minutes=start)
    due = add_minutes(WEEK, moment, minutes)
    counted, cursor = 0, moment
    while counted < minutes:  # minute by minute, the slow way
        if is_open(WEEK, cursor):
            counted += 1
        cursor += timedelta(minutes=1)
    assert due == cursor
    assert due.tzinfo == UTC and isinstance(due, datetime)

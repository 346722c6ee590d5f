"""The TTL backstop of a conversation's items: twice the retention plus a grace period after the write, rounded up to
the end of the UTC day, so that every write of a day sets the same value."""

from __future__ import annotations

from switchboard.services.automation_config import GRACE_DAYS, backstop_after

DAY = 86400


def test_the_backstop_is_never_earlier_than_the_exact_time_and_less_than_a_day_later():
    for start in (0, 1, DAY - 1, DAY, 1_796_392_835, 1_796_392_835.9):
        exact = int(start) + (2 * 10 + GRACE_DAYS) * DAY
        assert exact <= backstop_after(10, start) < exact + DAY
        assert backstop_after(10, start) % DAY == 0


def test_every_write_of_one_utc_day_sets_the_same_backstop():
    midnight = 1_796_342_400  # 2026-12-04T00:00:00Z
    assert midnight % DAY == 0
    values = {backstop_after(30, midnight + s) for s in (1, 3600, 12 * 3600, DAY - 1)}
    assert len(values) == 1
    assert backstop_after(30, midnight + DAY + 1) == values.pop() + DAY  # the next day: the next value

"""Business hours: time zones, daylight saving changes, holidays, overnight intervals and the next opening."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.automation_settings import BusinessHours, WeekSchedule
from switchboard.business_hours import is_open, local_date, next_open

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NINE_TO_FIVE = [["09:00", "17:00"]]


def hours(timezone: str = "UTC", holidays: tuple[str, ...] = (), **days) -> BusinessHours:
    schedule = {day: [] for day in WEEKDAYS} | days
    return BusinessHours.model_validate({"timezone": timezone, "days": schedule, "holidays": list(holidays)})


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def open_between(h: BusinessHours, start: datetime, end: datetime, step: timedelta = timedelta(minutes=5)) -> list:
    """The open stretches, as (first open sample, first closed sample after it), sampling every `step`."""
    stretches, opened, moment = [], None, start
    while moment <= end:
        if is_open(h, moment) and opened is None:
            opened = moment
        elif not is_open(h, moment) and opened is not None:
            stretches.append((opened, moment))
            opened = None
        moment += step
    return stretches


# --- plain weeks and time zones -----------------------------------------------------------------------------------


def test_default_hours_monday_to_friday_nine_to_five_utc():
    h = BusinessHours()

    assert is_open(h, utc(2026, 6, 1, 9, 0))  # a Monday
    assert is_open(h, utc(2026, 6, 5, 16, 59, 59))  # Friday
    assert not is_open(h, utc(2026, 6, 1, 8, 59, 59))
    assert not is_open(h, utc(2026, 6, 1, 17, 0))  # the end is exclusive
    assert not is_open(h, utc(2026, 6, 6, 12, 0))  # Saturday


def test_hours_are_local_to_the_configured_zone():
    kolkata = hours("Asia/Kolkata", mon=NINE_TO_FIVE)  # UTC+05:30

    assert not is_open(kolkata, utc(2026, 6, 1, 3, 29))
    assert is_open(kolkata, utc(2026, 6, 1, 3, 30))
    assert is_open(kolkata, utc(2026, 6, 1, 11, 29))
    assert not is_open(kolkata, utc(2026, 6, 1, 11, 30))


def test_the_local_weekday_counts_not_the_utc_one():
    # 21:00 UTC on Sunday is already Monday 09:00 in Auckland (UTC+12 in June)
    auckland = hours("Pacific/Auckland", mon=NINE_TO_FIVE)

    assert is_open(auckland, utc(2026, 6, 7, 21, 0))
    assert not is_open(auckland, utc(2026, 6, 1, 21, 0))  # Monday UTC, Tuesday in Auckland


def test_a_non_utc_aware_moment_is_accepted_and_a_naive_one_refused():
    h = hours("Europe/Riga", mon=NINE_TO_FIVE)
    riga_nine = datetime(2026, 6, 1, 9, 0, tzinfo=h.zone)

    assert is_open(h, riga_nine)
    assert next_open(h, riga_nine) == riga_nine
    with pytest.raises(ValueError, match="aware"):
        is_open(h, datetime(2026, 6, 1, 9, 0))


def test_empty_days_are_closed_all_day():
    h = hours(mon=NINE_TO_FIVE)

    assert not any(is_open(h, utc(2026, 6, 2) + timedelta(minutes=m)) for m in range(0, 24 * 60, 15))


def test_several_intervals_on_a_day():
    h = hours(mon=[["08:00", "12:00"], ["13:00", "17:30"]])

    assert is_open(h, utc(2026, 6, 1, 11, 59))
    assert not is_open(h, utc(2026, 6, 1, 12, 30))
    assert is_open(h, utc(2026, 6, 1, 13, 0))
    assert is_open(h, utc(2026, 6, 1, 17, 29, 59))
    assert not is_open(h, utc(2026, 6, 1, 17, 30))


def test_24_00_ends_at_midnight_and_joins_the_next_day():
    h = hours(mon=[["20:00", "24:00"]], tue=[["00:00", "04:00"]])

    assert is_open(h, utc(2026, 6, 1, 23, 59, 59, 999999))
    assert is_open(h, utc(2026, 6, 2, 0, 0))
    assert is_open(h, utc(2026, 6, 2, 3, 59))
    assert not is_open(h, utc(2026, 6, 2, 4, 0))
    assert open_between(h, utc(2026, 6, 1), utc(2026, 6, 3)) == [(utc(2026, 6, 1, 20), utc(2026, 6, 2, 4))]


def test_all_day():
    h = hours(sat=[["00:00", "24:00"]])

    assert is_open(h, utc(2026, 6, 6, 0, 0)) and is_open(h, utc(2026, 6, 6, 23, 59))
    assert not is_open(h, utc(2026, 6, 7, 0, 0)) and not is_open(h, utc(2026, 6, 5, 23, 59))


# --- overnight intervals and holidays -----------------------------------------------------------------------------


def test_an_overnight_interval_runs_into_the_next_morning():
    h = hours(fri=[["22:00", "02:00"]])

    assert not is_open(h, utc(2026, 6, 5, 21, 59))
    assert is_open(h, utc(2026, 6, 5, 22, 0))
    assert is_open(h, utc(2026, 6, 6, 1, 59))  # Saturday morning: Friday's tail
    assert not is_open(h, utc(2026, 6, 6, 2, 0))
    assert not is_open(h, utc(2026, 6, 6, 22, 30))  # Saturday has no interval of its own


def test_sunday_night_runs_into_monday_morning():
    h = hours("Europe/Riga", sun=[["23:00", "03:00"]])

    assert is_open(h, datetime(2026, 6, 8, 2, 0, tzinfo=h.zone))  # Monday 02:00 local
    assert not is_open(h, datetime(2026, 6, 8, 3, 0, tzinfo=h.zone))


def test_a_holiday_closes_the_whole_local_day():
    h = hours("America/New_York", holidays=("2026-12-24",), thu=NINE_TO_FIVE, fri=NINE_TO_FIVE)

    assert not is_open(h, datetime(2026, 12, 24, 12, 0, tzinfo=h.zone))  # Thursday, holiday
    assert is_open(h, datetime(2026, 12, 31, 12, 0, tzinfo=h.zone))  # next Thursday
    assert is_open(h, datetime(2026, 12, 25, 12, 0, tzinfo=h.zone))


def test_a_holiday_is_a_local_day_not_a_utc_day():
    # 2026-12-24 in New York runs 05:00 UTC that day to 05:00 UTC the next
    all_day = [["00:00", "24:00"]]
    h = hours("America/New_York", holidays=("2026-12-24",), wed=all_day, thu=all_day, fri=all_day)

    assert is_open(h, utc(2026, 12, 24, 4, 59))  # Wednesday 23:59 local
    assert not is_open(h, utc(2026, 12, 24, 5, 0))
    assert not is_open(h, utc(2026, 12, 25, 4, 59))
    assert is_open(h, utc(2026, 12, 25, 5, 0))


def test_overnight_tail_belongs_to_the_day_it_started():
    # Friday 22:00-02:00; Saturday a holiday: the tail into Saturday is still open
    saturday_holiday = hours(holidays=("2026-06-06",), fri=[["22:00", "02:00"]], sat=[["10:00", "12:00"]])
    assert is_open(saturday_holiday, utc(2026, 6, 6, 1, 0))
    assert not is_open(saturday_holiday, utc(2026, 6, 6, 11, 0))

    # Friday a holiday: neither the evening nor its tail into Saturday
    friday_holiday = hours(holidays=("2026-06-05",), fri=[["22:00", "02:00"]])
    assert not is_open(friday_holiday, utc(2026, 6, 5, 23, 0))
    assert not is_open(friday_holiday, utc(2026, 6, 6, 1, 0))


def test_local_date_is_the_business_day():
    h = hours("Europe/Riga")

    assert local_date(h, utc(2026, 6, 7, 21, 30)) == date(2026, 6, 8)  # 00:30 Monday in Riga (UTC+3)
    assert local_date(h, utc(2026, 6, 7, 20, 59)) == date(2026, 6, 7)
    assert local_date(hours("America/New_York"), utc(2026, 6, 8, 3, 0)) == date(2026, 6, 7)


# --- daylight saving changes --------------------------------------------------------------------------------------
# New York 2026: spring forward Sun Mar 8 at 07:00 UTC (02:00 EST -> 03:00 EDT); fall back Sun Nov 1 at 06:00 UTC
# (02:00 EDT -> 01:00 EST). Riga 2026: spring forward Sun Mar 29 at 01:00 UTC (03:00 EET -> 04:00 EEST); fall back
# Sun Oct 25 at 01:00 UTC (04:00 EEST -> 03:00 EET).


@pytest.mark.parametrize(
    ("timezone", "day", "opens", "closes"),
    [
        ("America/New_York", date(2026, 3, 8), utc(2026, 3, 8, 13), utc(2026, 3, 8, 21)),  # EDT
        ("America/New_York", date(2026, 11, 1), utc(2026, 11, 1, 14), utc(2026, 11, 1, 22)),  # EST
        ("Europe/Riga", date(2026, 3, 29), utc(2026, 3, 29, 6), utc(2026, 3, 29, 14)),  # EEST
        ("Europe/Riga", date(2026, 10, 25), utc(2026, 10, 25, 7), utc(2026, 10, 25, 15)),  # EET
    ],
)
def test_nine_to_five_on_change_days_follows_the_local_clock(timezone, day, opens, closes):
    h = hours(timezone, sun=NINE_TO_FIVE)
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC) - timedelta(hours=6)

    assert open_between(h, start, start + timedelta(hours=36)) == [(opens, closes)]
    assert next_open(h, start) == opens


def test_spring_forward_new_york_early_interval_is_one_real_hour():
    h = hours("America/New_York", sun=[["01:30", "03:30"]])

    # 01:30 EST = 06:30 UTC; the clock skips 02:00-03:00 at 07:00 UTC; 03:30 EDT = 07:30 UTC
    assert open_between(h, utc(2026, 3, 8, 5), utc(2026, 3, 8, 10)) == [(utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7, 30))]


def test_spring_forward_riga_early_interval_closes_when_the_clock_jumps_past_its_end():
    h = hours("Europe/Riga", sun=[["01:30", "03:30"]])

    # 01:30 EET = 23:30 UTC Saturday; at 01:00 UTC the clock jumps from 03:00 to 04:00, past 03:30
    assert open_between(h, utc(2026, 3, 28, 22), utc(2026, 3, 29, 3)) == [(utc(2026, 3, 28, 23, 30), utc(2026, 3, 29, 1, 0))]


def test_a_start_in_the_skipped_hour_opens_at_the_change():
    h = hours("America/New_York", sun=[["02:30", "05:00"]])

    assert not is_open(h, utc(2026, 3, 8, 6, 59, 59))
    assert is_open(h, utc(2026, 3, 8, 7, 0))
    assert next_open(h, utc(2026, 3, 8, 5, 0)) == utc(2026, 3, 8, 7, 0)
    assert not is_open(h, utc(2026, 3, 8, 9, 0))  # 05:00 EDT


def test_an_interval_inside_the_skipped_hour_never_opens_that_day():
    h = hours("America/New_York", sun=[["02:15", "02:45"]])

    assert open_between(h, utc(2026, 3, 8, 5), utc(2026, 3, 8, 10), timedelta(minutes=1)) == []
    assert next_open(h, utc(2026, 3, 8, 5)) == utc(2026, 3, 15, 6, 15)  # next Sunday, 02:15 EDT


def test_fall_back_new_york_early_interval_is_three_real_hours_without_a_break():
    h = hours("America/New_York", sun=[["01:30", "03:30"]])

    # 01:30 EDT = 05:30 UTC, through the repeated hour, to 03:30 EST = 08:30 UTC
    assert open_between(h, utc(2026, 11, 1, 4), utc(2026, 11, 1, 10)) == [(utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 8, 30))]


def test_fall_back_riga_early_interval_closes_the_first_time_the_clock_reads_its_end():
    h = hours("Europe/Riga", sun=[["01:30", "03:30"]])

    # 01:30 EEST = 22:30 UTC Saturday; 03:30 EEST = 00:30 UTC; the repeated 03:00-03:30 EET stays closed
    assert open_between(h, utc(2026, 10, 24, 21), utc(2026, 10, 25, 4)) == [
        (utc(2026, 10, 24, 22, 30), utc(2026, 10, 25, 0, 30))
    ]


def test_an_interval_inside_the_repeated_hour_opens_once():
    h = hours("America/New_York", sun=[["01:10", "01:40"]])

    assert open_between(h, utc(2026, 11, 1, 4), utc(2026, 11, 1, 8), timedelta(minutes=1)) == [
        (utc(2026, 11, 1, 5, 10), utc(2026, 11, 1, 5, 40))
    ]


def test_overnight_interval_across_a_change():
    # Saturday 22:00 to Sunday 04:00 in New York around spring forward: six clock hours, five real ones
    h = hours("America/New_York", sat=[["22:00", "04:00"]])

    assert open_between(h, utc(2026, 3, 7, 20), utc(2026, 3, 8, 12)) == [(utc(2026, 3, 8, 3), utc(2026, 3, 8, 8))]


# --- next_open ----------------------------------------------------------------------------------------------------


def test_next_open_is_now_when_open():
    assert next_open(BusinessHours(), utc(2026, 6, 1, 10, 15)) == utc(2026, 6, 1, 10, 15)


def test_next_open_over_a_weekend():
    assert next_open(BusinessHours(), utc(2026, 6, 5, 17, 0)) == utc(2026, 6, 8, 9, 0)


def test_next_open_later_the_same_day():
    assert next_open(BusinessHours(), utc(2026, 6, 1, 6, 0)) == utc(2026, 6, 1, 9, 0)


def test_next_open_skips_holidays():
    h = hours(holidays=("2026-06-08", "2026-06-09"), mon=NINE_TO_FIVE, tue=NINE_TO_FIVE, wed=NINE_TO_FIVE)

    assert next_open(h, utc(2026, 6, 6)) == utc(2026, 6, 10, 9, 0)


def test_next_open_in_a_zone_returns_utc():
    h = hours("Asia/Kolkata", mon=NINE_TO_FIVE)

    opens = next_open(h, utc(2026, 6, 1, 0, 0))

    assert opens == utc(2026, 6, 1, 3, 30) and opens.tzinfo is UTC


def test_next_open_of_an_overnight_tail_is_its_evening_start():
    h = hours(fri=[["22:00", "02:00"]])

    assert next_open(h, utc(2026, 6, 6, 2, 0)) == utc(2026, 6, 12, 22, 0)


def test_next_open_is_none_when_never_open():
    assert next_open(hours(), utc(2026, 6, 1)) is None


def test_next_open_is_none_beyond_fourteen_days():
    # Only Mondays, and the next two Mondays are holidays: the next opening is 21 days away
    h = hours(holidays=("2026-06-08", "2026-06-15"), mon=NINE_TO_FIVE)

    assert next_open(h, utc(2026, 6, 1, 17, 0)) is None
    assert next_open(h, utc(2026, 6, 8, 9, 0)) == utc(2026, 6, 22, 9, 0)  # exactly 14 days


# --- properties ---------------------------------------------------------------------------------------------------

ZONES = [
    "UTC", "Europe/Riga", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Chatham",
    "America/Santiago", "Europe/London", "Pacific/Apia", "America/St_Johns",
]  # fmt: skip
FIXED_OFFSET_ZONES = ["UTC", "Asia/Kolkata", "Asia/Kathmandu", "Etc/GMT+5"]


@st.composite
def schedules(draw) -> dict:
    """A week of non-overlapping intervals, some overnight and some ending at 24:00, on a 15-minute grid."""
    week = 7 * 24 * 4
    points = sorted(draw(st.sets(st.integers(0, week - 1), max_size=12)))
    days: dict = {day: [] for day in WEEKDAYS}
    for first, last in zip(points[::2], points[1::2], strict=False):
        start, end = first * 15, last * 15
        if end - start >= 24 * 60:
            continue
        weekday, start_of_day = divmod(start, 24 * 60)
        end_of_day = end - weekday * 24 * 60

        def clock(minutes: int) -> str:
            return f"{minutes // 60:02d}:{minutes % 60:02d}"

        finish = "24:00" if end_of_day == 24 * 60 else clock(end_of_day % (24 * 60))
        days[WEEKDAYS[weekday]].append([clock(start_of_day), finish])
    return days


moments = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC))
holiday_lists = st.lists(st.dates(min_value=date(2024, 1, 1), max_value=date(2031, 1, 31)), max_size=4)


@settings(max_examples=200, deadline=None)
@given(
    schedule=schedules(),
    timezone=st.sampled_from(ZONES),
    holidays=holiday_lists,
    moment=moments,
    near_holiday=st.booleans(),
)
def test_next_open_agrees_with_is_open(schedule, timezone, holidays, moment, near_holiday):
    if near_holiday:  # make holidays matter: one on the moment's own local day or the next
        holidays = [*holidays, (moment + timedelta(days=len(holidays) % 2)).date()]
    h = BusinessHours(timezone=timezone, days=WeekSchedule.model_validate(schedule), holidays=holidays)

    opens = next_open(h, moment)

    if is_open(h, moment):
        assert opens == moment
        return
    if opens is None:
        samples = [moment + timedelta(minutes=97 * i) for i in range(14 * 24 * 60 // 97)]
        assert not any(is_open(h, sample) for sample in samples)
        return
    assert moment < opens <= moment + timedelta(days=14)
    assert is_open(h, opens)
    assert not is_open(h, opens - timedelta(microseconds=1))
    gap = opens - moment
    assert not any(is_open(h, moment + gap * i / 50) for i in range(50))


@settings(max_examples=200, deadline=None)
@given(schedule=schedules(), timezone=st.sampled_from(FIXED_OFFSET_ZONES), holidays=holiday_lists, moment=moments)
def test_without_daylight_saving_is_open_is_plain_wall_clock_membership(schedule, timezone, holidays, moment):
    h = BusinessHours(timezone=timezone, days=WeekSchedule.model_validate(schedule), holidays=holidays)
    local = moment.astimezone(h.zone)
    now = local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60
    today, yesterday = local.date(), local.date() - timedelta(days=1)

    expected = any(
        (start <= now < end) if end > start else now >= start
        for start, end in (h.days.intervals(today.weekday()) if today not in h.holidays else [])
    ) or any(
        end < start and now < end
        for start, end in (h.days.intervals(yesterday.weekday()) if yesterday not in h.holidays else [])
    )

    assert is_open(h, moment) == expected

"""services/survey_answers.py: which answers count, which a link scanner's clicks are held, and that the CSAT
counters follow the survey's counted rating exactly, whatever the sequence of clicks and form posts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard import clock
from switchboard.errors import BadRequest
from switchboard.services.survey_answers import BURST_SECONDS, HOLD_SECONDS, Decision, decide, parse_rating

SENT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def record() -> dict[str, Any]:
    return {"pk": "CONV#c", "sk": "SURVEY#r", "state": "sent", "sent_at": clock.iso(SENT)}


def at(seconds: float) -> datetime:
    return SENT + timedelta(seconds=seconds)


def apply(item: dict[str, Any], decision: Decision, totals: dict[str, int]) -> dict[str, Any]:
    """What store/surveys.answer writes, and what metrics.record adds."""
    item = {k: v for k, v in item.items() if k not in decision.remove_fields}
    item |= decision.set_fields
    item["version"] = item.get("version", 0) + 1
    for counters in decision.deltas.values():
        for name, value in counters.items():
            totals[name] = totals.get(name, 0) + value
    return item


@pytest.mark.parametrize("raw", ["1", "2", "3", "4", "5"])
def test_a_rating_is_one_ascii_digit(raw):
    assert parse_rating(raw) == int(raw)


@pytest.mark.parametrize("raw", [None, "", "0", "6", "²", "٣", "\uff15", "05", "5 ", "1,2", "9" * 5000, "five"])
def test_anything_else_is_invalid_rating(raw):
    with pytest.raises(BadRequest) as refused:
        parse_rating(raw)
    assert refused.value.code == "invalid_rating"


def test_a_click_soon_after_the_email_is_held_not_counted():
    decision = decide(record(), 5, "link", at(HOLD_SECONDS - 1))
    assert decision.outcome == "held" and decision.deltas == {} and decision.counted is None
    assert decision.set_fields["provisional"] == 5


def test_the_page_form_counts_even_then_and_replaces_the_held_answer():
    totals: dict[str, int] = {}
    item = apply(record(), decide(record(), 5, "link", at(10)), totals)
    confirmed = decide(item, 4, "page", at(20))
    assert confirmed.outcome == "counted" and confirmed.counted == 4 and "provisional" in confirmed.remove_fields
    apply(item, confirmed, totals)
    assert totals == {"csat_n": 1, "csat_sum": 4, "csat_45": 1}


def test_a_later_click_counts_once_and_the_same_click_again_changes_nothing():
    totals: dict[str, int] = {}
    first = decide(record(), 3, "link", at(3600))
    item = apply(record(), first, totals)
    again = decide(item, 3, "link", at(3605))
    assert again.outcome == "unchanged" and again.deltas == {}
    apply(item, again, totals)
    assert totals == {"csat_n": 1, "csat_sum": 3, "csat_45": 0}


def test_a_changed_answer_moves_the_counts_on_the_day_first_counted():
    totals: dict[str, int] = {}
    item = apply(record(), decide(record(), 2, "link", at(3600)), totals)
    later = decide(item, 5, "link", at(3 * 86400))  # days later: still the same survey, counted on its first day
    assert later.outcome == "counted" and list(later.deltas) == [clock.iso(at(3600))[:10]]
    apply(item, later, totals)
    assert totals == {"csat_n": 1, "csat_sum": 5, "csat_45": 1}


def test_a_scanner_following_every_link_counts_nothing_and_the_customer_decides_later():
    totals: dict[str, int] = {}
    item = record()
    for n, rating in enumerate((1, 2, 3, 4, 5)):  # an hour after sending, each link within a second
        item = apply(item, decide(item, rating, "link", at(3600 + n * 0.3)), totals)
    assert totals.get("csat_n", 0) == 0 and totals.get("csat_sum", 0) == 0 and "rating" not in item
    assert item["provisional"] == 5
    item = apply(item, decide(item, 4, "link", at(3600 + BURST_SECONDS + 30)), totals)
    assert item["rating"] == 4 and "provisional" not in item
    assert totals == {"csat_n": 1, "csat_sum": 4, "csat_45": 1}


def test_a_burst_does_not_withdraw_what_the_customer_confirmed_on_the_page():
    totals: dict[str, int] = {}
    item = apply(record(), decide(record(), 4, "page", at(3600)), totals)
    item = apply(item, decide(item, 1, "link", at(3601)), totals)
    item = apply(item, decide(item, 2, "link", at(3602)), totals)  # a burst of clicks after the confirmation
    assert item["rating"] == 4 and totals == {"csat_n": 1, "csat_sum": 4, "csat_45": 1}


def test_a_rating_stored_before_answers_could_change_is_replaced_on_its_own_day():
    old = {**record(), "rating": 2, "answered_at": clock.iso(at(600))}  # no version, no counted_day
    decision = decide(old, 5, "link", at(86400 * 2))
    assert decision.deltas == {clock.iso(at(600))[:10]: {"csat_sum": 3, "csat_45": 1}}


answers = st.lists(st.tuples(st.integers(1, 5), st.sampled_from(["link", "link", "page"]),
                             st.floats(min_value=0, max_value=7200)), min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(answers)
def test_the_counters_always_equal_the_counted_rating_whatever_the_clicks(sequence):
    """Never double counted, never left behind: n is 1 exactly while a rating counts, and the sums are its own."""
    totals: dict[str, int] = {}
    item, elapsed = record(), 0.0
    for rating, source, gap in sequence:
        elapsed += gap
        decision = decide(item, rating, source, at(elapsed))
        item = apply(item, decision, totals)
        counted = item.get("rating")
        assert decision.counted == counted
        assert totals.get("csat_n", 0) == (1 if counted else 0)
        assert totals.get("csat_sum", 0) == (counted or 0)
        assert totals.get("csat_45", 0) == (1 if counted and counted >= 4 else 0)
        if source == "page":
            assert counted == rating  # the customer's own form always counts

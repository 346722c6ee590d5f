"""The automation settings document: defaults, partial merges, and validation errors that name the field."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from switchboard import automation_settings
from switchboard.automation_settings import AutomationSettings, defaults, load, merge, retention_days, validate
from switchboard.errors import BadRequest


def current() -> dict:
    return defaults(365).model_dump(mode="json")


def rejected(patch: dict) -> str:
    with pytest.raises(BadRequest) as caught:
        merge(current(), patch)
    assert caught.value.code == "invalid_settings"
    assert caught.value.status == 400
    return caught.value.message


# --- defaults -----------------------------------------------------------------------------------------------------


def test_defaults_are_valid_and_match_the_contract_shape():
    settings = defaults(180)

    document = settings.model_dump(mode="json")
    assert set(document) >= {"greeting", "away", "business_hours", "auto_reply", "survey", "retention", "sla",
                             "help_center"}  # help center: its look
    assert document["inboxes"] == {"accept_new": False}  # issue 14: unknown business addresses are ignored
    assert {"enabled", "text"} <= set(document["greeting"]) and {"enabled", "text"} <= set(document["away"])
    assert set(document["business_hours"]) == {"timezone", "days", "holidays"}
    assert {"enabled", "after_minutes", "text"} <= set(document["auto_reply"])
    assert {"enabled", "delay_minutes"} <= set(document["survey"])
    assert set(document["retention"]) == {"default_days", "channels", "audit_days"}  # audit_days: growth
    assert {"enabled", "first_response_minutes", "next_response_minutes", "resolution_minutes",
            "business_hours_only"} <= set(document["sla"]) and document["sla"]["enabled"] is False  # issue 14
    assert document["business_hours"]["days"] == {
        "mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]], "wed": [["09:00", "17:00"]],
        "thu": [["09:00", "17:00"]], "fri": [["09:00", "17:00"]], "sat": [], "sun": [],
    }  # fmt: skip
    assert document["business_hours"]["timezone"] == "UTC"
    assert settings.greeting.enabled and settings.away.enabled and settings.auto_reply.enabled and settings.survey.enabled
    assert settings.auto_reply.after_minutes == 15
    assert settings.survey.delay_minutes == 60
    assert settings.survey.expires_days == 14
    assert settings.away.min_minutes_since_agent == 5
    assert settings.retention.default_days == 180
    assert settings.retention.channels == {}


def test_a_dumped_document_validates_back_to_the_same_settings():
    settings = defaults(90)

    assert validate(settings.model_dump(mode="json")) == settings
    assert merge(settings.model_dump(mode="json"), {}) == settings


def test_zoneinfo_database_is_available():
    # The tz database must ship with the layer (tzdata); otherwise no time zone, not even UTC, validates.
    assert {"UTC", "Europe/Riga", "America/New_York"} <= automation_settings._zones()


# --- merge --------------------------------------------------------------------------------------------------------


def test_merge_changes_one_nested_field_and_keeps_the_rest():
    # Given the current document with a per-channel retention and a custom greeting
    base = merge(current(), {"greeting": {"text": "Hello there"}, "retention": {"channels": {"whatsapp": 90}}})
    document = base.model_dump(mode="json")
    snapshot = repr(document)

    # When one nested field changes
    merged = merge(document, {"auto_reply": {"after_minutes": 30}, "retention": {"channels": {"sms": 30}}})

    # Then only that field changes, siblings are kept, and the inputs are untouched
    assert merged.auto_reply.after_minutes == 30
    assert merged.auto_reply.text == base.auto_reply.text and merged.auto_reply.enabled
    assert merged.greeting.text == "Hello there"
    assert merged.retention.channels == {"whatsapp": 90, "sms": 30}
    assert merged.business_hours == base.business_hours
    assert repr(document) == snapshot


def test_merge_replaces_lists_and_scalars():
    merged = merge(
        current(),
        {"business_hours": {"timezone": "Europe/Riga", "days": {"mon": [["08:00", "12:00"], ["13:00", "18:00"]]}}},
    )

    assert merged.business_hours.timezone == "Europe/Riga"
    assert merged.business_hours.days.mon == [("08:00", "12:00"), ("13:00", "18:00")]
    assert merged.business_hours.days.tue == [("09:00", "17:00")]


def test_merge_onto_an_empty_document_fills_defaults():
    merged = merge({}, {"away": {"enabled": False}})

    assert merged.away.enabled is False
    assert merged.greeting == AutomationSettings().greeting


def test_null_removes_a_channel_retention_override():
    document = merge(current(), {"retention": {"channels": {"whatsapp": 90, "email": 30}}}).model_dump(mode="json")

    merged = merge(document, {"retention": {"channels": {"whatsapp": None}}})

    assert merged.retention.channels == {"email": 30}


def test_null_resets_an_optional_field():
    document = merge(current(), {"greeting": {"after_inactive_days": 30}}).model_dump(mode="json")

    assert merge(document, {"greeting": {"after_inactive_days": None}}).greeting.after_inactive_days is None


def test_holidays_are_deduplicated_and_sorted():
    merged = merge(current(), {"business_hours": {"holidays": ["2026-12-25", "2026-12-24", "2026-12-25"]}})

    assert merged.business_hours.holidays == [date(2026, 12, 24), date(2026, 12, 25)]
    assert merged.model_dump(mode="json")["business_hours"]["holidays"] == ["2026-12-24", "2026-12-25"]


def test_numbers_from_dynamodb_decimals_are_accepted():
    stored = current()
    stored["auto_reply"]["after_minutes"] = Decimal("20")
    stored["retention"]["channels"] = {"whatsapp": Decimal("90")}

    merged = merge(stored, {})

    assert merged.auto_reply.after_minutes == 20 and merged.retention.channels == {"whatsapp": 90}


def test_overnight_and_24_00_intervals_are_accepted():
    merged = merge(
        current(),
        {"business_hours": {"days": {
            "fri": [["09:00", "17:00"], ["22:00", "02:00"]],
            "sat": [["02:00", "06:00"], ["20:00", "24:00"]],
            "sun": [["00:00", "24:00"]],
            "mon": [["00:00", "24:00"]],
        }}},
    )  # fmt: skip

    assert merged.business_hours.days.fri[1] == ("22:00", "02:00")


def test_retention_days_per_channel_with_default():
    settings = merge(current(), {"retention": {"default_days": 400, "channels": {"whatsapp": 90}}})

    assert retention_days(settings, "whatsapp") == 90
    assert retention_days(settings, "email") == 400


def test_load_fills_missing_sections_and_falls_back_per_invalid_section():
    # Given a stored document from an older schema: one section no longer valid, one field edited
    stored = {"greeting": {"text": "Welcome", "obsolete": True}, "auto_reply": {"after_minutes": 45}}

    settings = load(stored, 200)

    assert settings.auto_reply.after_minutes == 45
    assert settings.greeting == AutomationSettings().greeting
    assert settings.retention.default_days == 200
    assert load(None, 30) == defaults(30)


# --- validation errors --------------------------------------------------------------------------------------------


def test_unknown_time_zone():
    message = rejected({"business_hours": {"timezone": "Mars/Base"}})

    assert message.startswith("business_hours.timezone:")
    assert "Mars/Base" in message and "time zone" in message


@pytest.mark.parametrize("zone", ["", "../etc/passwd", "/etc/localtime", "europe/riga"])
def test_malformed_time_zones(zone):
    assert "business_hours.timezone" in rejected({"business_hours": {"timezone": zone}})


def test_unknown_weekday():
    message = rejected({"business_hours": {"days": {"funday": [["09:00", "17:00"]]}}})

    assert message.startswith("business_hours.days:")
    assert "funday" in message and "mon, tue" in message


@pytest.mark.parametrize("bad", ["25:00", "9:00", "09:60", "24:01", "noon", "09:00:00", ""])
def test_bad_times(bad):
    message = rejected({"business_hours": {"days": {"tue": [["08:00", "12:00"], [bad, "17:00"]]}}})

    assert message.startswith("business_hours.days.tue[1]:")
    assert repr(bad) in message and "HH:MM" in message


def test_24_00_is_only_an_end():
    message = rejected({"business_hours": {"days": {"mon": [["24:00", "09:00"]]}}})

    assert "business_hours.days.mon[0]" in message and "24:00 only as an end" in message


def test_interval_whose_end_equals_its_start():
    message = rejected({"business_hours": {"days": {"mon": [["09:00", "09:00"]]}}})

    assert "business_hours.days.mon[0]" in message and "empty" in message


@pytest.mark.parametrize("interval", [["09:00"], ["09:00", "12:00", "17:00"], "09:00-17:00", [9, 17]])
def test_malformed_intervals(interval):
    message = rejected({"business_hours": {"days": {"mon": [interval]}}})

    assert "business_hours.days.mon[0]" in message and "pair of times" in message


def test_overlapping_intervals_on_one_day():
    message = rejected({"business_hours": {"days": {"wed": [["09:00", "12:00"], ["11:30", "17:00"]]}}})

    assert message.startswith("business_hours.days:")
    assert "wed[0] 09:00-12:00 overlaps wed[1] 11:30-17:00" in message


def test_touching_intervals_do_not_overlap():
    merged = merge(current(), {"business_hours": {"days": {"wed": [["09:00", "12:00"], ["12:00", "17:00"]]}}})

    assert len(merged.business_hours.days.wed) == 2


def test_overnight_interval_overlapping_the_next_days_first_interval():
    message = rejected({"business_hours": {"days": {"tue": [["22:00", "10:00"]], "wed": [["09:00", "17:00"]]}}})

    assert "tue[0] 22:00-10:00 overlaps wed[0] 09:00-17:00" in message


def test_sunday_overnight_interval_running_into_monday():
    message = rejected({"business_hours": {"days": {"sun": [["20:00", "09:30"]]}}})

    assert "sun[0] 20:00-09:30 runs into mon[0] 09:00-17:00" in message


def test_overnight_interval_overlapping_on_its_own_day():
    message = rejected({"business_hours": {"days": {"mon": [["09:00", "17:00"], ["16:00", "01:00"]]}}})

    assert "overlaps" in message


@pytest.mark.parametrize("holiday", ["2026-13-01", "2026-02-30", "24.12.2026", "20261224", 20261224, ""])
def test_bad_holidays(holiday):
    message = rejected({"business_hours": {"holidays": ["2026-12-24", holiday]}})

    assert message.startswith("business_hours.holidays[1]:")
    assert "YYYY-MM-DD" in message


def test_unknown_channel_in_retention():
    message = rejected({"retention": {"channels": {"fax": 30}}})

    assert message.startswith("retention.channels:")
    assert "'fax'" in message and "whatsapp" in message


def test_unknown_fields_are_rejected_at_every_level():
    assert rejected({"greting": {"enabled": True}}) == "greting: unknown field"
    assert rejected({"survey": {"delay": 5}}) == "survey.delay: unknown field"


@pytest.mark.parametrize(
    ("patch", "path"),
    [
        ({"auto_reply": {"after_minutes": 0}}, "auto_reply.after_minutes"),
        ({"auto_reply": {"after_minutes": 1441}}, "auto_reply.after_minutes"),
        ({"auto_reply": {"after_minutes": 1.5}}, "auto_reply.after_minutes"),
        ({"survey": {"delay_minutes": -1}}, "survey.delay_minutes"),
        ({"survey": {"delay_minutes": 10081}}, "survey.delay_minutes"),
        ({"survey": {"expires_days": 0}}, "survey.expires_days"),
        ({"retention": {"default_days": 0}}, "retention.default_days"),
        ({"retention": {"default_days": 3651}}, "retention.default_days"),
        ({"retention": {"channels": {"whatsapp": 3651}}}, "retention.channels.whatsapp"),
        ({"retention": {"channels": {"sms": 0}}}, "retention.channels.sms"),
        ({"away": {"min_minutes_since_agent": -1}}, "away.min_minutes_since_agent"),
        ({"greeting": {"after_inactive_days": 0}}, "greeting.after_inactive_days"),
    ],
)
def test_out_of_range_numbers(patch, path):
    assert rejected(patch).startswith(f"{path}:")


@pytest.mark.parametrize("section", ["greeting", "away", "auto_reply"])
@pytest.mark.parametrize("text", ["", "   ", "x" * 1001])
def test_texts_are_1_to_1000_characters(section, text):
    assert rejected({section: {"text": text}}).startswith(f"{section}.text:")


def test_a_thousand_character_text_is_fine():
    assert merge(current(), {"away": {"text": "x" * 1000}}).away.text == "x" * 1000


def test_wrong_types_name_the_field():
    assert rejected({"greeting": "hello"}) == "greeting: expected an object"
    assert rejected({"greeting": {"enabled": "perhaps"}}).startswith("greeting.enabled:")
    assert rejected({"business_hours": {"days": {"mon": "09:00-17:00"}}}).startswith("business_hours.days.mon:")


def test_several_problems_are_reported_together():
    message = rejected({"auto_reply": {"after_minutes": 0}, "survey": {"delay_minutes": -1}})

    assert "auto_reply.after_minutes" in message and "survey.delay_minutes" in message


def test_a_patch_that_is_not_an_object():
    with pytest.raises(BadRequest) as caught:
        merge(current(), ["greeting"])  # type: ignore[arg-type]

    assert caught.value.code == "invalid_settings"


# --- the live workspace (issue 15) ----------------------------------------------------------------------------------
def test_customer_indicators_are_on_by_default_and_can_be_turned_off():
    assert defaults(180).live.customer_indicators is True
    off = merge(defaults(180).model_dump(mode="json"), {"live": {"customer_indicators": False}})
    assert off.live.customer_indicators is False
    with pytest.raises(BadRequest):
        merge(defaults(180).model_dump(mode="json"), {"live": {"typing": True}})

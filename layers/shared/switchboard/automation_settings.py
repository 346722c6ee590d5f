"""The admin-editable automation settings document (greeting, away, business hours, auto-reply, survey, retention).

Defaults come from here plus the template's DefaultRetentionDays; `merge` applies a partial `PUT /api/settings`.
"""

from __future__ import annotations

import copy
import re
from datetime import date
from functools import cache
from itertools import pairwise
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from switchboard.channel_names import CHANNELS, Channel
from switchboard.errors import BadRequest

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
MAX_INTERVALS_PER_DAY = 12
MAX_HOLIDAYS = 1000

_TIME = re.compile(r"^(\d{2}):(\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- field types --------------------------------------------------------------------------------------------------


def _check_text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


Text = Annotated[str, Field(min_length=1, max_length=1000), AfterValidator(_check_text)]
RetentionDays = Annotated[int, Field(ge=1, le=3650)]


def parse_time(text: str, *, end: bool = False) -> int:
    """Minutes since local midnight of an "HH:MM" time; "24:00" is allowed only as an interval's end."""
    match = _TIME.match(text) if isinstance(text, str) else None
    hours, minutes = (int(match.group(1)), int(match.group(2))) if match else (-1, -1)
    if end and (hours, minutes) == (24, 0):
        return MINUTES_PER_DAY
    if not 0 <= hours <= 23 or not 0 <= minutes <= 59:
        raise ValueError(f"{text!r} is not a time: use HH:MM from 00:00 to 23:59 (24:00 only as an end)")
    return hours * 60 + minutes


def _interval(value: Any) -> tuple[str, str]:
    if not isinstance(value, list | tuple) or len(value) != 2 or not all(isinstance(v, str) for v in value):
        raise ValueError('an interval is a pair of times, e.g. ["09:00", "17:00"]')
    start, end = value
    if parse_time(start) == parse_time(end, end=True):
        raise ValueError(f"{start}-{end} is empty: the end must differ from the start (use 00:00-24:00 for all day)")
    return start, end


Interval = Annotated[tuple[str, str], BeforeValidator(_interval)]


def _holiday(value: Any) -> Any:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date: use YYYY-MM-DD")


def _unique_sorted(days: list[date]) -> list[date]:
    return sorted(set(days))


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _timezone(value: Any) -> str:
    if not isinstance(value, str) or value not in _zones():
        raise ValueError(f"unknown time zone {value!r}: use an IANA name such as Europe/Riga or America/New_York")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError) as error:
        raise ValueError(f"unknown time zone {value!r}") from error
    return value


def _channel_days(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    unknown = [key for key in value if key not in CHANNELS]
    if unknown:
        raise ValueError(f"unknown channel {unknown[0]!r}: use {', '.join(CHANNELS)}")
    # null removes a channel's override (a merge can't otherwise take a key out of a dict).
    return {key: days for key, days in value.items() if days is not None}


# --- sections -----------------------------------------------------------------------------------------------------


class GreetingSettings(_Section):
    enabled: bool = True
    text: Text = "Hi! Thanks for getting in touch. An agent will be with you shortly."
    after_inactive_days: int | None = Field(
        None, ge=1, le=3650, description="greet again after this many days without a message; null: first message only"
    )


class AwaySettings(_Section):
    enabled: bool = True
    text: Text = "Thanks for your message. We're closed right now; we'll reply as soon as we're back."
    min_minutes_since_agent: int = Field(
        5, ge=0, le=1440, description="no away message when an agent answered within this many minutes"
    )


class WeekSchedule(_Section):
    """Opening intervals per weekday, local wall-clock times; an end before its start runs over midnight."""

    mon: list[Interval] = Field(default_factory=lambda: [("09:00", "17:00")], max_length=MAX_INTERVALS_PER_DAY)
    tue: list[Interval] = Field(default_factory=lambda: [("09:00", "17:00")], max_length=MAX_INTERVALS_PER_DAY)
    wed: list[Interval] = Field(default_factory=lambda: [("09:00", "17:00")], max_length=MAX_INTERVALS_PER_DAY)
    thu: list[Interval] = Field(default_factory=lambda: [("09:00", "17:00")], max_length=MAX_INTERVALS_PER_DAY)
    fri: list[Interval] = Field(default_factory=lambda: [("09:00", "17:00")], max_length=MAX_INTERVALS_PER_DAY)
    sat: list[Interval] = Field(default_factory=list, max_length=MAX_INTERVALS_PER_DAY)
    sun: list[Interval] = Field(default_factory=list, max_length=MAX_INTERVALS_PER_DAY)

    @model_validator(mode="before")
    @classmethod
    def _known_weekdays(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in data:
                if key not in WEEKDAYS:
                    raise ValueError(f"unknown weekday {key!r}: use {', '.join(WEEKDAYS)}")
        return data

    def intervals(self, weekday: int) -> list[tuple[int, int]]:
        """(start, end) in minutes for weekday 0 (Monday) to 6; end <= start means it ends the next day."""
        return [(parse_time(start), parse_time(end, end=True)) for start, end in getattr(self, WEEKDAYS[weekday])]

    @model_validator(mode="after")
    def _no_overlap(self) -> WeekSchedule:
        week = 7 * MINUTES_PER_DAY
        spans = []  # (start, end, label) in minutes since Monday 00:00; an overnight end spills past its day
        for weekday, name in enumerate(WEEKDAYS):
            for index, (start, end) in enumerate(self.intervals(weekday)):
                base = weekday * MINUTES_PER_DAY
                stop = base + end + (MINUTES_PER_DAY if end <= start else 0)
                text = getattr(self, name)[index]
                spans.append((base + start, stop, f"{name}[{index}] {text[0]}-{text[1]}"))
        spans.sort()
        for (_, end, label), (start, _, other) in pairwise(spans):
            if end > start:
                raise ValueError(f"{label} overlaps {other}")
        if len(spans) > 1 and spans[-1][1] - week > spans[0][0]:
            raise ValueError(f"{spans[-1][2]} runs into {spans[0][2]}")
        return self


class BusinessHours(_Section):
    timezone: Annotated[str, BeforeValidator(_timezone)] = "UTC"
    days: WeekSchedule = Field(default_factory=WeekSchedule)
    holidays: Annotated[
        list[Annotated[date, BeforeValidator(_holiday)]], Field(max_length=MAX_HOLIDAYS), AfterValidator(_unique_sorted)
    ] = Field(default_factory=list, description="whole local days closed, YYYY-MM-DD")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class AutoReplySettings(_Section):
    enabled: bool = True
    after_minutes: int = Field(15, ge=1, le=1440, description="no agent answer this long after a customer message")
    text: Text = "We got your message. An agent will reply as soon as possible."


class SurveyPageSettings(_Section):
    """Every word of the pages a rating link opens, so that they can be in the customers' language too."""

    language: Annotated[str, Field(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")] = Field(
        "en", description="the pages' language tag (html lang)")
    thanks_title: Text = "Thank you!"
    thanks_text: Text = "Thank you for your feedback."
    already_rated: Text = "We had already received this rating."
    comment_prompt: Text = "Anything to add? (optional)"
    comment_button: Text = "Send"
    comment_thanks: Text = "Your comment was recorded."
    sorry_title: Text = "Sorry"
    invalid_link: Text = "This survey link is not valid."
    expired_link: Text = "This survey link has expired."
    gone: Text = "This survey is no longer available."
    invalid_rating: Text = "The rating must be 1 to 5."
    comment_refused: Text = "A comment was already recorded, or there is no rating yet."
    unavailable: Text = "Something went wrong on our side. Please try the link again later."
    # Answers that can change, and scanners' clicks held (issue 11: services/survey_answers.py), and rate limits.
    confirm_prompt: Text = "Please confirm your rating by choosing it below."
    change_prompt: Text = "Changed your mind? Choose another rating:"
    rating_saved: Text = "Your rating was recorded."
    rate_limited: Text = "Too many requests from your network. Please try again in a few minutes."


class SurveySettings(_Section):
    enabled: bool = True
    delay_minutes: int = Field(60, ge=0, le=10080, description="after the conversation is resolved (and not reopened)")
    expires_days: int = Field(14, ge=1, le=365, description="how long the rating links work")
    subject: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_check_text)] = "How did we do?"
    text: Text = "Thanks for contacting us. How would you rate the help you received?"
    # Every other word of the email, so that it can be written in the customers' language.
    hello: Text = Field("Hello", description="the salutation, followed by the contact's name when known")
    rating_prompt: Text = "Choose a rating (1 = poor, 5 = excellent):"
    closing: Text = "Thank you!"
    page: SurveyPageSettings = Field(default_factory=SurveyPageSettings)
    # Rich replies (issue 13): the rating question in the customer's own channel, for contacts without an email.
    in_channel: bool = Field(False, description="a resolved conversation whose contact has no email gets the rating "
                             "question in its own channel (buttons, a list, quick replies, an inline keyboard; SMS: "
                             "reply 1 to 5) while the channel's window allows it")
    in_channel_text: Text = "Thanks for contacting us. How would you rate the help you received?"
    in_channel_sms_text: Text = Field("Thanks for contacting us. How would you rate the help you received? Reply with "
                                      "a number from 1 (poor) to 5 (excellent).",
                                      description="SMS has no buttons: the question says how to answer")
    rating_labels: Annotated[list[Annotated[str, Field(min_length=1, max_length=16)]],
                             Field(min_length=5, max_length=5)] = Field(
        ["Poor", "Fair", "Good", "Very good", "Excellent"], description="the words beside ratings 1 to 5 on buttons")
    in_channel_button: Annotated[str, Field(min_length=1, max_length=20)] = Field(
        "Rate us", description="what opens the list of ratings (WhatsApp)")
    in_channel_thanks: Text = Field("Thank you for your rating! Anything to add? Just write it here.",
                                    description="sent after an answer in the channel; what the customer writes next, "
                                    "within comment_minutes, is kept as the rating's comment")
    whatsapp_template: Annotated[str, Field(pattern=r"^$|^[a-z0-9_]{1,512}:[A-Za-z]{2,3}(_[A-Za-z0-9]{2,4})?$")] = \
        Field("", description="past WhatsApp's 24-hour window, the question goes out as this approved template "
              "('name:language'): a body without variables and five quick-reply buttons, ratings 1 to 5 in order "
              "(empty: no question past the window)")
    comment_minutes: int = Field(30, ge=0, le=1440, description="how long after an in-channel rating a message is "
                                                                "taken as its comment (0: no comment)")


class RetentionSettings(_Section):
    default_days: RetentionDays = 365
    channels: Annotated[dict[Channel, RetentionDays], BeforeValidator(_channel_days)] = Field(
        default_factory=dict, description="per-channel override in days; null removes an override"
    )
    audit_days: int = Field(400, ge=30, le=3650, description="how long the audit log keeps agents' and admins' "
                                                             "actions (and the jobs' records)")


class InboxSettings(_Section):
    """Inboxes (issue 14, and issue 11's unknown owners): events for a business address that is not an inbox are
    ignored and counted. The channel's first address is adopted (trust on first use); the Telegram bot, the default
    web chat widget and every address of the mail domains are inboxes anyway."""

    accept_new: bool = Field(False, description="every new business address becomes an inbox on its first event")
# -- SLA targets (issue 14) -----------------------------------------------------------------------------------------
SLA_MINUTES_MAX = 366 * 24 * 60
SlaMinutes = Annotated[int, Field(ge=1, le=SLA_MINUTES_MAX)]
SLA_PRIORITIES = ("urgent", "high", "normal", "low")


class SlaTargets(_Section):
    """One priority's own targets; a target left out (or null) is the general one."""

    first_response_minutes: SlaMinutes | None = None
    next_response_minutes: SlaMinutes | None = None
    resolution_minutes: SlaMinutes | None = None


def _priority_targets(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    unknown = [key for key in value if key not in SLA_PRIORITIES]
    if unknown:
        raise ValueError(f"unknown priority {unknown[0]!r}: use {', '.join(SLA_PRIORITIES)}")
    return {key: targets for key, targets in value.items() if targets is not None}  # null removes an override


class SlaSettings(_Section):
    """Response and resolution targets, in minutes (null: no such target); counted in business hours when
    `business_hours_only`. Each open conversation carries its due times; TimersFunction warns the assignee
    `warn_before_minutes` before one (0: no warning) and records breaches."""

    enabled: bool = False
    first_response_minutes: SlaMinutes | None = 60
    next_response_minutes: SlaMinutes | None = 60
    resolution_minutes: SlaMinutes | None = 24 * 60
    business_hours_only: bool = False
    warn_before_minutes: int = Field(15, ge=0, le=24 * 60)
    by_priority: Annotated[dict[str, SlaTargets], BeforeValidator(_priority_targets)] = Field(
        default_factory=dict, description="per-priority targets (urgent, high, normal, low); null removes one")

    def minutes(self, target: str, priority: str | None) -> int | None:
        """The target's minutes for a conversation of this priority (None: no such target)."""
        name = f"{target}_minutes"
        override = self.by_priority.get(priority or "normal")
        own = getattr(override, name) if override is not None else None
        return own if own is not None else getattr(self, name)


# -- voicemail (issue 17) -------------------------------------------------------------------------------------------
class VoiceSettings(_Section):
    """How a call is answered: the greeting (in business hours) or the away text (outside them) is spoken in
    `language`, then `prompt`, then the caller's message is recorded for up to `max_length_seconds`."""

    language: Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")] = Field(
        "en-US", description="the language Twilio speaks the greeting in (<Say language>), e.g. en-US, de-DE, fr-FR")
    prompt: Text = "Please leave a message after the tone."
    max_length_seconds: int = Field(120, ge=5, le=3600, description="the longest voicemail recorded")
    transcribe: bool = Field(True, description="transcribe voicemails (shown with the recording)")


# -- help center (issue 18): its look and its words --------------------------------------------------------------
_COLOR = r"^#[0-9a-fA-F]{6}$"
_LOCALE = r"^[a-z]{2}(-[a-z]{2})?$"


def _logo(value: Any) -> Any:
    """A logo the help pages may show: an https URL, or a path of the help center's own images; empty: none."""
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or len(value) > 500 or any(c in value for c in "\"'<> \t\r\n"):
        raise ValueError("the logo is an https:// URL or a /help/images/... path")
    if not (value.startswith("https://") or re.fullmatch(r"/help/images/[A-Za-z0-9_./-]+", value)) or ".." in value:
        raise ValueError("the logo is an https:// URL or a /help/images/... path")
    return value


class HelpCenterSettings(_Section):
    """The public help center's look (name, logo, colours) and the words of its pages."""

    name: Annotated[str, Field(min_length=1, max_length=80), AfterValidator(_check_text)] = "Help center"
    logo_url: Annotated[str, BeforeValidator(_logo)] = Field("", description="https URL or /help/images/... path")
    color: Annotated[str, Field(pattern=_COLOR)] = Field("#1f4e8c", description="accent colour (links, header)")
    background: Annotated[str, Field(pattern=_COLOR)] = "#ffffff"
    text_color: Annotated[str, Field(pattern=_COLOR)] = "#1d2733"
    default_locale: Annotated[str, Field(pattern=_LOCALE)] = "en"
    search_placeholder: Text = "Search the help center"
    helpful_question: Text = "Was this helpful?"
    yes: Text = "Yes"
    no: Text = "No"
    thanks: Text = "Thanks for your feedback!"
    all_articles: Text = "All articles"


# -- the live workspace (issue 15) ----------------------------------------------------------------------------------
class LiveSettings(_Section):
    customer_indicators: bool = Field(
        True, description="show customers that support is on it: their message marked read when an agent opens the "
                          "conversation, and a typing indicator while an agent types (WhatsApp, Messenger, Instagram; "
                          "Telegram typing only)")


class AutomationSettings(_Section):
    greeting: GreetingSettings = Field(default_factory=GreetingSettings)
    away: AwaySettings = Field(default_factory=AwaySettings)
    business_hours: BusinessHours = Field(default_factory=BusinessHours)
    auto_reply: AutoReplySettings = Field(default_factory=AutoReplySettings)
    survey: SurveySettings = Field(default_factory=SurveySettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    inboxes: InboxSettings = Field(default_factory=InboxSettings)  # issue 14
    sla: SlaSettings = Field(default_factory=SlaSettings)  # issue 14
    voice: VoiceSettings = Field(default_factory=VoiceSettings)  # issue 17
    help_center: HelpCenterSettings = Field(default_factory=HelpCenterSettings)  # help center (issue 18)
    live: LiveSettings = Field(default_factory=LiveSettings)  # issue 15: indicators customers see


# --- functions ----------------------------------------------------------------------------------------------------


def defaults(default_retention_days: int) -> AutomationSettings:
    """The settings before any admin edit; the retention default is the template's DefaultRetentionDays."""
    return validate({"retention": {"default_days": default_retention_days}})


def validate(document: Any) -> AutomationSettings:
    """A whole document (missing fields take their defaults), or BadRequest naming the field and the problem."""
    if not isinstance(document, dict):
        raise BadRequest("settings: expected a JSON object", code="invalid_settings")
    try:
        return AutomationSettings.model_validate(document)
    except ValidationError as error:
        raise BadRequest(_describe(error), code="invalid_settings") from None


def merge(current: dict[str, Any], patch: dict[str, Any]) -> AutomationSettings:
    """Deep-merge a partial document into the current one (dicts merge, lists and scalars replace), then validate."""
    if not isinstance(patch, dict):
        raise BadRequest("settings: expected a JSON object", code="invalid_settings")
    return validate(deep_merge(current or {}, patch))


def load(stored: dict[str, Any] | None, default_retention_days: int) -> AutomationSettings:
    """The effective settings from the stored document: defaults for what is missing, and for any section that no
    longer validates (a stored document is checked when written, so that only happens across a schema change)."""
    base = defaults(default_retention_days).model_dump(mode="json")
    stored = stored if isinstance(stored, dict) else {}
    try:
        return merge(base, stored)
    except BadRequest:
        document = base
        for section, value in stored.items():
            try:
                candidate = merge(document, {section: value})
            except BadRequest:
                continue
            document = candidate.model_dump(mode="json")
        return validate(document)


def retention_days(settings: AutomationSettings, channel: Channel) -> int:
    return settings.retention.channels.get(channel, settings.retention.default_days)


def deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


_FRIENDLY = {
    "extra_forbidden": "unknown field",
    "missing": "required",
    "model_type": "expected an object",
    "model_attributes_type": "expected an object",
    "dict_type": "expected an object",
}


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors(include_url=False):
        path = ""
        for part in item["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        message = _FRIENDLY.get(item["type"]) or item["msg"].removeprefix("Value error, ")
        problems.append(f"{path or 'settings'}: {message}")
    more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
    return "; ".join(problems[:3]) + more

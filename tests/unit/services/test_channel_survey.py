"""The in-channel survey's rules (rich replies, issue 13), without AWS: who may be asked, what counts as an answer,
and how an answer in the channel is counted."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from switchboard.automation_settings import SurveySettings
from switchboard.models import Contact, Conversation, Message
from switchboard.services import channel_survey, quotes, survey_answers


def contact(**more) -> Contact:
    return Contact(id="c_1", created_at="2026-01-01T00:00:00.000Z", **more)


def conversation(channel: str = "whatsapp", **more) -> Conversation:
    return Conversation(id="cv_1", channel=channel, inbox_id="1", contact_id="c_1", recipient="15551234567",
                        created_at="2026-01-01T00:00:00.000Z", updated_at="2026-01-01T00:00:00.000Z", **more)


@pytest.mark.parametrize("who, conv, asked", [
    (contact(), conversation(), True),
    (contact(email="ann@example.com"), conversation(), False),  # the email survey reaches them
    (contact(surveys_opt_out=True), conversation(), False),
    (contact(do_not_contact=True), conversation(), False),
    (contact(opted_out=["sms"]), conversation("sms"), False),
    (contact(opted_out=["sms"]), conversation("whatsapp"), True),  # opted out of another channel only
    (contact(), conversation(blocked=True), False),
    (contact(), conversation("email"), False),
    (None, conversation(), False),
])
def test_who_is_asked_in_the_channel(who, conv, asked) -> None:
    assert channel_survey.eligible(who, conv) is asked


def test_each_choice_names_its_rating_and_resolution_within_every_channel_s_limits() -> None:
    choices = channel_survey.choices(SurveySettings(), "2026-12-04T10:00:00.000Z")
    assert [c["title"] for c in choices] == ["1 Poor", "2 Fair", "3 Good", "4 Very good", "5 Excellent"]
    for n, choice in enumerate(choices, start=1):
        found = channel_survey.PAYLOAD.fullmatch(choice["id"])
        assert found and found.groups() == (str(n), "2026-12-04T10:00:00.000Z")
        assert len(choice["id"].encode()) <= 64  # Telegram's callback_data


@pytest.mark.parametrize("text, digit", [("4", "4"), (" 5 ", "5"), ("3.", "3"), ("1!", "1"), ("6", None),
                                         ("45", None), ("4 stars", None), ("٤", None), ("", None)])
def test_a_lone_digit_one_to_five_is_an_answer(text, digit) -> None:
    found = channel_survey.DIGIT.fullmatch(text)
    assert (found.group(1) if found else None) == digit


def test_an_answer_in_the_channel_counts_at_once_even_right_after_the_question() -> None:
    # No mail filter presses buttons in a chat: unlike a link's click, nothing is held.
    now = datetime(2026, 12, 4, 10, 0, 5, tzinfo=UTC)
    decision = survey_answers.decide({"sent_at": "2026-12-04T10:00:00.000Z"}, 5, "channel", now)
    assert decision.outcome == "counted" and decision.new_response and decision.counted == 5
    again = survey_answers.decide({"sent_at": "2026-12-04T10:00:00.000Z", "rating": 5}, 5, "channel", now)
    assert again.outcome == "unchanged" and not again.deltas  # a redelivery counts nothing twice


def test_a_quote_copies_a_capped_snippet_and_names_the_native_reference() -> None:
    long = Message(id="m_1", conversation_id="cv_1", direction="inbound", channel="email", text="x" * 500,
                   created_at="2026-01-01T00:00:00.000Z", status="received", message_ref="<a@b.example>",
                   provider_message_id="ses-id")
    assert len(quotes.snapshot(long)["text"]) == quotes.SNIPPET_CHARS
    assert quotes.native_ref(long) == "<a@b.example>"
    wa = long.model_copy(update={"channel": "whatsapp", "provider_message_id": "wamid.1", "text": "", "type": "image",
                                 "message_ref": None})
    assert quotes.native_ref(wa) == "wamid.1" and quotes.snapshot(wa)["text"] == "[image]"
    assert quotes.native_ref(wa.model_copy(update={"channel": "webchat"})) is None

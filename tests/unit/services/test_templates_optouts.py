"""Templates capability, pure parts: Graph template parsing, opt-out keywords, phone and email normalization, canned
variables."""

from __future__ import annotations

import pytest

from switchboard.errors import BadRequest
from switchboard.services import canned, optouts, outreach, templates


def test_a_graph_template_is_parsed_with_every_part_and_its_examples():
    raw = {"name": "order_update", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
           "components": [
               {"type": "HEADER", "format": "VIDEO", "example": {"header_handle": ["https://x.example/v.mp4"]}},
               {"type": "BODY", "text": "Hi {{2}} and {{1}}, again {{1}}", "example": {"body_text": [["A", "B"]]}},
               {"type": "FOOTER", "text": "Shop"},
               {"type": "BUTTONS", "buttons": [{"type": "PHONE_NUMBER", "text": "Call", "phone_number": "+15550001111"},
                                               {"type": "URL", "text": "Go", "url": "https://x.example/{{1}}"}]},
               "not a component"]}
    parsed = templates.parse_template(raw)
    assert parsed is not None
    assert parsed["parameters"]["body"] == [{"name": "1", "example": "A"}, {"name": "2", "example": "B"}]
    assert parsed["parameters"]["header"] == {"format": "video", "example": "https://x.example/v.mp4"}
    assert parsed["parameters"]["buttons"] == [{"index": 1, "name": "1", "example": ""}]
    assert parsed["footer"] == "Shop" and parsed["buttons"][0]["phone_number"] == "+15550001111"
    assert None not in parsed.values()
    assert templates.parse_template({"name": "x"}) is None
    assert templates.parse_template({"name": "x", "language": "en", "components": "junk"})["body"] == ""


@pytest.mark.parametrize(("text", "expected"), [
    ("STOP", "stop"), (" stop ", "stop"), ("Stop.", "stop"), ("unsubscribe", "stop"), ("StopAll", "stop"),
    ("cancel", "stop"), ("END", "stop"), ("quit!", "stop"), ("START", "start"), ("unstop", "start"), ("Yes", "start"),
    ("stop sending me these", None), ("please stop", None), ("", None), ("STOPP", None), ("yes please", None),
])
def test_only_a_whole_keyword_is_one(text, expected):
    assert optouts.keyword(text) == expected


@pytest.mark.parametrize(("typed", "e164"), [
    ("+1 (415) 555-0132", "+14155550132"), ("+44 20 7946 0958", "+442079460958"), ("+4915112345678", "+4915112345678"),
])
def test_phone_numbers_are_normalized_to_e164(typed, e164):
    assert outreach.normalize_phone(typed) == e164


@pytest.mark.parametrize("typed", ["555", "4155550132", "+1 555 000", "call me", "+999 1234567"])
def test_what_is_not_a_whole_international_number_is_refused(typed):
    with pytest.raises(BadRequest):
        outreach.normalize_phone(typed)


@pytest.mark.parametrize(("typed", "address"), [("Bob <Bob@Example.ORG>", "bob@example.org"),
                                                (" ann@x.io ", "ann@x.io")])
def test_email_addresses_are_normalized(typed, address):
    assert outreach.normalize_email(typed) == address


@pytest.mark.parametrize("typed", ["bob", "bob@", "@x.io", "bob@x", "bob@.x.io", "bob@x..io", "a b@x.io"])
def test_what_is_not_an_email_address_is_refused(typed):
    with pytest.raises(BadRequest):
        outreach.normalize_email(typed)


def test_canned_variables_are_checked():
    canned.check_variables("Hi {{contact.first_name}}, {{ agent.name }} ({{conversation.id}})")
    with pytest.raises(BadRequest) as raised:
        canned.check_variables("Hi {{contact.frist_name}} {{}}")
    assert raised.value.code == "unknown_variable" and "contact.frist_name" in raised.value.message

"""WhatsApp Cloud API: webhook batches normalized, hostile bodies refused cleanly, Graph sends and media downloads."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import urllib3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from switchboard import clock
from switchboard.channels import http, registry
from switchboard.channels.whatsapp import WhatsAppChannel
from switchboard.errors import MalformedPayload, MediaError, PermanentSendError, RetryableSendError, SignatureError
from switchboard.models import (
    Attachment,
    IgnoredEvent,
    InboundEnvelope,
    InboundMessage,
    Location,
    SendRequest,
    StatusUpdate,
)
from tests.support import whatsapp_payloads as wa
from tests.unit.channels.media_server import MediaServer, media_server_fixture  # noqa: F401 (a fixture)

GRAPH = "https://graph.test/v99.0"


@pytest.fixture
def channel() -> WhatsAppChannel:
    return WhatsAppChannel()


Event = InboundMessage | StatusUpdate | IgnoredEvent


def parse(payload: Any) -> list[Event]:
    return WhatsAppChannel().parse(wa.webhook(payload))


def delivered(events: list[Event]) -> list[InboundMessage | StatusUpdate]:
    """What goes on to the queue: the events that are not ignored."""
    return [e for e in events if not isinstance(e, IgnoredEvent)]


def reasons(events: list[Event]) -> list[str]:
    """Why the rest were ignored, in order."""
    return [e.reason for e in events if isinstance(e, IgnoredEvent)]


def parse_one(raw_message: dict[str, Any], **value_kw: Any) -> InboundMessage:
    events = parse(wa.inbound(raw_message, **value_kw))
    assert len(events) == 1 and isinstance(events[0], InboundMessage)
    return events[0]


def parse_raw(raw: bytes) -> list[Event]:
    return WhatsAppChannel().parse(wa.webhook(raw=raw))


def parse_one_raw(raw: bytes) -> InboundMessage:
    [message] = parse_raw(raw)
    assert isinstance(message, InboundMessage)
    return message


def test_registry_serves_the_whatsapp_channel() -> None:
    channel = registry.get("whatsapp")

    assert isinstance(channel, WhatsAppChannel)
    assert channel.reply_window_seconds == 24 * 3600


def test_verify_then_parse_a_signed_notification(channel: WhatsAppChannel) -> None:
    request = wa.webhook(wa.inbound(wa.text("Grüße 👋")))

    channel.verify(request)
    [message] = channel.parse(request)

    assert b"\\u00fc" in request.body and message.text == "Grüße 👋"
    with pytest.raises(SignatureError):
        channel.verify(wa.webhook(wa.inbound(wa.text("Grüße 👋")), signature=wa.sign(request.body, "other")))


# -- parse: messages ----------------------------------------------------------------------------


def test_parse_a_text_message() -> None:
    message = parse_one(wa.text("Hello, I need help", wamid="wamid.HBgLMTU1NTEyMzQ1NjcVAgASGBQzQTdBQTc"))

    assert message == InboundMessage(
        channel="whatsapp", provider_message_id="wamid.HBgLMTU1NTEyMzQ1NjcVAgASGBQzQTdBQTc",
        inbox_id=wa.PHONE_NUMBER_ID, sender_id=wa.CUSTOMER, identity=f"phone:+{wa.CUSTOMER}",
        sender_name=wa.CUSTOMER_NAME, type="text", text="Hello, I need help", timestamp=1760000000.0)


def test_parse_a_batch_of_entries_changes_messages_and_statuses_in_order() -> None:
    payload = wa.notification(
        wa.entry(
            wa.change(wa.value([wa.text("one", wamid="wamid.1"), wa.text("two", wamid="wamid.2")],
                               [wa.status("sent", "wamid.OUT1")])),
            wa.change({"message_template_id": 1, "event": "APPROVED"}, field="message_template_status_update"),
            wa.change(wa.value(statuses=[wa.status("read", "wamid.OUT1"), wa.failed(wamid="wamid.OUT2")])),
        ),
        wa.entry(
            wa.change(wa.value([wa.text("three", wamid="wamid.3", sender="15557654321")], phone_number_id="106540352242923",
                               contacts_=[wa.profile("15557654321", "Bea")])),
            waba_id="OTHER_WABA"),
    )

    events = delivered(parse(payload))

    assert reasons(parse(payload)) == ["field_message_template_status_update"]
    assert [(e.kind, e.provider_message_id, getattr(e, "inbox_id", None), getattr(e, "status", None)) for e in events] == [
        ("message", "wamid.1", wa.PHONE_NUMBER_ID, None),
        ("message", "wamid.2", wa.PHONE_NUMBER_ID, None),
        ("status", "wamid.OUT1", None, "sent"),
        ("status", "wamid.OUT1", None, "read"),
        ("status", "wamid.OUT2", None, "failed"),
        ("message", "wamid.3", "106540352242923", None),
    ]
    assert [e.sender_name for e in events if isinstance(e, InboundMessage)] == ["Ann", "Ann", "Bea"]


def test_parse_a_full_batch_of_a_thousand_updates() -> None:
    messages = [wa.text(f"m{i}", wamid=f"wamid.{i}") for i in range(500)]
    statuses = [wa.status("delivered", f"wamid.OUT{i}") for i in range(500)]

    events = parse(wa.notification(wa.entry(wa.change(wa.value(messages, statuses)))))

    assert len(events) == 1000
    assert len({e.provider_message_id for e in events}) == 1000


@pytest.mark.parametrize(("raw", "expected"), [
    pytest.param(wa.media("image", caption="the broken part", media_id="IMG1"),
                 Attachment(kind="image", provider_media_id="IMG1", mime_type="image/jpeg",
                            sha256="2RBvOyTZxb5T8ByKo0dZNQ3UB04sKE+3EEQ6zqyAmuw="), id="image"),
    pytest.param(wa.media("audio", media_id="AUD1", mime_type="audio/ogg; codecs=opus", voice=True, sha256="abc"),
                 Attachment(kind="audio", provider_media_id="AUD1", mime_type="audio/ogg; codecs=opus", sha256="abc",
                            voice=True), id="voice note"),
    pytest.param(wa.media("audio", media_id="AUD2", mime_type="audio/mpeg", voice=False, sha256="abc"),
                 Attachment(kind="audio", provider_media_id="AUD2", mime_type="audio/mpeg", sha256="abc"), id="audio"),
    pytest.param(wa.media("video", media_id="VID1", mime_type="video/mp4", sha256="abc", caption="the broken part"),
                 Attachment(kind="video", provider_media_id="VID1", mime_type="video/mp4", sha256="abc"), id="video"),
    pytest.param(wa.media("document", media_id="DOC1", mime_type="application/pdf", sha256="abc",
                          filename="invoice-42.pdf", caption="the broken part"),
                 Attachment(kind="document", provider_media_id="DOC1", mime_type="application/pdf", sha256="abc",
                            filename="invoice-42.pdf"), id="document"),
    pytest.param(wa.media("sticker", media_id="STK1", mime_type="image/webp", sha256="abc", animated=False),
                 Attachment(kind="sticker", provider_media_id="STK1", mime_type="image/webp", sha256="abc"), id="sticker"),
])
def test_parse_media_messages_reference_their_attachment(raw: dict[str, Any], expected: Attachment) -> None:
    message = parse_one(raw)

    assert message.type == expected.kind
    assert message.attachments == [expected]
    assert message.attachments[0].status == "pending"  # the processor downloads it later
    assert message.text == raw[expected.kind].get("caption", "")


def test_parse_a_location_with_name_and_address() -> None:
    message = parse_one(wa.location(52.5200, 13.4050, name="Brandenburg Gate", address="Pariser Platz, Berlin"))

    assert message.type == "location"
    assert message.location == Location(latitude=52.52, longitude=13.405, name="Brandenburg Gate",
                                        address="Pariser Platz, Berlin")
    assert message.text == "Brandenburg Gate, Pariser Platz, Berlin"


def test_parse_a_bare_location_pin() -> None:
    message = parse_one(wa.location(-33.8568, 151.2153))

    assert message.location == Location(latitude=-33.8568, longitude=151.2153)
    assert message.text == ""


@pytest.mark.parametrize(("latitude", "longitude"), [
    ("north", 1), (None, 1), (1, None), (True, 1), (91, 0), (0, -180.5), ([1], 2), ({"v": 1}, 2),
])
def test_parse_a_location_with_unusable_coordinates_as_unsupported(latitude: Any, longitude: Any) -> None:
    message = parse_one(wa.location(latitude, longitude))

    assert (message.type, message.location) == ("unsupported", None)


@pytest.mark.parametrize("special", ["NaN", "Infinity", "-Infinity"])
def test_parse_a_location_with_non_finite_coordinates_keeps_the_event_serializable(special: str) -> None:
    raw = wa.body(wa.inbound(wa.location(0, 0))).replace(b'"latitude":0', f'"latitude":{special}'.encode())

    [message] = parse_raw(raw)

    assert (message.type, message.location) == ("unsupported", None)
    assert InboundEnvelope.model_validate_json(InboundEnvelope(event=message, received_at="t").model_dump_json())


def test_parse_an_interactive_button_reply() -> None:
    message = parse_one(wa.button_reply("confirm-yes", "Yes, book it", context={"from": "15550001111", "id": "wamid.Q"}))

    assert (message.type, message.text, message.payload, message.reply_to) == (
        "interactive", "Yes, book it", "confirm-yes", "wamid.Q")


def test_parse_an_interactive_list_reply() -> None:
    message = parse_one(wa.list_reply("slot-2", "Tuesday 10:00", "30 minutes"))

    assert (message.type, message.text, message.payload) == ("interactive", "Tuesday 10:00", "slot-2")


def test_parse_a_flow_reply() -> None:
    message = parse_one(wa.flow_reply("Sent", '{"flow_token":"T"}'))

    assert (message.type, message.text, message.payload) == ("interactive", "Sent", '{"flow_token":"T"}')


def test_parse_an_interactive_reply_of_unknown_kind_without_failing() -> None:
    message = parse_one(wa.message("interactive", {"type": "call_permission_reply", "call_permission_reply": {}}))

    assert (message.type, message.text, message.payload) == ("interactive", "", None)


def test_parse_a_template_quick_reply_button() -> None:
    message = parse_one(wa.template_button("Stop promotions", "STOP"))

    assert (message.type, message.text, message.payload, message.reply_to) == (
        "button", "Stop promotions", "STOP", "wamid.TEMPLATE")


def test_parse_a_reaction_points_at_the_reacted_message() -> None:
    message = parse_one(wa.reaction("\u2764\ufe0f", message_id="wamid.OURS"))

    assert (message.type, message.reaction, message.text, message.reply_to) == (
        "reaction", "\u2764\ufe0f", "\u2764\ufe0f", "wamid.OURS")


@pytest.mark.parametrize("emoji", [None, ""])
def test_parse_a_removed_reaction_has_an_empty_emoji(emoji: str | None) -> None:
    message = parse_one(wa.reaction(emoji, message_id="wamid.OURS"))

    assert (message.type, message.reaction, message.text, message.reply_to) == ("reaction", "", "", "wamid.OURS")


def test_parse_shared_contact_cards_as_text() -> None:
    message = parse_one(wa.contacts(wa.contact_card("Bob Smith", "+1 555 000 2222", "+1 555 000 3333"),
                                    wa.contact_card("Cleo", "+44 20 7946 0000")))

    assert message.type == "contacts"
    assert message.text == "Bob Smith +1 555 000 2222 +1 555 000 3333; Cleo +44 20 7946 0000"


@pytest.mark.parametrize(("raw", "summary"), [
    pytest.param(wa.unsupported(131051), "Unsupported message (code 131051: Message type unknown)", id="unsupported"),
    pytest.param(wa.message("brand_new_type", {"x": 1}), "Unsupported message: brand_new_type", id="unknown type"),
    pytest.param({k: v for k, v in wa.text().items() if k != "type"}, "Unsupported message", id="no type"),
    pytest.param(wa.message(42, None), "Unsupported message: 42", id="numeric type"),
])
def test_parse_types_we_cannot_show_as_unsupported_messages(raw: dict[str, Any], summary: str) -> None:
    # (order and request_welcome were here: an order is shown now, a welcome request is not a message)
    message = parse_one(raw)

    assert (message.type, message.text, message.attachments) == ("unsupported", "", [])
    assert message.summary == summary


def test_parse_a_quoted_reply_sets_reply_to() -> None:
    message = parse_one(wa.text("about this one", context={"from": wa.DISPLAY_PHONE_NUMBER, "id": "wamid.QUOTED"}))

    assert message.reply_to == "wamid.QUOTED"


def test_parse_a_forwarded_message_without_context_id_has_no_reply_to() -> None:
    message = parse_one(wa.text("fwd", context={"forwarded": True}))

    assert message.reply_to is None


def test_parse_maps_each_sender_to_their_own_profile_name() -> None:
    payload = wa.inbound(wa.text(wamid="wamid.1", sender="15551111111"), wa.text(wamid="wamid.2", sender="15552222222"),
                         wa.text(wamid="wamid.3", sender="15553333333"),
                         contacts_=[wa.profile("15552222222", "Bea"), wa.profile("15551111111", "Al")])

    assert [(m.sender_id, m.sender_name) for m in parse(payload)] == [
        ("15551111111", "Al"), ("15552222222", "Bea"), ("15553333333", None)]


def test_parse_a_sender_known_only_by_business_scoped_user_id() -> None:
    raw = wa.text(sender=None, from_user_id="US.13491208655302741918")
    contact = {"profile": {"name": "Dee"}, "user_id": "US.13491208655302741918"}

    message = parse_one(raw, contacts_=[contact])

    assert (message.sender_id, message.identity, message.sender_name) == (
        "US.13491208655302741918", "whatsapp:US.13491208655302741918", "Dee")


def test_parse_prefers_the_phone_number_and_names_it_when_both_ids_are_given() -> None:
    raw = wa.text(from_user_id="US.1")
    contact = wa.profile(wa.CUSTOMER, "Ann", user_id="US.1")

    message = parse_one(raw, contacts_=[contact])

    assert (message.sender_id, message.identity, message.sender_name) == (wa.CUSTOMER, f"phone:+{wa.CUSTOMER}", "Ann")


def test_parse_names_a_user_id_only_message_from_a_contact_with_both_ids() -> None:
    raw = wa.text(sender=None, from_user_id="US.1")

    message = parse_one(raw, contacts_=[wa.profile(wa.CUSTOMER, "Ann", user_id="US.1")])

    assert (message.sender_id, message.sender_name) == ("US.1", "Ann")


@pytest.mark.parametrize(("sender", "identity"), [
    ("15551234567", "phone:+15551234567"),
    ("491701234567", "phone:+491701234567"),
    ("\u0661\u0662\u0663", "whatsapp:\u0661\u0662\u0663"),  # Arabic-Indic digits are not a phone number
    ("\u00b2\u00b3", "whatsapp:\u00b2\u00b3"),
])
def test_parse_identity_is_the_e164_phone_for_ascii_digits_only(sender: str, identity: str) -> None:
    assert parse_one(wa.text(sender=sender)).identity == identity


def test_parse_ignores_system_messages() -> None:
    events = parse(wa.inbound(wa.system(wamid="wamid.SYS"), wa.text(wamid="wamid.T")))

    assert [e.provider_message_id for e in delivered(events)] == ["wamid.T"]
    assert reasons(events) == ["system_user_changed_number"]


def test_parse_ignores_changes_of_other_fields() -> None:
    payload = wa.notification(wa.entry(
        wa.change(wa.value([wa.text(wamid="wamid.X")]), field="message_echoes"),
        wa.change({"event": "FLAGGED", "message_template_id": 1}, field="message_template_status_update"),
        wa.change({"display_phone_number": "1", "decision": "APPROVED"}, field="phone_number_name_update"),
        {"value": wa.value([wa.text(wamid="wamid.Y")])},
    ))

    assert delivered(parse(payload)) == []
    assert reasons(parse(payload)) == ["unknown_field", "field_message_template_status_update",
                                       "field_phone_number_name_update", "malformed_change"]


def test_parse_takes_the_timestamp_in_seconds() -> None:
    assert parse_one(wa.text(timestamp="1760000123")).timestamp == 1760000123.0
    assert parse_one(wa.text(timestamp=1760000123)).timestamp == 1760000123.0


@pytest.mark.parametrize("timestamp", [None, "", "yesterday", "-5", "0", "1e300", 10**400, True, [1], {"s": 1}])
def test_parse_replaces_an_unusable_timestamp_with_now(timestamp: Any) -> None:
    clock.advance(1000)
    raw = wa.text(timestamp=timestamp)
    if timestamp is None:
        del raw["timestamp"]

    message = parse_one(raw)

    assert abs(message.timestamp - clock.now().timestamp()) < 5


# -- parse: statuses ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["sent", "delivered", "read"])
def test_parse_receipts(status: str) -> None:
    [update] = parse(wa.receipts(wa.status(status, "wamid.OUT", timestamp="1760000100")))

    assert update == StatusUpdate(channel="whatsapp", provider_message_id="wamid.OUT", status=status,
                                  timestamp=1760000100.0)


def test_parse_a_failed_receipt_with_its_error() -> None:
    [update] = parse(wa.receipts(wa.failed(131047, "Re-engagement message", wamid="wamid.OUT")))

    assert (update.status, update.error_code, update.error_title) == ("failed", "131047", "Re-engagement message")


def test_parse_a_failed_receipt_without_errors() -> None:
    [update] = parse(wa.receipts(wa.status("failed", "wamid.OUT")))

    assert (update.status, update.error_code, update.error_title) == ("failed", None, None)


def test_parse_a_failed_receipt_reads_the_error_message_when_there_is_no_title() -> None:
    error = {"code": 131026, "message": "Message undeliverable"}

    [update] = parse(wa.receipts(wa.status("failed", "wamid.OUT", errors=[error])))

    assert (update.error_code, update.error_title) == ("131026", "Message undeliverable")


@pytest.mark.parametrize("errors", [[], ["oops"], [None], "oops", {"code": 1}])
def test_parse_a_failed_receipt_with_odd_errors(errors: Any) -> None:
    [update] = parse(wa.receipts(wa.status("failed", "wamid.OUT", errors=errors)))

    assert (update.status, update.error_code) == ("failed", None)


@pytest.mark.parametrize("status", ["played", "deleted", "warning", "", None, 3, ["read"], {"s": "read"}])
def test_parse_ignores_unknown_statuses(status: Any) -> None:
    payload = wa.receipts(wa.status("delivered", "wamid.KEEP"), wa.status(status, "wamid.DROP"))

    assert [e.provider_message_id for e in delivered(parse(payload))] == ["wamid.KEEP"]
    assert reasons(parse(payload)) == [f"status_{status}" if status in ("played", "deleted", "warning")
                                       else "unknown_status"]


def test_parse_ignores_a_status_without_id() -> None:
    raw = wa.status("read")
    del raw["id"]

    assert reasons(parse(wa.receipts(raw))) == ["malformed_status"]


# -- parse: malformed and hostile bodies ----------------------------------------------------------


@pytest.mark.parametrize("raw", [
    pytest.param(b"", id="empty"),
    pytest.param(b"hello", id="not JSON"),
    pytest.param(b"{\"object\": ", id="truncated"),
    pytest.param(b"[]", id="array"),
    pytest.param(b"[" + wa.body(wa.inbound(wa.text())) + b"]", id="array of a notification"),
    pytest.param(b'"whatsapp_business_account"', id="string"),
    pytest.param(b"null", id="null"),
    pytest.param(wa.body(wa.notification(obj="page")), id="Messenger object"),
    pytest.param(wa.body({**wa.inbound(wa.text()), "object": None}), id="null object"),
    pytest.param(wa.body({"entry": []}), id="no object"),
    pytest.param(wa.body({"object": "whatsapp_business_account"}), id="no entry"),
    pytest.param(wa.body({"object": "whatsapp_business_account", "entry": {"0": {}}}), id="entry is an object"),
    pytest.param(wa.body({"object": "whatsapp_business_account", "entry": "[]"}), id="entry is a string"),
    pytest.param(wa.body({"object": "whatsapp_business_account", "entry": None}), id="entry is null"),
    pytest.param(b'{"object":"whatsapp_business_account","entry":[],"x":"\xff\xfe"}', id="invalid UTF-8"),
    pytest.param(b'{"object":"whatsapp_business_account","entry":[]}\xc3', id="truncated UTF-8"),
    pytest.param(b'{"object":"whatsapp_business_account","entry":[' + b"[" * 100_000 + b"]" * 100_000 + b"]}",
                 id="deeply nested entry"),
    pytest.param(b'{"object":"whatsapp_business_account","entry":[],"n":' + b"7" * 5000 + b"}", id="5000-digit number"),
])
def test_parse_refuses_a_body_that_is_not_a_notification(raw: bytes) -> None:
    with pytest.raises(MalformedPayload):
        parse_raw(raw)


def test_parse_deep_nesting_inside_a_message_is_refused_not_a_recursion_error() -> None:
    deep = b'{"a":' * 50_000 + b"1" + b"}" * 50_000
    raw = wa.body(wa.inbound(wa.text("x"))).replace(b'"body":"x"', b'"body":' + deep)

    with pytest.raises(MalformedPayload):
        parse_raw(raw)


def test_parse_moderate_nesting_where_a_string_belongs_is_ignored() -> None:
    nested: Any = "x"
    for _ in range(200):
        nested = {"a": [nested]}

    message = parse_one(wa.message("text", {"body": nested}))

    assert (message.type, message.text) == ("text", "")


def test_parse_an_empty_entry_list_is_a_valid_empty_notification() -> None:
    assert parse(wa.notification()) == []


@pytest.mark.parametrize("bad_entry", [1, "entry", None, [], True, {"changes": "all"}, {"changes": {"0": {}}},
                                       {"changes": None}, {}])
def test_parse_skips_an_entry_of_the_wrong_shape_and_keeps_the_rest(bad_entry: Any) -> None:
    payload = wa.notification(bad_entry, wa.entry(wa.change(wa.value([wa.text(wamid="wamid.GOOD")]))))

    assert [e.provider_message_id for e in delivered(parse(payload))] == ["wamid.GOOD"]
    assert reasons(parse(payload)) == ["malformed_entry"]


@pytest.mark.parametrize("bad_change", [1, "messages", None, [], {"field": "messages"}, {"field": "messages", "value": []},
                                        {"field": "messages", "value": "v"}, {"field": ["messages"], "value": {}}])
def test_parse_skips_a_change_of_the_wrong_shape(bad_change: Any) -> None:
    payload = wa.notification(wa.entry(bad_change, wa.change(wa.value([wa.text(wamid="wamid.GOOD")]))))

    assert [e.provider_message_id for e in delivered(parse(payload))] == ["wamid.GOOD"]
    assert reasons(parse(payload)) == ["malformed_change"]


@pytest.mark.parametrize(("bad_value_part", "kept"), [
    ({"messages": {"0": wa.text()}}, ["wamid.S"]),
    ({"messages": "hi"}, ["wamid.S"]),
    ({"statuses": {"id": "x"}}, ["wamid.A1"]),
    ({"contacts": "Ann"}, ["wamid.A1", "wamid.S"]),
    ({"contacts": ["Ann", None, {"profile": "Ann", "wa_id": wa.CUSTOMER}]}, ["wamid.A1", "wamid.S"]),
    ({"metadata": "PNID"}, ["wamid.S"]),  # a message must name the business number it was sent to
    ({"metadata": None}, ["wamid.S"]),
    ({"metadata": {"phone_number_id": None}}, ["wamid.S"]),
    ({"metadata": {"phone_number_id": ""}}, ["wamid.S"]),
])
def test_parse_survives_value_parts_of_the_wrong_type(bad_value_part: dict[str, Any], kept: list[str]) -> None:
    value = {**wa.value([wa.text()], [wa.status("read", "wamid.S")]), **bad_value_part}

    events = parse(wa.notification(wa.entry(wa.change(value))))

    assert [e.provider_message_id for e in delivered(events)] == kept
    if "metadata" in bad_value_part:  # the message is counted as ignored, its receipt still applies
        assert reasons(events) == ["invalid_inbox_id"]
    if "contacts" in bad_value_part:
        assert all(e.sender_name is None for e in events if isinstance(e, InboundMessage))


@pytest.mark.parametrize("bad_message", [1, "text", None, [], {}, {"type": "text"}, {"id": "wamid.X"},
                                         {"id": "wamid.X", "type": "text", "text": "hi"},
                                         {"id": ["wamid.X"], "from": "1", "type": "text"},
                                         {"id": "wamid.X", "from": {"wa_id": "1"}, "type": "text"},
                                         {"id": True, "from": "1", "type": "text"},
                                         {"id": "", "from": "1", "type": "text"}])
def test_parse_skips_messages_it_cannot_attribute(bad_message: Any) -> None:
    events = parse(wa.inbound(bad_message, wa.text(wamid="wamid.GOOD")))

    assert [e.provider_message_id for e in delivered(events)] == ["wamid.GOOD"]
    assert reasons(events) == ["malformed_message"]


def test_parse_skips_messages_without_a_sender() -> None:
    events = parse(wa.inbound(wa.text(sender=None), wa.text(wamid="wamid.GOOD")))

    assert [e.provider_message_id for e in delivered(events)] == ["wamid.GOOD"]
    assert reasons(events) == ["malformed_message"]


def test_parse_skips_messages_to_an_unknown_business_number() -> None:
    value = wa.value([wa.text()])
    del value["metadata"]["phone_number_id"]

    assert delivered(parse(wa.notification(wa.entry(wa.change(value))))) == []
    assert reasons(parse(wa.notification(wa.entry(wa.change(value))))) == ["invalid_inbox_id"]


def test_parse_accepts_numbers_where_strings_are_expected() -> None:
    raw = {"from": 15551234567, "id": 123456, "timestamp": 1760000000, "type": "text", "text": {"body": 42}}

    message = parse_one(raw, phone_number_id=106540352242922, contacts_=[{"profile": {"name": 7}, "wa_id": 15551234567}])

    assert (message.provider_message_id, message.sender_id, message.identity, message.inbox_id, message.text,
            message.sender_name) == ("123456", "15551234567", "phone:+15551234567", "106540352242922", "42", "7")


def test_parse_does_not_turn_booleans_into_strings() -> None:
    message = parse_one(wa.message("text", {"body": True}, context={"id": False}))

    assert (message.text, message.reply_to) == ("", None)
    assert delivered(parse(wa.inbound(wa.text(sender=True)))) == []  # type: ignore[arg-type]


@pytest.mark.parametrize("bad_content", [None, "hi", ["hi"], 5, {"caption": ["x"], "id": {"x": 1}}])
def test_parse_media_with_a_broken_body_keeps_the_message(bad_content: Any) -> None:
    message = parse_one(wa.message("image", bad_content))

    assert message.type == "image"
    assert message.attachments == [Attachment(kind="image")]


def test_parse_keeps_huge_strings_intact() -> None:
    big = "x" * 1_000_000

    message = parse_one(wa.text(big))

    assert message.text == big


def test_parse_replaces_lone_surrogates_so_the_event_stays_serializable() -> None:
    raw = wa.body(wa.inbound(wa.text("x", wamid="wamid.S"), contacts_=[wa.profile(name="y")]))
    raw = raw.replace(b'"body":"x"', b'"body":"a\\ud800b\\udfff"').replace(b'"name":"y"', b'"name":"\\udc00"')

    [message] = parse_raw(raw)

    assert (message.text, message.sender_name) == ("a\ufffdb\ufffd", "\ufffd")
    assert InboundEnvelope.model_validate_json(InboundEnvelope(event=message, received_at="t").model_dump_json())


def test_parse_keeps_escaped_surrogate_pairs_as_the_character() -> None:
    raw = wa.body(wa.inbound(wa.text("\U0001f600")))

    assert b"\\ud83d\\ude00" in raw
    assert parse_one_raw(raw).text == "\U0001f600"


# -- parse: properties ----------------------------------------------------------------------------

FIXED_REASONS = {"malformed_entry", "malformed_change", "unknown_field", "webhook_error", "malformed_message",
                 "invalid_inbox_id", "group_message", "welcome_request", "system_message", "edit_without_original",
                 "edit_without_content", "revoke_without_original", "malformed_status", "group_status",
                 "unknown_status", "status_played", "status_deleted", "status_warning"}


def is_known_reason(reason: str) -> bool:
    """Reasons are metric dimensions: a fixed vocabulary, never a string taken from the payload."""
    from switchboard.channels.whatsapp import KNOWN_FIELDS, SYSTEM_KINDS

    return (reason in FIXED_REASONS or reason in {f"field_{f}" for f in KNOWN_FIELDS}
            or reason in {f"system_{k}" for k in SYSTEM_KINDS})


def assert_readable(message: InboundMessage) -> None:
    """Never an empty message: text, an attachment, a location or a summary; an unsend names its message, and an
    edit brings a new text or the attachment whose caption it changes."""
    assert message.provider_message_id
    if message.deleted:
        return
    if message.edited:
        assert message.text.strip() or message.attachments, message
        return
    assert message.text.strip() or message.attachments or message.location or message.summary, message

JSON_SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
                | st.text(alphabet=st.characters(categories=["L", "M", "N", "P", "S", "Z", "C"]), max_size=20)
                # lone surrogates and non-ASCII digits: valid JSON escapes that stores and phone numbers choke on
                | st.text(alphabet=st.characters(categories=["Cs", "Nd"]), min_size=1, max_size=4))
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)
KEYS = ["object", "entry", "id", "changes", "field", "value", "metadata", "phone_number_id", "contacts", "profile", "name",
        "wa_id", "user_id", "messages", "statuses", "from", "from_user_id", "timestamp", "type", "text", "body", "image",
        "audio", "video", "document", "sticker", "location", "latitude", "longitude", "interactive", "button_reply",
        "list_reply", "nfm_reply", "title", "button", "payload", "reaction", "emoji", "message_id", "context", "status",
        "errors", "code", "caption", "filename", "mime_type", "sha256", "voice", "phones", "formatted_name"]
SHAPED_VALUES = st.recursive(
    JSON_SCALARS | st.sampled_from(["whatsapp_business_account", "messages", "text", "image", "location", "interactive",
                                    "button_reply", "reaction", "contacts", "read", "failed", "1760000000", "PNID"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=5),
    max_leaves=15)


def assert_parse_rule(raw: bytes) -> None:
    """parse returns normalized events that survive the queue, or refuses with MalformedPayload; nothing else.
    An event is a receipt, an ignored event with a reason from a fixed vocabulary, or a message an agent can read
    (an edit or unsend naming the message it changes)."""
    try:
        events = parse_raw(raw)
    except MalformedPayload:
        return
    assert isinstance(events, list)
    for event in events:
        if isinstance(event, IgnoredEvent):
            assert event.channel == "whatsapp" and is_known_reason(event.reason), event
            continue
        assert isinstance(event, InboundMessage | StatusUpdate)
        if isinstance(event, InboundMessage):
            assert_readable(event)
        envelope = InboundEnvelope(event=event, received_at="2025-01-01T00:00:00.000Z")
        assert InboundEnvelope.model_validate_json(envelope.model_dump_json()).event == event


@settings(max_examples=200, deadline=None)
@given(JSON_VALUES)
def test_parse_any_json_value_returns_events_or_refuses(payload: Any) -> None:
    assert_parse_rule(json.dumps(payload).encode())


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=512))
def test_parse_any_bytes_returns_events_or_refuses(raw: bytes) -> None:
    assert_parse_rule(raw)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages=st.lists(SHAPED_VALUES, max_size=3), statuses=st.lists(SHAPED_VALUES, max_size=2),
       contacts=SHAPED_VALUES,
       metadata=SHAPED_VALUES | st.fixed_dictionaries({"phone_number_id": JSON_SCALARS | st.just("PNID")}))
def test_parse_any_shaped_notification_returns_events_or_refuses(messages: list[Any], statuses: list[Any],
                                                                   contacts: Any, metadata: Any) -> None:
    value = {"metadata": metadata, "contacts": contacts, "messages": messages, "statuses": statuses}
    assert_parse_rule(json.dumps(wa.notification(wa.entry(wa.change(value)))).encode())


@settings(max_examples=200, deadline=None)
@given(kind=st.sampled_from(["text", "image", "audio", "video", "document", "sticker", "location", "interactive",
                             "button", "reaction", "contacts", "system", "unsupported"]),
       content=SHAPED_VALUES, context=SHAPED_VALUES, sender=JSON_SCALARS, timestamp=JSON_SCALARS)
def test_parse_any_message_content_returns_events_or_refuses(kind: str, content: Any, context: Any, sender: Any,
                                                              timestamp: Any) -> None:
    raw = {"id": "wamid.P", "from": sender, "timestamp": timestamp, "type": kind, kind: content, "context": context,
           "contacts": content}
    assert_parse_rule(json.dumps(wa.inbound(raw)).encode())


# -- send -----------------------------------------------------------------------------------------


@dataclass
class FakeHttp:
    """Stands in for http.request: records every call, answers from a script."""

    answers: list[Any] = field(default_factory=list)
    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def __call__(self, method: str, url: str, **kwargs: Any) -> Any:
        self.calls.append((method, url, kwargs))
        if not self.answers:
            raise AssertionError(f"unexpected call {method} {url}")
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


@pytest.fixture
def graph(monkeypatch: pytest.MonkeyPatch, settings_env) -> FakeHttp:
    settings_env(WHATSAPP_API_BASE_URL=GRAPH)
    fake = FakeHttp()
    monkeypatch.setattr(http, "request", fake)
    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send",
                        lambda *args, **kwargs: pytest.fail("a unit test tried the real network"))
    return fake


def response(status: int = 200, payload: Any = None, *, raw: bytes | None = None,
             headers: dict[str, str] | None = None) -> requests.Response:
    """A Graph answer, for the fake http.request (the look-up and sends; media downloads go to media_server)."""
    answer = requests.Response()
    answer.status_code = status
    answer.raw = io.BytesIO(raw if raw is not None else json.dumps(payload).encode())
    answer.headers.update(headers or {})
    return answer


def sent(wamid: str = "wamid.SENT1") -> requests.Response:
    return response(200, {"messaging_product": "whatsapp", "contacts": [{"input": wa.CUSTOMER, "wa_id": wa.CUSTOMER}],
                          "messages": [{"id": wamid}]})


def graph_failure(code: int, status: int = 400, headers: dict[str, str] | None = None) -> requests.Response:
    return response(status, {"error": {"message": f"(#{code}) failure", "type": "OAuthException", "code": code,
                                       "error_data": {"messaging_product": "whatsapp", "details": "..."},
                                       "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam"}}, headers=headers)


def reply(text: str = "Hello Ann", **kw: Any) -> SendRequest:
    return SendRequest(**{"channel": "whatsapp", "inbox_id": wa.PHONE_NUMBER_ID, "recipient": wa.CUSTOMER, "text": text,
                          **kw})


def test_send_posts_a_text_message_to_the_graph_api(channel: WhatsAppChannel, graph: FakeHttp) -> None:
    graph.answers.append(sent("wamid.HBgLMTU1NTEyMzQ1NjcVAgARGBI"))

    result = channel.send(reply("Hello Ann"))

    assert result.provider_message_id == "wamid.HBgLMTU1NTEyMzQ1NjcVAgARGBI"
    [(method, url, kwargs)] = graph.calls
    assert (method, url) == ("POST", f"{GRAPH}/{wa.PHONE_NUMBER_ID}/messages")
    assert kwargs["headers"] == {"Authorization": "Bearer test-whatsapp-token"}
    assert kwargs["json"] == {"messaging_product": "whatsapp", "recipient_type": "individual", "to": wa.CUSTOMER,
                              "type": "text", "text": {"preview_url": False, "body": "Hello Ann"}}


def test_send_quotes_the_message_it_replies_to(channel: WhatsAppChannel, graph: FakeHttp) -> None:
    graph.answers.append(sent())

    channel.send(reply(reply_to="wamid.CUSTOMER1"))

    assert graph.calls[0][2]["json"]["context"] == {"message_id": "wamid.CUSTOMER1"}


def test_send_addresses_a_business_scoped_user_id_as_recipient(channel: WhatsAppChannel, graph: FakeHttp) -> None:
    graph.answers.append(sent())

    channel.send(reply(recipient="US.13491208655302741918"))

    body = graph.calls[0][2]["json"]
    assert body["recipient"] == "US.13491208655302741918" and "to" not in body


def test_send_never_addresses_non_ascii_digits_as_a_phone(channel: WhatsAppChannel, graph: FakeHttp) -> None:
    graph.answers.append(sent())

    channel.send(reply(recipient="\u0661\u0662\u0663"))

    assert "to" not in graph.calls[0][2]["json"]


def test_send_the_longest_allowed_text(channel: WhatsAppChannel, graph: FakeHttp) -> None:
    graph.answers.append(sent())

    channel.send(reply("é" * 4096))

    assert graph.calls[0][2]["json"]["text"]["body"] == "é" * 4096


def test_send_refuses_a_text_over_4096_characters_without_calling_the_network(channel: WhatsAppChannel,
                                                                               graph: FakeHttp) -> None:
    with pytest.raises(PermanentSendError) as failed:
        channel.send(reply("x" * 4097))

    assert "4096" in failed.value.message
    assert graph.calls == []


def test_send_without_an_access_token_fails_without_calling_the_network(channel: WhatsAppChannel, graph: FakeHttp,
                                                                        settings_env) -> None:
    settings_env(WHATSAPP_ACCESS_TOKEN="")

    with pytest.raises(PermanentSendError):
        channel.send(reply())

    assert graph.calls == []


@pytest.mark.parametrize("code", [131047, 131026, 131051, 131008, 100, 190, 368, 131031])
def test_send_permanent_graph_errors(channel: WhatsAppChannel, graph: FakeHttp, code: int) -> None:
    graph.answers.append(graph_failure(code, status=401 if code == 190 else 400))

    with pytest.raises(PermanentSendError) as failed:
        channel.send(reply())

    assert str(code) in failed.value.message


@pytest.mark.parametrize("answer", [
    pytest.param(graph_failure(130429), id="130429 throughput"),
    pytest.param(graph_failure(131056), id="131056 pair rate limit"),
    pytest.param(graph_failure(131057, status=503), id="131057 maintenance"),
    pytest.param(graph_failure(80007), id="80007 rate limit"),
    pytest.param(response(429, raw=b""), id="HTTP 429"),
    pytest.param(response(500, raw=b"Internal Server Error"), id="HTTP 500"),
    pytest.param(graph_failure(1, status=500), id="HTTP 500 with Graph error"),
    pytest.param(response(503, raw=b"<html></html>"), id="HTTP 503"),
])
def test_send_retryable_failures(channel: WhatsAppChannel, graph: FakeHttp, answer: requests.Response) -> None:
    graph.answers.append(answer)

    with pytest.raises(RetryableSendError):
        channel.send(reply())


def test_send_passes_a_retry_after_on(channel: WhatsAppChannel, graph: FakeHttp) -> None:
    graph.answers.append(graph_failure(130429, status=429, headers={"Retry-After": "120"}))

    with pytest.raises(RetryableSendError) as failed:
        channel.send(reply())

    assert failed.value.retry_after == 120.0


def test_send_network_failures_stay_retryable(channel: WhatsAppChannel, graph: FakeHttp) -> None:
    graph.answers.append(RetryableSendError("ConnectTimeout calling the provider"))

    with pytest.raises(RetryableSendError):
        channel.send(reply())


@pytest.mark.parametrize("answer", [
    pytest.param(response(200, raw=b"OK"), id="not JSON"),
    pytest.param(response(200, {"messages": []}), id="no messages"),
    pytest.param(response(200, {"messages": [{"id": ""}]}), id="empty id"),
    pytest.param(response(200, {"messages": [{"id": None}]}), id="null id"),
    pytest.param(response(200, [1]), id="array"),
])
def test_send_accepted_without_an_id_is_not_retried_blind(channel: WhatsAppChannel, graph: FakeHttp,
                                                          answer: requests.Response) -> None:
    # Graph took the message (2xx): a retry could deliver it twice, so the unknown outcome is reported instead.
    graph.answers.append(answer)

    with pytest.raises(PermanentSendError) as failed:
        channel.send(reply())

    assert "unknown" in failed.value.message
    assert len(graph.calls) == 1


# -- fetch_media ----------------------------------------------------------------------------------

MEDIA = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
MEDIA_HEX = hashlib.sha256(MEDIA).hexdigest()
MEDIA_B64 = base64.b64encode(hashlib.sha256(MEDIA).digest()).decode()
CDN = "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1003383421387256&ext=1760000000&hash=ATs"
CDN_HOST = "lookaside.fbsbx.com"
CDN_PATH = CDN.removeprefix(f"https://{CDN_HOST}")
BEARER = "Bearer test-whatsapp-token"


def lookup(url: str = CDN, sha256: str = MEDIA_HEX, mime_type: str = "image/png", **extra: Any) -> requests.Response:
    return response(200, {"url": url, "mime_type": mime_type, "sha256": sha256, "file_size": len(MEDIA),
                          "id": "1003383421387256", "messaging_product": "whatsapp", **extra})


def image(**kw: Any) -> Attachment:
    return Attachment(**{"kind": "image", "provider_media_id": "1003383421387256", "mime_type": "image/jpeg", **kw})


@pytest.fixture(name="media_host")
def media_host_fixture(media_server: MediaServer) -> MediaServer:
    """Meta's media host, played by the local TLS media server: MEDIA at the look-up's URL."""
    media_server.answer(CDN_PATH, 200, {"Content-Type": "image/png"}, MEDIA)
    return media_server


def test_fetch_media_looks_up_the_url_then_downloads_with_the_same_bearer(channel: WhatsAppChannel, graph: FakeHttp,
                                                                         media_host: MediaServer) -> None:
    graph.answers.append(lookup())

    content = channel.fetch_media(image())

    assert (content.data, content.mime_type, content.sha256) == (MEDIA, "image/png", MEDIA_HEX)
    [(method, url, kwargs)] = graph.calls  # the look-up only: the download goes through the guarded download
    assert (method, url) == ("GET", f"{GRAPH}/1003383421387256")
    assert kwargs["headers"] == {"Authorization": BEARER}
    [seen] = media_host.seen
    assert (seen.host, seen.sni, seen.path, seen.authorization) == (CDN_HOST, CDN_HOST, CDN_PATH, BEARER)
    assert media_host.connected == [(CDN_HOST, "157.240.1.1")]  # the public address that was checked


@pytest.mark.parametrize("on_attachment", [MEDIA_HEX, MEDIA_HEX.upper(), MEDIA_B64])
def test_fetch_media_checks_the_webhook_hash_in_hex_or_base64(channel: WhatsAppChannel, graph: FakeHttp,
                                                               media_host: MediaServer, on_attachment: str) -> None:
    graph.answers.append(lookup(sha256="ignored-when-the-webhook-had-one"))

    assert channel.fetch_media(image(sha256=on_attachment)).data == MEDIA


def test_fetch_media_checks_the_lookup_hash_when_the_webhook_had_none(channel: WhatsAppChannel, graph: FakeHttp,
                                                                      media_host: MediaServer) -> None:
    graph.answers.append(lookup(sha256=MEDIA_B64))

    assert channel.fetch_media(image(sha256=None)).sha256 == MEDIA_B64


def test_fetch_media_without_any_hash_still_downloads(channel: WhatsAppChannel, graph: FakeHttp,
                                                      media_host: MediaServer) -> None:
    graph.answers.append(response(200, {"url": CDN, "mime_type": "image/png"}))

    assert channel.fetch_media(image()).data == MEDIA


@pytest.mark.parametrize(("on_attachment", "on_lookup"), [
    (hashlib.sha256(b"other").hexdigest(), MEDIA_HEX),
    (None, hashlib.sha256(b"other").hexdigest()),
    (MEDIA_B64.lower(), MEDIA_HEX),  # base64 is case-sensitive
    ("not-a-hash", MEDIA_HEX),
])
def test_fetch_media_refuses_a_hash_mismatch(channel: WhatsAppChannel, graph: FakeHttp, media_host: MediaServer,
                                             on_attachment: str | None, on_lookup: str) -> None:
    graph.answers.append(lookup(sha256=on_lookup))

    with pytest.raises(MediaError, match="hash"):
        channel.fetch_media(image(sha256=on_attachment))


# Announced: Content-Length says too much before a byte is read. Streamed: chunked, no length, so reading must stop.
SERVED = pytest.mark.parametrize("chunked", [False, True], ids=["announced", "streamed"])


def served(chunked: bool) -> dict[str, str]:
    return {"Transfer-Encoding": "chunked", "Content-Length": ""} if chunked else {}


@SERVED
def test_fetch_media_stops_reading_at_the_size_limit(channel: WhatsAppChannel, graph: FakeHttp,
                                                     media_server: MediaServer, settings_env,
                                                     monkeypatch: pytest.MonkeyPatch, chunked: bool) -> None:
    settings_env(MEDIA_MAX_BYTES="200000")
    graph.answers.append(lookup())
    media_server.answer(CDN_PATH, 200, served(chunked), b"\0" * 1_000_000)
    read: list[int] = []
    real_stream = urllib3.response.HTTPResponse.stream

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        for chunk in real_stream(self, *args, **kwargs):
            read.append(len(chunk))
            yield chunk

    monkeypatch.setattr(urllib3.response.HTTPResponse, "stream", counted)

    with pytest.raises(MediaError, match="limit"):
        channel.fetch_media(image())

    assert sum(read) <= 200000 + 65536  # stopped within one read of the limit, not at the end of the body
    assert (sum(read) == 0) is not chunked  # announced: refused before reading


@SERVED
def test_fetch_media_of_exactly_the_size_limit(channel: WhatsAppChannel, graph: FakeHttp, media_server: MediaServer,
                                               settings_env, chunked: bool) -> None:
    settings_env(MEDIA_MAX_BYTES=str(len(MEDIA)))
    graph.answers.append(lookup())
    media_server.answer(CDN_PATH, 200, served(chunked), MEDIA)

    assert channel.fetch_media(image()).data == MEDIA


@pytest.mark.parametrize("answer", [
    pytest.param(graph_failure(100, status=404), id="404"),
    pytest.param(graph_failure(190, status=401), id="401"),
    pytest.param(response(500, raw=b""), id="500"),
    pytest.param(response(200, raw=b"<html>"), id="not JSON"),
    pytest.param(response(200, [CDN]), id="array"),
    pytest.param(response(200, {"id": "1"}), id="no url"),
    pytest.param(response(200, {"url": 5}), id="url is a number"),
    pytest.param(response(200, {"url": "file:///etc/passwd"}), id="not an http url"),
    pytest.param(RetryableSendError("ConnectTimeout calling the provider"), id="network"),
])
def test_fetch_media_lookup_failures(channel: WhatsAppChannel, graph: FakeHttp, media_host: MediaServer,
                                     answer: Any) -> None:
    graph.answers.append(answer)

    with pytest.raises(MediaError):
        channel.fetch_media(image())

    assert len(graph.calls) == 1
    assert media_host.resolved == [] and media_host.seen == []  # no download after a failed look-up


@pytest.mark.parametrize(("status", "body"), [(404, b"URL expired"), (401, b"")], ids=["expired URL", "refused"])
def test_fetch_media_download_failures(channel: WhatsAppChannel, graph: FakeHttp, media_server: MediaServer,
                                       status: int, body: bytes) -> None:
    graph.answers.append(lookup())
    media_server.answer(CDN_PATH, status, {}, body)

    with pytest.raises(MediaError, match=str(status)):
        channel.fetch_media(image())

    assert len(media_server.seen) == 1


def test_fetch_media_download_network_failure(channel: WhatsAppChannel, graph: FakeHttp,
                                              media_server: MediaServer) -> None:
    graph.answers.append(lookup())
    del media_server.dns[CDN_HOST]  # the name does not resolve

    with pytest.raises(MediaError, match="resolve"):
        channel.fetch_media(image())

    assert media_server.connected == []


def test_fetch_media_connection_lost_mid_download(channel: WhatsAppChannel, graph: FakeHttp,
                                                  media_server: MediaServer) -> None:
    graph.answers.append(lookup())
    # Announces more than it sends, then hangs up.
    media_server.answer(CDN_PATH, 200, {"Content-Length": str(len(MEDIA) + 1000), "Connection": "close"}, MEDIA)

    with pytest.raises(MediaError):
        channel.fetch_media(image())

    assert len(media_server.seen) == 1


def test_fetch_media_without_a_media_id_does_not_call_the_network(channel: WhatsAppChannel, graph: FakeHttp) -> None:
    with pytest.raises(MediaError):
        channel.fetch_media(image(provider_media_id=None))

    assert graph.calls == []


def test_fetch_media_without_an_access_token(channel: WhatsAppChannel, graph: FakeHttp, settings_env) -> None:
    settings_env(WHATSAPP_ACCESS_TOKEN="")

    with pytest.raises(MediaError):
        channel.fetch_media(image())

    assert graph.calls == []


def test_fetch_media_falls_back_to_the_webhook_mime_type(channel: WhatsAppChannel, graph: FakeHttp,
                                                         media_server: MediaServer) -> None:
    graph.answers.append(response(200, {"url": CDN, "sha256": MEDIA_HEX}))
    media_server.answer(CDN_PATH, 200, {}, MEDIA)

    assert channel.fetch_media(image(mime_type="image/jpeg")).mime_type == "image/jpeg"

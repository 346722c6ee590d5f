"""WhatsApp webhooks as the current Cloud API reference describes them: every message type and webhook field, and
the rule that follows from base.Channel.parse: a customer's content always shows as something an agent can read
(text, a typed attachment, a location, or a labelled `summary`); what is not a customer speaking is applied (an
edit, an unsend) or ignored with a counted reason, never stored as an empty message.

Where the payload shapes come from (read, not copied):
- Meta's WhatsApp Cloud API webhook reference, developers.facebook.com/documentation/business-messaging/whatsapp/
  webhooks/reference/: `messages` (the common envelope, text), `messages/edit` (type "edit", edit.original_message_id
  and edit.message, the new text or media with caption), `messages/revoke` (type "revoke", revoke.original_message_id),
  `messages/unsupported` (errors[] with code 131051), `messages/group` (group_id) and `smb_message_echoes`
  (value.message_echoes[], from = the business's number, to = the customer).
- pywa's webhook fixtures (github.com/david-lev/pywa, tests/data/updates/): message.json (every content type,
  referral, unsupported with unsupported.type, reaction removal with an empty or absent emoji, an interactive
  message without content and value-level errors[]), edited_message.json, deleted_message.json,
  outgoing_message.json (echoes, and echoed edits and revokes), system.json (user_changed_number,
  customer_identity_changed), call_permission_update.json, message_status.json (pricing, played, group).
- whatsapp-api-js's types (github.com/Secreto31126/whatsapp-api-js, src/types.ts): order (catalog_id,
  product_items[] with quantity, item_price, currency, and text), call_permission_reply (response, is_permanent,
  expiration_timestamp, response_source), request_welcome, system types, nfm_reply names (flow, address_message).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from switchboard.channels import http
from switchboard.channels.whatsapp import WhatsAppChannel, media_url_allowed
from switchboard.errors import MediaError, PermanentSendError
from switchboard.models import IgnoredEvent, InboundEnvelope, InboundMessage, StatusUpdate, dedupe_id
from tests.support import whatsapp_payloads as wa
from tests.unit.channels.media_server import MediaServer, media_server_fixture  # noqa: F401 (a fixture)
from tests.unit.channels.test_whatsapp import (
    BEARER,
    CDN,
    CDN_HOST,
    CDN_PATH,
    GRAPH,
    JSON_SCALARS,
    MEDIA,
    SHAPED_VALUES,
    FakeHttp,
    assert_parse_rule,
    assert_readable,
    image,
    lookup,
    media_host_fixture,  # noqa: F401 (a fixture)
    reply,
    sent,
)

Event = InboundMessage | StatusUpdate | IgnoredEvent


def parse(payload: Any) -> list[Event]:
    return WhatsAppChannel().parse(wa.webhook(payload))


def parse_one(raw: dict[str, Any], **value_kw: Any) -> Event:
    [event] = parse(wa.inbound(raw, **value_kw))
    return event


def message(raw: dict[str, Any], **value_kw: Any) -> InboundMessage:
    event = parse_one(raw, **value_kw)
    assert isinstance(event, InboundMessage), event
    return event


def ignored(raw: dict[str, Any], **value_kw: Any) -> str:
    event = parse_one(raw, **value_kw)
    assert isinstance(event, IgnoredEvent) and event.channel == "whatsapp", event
    return event.reason


def queued(event: Event) -> Event:
    """Through the queue and back, as the processor will read it (ignored events never go on it)."""
    if isinstance(event, IgnoredEvent):
        return event
    envelope = InboundEnvelope(event=event, received_at="2026-01-01T00:00:00.000Z")
    return InboundEnvelope.model_validate_json(envelope.model_dump_json()).event


# -- every type of the reference: never an empty message -----------------------------------------------------

REFERENCE = [
    pytest.param(wa.text("Does it come in another color?"), id="text"),
    pytest.param(wa.text("", referral=wa.referral()), id="text from an ad (referral)"),
    pytest.param(wa.text("Is this in stock?", context={"from": wa.DISPLAY_PHONE_NUMBER, "id": "wamid.P",
                                                         "referred_product": {"catalog_id": "C1",
                                                                              "product_retailer_id": "SKU1"}}),
                 id="text about a product"),
    pytest.param(wa.text("fwd", context={"forwarded": True}), id="forwarded text"),
    pytest.param(wa.text("fwd", context={"frequently_forwarded": True}), id="frequently forwarded text"),
    pytest.param(wa.media("image", caption="the broken part"), id="image"),
    pytest.param(wa.media("image"), id="image without caption"),
    pytest.param(wa.media("audio", mime_type="audio/ogg; codecs=opus", voice=True), id="voice note"),
    pytest.param(wa.media("audio", mime_type="audio/mpeg", voice=False), id="audio"),
    pytest.param(wa.media("video", mime_type="video/mp4", caption="look"), id="video"),
    pytest.param(wa.media("document", mime_type="application/pdf", filename="invoice.pdf"), id="document"),
    pytest.param(wa.media("sticker", mime_type="image/webp", animated=False), id="sticker"),
    pytest.param(wa.media("sticker", mime_type="image/webp", animated=True), id="animated sticker"),
    pytest.param(wa.location(52.52, 13.405), id="location pin"),
    pytest.param(wa.location(52.52, 13.405, name="Brandenburg Gate", address="Pariser Platz"), id="place"),
    pytest.param(wa.location("north", None, name="Somewhere"), id="location without usable coordinates"),
    pytest.param(wa.contacts(), id="contact card"),
    pytest.param(wa.contacts({"name": {"first_name": ""}}), id="contact card without name or number"),
    pytest.param(wa.button_reply(), id="interactive button reply"),
    pytest.param(wa.list_reply(), id="interactive list reply"),
    pytest.param(wa.flow_reply(), id="interactive flow reply (nfm_reply)"),
    pytest.param(wa.address_reply(), id="interactive address reply (nfm_reply)"),
    pytest.param(wa.call_permission_reply("accept"), id="interactive call permission accepted"),
    pytest.param(wa.call_permission_reply("reject", expiration=None), id="interactive call permission declined"),
    pytest.param(wa.message("interactive", None), id="interactive without content"),
    pytest.param(wa.message("interactive", {"type": "brand_new_reply", "brand_new_reply": {}}),
                 id="interactive of a new kind"),
    pytest.param(wa.template_button(), id="template quick reply (button)"),
    pytest.param(wa.template_button(""), id="template quick reply without text"),
    pytest.param(wa.reaction("\U0001f44d"), id="reaction"),
    pytest.param(wa.reaction(""), id="reaction removed (empty emoji)"),
    pytest.param(wa.reaction(None), id="reaction removed (no emoji)"),
    pytest.param(wa.order(), id="order"),
    pytest.param(wa.order(text_=None), id="order without text"),
    pytest.param(wa.unsupported(), id="unsupported"),
    pytest.param(wa.unsupported_of("poll_creation"), id="unsupported naming its type"),
    pytest.param(wa.message("unknown", None, errors=[{"code": 131051, "title": "Unsupported message type"}]),
                 id="unknown"),
    pytest.param(wa.message("brand_new_type", {"x": 1}), id="a type newer than the reference"),
    pytest.param(wa.text(""), id="empty text"),
    pytest.param(wa.text(" \n\t"), id="blank text"),
    pytest.param(wa.message("text", None), id="text without body"),
    pytest.param(wa.edit(wa.new_text()), id="edit of a text"),
    pytest.param(wa.edit(wa.new_caption()), id="edit of a caption"),
    pytest.param(wa.edit(wa.new_text("")), id="edit to nothing"),
    pytest.param(wa.edit(wa.new_text(), original=""), id="edit without original"),
    pytest.param(wa.revoke(), id="revoke"),
    pytest.param(wa.revoke(""), id="revoke without original"),
    pytest.param(wa.system(), id="system: number changed"),
    pytest.param(wa.identity_change(), id="system: identity changed"),
    pytest.param(wa.request_welcome(), id="request_welcome"),
    pytest.param(wa.group_text(), id="group message"),
]


@pytest.mark.parametrize("raw", REFERENCE)
def test_every_type_of_the_reference_is_readable_or_ignored_with_a_reason(raw: dict[str, Any]) -> None:
    event = queued(parse_one(raw))

    if isinstance(event, IgnoredEvent):
        assert event.reason
    else:
        assert isinstance(event, InboundMessage)
        assert_readable(event)


@pytest.mark.parametrize("raw", REFERENCE)
def test_every_type_of_the_reference_echoed_from_the_business_app_is_readable_or_ignored(raw: dict[str, Any]) -> None:
    raw = {**raw, "from": wa.DISPLAY_PHONE_NUMBER, "to": wa.CUSTOMER}
    [event] = parse(wa.echoes(raw))

    if isinstance(event, InboundMessage):
        assert event.echo and event.echo_via == "whatsapp_business_app" and event.sender_id == wa.CUSTOMER
        assert_readable(queued(event))  # type: ignore[arg-type]
    else:
        assert isinstance(event, IgnoredEvent) and event.reason


# -- edits and unsends ------------------------------------------------------------------------------------


def test_an_edit_changes_the_original_message_and_is_deduplicated_by_its_own_id() -> None:
    event = message(wa.edit(wa.new_text("Actually, two please"), "wamid.ORIG", wamid="wamid.EDIT"))

    assert (event.edited, event.deleted, event.provider_message_id, event.event_id, event.text) == (
        True, False, "wamid.ORIG", "wamid.EDIT", "Actually, two please")
    assert (event.sender_id, event.inbox_id, event.sender_name) == (wa.CUSTOMER, wa.PHONE_NUMBER_ID, wa.CUSTOMER_NAME)
    assert dedupe_id(event) == "wamid.EDIT"  # a second edit of the same message is a new event
    assert event.summary is None


def test_an_edited_caption_keeps_the_attachment_for_a_message_never_seen() -> None:
    # The processor applies the text to the stored message; if the original never arrived, the edit is kept as
    # the message itself, and then the image must come with it.
    event = message(wa.edit(wa.new_caption("now with the receipt", media_id="IMG9")))

    assert (event.edited, event.type, event.text) == (True, "image", "now with the receipt")
    assert [a.provider_media_id for a in event.attachments] == ["IMG9"]


def test_an_edit_that_removes_a_caption_clears_the_text() -> None:
    event = message(wa.edit(wa.new_caption(None)))

    assert (event.edited, event.text, len(event.attachments)) == (True, "", 1)


@pytest.mark.parametrize(("raw", "reason"), [
    (wa.edit(wa.new_text(), original=""), "edit_without_original"),
    (wa.message("edit", {"message": wa.new_text()}), "edit_without_original"),
    (wa.message("edit", None), "edit_without_original"),
    (wa.edit(wa.new_text("")), "edit_without_content"),
    (wa.edit(wa.new_text("   ")), "edit_without_content"),
    (wa.edit({}), "edit_without_content"),
    (wa.edit("fixed text"), "edit_without_content"),  # type: ignore[arg-type]
    (wa.edit({"type": "reaction", "reaction": {"emoji": "x"}}), "edit_without_content"),
])
def test_an_edit_that_names_no_message_or_brings_nothing_never_blanks_one(raw: dict[str, Any], reason: str) -> None:
    assert ignored(raw) == reason


def test_a_revoke_unsends_the_original_message() -> None:
    event = message(wa.revoke("wamid.ORIG", wamid="wamid.REVOKE"))

    assert (event.deleted, event.edited, event.provider_message_id, event.text, event.attachments) == (
        True, False, "wamid.ORIG", "", [])
    assert dedupe_id(event) == "wamid.ORIG#delete"  # one unsend per message, however often it is delivered
    assert queued(event) == event


@pytest.mark.parametrize("body", [{"original_message_id": ""}, {}, None, "wamid.ORIG", {"original_message_id": ["x"]}])
def test_a_revoke_without_its_original_is_ignored(body: Any) -> None:
    assert ignored(wa.message("revoke", body)) == "revoke_without_original"


# -- content types that were lost --------------------------------------------------------------------------


def test_an_order_is_summarized_with_its_items_and_total_and_keeps_its_text() -> None:
    event = message(wa.order(wa.product("SKU123", 3, 9.99, "EUR"), wa.product("SKU7", 1, 5, "EUR"),
                             text_="after 5pm please"))

    assert (event.type, event.text) == ("order", "after 5pm please")
    assert event.summary == ("Order: 2 items (3 \u00d7 SKU123 at 9.99 EUR, 1 \u00d7 SKU7 at 5 EUR); total 34.97 EUR; "
                             "catalog 354160437058781")


def test_an_order_in_two_currencies_or_with_unreadable_amounts_gives_no_total() -> None:
    mixed = message(wa.order(wa.product("A", 1, 2, "EUR"), wa.product("B", 1, 3, "USD")))
    odd = message(wa.order(wa.product("A", "lots", "NaN", "EUR"), wa.product("B", True, 1e300, "EUR")))

    assert mixed.summary == "Order: 2 items (1 \u00d7 A at 2 EUR, 1 \u00d7 B at 3 USD); catalog 354160437058781"
    assert odd.summary == "Order: 2 items (A, B); catalog 354160437058781"


def test_a_long_order_lists_the_first_items_and_says_how_many_more() -> None:
    event = message(wa.order(*[wa.product(f"SKU{i}", 1, "0.5", "EUR") for i in range(25)]))

    assert event.summary is not None
    assert event.summary.startswith("Order: 25 items (1 \u00d7 SKU0 at 0.5 EUR, ")
    assert "1 \u00d7 SKU9 at 0.5 EUR, and 15 more); total 12.5 EUR" in event.summary
    assert "SKU10" not in event.summary


def test_an_empty_order_still_says_it_is_an_order() -> None:
    event = message(wa.message("order", {"product_items": "none"}))

    assert (event.type, event.summary) == ("order", "Order: 0 items")


@pytest.mark.parametrize(("raw", "summary"), [
    (wa.call_permission_reply("accept", expiration=1753186982), "Call permission granted until 2025-07-22 12:23 UTC"),
    (wa.call_permission_reply("accept", permanent=True), "Call permission granted permanently"),
    (wa.call_permission_reply("accept", expiration="soon"), "Call permission granted"),
    (wa.call_permission_reply("reject", expiration=None), "Call permission declined"),
    (wa.call_permission_reply("accept", source="automatic"),
     "Call permission granted until 2025-07-22 12:23 UTC (automatically, by the customer's settings)"),
    (wa.call_permission_reply("maybe"), "Call permission answered"),
])
def test_a_call_permission_reply_is_summarized(raw: dict[str, Any], summary: str) -> None:
    event = message(raw)

    assert (event.type, event.text, event.summary, event.reply_to) == ("interactive", "", summary, "wamid.ASKED")


def test_a_flow_reply_summarizes_the_answers_without_the_flow_token() -> None:
    answers = {"flow_token": "SECRET", "rating": "5", "comment": "fine", "topics": ["a", "b"], "ok": True,
               "nested": {"x": 1}}
    event = message(wa.flow_reply("Sent", json.dumps(answers)))

    assert (event.text, event.payload) == ("Sent", json.dumps(answers))
    assert event.summary == "Form response: rating: 5, comment: fine, topics: a / b, ok: yes"


@pytest.mark.parametrize("response_json", ["not json", "[1, 2]", '{"flow_token": "T"}', "[" * 5000 + "]" * 5000])
def test_a_flow_reply_without_readable_answers_says_a_form_was_sent(response_json: str) -> None:
    assert message(wa.flow_reply("Sent", response_json)).summary == "Form response"


def test_an_address_reply_is_summarized() -> None:
    event = message(wa.address_reply(name="Ann", address="Pariser Platz 1", city="Berlin"))

    assert event.summary == "Address: name: Ann, address: Pariser Platz 1, city: Berlin"


@pytest.mark.parametrize(("raw", "summary"), [
    (wa.unsupported(), "Unsupported message (code 131051: Message type unknown)"),
    (wa.unsupported_of("poll_creation"), "Unsupported message: poll_creation (code 131051: Message type unknown)"),
    (wa.unsupported_of("<b>Poll</b> 2"), "Unsupported message: bpollb2 (code 131051: Message type unknown)"),
    (wa.message("unsupported", None), "Unsupported message"),
    (wa.message("unknown", None, errors=[{"code": 131051, "details": "Message type is not currently supported"}]),
     "Unsupported message (code 131051)"),
    (wa.message("brand_new_type", None, errors=[{"title": "x" * 500}]), f"Unsupported message: brand_new_type "
                                                                         f"({'x' * 199}\u2026)"),
])
def test_unsupported_messages_say_what_is_known(raw: dict[str, Any], summary: str) -> None:
    event = message(raw)

    assert (event.type, event.text, event.summary) == ("unsupported", "", summary)


def test_a_message_from_an_ad_keeps_what_is_known_of_the_ad() -> None:
    event = message(wa.text("I want the offer", referral=wa.referral()))

    assert event.text == "I want the offer"
    assert event.summary == ("From an ad: Spring sale - 20% off all plans (https://fb.me/3cr4Wqqkv, "
                             "id 6680150845617)")


def test_a_message_about_a_product_names_it() -> None:
    context = {"from": wa.DISPLAY_PHONE_NUMBER, "id": "wamid.P",
               "referred_product": {"catalog_id": "C1", "product_retailer_id": "SKU1"}}

    event = message(wa.text("Is this in stock?", context=context))

    assert (event.text, event.summary, event.reply_to) == ("Is this in stock?", "About product SKU1 (catalog C1)",
                                                           "wamid.P")


@pytest.mark.parametrize("emoji", [None, ""])
def test_a_removed_reaction_says_so(emoji: str | None) -> None:
    event = message(wa.reaction(emoji, message_id="wamid.OURS"))

    assert (event.type, event.reaction, event.reply_to, event.summary) == (
        "reaction", "", "wamid.OURS", "Reaction removed")


@pytest.mark.parametrize(("raw", "text", "summary"), [
    (wa.text(""), "", "Empty message"),
    (wa.text(" \n"), " \n", "Empty message"),
    (wa.message("text", {"body": None}), "", "Empty message"),
    (wa.contacts({"name": {}, "phones": []}), "", "Contact card without a name or number"),
    (wa.template_button("", "STOP"), "", "Button pressed (STOP)"),
    (wa.button_reply("yes", ""), "", "Reply chosen (yes)"),
    (wa.message("interactive", None), "", "Interactive message"),
    (wa.location(None, None, name="Home"), "Home", "Location (its coordinates could not be read)"),
])
def test_content_with_nothing_to_read_gets_a_labelled_placeholder(raw: dict[str, Any], text: str,
                                                                  summary: str) -> None:
    event = message(raw)

    assert (event.text, event.summary) == (text, summary)


def test_contact_cards_list_names_numbers_and_addresses() -> None:
    card = {**wa.contact_card("Bob Smith", "+1 555 000 2222"), "emails": [{"email": "bob@example.com"}]}

    assert message(wa.contacts(card)).text == "Bob Smith +1 555 000 2222 bob@example.com"


def test_an_error_reported_for_the_whole_webhook_is_counted_and_shown_on_its_message() -> None:
    # pywa's fixture: an interactive message WhatsApp could not deliver the content of
    value = wa.value([wa.message("interactive", None)])
    value["errors"] = [{"code": 131000, "title": "Something went wrong",
                        "error_data": {"details": "Unsupported webhook payload"}}]

    events = parse(wa.notification(wa.entry(wa.change(value))))

    assert [e.reason for e in events if isinstance(e, IgnoredEvent)] == ["webhook_error"]
    [event] = [e for e in events if isinstance(e, InboundMessage)]
    assert event.summary == "Interactive message; WhatsApp reported an error (code 131000: Something went wrong)"


def test_a_value_with_only_errors_is_counted() -> None:
    value = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": wa.PHONE_NUMBER_ID},
             "errors": [{"code": 131000}]}

    assert [e.reason for e in parse(wa.notification(wa.entry(wa.change(value))))] == ["webhook_error"]  # type: ignore[union-attr]


# -- not a customer speaking: ignored with a reason ------------------------------------------------------------


@pytest.mark.parametrize(("raw", "reason"), [
    (wa.system(), "system_user_changed_number"),
    (wa.message("system", {"type": "customer_changed_number", "body": "x", "wa_id": "15557654321"}),
     "system_customer_changed_number"),
    (wa.identity_change(), "system_customer_identity_changed"),
    (wa.message("system", {"type": "user_changed_user_id", "user_id": "US.2"}), "system_user_changed_user_id"),
    (wa.message("system", {"type": "something_new"}), "system_message"),
    (wa.message("system", None), "system_message"),
    (wa.request_welcome(), "welcome_request"),
    (wa.group_text(), "group_message"),
])
def test_events_that_are_not_a_customer_speaking_are_ignored_with_a_reason(raw: dict[str, Any], reason: str) -> None:
    assert ignored(raw) == reason


@pytest.mark.parametrize(("field", "reason"), [
    ("history", "field_history"),
    ("smb_app_state_sync", "field_smb_app_state_sync"),
    ("calls", "field_calls"),
    ("user_preferences", "field_user_preferences"),
    ("account_update", "field_account_update"),
    ("a_field_from_next_year", "unknown_field"),
])
def test_other_subscriptions_are_counted_never_stored(field: str, reason: str) -> None:
    value = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": wa.PHONE_NUMBER_ID},
             "state_sync": [{"type": "contact", "contact": {"full_name": "Ann", "phone_number": wa.CUSTOMER},
                             "action": "add"}],
             "history": [{"threads": [{"id": wa.CUSTOMER, "messages": [wa.text("old")]}]}],
             "messages": [wa.text("not a message in this field")]}

    events = parse(wa.notification(wa.entry(wa.change(value, field=field))))

    assert events == [IgnoredEvent(channel="whatsapp", reason=reason)]


@pytest.mark.parametrize("inbox_id", ["123/../../me", "123?fields=access_token", "123#x", "%2e%2e", "../123", "12 3",
                                      "PNID", "\u0661\u0662\u0663", "", "1" * 33, "123\n"])
def test_a_message_to_a_phone_number_id_graph_would_never_issue_is_ignored(inbox_id: str) -> None:
    events = parse(wa.inbound(wa.text(), wa.media("image"), phone_number_id=inbox_id))

    assert events == [IgnoredEvent(channel="whatsapp", reason="invalid_inbox_id")] * 2


# -- statuses -------------------------------------------------------------------------------------------------


def test_statuses_with_pricing_and_conversation_objects_are_receipts() -> None:
    sent_ = wa.status("sent", "wamid.OUT", conversation={"id": "c1", "expiration_timestamp": "1760086400",
                                                         "origin": {"type": "utility"}},
                      pricing={"billable": True, "pricing_model": "PMP", "category": "utility", "type": "regular"})

    [update] = parse(wa.receipts(sent_))

    assert update == StatusUpdate(channel="whatsapp", provider_message_id="wamid.OUT", status="sent",
                                  timestamp=1760000100.0)


@pytest.mark.parametrize(("raw", "reason"), [
    (wa.status("played"), "status_played"),
    (wa.status("deleted"), "status_deleted"),
    (wa.status("accepted"), "unknown_status"),
    (wa.status("read", recipient_type="group", recipient_participant_id="1555"), "group_status"),
    ({"status": "read"}, "malformed_status"),
    ("read", "malformed_status"),
])
def test_statuses_without_a_receipt_to_record_are_ignored_harmlessly(raw: Any, reason: str) -> None:
    events = parse(wa.receipts(raw, wa.status("read", "wamid.KEEP")))

    assert [type(e).__name__ for e in events] == ["IgnoredEvent", "StatusUpdate"]
    assert events[0] == IgnoredEvent(channel="whatsapp", reason=reason)


# -- business-app echoes (smb_message_echoes) -----------------------------------------------------------------


def test_an_echo_is_the_business_speaking_to_the_customer() -> None:
    [event] = parse(wa.echoes(wa.echo("text", {"body": "Yes, two left"}, wamid="wamid.E1")))

    assert isinstance(event, InboundMessage)
    assert (event.echo, event.echo_via, event.provider_message_id, event.text) == (
        True, "whatsapp_business_app", "wamid.E1", "Yes, two left")
    assert (event.sender_id, event.identity, event.inbox_id) == (
        wa.CUSTOMER, f"phone:+{wa.CUSTOMER}", wa.PHONE_NUMBER_ID)
    assert event.sender_name is None  # the business wrote it, not the customer
    assert queued(event) == event


def test_an_echoed_image_is_an_attachment() -> None:
    raw = wa.echo("image", {"id": "1003383421387256", "mime_type": "image/jpeg", "caption": "here"})

    [event] = parse(wa.echoes(raw))

    assert isinstance(event, InboundMessage) and event.echo
    assert (event.text, [a.provider_media_id for a in event.attachments]) == ("here", ["1003383421387256"])


def test_an_echo_to_a_customer_known_only_by_business_scoped_id() -> None:
    [event] = parse(wa.echoes(wa.echo("text", {"body": "hi"}, to=None, to_user_id="US.1349120865")))

    assert isinstance(event, InboundMessage)
    assert (event.sender_id, event.identity) == ("US.1349120865", "whatsapp:US.1349120865")


def test_an_echo_with_from_and_to_swapped_still_names_the_customer() -> None:
    # pywa's fixture for echoed edits and revokes has from = the customer and to = the business number
    [event] = parse(wa.echoes(wa.echo("text", {"body": "hi"}, sender=wa.CUSTOMER, to=wa.DISPLAY_PHONE_NUMBER)))

    assert isinstance(event, InboundMessage) and event.sender_id == wa.CUSTOMER


def test_echoed_edits_and_revokes_change_the_business_message() -> None:
    edit = wa.echo("edit", {"original_message_id": "wamid.E1", "message": wa.new_text("Yes, one left")},
                   wamid="wamid.E2")
    revoke = wa.echo("revoke", {"original_message_id": "wamid.E1"}, wamid="wamid.E3")

    edited, deleted = parse(wa.echoes(edit, revoke))

    assert isinstance(edited, InboundMessage) and isinstance(deleted, InboundMessage)
    assert (edited.echo, edited.edited, edited.provider_message_id, edited.event_id, edited.text) == (
        True, True, "wamid.E1", "wamid.E2", "Yes, one left")
    assert (deleted.echo, deleted.deleted, deleted.provider_message_id) == (True, True, "wamid.E1")


@pytest.mark.parametrize("raw", [{"id": "wamid.E", "type": "text", "text": {"body": "x"}}, {"to": wa.CUSTOMER}, None])
def test_an_echo_that_names_no_customer_or_id_is_ignored(raw: Any) -> None:
    assert parse(wa.echoes(raw)) == [IgnoredEvent(channel="whatsapp", reason="malformed_message")]


def test_an_echo_from_a_number_graph_would_never_issue_is_ignored() -> None:
    assert parse(wa.echoes(wa.echo("text", {"body": "x"}), phone_number_id="1/../me")) == [
        IgnoredEvent(channel="whatsapp", reason="invalid_inbox_id")]


# -- properties -----------------------------------------------------------------------------------------------

TYPES = ["text", "image", "audio", "video", "document", "sticker", "location", "contacts", "interactive", "button",
         "reaction", "order", "system", "unsupported", "unknown", "request_welcome", "edit", "revoke", "brand_new"]
CONTENT_KEYS = ["body", "caption", "id", "mime_type", "voice", "animated", "latitude", "longitude", "name", "type",
                "button_reply", "list_reply", "nfm_reply", "call_permission_reply", "title", "response_json",
                "response", "expiration_timestamp", "is_permanent", "payload", "text", "emoji", "message_id",
                "catalog_id", "product_items", "product_retailer_id", "quantity", "item_price", "currency",
                "original_message_id", "message", "errors", "code"]
CONTENT = st.recursive(
    JSON_SCALARS | st.sampled_from([*TYPES, "accept", "flow", "address_message", "wamid.X", "EUR", "1760000000"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(CONTENT_KEYS), inner, max_size=5),
    max_leaves=20)


@st.composite
def message_dicts(draw: st.DrawFn, echo: bool = False) -> dict[str, Any]:
    kind = draw(st.sampled_from(TYPES) | JSON_SCALARS)
    raw: dict[str, Any] = {"id": draw(st.just("wamid.P") | JSON_SCALARS), "type": kind,
                           "timestamp": draw(st.just(wa.TS) | JSON_SCALARS)}
    raw["to" if echo else "from"] = draw(st.just(wa.CUSTOMER) | JSON_SCALARS)
    if kind in ("edit", "revoke"):  # often well-formed around anything, so that both sides are reached
        inner_kind = draw(st.sampled_from(TYPES))
        raw[kind] = {"original_message_id": draw(st.just("wamid.O") | JSON_SCALARS),
                     "message": {"type": inner_kind, inner_kind: draw(CONTENT)}}
    elif isinstance(kind, str):
        raw[kind] = draw(CONTENT)
    for key in draw(st.lists(st.sampled_from(["context", "referral", "errors", "contacts", "group_id",
                                              "from_user_id", "to_user_id", "unsupported"]), max_size=3)):
        raw[key] = draw(CONTENT | SHAPED_VALUES)
    return raw


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=message_dicts(), inbox_id=st.just(wa.PHONE_NUMBER_ID) | JSON_SCALARS)
def test_any_message_is_readable_or_ignored_with_a_known_reason(raw: dict[str, Any], inbox_id: Any) -> None:
    assert_parse_rule(wa.body(wa.inbound(raw, phone_number_id=inbox_id)))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=message_dicts(echo=True))
def test_any_echo_is_readable_or_ignored_with_a_known_reason(raw: dict[str, Any]) -> None:
    assert_parse_rule(wa.body(wa.echoes(raw)))


@settings(max_examples=100, deadline=None)
@given(field=st.text(max_size=30) | st.sampled_from(["messages", "smb_message_echoes", "history"]),
       value=SHAPED_VALUES)
def test_any_change_is_parsed_or_counted_with_a_known_reason(field: str, value: Any) -> None:
    assert_parse_rule(wa.body(wa.notification(wa.entry(wa.change(value, field=field)))))


# -- ids in URLs ---------------------------------------------------------------------------------------------


@pytest.fixture
def graph(monkeypatch: pytest.MonkeyPatch, settings_env) -> FakeHttp:
    settings_env(WHATSAPP_API_BASE_URL=GRAPH)
    fake = FakeHttp()
    monkeypatch.setattr(http, "request", fake)
    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send",
                        lambda *args, **kwargs: pytest.fail("a unit test tried the real network"))
    return fake


HOSTILE_IDS = ["123/../../me", "123?fields=access_token", "123#frag", "../123", "123/messages", "%2e%2e", "12%2F3",
               "1 2", "123\n", "\u0661\u0662\u0663", "", "123@evil.example", "123\\456", "."]


@pytest.mark.parametrize("inbox_id", HOSTILE_IDS)
def test_send_refuses_an_inbox_id_that_is_not_a_phone_number_id(graph: FakeHttp, inbox_id: str) -> None:
    with pytest.raises(PermanentSendError, match="phone_number_id"):
        WhatsAppChannel().send(reply(inbox_id=inbox_id))

    assert graph.calls == []


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(inbox_id=st.text(max_size=20) | st.from_regex(r"[0-9]{1,20}", fullmatch=True))
def test_send_puts_only_a_phone_number_id_into_the_url_escaped(graph: FakeHttp, inbox_id: str) -> None:
    graph.calls.clear()
    graph.answers[:] = [sent()]
    try:
        WhatsAppChannel().send(reply(inbox_id=inbox_id))
    except PermanentSendError:
        assert graph.calls == [] and not (inbox_id.isascii() and inbox_id.isdigit() and len(inbox_id) <= 32)
        return
    [(_, url, _)] = graph.calls
    assert url == f"{GRAPH}/{quote(inbox_id, safe='')}/messages" == f"{GRAPH}/{inbox_id}/messages"


@pytest.mark.parametrize("media_id", [*HOSTILE_IDS, "a.b", "x" * 129])
def test_fetch_media_refuses_a_media_id_graph_would_never_issue(graph: FakeHttp, media_id: str) -> None:
    with pytest.raises(MediaError):
        WhatsAppChannel().fetch_media(image(provider_media_id=media_id))

    assert graph.calls == []


@pytest.mark.parametrize("media_id", ["me", "app", "MEDIA1", "debug_token", "1e5", "0x1f"])
def test_fetch_media_from_meta_takes_only_digits(graph: FakeHttp, settings_env, media_id: str) -> None:
    settings_env(WHATSAPP_API_BASE_URL="https://graph.facebook.com/v21.0")

    with pytest.raises(MediaError):
        WhatsAppChannel().fetch_media(image(provider_media_id=media_id))

    assert graph.calls == []


def test_fetch_media_from_meta_looks_up_a_numeric_id(graph: FakeHttp, settings_env, media_host: MediaServer) -> None:
    settings_env(WHATSAPP_API_BASE_URL="https://graph.facebook.com/v21.0")
    graph.answers.append(lookup())

    WhatsAppChannel().fetch_media(image(provider_media_id="1003383421387256"))

    assert graph.calls[0][1] == "https://graph.facebook.com/v21.0/1003383421387256"
    assert [(s.host, s.path) for s in media_host.seen] == [(CDN_HOST, CDN_PATH)]


def test_fetch_media_looks_up_a_sandbox_style_id(graph: FakeHttp, media_host: MediaServer) -> None:
    graph.answers.append(lookup())

    WhatsAppChannel().fetch_media(image(provider_media_id="MEDIA_9-a"))

    assert graph.calls[0][1] == f"{GRAPH}/MEDIA_9-a"
    assert [(s.host, s.path) for s in media_host.seen] == [(CDN_HOST, CDN_PATH)]


# -- where the token goes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    CDN,
    "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1&ext=2&hash=3",
    "https://LOOKASIDE.fbsbx.com/x",
    "https://lookaside.fbsbx.com:443/x",
    "https://scontent.xx.fbcdn.net/v/t61/123.jpg?_nc_cat=1",
    "https://mmg.whatsapp.net/d/f/abc.enc",
    f"{GRAPH}/media/1/download",
])
def test_media_urls_on_meta_hosts_are_downloaded(graph: FakeHttp, url: str) -> None:
    assert media_url_allowed(url)


@pytest.mark.parametrize("url", [
    "http://lookaside.fbsbx.com/x",  # the token over plain http
    "https://lookaside.fbsbx.com:8443/x",
    "https://lookaside.fbsbx.com.evil.example/x",
    "https://evilfbsbx.com/x",
    "https://fbcdn.net.evil.example/x",
    "https://lookaside.fbsbx.com@evil.example/x",
    "https://evil.example\\@lookaside.fbsbx.com/x",
    "https://evil.example#@lookaside.fbsbx.com/x",
    "https://user:pass@lookaside.fbsbx.com/x",
    "https://lookaside.fbsbx.com\t.evil.example/x",
    "https://lookaside.fbsbx.com\u3002evil.example/x",
    "https://127.0.0.1/x",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::1]/x",
    "https:///lookaside.fbsbx.com/x",
    "https://lookaside.fbsbx.com:99999/x",
    "ftp://lookaside.fbsbx.com/x",
    "https://graph.test.evil.example/v99.0/x",
    "http://graph.test:8080/v99.0/x",  # the sandbox's host on another port or scheme
    "",
])
def test_media_urls_anywhere_else_never_get_the_token(graph: FakeHttp, url: str) -> None:
    assert not media_url_allowed(url)


def test_a_lookup_pointing_elsewhere_is_refused_before_any_download(graph: FakeHttp, media_server: MediaServer) -> None:
    graph.answers.append(lookup(url="https://evil.example/steal"))
    media_server.answer("/steal", 200, {}, MEDIA)

    with pytest.raises(MediaError, match="Meta's media hosts"):
        WhatsAppChannel().fetch_media(image())

    assert [url for _, url, _ in graph.calls] == [f"{GRAPH}/1003383421387256"]
    assert media_server.resolved == [] and media_server.seen == []


def test_the_sandbox_origin_is_allowed_for_the_local_stack(graph: FakeHttp, settings_env) -> None:
    settings_env(WHATSAPP_API_BASE_URL="http://127.0.0.1:3000/_sandbox/whatsapp/v21.0")

    assert media_url_allowed("http://127.0.0.1:3000/_sandbox/whatsapp/media/M1/download")
    assert not media_url_allowed("http://127.0.0.1:3001/_sandbox/whatsapp/media/M1/download")
    assert not media_url_allowed("http://localhost:3000/_sandbox/whatsapp/media/M1/download")


# The download side runs against the local TLS media server (media_server.py), which passes for Meta's media hosts:
# what it saw is what went over the wire (host, SNI, path, Authorization).

def hops(media_server: MediaServer) -> list[tuple[str, str, str | None]]:
    return [(seen.host, seen.path, seen.authorization) for seen in media_server.seen]


@pytest.mark.parametrize(("cdn", "cdn_path"), [
    ("https://scontent.xx.fbcdn.net/v/media.png?oh=sig&oe=exp", "/v/media.png?oh=sig&oe=exp"),
    ("https://mmg.whatsapp.net/d/f/media.enc", "/d/f/media.enc"),
])
def test_a_redirect_between_meta_hosts_is_followed_and_the_token_stays_on_lookaside(
        graph: FakeHttp, media_server: MediaServer, cdn: str, cdn_path: str) -> None:
    graph.answers.append(lookup())
    media_server.answer(CDN_PATH, 302, {"Location": cdn})
    media_server.answer(cdn_path, 200, {}, MEDIA)

    assert WhatsAppChannel().fetch_media(image()).data == MEDIA

    assert [url for _, url, _ in graph.calls] == [f"{GRAPH}/1003383421387256"]
    cdn_host = cdn.split("/")[2]
    # The bearer goes to lookaside.fbsbx.com, the exact host Meta's look-up names; a Meta CDN it redirects to is
    # fetched (its URL is its own signature) without it.
    assert hops(media_server) == [(CDN_HOST, CDN_PATH, BEARER), (cdn_host, cdn_path, None)]
    assert [seen.sni for seen in media_server.seen] == [CDN_HOST, cdn_host]
    assert [name for name, _ in media_server.connected] == [CDN_HOST, cdn_host]


@pytest.mark.parametrize("location", ["https://evil.example/x", "http://lookaside.fbsbx.com/x", "//evil.example/x",
                                      "https://169.254.169.254/latest/meta-data/",
                                      "https://scontent.xx.fbcdn.net/x"])  # a Meta name resolving into the VPC
def test_a_redirect_away_from_meta_is_not_followed(graph: FakeHttp, media_server: MediaServer, location: str) -> None:
    media_server.dns["scontent.xx.fbcdn.net"] = ["169.254.169.254"]
    graph.answers.append(lookup())
    media_server.answer(CDN_PATH, 302, {"Location": location})
    media_server.answer("/x", 200, {}, MEDIA)  # what would be served there
    media_server.answer("/latest/meta-data/", 200, {}, MEDIA)

    with pytest.raises(http.UnsafeUrl):
        WhatsAppChannel().fetch_media(image())

    assert [url for _, url, _ in graph.calls] == [f"{GRAPH}/1003383421387256"]
    assert hops(media_server) == [(CDN_HOST, CDN_PATH, BEARER)]  # nothing sent anywhere after the redirect
    assert [name for name, _ in media_server.connected] == [CDN_HOST]


@pytest.mark.parametrize("status", [300, 302, 304])
def test_a_redirect_without_location_is_no_download(graph: FakeHttp, media_server: MediaServer, status: int) -> None:
    graph.answers.append(lookup())
    media_server.answer(CDN_PATH, status, {}, MEDIA)

    with pytest.raises(MediaError, match=f"answered {status}"):
        WhatsAppChannel().fetch_media(image())

    assert hops(media_server) == [(CDN_HOST, CDN_PATH, BEARER)]


def test_a_redirect_loop_ends(graph: FakeHttp, media_server: MediaServer) -> None:
    graph.answers.append(lookup())
    media_server.answer(CDN_PATH, 302, {"Location": CDN})  # to itself

    with pytest.raises(http.UnsafeUrl, match="redirects"):
        WhatsAppChannel().fetch_media(image())

    assert len(graph.calls) == 1
    assert hops(media_server) == [(CDN_HOST, CDN_PATH, BEARER)] * (http.MAX_REDIRECTS + 1)


def test_a_relative_redirect_stays_on_its_host(graph: FakeHttp, media_server: MediaServer) -> None:
    graph.answers.append(lookup())
    media_server.answer(CDN_PATH, 302, {"Location": "/whatsapp_business/attachments/?mid=2"})
    media_server.answer("/whatsapp_business/attachments/?mid=2", 200, {}, MEDIA)

    assert WhatsAppChannel().fetch_media(image()).data == MEDIA

    assert hops(media_server) == [(CDN_HOST, CDN_PATH, BEARER),
                                  (CDN_HOST, "/whatsapp_business/attachments/?mid=2", BEARER)]

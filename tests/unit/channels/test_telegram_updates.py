"""Every Telegram Update type and Message field (Bot API 10.2, July 2026), checked against one invariant: never an
empty message. Each becomes content an agent can read (text, a typed attachment or a summary), something applied
(an edit, an unsend, a reaction, a block), or an IgnoredEvent with a reason. Parametrized over the whole reference,
and a property test over updates built from it."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from switchboard.channels import telegram
from switchboard.channels.base import WebhookRequest
from switchboard.channels.telegram import TelegramChannel
from switchboard.errors import MalformedPayload
from switchboard.models import ContactEvent, IgnoredEvent, InboundMessage

# The Bot API reference, as of 10.2: every field of Message, every optional field of Update.
BOT_API_MESSAGE_FIELDS = (
    "message_id", "message_thread_id", "direct_messages_topic", "from", "sender_chat", "sender_boost_count",
    "sender_business_bot", "sender_tag", "receiver_user", "ephemeral_message_id", "date", "guest_query_id",
    "business_connection_id", "chat", "forward_origin", "is_topic_message", "is_automatic_forward", "reply_to_message",
    "external_reply", "quote", "reply_to_story", "reply_to_checklist_task_id", "reply_to_poll_option_id", "via_bot",
    "guest_bot_caller_user", "guest_bot_caller_chat", "edit_date", "has_protected_content", "is_from_offline",
    "is_paid_post", "media_group_id", "author_signature", "paid_star_count", "text", "entities", "link_preview_options",
    "suggested_post_info", "effect_id", "rich_message", "animation", "audio", "document", "live_photo", "paid_media",
    "photo", "sticker", "story", "video", "video_note", "voice", "caption", "caption_entities",
    "show_caption_above_media", "has_media_spoiler", "checklist", "contact", "dice", "game", "poll", "venue",
    "location", "new_chat_members", "left_chat_member", "chat_owner_left", "chat_owner_changed", "new_chat_title",
    "new_chat_photo", "delete_chat_photo", "group_chat_created", "supergroup_chat_created", "channel_chat_created",
    "message_auto_delete_timer_changed", "migrate_to_chat_id", "migrate_from_chat_id", "pinned_message", "invoice",
    "successful_payment", "refunded_payment", "users_shared", "chat_shared", "gift", "unique_gift", "gift_upgrade_sent",
    "connected_website", "write_access_allowed", "passport_data", "proximity_alert_triggered", "boost_added",
    "chat_background_set", "checklist_tasks_done", "checklist_tasks_added", "community_chat_added",
    "community_chat_removed", "direct_message_price_changed", "forum_topic_created", "forum_topic_edited",
    "forum_topic_closed", "forum_topic_reopened", "general_forum_topic_hidden", "general_forum_topic_unhidden",
    "giveaway_created", "giveaway", "giveaway_winners", "giveaway_completed", "managed_bot_created",
    "paid_message_price_changed", "poll_option_added", "poll_option_deleted", "suggested_post_approved",
    "suggested_post_approval_failed", "suggested_post_declined", "suggested_post_paid", "suggested_post_refunded",
    "video_chat_scheduled", "video_chat_started", "video_chat_ended", "video_chat_participants_invited", "web_app_data",
    "reply_markup",
)
BOT_API_UPDATE_TYPES = (
    "message", "edited_message", "channel_post", "edited_channel_post", "business_connection", "business_message",
    "edited_business_message", "deleted_business_messages", "guest_message", "message_reaction",
    "message_reaction_count", "inline_query", "chosen_inline_result", "callback_query", "shipping_query",
    "pre_checkout_query", "purchased_paid_media", "poll", "poll_answer", "my_chat_member", "chat_member",
    "chat_join_request", "chat_boost", "removed_chat_boost", "managed_bot", "subscription",
)

BOT_ID = "123"  # the test token's
ANN = {"id": 111, "is_bot": False, "first_name": "Ann", "last_name": "Lee", "username": "ann"}
SHOP = {"id": 999, "is_bot": False, "first_name": "Acme Shop", "username": "acme"}
PRIVATE = {"id": 111, "first_name": "Ann", "username": "ann", "type": "private"}
GROUP = {"id": -1001234, "title": "Support group", "type": "supergroup"}
CHANNEL = {"id": -1009999, "title": "Acme news", "username": "acmenews", "type": "channel"}
PHOTO = [{"file_id": "ph-small", "file_unique_id": "p1", "width": 90, "height": 90, "file_size": 900},
         {"file_id": "ph-big", "file_unique_id": "p2", "width": 1280, "height": 960, "file_size": 90000}]
VIDEO = {"file_id": "vid1", "file_unique_id": "v", "width": 640, "height": 360, "duration": 12, "mime_type": "video/mp4"}
AUDIO = {"file_id": "au1", "file_unique_id": "a", "duration": 180, "mime_type": "audio/mpeg", "file_name": "song.mp3"}
VOICE = {"file_id": "vo1", "file_unique_id": "o", "duration": 4, "mime_type": "audio/ogg"}
ANIMATION = {"file_id": "an1", "file_unique_id": "n", "width": 320, "height": 240, "duration": 3, "mime_type": "video/mp4"}
DOCUMENT = {"file_id": "doc1", "file_unique_id": "d", "file_name": "invoice.pdf", "mime_type": "application/pdf"}
LIVE_PHOTO = {"file_id": "lp1", "file_unique_id": "l", "width": 1080, "height": 1440, "duration": 3, "photo": PHOTO}
STICKER = {"file_id": "st1", "file_unique_id": "s", "type": "regular", "width": 512, "height": 512, "is_animated": True,
           "is_video": False, "emoji": "\U0001f44d", "set_name": "cats"}
POINT = {"latitude": 52.52, "longitude": 13.405}
BOT_MESSAGE = {"message_id": 44, "from": {"id": 123, "is_bot": True, "first_name": "Support"}, "chat": PRIVATE,
               "date": 1759999000, "text": "How can we help?"}
TASKS = [{"id": 1, "text": "Send the receipt", "completion_date": 1760000000, "completed_by_user": ANN},
         {"id": 2, "text": "Check the address", "completion_date": 0}]

# An example of every content and service field, shaped as the reference says.
CONTENT_EXAMPLES: dict[str, Any] = {
    "text": "Where is my order?",
    "rich_message": {"blocks": [
        {"type": "heading", "text": "Order 1234", "size": 2},
        {"type": "paragraph", "text": ["It has ", {"type": "bold", "text": "not"}, " arrived"]},
        {"type": "list", "items": [{"label": "1.", "blocks": [{"type": "paragraph", "text": "blue shirt"}]}]},
        {"type": "photo", "photo": PHOTO, "caption": {"text": "the parcel", "credit": "me"}},
        {"type": "table", "cells": [[{"text": "qty", "is_header": True}, {"text": "2"}]]},
        {"type": "details", "summary": "More", "blocks": [{"type": "pre", "text": "ref 77"}]},
    ]},
    "live_photo": LIVE_PHOTO,
    "paid_media": {"star_count": 50, "paid_media": [{"type": "preview", "width": 100, "height": 100},
                                                    {"type": "photo", "photo": PHOTO}]},
    "photo": PHOTO,
    "animation": ANIMATION, "document": DOCUMENT, "audio": AUDIO, "voice": VOICE, "video": VIDEO,
    "video_note": {"file_id": "vn1", "file_unique_id": "u", "length": 240, "duration": 8},
    "sticker": STICKER,
    "story": {"chat": CHANNEL, "id": 17},
    "checklist": {"title": "Return", "tasks": TASKS},
    "venue": {"location": POINT, "title": "Acme store", "address": "Alexanderplatz 1"},
    "location": POINT | {"live_period": 900, "heading": 90},
    "contact": {"phone_number": "+15551234567", "first_name": "Bob", "user_id": 222},
    "poll": {"id": "p1", "question": "Which plan?", "options": [{"persistent_id": "a", "text": "Basic", "voter_count": 0}],
             "total_voter_count": 0, "is_closed": False, "is_anonymous": True, "type": "regular",
             "allows_multiple_answers": False, "allows_revoting": True},
    "dice": {"emoji": "\U0001f3b2", "value": 4},
    "game": {"title": "Snake", "description": "Eat the apples", "photo": PHOTO},
    "invoice": {"title": "Pro plan", "description": "A year", "start_parameter": "pro", "currency": "EUR",
                "total_amount": 1999},
    "giveaway": {"chats": [CHANNEL], "winners_selection_date": 1760600000, "winner_count": 3,
                 "prize_description": "a T-shirt"},
    "giveaway_winners": {"chat": CHANNEL, "giveaway_message_id": 5, "winners_selection_date": 1760600000,
                         "winner_count": 1, "winners": [ANN]},
    "users_shared": {"request_id": 1, "users": [{"user_id": 222, "first_name": "Bob", "username": "bob"}]},
    "chat_shared": {"request_id": 2, "chat_id": -1005555, "title": "Family"},
    "web_app_data": {"data": '{"size": "M"}', "button_text": "Choose a size"},
    "gift": {"gift": {"id": "g1", "sticker": STICKER, "star_count": 25}, "text": "Thanks for the help!"},
    "unique_gift": {"gift": {"gift_id": "g1", "base_name": "Plush Pepe", "name": "PlushPepe-7", "number": 7,
                             "model": {}, "symbol": {}, "backdrop": {}}, "origin": "transfer"},
    "passport_data": {"data": [{"type": "passport", "hash": "h"}], "credentials": {"data": "x", "hash": "y",
                                                                                     "secret": "z"}},
}
SERVICE_EXAMPLES: dict[str, Any] = {
    "new_chat_members": [ANN], "left_chat_member": ANN, "chat_owner_left": {"new_owner": ANN},
    "chat_owner_changed": {"new_owner": ANN}, "new_chat_title": "Support", "new_chat_photo": PHOTO,
    "delete_chat_photo": True, "group_chat_created": True, "supergroup_chat_created": True,
    "channel_chat_created": True, "message_auto_delete_timer_changed": {"message_auto_delete_time": 86400},
    "migrate_to_chat_id": -1001234, "migrate_from_chat_id": -1234, "pinned_message": BOT_MESSAGE,
    "successful_payment": {"currency": "XTR", "total_amount": 50, "invoice_payload": "p",
                           "telegram_payment_charge_id": "c", "provider_payment_charge_id": "q"},
    "refunded_payment": {"currency": "XTR", "total_amount": 50, "invoice_payload": "p",
                         "telegram_payment_charge_id": "c"},
    "gift_upgrade_sent": {"gift": {"id": "g1", "sticker": STICKER, "star_count": 25}},
    "connected_website": "shop.example.com", "write_access_allowed": {"from_request": True},
    "proximity_alert_triggered": {"traveler": ANN, "watcher": SHOP, "distance": 100},
    "boost_added": {"boost_count": 1}, "chat_background_set": {"type": {"type": "fill"}},
    "checklist_tasks_done": {"checklist_message": BOT_MESSAGE, "marked_as_done_task_ids": [1]},
    "checklist_tasks_added": {"checklist_message": BOT_MESSAGE, "tasks": TASKS},
    "community_chat_added": {"community": {"id": 1}}, "community_chat_removed": {"community": {"id": 1}},
    "direct_message_price_changed": {"are_direct_messages_enabled": True, "direct_message_star_count": 5},
    "forum_topic_created": {"name": "Orders", "icon_color": 7322096}, "forum_topic_edited": {"name": "Returns"},
    "forum_topic_closed": {}, "forum_topic_reopened": {}, "general_forum_topic_hidden": {},
    "general_forum_topic_unhidden": {}, "giveaway_created": {"prize_star_count": 500},
    "giveaway_completed": {"winner_count": 3, "unclaimed_prize_count": 0},
    "managed_bot_created": {"bot": {"id": 77, "is_bot": True, "first_name": "Helper"}},
    "paid_message_price_changed": {"paid_message_star_count": 10},
    "poll_option_added": {"poll_message": BOT_MESSAGE, "option_persistent_id": "c", "option_text": "Enterprise"},
    "poll_option_deleted": {"poll_message": BOT_MESSAGE, "option_persistent_id": "c", "option_text": "Enterprise"},
    "suggested_post_approved": {"send_date": 1760000000}, "suggested_post_approval_failed": {"price": {}},
    "suggested_post_declined": {"comment": "no"}, "suggested_post_paid": {"currency": "XTR"},
    "suggested_post_refunded": {"reason": "post_deleted"}, "video_chat_scheduled": {"start_date": 1760000000},
    "video_chat_started": {}, "video_chat_ended": {"duration": 60},
    "video_chat_participants_invited": {"users": [ANN]},
}
# What the metadata fields look like, for the property test to mix in.
METADATA_EXAMPLES: dict[str, Any] = {
    "message_thread_id": 3, "direct_messages_topic": {"topic_id": 1, "user": ANN}, "sender_boost_count": 2,
    "sender_tag": "VIP", "receiver_user": ANN, "ephemeral_message_id": 9, "guest_query_id": "gq",
    "forward_origin": {"type": "user", "date": 1759990000, "sender_user": SHOP}, "is_topic_message": True,
    "reply_to_message": BOT_MESSAGE, "external_reply": {"origin": {"type": "hidden_user", "date": 1,
                                                                   "sender_user_name": "X"}},
    "quote": {"text": "help", "position": 10}, "reply_to_story": {"chat": CHANNEL, "id": 3},
    "reply_to_checklist_task_id": 2, "reply_to_poll_option_id": "a", "via_bot": {"id": 55, "is_bot": True},
    "edit_date": 1760000300, "has_protected_content": True, "is_from_offline": True, "is_paid_post": True,
    "media_group_id": "album1", "author_signature": "Ann", "paid_star_count": 3,
    "entities": [{"type": "bold", "offset": 0, "length": 5}], "link_preview_options": {"is_disabled": True},
    "effect_id": "5104841245755180586", "caption": "see this", "caption_entities": [], "show_caption_above_media": True,
    "has_media_spoiler": True, "reply_markup": {"inline_keyboard": [[{"text": "Open", "url": "https://example.com"}]]},
}


def message(**content: Any) -> dict[str, Any]:
    return {"message_id": 45, "from": ANN, "chat": PRIVATE, "date": 1760000000, **content}


def parse(update: dict[str, Any]) -> list[Any]:
    body = json.dumps(update).encode()
    return TelegramChannel().parse(WebhookRequest("POST", "/webhooks/telegram", {}, {}, body))


def readable(msg: InboundMessage) -> bool:
    return bool(msg.text.strip() or msg.attachments or msg.summary or msg.location)


def assert_never_empty(events: list[Any]) -> None:
    """The invariant: content to read, something applied, or an ignored event with a reason."""
    for event in events:
        assert isinstance(event, InboundMessage | ContactEvent | IgnoredEvent), event
        if isinstance(event, IgnoredEvent):
            assert event.channel == "telegram" and re.fullmatch(r"[a-z_]{3,40}", event.reason), event
        elif isinstance(event, InboundMessage) and not event.deleted:
            assert readable(event), f"an empty message: {event!r}"
        event.model_dump_json()  # what the queue carries


# -- the reference is covered ---------------------------------------------------------------------------------

def test_every_message_field_of_the_reference_is_classified_once():
    kinds = {"content": set(telegram.CONTENT_FIELDS), "service": telegram.SERVICE_FIELDS,
             "metadata": telegram.METADATA_FIELDS}
    for field in BOT_API_MESSAGE_FIELDS:
        assert sum(field in fields for fields in kinds.values()) == 1, field
    assert set().union(*kinds.values()) == set(BOT_API_MESSAGE_FIELDS)  # nothing classified that does not exist
    assert set(CONTENT_EXAMPLES) == set(telegram.CONTENT_FIELDS) and set(SERVICE_EXAMPLES) == telegram.SERVICE_FIELDS


def test_every_update_type_of_the_reference_is_classified_once():
    assert sorted(telegram.UPDATE_TYPES) == sorted(BOT_API_UPDATE_TYPES)
    assert len(set(telegram.UPDATE_TYPES)) == len(telegram.UPDATE_TYPES)


# -- every Message field -----------------------------------------------------------------------------------------

EXPECTED_CONTENT = {  # field: (type, what the agent reads, attachment kinds)
    "text": ("text", "Where is my order?", []),
    "rich_message": ("text", "Order 1234\nIt has not arrived\n1. blue shirt\nthe parcel me\nqty | 2\nMore\nref 77",
                     ["image"]),
    "live_photo": ("live_photo", "Live photo", ["image", "video"]),
    "paid_media": ("paid_media", "Paid media: 2 items for 50 Stars", ["image"]),
    "photo": ("image", "", ["image"]),
    "animation": ("animation", "", ["video"]), "document": ("document", "", ["document"]),
    "audio": ("audio", "", ["audio"]), "voice": ("voice", "", ["audio"]), "video": ("video", "", ["video"]),
    "video_note": ("video_note", "", ["video"]), "sticker": ("sticker", "\U0001f44d", ["sticker"]),
    "story": ("story", "Story from Acme news (@acmenews, id -1009999) https://t.me/acmenews/s/17", []),
    "checklist": ("checklist", "Return\n[x] Send the receipt\n[ ] Check the address", []),
    "venue": ("location", "Acme store, Alexanderplatz 1", []),
    "location": ("location", "Live location", []),
    "contact": ("contact", "Bob +15551234567", []),
    "poll": ("poll", "Which plan?\n- Basic", []),
    "dice": ("dice", "\U0001f3b2 4", []),
    "game": ("game", "Game: Snake - Eat the apples", []),
    "invoice": ("invoice", "Invoice: Pro plan, 19.99 EUR", []),
    "giveaway": ("giveaway", "Giveaway: 3 winners, a T-shirt, drawn 2025-10-16", []),
    "giveaway_winners": ("giveaway_winners", "Giveaway results: 1 winner: Ann Lee (@ann, id 111)", []),
    "users_shared": ("users_shared", "Shared 1 user: Bob (@bob, id 222)", []),
    "chat_shared": ("chat_shared", "Shared a chat: Family (id -1005555)", []),
    "web_app_data": ("web_app_data", '{"size": "M"}', []),
    "gift": ("gift", "Thanks for the help!", []),
    "unique_gift": ("gift", "Gift: Plush Pepe #7", []),
    "passport_data": ("passport_data", "Telegram Passport data (encrypted: not shown here)", []),
}


@pytest.mark.parametrize("field", telegram.CONTENT_FIELDS)
def test_every_content_field_is_something_an_agent_can_read(field):
    [msg] = parse({"update_id": 1, "message": message(**{field: CONTENT_EXAMPLES[field]})})
    assert_never_empty([msg])
    kind, reads, attachments = EXPECTED_CONTENT[field]
    assert msg.type == kind
    assert reads in (msg.text, msg.summary)
    assert [a.kind for a in msg.attachments] == attachments
    assert all(a.provider_media_id and a.status == "pending" for a in msg.attachments)


@pytest.mark.parametrize("field", telegram.CONTENT_FIELDS)
def test_content_without_its_data_still_says_what_it_was(field):
    # The field there, its object empty or of the wrong type: still never an empty message
    for broken in ({}, [], None, "", 0, True):
        [msg] = parse({"update_id": 1, "message": message(**{field: broken})})
        assert_never_empty([msg])


@pytest.mark.parametrize("field", sorted(telegram.SERVICE_FIELDS))
def test_every_service_message_is_ignored_with_a_reason(field):
    for update_type in ("message", "edited_message"):
        events = parse({"update_id": 1, update_type: message(**{field: SERVICE_EXAMPLES[field]})})
        assert events == [IgnoredEvent(channel="telegram", reason="service_message")]


@pytest.mark.parametrize("field", sorted(telegram.METADATA_FIELDS - {"message_id", "chat", "date", "from"}))
def test_metadata_never_changes_what_a_message_is(field):
    example = METADATA_EXAMPLES.get(field, {"business_connection_id": "BC1", "is_automatic_forward": False,
                                            "sender_chat": CHANNEL, "sender_business_bot": {"id": 5, "is_bot": True},
                                            "guest_bot_caller_user": ANN, "guest_bot_caller_chat": GROUP}.get(field))
    [msg] = parse({"update_id": 1, "message": message(text="hello", **{field: example})})
    assert isinstance(msg, InboundMessage) and msg.text == "hello"
    [alone] = parse({"update_id": 1, "message": message(**{field: example})})  # metadata without any content
    assert_never_empty([alone])


def test_a_channel_post_forwarded_into_its_discussion_group_is_not_a_customer_speaking():
    events = parse({"update_id": 1, "message": message(text="New collection!", chat=GROUP, sender_chat=CHANNEL,
                                                       is_automatic_forward=True)})
    assert events == [IgnoredEvent(channel="telegram", reason="automatic_forward")]


def test_a_live_location_moving_is_not_an_edit():
    moved = message(location=POINT | {"live_period": 900}, edit_date=1760000100)
    assert parse({"update_id": 2, "edited_message": moved}) == [IgnoredEvent(channel="telegram",
                                                                             reason="live_location_update")]


def test_an_edit_of_content_carries_all_of_it():
    [edit] = parse({"update_id": 2, "edited_message": message(photo=PHOTO, caption="better caption",
                                                              edit_date=1760000100)})
    assert edit.edited and edit.text == "better caption" and [a.kind for a in edit.attachments] == ["image"]


def test_an_ephemeral_message_gets_an_id_of_its_own():
    first, second = (parse({"update_id": u, "message": message(text="psst", chat=GROUP, message_id=0,
                                                               ephemeral_message_id=3, date=d)})[0]
                     for u, d in ((1, 1760000000), (2, 1760000500)))
    assert first.provider_message_id == "-1001234:ephemeral:3:1760000000"
    assert first.provider_message_id != second.provider_message_id  # ephemeral ids are reused


# -- every Update type -------------------------------------------------------------------------------------------

def business(**content: Any) -> dict[str, Any]:
    return message(business_connection_id="BC1", **content)


UPDATE_EXAMPLES: dict[str, tuple[Any, str]] = {  # update type: (its object, what it becomes)
    "message": (message(text="hi"), "message"),
    "edited_message": (message(text="hi!", edit_date=1760000100), "edit"),
    "channel_post": (message(text="news", chat=CHANNEL, sender_chat=CHANNEL), "ignored:channel_post"),
    "edited_channel_post": (message(text="news!", chat=CHANNEL), "ignored:channel_post"),
    "business_connection": ({"id": "BC1", "user": SHOP, "user_chat_id": 999, "date": 1, "is_enabled": True},
                            "ignored:business_connection"),
    "business_message": (business(text="Is it in stock?"), "message"),
    "edited_business_message": (business(text="Is it in stock? (size M)", edit_date=1760000100), "edit"),
    "deleted_business_messages": ({"business_connection_id": "BC1", "chat": PRIVATE, "message_ids": [45, 46]},
                                  "deleted"),
    "guest_message": (message(text="@bot hi", guest_query_id="gq1", chat=GROUP), "ignored:guest_message"),
    "message_reaction": ({"chat": PRIVATE, "message_id": 44, "user": ANN, "date": 1760000000, "old_reaction": [],
                          "new_reaction": [{"type": "emoji", "emoji": "\u2764"}]}, "reaction"),
    "message_reaction_count": ({"chat": CHANNEL, "message_id": 3, "date": 1, "reactions": []},
                               "ignored:anonymous_reactions"),
    "inline_query": ({"id": "iq", "from": ANN, "query": "shoes", "offset": ""}, "ignored:inline_query"),
    "chosen_inline_result": ({"result_id": "r", "from": ANN, "query": "shoes"}, "ignored:inline_query"),
    "callback_query": ({"id": "cq1", "from": ANN, "chat_instance": "-1", "message": BOT_MESSAGE, "data": "yes"},
                       "postback"),
    "shipping_query": ({"id": "sq", "from": ANN, "invoice_payload": "p", "shipping_address": {}},
                       "ignored:payment_query"),
    "pre_checkout_query": ({"id": "pq", "from": ANN, "currency": "XTR", "total_amount": 5, "invoice_payload": "p"},
                           "ignored:payment_query"),
    "purchased_paid_media": ({"from": ANN, "paid_media_payload": "p"}, "ignored:paid_media_purchase"),
    "poll": (CONTENT_EXAMPLES["poll"], "ignored:poll_update"),
    "poll_answer": ({"poll_id": "p1", "user": ANN, "option_ids": [0]}, "ignored:poll_answer"),
    "my_chat_member": ({"chat": PRIVATE, "from": ANN, "date": 1760000000,
                        "old_chat_member": {"user": {"id": 123, "is_bot": True}, "status": "member"},
                        "new_chat_member": {"user": {"id": 123, "is_bot": True}, "status": "kicked"}}, "blocked"),
    "chat_member": ({"chat": GROUP, "from": ANN, "date": 1, "old_chat_member": {}, "new_chat_member": {}},
                    "ignored:chat_member_update"),
    "chat_join_request": ({"chat": GROUP, "from": ANN, "user_chat_id": 111, "date": 1}, "ignored:chat_join_request"),
    "chat_boost": ({"chat": CHANNEL, "boost": {"boost_id": "b"}}, "ignored:chat_boost"),
    "removed_chat_boost": ({"chat": CHANNEL, "boost_id": "b", "remove_date": 1}, "ignored:chat_boost"),
    "managed_bot": ({"user": ANN, "bot": {"id": 77, "is_bot": True}}, "ignored:managed_bot"),
    "subscription": ({"user": ANN, "invoice_payload": "p", "state": "canceled"}, "ignored:subscription"),
}


def outcome(event: Any) -> str:
    if isinstance(event, IgnoredEvent):
        return f"ignored:{event.reason}"
    if isinstance(event, ContactEvent):
        return event.event
    if event.deleted:
        return "deleted"
    if event.edited:
        return "edit"
    return {"reaction": "reaction", "postback": "postback"}.get(event.type, "message")


def test_the_examples_cover_every_update_type():
    assert sorted(UPDATE_EXAMPLES) == sorted(BOT_API_UPDATE_TYPES)


@pytest.mark.parametrize("kind", sorted(UPDATE_EXAMPLES))
def test_every_update_type_is_content_applied_or_ignored(kind):
    obj, expected = UPDATE_EXAMPLES[kind]
    events = parse({"update_id": 77, kind: obj})
    assert events and {outcome(e) for e in events} == {expected}
    assert_never_empty(events)


def test_a_business_chat_is_its_own_inbox_with_its_own_ids():
    [msg] = parse({"update_id": 1, "business_message": business(text="Is it in stock?")})
    assert (msg.inbox_id, msg.provider_message_id) == ("business:BC1", "business:BC1:111:45")
    assert (msg.sender_id, msg.identity, msg.echo) == ("111", "telegram:111", False)
    # the bot's own chat with the same person has the same chat id: the ids must not meet
    [direct] = parse({"update_id": 2, "message": message(text="hi")})
    assert direct.provider_message_id == "111:45" != msg.provider_message_id


@pytest.mark.parametrize("extra", [{"from": SHOP}, {"from": SHOP, "is_from_offline": True},
                                   {"sender_business_bot": {"id": 4242, "is_bot": True}}])
def test_the_business_s_own_messages_are_echoes(extra):
    [echo] = parse({"update_id": 1, "business_message": business(text="Yes, two left", **extra)})
    assert (echo.echo, echo.echo_via, echo.text) == (True, "telegram_business", "Yes, two left")
    assert (echo.sender_id, echo.identity, echo.sender_name) == ("111", "telegram:111", None)  # the customer's chat


def test_this_bot_s_own_business_sends_and_the_business_s_edits_are_not_messages():
    mine = business(text="sent by us", sender_business_bot={"id": int(BOT_ID), "is_bot": True})
    mine["from"] = SHOP
    assert parse({"update_id": 1, "business_message": mine}) == [IgnoredEvent(channel="telegram", reason="own_message")]
    edit = business(text="Yes, one left", edit_date=1760000100) | {"from": SHOP}
    assert parse({"update_id": 2, "edited_business_message": edit}) == [
        IgnoredEvent(channel="telegram", reason="business_echo_edit")]


def test_deleted_business_messages_unsend_each_id_once():
    events = parse({"update_id": 3, "deleted_business_messages": {
        "business_connection_id": "BC1", "chat": PRIVATE, "message_ids": [45, 46, 45, "x", None]}})
    assert [(e.provider_message_id, e.deleted, e.inbox_id) for e in events] == [
        ("business:BC1:111:45", True, "business:BC1"), ("business:BC1:111:46", True, "business:BC1")]


@pytest.mark.parametrize("raw", [{"chat": PRIVATE, "message_ids": [1]}, {"business_connection_id": "BC1"},
                                 "nope", {"business_connection_id": "", "chat": PRIVATE}])
def test_malformed_deletions_are_refused(raw):
    with pytest.raises(MalformedPayload):
        parse({"update_id": 3, "deleted_business_messages": raw})


@pytest.mark.parametrize(("old", "new", "reaction", "shown"), [
    ([], [{"type": "emoji", "emoji": "\U0001f44d"}], "\U0001f44d", "\U0001f44d"),
    ([{"type": "emoji", "emoji": "\U0001f44d"}], [{"type": "emoji", "emoji": "\U0001f44d"},
                                                  {"type": "custom_emoji", "custom_emoji_id": "5"}],
     "[custom emoji]", "[custom emoji]"),
    ([], [{"type": "paid"}], "\u2b50", "\u2b50"),
    ([{"type": "emoji", "emoji": "\U0001f44d"}], [], "", "Removed the reaction \U0001f44d"),
])
def test_reactions_are_stored_as_on_the_other_channels(old, new, reaction, shown):
    [event] = parse({"update_id": 9, "message_reaction": {"chat": PRIVATE, "message_id": 44, "user": ANN,
                                                          "date": 1760000000, "old_reaction": old,
                                                          "new_reaction": new}})
    assert (event.type, event.reaction, event.reply_to) == ("reaction", reaction, "111:44")
    assert shown in (event.text, event.summary)
    assert event.provider_message_id == "reaction:111:44:111:9"


def test_a_reaction_that_changed_nothing_is_ignored():
    same = [{"type": "emoji", "emoji": "\U0001f44d"}]
    assert parse({"update_id": 9, "message_reaction": {"chat": PRIVATE, "message_id": 44, "user": ANN, "date": 1,
                                                       "old_reaction": same, "new_reaction": same}}) == [
        IgnoredEvent(channel="telegram", reason="reaction_unchanged")]


def test_a_button_press_without_text_says_what_was_pressed():
    [game] = parse({"update_id": 5, "callback_query": {"id": "cq2", "from": ANN, "chat_instance": "-1",
                                                       "game_short_name": "snake"}})
    assert (game.text, game.summary, game.payload) == ("", "Pressed the button to play snake", "game:snake")


# -- a property over updates built from the reference ----------------------------------------------------------

garbage = st.recursive(st.none() | st.booleans() | st.integers(-2**63, 2**63) | st.floats() | st.text(max_size=8),
                       lambda children: st.lists(children, max_size=3)
                       | st.dictionaries(st.text(max_size=6), children, max_size=3), max_leaves=12)
ALL_EXAMPLES = CONTENT_EXAMPLES | SERVICE_EXAMPLES | METADATA_EXAMPLES
field_values = st.sampled_from(sorted(ALL_EXAMPLES)).flatmap(
    lambda name: st.tuples(st.just(name), st.sampled_from([ALL_EXAMPLES[name]]) | garbage))
messages = st.builds(
    lambda fields, chat, sender, business_id: message(chat=chat, **{"from": sender}, **dict(fields))
    | ({"business_connection_id": business_id} if business_id else {}),
    st.lists(field_values, max_size=5), st.sampled_from([PRIVATE, GROUP, CHANNEL]), st.sampled_from([ANN, SHOP, {}]),
    st.sampled_from([None, "BC1"]))
updates = st.one_of(
    st.builds(lambda kind, msg: {"update_id": 5, kind: msg},
              st.sampled_from(["message", "edited_message", "business_message", "edited_business_message",
                               "channel_post", "guest_message"]), messages),
    st.builds(lambda kind, value: {"update_id": 6, kind: value}, st.sampled_from(sorted(UPDATE_EXAMPLES)),
              st.sampled_from([v for v, _ in UPDATE_EXAMPLES.values()]) | garbage),
    st.builds(lambda kind, value: {"update_id": 7, kind: value}, st.text(max_size=12), garbage),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(updates)
def test_no_update_ever_becomes_an_empty_message(update):
    try:
        events = parse(update)
    except MalformedPayload:
        return  # refused as a whole: a 400, nothing stored
    assert_never_empty(events)

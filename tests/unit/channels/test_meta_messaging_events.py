"""Every Messenger and Instagram webhook event and attachment type in Meta's current references, and arbitrary
ones: a customer's content always comes out as something an agent can read (text, a typed attachment with a URL we
may fetch, or a summary placeholder); what is not the customer speaking is a receipt, an applied event (edit,
unsend) or an IgnoredEvent with a reason. Never an empty message."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as label
from hypothesis import strategies as st

from switchboard.channels.base import WebhookRequest
from switchboard.channels.instagram import InstagramChannel
from switchboard.channels.messenger import INBOX_APP_IDS, MessengerChannel
from switchboard.errors import MalformedPayload
from switchboard.models import IgnoredEvent, InboundMessage, StatusUpdate, dedupe_id

PAGE, PSID, TS = "PAGE1", "PSID1", 1760000000123
CDN = "https://scontent.xx.fbcdn.net/v/t39/1.png?oh=sig&oe=exp"
PAGE_INBOX, IG_INBOX = "263902037430900", "1217981644879628"
CHANNELS = {"messenger": MessengerChannel, "instagram": InstagramChannel}


def request(body: dict[str, Any]) -> WebhookRequest:
    return WebhookRequest("POST", "/webhooks/x", {}, {}, json.dumps(body).encode())


def parse(channel: str, *events: dict[str, Any], where: str = "messaging") -> list[Any]:
    obj = "page" if channel == "messenger" else "instagram"
    return CHANNELS[channel]().parse(request({"object": obj, "entry": [{"id": PAGE, "time": TS, where: list(events)}]}))


def customer(**kind: Any) -> dict[str, Any]:
    return {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": TS, **kind}


def business(**kind: Any) -> dict[str, Any]:
    return {"sender": {"id": PAGE}, "recipient": {"id": PSID}, "timestamp": TS, **kind}


def message(*attachments: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"mid": "m_1", **fields}
    if attachments:
        body["attachments"] = list(attachments)
    return customer(message=body)


def attachment(kind: str, **payload: Any) -> dict[str, Any]:
    return {"type": kind, "payload": payload}


def assert_readable(event: Any, ids: tuple[str, str] | None = (PSID, PAGE)) -> None:
    """The rule of issue 11, for one parsed event (`ids`: the customer and the Page it must name, when known)."""
    if isinstance(event, IgnoredEvent):
        assert event.reason and event.channel in CHANNELS
        return
    if isinstance(event, StatusUpdate):
        assert event.provider_message_id or event.watermark
        return
    assert isinstance(event, InboundMessage), event
    assert event.provider_message_id and event.sender_id and event.inbox_id
    if event.deleted:  # applied: the stored message loses its content
        assert not event.text and not event.attachments and not event.edited
        return
    if event.edited:  # applied: new text for a stored message
        assert event.text.strip()
        return
    assert event.text.strip() or event.attachments or event.summary or event.location, event
    for item in event.attachments:  # a typed file we may fetch: HTTPS, or the configured Graph host (the sandbox)
        assert item.kind and item.url and item.url.startswith("https://"), item
    if event.echo:  # the business's answer: the customer is the echo's recipient
        assert event.echo_via in ("page_inbox", "instagram_inbox")
    if ids:
        assert (event.sender_id, event.inbox_id) == ids
    assert type(event).model_validate_json(event.model_dump_json()) == event  # what the queue carries reads back


# (channel, raw event, expected (kind, type-or-reason), and fields the result must have)
CATALOGUE: list[tuple[str, str, dict[str, Any], tuple[str, str], dict[str, Any]]] = [
    # -- Messenger: messages --------------------------------------------------------------------------
    ("messenger", "text", message(text="hi"), ("message", "text"), {"text": "hi"}),
    ("messenger", "quick reply", message(text="Yes", quick_reply={"payload": "YES"}), ("message", "text"),
     {"payload": "YES"}),
    ("messenger", "reply", message(text="that", reply_to={"mid": "m_0"}), ("message", "text"), {"reply_to": "m_0"}),
    *[("messenger", kind, message(attachment(kind, url=CDN)), ("message", kind), {"summary": None})
      for kind in ("image", "video", "audio", "file")],
    ("messenger", "image without a URL", message(attachment("image")), ("message", "image"),
     {"summary": "Image (no file received)"}),
    ("messenger", "image from a plain-HTTP URL", message(attachment("image", url="http://127.0.0.1/x.png")),
     ("message", "image"), {"attachments": [], "summary": "Image (no file received)"}),
    ("messenger", "sticker, older form", message(attachment("image", url=CDN, sticker_id=369239263222822)),
     ("message", "sticker"), {"attachments": [{"kind": "sticker", "provider_media_id": "369239263222822"}]}),
    ("messenger", "sticker, new form", message(attachment("sticker", url=CDN, sticker_id=767226160478561)),
     ("message", "sticker"), {"attachments": [{"kind": "sticker", "provider_media_id": "767226160478561"}]}),
    ("messenger", "sticker during the transition (both forms)",
     message(attachment("sticker", url=CDN, sticker_id=7672), attachment("image", url=CDN + "&2", sticker_id=7672)),
     ("message", "sticker"), {"attachments": [{"kind": "sticker", "provider_media_id": "7672"}]}),
    ("messenger", "sticker without its image", message(attachment("sticker", sticker_id=7672)),
     ("message", "sticker"), {"summary": "Sticker"}),
    ("messenger", "sticker id alone", message(sticker_id=369239263222822), ("message", "sticker"),
     {"summary": "Sticker"}),
    ("messenger", "location", message({"type": "location", "title": "Home",
                                       "payload": {"coordinates": {"lat": 52.5, "long": 13.4}}}),
     ("message", "location"), {"text": "Home"}),
    ("messenger", "fallback link", message({"type": "fallback", "title": "An article", "url": "https://e.com/a"}),
     ("message", "fallback"), {"text": "An article https://e.com/a"}),
    ("messenger", "fallback without payload", message({"type": "fallback"}), ("message", "fallback"),
     {"text": "[link]"}),
    ("messenger", "template", message(attachment("template", template_type="generic", elements=[{"title": "Shoes"}])),
     ("message", "template"), {"text": "Shoes"}),
    ("messenger", "product template", message(attachment("template", product={"elements": [
        {"id": "1", "retailer_id": "r1", "title": "Blue shoes"}]})), ("message", "template"),
     {"summary": "Product: Blue shoes"}),
    ("messenger", "product", message(attachment("product", elements=[{"title": "Red hat"}])), ("message", "product"),
     {"summary": "Product: Red hat"}),
    *[("messenger", kind, message(attachment(kind, url=CDN, title="Our new collection", reel_video_id="99")),
       ("message", kind), {"text": "Our new collection"}) for kind in ("reel", "ig_reel", "post", "ig_post")],
    ("messenger", "appointment booking", message(attachment("appointment_booking", title="Haircut")),
     ("message", "appointment_booking"), {"summary": "Appointment booking: Haircut"}),
    ("messenger", "attachment of a type not known yet", message(attachment("hologram", url=CDN)),
     ("message", "unsupported"), {"summary": "Unsupported attachment (hologram)"}),
    ("messenger", "unsupported", message(is_unsupported=True), ("message", "unsupported"),
     {"summary": "Unsupported message"}),
    ("messenger", "nothing in it", message(), ("message", "unsupported"), {"summary": "Unsupported message"}),
    ("messenger", "whitespace only", message(text="  "), ("message", "text"), {"summary": "Unsupported message"}),
    ("messenger", "first message from an ad", message(text="Is it in stock?", referral={
        "ref": "spring", "ad_id": "6045", "source": "ADS", "type": "OPEN_THREAD",
        "ads_context_data": {"ad_title": "Spring sale", "photo_url": CDN}}), ("message", "text"),
     {"summary": "From an ad “Spring sale”, ad id 6045, ref spring"}),
    # -- Messenger: other customer actions ---------------------------------------------------------------
    ("messenger", "postback", customer(postback={"mid": "m_pb", "title": "Talk to us", "payload": "HUMAN"}),
     ("message", "postback"), {"text": "Talk to us", "payload": "HUMAN"}),
    ("messenger", "postback without title", customer(postback={"payload": "GET_STARTED"}), ("message", "postback"),
     {"summary": "Tapped a button"}),
    ("messenger", "get started from an m.me link", customer(postback={
        "title": "Get Started", "payload": "GET_STARTED", "referral": {"ref": "promo", "source": "SHORTLINK",
                                                                        "type": "OPEN_THREAD"}}),
     ("message", "postback"), {"summary": "From a link, ref promo"}),
    ("messenger", "referral from an m.me link", customer(referral={"ref": "promo", "source": "SHORTLINK",
                                                                   "type": "OPEN_THREAD"}),
     ("message", "referral"), {"summary": "From a link, ref promo"}),
    ("messenger", "referral from an ad", customer(referral={"ref": "x", "ad_id": "6045", "source": "ADS",
                                                            "type": "OPEN_THREAD"}),
     ("message", "referral"), {"summary": "From an ad, ad id 6045, ref x"}),
    ("messenger", "referral from the chat plugin", customer(referral={
        "source": "CUSTOMER_CHAT_PLUGIN", "type": "OPEN_THREAD", "referer_uri": "https://shop.example/p/1"}),
     ("message", "referral"), {"summary": "From customer chat plugin, https://shop.example/p/1"}),
    ("messenger", "reaction", customer(reaction={"mid": "m_ours", "action": "react", "reaction": "love",
                                                 "emoji": "\u2764"}), ("message", "reaction"), {"reaction": "\u2764"}),
    ("messenger", "reaction removed", customer(reaction={"mid": "m_ours", "action": "unreact"}),
     ("message", "reaction"), {"reaction": "", "summary": "Removed their reaction"}),
    ("messenger", "feedback form", customer(messaging_feedback={"feedback_screens": [{"screen_id": 0, "questions": {
        "q1": {"type": "csat", "payload": "5", "follow_up": {"type": "free_form", "payload": "Quick!"}}}}]}),
     ("message", "feedback"), {"summary": "Feedback: q1: 5 (Quick!)"}),
    # -- Messenger: applied -------------------------------------------------------------------------------
    ("messenger", "edit", customer(message_edit={"mid": "m_1", "text": "fixed", "num_edit": 1}), ("edit", "text"),
     {"text": "fixed"}),
    ("messenger", "unsend", message(is_deleted=True), ("deleted", "text"), {"provider_message_id": "m_1"}),
    # -- Messenger: receipts and ignored ----------------------------------------------------------------------
    ("messenger", "delivery", customer(delivery={"mids": ["m_a"], "watermark": TS}), ("status", "delivered"), {}),
    ("messenger", "read", customer(read={"watermark": TS}), ("status", "read"), {}),
    ("messenger", "edit without text", customer(message_edit={"mid": "m_1", "text": ""}),
     ("ignored", "edit_without_text"), {}),
    ("messenger", "optin", customer(optin={"type": "notification_messages", "payload": "x",
                                           "notification_messages_token": "t"}), ("ignored", "optin"), {}),
    ("messenger", "account linking", customer(account_linking={"status": "linked", "authorization_code": "c"}),
     ("ignored", "account_linking"), {}),
    *[("messenger", kind, customer(**{kind: {"previous_owner_app_id": "1", "new_owner_app_id": "2"}}),
       ("ignored", "handover"), {})
      for kind in ("pass_thread_control", "take_thread_control", "request_thread_control", "app_roles")],
    ("messenger", "policy enforcement", customer(policy_enforcement={"action": "block", "reason": "spam"}),
     ("ignored", "policy_enforcement"), {}),
    ("messenger", "game play", customer(game_play={"game_id": "1", "player_id": "2"}), ("ignored", "game_play"), {}),
    ("messenger", "a kind of event not known yet", customer(hologram={"x": 1}), ("ignored", "unknown_event"), {}),
    ("messenger", "the Page's own reaction", business(reaction={"mid": "m_1", "action": "react", "emoji": "x"}),
     ("ignored", "business_event"), {}),
    ("messenger", "echo of our own send", business(message={"mid": "m_e", "text": "hi", "is_echo": True,
                                                            "app_id": 1517776481860111, "metadata": "sb"}),
     ("ignored", "echo"), {}),
    ("messenger", "echo without app id", business(message={"mid": "m_e", "text": "hi", "is_echo": True}),
     ("ignored", "echo"), {}),
    ("messenger", "echo of a person's answer in the Page inbox", business(message={
        "mid": "m_e", "text": "We open at 9", "is_echo": True, "app_id": int(PAGE_INBOX)}),
     ("echo", "text"), {"text": "We open at 9", "echo_via": "page_inbox", "sender_id": PSID, "inbox_id": PAGE}),
    ("messenger", "sticker echoed from the Page inbox", business(message={
        "mid": "m_e", "is_echo": True, "app_id": PAGE_INBOX, "attachments": [attachment("sticker", url=CDN,
                                                                                         sticker_id=1)]}),
     ("echo", "sticker"), {"echo_via": "page_inbox"}),
    # -- Instagram -------------------------------------------------------------------------------------------
    ("instagram", "text", message(text="hi"), ("message", "text"), {"text": "hi"}),
    *[("instagram", kind, message(attachment(kind, url=CDN)), ("message", kind), {})
      for kind in ("image", "video", "audio", "file")],
    ("instagram", "shared post", message(attachment("share", url=CDN)), ("message", "share"),
     {"text": "[shared post]"}),
    ("instagram", "ig_post", message(attachment("ig_post", url=CDN, title="New in", ig_post_media_id="17")),
     ("message", "ig_post"), {"text": "New in"}),
    ("instagram", "ig_reel", message(attachment("ig_reel", url=CDN, title="Behind the scenes",
                                                reel_video_id="17900")),
     ("message", "ig_reel"), {"text": "Behind the scenes",
                              "attachments": [{"kind": "video", "provider_media_id": "17900", "url": CDN}]}),
    ("instagram", "ig_reel without its media", message(attachment("ig_reel", title="A reel", reel_video_id="1")),
     ("message", "ig_reel"), {"text": "A reel", "attachments": []}),
    ("instagram", "reel", message(attachment("reel", url=CDN)), ("message", "reel"), {"text": "[shared reel]"}),
    ("instagram", "story mention", message(attachment("story_mention", url=CDN)), ("message", "story_mention"),
     {"text": "Mentioned you in their story", "attachments": [{"kind": "file", "url": CDN}]}),
    ("instagram", "shared story", message(attachment("ig_story", url=CDN)), ("message", "ig_story"),
     {"text": "[shared story]"}),
    ("instagram", "story reply", message(text="love it", reply_to={"story": {"url": CDN, "id": "1790"}}),
     ("message", "story_reply"), {"text": "love it", "attachments": [{"kind": "file", "url": CDN}]}),
    ("instagram", "story reply, story expired", message(reply_to={"story": {"id": "1790"}}),
     ("message", "story_reply"), {"text": "Replied to your story"}),
    ("instagram", "heart", message(attachment("like_heart")), ("message", "like_heart"),
     {"summary": "Sent a heart \u2764\ufe0f"}),
    ("instagram", "reaction", customer(reaction={"mid": "m_ours", "action": "react", "reaction": "love",
                                                 "emoji": "\u2764\ufe0f"}), ("message", "reaction"),
     {"reaction": "\u2764\ufe0f"}),
    ("instagram", "reaction removed", customer(reaction={"mid": "m_ours", "action": "unreact"}),
     ("message", "reaction"), {"summary": "Removed their reaction"}),
    ("instagram", "unsupported", message(is_unsupported=True), ("message", "unsupported"),
     {"summary": "Unsupported message"}),
    ("instagram", "product from the shop", message(text="Do you have it in M?", referral={"product": {"id": "77"}}),
     ("message", "text"), {"summary": "About product 77"}),
    ("instagram", "postback", customer(postback={"mid": "m_pb", "title": "Track order", "payload": "TRACK"}),
     ("message", "postback"), {"text": "Track order"}),
    ("instagram", "referral from an ig.me link", customer(referral={"ref": "bio", "source": "IG_ME",
                                                                    "type": "OPEN_THREAD"}),
     ("message", "referral"), {"summary": "From ig me, ref bio"}),
    ("instagram", "unsend", message(is_deleted=True), ("deleted", "text"), {}),
    ("instagram", "edit", customer(message_edit={"mid": "m_1", "text": "fixed", "num_edit": 2}), ("edit", "text"),
     {}),
    ("instagram", "seen", customer(read={"mid": "m_ours"}), ("status", "read"), {}),
    ("instagram", "messaging_seen", customer(messaging_seen={"watermark": TS}), ("status", "read"), {}),
    ("instagram", "optin", customer(optin={"type": "notification_messages", "payload": "x"}), ("ignored", "optin"),
     {}),
    ("instagram", "handover", customer(pass_thread_control={"new_owner_app_id": IG_INBOX}), ("ignored", "handover"),
     {}),
    ("instagram", "echo (ours or another app's)", business(message={"mid": "m_e", "text": "x", "is_echo": True}),
     ("ignored", "echo"), {}),
    ("instagram", "echo of a person's answer in Instagram's inbox", business(message={
        "mid": "m_e", "text": "Thanks!", "is_echo": True, "app_id": IG_INBOX}),
     ("echo", "text"), {"echo_via": "instagram_inbox", "sender_id": PSID}),
]


def outcome(event: Any) -> tuple[str, str]:
    if isinstance(event, IgnoredEvent):
        return "ignored", event.reason
    if isinstance(event, StatusUpdate):
        return "status", event.status
    kind = "deleted" if event.deleted else "edit" if event.edited else "echo" if event.echo else "message"
    return kind, event.type


@pytest.mark.parametrize(("channel", "raw", "expected", "fields"),
                         [pytest.param(c, raw, e, f, id=f"{c}: {name}") for c, name, raw, e, f in CATALOGUE])
def test_every_event_and_attachment_type_is_readable_applied_or_ignored(channel, raw, expected, fields):
    events = parse(channel, raw)
    assert events, "nothing came out: the event was lost"
    for event in events:
        assert_readable(event)
    first = events[0]
    assert outcome(first) == expected
    for name, value in fields.items():
        actual = getattr(first, name)
        if name == "attachments":
            assert [a.model_dump(include=set(v)) for a, v in zip(actual, value, strict=True)] == value
        else:
            assert actual == value, name


def test_the_catalogue_covers_every_type_in_metas_references():
    # Messenger's messages reference and Instagram's: every attachment type and every messaging event field.
    attachment_types = {"image", "audio", "video", "file", "sticker", "reel", "ig_reel", "post", "ig_post",
                        "appointment_booking", "fallback", "template", "location", "share", "story_mention",
                        "ig_story", "like_heart", "product"}
    events = {"message", "message_edit", "postback", "reaction", "referral", "delivery", "read", "messaging_seen",
              "optin", "account_linking", "pass_thread_control", "take_thread_control", "request_thread_control",
              "messaging_feedback", "policy_enforcement", "game_play", "app_roles"}
    text = json.dumps([raw for _, _, raw, _, _ in CATALOGUE])
    assert all(f'"type": "{kind}"' in text for kind in attachment_types)
    assert all(f'"{kind}":' in text for kind in events)


def test_a_customer_message_on_standby_is_the_customers():
    # Given another app owns the thread (a bot, or Meta's inbox after a person answered there)
    events = parse("messenger", message(text="still there?"), customer(read={"watermark": TS}),
                   business(message={"mid": "m_bot", "text": "Bot here", "is_echo": True, "app_id": 555}),
                   where="standby")
    # Then what the customer wrote is theirs to answer, the receipt applies, and the bot's reply is not ours to show
    assert [outcome(e) for e in events] == [("message", "text"), ("status", "read"), ("ignored", "echo")]
    assert (events[0].text, events[0].sender_id, events[0].inbox_id) == ("still there?", PSID, PAGE)


def test_standby_and_messaging_in_one_entry_are_both_read():
    body = {"object": "page", "entry": [{"id": PAGE, "time": TS, "messaging": [message(text="one")],
                                         "standby": [customer(message={"mid": "m_2", "text": "two"})]}]}
    assert [e.text for e in MessengerChannel().parse(request(body))] == ["one", "two"]


def test_instagram_standby_and_handover_in_the_changes_shape():
    body = {"object": "instagram", "entry": [{"id": PAGE, "time": TS, "changes": [
        {"field": "standby", "value": customer(message={"mid": "m_s", "text": "hello?"})},
        {"field": "messaging_handover", "value": customer(pass_thread_control={"new_owner_app_id": IG_INBOX})}]}]}
    events = InstagramChannel().parse(request(body))
    assert [outcome(e) for e in events] == [("message", "text"), ("ignored", "handover")]


def test_an_unsend_is_a_delete_of_the_stored_message_not_an_edit():
    (event,) = parse("messenger", message(is_deleted=True, text="ignored"))
    assert (event.deleted, event.edited, event.provider_message_id, event.text, event.attachments) == (
        True, False, "m_1", "", [])
    assert dedupe_id(event) == "m_1#delete"


def test_an_inbox_echo_unsent_by_the_business_removes_it_too():
    (event,) = parse("messenger", business(message={"mid": "m_e", "is_echo": True, "app_id": PAGE_INBOX,
                                                     "is_deleted": True}))
    assert (event.deleted, event.provider_message_id, event.sender_id) == (True, "m_e", PSID)


def test_the_inbox_app_ids_are_metas():
    assert {PAGE_INBOX, IG_INBOX} == INBOX_APP_IDS


@pytest.mark.parametrize("url", ["http://cdn.example/x.png", "ftp://cdn/x", "file:///etc/passwd", "//cdn/x",
                                 "https://", "javascript:alert(1)", "http://[::1"])
def test_media_urls_from_a_payload_are_https_only(url):
    (event,) = parse("messenger", message(attachment("image", url=url)))
    assert event.attachments == [] and event.summary == "Image (no file received)"


def test_the_sandbox_host_may_serve_media_over_plain_http(settings_env):
    settings_env(MESSENGER_API_BASE_URL="http://127.0.0.1:3000/_sandbox/messenger/v21.0")
    local = "http://127.0.0.1:3000/_sandbox/messenger/media/M1"
    (event,) = parse("messenger", message(attachment("image", url=local), attachment("image", url="http://127.0.0.1:4000/x")))
    assert [a.url for a in event.attachments] == [local]


# -- arbitrary entries ----------------------------------------------------------------------------------------------

ATTACHMENT_TYPES = ["image", "audio", "video", "file", "sticker", "reel", "ig_reel", "post", "ig_post", "share",
                    "appointment_booking", "fallback", "template", "product", "location", "story_mention", "ig_story",
                    "like_heart", "unsupported_type", "", "IMAGE"]
EVENT_KEYS = ["message", "message_edit", "postback", "reaction", "referral", "delivery", "read", "messaging_seen",
              "optin", "account_linking", "pass_thread_control", "take_thread_control", "request_thread_control",
              "messaging_feedback", "policy_enforcement", "app_roles", "game_play", "response_feedback", "nonsense"]
texts = st.one_of(st.text(max_size=12), st.sampled_from(["", " ", "\n\t", "\ud800", "\u200b", "hi", "1" * 300]))
anything = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | texts,
                        lambda c: st.lists(c, max_size=3) | st.dictionaries(texts, c, max_size=3), max_leaves=10)
urls = st.sampled_from([CDN, "https://cdn/x.mp4", "http://cdn/x", "ftp://x", "", "https://", "javascript:x"]) | texts
payloads = st.fixed_dictionaries({}, optional={
    "url": urls, "sticker_id": st.integers(0, 10**15) | texts, "title": texts, "reel_video_id": texts,
    "coordinates": st.fixed_dictionaries({}, optional={"lat": anything, "long": anything}),
    "elements": st.lists(st.fixed_dictionaries({}, optional={"title": texts}), max_size=2),
    "product": st.fixed_dictionaries({}, optional={"elements": st.lists(st.fixed_dictionaries(
        {}, optional={"title": texts}), max_size=2)})}) | anything
attachments = st.fixed_dictionaries({}, optional={"type": st.sampled_from(ATTACHMENT_TYPES) | texts,
                                                  "payload": payloads, "title": texts, "url": urls}) | anything
referrals = st.fixed_dictionaries({}, optional={
    "ref": texts, "source": st.sampled_from(["ADS", "SHORTLINK", "CUSTOMER_CHAT_PLUGIN", "IG_ME"]) | texts,
    "ad_id": texts, "ads_context_data": st.fixed_dictionaries({}, optional={"ad_title": texts}),
    "product": st.fixed_dictionaries({}, optional={"id": texts}), "referer_uri": texts}) | anything
messages = st.fixed_dictionaries({"mid": st.sampled_from(["m_1", "m_2"]) | texts}, optional={
    "text": texts, "attachments": st.lists(attachments, max_size=3),
    "is_echo": st.booleans() | anything, "app_id": st.sampled_from([PAGE_INBOX, int(IG_INBOX), 1517776481860111, ""]),
    "is_deleted": st.booleans(), "is_unsupported": st.booleans(), "sticker_id": texts | st.integers(),
    "quick_reply": st.fixed_dictionaries({}, optional={"payload": texts}), "metadata": texts,
    "reply_to": st.fixed_dictionaries({}, optional={"mid": texts, "story": st.fixed_dictionaries(
        {}, optional={"url": urls, "id": texts})}), "referral": referrals})
bodies = st.fixed_dictionaries({}, optional={
    "mid": texts, "text": texts, "title": texts, "payload": texts, "action": st.sampled_from(["react", "unreact"]),
    "emoji": texts, "reaction": texts, "watermark": st.integers(0, 2 * TS) | texts, "mids": st.lists(texts, max_size=2),
    "num_edit": st.integers(0, 3), "referral": referrals, "feedback_screens": anything}) | referrals | anything
ids = st.sampled_from([PSID, PAGE]) | st.sampled_from([PSID, PAGE]) | st.sampled_from(["", None, 5]) | texts
raw_events = st.builds(
    lambda sender, recipient, ts, key, body, extra: {"sender": {"id": sender}, "recipient": {"id": recipient},
                                                     "timestamp": ts, key: body, **extra},
    ids, ids, st.sampled_from([TS, 1760000000, "soon", None, -1, 10**20]),
    st.just("message") | st.sampled_from(EVENT_KEYS), st.one_of(messages, bodies),
    st.dictionaries(st.sampled_from(EVENT_KEYS), st.one_of(messages, bodies), max_size=1))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(channel=st.sampled_from(sorted(CHANNELS)), where=st.sampled_from(["messaging", "standby"]),
       raws=st.lists(raw_events | anything, min_size=1, max_size=4))
def test_any_messaging_entry_gives_readable_messages_receipts_or_ignored_events(channel, where, raws):
    try:
        out = parse(channel, *raws, where=where)
    except MalformedPayload:
        raise AssertionError("a well-formed envelope is never refused for one odd event") from None
    for parsed in out:
        label(":".join(outcome(parsed)) if not isinstance(parsed, InboundMessage) else outcome(parsed)[0])
        assert_readable(parsed, ids=None)

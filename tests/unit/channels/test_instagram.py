"""Instagram: Messenger-shaped events under object "instagram", stories and shares, seen receipts, 1000-byte texts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.channels import http, registry
from switchboard.channels.base import WebhookRequest
from switchboard.channels.instagram import InstagramChannel
from switchboard.errors import MalformedPayload, MediaError, PermanentSendError, RetryableSendError, SignatureError
from switchboard.models import Attachment, IgnoredEvent, InboundMessage, SendRequest, StatusUpdate
from tests.support.signing import meta_signature
from tests.unit.channels.media_server import media_server_fixture  # noqa: F401 (a fixture)

IG_ID, OTHER_IG_ID, IGSID, OTHER_IGSID = "17841400000000001", "17841400000000002", "IGSID1", "IGSID2"
TS = 1760000000123
STORY_URL = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1790&signature=sig"


def webhook(body: bytes | str, signature: str | None = None) -> WebhookRequest:
    raw = body.encode() if isinstance(body, str) else body
    headers = {"x-hub-signature-256": signature} if signature is not None else {}
    return WebhookRequest(method="POST", path="/webhooks/instagram", headers=headers, query={}, body=raw)


def sign(body: bytes, secret: str = "test-meta-secret") -> str:
    return meta_signature(body, secret)


def event(igsid: str = IGSID, ig_id: str = IG_ID, ts: Any = TS, **kind: Any) -> dict[str, Any]:
    return {"sender": {"id": igsid}, "recipient": {"id": ig_id}, "timestamp": ts, **kind}


def entry(*events: dict[str, Any], ig_id: str = IG_ID) -> dict[str, Any]:
    return {"id": ig_id, "time": TS, "messaging": list(events)}


def notification(*entries: dict[str, Any], obj: str = "instagram") -> bytes:
    return json.dumps({"object": obj, "entry": list(entries)}).encode()


def parse(*events: dict[str, Any]) -> list[Any]:
    return InstagramChannel().parse(webhook(notification(entry(*events))))


def only(*events: dict[str, Any]) -> Any:
    parsed = parse(*events)
    assert len(parsed) == 1, parsed
    return parsed[0]


class FakeResponse:
    def __init__(self, status: int = 200, body: Any = None, headers: dict[str, str] | None = None, content: bytes = b""):
        self.status_code, self._body, self.headers, self._content = status, body, headers or {}, content

    def json(self) -> Any:
        if self._body is None:
            raise ValueError("no JSON")
        return self._body

    def iter_content(self, size: int):
        yield self._content

    def close(self) -> None:
        pass


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch):
    class Calls(list):
        answer: Any = FakeResponse(200, {"recipient_id": IGSID, "message_id": "aWdfZAG1fsent"})

    recorded = Calls()

    def fake(method: str, url: str, **kwargs: Any) -> Any:
        recorded.append({"method": method, "url": url, **kwargs})
        if isinstance(recorded.answer, Exception):
            raise recorded.answer
        return recorded.answer

    monkeypatch.setattr(http, "request", fake)
    return recorded


def reply(text: str = "hello") -> SendRequest:
    return SendRequest(channel="instagram", inbox_id=IG_ID, recipient=IGSID, text=text)


# -- registry and signature --------------------------------------------------------------------------

def test_registry_serves_the_instagram_channel():
    channel = registry.get("instagram")
    assert isinstance(channel, InstagramChannel)
    assert channel.name == "instagram" and channel.reply_window_seconds == 24 * 3600


def test_a_signed_body_verifies_and_a_tampered_one_does_not():
    body = notification(entry(event(message={"mid": "aWdf1", "text": "h\u00e9"})))
    InstagramChannel().verify(webhook(body, sign(body)))
    with pytest.raises(SignatureError):
        InstagramChannel().verify(webhook(body + b" ", sign(body)))
    with pytest.raises(SignatureError):
        InstagramChannel().verify(webhook(body, "sha256=" + "0" * 64))


# -- parse ----------------------------------------------------------------------------------------------

def test_a_text_message_is_normalized():
    message = only(event(message={"mid": "aWdf1", "text": "hi"}))
    assert isinstance(message, InboundMessage)
    assert (message.channel, message.provider_message_id, message.inbox_id, message.sender_id, message.identity) == (
        "instagram", "aWdf1", IG_ID, IGSID, f"instagram:{IGSID}")
    assert (message.type, message.text) == ("text", "hi")
    assert message.timestamp == pytest.approx(1760000000.123)


def test_a_batch_of_accounts_and_events():
    body = notification(
        entry(event(message={"mid": "aWdf1", "text": "one"}),
              event(igsid=IG_ID, ig_id=IGSID, message={"mid": "aWdf_echo", "text": "ours", "is_echo": True}),
              event(igsid=OTHER_IGSID, reaction={"mid": "aWdf_ours", "action": "react", "reaction": "love",
                                                 "emoji": "\u2764\ufe0f"})),
        entry(event(ig_id=OTHER_IG_ID, message={"mid": "aWdf2", "text": "two"}),
              event(ig_id=OTHER_IG_ID, read={"mid": "aWdf_ours2"}), ig_id=OTHER_IG_ID),
    )
    parsed = InstagramChannel().parse(webhook(body))
    assert [e for e in parsed if isinstance(e, IgnoredEvent)] == [IgnoredEvent(channel="instagram", reason="echo")]
    events = [e for e in parsed if not isinstance(e, IgnoredEvent)]
    assert [(e.kind, e.provider_message_id.split(":")[0]) for e in events] == [
        ("message", "aWdf1"), ("message", "reaction"), ("message", "aWdf2"), ("status", "aWdf_ours2"), ("status", "")]
    assert [e.channel for e in events] == ["instagram"] * 5


def test_a_page_notification_is_not_instagrams():
    with pytest.raises(MalformedPayload):
        InstagramChannel().parse(webhook(notification(entry(event(message={"mid": "m", "text": "x"})), obj="page")))


def test_the_changes_shape_of_test_webhooks_is_read_too():
    body = json.dumps({"object": "instagram", "entry": [{"id": "0", "time": 1760000000, "changes": [
        {"field": "messages", "value": {"sender": {"id": "12334"}, "recipient": {"id": "23245"},
                                        "timestamp": "1527459824", "message": {"mid": "random_mid", "text": "random_text"}}},
        {"field": "comments", "value": {"id": "c1", "text": "a comment, not a message"}}]}]}).encode()
    [message] = InstagramChannel().parse(webhook(body))
    assert (message.provider_message_id, message.sender_id, message.inbox_id, message.text, message.timestamp) == (
        "random_mid", "12334", "23245", "random_text", 1527459824)


def test_changes_of_the_wrong_shape_are_skipped():
    body = json.dumps({"object": "instagram", "entry": [{"id": "1", "changes": [
        {"field": []}, {"field": "messages", "value": []}, "x", {"field": "messages", "value": {"sender": {}}}]}]})
    assert InstagramChannel().parse(webhook(body)) == []


def test_echoes_are_ignored():
    assert parse(event(igsid=IG_ID, ig_id=IGSID, message={"mid": "aWdf_echo", "text": "ours", "is_echo": True})) == [
        IgnoredEvent(channel="instagram", reason="echo")]


@pytest.mark.parametrize(("kind", "attachment_kind"), [("image", "image"), ("video", "video"), ("audio", "audio"),
                                                       ("file", "file"), ("share", "image"), ("ig_reel", "video"),
                                                       ("reel", "video")])
def test_attachments_carry_their_cdn_url(kind: str, attachment_kind: str):
    url = f"https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id={kind}&signature=s"
    message = only(event(message={"mid": "aWdf1", "attachments": [{"type": kind, "payload": {"url": url}}]}))
    assert message.type == kind
    assert message.attachments == [Attachment(kind=attachment_kind, url=url)]


def test_a_shared_reel_keeps_its_title_as_text():
    message = only(event(message={"mid": "aWdf1", "attachments": [
        {"type": "ig_reel", "payload": {"url": "https://cdn/r.mp4", "title": "Our new collection", "reel_video_id": "1"}}]}))
    assert message.text == "Our new collection"
    unnamed = only(event(message={"mid": "aWdf2", "attachments": [{"type": "share", "payload": {"url": "https://cdn/p.jpg"}}]}))
    assert unnamed.text == "[shared post]"


def test_a_story_mention_is_text_with_the_story_as_attachment():
    mention = {"type": "story_mention", "payload": {"url": STORY_URL}}
    message = only(event(message={"mid": "aWdf1", "attachments": [mention]}))
    assert (message.type, message.text) == ("story_mention", "Mentioned you in their story")
    assert message.attachments == [Attachment(kind="file", url=STORY_URL)]


def test_a_story_reply_keeps_the_answer_and_the_story():
    message = only(event(message={"mid": "aWdf1", "text": "love this!",
                                  "reply_to": {"story": {"url": STORY_URL, "id": "17900000000000001"}}}))
    assert (message.type, message.text, message.reply_to) == ("story_reply", "love this!", None)
    assert message.attachments == [Attachment(kind="file", url=STORY_URL)]
    silent = only(event(message={"mid": "aWdf2", "reply_to": {"story": {"id": "17900000000000001"}}}))
    assert (silent.type, silent.text, silent.attachments) == ("story_reply", "Replied to your story", [])


def test_a_reply_quick_reply_and_postback():
    answer = only(event(message={"mid": "aWdf2", "text": "this one", "reply_to": {"mid": "aWdf1"}}))
    assert answer.reply_to == "aWdf1"
    quick = only(event(message={"mid": "aWdf3", "text": "Red", "quick_reply": {"payload": "COLOR_RED"}}))
    assert quick.payload == "COLOR_RED"
    postback = only(event(postback={"mid": "aWdf4", "title": "Track order", "payload": "TRACK"}))
    assert (postback.type, postback.provider_message_id, postback.text, postback.payload) == (
        "postback", "aWdf4", "Track order", "TRACK")


def test_reactions_and_unreactions():
    react = only(event(reaction={"mid": "aWdf_ours", "action": "react", "reaction": "love", "emoji": "\u2764\ufe0f"}))
    assert (react.type, react.reaction, react.reply_to) == ("reaction", "\u2764\ufe0f", "aWdf_ours")
    assert react.provider_message_id == f"reaction:aWdf_ours:{IGSID}:{TS}"
    unreact = only(event(ts=TS + 1, reaction={"mid": "aWdf_ours", "action": "unreact"}))
    assert unreact.reaction == "" and unreact.provider_message_id != react.provider_message_id


def test_unsent_and_unsupported_messages():
    deleted = only(event(message={"mid": "aWdf1", "is_deleted": True}))
    assert (deleted.provider_message_id, deleted.deleted, deleted.text, deleted.edited) == ("aWdf1", True, "", False)
    unsupported = only(event(message={"mid": "aWdf2", "is_unsupported": True}))
    assert unsupported.type == "unsupported"


def test_messaging_seen_is_a_read_receipt():
    # Given the last message the customer saw (Instagram's form, and no delivery receipts at all)
    by_mid, up_to_then = parse(event(read={"mid": "aWdf_ours"}))
    # Then that message is read, and so is everything we sent before they looked
    assert isinstance(by_mid, StatusUpdate)
    assert (by_mid.status, by_mid.provider_message_id, by_mid.watermark) == ("read", "aWdf_ours", None)
    assert (up_to_then.status, up_to_then.provider_message_id, up_to_then.watermark) == ("read", "", pytest.approx(
        1760000000.123))
    assert (up_to_then.inbox_id, up_to_then.sender_id) == (IG_ID, IGSID)
    [by_watermark] = parse(event(messaging_seen={"watermark": 1760000000000}))
    assert (by_watermark.status, by_watermark.provider_message_id, by_watermark.watermark) == ("read", "", 1760000000.0)
    assert (by_watermark.inbox_id, by_watermark.sender_id) == (IG_ID, IGSID)


json_leaf = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10)
             | st.sampled_from(["\ud800", "a\udfffb", "\x00", "", "1" * 30]))
VOCABULARY = ["object", "entry", "messaging", "changes", "field", "value", "sender", "recipient", "id", "timestamp",
              "message", "mid", "text", "attachments", "type", "payload", "url", "title", "reply_to", "story",
              "quick_reply", "postback", "reaction", "emoji", "action", "read", "messaging_seen", "watermark",
              "is_echo", "is_deleted", "is_unsupported", "messages", "story_mention", "share", "ig_reel"]
json_value = st.recursive(
    json_leaf,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(VOCABULARY) | st.text(max_size=5), children, max_size=5),
    max_leaves=25)
kinds = st.sampled_from(["message", "postback", "reaction", "read", "messaging_seen", "message_edit"])
hostile_event = st.one_of(
    json_value,
    st.builds(lambda k, v: event(**{k: v}), kinds, st.dictionaries(st.sampled_from(VOCABULARY), json_value, max_size=6)),
    st.builds(lambda v: event(message={"mid": "aWdf1", "attachments": [v]}), json_value),
    st.builds(lambda v: event(message={"mid": "aWdf1", "reply_to": v}), json_value),
)
hostile_body = st.one_of(
    st.binary(max_size=200),
    json_value.map(lambda v: json.dumps(v).encode()),
    st.lists(hostile_event, max_size=4).map(lambda evs: notification(entry(*evs))),
    st.lists(json_value, max_size=3).map(
        lambda changes: json.dumps({"object": "instagram", "entry": [{"id": "1", "changes": changes}]}).encode()),
)


@settings(max_examples=150, deadline=None)
@given(hostile_body)
def test_hostile_input_yields_events_or_malformed_and_nothing_else(body: bytes):
    try:
        events = InstagramChannel().parse(webhook(body))
    except MalformedPayload:
        return
    assert all(isinstance(e, InboundMessage | StatusUpdate | IgnoredEvent) for e in events)
    for e in events:
        assert type(e).model_validate_json(e.model_dump_json().encode()) == e


@pytest.mark.parametrize("body", [b"\xc3\x28", b"{}", b"[]", b"{" * 30_000, b'{"object":"instagram","entry":{}}'])
def test_a_body_of_the_wrong_shape_is_malformed(body: bytes):
    with pytest.raises(MalformedPayload):
        InstagramChannel().parse(webhook(body))


# -- send -------------------------------------------------------------------------------------------------

def test_send_posts_to_the_instagram_account_with_its_token(calls, settings_env):
    settings_env(INSTAGRAM_API_BASE_URL="https://graph.instagram.com/v21.0")
    result = InstagramChannel().send(reply("Hi! How can we help?"))
    assert result.provider_message_id == "aWdfZAG1fsent"
    [call] = calls
    assert (call["method"], call["url"]) == ("POST", f"https://graph.instagram.com/v21.0/{IG_ID}/messages")
    assert call["headers"] == {"Authorization": "Bearer test-instagram-token"}
    assert call["json"] == {"recipient": {"id": IGSID}, "messaging_type": "RESPONSE",
                            "message": {"text": "Hi! How can we help?"}}


@pytest.mark.parametrize(("text", "accepted"), [
    ("a" * 1000, True), ("a" * 1001, False),
    ("\u00e9" * 500, True), ("\u00e9" * 500 + "a", False),  # 2 bytes each: 501 characters are too many
    ("\U0001f600" * 250, True), ("\U0001f600" * 251, False),  # 4 bytes each
    ("\u20ac" * 333 + "a", True), ("\u20ac" * 334, False),  # 3 bytes each
])
def test_the_1000_byte_limit_counts_utf8_bytes(calls, text: str, accepted: bool):
    if accepted:
        InstagramChannel().send(reply(text))
        assert len(calls) == 1
    else:
        with pytest.raises(PermanentSendError, match="1000 bytes"):
            InstagramChannel().send(reply(text))
        assert calls == []


def test_a_lone_surrogate_does_not_crash_the_length_check(calls):
    InstagramChannel().send(reply("ok \ud800"))
    assert len(calls) == 1


@pytest.mark.parametrize(("status", "error", "expected", "reason"), [
    (400, {"code": 10, "error_subcode": 2534022, "message": "outside of allowed window"}, PermanentSendError, "24-hour"),
    (400, {"code": 100, "error_subcode": 2534014, "message": "No matching user found"}, PermanentSendError, "100"),
    (400, {"code": 190, "message": "Error validating access token"}, PermanentSendError, "190"),
    (400, {"code": 613, "message": "rate limit"}, RetryableSendError, "613"),
    (500, {"code": 1, "message": "An unknown error occurred"}, RetryableSendError, "instagram"),
])
def test_graph_errors_map_to_permanent_or_retryable(calls, status, error, expected, reason):
    calls.answer = FakeResponse(status, {"error": error})
    with pytest.raises(expected, match=reason):
        InstagramChannel().send(reply())


def test_send_without_a_token_is_permanent(calls, settings_env):
    settings_env(INSTAGRAM_ACCESS_TOKEN="")
    with pytest.raises(PermanentSendError, match="token"):
        InstagramChannel().send(reply())


# -- media ------------------------------------------------------------------------------------------------

def test_fetch_media_downloads_the_story_url(media_server):
    # Through the real guarded download, against a local TLS server that passes for Meta's hosts (media_server.py)
    media_server.answer("/story.mp4", headers={"Content-Type": "video/mp4"}, body=b"\x00\x00\x00\x18ftypmp4")
    media = InstagramChannel().fetch_media(Attachment(kind="file", url="https://lookaside.fbsbx.com/story.mp4"))
    assert (media.data, media.mime_type) == (b"\x00\x00\x00\x18ftypmp4", "video/mp4")
    assert [seen.authorization for seen in media_server.seen] == [None]  # our token never goes to a CDN


def test_an_expired_url_is_a_media_error(media_server):
    media_server.answer("/expired.jpg", status=403)
    with pytest.raises(MediaError, match="403"):
        InstagramChannel().fetch_media(Attachment(kind="image", url="https://lookaside.fbsbx.com/expired.jpg"))


# -- profile names ------------------------------------------------------------------------------------------

@pytest.fixture
def failures(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    from switchboard import observability

    counted: list[tuple[str, str]] = []
    monkeypatch.setattr(observability, "count_by_reason",
                        lambda name, channel, reason, value=1: counted.append((channel, reason)))
    return counted


@pytest.mark.parametrize(("profile", "name"), [
    ({"name": "Ann Lee", "username": "ann.lee"}, "Ann Lee"),
    ({"username": "ann.lee"}, "@ann.lee"),
    ({"name": "", "username": "@ann"}, "@ann"),
    ({"id": IGSID}, None),
])
def test_an_instagram_profile_is_its_name_else_its_handle(calls, failures, profile, name):
    calls.answer = FakeResponse(200, profile)
    assert InstagramChannel().fetch_profile(IGSID) == name
    [call] = calls
    assert (call["url"], call["params"]) == (f"https://graph.instagram.com/v21.0/{IGSID}", {"fields": "name,username"})
    assert call["headers"] == {"Authorization": "Bearer test-instagram-token"}


def test_an_instagram_look_up_failure_is_harmless(calls, failures):
    calls.answer = FakeResponse(400, {"error": {"code": 100, "message": "Unsupported get request"}})
    assert InstagramChannel().fetch_profile(IGSID) is None
    assert failures == [("instagram", "refused")]

"""Messenger: Page webhook events normalized, receipts and watermarks, Send API shape and errors, CDN media."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.channels import http, registry
from switchboard.channels.base import WebhookRequest
from switchboard.channels.messenger import MessengerChannel
from switchboard.errors import MalformedPayload, MediaError, PermanentSendError, RetryableSendError, SignatureError
from switchboard.models import Attachment, IgnoredEvent, InboundMessage, SendRequest, StatusUpdate, dedupe_id
from tests.support.signing import meta_signature
from tests.unit.channels.media_server import media_server_fixture  # noqa: F401 (a fixture)

PAGE, OTHER_PAGE, PSID, OTHER_PSID = "PAGE1", "PAGE2", "PSID1", "PSID2"
TS = 1760000000123  # Meta sends milliseconds


def webhook(body: bytes | str, signature: str | None = None) -> WebhookRequest:
    raw = body.encode() if isinstance(body, str) else body
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["x-hub-signature-256"] = signature
    return WebhookRequest(method="POST", path="/webhooks/messenger", headers=headers, query={}, body=raw)


def sign(body: bytes, secret: str = "test-meta-secret") -> str:
    return meta_signature(body, secret)


def event(psid: str = PSID, page: str = PAGE, ts: Any = TS, **kind: Any) -> dict[str, Any]:
    return {"sender": {"id": psid}, "recipient": {"id": page}, "timestamp": ts, **kind}


def notification(*entries: dict[str, Any], obj: str = "page") -> bytes:
    return json.dumps({"object": obj, "entry": list(entries)}).encode()


def entry(*events: dict[str, Any], page: str = PAGE) -> dict[str, Any]:
    return {"id": page, "time": TS, "messaging": list(events)}


def parse(*events: dict[str, Any]) -> list[Any]:
    return MessengerChannel().parse(webhook(notification(entry(*events))))


def only(*events: dict[str, Any]) -> Any:
    parsed = parse(*events)
    assert len(parsed) == 1, parsed
    return parsed[0]


class FakeResponse:
    def __init__(self, status: int = 200, body: Any = None, headers: dict[str, str] | None = None,
                 content: bytes = b"", chunk: int = 4):
        self.status_code, self._body, self.headers = status, body, headers or {}
        self._content, self._chunk, self.closed = content, chunk, False

    def json(self) -> Any:
        if self._body is None:
            raise ValueError("no JSON")
        return self._body

    def iter_content(self, size: int):
        for i in range(0, len(self._content), self._chunk):
            yield self._content[i:i + self._chunk]

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch):
    """Replaces the HTTP session: record each call, answer with `calls.answer` (a response or an exception)."""

    class Calls(list):
        answer: Any = FakeResponse(200, {"recipient_id": PSID, "message_id": "m_sent1"})

    recorded = Calls()

    def fake(method: str, url: str, **kwargs: Any) -> Any:
        recorded.append({"method": method, "url": url, **kwargs})
        if isinstance(recorded.answer, Exception):
            raise recorded.answer
        return recorded.answer

    monkeypatch.setattr(http, "request", fake)
    return recorded


def reply(text: str = "hello", **extra: Any) -> SendRequest:
    return SendRequest(channel="messenger", inbox_id=PAGE, recipient=PSID, text=text, **extra)


# -- registry, handshake and signature -------------------------------------------------------

def test_registry_serves_the_messenger_channel():
    channel = registry.get("messenger")
    assert isinstance(channel, MessengerChannel)
    assert channel.name == "messenger" and channel.reply_window_seconds == 24 * 3600


def test_handshake_is_metas():
    query = {"hub.mode": "subscribe", "hub.verify_token": "test-verify-token", "hub.challenge": "12345"}
    answer = MessengerChannel().handshake(WebhookRequest("GET", "/webhooks/messenger", {}, query, b""))
    assert (answer.status, answer.body) == (200, "12345")


def test_a_signed_body_verifies():
    # Given a body with escaped non-ASCII, signed over its exact bytes
    body = b'{"object":"page","entry":[{"id":"PAGE1","messaging":[{"message":{"mid":"m_1","text":"gr\\u00fc\\u00df"}}]}]}'
    # Then verify accepts it
    MessengerChannel().verify(webhook(body, sign(body)))


def test_a_tampered_body_fails_verification():
    body = notification(entry(event(message={"mid": "m_1", "text": "hi"})))
    signature = sign(body)
    with pytest.raises(SignatureError):
        MessengerChannel().verify(webhook(body.replace(b'"hi"', b'"ho"'), signature))
    with pytest.raises(SignatureError):
        MessengerChannel().verify(webhook(body, sign(body, "another-secret")))
    with pytest.raises(SignatureError):
        MessengerChannel().verify(webhook(body))


# -- parse: messages -----------------------------------------------------------------------------

def test_a_text_message_is_normalized():
    message = only(event(message={"mid": "m_1", "text": "hi there"}))
    assert isinstance(message, InboundMessage)
    assert message.channel == "messenger"
    assert message.provider_message_id == "m_1"
    assert message.inbox_id == PAGE
    assert message.sender_id == PSID
    assert message.identity == f"messenger:{PSID}"
    assert message.timestamp == pytest.approx(1760000000.123)
    assert (message.type, message.text, message.attachments, message.reply_to) == ("text", "hi there", [], None)


def test_a_batch_of_entries_and_events_is_read_whole_and_in_order():
    # Given two Pages' entries, each with several events, among them an echo and an event we don't use
    body = notification(
        entry(event(message={"mid": "m_1", "text": "one"}),
              event(psid=OTHER_PSID, message={"mid": "m_2", "text": "two"}),
              event(psid=PAGE, page=PSID, message={"mid": "m_echo", "text": "our reply", "is_echo": True}),
              event(optin={"ref": "landing"})),
        entry(event(page=OTHER_PAGE, message={"mid": "m_3", "text": "three"}),
              event(page=OTHER_PAGE, read={"watermark": TS}),
              page=OTHER_PAGE),
    )
    # When parsed
    parsed = MessengerChannel().parse(webhook(body))
    events = [e for e in parsed if not isinstance(e, IgnoredEvent)]
    # Then every customer event comes out, in order, with its own Page as the inbox
    assert [(e.kind, getattr(e, "provider_message_id", "")) for e in events] == [
        ("message", "m_1"), ("message", "m_2"), ("message", "m_3"), ("status", "")]
    assert [e.inbox_id for e in events] == [PAGE, PAGE, OTHER_PAGE, OTHER_PAGE]
    assert events[1].sender_id == OTHER_PSID
    # and the echo and the opt-in are acknowledged as ignored, each with its reason
    assert [e.reason for e in parsed if isinstance(e, IgnoredEvent)] == ["echo", "optin"]


def test_echoes_of_our_own_sends_are_ignored():
    assert parse(event(psid=PAGE, page=PSID, message={"mid": "m_echo", "text": "hi", "is_echo": True,
                                                      "app_id": 1517776481860111})) == [
        IgnoredEvent(channel="messenger", reason="echo")]


@pytest.mark.parametrize("kind", ["image", "video", "audio", "file"])
def test_media_attachments_carry_their_cdn_url(kind: str):
    url = f"https://scontent.xx.fbcdn.net/v/{kind}?oh=sig&oe=expiry"
    message = only(event(message={"mid": "m_1", "attachments": [{"type": kind, "payload": {"url": url}}]}))
    assert message.type == kind
    assert message.attachments == [Attachment(kind=kind, url=url, status="pending")]
    assert message.text == ""


def test_several_attachments_and_a_caption():
    message = only(event(message={"mid": "m_1", "text": "look", "attachments": [
        {"type": "image", "payload": {"url": "https://cdn/1.jpg"}},
        {"type": "image", "payload": {"url": "https://cdn/2.jpg"}}]}))
    assert message.type == "image" and message.text == "look"
    assert [a.url for a in message.attachments] == ["https://cdn/1.jpg", "https://cdn/2.jpg"]


def test_a_sticker_keeps_its_sticker_id():
    message = only(event(message={"mid": "m_1", "sticker_id": 369239263222822, "attachments": [
        {"type": "image", "payload": {"url": "https://cdn/like.png", "sticker_id": 369239263222822}}]}))
    assert message.type == "sticker"
    assert message.attachments == [Attachment(kind="sticker", provider_media_id="369239263222822", url="https://cdn/like.png")]


def test_fallback_and_template_attachments_keep_a_text():
    fallback = only(event(message={"mid": "m_1", "attachments": [
        {"type": "fallback", "title": "A shared article", "URL": "https://example.com/a", "payload": None}]}))
    assert (fallback.type, fallback.text, fallback.attachments) == ("fallback", "A shared article https://example.com/a", [])
    template = only(event(message={"mid": "m_2", "attachments": [
        {"type": "template", "payload": {"template_type": "generic", "elements": [{"title": "Blue shoes"}]}}]}))
    assert (template.type, template.text) == ("template", "Blue shoes")
    bare = only(event(message={"mid": "m_3", "attachments": [{"type": "template", "payload": {}}]}))
    assert bare.text == "[template]"


def test_a_location_attachment():
    message = only(event(message={"mid": "m_1", "attachments": [
        {"type": "location", "title": "Home", "payload": {"coordinates": {"lat": 52.52, "long": 13.405}}}]}))
    assert message.type == "location"
    assert (message.location.latitude, message.location.longitude, message.location.name) == (52.52, 13.405, "Home")
    assert message.text == "Home"


def test_a_quick_reply_carries_its_payload_and_a_reply_its_target():
    quick = only(event(message={"mid": "m_1", "text": "Yes", "quick_reply": {"payload": "CONFIRM_YES"}}))
    assert (quick.type, quick.text, quick.payload) == ("text", "Yes", "CONFIRM_YES")
    answer = only(event(message={"mid": "m_2", "text": "that one", "reply_to": {"mid": "m_0"}}))
    assert answer.reply_to == "m_0"


def test_a_postback_is_its_title_and_payload():
    message = only(event(postback={"mid": "m_pb", "title": "Talk to a human", "payload": "HUMAN"}))
    assert (message.type, message.text, message.payload, message.provider_message_id) == (
        "postback", "Talk to a human", "HUMAN", "m_pb")


def test_a_postback_without_mid_gets_a_stable_id():
    raw = event(postback={"title": "Get started", "payload": "GET_STARTED"})
    first, again = only(raw), only(raw)
    later = only(event(ts=TS + 1, postback={"title": "Get started", "payload": "GET_STARTED"}))
    assert first.provider_message_id == again.provider_message_id  # a redelivery is recognized
    assert first.provider_message_id != later.provider_message_id  # a second tap is not


def test_reactions_and_their_removal():
    react = only(event(reaction={"mid": "m_ours", "action": "react", "reaction": "love", "emoji": "\u2764"}))
    assert (react.type, react.reaction, react.text, react.reply_to) == ("reaction", "\u2764", "\u2764", "m_ours")
    unreact = only(event(ts=TS + 5, reaction={"mid": "m_ours", "action": "unreact"}))
    assert (unreact.reaction, unreact.reply_to) == ("", "m_ours")
    # each reaction has its own stable id, distinct from the message's and from each other
    ids = {react.provider_message_id, unreact.provider_message_id, "m_ours"}
    assert len(ids) == 3
    assert only(event(reaction={"mid": "m_ours", "action": "react", "emoji": "\u2764"})).provider_message_id == \
        react.provider_message_id


def test_an_edit_and_an_unsend_update_the_stored_message():
    edit = only(event(message_edit={"mid": "m_1", "text": "fixed typo", "num_edit": 1}))
    assert (edit.provider_message_id, edit.text, edit.edited) == ("m_1", "fixed typo", True)
    assert dedupe_id(edit) == "m_1#edit#1"  # each edit is its own event; a redelivered edit is not
    deleted = only(event(message={"mid": "m_1", "is_deleted": True}))
    assert (deleted.provider_message_id, deleted.deleted, deleted.text, deleted.edited) == ("m_1", True, "", False)
    assert dedupe_id(deleted) == "m_1#delete"


def test_lone_surrogates_become_storable_text():
    # Given JSON escapes no UTF-8 store can hold (a truncated emoji)
    body = b'{"object":"page","entry":[{"messaging":[{"sender":{"id":"PSID1"},"recipient":{"id":"PAGE1"},' \
           b'"timestamp":1760000000123,"message":{"mid":"m_1","text":"hi \\ud83d"}}]}]}'
    [message] = MessengerChannel().parse(webhook(body))
    # Then they are replaced, and the event survives the queue
    assert message.text == "hi \ufffd"
    assert InboundMessage.model_validate_json(message.model_dump_json()) == message


# -- parse: receipts ---------------------------------------------------------------------------------

def test_a_delivery_with_mids_marks_each_and_the_watermark():
    updates = parse(event(delivery={"mids": ["m_a", "m_b"], "watermark": 1760000000000}))
    assert all(isinstance(u, StatusUpdate) and u.status == "delivered" for u in updates)
    assert [u.provider_message_id for u in updates] == ["m_a", "m_b", ""]
    assert updates[0].timestamp == pytest.approx(1760000000.123)
    watermark = updates[-1]
    assert (watermark.watermark, watermark.inbox_id, watermark.sender_id) == (1760000000.0, PAGE, PSID)
    assert updates[0].watermark is None


def test_a_delivery_without_mids_is_a_watermark_only():
    [update] = parse(event(delivery={"watermark": 1760000000000}))
    assert (update.status, update.provider_message_id, update.watermark) == ("delivered", "", 1760000000.0)


def test_a_read_is_a_read_watermark():
    [update] = parse(event(read={"watermark": 1760000000500}))
    assert (update.kind, update.status, update.watermark, update.inbox_id, update.sender_id) == (
        "status", "read", 1760000000.5, PAGE, PSID)


def test_receipts_without_a_usable_watermark_are_skipped():
    assert parse(event(read={"watermark": "soon"}), event(delivery={"watermark": -1}), event(read={})) == []


# -- parse: hostile input ----------------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    b"", b"not json", b"[]", b'"page"', b"null", b"\xff\xfe\xfa", b'{"object":"page"}',
    b'{"object":"instagram","entry":[]}', b'{"object":"page","entry":{}}', b"[" * 100_000 + b"]" * 100_000,
    b'{"object":"page","entry":' + b"[" * 50_000 + b"]" * 50_000 + b"}",
])
def test_a_body_of_the_wrong_shape_is_malformed(body: bytes):
    with pytest.raises(MalformedPayload):
        MessengerChannel().parse(webhook(body))


def test_entries_of_the_wrong_shape_are_skipped_not_fatal():
    # Refusing the whole POST would make Meta redeliver the good events with the bad until it gives up.
    body = notification(1, "x", {"id": PAGE, "messaging": {}}, {"messaging": [1, None]},
                        entry(event(message={"mid": "m_ok", "text": "fine"})))
    assert [e.provider_message_id for e in MessengerChannel().parse(webhook(body))] == ["m_ok"]


def test_unusable_events_are_skipped_and_the_rest_kept():
    events = parse(
        "nonsense", [1, 2], event(psid=None, message={"mid": "m_x"}), {"message": {"mid": "m_y"}},
        event(message={"text": "no mid"}), event(message="text"), event(reaction={"action": "react"}),
        event(ts=10**400, message={"mid": "m_big_ts", "text": "odd time"}),
        event(ts=float("nan"), message={"mid": "m_nan", "text": "no time"}),
        event(message={"mid": "m_bad", "attachments": [{"type": "location", "payload": {"coordinates": {"lat": "x"}}},
                                                       {"type": "location", "payload": {"coordinates": {
                                                           "lat": float("nan"), "long": float("inf")}}},
                                                       {"type": "image", "payload": "url"}, 7, {"type": "image"}]}),
        event(message={"mid": "m_ok", "text": "fine"}),
    )
    assert [e.provider_message_id for e in events] == ["m_big_ts", "m_nan", "m_bad", "m_ok"]
    assert events[0].timestamp > 1e9  # an implausible time falls back to the receive time
    assert (events[2].attachments, events[2].location) == ([], None)


def test_seconds_timestamps_are_tolerated():
    assert only(event(ts=1760000000, message={"mid": "m_1", "text": "x"})).timestamp == 1760000000


json_leaf = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10)
             | st.sampled_from(["\ud800", "a\udfffb", "\x00", "", "1" * 30]))
VOCABULARY = ["object", "entry", "id", "time", "messaging", "sender", "recipient", "timestamp", "message", "mid", "text",
              "attachments", "type", "payload", "url", "sticker_id", "quick_reply", "reply_to", "postback", "title",
              "reaction", "action", "emoji", "delivery", "mids", "watermark", "read", "is_echo", "is_deleted",
              "message_edit", "coordinates", "lat", "long", "elements", "URL", "story", "changes", "field", "value"]
json_value = st.recursive(
    json_leaf,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(VOCABULARY) | st.text(max_size=5), children, max_size=5),
    max_leaves=25)
kinds = st.sampled_from(["message", "postback", "reaction", "delivery", "read", "message_edit", "optin"])
hostile_event = st.one_of(
    json_value,
    st.builds(lambda k, v, s, r, t: {"sender": s, "recipient": r, "timestamp": t, k: v},
              kinds, json_value, json_value, json_value, json_value),
    st.builds(lambda k, v: event(**{k: v}), kinds, st.dictionaries(st.sampled_from(VOCABULARY), json_value, max_size=6)),
)
hostile_body = st.one_of(
    st.binary(max_size=200),
    json_value.map(lambda v: json.dumps(v).encode()),
    st.lists(hostile_event, max_size=4).map(lambda evs: notification(entry(*evs))),
    st.lists(json_value, max_size=3).map(lambda entries: json.dumps({"object": "page", "entry": entries}).encode()),
)


@settings(max_examples=150, deadline=None)
@given(hostile_body)
def test_hostile_input_yields_events_or_malformed_and_nothing_else(body: bytes):
    try:
        events = MessengerChannel().parse(webhook(body))
    except MalformedPayload:
        return
    assert all(isinstance(e, InboundMessage | StatusUpdate | IgnoredEvent) for e in events)
    for e in events:  # what the queue carries must read back the same
        assert type(e).model_validate_json(e.model_dump_json().encode()) == e


# -- send ----------------------------------------------------------------------------------------------

def test_send_posts_a_response_to_the_page(calls):
    result = MessengerChannel().send(reply("Thanks, looking into it"))
    assert result.provider_message_id == "m_sent1"
    [call] = calls
    assert call["method"] == "POST"
    assert call["url"] == f"https://graph.facebook.com/v21.0/{PAGE}/messages"
    assert call["headers"] == {"Authorization": "Bearer test-page-token"}
    assert call["json"] == {"recipient": {"id": PSID}, "messaging_type": "RESPONSE",
                            "message": {"text": "Thanks, looking into it"}}


def test_send_uses_the_configured_base_url(calls, settings_env):
    settings_env(MESSENGER_API_BASE_URL="http://127.0.0.1:3000/sandbox/graph")
    MessengerChannel().send(reply())
    assert calls[0]["url"] == f"http://127.0.0.1:3000/sandbox/graph/{PAGE}/messages"


def test_2000_characters_are_sent_and_2001_refused_before_sending(calls):
    MessengerChannel().send(reply("é" * 2000))
    assert len(calls) == 1
    with pytest.raises(PermanentSendError, match="2000 characters"):
        MessengerChannel().send(reply("x" * 2001))
    with pytest.raises(PermanentSendError, match="empty"):
        MessengerChannel().send(reply(""))
    assert len(calls) == 1


def test_send_without_a_token_is_permanent(calls, settings_env):
    settings_env(MESSENGER_PAGE_TOKEN="")
    with pytest.raises(PermanentSendError, match="token"):
        MessengerChannel().send(reply())
    assert calls == []


def graph(code: int, subcode: int | None = None, message: str = "") -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "A1"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}


@pytest.mark.parametrize(("status", "body", "error", "reason"), [
    (400, graph(10, 2018278, "(#10) This message is sent outside of allowed window."), PermanentSendError, "24-hour"),
    (400, graph(551, 1545041, "This person isn't available right now."), PermanentSendError, "551"),
    (400, graph(100, 2018001, "No matching user found"), PermanentSendError, "100"),
    (401, graph(190, None, "Invalid OAuth access token"), PermanentSendError, "190"),
    (400, graph(10, 1893063, "Page temporarily restricted"), PermanentSendError, "10"),
    (400, graph(613, None, "Calls to this api have exceeded the rate limit."), RetryableSendError, "613"),
    (400, graph(4, None, "Application request limit reached"), RetryableSendError, "4"),
    (400, graph(32, None, "Page request limit reached"), RetryableSendError, "32"),
    (500, graph(1200, None, "Temporary send message failure"), RetryableSendError, "1200"),
    (400, graph(2, None, "Service temporarily unavailable"), RetryableSendError, "2"),
    (503, None, RetryableSendError, "HTTP 503"),
    (404, None, PermanentSendError, "HTTP 404"),
    (400, ["not", "a", "graph", "error"], PermanentSendError, "refused"),
    (503, {"error": {"code": [613]}}, RetryableSendError, "503"),
])
def test_graph_errors_map_to_permanent_or_retryable(calls, status, body, error, reason):
    calls.answer = FakeResponse(status, body)
    with pytest.raises(error, match=reason):
        MessengerChannel().send(reply())


def test_throttling_carries_retry_after(calls):
    calls.answer = FakeResponse(429, graph(613), headers={"Retry-After": "30"})
    with pytest.raises(RetryableSendError) as caught:
        MessengerChannel().send(reply())
    assert caught.value.retry_after == 30


@pytest.mark.parametrize("body", [None, {}, {"message_id": None}, {"message_id": ""}, ["m_1"]])
def test_a_success_without_message_id_is_not_retried_blind(calls, body):
    # Graph accepted it: a retry could deliver it twice
    calls.answer = FakeResponse(200, body)
    with pytest.raises(PermanentSendError, match="delivery unknown"):
        MessengerChannel().send(reply())


def test_a_network_failure_is_retryable(calls):
    calls.answer = RetryableSendError("ConnectionError calling the provider")
    with pytest.raises(RetryableSendError):
        MessengerChannel().send(reply())


# -- media -------------------------------------------------------------------------------------------

# Through the real guarded download, against a local TLS server that passes for Meta's hosts (media_server.py).
def test_fetch_media_downloads_the_cdn_url_without_our_token(media_server):
    media_server.answer("/x.png", headers={"Content-Type": "image/png; charset=binary"}, body=b"\x89PNG...")
    media = MessengerChannel().fetch_media(Attachment(kind="image", url="https://lookaside.fbsbx.com/x.png"))
    assert (media.data, media.mime_type) == (b"\x89PNG...", "image/png")
    assert media.sha256 == hashlib.sha256(b"\x89PNG...").hexdigest()
    [seen] = media_server.seen
    assert (seen.host, seen.sni, seen.authorization) == ("lookaside.fbsbx.com", "lookaside.fbsbx.com", None)


def test_fetch_media_falls_back_to_the_known_mime_type(media_server):
    media_server.answer("/x", body=b"data")
    media = MessengerChannel().fetch_media(Attachment(kind="file", url="https://lookaside.fbsbx.com/x",
                                                      mime_type="application/pdf"))
    assert media.mime_type == "application/pdf"


def test_fetch_media_is_capped(media_server, settings_env):
    settings_env(MEDIA_MAX_BYTES="10")
    media_server.answer("/v.mp4", body=b"x" * 11)
    with pytest.raises(MediaError, match="limit"):
        MessengerChannel().fetch_media(Attachment(kind="video", url="https://lookaside.fbsbx.com/v.mp4"))


@pytest.mark.parametrize("status", [403, 404, 500])
def test_fetch_media_failures_are_media_errors(media_server, status):
    media_server.answer("/expired.jpg", status=status)
    with pytest.raises(MediaError):
        MessengerChannel().fetch_media(Attachment(kind="image", url="https://lookaside.fbsbx.com/expired.jpg"))


@pytest.mark.parametrize("url", ["https://evil.example/x.png", "https://lookaside.fbsbx.com@evil.example/x"])
def test_fetch_media_only_from_meta_hosts(media_server, url):
    with pytest.raises(MediaError):
        MessengerChannel().fetch_media(Attachment(kind="image", url=url))
    assert media_server.connected == []


def test_fetch_media_never_from_a_private_address(media_server):
    media_server.dns["lookaside.fbsbx.com"] = ["169.254.169.254"]  # a name that points into the VPC
    with pytest.raises(MediaError):
        MessengerChannel().fetch_media(Attachment(kind="image", url="https://lookaside.fbsbx.com/x.png"))
    assert media_server.connected == []


@pytest.mark.parametrize("url", [None, "", "file:///etc/passwd", "ftp://cdn/x", "http://[broken"])
def test_fetch_media_needs_an_http_url(calls, url):
    with pytest.raises(MediaError):
        MessengerChannel().fetch_media(Attachment(kind="image", url=url))
    assert calls == []


@pytest.mark.parametrize("url", ["http://cdn.example/x.png", "http://169.254.169.254/latest/meta-data/",
                                 "http://127.0.0.1:9000/_sandbox/messenger/media/M1", "//cdn/x", "https:///x"])
def test_fetch_media_from_a_payload_url_is_https_only(calls, url):
    # A payload's URL could point anywhere: only HTTPS is fetched (plain HTTP only from the configured Graph host)
    with pytest.raises(MediaError, match="HTTPS"):
        MessengerChannel().fetch_media(Attachment(kind="image", url=url))
    assert calls == []


def test_fetch_media_over_http_only_from_the_sandbox_graph_host(calls, settings_env):
    settings_env(MESSENGER_API_BASE_URL="http://127.0.0.1:9000/_sandbox/messenger/v21.0")
    assert MessengerChannel()._media_url("http://127.0.0.1:9000/_sandbox/messenger/media/M1")
    with pytest.raises(MediaError):
        MessengerChannel().fetch_media(Attachment(kind="image", url="http://127.0.0.1:9001/elsewhere"))
    assert calls == []


@pytest.mark.parametrize(("page", "path"), [("1234/../../me", "1234%2F..%2F..%2Fme"), ("p?x=1#f", "p%3Fx%3D1%23f"),
                                            ("p q", "p%20q")])
def test_the_page_id_is_escaped_in_the_send_url(calls, page, path):
    MessengerChannel().send(SendRequest(channel="messenger", inbox_id=page, recipient=PSID, text="hi"))
    assert calls[0]["url"] == f"https://graph.facebook.com/v21.0/{path}/messages"


@pytest.mark.parametrize("page", ["..", ".", ""])
def test_a_page_id_that_is_a_dot_segment_is_refused(calls, page):
    with pytest.raises(PermanentSendError, match="Graph id"):
        MessengerChannel().send(SendRequest(channel="messenger", inbox_id=page, recipient=PSID, text="hi"))
    assert calls == []


# -- profile names ---------------------------------------------------------------------------------------

@pytest.fixture
def failures(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """The (channel, reason) of each failed look-up the channel counted."""
    from switchboard import observability

    counted: list[tuple[str, str]] = []
    monkeypatch.setattr(observability, "count_by_reason",
                        lambda name, channel, reason, value=1: counted.append((channel, reason)))
    return counted


def test_a_profile_name_is_fetched_with_the_page_token(calls, failures):
    calls.answer = FakeResponse(200, {"first_name": "Ann", "last_name": "Lee", "name": "Ann Lee", "id": PSID})
    assert MessengerChannel().fetch_profile(PSID) == "Ann Lee"
    [call] = calls
    assert (call["method"], call["url"]) == ("GET", f"https://graph.facebook.com/v21.0/{PSID}")
    assert call["params"] == {"fields": "first_name,last_name,name"}
    assert call["headers"] == {"Authorization": "Bearer test-page-token"}  # in a header: never in the URL
    assert call["timeout"] == (2.0, 3.0) and failures == []


def test_a_profile_without_name_is_first_and_last_name():
    assert MessengerChannel()._profile_name({"first_name": "Ann", "last_name": "Lee"}) == "Ann Lee"
    assert MessengerChannel()._profile_name({"first_name": " Ann\n"}) == "Ann"
    assert MessengerChannel()._profile_name({"name": "x" * 500}) == "x" * 199 + "…"
    assert MessengerChannel()._profile_name({"id": PSID, "name": "", "first_name": None}) is None


@pytest.mark.parametrize(("psid", "path"), [("1:2", "1%3A2"), ("a.b", "a.b")])
def test_the_psid_is_escaped_in_the_profile_url(calls, psid, path):
    calls.answer = FakeResponse(200, {"name": "Ann"})
    MessengerChannel().fetch_profile(psid)
    assert calls[0]["url"] == f"https://graph.facebook.com/v21.0/{path}"


@pytest.mark.parametrize("psid", ["..", ".", "", "123/../me", "a b", "x?y", "#f", "é", "1" * 200])
def test_an_odd_psid_is_not_looked_up(calls, failures, psid):
    assert MessengerChannel().fetch_profile(psid) is None
    assert calls == [] and failures == [("messenger", "bad_id")]


@pytest.mark.parametrize(("answer", "reason"), [
    (FakeResponse(400, graph(100, 2018218, "No profile available for this user")), "refused"),
    (FakeResponse(403, graph(10, None, "Requires pages_user_profile")), "refused"),
    (FakeResponse(401, graph(190, None, "Invalid OAuth access token")), "refused"),
    (FakeResponse(200, None), "not_json"),
    (FakeResponse(200, {"id": PSID}), "no_name"),
    (FakeResponse(200, ["Ann"]), "no_name"),
])
def test_a_failed_look_up_is_counted_and_harmless(calls, failures, answer, reason):
    calls.answer = answer
    assert MessengerChannel().fetch_profile(PSID) is None
    assert failures == [("messenger", reason)]


@pytest.mark.parametrize(("answer", "reason"), [
    (FakeResponse(500, graph(1, None, "An unknown error occurred")), "provider_error"),
    (FakeResponse(503), "provider_error"),
    (FakeResponse(429, graph(4), headers={"Retry-After": "600"}), "provider_error"),
    (RetryableSendError("ReadTimeout calling the provider"), "unreachable"),
    (RetryableSendError("ConnectTimeout calling the provider"), "unreachable"),
])
def test_when_graph_fails_to_answer_look_ups_pause_for_a_minute(calls, failures, answer, reason):
    # The shared session already retried with backoff within the call: the Graph API is not answering now
    calls.answer = answer
    channel = MessengerChannel()
    assert channel.fetch_profile(PSID) is None
    # Then the next new contacts are not held up by it: no look-up for a while, each one counted
    calls.answer = FakeResponse(200, {"name": "Ann"})
    assert channel.fetch_profile("PSID2") is None
    assert len(calls) == 1 and failures == [("messenger", reason), ("messenger", "paused")]


def test_look_ups_resume_after_the_pause(calls, failures, monkeypatch):
    import time

    from switchboard.channels import messenger

    channel = MessengerChannel()
    calls.answer = FakeResponse(502)
    channel.fetch_profile(PSID)
    later = time.monotonic() + messenger.PROFILE_PAUSE_SECONDS + 1
    monkeypatch.setattr(messenger.time, "monotonic", lambda: later)
    calls.answer = FakeResponse(200, {"name": "Ann"})
    assert channel.fetch_profile(PSID) == "Ann"


def test_no_token_no_look_up(calls, failures, settings_env):
    settings_env(MESSENGER_PAGE_TOKEN="")
    assert MessengerChannel().fetch_profile(PSID) is None
    assert calls == [] and failures == [("messenger", "no_token")]


def test_a_secret_store_failure_is_a_counted_miss(calls, failures, monkeypatch):
    from switchboard import secrets
    from switchboard.errors import ServiceUnavailable

    def down(name: str) -> str:
        raise ServiceUnavailable("secret unavailable")

    monkeypatch.setattr(secrets, "get", down)
    assert MessengerChannel().fetch_profile(PSID) is None
    assert calls == [] and failures == [("messenger", "no_secret")]

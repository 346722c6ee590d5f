"""Telegram: secret-token check, every update and message type, sendMessage and getFile, hostile bodies."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.channels import http
from switchboard.channels.base import WebhookRequest
from switchboard.channels.telegram import ALLOWED_UPDATES, TelegramChannel
from switchboard.errors import (
    MalformedPayload,
    MediaError,
    PermanentSendError,
    RetryableSendError,
    ServiceUnavailable,
    SignatureError,
)
from switchboard.models import Attachment, ContactEvent, IgnoredEvent, InboundMessage, SendRequest, dedupe_id
from tests.unit.channels.media_server import media_server_fixture  # noqa: F401 (a fixture)

SECRET = "test-telegram-secret"
TOKEN = "123:test-bot-token"
API = "https://api.telegram.org"
ROOT = Path(__file__).resolve().parents[3]

ANN = {"id": 111, "is_bot": False, "first_name": "Ann", "last_name": "Lee", "username": "ann", "language_code": "en"}
PRIVATE = {"id": 111, "first_name": "Ann", "username": "ann", "type": "private"}


def request(body: Any, secret: str | None = SECRET) -> WebhookRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"content-type": "application/json"}
    if secret is not None:
        headers["x-telegram-bot-api-secret-token"] = secret
    return WebhookRequest(method="POST", path="/webhooks/telegram", headers=headers, query={}, body=raw)


def message(**content: Any) -> dict[str, Any]:
    return {"message_id": 45, "from": ANN, "chat": PRIVATE, "date": 1760000000, **content}


def update(key: str = "message", update_id: int = 10001, **content: Any) -> dict[str, Any]:
    return {"update_id": update_id, key: message(**content)}


def parse_one(payload: dict[str, Any]) -> Any:
    events = TelegramChannel().parse(request(payload))
    assert len(events) == 1
    return events[0]


class Response:
    def __init__(self, status: int, payload: Any = None, headers: dict[str, str] | None = None, content: bytes = b""):
        self.status_code = status
        self._payload = payload
        self.headers = headers or {}
        self._content = content

    def json(self) -> Any:
        if isinstance(self._payload, bytes):
            raise ValueError("not JSON")
        return self._payload

    def iter_content(self, size: int):
        for start in range(0, len(self._content), 4):
            yield self._content[start:start + 4]


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch):
    """Replaces the HTTP layer: queue answers in calls.answers, read the requests made in calls.made."""

    class Calls:
        made: list[tuple[str, str, dict[str, Any]]] = []
        answers: list[Any] = []

    recorder = Calls()
    recorder.made, recorder.answers = [], []

    def fake(method: str, url: str, **kwargs: Any) -> Any:
        recorder.made.append((method, url, kwargs))
        answer = recorder.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(http, "request", fake)
    return recorder


# -- verify -----------------------------------------------------------------------------------------

def test_the_configured_secret_is_accepted():
    TelegramChannel().verify(request(update(text="hi")))


@pytest.mark.parametrize("header", [None, "", "wrong", "test-telegram-secreT", SECRET + " ", "tést-telegram-secret",
                                    "\ud800bad"])
def test_a_missing_empty_or_wrong_secret_is_refused(header):
    with pytest.raises(SignatureError):
        TelegramChannel().verify(request(update(text="hi"), secret=header))


def test_without_a_configured_secret_every_request_is_refused(settings_env):
    settings_env(TELEGRAM_SECRET_TOKEN="")
    for header in ("", "anything", SECRET):
        with pytest.raises(SignatureError):
            TelegramChannel().verify(request(update(text="hi"), secret=header))


# -- parse: messages -------------------------------------------------------------------------------

def test_a_text_message_is_normalized():
    msg = parse_one(update(text="hi", entities=[{"type": "bold", "offset": 0, "length": 2}]))
    assert isinstance(msg, InboundMessage)
    assert msg.channel == "telegram"
    assert msg.provider_message_id == "111:45"  # chat:message, the same for the message's edits
    assert msg.inbox_id == "123"  # the bot, from the token's prefix
    assert msg.sender_id == "111"
    assert msg.identity == "telegram:111"
    assert msg.sender_name == "Ann Lee"
    assert (msg.type, msg.text, msg.timestamp, msg.edited) == ("text", "hi", 1760000000.0, False)
    assert msg.attachments == [] and msg.reply_to is None


def test_the_sender_name_falls_back_to_the_username():
    payload = update(text="hi")
    payload["message"]["from"] = {"id": 111, "is_bot": False, "first_name": "", "username": "ann"}
    assert parse_one(payload).sender_name == "ann"


def test_a_group_message_answers_the_group_but_identifies_the_person():
    payload = update(text="hi")
    payload["message"]["chat"] = {"id": -1001234567890, "title": "Support group", "type": "supergroup"}
    msg = parse_one(payload)
    assert msg.sender_id == "-1001234567890"
    assert msg.provider_message_id == "-1001234567890:45"
    assert msg.identity == "telegram:111"


def test_an_edit_updates_the_original_message():
    original = parse_one(update(text="hi"))
    payload = update("edited_message", update_id=10002, text="hi there", edit_date=1760000300)
    edit = parse_one(payload)
    assert edit.edited is True
    assert edit.provider_message_id == original.provider_message_id
    assert edit.text == "hi there"
    assert original.event_id is None  # a message is deduplicated on its provider id...
    assert edit.event_id == "update:10002"  # ...an edit on its update, so that each edit of a message counts
    assert edit.timestamp == 1760000300.0  # the edit's time: later edits win over earlier ones
    assert dedupe_id(edit) != dedupe_id(original)
    retried = parse_one(payload)
    assert dedupe_id(retried) == dedupe_id(edit)


def test_the_largest_photo_is_kept_with_its_caption():
    sizes = [{"file_id": "big", "file_unique_id": "u3", "width": 1280, "height": 960, "file_size": 90000},
             {"file_id": "small", "file_unique_id": "u1", "width": 90, "height": 67, "file_size": 1200},
             {"file_id": "mid", "file_unique_id": "u2", "width": 320, "height": 240, "file_size": 15000}]
    msg = parse_one(update(photo=sizes, caption="my receipt"))
    assert (msg.type, msg.text) == ("image", "my receipt")
    [photo] = msg.attachments
    assert (photo.kind, photo.provider_media_id, photo.mime_type, photo.status) == ("image", "big", "image/jpeg", "pending")


def test_a_document_keeps_its_name_and_type():
    doc = {"file_id": "doc1", "file_unique_id": "d", "file_name": "invoice.pdf", "mime_type": "application/pdf",
           "file_size": 52000}
    msg = parse_one(update(document=doc, caption="see attached"))
    [att] = msg.attachments
    assert (msg.type, msg.text) == ("document", "see attached")
    assert (att.kind, att.provider_media_id, att.filename, att.mime_type, att.size) == (
        "document", "doc1", "invoice.pdf", "application/pdf", 52000)


@pytest.mark.parametrize(("field", "obj", "kind", "mime", "voice"), [
    ("audio", {"file_id": "a1", "file_unique_id": "u", "duration": 180, "mime_type": "audio/mpeg",
               "file_name": "song.mp3"}, "audio", "audio/mpeg", False),
    ("voice", {"file_id": "v1", "file_unique_id": "u", "duration": 4, "mime_type": "audio/ogg"}, "audio", "audio/ogg",
     True),
    ("video", {"file_id": "vid1", "file_unique_id": "u", "width": 640, "height": 360, "duration": 12,
               "mime_type": "video/mp4"}, "video", "video/mp4", False),
    ("video_note", {"file_id": "vn1", "file_unique_id": "u", "length": 240, "duration": 8}, "video", "video/mp4", False),
])
def test_audio_voice_video_and_video_notes(field, obj, kind, mime, voice):
    msg = parse_one(update(**{field: obj}))
    [att] = msg.attachments
    assert msg.type == field
    assert (att.kind, att.provider_media_id, att.mime_type, att.voice) == (kind, obj["file_id"], mime, voice)


def test_an_animation_wins_over_the_document_it_also_carries():
    gif = {"file_id": "anim1", "file_unique_id": "u", "width": 320, "height": 240, "duration": 3,
           "mime_type": "video/mp4", "file_name": "cat.mp4"}
    msg = parse_one(update(animation=gif, document=dict(gif)))
    assert msg.type == "animation"
    assert [(a.kind, a.provider_media_id) for a in msg.attachments] == [("video", "anim1")]


@pytest.mark.parametrize(("flags", "mime"), [({}, "image/webp"), ({"is_animated": True}, "application/x-tgsticker"),
                                             ({"is_video": True}, "video/webm")])
def test_a_sticker_keeps_its_emoji(flags, mime):
    sticker = {"file_id": "st1", "file_unique_id": "u", "type": "regular", "width": 512, "height": 512,
               "is_animated": False, "is_video": False, "emoji": "👍"} | flags
    msg = parse_one(update(sticker=sticker))
    assert (msg.type, msg.text) == ("sticker", "👍")
    assert [(a.kind, a.mime_type) for a in msg.attachments] == [("sticker", mime)]


def test_a_location():
    msg = parse_one(update(location={"latitude": 52.52, "longitude": 13.405}))
    assert msg.type == "location"
    assert (msg.location.latitude, msg.location.longitude) == (52.52, 13.405)


def test_a_venue_names_its_location():
    point = {"latitude": 48.8584, "longitude": 2.2945}
    msg = parse_one(update(location=point, venue={"location": point, "title": "Eiffel Tower",
                                                  "address": "Champ de Mars, Paris"}))
    assert msg.type == "location"
    assert (msg.location.name, msg.location.address) == ("Eiffel Tower", "Champ de Mars, Paris")
    assert msg.text == "Eiffel Tower, Champ de Mars, Paris"


@pytest.mark.parametrize("point", [{"latitude": 91, "longitude": 0}, {"latitude": "52", "longitude": 13},
                                   {"latitude": True, "longitude": 1}, {}])
def test_an_impossible_location_is_unsupported(point):
    msg = parse_one(update(location=point))
    assert msg.type == "unsupported" and msg.location is None
    assert msg.summary == "Location (no valid coordinates)"  # said, not shown as an empty message


def test_a_shared_contact_becomes_text():
    msg = parse_one(update(contact={"phone_number": "+15551234567", "first_name": "Bob", "last_name": "Ray",
                                    "user_id": 222}))
    assert (msg.type, msg.text) == ("contact", "Bob Ray +15551234567")


def test_polls_and_dice_become_text():
    poll = {"id": "p1", "question": "Which plan?", "options": [{"text": "Basic", "voter_count": 0},
                                                               {"text": "Pro", "voter_count": 0}]}
    assert parse_one(update(poll=poll)).text == "Which plan?\n- Basic\n- Pro"
    assert parse_one(update(dice={"emoji": "🎲", "value": 4})).text == "🎲 4"


def test_a_reply_points_at_the_quoted_message():
    quoted = {"message_id": 44, "from": {"id": 123, "is_bot": True, "first_name": "Support"}, "chat": PRIVATE,
              "date": 1759999000, "text": "How can we help?"}
    msg = parse_one(update(text="my order", reply_to_message=quoted))
    assert msg.reply_to == "111:44"


def test_service_messages_are_not_stored_but_counted():
    payload = update(pinned_message={"message_id": 40, "chat": PRIVATE, "date": 1})
    assert TelegramChannel().parse(request(payload)) == [IgnoredEvent(channel="telegram", reason="service_message")]


def test_an_unknown_kind_of_message_is_stored_with_a_placeholder_naming_it():
    # A field a later Bot API adds: still the customer's, shown as what is known, never as an empty message
    msg = parse_one(update(hologram={"file_id": "h1"}, caption="look"))
    assert (msg.type, msg.text, msg.attachments) == ("unsupported", "look", [])
    assert msg.summary == "A kind of Telegram message not shown here (hologram)"


def test_a_media_object_without_file_id_says_what_it_was():
    msg = parse_one(update(document={"file_name": "x.pdf"}, caption="c"))
    assert (msg.type, msg.text, msg.attachments, msg.summary) == ("document", "c", [], "File (no file to download)")


# -- parse: other updates --------------------------------------------------------------------------

def button_press(**extra: Any) -> dict[str, Any]:
    bot_message = {"message_id": 50, "from": {"id": 123, "is_bot": True, "first_name": "Support"}, "chat": PRIVATE,
                   "date": 1760000100, "text": "Was this helpful?",
                   "reply_markup": {"inline_keyboard": [[{"text": "Yes 👍", "callback_data": "helpful:yes"},
                                                         {"text": "No", "callback_data": "helpful:no"}]]}}
    query = {"id": "4382bfdwdsb323b2d9", "from": ANN, "message": bot_message, "chat_instance": "-8", "data": "helpful:yes"}
    return {"update_id": 10003, "callback_query": query | extra}


def test_a_button_press_is_a_postback():
    msg = parse_one(button_press())
    assert msg.provider_message_id == "callback:4382bfdwdsb323b2d9"
    assert (msg.type, msg.payload, msg.text) == ("postback", "helpful:yes", "Yes 👍")
    assert (msg.sender_id, msg.identity, msg.inbox_id) == ("111", "telegram:111", "123")
    assert msg.reply_to == "111:50"


def test_a_button_press_on_an_inline_message_answers_the_user():
    payload = button_press(inline_message_id="AAAA")
    del payload["callback_query"]["message"]
    msg = parse_one(payload)
    assert (msg.sender_id, msg.text, msg.reply_to) == ("111", "helpful:yes", None)


def member_update(old: str, new: str, chat: dict[str, Any] | None = None) -> dict[str, Any]:
    bot = {"id": 123, "is_bot": True, "first_name": "Support", "username": "support_bot"}
    return {"update_id": 10004, "my_chat_member": {
        "chat": chat or PRIVATE, "from": ANN, "date": 1760000500,
        "old_chat_member": {"user": bot, "status": old}, "new_chat_member": {"user": bot, "status": new, "until_date": 0}}}


def test_blocking_the_bot_is_a_contact_event():
    event = parse_one(member_update("member", "kicked"))
    assert isinstance(event, ContactEvent)
    assert (event.event, event.provider_event_id, event.inbox_id) == ("blocked", "update:10004", "123")
    assert (event.sender_id, event.identity, event.timestamp) == ("111", "telegram:111", 1760000500.0)


def test_restarting_the_bot_after_a_block_is_an_unblock():
    assert parse_one(member_update("kicked", "member")).event == "unblocked"


@pytest.mark.parametrize(("old", "new", "chat"), [
    ("left", "member", None),  # not a block being lifted
    ("member", "administrator", None),
    ("member", "kicked", {"id": -100555, "title": "Group", "type": "supergroup"}),  # removed from a group
])
def test_other_membership_changes_are_ignored(old, new, chat):
    assert TelegramChannel().parse(request(member_update(old, new, chat))) == [
        IgnoredEvent(channel="telegram", reason="chat_member_update")]


@pytest.mark.parametrize(("kind", "reason"), [("channel_post", "channel_post"), ("edited_channel_post", "channel_post"),
                                              ("inline_query", "inline_query"), ("poll", "poll_update"),
                                              ("nothing_known", "unknown_update")])
def test_updates_that_are_no_customer_speaking_are_ignored_with_a_reason(kind, reason):
    assert TelegramChannel().parse(request({"update_id": 7, kind: {"id": "x"}})) == [
        IgnoredEvent(channel="telegram", reason=reason)]


@pytest.mark.parametrize("body", [b"", b"not json", b"[1, 2]", b'"text"', b"\xff\xfe{", b"[" * 100000,
                                  b'{"message": {}}', b'{"update_id": "1", "message": {}}',
                                  b'{"update_id": true, "message": {}}',
                                  b'{"update_id": 1, "message": "hi"}',
                                  b'{"update_id": 1, "message": {"message_id": 1, "date": 1, "text": "x"}}',
                                  b'{"update_id": 1, "edited_message": {"message_id": "1", "chat": {"id": 1}}}',
                                  b'{"update_id": 1, "callback_query": {"from": {"id": 1}}}',
                                  b'{"update_id": 1, "my_chat_member": {"chat": {"id": 1}}}'])
def test_malformed_bodies_are_refused(body):
    with pytest.raises(MalformedPayload):
        TelegramChannel().parse(request(body))


def test_without_a_bot_token_updates_wait_for_configuration(settings_env):
    settings_env(TELEGRAM_BOT_TOKEN="")
    with pytest.raises(ServiceUnavailable):
        TelegramChannel().parse(request(update(text="hi")))


def test_acknowledge_answers_a_button_press_in_the_reply():
    channel = TelegramChannel()
    plain = channel.acknowledge()
    assert (plain.status, plain.body) == (200, "")
    events = channel.parse(request(button_press()))
    reply = channel.acknowledge(events)
    assert (reply.status, reply.content_type) == (200, "application/json")
    assert json.loads(reply.body) == {"method": "answerCallbackQuery", "callback_query_id": "4382bfdwdsb323b2d9"}
    assert channel.acknowledge(channel.parse(request(update(text="hi")))).body == ""


# -- hostile input ------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=25)
message_keys = st.sampled_from(["message_id", "chat", "from", "date", "text", "photo", "document", "voice", "sticker",
                                "location", "venue", "contact", "poll", "dice", "caption", "reply_to_message",
                                "pinned_message", "id", "data", "status", "new_chat_member", "old_chat_member", "type"])
telegramish = st.recursive(
    st.none() | st.booleans() | st.integers(-2**64, 2**64) | st.floats() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(message_keys, children, max_size=6),
    max_leaves=30)


def assert_contained(body: bytes) -> None:
    try:
        events = TelegramChannel().parse(request(body))
    except MalformedPayload:
        return
    assert isinstance(events, list)
    for event in events:
        event.model_dump_json()  # serializable as the queue needs


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_escape(body):
    assert_contained(body)


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_arbitrary_json_never_escapes(value):
    assert_contained(json.dumps(value).encode())


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["message", "edited_message", "callback_query", "my_chat_member"]), telegramish,
       st.integers(-2**70, 2**70))
def test_updates_of_the_wrong_shape_never_escape(kind, value, update_id):
    assert_contained(json.dumps({"update_id": update_id, kind: value}).encode())


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(message_keys, telegramish, max_size=8))
def test_messages_of_the_wrong_shape_never_escape(fields):
    assert_contained(json.dumps({"update_id": 1, "message": message() | fields}).encode())


def test_deep_nesting_and_huge_numbers_never_escape():
    assert_contained(b'{"update_id": 1, "message": ' + b'{"a": ' * 50000 + b"1" + b"}" * 50001)
    assert_contained(b'{"update_id": 1' + b"0" * 5000 + b"}")
    assert_contained(b'{"update_id": 1, "message": {"message_id": 1, "chat": {"id": 1}, "location": '
                     b'{"latitude": NaN, "longitude": Infinity}}}')


# -- send -----------------------------------------------------------------------------------------------

def send_request(**extra: Any) -> SendRequest:
    fields: dict[str, Any] = {"channel": "telegram", "inbox_id": "123", "recipient": "111", "text": "Thanks, on it."}
    return SendRequest(**(fields | extra))


def sent(message_id: int = 46, chat_id: int = 111) -> Response:
    return Response(200, {"ok": True, "result": {"message_id": message_id, "chat": {"id": chat_id, "type": "private"},
                                                 "date": 1760000600, "text": "Thanks, on it."}})


def test_send_posts_send_message_with_the_quote(calls):
    calls.answers.append(sent())
    result = TelegramChannel().send(send_request(reply_to="111:45"))
    assert result.provider_message_id == "111:46"
    [(method, url, kwargs)] = calls.made
    assert (method, url) == ("POST", f"{API}/bot{TOKEN}/sendMessage")
    assert kwargs["json"] == {"chat_id": 111, "text": "Thanks, on it.",
                              "reply_parameters": {"message_id": 45, "allow_sending_without_reply": True}}


def test_send_without_a_quote_and_to_a_named_chat(calls):
    calls.answers.append(sent(chat_id=-100777))
    result = TelegramChannel().send(send_request(recipient="@support_channel"))
    assert calls.made[0][2]["json"] == {"chat_id": "@support_channel", "text": "Thanks, on it."}
    assert result.provider_message_id == "-100777:46"


def test_send_uses_the_configured_api_base_url(calls, settings_env):
    settings_env(TELEGRAM_API_BASE_URL="http://127.0.0.1:9999/_sandbox/telegram")
    calls.answers.append(sent())
    TelegramChannel().send(send_request())
    assert calls.made[0][1] == f"http://127.0.0.1:9999/_sandbox/telegram/bot{TOKEN}/sendMessage"


@pytest.mark.parametrize("text", ["x" * 4097, "", "   \n"])
def test_text_telegram_would_refuse_is_not_sent(calls, text):
    with pytest.raises(PermanentSendError):
        TelegramChannel().send(send_request(text=text))
    assert calls.made == []


def test_4096_characters_are_sent(calls):
    calls.answers.append(sent())
    TelegramChannel().send(send_request(text="é" * 4096))
    assert len(calls.made) == 1


def error(status: int, description: str, **parameters: Any) -> Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return Response(status, body)


def test_flood_control_is_retried_after_the_given_wait(calls):
    calls.answers.append(error(429, "Too Many Requests: retry after 7", retry_after=7))
    with pytest.raises(RetryableSendError) as caught:
        TelegramChannel().send(send_request())
    assert caught.value.retry_after == 7


def test_a_blocked_bot_is_a_permanent_failure_that_says_so(calls):
    calls.answers.append(error(403, "Forbidden: bot was blocked by the user"))
    with pytest.raises(PermanentSendError) as caught:
        TelegramChannel().send(send_request())
    assert "user blocked the bot" in caught.value.message
    assert caught.value.recipient_blocked is True


@pytest.mark.parametrize(("status", "description", "parameters", "expected"), [
    (400, "Bad Request: chat not found", {}, "chat not found"),
    (400, "Bad Request: message is too long", {}, "message is too long"),
    (400, "Bad Request: group chat was upgraded to a supergroup chat", {"migrate_to_chat_id": -1001234}, "-1001234"),
    (401, "Unauthorized", {}, "bot token"),
])
def test_refusals_are_permanent(calls, status, description, parameters, expected):
    calls.answers.append(error(status, description, **parameters))
    with pytest.raises(PermanentSendError) as caught:
        TelegramChannel().send(send_request())
    assert expected in caught.value.message
    assert caught.value.recipient_blocked is False
    assert "test-bot-token" not in caught.value.message


@pytest.mark.parametrize(("description", "expected"), [
    ("Forbidden: bot can't initiate conversation with a user", "initiate conversation"),
    ("Forbidden: user is deactivated", "deactivated"),
])
def test_any_403_means_the_user_cannot_be_reached_and_marks_the_conversation(calls, description, expected):
    calls.answers.append(error(403, description))
    with pytest.raises(PermanentSendError) as caught:
        TelegramChannel().send(send_request())
    assert expected in caught.value.message and "cannot be reached" in caught.value.message
    assert caught.value.recipient_blocked is True


@pytest.mark.parametrize("answer", [error(502, "Bad Gateway"), Response(500, b"<html>oops</html>")])
def test_provider_trouble_is_retried(calls, answer):
    calls.answers.append(answer)
    with pytest.raises(RetryableSendError):
        TelegramChannel().send(send_request())


def test_an_accepted_send_without_a_message_id_is_never_sent_again(calls):
    # Telegram said ok: a retry could post the reply twice, so the agent is told the outcome is unknown
    calls.answers.append(Response(200, {"ok": True, "result": {}}))
    with pytest.raises(PermanentSendError) as caught:
        TelegramChannel().send(send_request())
    assert "delivery unknown" in caught.value.message


def test_a_network_failure_is_retried_without_the_token_in_its_chain(calls):
    def failing():
        try:
            raise OSError(f"connection reset calling {API}/bot{TOKEN}/sendMessage")
        except OSError as exc:
            raise RetryableSendError("ConnectionError calling the provider") from exc

    try:
        failing()
    except RetryableSendError as exc:
        calls.answers.append(exc)
    with pytest.raises(RetryableSendError) as caught:
        TelegramChannel().send(send_request())
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_answer_callback_query(calls):
    calls.answers.append(Response(200, {"ok": True, "result": True}))
    TelegramChannel().answer_callback_query("4382bfdwdsb323b2d9")
    assert calls.made[0][1] == f"{API}/bot{TOKEN}/answerCallbackQuery"
    assert calls.made[0][2]["json"] == {"callback_query_id": "4382bfdwdsb323b2d9"}


# -- media ------------------------------------------------------------------------------------------------

def photo(**extra: Any) -> Attachment:
    return Attachment(kind="image", provider_media_id="big", mime_type="image/jpeg", **extra)


def get_file(path: str = "photos/file_7.jpg", size: int | None = 12) -> Response:
    result: dict[str, Any] = {"file_id": "big", "file_unique_id": "u3", "file_path": path}
    if size is not None:
        result["file_size"] = size
    return Response(200, {"ok": True, "result": result})


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """http.download replaced: queue its results (or errors) in .answers, read the URLs and options in .made."""

    class Downloads(list):
        answers: list[Any] = []

    made = Downloads()
    made.answers = []

    def fake(url: str, **kwargs: Any) -> http.Download:
        made.append((url, kwargs))
        answer = made.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(http, "download", fake)
    return made


def test_fetch_media_resolves_the_file_then_downloads_it_from_telegram_only(calls, downloads):
    data = b"\xff\xd8jpegbytes!"
    calls.answers.append(get_file())
    downloads.answers.append(http.Download(data, "application/octet-stream"))
    content = TelegramChannel().fetch_media(photo())
    assert content.data == data
    assert content.mime_type == "image/jpeg"
    assert content.sha256 == hashlib.sha256(data).hexdigest()
    [(m1, u1, k1)] = calls.made
    assert (m1, u1, k1["params"]) == ("GET", f"{API}/bot{TOKEN}/getFile", {"file_id": "big"})
    [(url, options)] = downloads
    assert url == f"{API}/file/bot{TOKEN}/photos/file_7.jpg"
    assert options["allowed_hosts"] == ("api.telegram.org",) and options["api_base_url"] == API
    assert "headers" not in options  # the token is in the path of Telegram's own host: nothing to send elsewhere


def test_fetch_media_guesses_the_type_of_a_file_without_one(calls, downloads):
    calls.answers.append(get_file("documents/file_3.pdf"))
    downloads.answers.append(http.Download(b"%PDF-1.7", None))
    content = TelegramChannel().fetch_media(Attachment(kind="document", provider_media_id="d"))
    assert content.mime_type == "application/pdf"


@pytest.mark.parametrize(("path", "escaped"), [("documents/my file #1?.pdf", "documents/my%20file%20%231%3F.pdf"),
                                               ("photos/%2e%2e", "photos/%252e%252e")])
def test_the_file_path_is_escaped_segment_by_segment(calls, downloads, path, escaped):
    calls.answers.append(get_file(path))
    downloads.answers.append(http.Download(b"x", None))
    TelegramChannel().fetch_media(photo())
    assert downloads[0][0] == f"{API}/file/bot{TOKEN}/{escaped}"


@pytest.mark.parametrize("path", ["../bot999:other/x", "photos/../../x", "/etc/passwd", "photos//x", "a\\b", "./x"])
def test_a_file_path_that_could_leave_the_bots_files_is_refused(calls, downloads, path):
    calls.answers.append(get_file(path))
    with pytest.raises(MediaError):
        TelegramChannel().fetch_media(photo())
    assert downloads == []


def test_a_file_announced_over_the_limit_is_not_downloaded(calls, downloads, settings_env):
    settings_env(MEDIA_MAX_BYTES="10")
    calls.answers.append(get_file(size=11))
    with pytest.raises(MediaError):
        TelegramChannel().fetch_media(photo())
    assert len(calls.made) == 1 and downloads == []


def test_the_download_is_capped_at_the_limit(calls, downloads, settings_env):
    settings_env(MEDIA_MAX_BYTES="10")
    calls.answers.append(get_file(size=None))
    downloads.answers.append(MediaError("media larger than the configured limit"))
    with pytest.raises(MediaError):
        TelegramChannel().fetch_media(photo())
    assert downloads[0][1]["max_bytes"] == 10


@pytest.mark.parametrize(("answers", "download"), [
    ([error(400, "Bad Request: file is too big")], None),
    ([Response(200, {"ok": True, "result": {"file_id": "big"}})], None),
    ([Response(200, b"garbage")], None),
    ([get_file()], MediaError("media download answered 404")),
    ([RetryableSendError("ConnectionError calling the provider")], None),
    ([get_file()], MediaError("ReadTimeoutError downloading media")),
])
def test_failed_downloads_are_media_errors(calls, downloads, answers, download):
    calls.answers += answers
    if download is not None:
        downloads.answers.append(download)
    with pytest.raises(MediaError) as caught:
        TelegramChannel().fetch_media(photo())
    assert caught.value.__cause__ is None
    assert "test-bot-token" not in caught.value.message


def test_an_attachment_without_file_id_cannot_be_fetched(calls):
    with pytest.raises(MediaError):
        TelegramChannel().fetch_media(Attachment(kind="image"))


def test_the_download_through_the_real_guard_goes_to_api_telegram_org(calls, media_server):
    calls.answers.append(get_file())
    media_server.answer(f"/file/bot{TOKEN}/photos/file_7.jpg", 200, {"Content-Type": "image/jpeg"}, b"jpeg")
    content = TelegramChannel().fetch_media(photo())
    assert content.data == b"jpeg"
    assert media_server.connected == [("api.telegram.org", "149.154.167.220")]


@pytest.mark.parametrize("token", ["123:abc/../x", "123:abc?x", "123:abc#x", "123:ab c", "abc:def", "123", "123:"])
def test_a_bot_token_that_would_change_the_url_is_never_used(calls, settings_env, token):
    settings_env(TELEGRAM_BOT_TOKEN=token)
    with pytest.raises(PermanentSendError):
        TelegramChannel().send(send_request())
    with pytest.raises(MediaError):
        TelegramChannel().fetch_media(photo())
    assert calls.made == []


# -- setWebhook script ------------------------------------------------------------------------------------

def load_script() -> Any:
    spec = importlib.util.spec_from_file_location("telegram_set_webhook", ROOT / "infra/scripts/telegram-set-webhook.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_script_subscribes_to_what_the_channel_parses():
    assert load_script().ALLOWED_UPDATES == list(ALLOWED_UPDATES)


def test_the_script_sets_the_webhook_without_printing_secrets(capsys):
    made = []

    def call(url: str, body: dict[str, Any]) -> dict[str, Any]:
        made.append((url, body))
        if url.endswith("/getWebhookInfo"):
            return {"ok": True, "result": {"url": "https://hooks.example.com/webhooks/telegram", "pending_update_count": 0,
                                           "allowed_updates": list(ALLOWED_UPDATES)}}
        return {"ok": True, "result": True, "description": "Webhook was set"}

    assert load_script().main(["--url", "https://hooks.example.com/webhooks/telegram"], call=call) == 0
    (set_url, body), (info_url, _) = made
    assert set_url == f"{API}/bot{TOKEN}/setWebhook" and info_url == f"{API}/bot{TOKEN}/getWebhookInfo"
    assert body == {"url": "https://hooks.example.com/webhooks/telegram", "secret_token": SECRET,
                    "allowed_updates": list(ALLOWED_UPDATES), "max_connections": 40, "drop_pending_updates": False}
    out = capsys.readouterr()
    assert "test-bot-token" not in out.out + out.err and SECRET not in out.out + out.err


def test_the_script_reads_the_tokens_from_ssm(monkeypatch, capsys):
    from moto import mock_aws

    monkeypatch.delenv("TELEGRAM_BOT_TOKEN")
    monkeypatch.delenv("TELEGRAM_SECRET_TOKEN")
    made = []
    with mock_aws():
        import boto3

        ssm = boto3.client("ssm", region_name="us-east-1")
        ssm.put_parameter(Name="/switchboard/prod/telegram/bot-token", Value="987:ssm-token", Type="SecureString")
        ssm.put_parameter(Name="/switchboard/prod/telegram/secret-token", Value="ssm-secret", Type="SecureString")
        code = load_script().main(["--url", "https://api.example.com/webhooks/telegram", "--stage", "prod"],
                                  call=lambda url, body: made.append((url, body)) or {"ok": True, "result": {}})
    assert code == 0
    assert made[0][0] == f"{API}/bot987:ssm-token/setWebhook" and made[0][1]["secret_token"] == "ssm-secret"
    out = capsys.readouterr()
    assert "ssm-token" not in out.out + out.err and "ssm-secret" not in out.out + out.err


def test_the_script_reports_failures_without_secrets(monkeypatch, capsys):
    script = load_script()
    refused = script.main(["--url", "https://hooks.example.com/webhooks/telegram"],
                          call=lambda url, body: {"ok": False, "error_code": 400, "description": "bad webhook"})
    monkeypatch.setenv("TELEGRAM_SECRET_TOKEN", "has spaces")
    invalid = script.main(["--url", "https://hooks.example.com/webhooks/telegram"], call=lambda url, body: {})
    assert (refused, invalid) == (1, 1)
    err = capsys.readouterr().err
    assert "bad webhook" in err and "test-bot-token" not in err and "has spaces" not in err
    with pytest.raises(SystemExit):
        script.main(["--url", "http://insecure.example.com/webhooks/telegram"])

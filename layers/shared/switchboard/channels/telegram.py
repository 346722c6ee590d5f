"""Telegram Bot API: webhook updates in (secret-token header), sendMessage and getFile downloads out."""

from __future__ import annotations

import hashlib
import hmac
import json
import mimetypes
import re
from typing import Any
from urllib.parse import quote

from switchboard import clock, secrets
from switchboard.channels import http
from switchboard.channels.base import Channel, MediaContent, WebhookReply, WebhookRequest
from switchboard.channels.fields import as_dict as _dict
from switchboard.channels.fields import as_list as _list
from switchboard.channels.fields import read_capped as _read_capped
from switchboard.channels.fields import storable
from switchboard.errors import (
    MalformedPayload,
    MediaError,
    PermanentSendError,
    RetryableSendError,
    ServiceUnavailable,
    SignatureError,
)
from switchboard.models import Attachment, ContactEvent, InboundMessage, Location, SendRequest, SendResult
from switchboard.settings import get_settings

SECRET_HEADER = "x-telegram-bot-api-secret-token"
MAX_TEXT = 4096
# Updates setWebhook subscribes to (infra/scripts/telegram-set-webhook.py); others are acknowledged and ignored.
ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member")
# Messages that announce something about the chat, not something the customer wrote: not stored.
SERVICE_KEYS = frozenset({
    "new_chat_members", "left_chat_member", "new_chat_title", "new_chat_photo", "delete_chat_photo",
    "group_chat_created", "supergroup_chat_created", "channel_chat_created", "message_auto_delete_timer_changed",
    "migrate_to_chat_id", "migrate_from_chat_id", "pinned_message", "write_access_allowed", "users_shared",
    "chat_shared", "connected_website", "proximity_alert_triggered", "boost_added", "chat_background_set",
    "forum_topic_created", "forum_topic_edited", "forum_topic_closed", "forum_topic_reopened",
    "general_forum_topic_hidden", "general_forum_topic_unhidden", "video_chat_scheduled", "video_chat_started",
    "video_chat_ended", "video_chat_participants_invited", "web_app_data",
})
EventList = list[InboundMessage | ContactEvent]
CHAT_ID = re.compile(r"-?[0-9]{1,20}")


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return storable(value) if isinstance(value, str) and value else None


def _timestamp(value: Any) -> float:
    ts = _int(value)
    return float(ts) if ts is not None and 0 < ts < 10**11 else clock.now().timestamp()


def _name(person: dict[str, Any]) -> str | None:
    full = " ".join(p for p in (_str(person.get("first_name")), _str(person.get("last_name"))) if p)
    return full or _str(person.get("title")) or _str(person.get("username"))


def _file(obj: Any, kind: str, *, mime: str | None = None, voice: bool = False) -> Attachment | None:
    obj = _dict(obj)
    file_id = _str(obj.get("file_id"))
    if not file_id:
        return None
    size = _int(obj.get("file_size"))
    return Attachment(kind=kind, provider_media_id=file_id, mime_type=_str(obj.get("mime_type")) or mime,
                      filename=_str(obj.get("file_name")), size=size if size and size > 0 else None, voice=voice)


def _largest_photo(sizes: Any) -> Attachment | None:
    def area(size: dict[str, Any]) -> tuple[int, int]:
        return (_int(size.get("width")) or 0) * (_int(size.get("height")) or 0), _int(size.get("file_size")) or 0

    candidates = [_dict(s) for s in _list(sizes) if _str(_dict(s).get("file_id"))]
    # Telegram photos are always re-encoded as JPEG.
    return _file(max(candidates, key=area), "image", mime="image/jpeg") if candidates else None


def _sticker_mime(sticker: dict[str, Any]) -> str:
    if sticker.get("is_animated") is True:
        return "application/x-tgsticker"
    return "video/webm" if sticker.get("is_video") is True else "image/webp"


def _location(latitude: Any, longitude: Any, name: str | None = None, address: str | None = None) -> Location | None:
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (latitude, longitude)):
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):  # also rejects NaN
        return None
    return Location(latitude=latitude, longitude=longitude, name=name, address=address)


def _content(msg: dict[str, Any]) -> dict[str, Any] | None:
    """type/text/attachments/location of one message; None for a service message (nothing the customer wrote)."""
    caption = _str(msg.get("caption")) or ""
    media: tuple[tuple[str, str, dict[str, Any]], ...] = (
        # (field, attachment kind, extras); animation before document: an animation carries both fields.
        ("animation", "video", {}), ("document", "document", {}), ("audio", "audio", {}),
        ("voice", "audio", {"voice": True}), ("video", "video", {}), ("video_note", "video", {"mime": "video/mp4"}),
    )
    if "text" in msg:
        return {"type": "text", "text": _str(msg.get("text")) or ""}  # entities (formatting, links) are not kept
    if "photo" in msg:
        photo = _largest_photo(msg.get("photo"))
        return {"type": "image" if photo else "unsupported", "text": caption, "attachments": [photo] if photo else []}
    for field, kind, extras in media:
        if field in msg:
            attachment = _file(msg.get(field), kind, **extras)
            return {"type": field if attachment else "unsupported", "text": caption,
                    "attachments": [attachment] if attachment else []}
    if "sticker" in msg:
        sticker = _dict(msg.get("sticker"))
        attachment = _file(sticker, "sticker", mime=_sticker_mime(sticker))
        return {"type": "sticker" if attachment else "unsupported", "text": _str(sticker.get("emoji")) or "",
                "attachments": [attachment] if attachment else []}
    if "venue" in msg or "location" in msg:  # a venue message carries a location too
        venue = _dict(msg.get("venue"))
        point = _dict(venue.get("location")) or _dict(msg.get("location"))
        location = _location(point.get("latitude"), point.get("longitude"),
                             _str(venue.get("title")), _str(venue.get("address")))
        if location is None:
            return {"type": "unsupported", "text": ""}
        return {"type": "location", "location": location,
                "text": ", ".join(p for p in (location.name, location.address) if p)}
    if "contact" in msg:
        card = _dict(msg.get("contact"))
        parts = (_str(card.get("first_name")), _str(card.get("last_name")), _str(card.get("phone_number")))
        return {"type": "contact", "text": " ".join(p for p in parts if p)}
    if "poll" in msg:
        poll = _dict(msg.get("poll"))
        options = [_str(_dict(o).get("text")) for o in _list(poll.get("options"))]
        return {"type": "poll", "text": "\n".join([_str(poll.get("question")) or ""] + [f"- {o}" for o in options if o])}
    if "dice" in msg:
        dice = _dict(msg.get("dice"))
        value = _int(dice.get("value"))
        return {"type": "dice", "text": " ".join(p for p in (_str(dice.get("emoji")), str(value) if value else None) if p)}
    if SERVICE_KEYS.intersection(msg):
        return None
    return {"type": "unsupported", "text": caption}


def _button_label(markup: Any, data: str | None) -> str | None:
    """The text of the inline button whose callback_data the user pressed (Telegram only sends the data)."""
    for row in _list(_dict(markup).get("inline_keyboard")):
        for button in _list(row):
            button = _dict(button)
            if data is not None and button.get("callback_data") == data:
                return _str(button.get("text"))
    return None


class TelegramChannel(Channel):
    name = "telegram"
    max_text_chars = MAX_TEXT
    reply_window_seconds = None  # no window, but a bot can only write to users who started it

    # -- in ----------------------------------------------------------------------------------
    def verify(self, request: WebhookRequest) -> None:
        secret = secrets.get("telegram_secret_token")
        if not secret:
            raise SignatureError("no Telegram secret token configured: refusing every request")
        header = request.header(SECRET_HEADER) or ""
        if not header:
            raise SignatureError("missing X-Telegram-Bot-Api-Secret-Token")
        # surrogatepass: any str encodes, and distinct strings stay distinct.
        if not hmac.compare_digest(header.encode("utf-8", "surrogatepass"), secret.encode("utf-8", "surrogatepass")):
            raise SignatureError("secret token mismatch")

    def parse(self, request: WebhookRequest) -> EventList:
        try:
            update = json.loads(request.body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise MalformedPayload("body is not JSON") from None
        if not isinstance(update, dict):
            raise MalformedPayload("body is not a JSON object")
        update_id = _int(update.get("update_id"))
        if update_id is None:
            raise MalformedPayload("no update_id")
        if "message" in update:
            message = self._message(update["message"], update_id, edited=False)
            return [message] if message else []
        if "edited_message" in update:
            message = self._message(update["edited_message"], update_id, edited=True)
            return [message] if message else []
        if "callback_query" in update:
            return [self._callback(update["callback_query"])]
        if "my_chat_member" in update:
            event = self._member(update["my_chat_member"], update_id)
            return [event] if event else []
        return []  # channel posts, reactions, inline queries...: not subscribed, acknowledged

    def _message(self, raw: Any, update_id: int, *, edited: bool) -> InboundMessage | None:
        if not isinstance(raw, dict):
            raise MalformedPayload("message is not an object")
        message_id, chat_id = _int(raw.get("message_id")), _int(_dict(raw.get("chat")).get("id"))
        if message_id is None or chat_id is None:
            raise MalformedPayload("message without message_id or chat.id")
        fields = _content(raw)
        if fields is None:
            return None
        sender = _dict(raw.get("from")) or _dict(raw.get("sender_chat"))
        sender_id = _int(sender.get("id"))
        reply = _dict(raw.get("reply_to_message"))
        reply_id = _int(reply.get("message_id"))
        if reply_id is not None:
            fields["reply_to"] = f"{_int(_dict(reply.get('chat')).get('id')) or chat_id}:{reply_id}"
        if edited:
            # An edit's time orders the edits; its update id tells a retry of this edit from the next edit.
            fields.update(timestamp=_timestamp(raw.get("edit_date", raw.get("date"))), event_id=f"update:{update_id}")
        else:
            fields["timestamp"] = _timestamp(raw.get("date"))
        # Stable per message and the same for its edits, so that an edit finds the message it changes.
        return InboundMessage(channel="telegram", provider_message_id=f"{chat_id}:{message_id}", inbox_id=self._bot_id(),
                              sender_id=str(chat_id), identity=f"telegram:{sender_id if sender_id is not None else chat_id}",
                              sender_name=_name(sender), edited=edited, **fields)

    def _callback(self, raw: Any) -> InboundMessage:
        query = _dict(raw)
        query_id, user = _str(query.get("id")), _dict(query.get("from"))
        user_id = _int(user.get("id"))
        if not query_id or user_id is None:
            raise MalformedPayload("callback_query without id or from.id")
        msg = _dict(query.get("message"))  # the bot's message whose button was pressed (absent for inline mode)
        chat_id = _int(_dict(msg.get("chat")).get("id"))
        chat_id = user_id if chat_id is None else chat_id
        data = _str(query.get("data"))
        message_id = _int(msg.get("message_id"))
        return InboundMessage(channel="telegram", provider_message_id=f"callback:{query_id}", inbox_id=self._bot_id(),
                              sender_id=str(chat_id), identity=f"telegram:{user_id}", sender_name=_name(user),
                              type="postback", text=_button_label(msg.get("reply_markup"), data) or data or "",
                              payload=data, reply_to=f"{chat_id}:{message_id}" if message_id is not None else None,
                              timestamp=clock.now().timestamp())  # Telegram sends no time for a button press

    def _member(self, raw: Any, update_id: int) -> ContactEvent | None:
        change = _dict(raw)
        chat, user = _dict(change.get("chat")), _dict(change.get("from"))
        chat_id, user_id = _int(chat.get("id")), _int(user.get("id"))
        if chat_id is None or user_id is None:
            raise MalformedPayload("my_chat_member without chat.id or from.id")
        if chat.get("type") != "private":
            return None  # the bot added to or removed from a group: not a customer blocking us
        new = _dict(change.get("new_chat_member")).get("status")
        old = _dict(change.get("old_chat_member")).get("status")
        if new == "kicked":
            event = "blocked"
        elif new == "member" and old == "kicked":
            event = "unblocked"
        else:
            return None
        return ContactEvent(channel="telegram", provider_event_id=f"update:{update_id}", inbox_id=self._bot_id(),
                            sender_id=str(chat_id), identity=f"telegram:{user_id}", event=event,
                            timestamp=_timestamp(change.get("date")))

    def acknowledge(self, events: list[Any] | None = None) -> WebhookReply:
        """200. Given the parsed events, a button press is answered in the reply itself (Telegram runs a method
        named in a webhook's answer), which stops the button's spinner without another API call."""
        for event in events or []:
            if isinstance(event, InboundMessage) and event.provider_message_id.startswith("callback:"):
                body = {"method": "answerCallbackQuery", "callback_query_id": event.provider_message_id[len("callback:"):]}
                return WebhookReply(200, json.dumps(body), "application/json")
        return WebhookReply(200, "", "text/plain")

    # -- out ---------------------------------------------------------------------------------
    @staticmethod
    def _token() -> str:
        token = secrets.get("telegram_bot_token")
        bot_id, sep, rest = token.partition(":")
        if not (bot_id.isdigit() and sep and rest):
            raise ServiceUnavailable("no valid Telegram bot token configured")
        return token

    def _bot_id(self) -> str:
        """Our inbox: the bot, whose id is the token's prefix."""
        return self._token().partition(":")[0]

    @staticmethod
    def _call(method: str, url: str, **kwargs: Any) -> Any:
        try:
            return http.request(method, url, **kwargs)
        except RetryableSendError as exc:
            # Cut the cause chain: the underlying exception names the URL, which holds the bot token.
            raise RetryableSendError(exc.message, retry_after=exc.retry_after) from None

    def send(self, request: SendRequest) -> SendResult:
        if not request.text.strip():
            raise PermanentSendError("empty text: Telegram needs 1 to 4096 characters")
        self.check_text(request.text)
        try:
            token = self._token()
        except ServiceUnavailable:
            raise PermanentSendError("no valid Telegram bot token configured") from None
        recipient = request.recipient
        body: dict[str, Any] = {"chat_id": int(recipient) if CHAT_ID.fullmatch(recipient) else recipient,
                                "text": request.text}
        reply_id = (request.reply_to or "").rpartition(":")[2]
        if CHAT_ID.fullmatch(reply_id) and not reply_id.startswith("-"):
            # The quoted message may have been deleted since: send anyway, unquoted.
            body["reply_parameters"] = {"message_id": int(reply_id), "allow_sending_without_reply": True}
        response = self._call("POST", f"{get_settings().telegram_api_base_url}/bot{token}/sendMessage", json=body)
        answer = _answer(response)
        if response.status_code < 400 and answer.get("ok") is True:
            result = _dict(answer.get("result"))
            message_id = _int(result.get("message_id"))
            chat_id = _int(_dict(result.get("chat")).get("id"))
            if message_id is not None:
                return SendResult(provider_message_id=f"{recipient if chat_id is None else chat_id}:{message_id}")
            # Telegram said ok: sending it again could deliver it twice, so the outcome is reported instead.
            raise PermanentSendError("Telegram accepted the send without a message id: delivery unknown; "
                                     "check the conversation before sending again")
        raise _send_error(response, answer)

    def fetch_media(self, attachment: Attachment) -> MediaContent:
        import requests

        if not attachment.provider_media_id:
            raise MediaError("no Telegram file id")
        settings = get_settings()
        limit = settings.media_max_bytes
        try:
            token = self._token()
            # A GET: it changes nothing (and the local sandbox records only writes as sent messages).
            meta = self._call("GET", f"{settings.telegram_api_base_url}/bot{token}/getFile",
                              params={"file_id": attachment.provider_media_id})
            if meta.status_code >= 400:
                raise MediaError(f"getFile answered {meta.status_code}")
            info = _dict(_answer(meta).get("result"))
            path = _str(info.get("file_path"))
            if not path:
                raise MediaError("getFile returned no file_path")
            if (_int(info.get("file_size")) or 0) > limit:
                raise MediaError("media larger than the configured limit")
            download = self._call("GET", f"{settings.telegram_api_base_url}/file/bot{token}/{quote(path, safe='/')}",
                                  stream=True)
            if download.status_code >= 400:
                raise MediaError(f"file download answered {download.status_code}")
            data = _read_capped(download, limit)
        except (RetryableSendError, PermanentSendError, ServiceUnavailable, requests.RequestException, ValueError,
                TypeError) as exc:
            # from None: a requests exception names the URL, which holds the bot token.
            raise MediaError(f"media fetch failed: {type(exc).__name__}") from None
        served = (download.headers.get("Content-Type") or "").split(";")[0].strip()
        mime = (attachment.mime_type or (served if served and served != "application/octet-stream" else None)
                or mimetypes.guess_type(path)[0])
        return MediaContent(data=data, mime_type=mime, sha256=hashlib.sha256(data).hexdigest())

    def answer_callback_query(self, callback_query_id: str, text: str | None = None) -> None:
        """Stop a pressed button's spinner, when the webhook's own reply did not (see acknowledge)."""
        body: dict[str, Any] = {"callback_query_id": callback_query_id}
        if text:
            body["text"] = text[:200]
        response = self._call("POST", f"{get_settings().telegram_api_base_url}/bot{self._token()}/answerCallbackQuery",
                              json=body)
        if response.status_code >= 400:
            raise _send_error(response, _answer(response))


def _answer(response: Any) -> dict[str, Any]:
    try:
        return _dict(response.json())
    except (ValueError, TypeError):
        return {}


def _send_error(response: Any, answer: dict[str, Any]) -> RetryableSendError | PermanentSendError:
    """The send error a Bot API failure means: {"ok": false, "error_code": N, "description": "...", "parameters": {}}."""
    status = response.status_code
    code = _int(answer.get("error_code")) or status
    description = _str(answer.get("description")) or f"HTTP {status}"
    parameters = _dict(answer.get("parameters"))
    if code == 429 or status == 429:
        wait = parameters.get("retry_after")
        seconds = float(wait) if isinstance(wait, int | float) and not isinstance(wait, bool) else http.retry_after(response)
        return RetryableSendError(f"Telegram rate limit: {description}", retry_after=seconds)
    if code >= 500 or status >= 500:
        return RetryableSendError(f"Telegram {code}: {description}", retry_after=http.retry_after(response))
    if code == 403:  # blocked by the user, deactivated, never started the bot: replies cannot reach them
        what = "the user blocked the bot" if "blocked by the user" in description.lower() else "the user cannot be reached"
        return PermanentSendError(f"{what} (Telegram 403: {description})", recipient_blocked=True)
    migrated = _int(parameters.get("migrate_to_chat_id"))
    if migrated is not None:
        return PermanentSendError(f"the group became a supergroup with chat id {migrated} (Telegram {code}: {description})")
    if code in (401, 404):
        return PermanentSendError(f"Telegram rejected the bot token (Telegram {code}: {description})")
    return PermanentSendError(f"Telegram {code}: {description}")

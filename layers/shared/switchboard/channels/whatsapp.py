"""WhatsApp Cloud API: webhook messages and statuses in, Graph API sends and media downloads out."""

from __future__ import annotations

import base64
import hashlib
import math
import re
from typing import Any

from switchboard import clock, secrets
from switchboard.channels import http
from switchboard.channels.base import MediaContent, WebhookRequest
from switchboard.channels.fields import as_dict as _dict
from switchboard.channels.fields import as_list as _list
from switchboard.channels.fields import as_str as _str
from switchboard.channels.fields import coordinate as _coordinate
from switchboard.channels.fields import read_capped as _read_capped
from switchboard.channels.meta import MetaChannel
from switchboard.errors import MalformedPayload, MediaError, PermanentSendError, RetryableSendError
from switchboard.models import Attachment, InboundMessage, Location, SendRequest, SendResult, StatusUpdate
from switchboard.settings import get_settings

MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
RECEIPTS = ("sent", "delivered", "read", "failed")
MAX_TEXT = 4096
_SURROGATE = re.compile("[\ud800-\udfff]")


def _digits(value: str) -> bool:
    return value.isascii() and value.isdigit()  # str.isdigit alone accepts "١٢٣" and "²"


def _timestamp(value: Any) -> float:
    try:
        ts = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError, OverflowError):
        return clock.now().timestamp()
    return ts if 0 < ts < 1e11 else clock.now().timestamp()


def _location(body: dict[str, Any]) -> Location | None:
    latitude, longitude = _coordinate(body.get("latitude"), 90), _coordinate(body.get("longitude"), 180)
    if latitude is None or longitude is None:
        return None
    return Location(latitude=latitude, longitude=longitude, name=_str(body.get("name")), address=_str(body.get("address")))


TEMPLATE_SETTING = re.compile(r"([a-z0-9_]{1,512}):([A-Za-z]{2,3}(?:_[A-Za-z0-9]{2,4})?)")


def reply_template(text: str) -> dict[str, Any]:
    """The configured template (`name:language`, e.g. `support_reply:en_US`) with the reply as its one body
    parameter. Template parameters may hold no newlines, tabs or runs of spaces: whitespace is folded to spaces."""
    match = TEMPLATE_SETTING.fullmatch(get_settings().whatsapp_reply_template.strip())
    if not match:
        raise PermanentSendError("WHATSAPP_REPLY_TEMPLATE must be <template name>:<language code>, "
                                 "e.g. support_reply:en_US")
    return {"name": match[1], "language": {"code": match[2]},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": " ".join(text.split())}]}]}


class WhatsAppChannel(MetaChannel):
    name = "whatsapp"
    max_text_chars = MAX_TEXT
    reply_window_seconds = 24 * 3600

    def human_reply_window_seconds(self) -> int | None:
        # With an approved template to carry it, an agent's reply can go out any time (WHATSAPP_REPLY_TEMPLATE).
        return None if get_settings().whatsapp_reply_template.strip() else self.reply_window_seconds

    def parse(self, request: WebhookRequest) -> list[InboundMessage | StatusUpdate]:
        data = self.load_json(request.body)
        entries = data.get("entry")
        if data.get("object") != "whatsapp_business_account" or not isinstance(entries, list):
            raise MalformedPayload("not a WhatsApp Business Account notification")
        events: list[InboundMessage | StatusUpdate] = []
        # An entry or change of an unknown shape is skipped, not fatal: refusing the POST would make Meta
        # redeliver (and us refuse) the valid messages batched with it for days, then drop them.
        for entry in entries:
            for change in _list(_dict(entry).get("changes")):
                change = _dict(change)
                if change.get("field") != "messages":
                    continue  # other subscriptions (templates, account updates): acknowledged, ignored
                events.extend(self._parse_value(_dict(change.get("value"))))
        return events

    def _parse_value(self, value: dict[str, Any]) -> list[InboundMessage | StatusUpdate]:
        inbox_id = _str(_dict(value.get("metadata")).get("phone_number_id"))
        names: dict[str, str] = {}
        for contact in _list(value.get("contacts")):
            contact = _dict(contact)
            name = _str(_dict(contact.get("profile")).get("name"))
            for who in (_str(contact.get("wa_id")), _str(contact.get("user_id"))):
                if who and name:
                    names[who] = name
        events: list[InboundMessage | StatusUpdate] = []
        for raw in _list(value.get("messages")):
            raw = _dict(raw)
            message = self._parse_message(raw, inbox_id, names)
            if message:
                events.append(message)
        for raw in _list(value.get("statuses")):
            status = self._parse_status(_dict(raw))
            if status:
                events.append(status)
        return events

    def _parse_message(self, raw: dict[str, Any], inbox_id: str | None, names: dict[str, str]) -> InboundMessage | None:
        wamid = _str(raw.get("id"))
        sender = _str(raw.get("from")) or _str(raw.get("from_user_id"))
        if not wamid or not sender or not inbox_id:
            return None
        kind = _str(raw.get("type")) or "unknown"
        if kind == "system":
            return None  # number changes and the like: not a customer message
        identity = f"phone:+{sender}" if _digits(sender) else f"whatsapp:{sender}"
        fields: dict[str, Any] = {"type": kind, "text": ""}
        body = _dict(raw.get(kind))
        if kind == "text":
            fields["text"] = _str(body.get("body")) or ""
        elif kind in MEDIA_TYPES:
            fields["text"] = _str(body.get("caption")) or ""
            fields["attachments"] = [Attachment(
                kind=kind, provider_media_id=_str(body.get("id")), mime_type=_str(body.get("mime_type")),
                sha256=_str(body.get("sha256")), filename=_str(body.get("filename")), voice=body.get("voice") is True)]
        elif kind == "location":
            location = _location(body)
            if location is None:
                fields["type"] = "unsupported"
            else:
                fields["location"] = location
                fields["text"] = ", ".join(p for p in (location.name, location.address) if p)
        elif kind == "interactive":
            reply = _dict(body.get(_str(body.get("type")) or "")) if body.get("type") != "nfm_reply" else {}
            fields["text"] = _str(reply.get("title")) or _str(_dict(body.get("nfm_reply")).get("body")) or ""
            fields["payload"] = _str(reply.get("id")) or _str(_dict(body.get("nfm_reply")).get("response_json"))
        elif kind == "button":
            fields["text"] = _str(body.get("text")) or ""
            fields["payload"] = _str(body.get("payload"))
        elif kind == "reaction":
            fields["reaction"] = _str(body.get("emoji")) or ""  # empty: the reaction was removed
            fields["text"] = fields["reaction"]
            fields["reply_to"] = _str(body.get("message_id"))
        elif kind == "contacts":
            cards = [_dict(c) for c in _list(raw.get("contacts"))]
            fields["text"] = "; ".join(
                " ".join(filter(None, [_str(_dict(c.get("name")).get("formatted_name"))]
                                + [_str(_dict(p).get("phone")) for p in _list(c.get("phones"))]))
                for c in cards)
        else:
            fields["type"] = "unsupported"
        fields.setdefault("reply_to", _str(_dict(raw.get("context")).get("id")))
        return InboundMessage(channel="whatsapp", provider_message_id=wamid, inbox_id=inbox_id, sender_id=sender,
                              identity=identity, sender_name=names.get(sender),
                              timestamp=_timestamp(raw.get("timestamp")), **fields)

    def _parse_status(self, raw: dict[str, Any]) -> StatusUpdate | None:
        wamid, status = _str(raw.get("id")), raw.get("status")
        if not wamid or status not in RECEIPTS:
            return None
        error = _dict(_list(raw.get("errors"))[0]) if _list(raw.get("errors")) else {}
        return StatusUpdate(channel="whatsapp", provider_message_id=wamid, status=status,
                            timestamp=_timestamp(raw.get("timestamp")), error_code=_str(error.get("code")),
                            error_title=_str(error.get("title")) or _str(error.get("message")))

    # -- out ---------------------------------------------------------------------------------
    def _auth(self) -> dict[str, str]:
        token = secrets.get("whatsapp_access_token")
        if not token:
            raise PermanentSendError("no WhatsApp access token configured")
        return {"Authorization": f"Bearer {token}"}

    def send(self, request: SendRequest) -> SendResult:
        self.check_text(request.text)
        body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual", "type": "text",
                                "text": {"preview_url": False, "body": request.text}}
        if request.past_window:  # free-form text would fail with 131047: the reply goes in the template
            body = {**body, "type": "template", "template": reply_template(request.text)}
            del body["text"]
        if _digits(request.recipient):
            body["to"] = request.recipient
        else:
            body["recipient"] = request.recipient  # business-scoped user id
        if request.reply_to:
            body["context"] = {"message_id": request.reply_to}
        response = http.request("POST", f"{get_settings().whatsapp_api_base_url}/{request.inbox_id}/messages",
                                json=body, headers=self._auth())
        if response.status_code >= 400:
            self.graph_error(response)
        try:
            provider_id = _str(response.json()["messages"][0]["id"])
        except (ValueError, KeyError, IndexError, TypeError):
            provider_id = None
        if not provider_id:
            # Graph accepted the message (2xx): retrying could deliver it twice, so the outcome is reported instead.
            raise PermanentSendError("the Graph API accepted the send without a message id: delivery unknown")
        return SendResult(provider_message_id=provider_id)

    def fetch_media(self, attachment: Attachment) -> MediaContent:
        import requests

        if not attachment.provider_media_id:
            raise MediaError("no media id")
        try:
            headers = self._auth()
            meta = http.request("GET", f"{get_settings().whatsapp_api_base_url}/{attachment.provider_media_id}",
                                headers=headers)
            if meta.status_code >= 400:
                raise MediaError(f"media lookup answered {meta.status_code}")
            info = meta.json()
            url = info["url"]
            if not isinstance(url, str) or not url.startswith(("https://", "http://")):
                raise MediaError("media lookup returned no URL")
            # The URL is Meta's own; it refuses anonymous downloads, so the same bearer goes along.
            download = http.request("GET", url, headers=headers, stream=True)
            try:
                if download.status_code >= 400:
                    raise MediaError(f"media download answered {download.status_code}")
                data = _read_capped(download, get_settings().media_max_bytes)
            finally:
                download.close()
        except (RetryableSendError, PermanentSendError, requests.RequestException, ValueError, KeyError,
                TypeError) as exc:
            raise MediaError(f"media fetch failed: {type(exc).__name__}") from exc
        expected = attachment.sha256 or _str(info.get("sha256"))
        if expected and not _hash_matches(data, expected):
            raise MediaError("media hash mismatch")
        return MediaContent(data=data, mime_type=_str(info.get("mime_type")) or attachment.mime_type, sha256=expected)


def _hash_matches(data: bytes, expected: str) -> bool:
    digest = hashlib.sha256(data).digest()
    return expected.lower() == digest.hex() or expected == base64.b64encode(digest).decode()

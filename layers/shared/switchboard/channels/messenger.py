"""Facebook Messenger: Page webhook events in, Send API replies and CDN attachment downloads out."""

from __future__ import annotations

import hashlib
import re
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

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

Event = InboundMessage | StatusUpdate
MEDIA_KINDS = ("image", "video", "audio", "file")
# Graph (code, subcode) pairs that mean "the 24-hour window is closed". 2534022 is Instagram's [unverified].
WINDOW_CLOSED = ((10, 2018278), (10, 2534022))
_SURROGATE = re.compile("[\ud800-\udfff]")


def _seconds(value: Any) -> float | None:
    """A Meta time as unix seconds: milliseconds (seconds tolerated, as some test webhooks send). None unless plausible."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        ts = float(value)
    except (ValueError, OverflowError):
        return None
    if ts > 1e11:
        ts /= 1000
    return ts if 0 < ts < 1e11 else None


class MessengerChannel(MetaChannel):
    name = "messenger"
    reply_window_seconds = 24 * 3600

    def human_reply_window_seconds(self) -> int | None:
        # Meta's HUMAN_AGENT tag: a person may answer for 7 days (the app needs the Human Agent permission).
        return 7 * 24 * 3600 if get_settings().meta_human_agent_tag else self.reply_window_seconds
    object_type = "page"
    max_text_chars: ClassVar[int | None] = 2000
    token_name = "messenger_page_token"
    # Instagram may wrap one messaging event per `changes[].value`; a Page's `changes` are feed events, not ours.
    change_fields: frozenset[str] = frozenset()
    retryable_codes = MetaChannel.retryable_codes | {1200}  # 1200: "temporary send message failure"

    # -- in ----------------------------------------------------------------------------------
    def parse(self, request: WebhookRequest) -> list[InboundMessage | StatusUpdate]:
        data = self.load_json(request.body)
        entries = data.get("entry")
        if data.get("object") != self.object_type or not isinstance(entries, list):
            raise MalformedPayload(f"not a {self.name} notification")
        events: list[InboundMessage | StatusUpdate] = []
        # As for WhatsApp, an entry or event of an unknown shape is skipped, not fatal: refusing the POST would
        # make Meta redeliver (and us refuse) the valid events batched with it until it gives up on them.
        for entry in map(_dict, entries):
            raws = list(_list(entry.get("messaging")))
            raws += [_dict(change).get("value") for change in _list(entry.get("changes"))
                     if _str(_dict(change).get("field")) in self.change_fields]
            for raw in raws:
                if isinstance(raw, dict):
                    events.extend(self._parse_event(raw, _str(entry.get("id"))))
        return events

    def _parse_event(self, raw: dict[str, Any], entry_id: str | None) -> list[Event]:
        sender = _str(_dict(raw.get("sender")).get("id"))
        inbox_id = _str(_dict(raw.get("recipient")).get("id")) or entry_id
        if not sender or not inbox_id:
            return []
        event: Event | None = None
        if isinstance(raw.get("message"), dict):
            event = self._parse_message(raw, raw["message"], inbox_id, sender)
        elif isinstance(raw.get("message_edit"), dict):  # the customer edited a message: new text, same mid
            edit = raw["message_edit"]
            mid, count = _str(edit.get("mid")), _str(edit.get("num_edit"))
            event = self._inbound(raw, mid, inbox_id, sender, text=_str(edit.get("text")) or "", edited=True,
                                  event_id=f"{mid}#edit#{count}" if count else None) if mid else None
        elif isinstance(raw.get("postback"), dict):
            event = self._parse_postback(raw, raw["postback"], inbox_id, sender)
        elif isinstance(raw.get("reaction"), dict):
            event = self._parse_reaction(raw, raw["reaction"], inbox_id, sender)
        elif isinstance(raw.get("delivery"), dict):
            return self._receipts("delivered", raw, raw["delivery"], inbox_id, sender)
        elif isinstance(raw.get("read"), dict) or isinstance(raw.get("messaging_seen"), dict):
            return self._receipts("read", raw, _dict(raw.get("read")) or _dict(raw.get("messaging_seen")), inbox_id, sender)
        # optins, referrals, handovers, account linking...: acknowledged, ignored
        return [event] if event else []

    def _inbound(self, raw: dict[str, Any], provider_id: str, inbox_id: str, sender: str, **fields: Any) -> InboundMessage:
        return InboundMessage(channel=self.name, provider_message_id=provider_id, inbox_id=inbox_id, sender_id=sender,
                              identity=f"{self.name}:{sender}",
                              timestamp=_seconds(raw.get("timestamp")) or clock.now().timestamp(), **fields)

    def _parse_message(self, raw: dict[str, Any], body: dict[str, Any], inbox_id: str,
                       sender: str) -> InboundMessage | None:
        mid = _str(body.get("mid"))
        if not mid or body.get("is_echo"):
            return None  # echoes are the Page's own sends (ours or another app's), never the customer's
        if body.get("is_deleted") is True:  # the customer unsent it: blank the stored copy
            return self._inbound(raw, mid, inbox_id, sender, type="deleted", text="", edited=True,
                                 event_id=f"{mid}#deleted")
        text = _str(body.get("text")) or ""
        fields: dict[str, Any] = {"attachments": []}
        kinds: list[str] = []
        labels: list[str] = []
        for item in _list(body.get("attachments")):
            kind, carried, label = self._attachment(_dict(item))
            kinds.append(kind)
            if isinstance(carried, Attachment):
                fields["attachments"].append(carried)
            elif isinstance(carried, Location) and not fields.get("location"):
                fields["location"] = carried
            if label:
                labels.append(label)
        # Like WhatsApp: a message's type is its first attachment's (a caption is its text), else text.
        fields["type"] = kinds[0] if kinds else ("text" if text else "unsupported")
        reply = _dict(body.get("reply_to"))
        fields["reply_to"] = _str(reply.get("mid"))
        self._reply_extras(reply, fields, labels)
        fields["payload"] = _str(_dict(body.get("quick_reply")).get("payload"))
        if body.get("is_unsupported") is True:
            fields["type"] = "unsupported"
        fields["text"] = text or " ".join(labels)
        return self._inbound(raw, mid, inbox_id, sender, **fields)

    def _attachment(self, item: dict[str, Any]) -> tuple[str, Attachment | Location | None, str]:
        """One `attachments[]` item: (message type, what it carries, text to show when the message has none)."""
        kind = _str(item.get("type")) or "unsupported"
        payload = _dict(item.get("payload"))
        url = _str(payload.get("url"))
        if kind in MEDIA_KINDS:
            sticker = _str(payload.get("sticker_id"))
            if sticker:
                return "sticker", Attachment(kind="sticker", provider_media_id=sticker, url=url) if url else None, ""
            return kind, Attachment(kind=kind, url=url) if url else None, ""
        if kind == "location":
            coordinates = _dict(payload.get("coordinates"))
            title = _str(item.get("title")) or ""
            latitude, longitude = _coordinate(coordinates.get("lat"), 90), _coordinate(coordinates.get("long"), 180)
            if latitude is None or longitude is None:
                return "unsupported", None, title
            location = Location(latitude=latitude, longitude=longitude, name=title or None)
            return "location", location, title or f"{latitude}, {longitude}"
        if kind == "fallback":  # a shared link Messenger can't render
            link = _str(item.get("url")) or _str(item.get("URL")) or url
            return "fallback", None, " ".join(p for p in (_str(item.get("title")), link) if p) or "[link]"
        if kind == "template":
            elements = [_dict(e) for e in _list(payload.get("elements"))]
            titles = [t for t in [_str(item.get("title")), *(_str(e.get("title")) for e in elements)] if t]
            return "template", None, " ".join(titles) or "[template]"
        return "unsupported", None, ""

    def _reply_extras(self, reply: dict[str, Any], fields: dict[str, Any], labels: list[str]) -> None:
        """Channel-specific reply targets (Instagram stories); Messenger replies only to messages."""

    def _parse_postback(self, raw: dict[str, Any], body: dict[str, Any], inbox_id: str,
                        sender: str) -> InboundMessage | None:
        stamp = _str(raw.get("timestamp"))
        provider_id = _str(body.get("mid")) or (f"postback:{inbox_id}:{sender}:{stamp}" if stamp else None)
        if not provider_id:
            return None  # no stable id: a retry could not be recognized
        return self._inbound(raw, provider_id, inbox_id, sender, type="postback", text=_str(body.get("title")) or "",
                             payload=_str(body.get("payload")))

    def _parse_reaction(self, raw: dict[str, Any], body: dict[str, Any], inbox_id: str,
                        sender: str) -> InboundMessage | None:
        target = _str(body.get("mid"))
        if not target:
            return None
        emoji = "" if body.get("action") == "unreact" else (_str(body.get("emoji")) or _str(body.get("reaction")) or "")
        provider_id = f"reaction:{target}:{sender}:{_str(raw.get('timestamp')) or ''}"
        return self._inbound(raw, provider_id, inbox_id, sender, type="reaction", reaction=emoji, text=emoji,
                             reply_to=target)

    def _receipts(self, status: str, raw: dict[str, Any], body: dict[str, Any], inbox_id: str,
                  sender: str) -> list[Event]:
        """Per-message receipts for the mids given, plus one watermark receipt: everything sent before it."""
        watermark = _seconds(body.get("watermark"))
        when = _seconds(raw.get("timestamp")) or watermark or clock.now().timestamp()
        mids = dict.fromkeys(m for m in (_str(x) for x in [*_list(body.get("mids")), body.get("mid")]) if m)
        updates: list[Event] = [StatusUpdate(channel=self.name, provider_message_id=mid, status=status, timestamp=when)
                                for mid in mids]
        if watermark:
            updates.append(StatusUpdate(channel=self.name, status=status, timestamp=when, watermark=watermark,
                                        inbox_id=inbox_id, sender_id=sender))
        return updates

    # -- out ---------------------------------------------------------------------------------
    def _api_base_url(self) -> str:
        return get_settings().messenger_api_base_url

    def _auth(self) -> dict[str, str]:
        token = secrets.get(self.token_name)
        if not token:
            raise PermanentSendError(f"no {self.name} access token configured")
        return {"Authorization": f"Bearer {token}"}

    def _check_text(self, text: str) -> None:
        if not text:
            raise PermanentSendError(f"{self.name} cannot send an empty message")
        self.check_text(text)

    def send(self, request: SendRequest) -> SendResult:
        self._check_text(request.text)
        body: dict[str, Any] = {"recipient": {"id": request.recipient}, "messaging_type": "RESPONSE",
                                "message": {"text": request.text}}
        if request.past_window:  # past the 24-hour window: a human agent's answer, within 7 days
            body |= {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
        response = http.request("POST", f"{self._api_base_url()}/{quote(request.inbox_id, safe='')}/messages",
                                json=body, headers=self._auth())
        if response.status_code >= 400:
            self.graph_error(response)
        try:
            provider_id = _str(response.json()["message_id"])
        except (ValueError, KeyError, IndexError, TypeError):
            provider_id = None
        if not provider_id:
            # Graph accepted the message (2xx): retrying could deliver it twice, so the outcome is reported instead.
            raise PermanentSendError("the Graph API accepted the send without a message id: delivery unknown")
        return SendResult(provider_message_id=provider_id)

    def graph_error(self, response: Any) -> None:
        try:
            data = response.json()
        except ValueError:
            data = None
        error = _dict(_dict(data).get("error"))
        if (error.get("code"), error.get("error_subcode")) in WINDOW_CLOSED:
            raise PermanentSendError(f"{self.name}: outside the 24-hour reply window (Graph error 10)")
        if not isinstance(data, dict | None) or not isinstance(error.get("code"), int | str | None):
            http.raise_for_status(response, f"{self.name} refused the send")  # not a Graph error body
        super().graph_error(response)

    def fetch_media(self, attachment: Attachment) -> MediaContent:
        """The webhook's URL is a signed, expiring CDN link: fetched without our token (it must not leak to a CDN)."""
        import requests

        url = attachment.url or ""
        try:
            scheme = urlsplit(url).scheme
        except ValueError:
            scheme = ""
        if scheme not in ("https", "http"):
            raise MediaError("no media URL")
        response = None
        try:
            response = http.request("GET", url, stream=True)
            if response.status_code >= 400:
                raise MediaError(f"media download answered {response.status_code}")
            data = _read_capped(response, get_settings().media_max_bytes)
            mime_type = (response.headers.get("Content-Type") or "").split(";")[0].strip()
        except (RetryableSendError, PermanentSendError, requests.RequestException, ValueError, TypeError) as exc:
            raise MediaError(f"media fetch failed: {type(exc).__name__}") from exc
        finally:
            if response is not None and hasattr(response, "close"):
                response.close()
        return MediaContent(data=data, mime_type=mime_type or attachment.mime_type,
                            sha256=hashlib.sha256(data).hexdigest())

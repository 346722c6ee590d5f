"""Facebook Messenger: Page webhook events in; Send API replies, CDN attachment downloads and profile names out."""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

from switchboard import clock, observability, secrets
from switchboard.channels import comments, files, http, referrals
from switchboard.channels.base import (
    ANY_TYPE,
    MB,
    Indicator,
    MediaContent,
    MediaLimits,
    MediaRule,
    WebhookRequest,
    one_file_per_part,
)
from switchboard.channels.fields import as_dict as _dict
from switchboard.channels.fields import as_list as _list
from switchboard.channels.fields import as_str as _str
from switchboard.channels.fields import coordinate as _coordinate
from switchboard.channels.fields import meta_seconds as _seconds
from switchboard.channels.meta import MetaChannel, graph_segment
from switchboard.errors import MalformedPayload, MediaError, PermanentSendError, RetryableSendError, ServiceUnavailable
from switchboard.models import (
    Attachment,
    ContactEvent,
    IgnoredEvent,
    InboundMessage,
    Location,
    SendRequest,
    SendResult,
    StatusUpdate,
)
from switchboard.settings import get_settings

Event = InboundMessage | StatusUpdate | IgnoredEvent
MEDIA_KINDS = ("image", "video", "audio", "file")
# Shared posts and reels arrive as an expiring CDN URL of their media, often with the post's title.
SHARED_MEDIA = {"share": ("image", "post"), "post": ("image", "post"), "ig_post": ("image", "post"),
                "reel": ("video", "reel"), "ig_reel": ("video", "reel")}
# Graph (code, subcode) pairs that mean "the 24-hour window is closed". 2534022 is Instagram's [unverified].
WINDOW_CLOSED = ((10, 2018278), (10, 2534022))
# Meta's own inboxes (the Page inbox in Meta Business Suite, and Instagram's): the app ids apps hand a thread to
# people with (pass_thread_control's target_app_id), and the app_id on the echo of what a person wrote there.
INBOX_APP_IDS = frozenset({"263902037430900", "1217981644879628"})
# Events that are neither the customer speaking nor a receipt: acknowledged and counted under a reason.
IGNORED = {"optin": "optin", "account_linking": "account_linking", "pass_thread_control": "handover",
           "take_thread_control": "handover", "request_thread_control": "handover", "app_roles": "handover",
           "policy_enforcement": "policy_enforcement", "game_play": "game_play", "checkout_update": "payment",
           "payment": "payment", "pre_checkout": "payment", "response_feedback": "response_feedback"}
HANDLED = ("message", "message_edit", "postback", "reaction", "delivery", "read", "messaging_seen", "referral",
           "messaging_feedback", *IGNORED)
# A kind named in a summary: a slug of Meta's, never free text from the payload.
_SLUG = re.compile(r"[a-z][a-z_]{0,31}")
# Graph ids in this channel's URLs are digits (ours: any id a test or sandbox uses); anything else is not looked up.
_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
# A profile name is a nicety: it must not hold up the message. Seconds to connect and to read, per try; after the
# Graph API failed to answer, no look-ups for a while (one slow look-up a minute, not one per new contact).
PROFILE_TIMEOUT_SECONDS = (2.0, 3.0)
PROFILE_PAUSE_SECONDS = 60.0




def _short(value: Any, limit: int = 200) -> str | None:
    """A payload string fit for a summary line: one line, capped."""
    text = _str(value)
    if not text:
        return None
    text = " ".join(text.split())
    return (text[:limit - 1] + "…" if len(text) > limit else text) or None


@dataclass(frozen=True)
class Part:
    """What one `attachments[]` item brings to its message."""

    kind: str  # the message type it gives (a message's type is its first attachment's)
    carried: Attachment | Location | None = None
    label: str = ""  # text to show when the customer wrote none (a shared post's title, a place's name)
    summary: str = ""  # a labelled placeholder for content that is neither text nor a file we can fetch


# Rich replies: the Send API takes attachments up to 25 MB; images as images (JPEG, PNG, GIF), any other type as a
# file, video or audio. Each goes as a message of its own, after the text (attachments carry no caption).
MEDIA_LIMITS = MediaLimits(rules=(
    MediaRule("image", frozenset({"image/jpeg", "image/png", "image/gif"}), 25 * MB),
    MediaRule("video", ANY_TYPE, 25 * MB, prefix="video/"),
    MediaRule("audio", ANY_TYPE, 25 * MB, prefix="audio/"),
    MediaRule("document", ANY_TYPE, 25 * MB),
))
GRAPH_ATTACHMENT_TYPES = {"image": "image", "video": "video", "audio": "audio", "document": "file"}


# Rich replies (issue 13): quick replies, as the Send API takes them.
MAX_QUICK_REPLIES = 13
QUICK_REPLY_TITLE_CHARS = 20


class MessengerChannel(MetaChannel):
    name = "messenger"
    reply_window_seconds = 24 * 3600
    media_limits: ClassVar[MediaLimits | None] = MEDIA_LIMITS

    def human_reply_window_seconds(self) -> int | None:
        # Meta's HUMAN_AGENT tag: a person may answer for 7 days (the app needs the Human Agent permission).
        return 7 * 24 * 3600 if get_settings().meta_human_agent_tag else self.reply_window_seconds
    object_type = "page"
    max_text_chars: ClassVar[int | None] = 2000
    token_name = "messenger_page_token"
    # Instagram may wrap one messaging event per `changes[].value`; a Page's `changes` are feed events, not ours.
    change_fields: frozenset[str] = frozenset()
    retryable_codes = MetaChannel.retryable_codes | {1200}  # 1200: "temporary send message failure"
    # Where an echo of a person's message in Meta's inbox was written (InboundMessage.echo_via).
    inbox_name = "page_inbox"
    # The user profile fields the look-up asks for (Messenger's User Profile API).
    profile_fields = "first_name,last_name,name"

    # -- in ----------------------------------------------------------------------------------
    def parse(self, request: WebhookRequest) -> list[InboundMessage | StatusUpdate | ContactEvent | IgnoredEvent]:
        data = self.load_json(request.body)
        entries = data.get("entry")
        if data.get("object") != self.object_type or not isinstance(entries, list):
            raise MalformedPayload(f"not a {self.name} notification")
        events: list[InboundMessage | StatusUpdate | ContactEvent | IgnoredEvent] = []
        # As for WhatsApp, an entry or event of an unknown shape is skipped, not fatal: refusing the POST would
        # make Meta redeliver (and us refuse) the valid events batched with it until it gives up on them.
        for entry in map(_dict, entries):
            # Handover / Conversation Routing: while another app owns the thread (a bot, or Meta's inbox once a
            # person answered there), what the customer writes reaches us on `standby` instead of `messaging`. It is
            # still the customer speaking to the business, and agents must see it, so it is read the same way.
            raws = [*_list(entry.get("messaging")), *_list(entry.get("standby"))]
            raws += [_dict(change).get("value") for change in _list(entry.get("changes"))
                     if _str(_dict(change).get("field")) in self.change_fields]
            for raw in raws:
                if isinstance(raw, dict):
                    events.extend(self._parse_event(raw, _str(entry.get("id"))))
            events.extend(comments.parse_entry(self, entry))  # issue 17: feed / comments / mentions changes
        return events

    def _parse_event(self, raw: dict[str, Any], entry_id: str | None) -> list[Event]:
        sender = _str(_dict(raw.get("sender")).get("id"))
        recipient = _str(_dict(raw.get("recipient")).get("id"))
        message = raw.get("message")
        if isinstance(message, dict) and message.get("is_echo"):
            return self._parse_echo(raw, message, sender or entry_id, recipient)
        inbox_id = recipient or entry_id
        if not sender or not inbox_id:
            return []
        if sender in (entry_id, inbox_id):  # the Page (or Instagram account) itself, not a customer
            return [self._ignored("business_event")]
        kind = next((k for k in HANDLED if k in raw), None)
        if kind is None:  # a kind of event this code does not know (yet): counted, so that it gets noticed
            return [self._ignored("unknown_event")]
        if kind in IGNORED:  # opt-ins, handovers, account linking...: not the customer speaking
            return [self._ignored(IGNORED[kind])]
        body = raw[kind]
        if not isinstance(body, dict):
            return []
        if kind in ("delivery", "read", "messaging_seen"):
            return self._receipts("delivered" if kind == "delivery" else "read", raw, body, inbox_id, sender)
        event = {"message": self._parse_message, "message_edit": self._parse_edit, "postback": self._parse_postback,
                 "reaction": self._parse_reaction, "referral": self._parse_referral,
                 "messaging_feedback": self._parse_feedback}[kind](raw, body, inbox_id, sender)
        return [event] if event else []

    def _ignored(self, reason: str) -> IgnoredEvent:
        return IgnoredEvent(channel=self.name, reason=reason)

    def _inbound(self, raw: dict[str, Any], provider_id: str, inbox_id: str, sender: str, **fields: Any) -> InboundMessage:
        return InboundMessage(channel=self.name, provider_message_id=provider_id, inbox_id=inbox_id, sender_id=sender,
                              identity=f"{self.name}:{sender}",
                              timestamp=_seconds(raw.get("timestamp")) or clock.now().timestamp(), **fields)

    def _parse_echo(self, raw: dict[str, Any], body: dict[str, Any], page: str | None,
                    customer: str | None) -> list[Event]:
        """What the Page sent. Echoes of our own sends, and of other apps' (a bot), are not shown again; a message a
        person wrote in Meta's own inbox is the business answering, and agents must see it in the conversation."""
        if _str(body.get("app_id")) not in INBOX_APP_IDS:
            # Without our own app id configured, ours cannot be told from another app's: both are left out, as
            # storing ours would show every reply twice.
            return [self._ignored("echo")]
        if not page or not customer:
            return []
        message = self._parse_message(raw, body, page, customer)
        if not isinstance(message, InboundMessage):
            return []
        if message.deleted:  # the business unsent it in the inbox: the stored copy goes too
            return [message]
        return [message.model_copy(update={"echo": True, "echo_via": self.inbox_name})]

    def _parse_message(self, raw: dict[str, Any], body: dict[str, Any], inbox_id: str,
                       sender: str) -> InboundMessage | None:
        mid = _str(body.get("mid"))
        if not mid:
            return None  # no stable id: a retry could not be recognized
        if body.get("is_deleted") is True:  # the customer unsent it: its stored copy loses its content
            return self._inbound(raw, mid, inbox_id, sender, deleted=True)
        text = _str(body.get("text")) or ""
        fields: dict[str, Any] = {"attachments": []}
        kinds: list[str] = []
        labels: list[str] = []
        summaries: list[str] = []
        stickers: set[str] = set()
        for item in _list(body.get("attachments")):
            part = self._attachment(_dict(item))
            carried = part.carried
            if isinstance(carried, Attachment):
                # A sticker comes twice while Meta moves stickers to their own type (an `image` and a `sticker`
                # item until August 2026): one is kept.
                seen = carried.provider_media_id if carried.kind == "sticker" else None
                if (seen and seen in stickers) or any(a.url and a.url == carried.url for a in fields["attachments"]):
                    continue
                if seen:
                    stickers.add(seen)
                fields["attachments"].append(carried)
            elif isinstance(carried, Location) and not fields.get("location"):
                fields["location"] = carried
            kinds.append(part.kind)
            if part.label:
                labels.append(part.label)
            if part.summary:
                summaries.append(part.summary)
        if not kinds and _str(body.get("sticker_id")):  # the older top-level form of a sticker, without its image
            kinds.append("sticker")
            summaries.append("Sticker")
        # Like WhatsApp: a message's type is its first attachment's (a caption is its text), else text.
        fields["type"] = kinds[0] if kinds else ("text" if text else "unsupported")
        reply = _dict(body.get("reply_to"))
        fields["reply_to"] = _str(reply.get("mid"))
        self._reply_extras(reply, fields, labels)
        fields["payload"] = _str(_dict(body.get("quick_reply")).get("payload"))
        referral = self._referral_summary(_dict(body.get("referral")) or _dict(raw.get("referral")))
        if referral:
            summaries.append(referral)
        if body.get("is_unsupported") is True:  # a kind of content Meta does not pass on to apps
            fields["type"] = "unsupported"
            summaries.append("Unsupported message")
        fields["text"] = text or " ".join(labels)
        if not (fields["text"].strip() or fields["attachments"] or fields.get("location") or summaries):
            # Nothing we can show: still the customer saying something, so agents see that they did.
            summaries.append("Unsupported message")
        fields["summary"] = "; ".join(dict.fromkeys(summaries)) or None
        fields["referral"] = referrals.meta_referral(_dict(body.get("referral")) or _dict(raw.get("referral")))
        return self._inbound(raw, mid, inbox_id, sender, **fields)

    def _attachment(self, item: dict[str, Any]) -> Part:
        """One `attachments[]` item."""
        kind = _str(item.get("type")) or "unsupported"
        payload = _dict(item.get("payload"))
        url = self._media_url(_str(payload.get("url")))
        sticker = _str(payload.get("sticker_id"))
        if kind == "sticker" or (kind in MEDIA_KINDS and sticker):
            if url:
                return Part("sticker", Attachment(kind="sticker", provider_media_id=sticker, url=url))
            return Part("sticker", summary="Sticker")
        if kind in MEDIA_KINDS:
            if url:
                return Part(kind, Attachment(kind=kind, url=url))
            return Part(kind, summary=f"{kind.capitalize()} (no file received)")
        if kind in SHARED_MEDIA:
            media_kind, what = SHARED_MEDIA[kind]
            carried = Attachment(kind=media_kind, url=url, provider_media_id=_str(payload.get("reel_video_id")))
            return Part(kind, carried if url else None, _str(payload.get("title")) or f"[shared {what}]")
        if kind == "location":
            coordinates = _dict(payload.get("coordinates"))
            title = _str(item.get("title")) or ""
            latitude, longitude = _coordinate(coordinates.get("lat"), 90), _coordinate(coordinates.get("long"), 180)
            if latitude is None or longitude is None:
                return Part("unsupported", label=title, summary="" if title else "Location (no coordinates)")
            return Part("location", Location(latitude=latitude, longitude=longitude, name=title or None),
                        title or f"{latitude}, {longitude}")
        if kind == "fallback":  # a shared link Messenger can't render
            link = _str(item.get("url")) or _str(item.get("URL")) or _str(payload.get("url"))
            return Part("fallback", label=" ".join(p for p in (_str(item.get("title")), link) if p) or "[link]")
        if kind in ("template", "product"):
            elements = [_dict(e) for e in [*_list(payload.get("elements")),
                                           *_list(_dict(payload.get("product")).get("elements"))]]
            titles = [t for t in [_str(item.get("title")), *(_str(e.get("title")) for e in elements)] if t]
            if kind == "product" or _dict(payload.get("product")):
                return Part(kind, summary="Product: " + (", ".join(titles) or "(no title)"))
            return Part("template", label=" ".join(titles) or "[template]")
        if kind == "appointment_booking":
            booking = _short(payload.get("title")) or _short(item.get("title"))
            return Part(kind, summary="Appointment booking" + (f": {booking}" if booking else ""))
        return Part("unsupported", summary=f"Unsupported attachment ({kind})" if _SLUG.fullmatch(kind)
                    else "Unsupported attachment")

    def _media_url(self, url: str | None) -> str | None:
        """A payload's media URL, if we may fetch it: HTTPS only (our token never goes with it). Plain HTTP only from
        the configured Graph host itself, which is the local sandbox's."""
        if not url:
            return None
        try:
            parts = urlsplit(url)
            api = urlsplit(self._api_base_url())
        except ValueError:
            return None
        if not parts.hostname:
            return None
        if parts.scheme == "https" or (parts.scheme == "http" and (parts.scheme, parts.netloc) == (api.scheme, api.netloc)):
            return url
        return None

    def _reply_extras(self, reply: dict[str, Any], fields: dict[str, Any], labels: list[str]) -> None:
        """Channel-specific reply targets (Instagram stories); Messenger replies only to messages."""

    def _referral_summary(self, referral: dict[str, Any]) -> str | None:
        """Where the customer came from (an m.me link's ref, an ad, a shop product), as far as the event says."""
        if not referral:
            return None
        ads = _dict(referral.get("ads_context_data"))
        product = _dict(referral.get("product"))
        source = (_str(referral.get("source")) or "").upper()
        details: list[str] = []
        if ads or _str(referral.get("ad_id")) or source == "ADS":
            title = _short(ads.get("ad_title"), 120)
            details.append("From an ad" + (f" “{title}”" if title else ""))
            if _str(referral.get("ad_id")):
                details.append(f"ad id {_short(referral.get('ad_id'), 40)}")
        elif product:
            details.append(f"About product {_short(product.get('id'), 40) or '(unknown)'}")
        else:
            details.append("From a link" if source in ("", "SHORTLINK") else f"From {source.lower().replace('_', ' ')}")
        if _str(referral.get("ref")):
            details.append(f"ref {_short(referral.get('ref'), 120)}")
        if _str(referral.get("referer_uri")):
            details.append(_short(referral.get("referer_uri"), 200) or "")
        return ", ".join(d for d in details if d)

    def _parse_edit(self, raw: dict[str, Any], body: dict[str, Any], inbox_id: str, sender: str) -> Event | None:
        """The customer edited a message: new text, same mid."""
        mid, count, text = _str(body.get("mid")), _str(body.get("num_edit")), _str(body.get("text"))
        if not mid:
            return None
        if not text or not text.strip():  # nothing to apply (Messenger edits text only)
            return self._ignored("edit_without_text")
        return self._inbound(raw, mid, inbox_id, sender, text=text, edited=True,
                             event_id=f"{mid}#edit#{count}" if count else None)

    def _parse_postback(self, raw: dict[str, Any], body: dict[str, Any], inbox_id: str,
                        sender: str) -> InboundMessage | None:
        """A button the customer tapped (Get Started, a menu item, a template's button)."""
        stamp = _str(raw.get("timestamp"))
        provider_id = _str(body.get("mid")) or (f"postback:{inbox_id}:{sender}:{stamp}" if stamp else None)
        if not provider_id:
            return None  # no stable id: a retry could not be recognized
        title = _str(body.get("title")) or ""
        referral = self._referral_summary(_dict(body.get("referral")) or _dict(raw.get("referral")))
        summary = [s for s in ("" if title.strip() else "Tapped a button", referral) if s]
        return self._inbound(raw, provider_id, inbox_id, sender, type="postback", text=title,
                             payload=_str(body.get("payload")), summary="; ".join(summary) or None,
                             referral=referrals.meta_referral(_dict(body.get("referral")) or _dict(raw.get("referral"))))

    def _parse_reaction(self, raw: dict[str, Any], body: dict[str, Any], inbox_id: str,
                        sender: str) -> InboundMessage | None:
        target = _str(body.get("mid"))
        if not target:
            return None
        removed = body.get("action") == "unreact"
        emoji = "" if removed else (_str(body.get("emoji")) or _str(body.get("reaction")) or "")
        provider_id = f"reaction:{target}:{sender}:{_str(raw.get('timestamp')) or ''}"
        return self._inbound(raw, provider_id, inbox_id, sender, type="reaction", reaction=emoji, text=emoji,
                             reply_to=target, summary=None if emoji.strip() else
                             ("Removed their reaction" if removed else "Reacted"))

    def _parse_referral(self, raw: dict[str, Any], body: dict[str, Any], inbox_id: str,
                        sender: str) -> InboundMessage | None:
        """The customer opened an existing thread from an m.me link, an ad or a chat plugin: no message yet, but the
        only place the link's ref or the ad is told, so agents see it as a line of the conversation."""
        stamp = _str(raw.get("timestamp"))
        if not stamp:
            return None
        return self._inbound(raw, f"referral:{inbox_id}:{sender}:{stamp}", inbox_id, sender, type="referral",
                             summary=self._referral_summary(body) or "Opened the conversation from a link",
                             referral=referrals.meta_referral(body))

    def _parse_feedback(self, raw: dict[str, Any], body: dict[str, Any], inbox_id: str,
                        sender: str) -> InboundMessage | None:
        """The customer's answers to a feedback form (CSAT, NPS, free text)."""
        stamp = _str(raw.get("timestamp"))
        if not stamp:
            return None
        answers: list[str] = []
        for screen in map(_dict, _list(body.get("feedback_screens"))):
            for question_id, question in _dict(screen.get("questions")).items():
                question = _dict(question)
                follow_up = _short(_dict(question.get("follow_up")).get("payload"))
                answer = " ".join(filter(None, [_short(question.get("payload"), 40), f"({follow_up})" if follow_up else ""]))
                answers.append(f"{_short(question_id, 40) or 'question'}: {answer or '(no answer)'}")
        return self._inbound(raw, f"feedback:{inbox_id}:{sender}:{stamp}", inbox_id, sender, type="feedback",
                             summary="Feedback: " + ("; ".join(answers) if answers else "(no answers)"))

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

    def _token(self) -> str:
        token = secrets.get(self.token_name)
        if not token:
            raise PermanentSendError(f"no {self.name} access token configured")
        return token

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token()}"}

    def _check_text(self, text: str) -> None:
        if not text:
            raise PermanentSendError(f"{self.name} cannot send an empty message")
        self.check_text(text)

    def send(self, request: SendRequest) -> SendResult:
        if request.visibility and request.comment_id:  # issue 17: an answer to a public comment
            return comments.send(self, request)
        if request.files:
            return self._send_file(request)
        self._check_text(request.text)
        message: dict[str, Any] = {"text": request.text}
        if request.choices:  # rich replies: choices are quick replies (each answers with its id)
            message["quick_replies"] = [
                {"content_type": "text", "title": str(c["title"])[:QUICK_REPLY_TITLE_CHARS], "payload": str(c["id"])}
                for c in request.choices[:MAX_QUICK_REPLIES]]
        return self._post_message(self._page(request), request, message)

    def _page(self, request: SendRequest) -> str:
        """The Page (or Instagram account) the reply goes out as: the inbox id, as a Graph URL path segment."""
        try:
            return graph_segment(request.inbox_id)
        except ValueError:
            raise PermanentSendError(f"{self.name}: the inbox id is not a Graph id") from None

    def _post_message(self, page: str, request: SendRequest, message: dict[str, Any]) -> SendResult:
        """POST /{page}/messages (the Send API): a text or an attachment to the customer, by its message id."""
        body: dict[str, Any] = {"recipient": {"id": request.recipient}, "messaging_type": "RESPONSE", "message": message}
        if request.past_window:  # past the 24-hour window: a human agent's answer, within 7 days
            body |= {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
        if request.reply_to:  # rich replies: a quoted reply answers that message (it rides with the first part)
            body["reply_to"] = {"mid": request.reply_to}
        return self.graph_send(f"{self._api_base_url()}/{page}/messages", body, "message_id")

    # -- indicators (issue 15): sender actions ----------------------------------------------------------
    indicators = frozenset({"read", "typing"})
    SENDER_ACTIONS: ClassVar[dict[str, str]] = {"read": "mark_seen", "typing": "typing_on"}

    def indicate(self, inbox_id: str, recipient: str, kind: Indicator, provider_message_id: str | None) -> None:
        """POST /{page}/messages `{"recipient": {"id"}, "sender_action": "mark_seen" | "typing_on"}` (the Send API;
        Instagram's takes the same): mark_seen marks everything the customer sent as seen, typing_on shows the
        dots for up to 20 s or until our reply."""
        try:
            page = graph_segment(inbox_id)
        except ValueError:
            raise PermanentSendError(f"{self.name}: the inbox id is not a Graph id") from None
        body = {"recipient": {"id": recipient}, "sender_action": self.SENDER_ACTIONS[kind]}
        self.graph_indicate(f"{self._api_base_url()}/{page}/messages", body)

    # -- files (rich replies) ---------------------------------------------------------------
    def send_parts(self, request: SendRequest) -> list[SendRequest]:
        """The text first, then one message per file (a Send API attachment takes no text)."""
        return one_file_per_part(request) if request.files else [request]

    def _send_file(self, request: SendRequest) -> SendResult:
        (file,) = request.files
        kind = GRAPH_ATTACHMENT_TYPES[file.kind]
        page = self._page(request)
        message = {"attachment": {"type": kind, "payload": self._attachment_payload(page, kind, file)}}
        return self._post_message(page, request, message)

    def _attachment_payload(self, page: str, kind: str, file: Any) -> dict[str, Any]:
        """Messenger: the file uploaded through the Attachment Upload API (POST /{page}/message_attachments), sent
        by its attachment id. An upload sends nothing to the customer: one whose outcome is unknown is retried."""
        form = {"message": json.dumps({"attachment": {"type": kind, "payload": {"is_reusable": False}}})}
        upload = {"filedata": (files.safe_filename(file.filename or "file"), files.read(file), file.mime_type)}
        attachment_id = self.graph_upload(f"{self._api_base_url()}/{page}/message_attachments", form, upload,
                                          id_key="attachment_id", what="attachment upload",
                                          id_name="an attachment id")
        return {"attachment_id": attachment_id}

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
        """The webhook's URL is a signed, expiring CDN link: fetched without our token (it must not leak to a CDN),
        through the guarded download (HTTPS, Meta's media hosts, public addresses only, redirects checked)."""
        url = self._media_url(attachment.url)
        if not url:
            raise MediaError("no HTTPS media URL")
        got = http.download(url, allowed_hosts=http.META_MEDIA_HOSTS, api_base_url=self._api_base_url())
        return MediaContent(data=got.data, mime_type=got.content_type or attachment.mime_type,
                            sha256=hashlib.sha256(got.data).hexdigest())

    # -- profiles ----------------------------------------------------------------------------
    _profiles_paused_until = 0.0  # time.monotonic() before which no look-up is tried

    def fetch_profile(self, sender_id: str) -> str | None:
        """The customer's name from the Graph API's user profile (`GET /{PSID}` with the Page token). Never raises:
        a failed look-up is counted by reason (`ProfileLookupsFailed`), and the contact stays without a name."""
        name, failure = self._look_up_profile(sender_id)
        if failure:
            observability.count_by_reason("ProfileLookupsFailed", self.name, failure)
        return name

    def _look_up_profile(self, sender_id: str) -> tuple[str | None, str | None]:
        """(the name, None), or (None, why not)."""
        import requests

        if time.monotonic() < self._profiles_paused_until:
            return None, "paused"
        if not _ID.fullmatch(sender_id):
            return None, "bad_id"
        try:
            token = secrets.get(self.token_name)
            url = f"{self._api_base_url()}/{graph_segment(sender_id)}"
        except ServiceUnavailable:
            return None, "no_secret"
        except ValueError:
            return None, "bad_id"
        if not token:
            return None, "no_token"
        try:  # a GET: the shared session retries connection failures, 429 and 5xx with backoff, within the call
            response = http.request("GET", url, params={"fields": self.profile_fields},
                                    headers={"Authorization": f"Bearer {token}"}, timeout=PROFILE_TIMEOUT_SECONDS)
        except (RetryableSendError, PermanentSendError, requests.RequestException):
            self._profiles_paused_until = time.monotonic() + PROFILE_PAUSE_SECONDS
            return None, "unreachable"
        if response.status_code == 429 or response.status_code >= 500:
            self._profiles_paused_until = time.monotonic() + PROFILE_PAUSE_SECONDS
            return None, "provider_error"
        if response.status_code >= 400:  # no profile for this user (Graph 100/2018218), no permission, bad token
            return None, "refused"
        try:
            data = response.json()
        except ValueError:
            return None, "not_json"
        name = self._profile_name(_dict(data))
        return (name, None) if name else (None, "no_name")

    def _profile_name(self, profile: dict[str, Any]) -> str | None:
        full = " ".join(p for p in (_str(profile.get("first_name")), _str(profile.get("last_name"))) if p)
        return _short(profile.get("name")) or _short(full)

"""WhatsApp Cloud API: webhook messages, echoes and statuses in, Graph API sends and media downloads out."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, urlsplit

from switchboard import clock, secrets
from switchboard.channels import files, http, referrals
from switchboard.channels.base import (
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
from switchboard.channels.fields import number as _number
from switchboard.channels.meta import MetaChannel
from switchboard.errors import MalformedPayload, MediaError, PermanentSendError, RetryableSendError
from switchboard.models import (
    Attachment,
    IgnoredEvent,
    InboundMessage,
    Location,
    SendRequest,
    SendResult,
    StatusUpdate,
)
from switchboard.settings import get_settings

Event = InboundMessage | StatusUpdate | IgnoredEvent

MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
RECEIPTS = ("sent", "delivered", "read", "failed")
MAX_TEXT = 4096
BUSINESS_APP = "whatsapp_business_app"

# What Graph issues, and so all that may go into a Graph URL: a phone_number_id and a media id are digits (never a
# "/", "?", "#", "%" or ".", nor a Graph alias such as "me"). Against another base URL (the local sandbox, tests)
# media ids may also hold letters, "_" and "-".
PHONE_NUMBER_ID = re.compile(r"[0-9]{1,32}")
GRAPH_MEDIA_ID = re.compile(r"[0-9]{1,32}")
SANDBOX_MEDIA_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
META_API_HOSTS = ("facebook.com", "instagram.com")
# Where Meta serves media downloads (over https only): the look-up's URL must point there, or at the configured
# Graph base URL's own origin (the local sandbox), since the download carries the access token.
MEDIA_HOSTS = frozenset({"lookaside.fbsbx.com"})
MEDIA_HOST_SUFFIXES = (".fbsbx.com", ".fbcdn.net", ".whatsapp.net")
MEDIA_DOWNLOAD_HOSTS = (*MEDIA_HOSTS, *(f"*{suffix}" for suffix in MEDIA_HOST_SUFFIXES))

# Other subscriptions of a WhatsApp Business Account: acknowledged and counted under field_<name>, never stored.
# history and smb_app_state_sync (coexistence numbers: past chats and the app's contact list) would import
# conversations and names nobody wrote to us now: left for a deliberate import.
KNOWN_FIELDS = frozenset({
    "account_alerts", "account_review_update", "account_update", "automatic_events", "business_capability_update",
    "business_status_update", "calls", "flows", "group_lifecycle_update", "group_participants_update",
    "group_settings_update", "group_status_update", "history", "message_template_components_update",
    "message_template_quality_update", "message_template_status_update", "partner_solutions",
    "payment_configuration_update", "phone_number_name_update", "phone_number_quality_update", "security",
    "smb_app_state_sync", "template_category_update", "template_correct_category_detection", "user_preferences",
})
# System messages are WhatsApp's notices about the customer's account, not the customer speaking: the number or
# the identity key changed. Storing them as messages would open the reply window and greet nobody; the new
# number writes as a new identity. Counted by kind instead.
SYSTEM_KINDS = frozenset({"customer_changed_number", "customer_identity_changed", "user_changed_number",
                          "user_changed_user_id"})
OTHER_STATUSES = frozenset({"played", "deleted", "warning"})  # documented, nothing to record for them
MAX_SUMMARY = 1000
MAX_LISTED = 10
TIMES = "\u00d7"


def _digits(value: str) -> bool:
    return value.isascii() and value.isdigit()  # str.isdigit alone accepts "١٢٣" and "²"


def _timestamp(value: Any) -> float:
    ts = _epoch(value)
    return ts if ts is not None else clock.now().timestamp()


def _epoch(value: Any) -> float | None:
    """A plausible unix time in seconds, or None."""
    ts = _number(value)
    return ts if ts is not None and 0 < ts < 1e11 else None


def _location(body: dict[str, Any]) -> Location | None:
    latitude, longitude = _coordinate(body.get("latitude"), 90), _coordinate(body.get("longitude"), 180)
    if latitude is None or longitude is None:
        return None
    return Location(latitude=latitude, longitude=longitude, name=_str(body.get("name")), address=_str(body.get("address")))


def _ignored(reason: str) -> IgnoredEvent:
    return IgnoredEvent(channel="whatsapp", reason=reason)


def _slug(value: Any) -> str | None:
    """A provider's type name, safe to show and to count: lower-case letters, digits and "_", at most 40."""
    text = _str(value)
    slug = re.sub(r"[^a-z0-9_]", "", text.lower())[:40] if text else ""
    return slug or None


def _cap(text: str, limit: int = MAX_SUMMARY) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _amount(value: Any) -> Decimal | None:
    """A quantity or price as sent (int, float or numeric string), exactly; None when not a sane amount (at most
    15 digits before the point and 6 after, so that it prints short)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, int) and abs(value) >= 10**15:
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    exponent = number.as_tuple().exponent  # a letter only for NaN and infinities, refused first
    if not number.is_finite() or abs(number) >= 10**15 or (isinstance(exponent, int) and exponent < -6):
        return None
    return number


def _figure(number: Decimal) -> str:
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _error_note(raw: dict[str, Any]) -> str | None:
    """"code 131051: Message type unknown" from a message's (or a value's) errors[]."""
    errors = _list(raw.get("errors"))
    error = _dict(errors[0]) if errors else {}
    code = _str(error.get("code"))
    title = _str(error.get("title")) or _str(error.get("message")) or _str(_dict(error.get("error_data")).get("details"))
    if not code and not title:
        return None
    return _cap(": ".join(filter(None, [f"code {code}" if code else None, title])), 200)


def _order_summary(order: dict[str, Any]) -> str:
    """'Order: 2 items (3 x SKU123 at 9.99 EUR, 1 x SKU7 at 5 EUR); total 34.97 EUR; catalog 1234', with the
    multiplication sign for the x."""
    items = [_dict(i) for i in _list(order.get("product_items"))]
    listed: list[str] = []
    totals: dict[str | None, Decimal] = {}
    complete = True  # every item has a quantity and a price: a total can be given
    for item in items:
        sku = _str(item.get("product_retailer_id")) or "item"
        quantity, price = _amount(item.get("quantity")), _amount(item.get("item_price"))
        currency = _str(item.get("currency"))
        line = f"{_figure(quantity)} {TIMES} {sku}" if quantity is not None else sku
        if price is not None:
            line += f" at {_figure(price)}" + (f" {currency}" if currency else "")
        listed.append(_cap(line, 120))
        if quantity is None or price is None:
            complete = False
        else:
            totals[currency] = totals.get(currency, Decimal(0)) + quantity * price
    summary = f"Order: {len(items)} item{'' if len(items) == 1 else 's'}"
    if listed:
        more = len(listed) - MAX_LISTED
        summary += f" ({', '.join(listed[:MAX_LISTED])}{f', and {more} more' if more > 0 else ''})"
    if complete and len(totals) == 1:  # one currency: the total means something
        [(currency, total)] = totals.items()
        summary += f"; total {_figure(total)}" + (f" {currency}" if currency else "")
    catalog = _str(order.get("catalog_id"))
    return _cap(summary + (f"; catalog {catalog}" if catalog else ""))


def _call_permission_summary(reply: dict[str, Any]) -> str:
    response = _str(reply.get("response"))
    summary = {"accept": "Call permission granted", "reject": "Call permission declined"}.get(
        response or "", "Call permission answered")
    expires = _epoch(reply.get("expiration_timestamp"))
    if response == "accept" and reply.get("is_permanent") is True:
        summary += " permanently"
    elif response == "accept" and expires is not None:
        summary += f" until {clock.from_epoch(expires).strftime('%Y-%m-%d %H:%M UTC')}"
    if reply.get("response_source") == "automatic":
        summary += " (automatically, by the customer's settings)"
    return summary


def _shown(value: Any) -> str | None:
    """A form answer as text: a scalar, or a list of scalars; nested objects are left out."""
    if isinstance(value, list):
        parts = [p for p in (_shown(v) for v in value if not isinstance(v, list | dict)) if p]
        return " / ".join(parts) or None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return _str(value) if not isinstance(value, float) else str(value)


def _flow_summary(reply: dict[str, Any]) -> str:
    """A Flow's or address message's answers, 'Form response: rating: 5, comment: fine'."""
    name = _str(reply.get("name"))
    label = "Address" if name == "address_message" else "Form response"
    try:
        data = json.loads(reply["response_json"]) if isinstance(reply.get("response_json"), str) else None
    except (ValueError, RecursionError):
        data = None
    answers = _dict(data)
    if name == "address_message" and isinstance(answers.get("values"), dict):
        answers = answers["values"]
    shown = [(str(k), _shown(v)) for k, v in answers.items() if k != "flow_token"]
    listed = [f"{_cap(k, 60)}: {_cap(v, 200)}" for k, v in shown if v][:20]
    return _cap(f"{label}: {', '.join(listed)}" if listed else label)


def _referral_note(referral: dict[str, Any]) -> str | None:
    """A Click-to-WhatsApp ad or post the customer came from (kept as known; no model for it yet)."""
    if not referral:
        return None
    source = _str(referral.get("source_type"))
    label = {"ad": "From an ad", "post": "From a post"}.get(source or "", "From an ad or post")
    details = [p for p in (_str(referral.get("headline")), _str(referral.get("body"))) if p]
    note = label + (f": {' - '.join(details)}" if details else "")
    where = [p for p in (_str(referral.get("source_url")),
                         f"id {_str(referral.get('source_id'))}" if _str(referral.get("source_id")) else None) if p]
    return _cap(note + (f" ({', '.join(where)})" if where else ""), 500)


def _referral(raw: dict[str, Any], content: dict[str, Any]) -> Any:
    """A wa.me link's reference in a text (taken out of it: agents see it as the conversation's source) and a
    Click-to-WhatsApp ad's `referral` (its summary line stays as it was)."""
    ref = None
    if content.get("type") == "text" and content.get("text"):
        content["text"], ref = referrals.strip_ref(content["text"])
        if ref and not content["text"] and not content.get("summary"):
            content["summary"] = "Opened the chat from a link"
    return referrals.referral(ref, referrals.whatsapp_ad(raw.get("referral")))


def _product_note(context: dict[str, Any]) -> str | None:
    """The customer wrote from a product's page ('Message business')."""
    product = _dict(context.get("referred_product"))
    sku, catalog = _str(product.get("product_retailer_id")), _str(product.get("catalog_id"))
    if not sku and not catalog:
        return None
    return _cap(f"About product {sku or '?'}" + (f" (catalog {catalog})" if catalog else ""), 200)


def _contact_cards(cards: list[dict[str, Any]]) -> str:
    shown = []
    for card in cards:
        name = _str(_dict(card.get("name")).get("formatted_name"))
        phones = [_str(_dict(p).get("phone")) for p in _list(card.get("phones"))]
        emails = [_str(_dict(e).get("email")) for e in _list(card.get("emails"))]
        shown.append(" ".join(filter(None, [name, *phones, *emails])))
    return "; ".join(s for s in shown if s)


def _readable(fields: dict[str, Any]) -> bool:
    return bool((fields.get("text") or "").strip() or fields.get("attachments") or fields.get("location")
                or fields.get("summary"))


def _content(raw: dict[str, Any], reported: str | None = None) -> dict[str, Any]:
    """A message's (or an echo's, or an edit's new) content as InboundMessage fields: text, a typed attachment,
    a location, and a `summary` for what is not text, so that an agent always has something to read.
    `reported`: an error WhatsApp attached to the whole webhook (its content could not be delivered)."""
    kind = _str(raw.get("type")) or "unknown"
    body = _dict(raw.get(kind))
    fields: dict[str, Any] = {"type": kind, "text": ""}
    notes: list[str | None] = []
    if kind == "text":
        fields["text"] = _str(body.get("body")) or ""
    elif kind in MEDIA_TYPES:
        fields["text"] = _str(body.get("caption")) or ""
        fields["attachments"] = [Attachment(
            kind=kind, provider_media_id=_str(body.get("id")), mime_type=_str(body.get("mime_type")),
            sha256=_str(body.get("sha256")), filename=_str(body.get("filename")), voice=body.get("voice") is True)]
    elif kind == "location":
        location = _location(body)
        fields["text"] = ", ".join(p for p in (_str(body.get("name")), _str(body.get("address")),
                                               _str(body.get("url"))) if p)
        if location is None:
            fields["type"] = "unsupported"
            notes.append("Location (its coordinates could not be read)")
        else:
            fields["location"] = location
    elif kind == "interactive":
        _interactive(body, fields, notes)
    elif kind == "button":  # a template's quick-reply button
        fields["text"] = _str(body.get("text")) or ""
        fields["payload"] = _str(body.get("payload"))
        if not fields["text"]:
            notes.append(f"Button pressed ({_cap(fields['payload'], 200)})" if fields["payload"] else "Button pressed")
    elif kind == "reaction":
        fields["reaction"] = _str(body.get("emoji")) or ""  # empty or absent: the reaction was removed
        fields["text"] = fields["reaction"]
        fields["reply_to"] = _str(body.get("message_id"))
        if not fields["reaction"]:
            notes.append("Reaction removed")
    elif kind == "contacts":
        cards = [_dict(c) for c in _list(raw.get("contacts"))]  # on the message itself, not under its type
        fields["text"] = _contact_cards(cards)
        if not fields["text"]:
            notes.append(f"Contact card{'s' if len(cards) > 1 else ''} without a name or number")
    elif kind == "order":
        fields["text"] = _str(body.get("text")) or ""
        notes.append(_order_summary(body))
    else:  # unsupported (WhatsApp's own placeholder), "unknown", or a type newer than this code
        fields["type"] = "unsupported"
        named = _slug(body.get("type")) if kind == "unsupported" else _slug(kind)
        error = _error_note(raw)
        notes.append("Unsupported message" + (f": {named}" if named and named not in ("unsupported", "unknown") else "")
                     + (f" ({error})" if error else ""))
    if fields["type"] != "unsupported" and _list(raw.get("errors")):
        notes.append(f"WhatsApp reported an error ({_error_note(raw) or 'no details'})")
    elif reported and not _list(raw.get("errors")):
        notes.append(f"WhatsApp reported an error ({reported})")
    context = _dict(raw.get("context"))
    fields.setdefault("reply_to", _str(context.get("id")))
    notes += [_product_note(context), _referral_note(_dict(raw.get("referral")))]
    summary = "; ".join(n for n in notes if n)
    if summary:
        fields["summary"] = _cap(summary)
    if not _readable(fields):
        fields["summary"] = "Empty message"  # nothing to show, but the customer did write: never a blank bubble
    return fields


def _interactive(body: dict[str, Any], fields: dict[str, Any], notes: list[str | None]) -> None:
    """A customer's answer to an interactive message (button, list, Flow, call permission), or in an echo the
    business's own interactive message."""
    subtype = _str(body.get("type")) or ""
    reply = _dict(body.get(subtype))
    if subtype in ("button_reply", "list_reply"):
        fields["text"] = _str(reply.get("title")) or ""
        fields["payload"] = _str(reply.get("id"))
        if not fields["text"]:
            notes.append(f"Reply chosen ({_cap(fields['payload'], 200)})" if fields["payload"] else "Reply chosen")
    elif subtype == "nfm_reply":
        fields["text"] = _str(reply.get("body")) or ""
        fields["payload"] = _str(reply.get("response_json"))
        notes.append(_flow_summary(reply))
    elif subtype == "call_permission_reply":
        notes.append(_call_permission_summary(reply))
    else:
        fields["text"] = _str(_dict(body.get("body")).get("text")) or ""
        named = _slug(subtype)
        notes.append(f"Interactive message ({named})" if named else "Interactive message")


TEMPLATE_SETTING = re.compile(r"([a-z0-9_]{1,512}):([A-Za-z]{2,3}(?:_[A-Za-z0-9]{2,4})?)")


def reply_template(text: str) -> dict[str, Any]:
    """The configured template (`name:language`, e.g. `support_reply:en_US`) with the reply as its one body
    parameter. Template parameters may hold no newlines, tabs or runs of spaces: whitespace is folded to spaces."""
    match = TEMPLATE_SETTING.fullmatch(get_settings().whatsapp_reply_template.strip())
    if not match:
        raise PermanentSendError("WHATSAPP_REPLY_TEMPLATE must be <template name>:<language code>, "
                                 "e.g. support_reply:en_US")
    return template_message(match[1], match[2], [{"type": "body", "parameters": [{"type": "text",
                                                                                 "text": template_text(text)}]}])


def template_text(text: str) -> str:
    """A text parameter as Graph takes it: no newlines, tabs or runs of more than four spaces (folded to one)."""
    return " ".join(text.split())


def template_message(name: str, language: str, components: list[dict[str, Any]]) -> dict[str, Any]:
    """The `template` object of a Graph template message: any approved template, its parameters already filled in
    each component (body, header, buttons), as services/templates.py builds them."""
    if not TEMPLATE_SETTING.fullmatch(f"{name}:{language}"):
        raise PermanentSendError("not a WhatsApp template name and language code")
    return {"name": name, "language": {"code": language}, **({"components": components} if components else {})}


def graph_url(*segments: str) -> str:
    """A Graph API URL under the configured base, each id escaped whole (a "/" or "?" in one stays in it)."""
    return "/".join([get_settings().whatsapp_api_base_url.rstrip("/"), *(quote(s, safe="") for s in segments)])


def media_id_allowed(media_id: str) -> bool:
    """Whether a media id is one the configured API issues (only such ids go into the look-up's URL)."""
    if GRAPH_MEDIA_ID.fullmatch(media_id):
        return True
    host = (urlsplit(get_settings().whatsapp_api_base_url).hostname or "").rstrip(".")
    on_meta = any(host == h or host.endswith(f".{h}") for h in META_API_HOSTS)
    return not on_meta and bool(SANDBOX_MEDIA_ID.fullmatch(media_id))


def media_url_allowed(url: str) -> bool:
    """Whether a media download URL may receive the access token: https on Meta's media hosts, or the configured
    Graph base URL's own origin (the local sandbox). Anything that two URL parsers could read differently
    (credentials, backslashes, spaces, non-ASCII) is refused outright."""
    from urllib3.exceptions import LocationParseError
    from urllib3.util import parse_url

    if not url.isascii() or any(c in url for c in "\\@") or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        return False
    try:
        parts, connects = urlsplit(url), parse_url(url)
        port = parts.port
    except (ValueError, LocationParseError):
        return False
    host = parts.hostname or ""
    if not host or (connects.host or "").lower() != host or (connects.scheme or "").lower() != parts.scheme:
        return False
    base = urlsplit(get_settings().whatsapp_api_base_url)
    defaults = {"https": 443, "http": 80}
    try:
        base_origin = (base.scheme, base.hostname, base.port or defaults.get(base.scheme))
    except ValueError:
        base_origin = None
    if (parts.scheme, host, port or defaults.get(parts.scheme)) == base_origin:
        return True
    return parts.scheme == "https" and port in (None, 443) and (
        host in MEDIA_HOSTS or host.endswith(MEDIA_HOST_SUFFIXES))


# Rich replies: what the Cloud API sends (Meta's "supported media types"): images 5 MB (JPEG, PNG), audio and video
# 16 MB, documents 100 MB. Stickers (WebP) are not offered to agents.
DOCUMENT_TYPES = frozenset({
    "text/plain", "application/pdf", "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation"})
MEDIA_LIMITS = MediaLimits(rules=(
    MediaRule("image", frozenset({"image/jpeg", "image/png"}), 5 * MB),
    MediaRule("audio", frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}), 16 * MB),
    MediaRule("video", frozenset({"video/mp4", "video/3gpp"}), 16 * MB),
    MediaRule("document", DOCUMENT_TYPES, 100 * MB),
))
CAPTION_CHARS = 1024  # images, videos and documents take a caption; audio none
# Files up to this size are uploaded to Meta (POST /{phone_number_id}/media) and sent by media id; a larger document
# is sent by a short-lived link Meta fetches, so the sender never holds 100 MB in its 256 MB of memory.
UPLOAD_MAX_BYTES = 25 * MB


class WhatsAppChannel(MetaChannel):
    name = "whatsapp"
    max_text_chars = MAX_TEXT
    reply_window_seconds = 24 * 3600
    media_limits = MEDIA_LIMITS

    def human_reply_window_seconds(self) -> int | None:
        # With an approved template to carry it, an agent's reply can go out any time (WHATSAPP_REPLY_TEMPLATE).
        return None if get_settings().whatsapp_reply_template.strip() else self.reply_window_seconds

    def parse(self, request: WebhookRequest) -> list[Event]:
        data = self.load_json(request.body)
        entries = data.get("entry")
        if data.get("object") != "whatsapp_business_account" or not isinstance(entries, list):
            raise MalformedPayload("not a WhatsApp Business Account notification")
        events: list[Event] = []
        # An entry or change of an unknown shape is skipped (and counted), not fatal: refusing the POST would make
        # Meta redeliver (and us refuse) the valid messages batched with it for days, then drop them.
        for entry in entries:
            changes = _dict(entry).get("changes")
            if not isinstance(changes, list):
                events.append(_ignored("malformed_entry"))
                continue
            for change in changes:
                events.extend(self._parse_change(_dict(change)))
        return events

    def _parse_change(self, change: dict[str, Any]) -> list[Event]:
        field, value = change.get("field"), change.get("value")
        if not isinstance(field, str) or not isinstance(value, dict):
            return [_ignored("malformed_change")]
        if field == "messages":
            return self._parse_value(value, "messages")
        if field == "smb_message_echoes":  # sent from the WhatsApp Business app on a coexistence number
            return self._parse_value(value, "message_echoes")
        return [_ignored(f"field_{field}" if field in KNOWN_FIELDS else "unknown_field")]

    def _parse_value(self, value: dict[str, Any], key: str) -> list[Event]:
        inbox_id = _str(_dict(value.get("metadata")).get("phone_number_id"))
        names: dict[str, str] = {}
        for contact in _list(value.get("contacts")):
            contact = _dict(contact)
            name = _str(_dict(contact.get("profile")).get("name"))
            for who in (_str(contact.get("wa_id")), _str(contact.get("user_id"))):
                if who and name:
                    names[who] = name
        events: list[Event] = []
        if _list(value.get("errors")):  # a problem Meta reports about the webhook itself (its messages say it too)
            events.append(_ignored("webhook_error"))
        reported = _error_note(value)
        business = _str(_dict(value.get("metadata")).get("display_phone_number"))
        for raw in _list(value.get(key)):
            events.append(self._parse_message(_dict(raw), inbox_id, names, echo=key == "message_echoes",
                                              business=business, reported=reported))
        for raw in _list(value.get("statuses")):
            events.append(self._parse_status(_dict(raw)))
        return events

    def _parse_message(self, raw: dict[str, Any], inbox_id: str | None, names: dict[str, str], *,
                       echo: bool = False, business: str | None = None, reported: str | None = None
                       ) -> InboundMessage | IgnoredEvent:
        """A customer's message, or with `echo` one the business sent from the WhatsApp Business app (`business`:
        its display number, when the webhook names it)."""
        wamid = _str(raw.get("id"))
        if echo:  # the customer is whom the business wrote to (some fixtures swap to and from: the other number)
            to, sender = _str(raw.get("to")), _str(raw.get("from"))
            customer = (sender if business and to == business and sender and sender != business else to) \
                or _str(raw.get("to_user_id"))
        else:
            customer = _str(raw.get("from")) or _str(raw.get("from_user_id"))
        if not wamid or not customer:
            return _ignored("malformed_message")
        if not inbox_id or not PHONE_NUMBER_ID.fullmatch(inbox_id):
            return _ignored("invalid_inbox_id")  # it becomes the sender's URL path: only what Graph issues
        if raw.get("group_id") is not None:
            return _ignored("group_message")  # conversations are one to one: a reply would go to one member only
        kind = _str(raw.get("type"))
        if kind == "system":
            system = _slug(_dict(raw.get("system")).get("type"))
            return _ignored(f"system_{system}" if system in SYSTEM_KINDS else "system_message")
        if kind == "request_welcome":
            return _ignored("welcome_request")  # the customer opened the chat for the first time, wrote nothing yet
        fields: dict[str, Any] = {
            "channel": "whatsapp", "inbox_id": inbox_id, "sender_id": customer,
            "identity": f"phone:+{customer}" if _digits(customer) else f"whatsapp:{customer}",
            "sender_name": None if echo else names.get(customer), "timestamp": _timestamp(raw.get("timestamp"))}
        if echo:
            fields |= {"echo": True, "echo_via": BUSINESS_APP}
        if kind == "revoke":  # the customer (or, echoed, the business) deleted a message for everyone
            original = _str(_dict(raw.get("revoke")).get("original_message_id"))
            if not original:
                return _ignored("revoke_without_original")
            return InboundMessage(provider_message_id=original, deleted=True, type="revoke", **fields)
        if kind == "edit":  # a new text or caption for a message sent earlier; the edit has its own id
            edit = _dict(raw.get("edit"))
            original = _str(edit.get("original_message_id"))
            if not original:
                return _ignored("edit_without_original")
            new = _content(_dict(edit.get("message")))
            if new["type"] not in ("text", *MEDIA_TYPES) or not (new["text"].strip() or new.get("attachments")):
                return _ignored("edit_without_content")  # never blank a stored message with an empty edit
            new.pop("summary", None)
            return InboundMessage(provider_message_id=original, edited=True, event_id=wamid, **fields, **new)
        content = _content(raw, reported)
        if not echo:  # growth: the entry link's reference in the text, or the ad the customer tapped
            content["referral"] = _referral(raw, content)
        return InboundMessage(provider_message_id=wamid, **fields, **content)

    def _parse_status(self, raw: dict[str, Any]) -> StatusUpdate | IgnoredEvent:
        wamid, status = _str(raw.get("id")), raw.get("status") if isinstance(raw.get("status"), str) else None
        if not wamid:
            return _ignored("malformed_status")
        if raw.get("recipient_type") == "group":
            return _ignored("group_status")
        if status not in RECEIPTS:
            return _ignored(f"status_{status}" if status in OTHER_STATUSES else "unknown_status")
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
        if request.files:
            return self._send_file(request)
        if not request.template:  # a template's text is its rendered body, for agents: Graph sends the template
            self.check_text(request.text)
        if not PHONE_NUMBER_ID.fullmatch(request.inbox_id):
            raise PermanentSendError("the conversation's WhatsApp number is not a phone_number_id (digits only)")
        body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual", "type": "text",
                                "text": {"preview_url": False, "body": request.text}}
        if request.template:  # a template the agent chose (past the window, or reaching the customer first)
            body = {**body, "type": "template", "template": template_message(
                str(request.template.get("name")), str(request.template.get("language")),
                list(request.template.get("components") or []))}
            del body["text"]
        elif request.past_window:  # free-form text would fail with 131047: the reply goes in the template
            body = {**body, "type": "template", "template": reply_template(request.text)}
            del body["text"]
        elif request.choices:  # rich replies: buttons (up to 3) or a list (up to 10) the customer answers with
            body = {**body, "type": "interactive", "interactive": interactive_choices(request)}
            del body["text"]
        return self._post_message(request, body)

    # -- indicators (issue 15): a read receipt, and the typing indicator that rides on one ---------------
    indicators = frozenset({"read", "typing"})
    indicators_name_message = True

    def indicate(self, inbox_id: str, recipient: str, kind: Indicator, provider_message_id: str | None) -> None:
        """POST /{phone_number_id}/messages with `status: read` for the customer's message (WhatsApp shows the
        blue ticks on it and everything before it); typing adds `typing_indicator` (shown up to 25 s, or until
        our reply). Both name an inbound wamid: without one there is nothing to show."""
        if not provider_message_id:
            return
        if not PHONE_NUMBER_ID.fullmatch(inbox_id):
            raise PermanentSendError("the conversation's WhatsApp number is not a phone_number_id (digits only)")
        body: dict[str, Any] = {"messaging_product": "whatsapp", "status": "read", "message_id": provider_message_id}
        if kind == "typing":
            body["typing_indicator"] = {"type": "text"}
        self.graph_indicate(graph_url(inbox_id, "messages"), body)

    def fetch_media(self, attachment: Attachment) -> MediaContent:
        import requests

        if not attachment.provider_media_id:
            raise MediaError("no media id")
        if not media_id_allowed(attachment.provider_media_id):
            raise MediaError("not a media id the Graph API issues: not looked up")
        try:
            headers = self._auth()
            meta = http.request("GET", graph_url(attachment.provider_media_id), headers=headers)
            if meta.status_code >= 400:
                raise MediaError(f"media lookup answered {meta.status_code}")
            info = meta.json()
            url = info["url"]
            if not isinstance(url, str) or not url.startswith(("https://", "http://")):
                raise MediaError("media lookup returned no URL")
            if not media_url_allowed(url):
                raise MediaError("media URL is not on Meta's media hosts: not downloaded")
            # Meta refuses anonymous downloads, so the bearer goes along: only ever to Meta's media host, through
            # the guarded download (public addresses only, each redirect checked before anything goes to it).
            got = http.download(url, allowed_hosts=MEDIA_DOWNLOAD_HOSTS, headers=headers,
                                credential_hosts=MEDIA_HOSTS, api_base_url=get_settings().whatsapp_api_base_url)
            data = got.data
        except (RetryableSendError, PermanentSendError, requests.RequestException, ValueError, KeyError,
                TypeError) as exc:
            raise MediaError(f"media fetch failed: {type(exc).__name__}") from exc
        expected = attachment.sha256 or _str(info.get("sha256"))
        if expected and not _hash_matches(data, expected):
            raise MediaError("media hash mismatch")
        return MediaContent(data=data, mime_type=_str(info.get("mime_type")) or attachment.mime_type, sha256=expected)


    # -- files (rich replies) ---------------------------------------------------------------
    def files_problem(self, files: Any, recipient: str, *, inbox_id: str = "", past_window: bool = False) -> str | None:
        if past_window and files:
            return ("past the 24-hour window WhatsApp takes only the reply template: files can be sent once the "
                    "customer writes again")
        return super().files_problem(files, recipient, inbox_id=inbox_id, past_window=past_window)

    def send_parts(self, request: SendRequest) -> list[SendRequest]:
        """One message per file; the text is the first file's caption (or a message before them when too long,
        or when the first file is audio, which takes no caption)."""
        if not request.files:
            return [request]
        return one_file_per_part(request, CAPTION_CHARS, lambda f: f.kind != "audio")

    def _send_file(self, request: SendRequest) -> SendResult:
        """One file: uploaded to Meta and sent by its media id, or (a large document) sent by link."""
        (file,) = request.files
        if request.past_window:
            raise PermanentSendError("past the 24-hour window only the reply template can be sent: files cannot")
        if not PHONE_NUMBER_ID.fullmatch(request.inbox_id):
            raise PermanentSendError("the conversation's WhatsApp number is not a phone_number_id (digits only)")
        media: dict[str, Any] = ({"link": files.link(file)} if file.size > UPLOAD_MAX_BYTES
                                 else {"id": self._upload(request.inbox_id, file)})
        if request.text and file.kind != "audio":
            media["caption"] = request.text
        if file.kind == "document" and file.filename:
            media["filename"] = file.filename
        body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual", "type": file.kind,
                                file.kind: media}
        return self._post_message(request, body)

    def _post_message(self, request: SendRequest, body: dict[str, Any]) -> SendResult:
        """POST /{phone_number_id}/messages: a text, template, interactive or file message (`body`) to the
        customer, quoting what the reply answers; its wamid."""
        if _digits(request.recipient):
            body["to"] = request.recipient
        else:
            body["recipient"] = request.recipient  # business-scoped user id
        if request.reply_to:
            body["context"] = {"message_id": request.reply_to}
        return self.graph_send(graph_url(request.inbox_id, "messages"), body, "messages", 0, "id")

    def _upload(self, inbox_id: str, file: Any) -> str:
        """POST /{phone_number_id}/media (multipart): the media id to send by. An upload sends nothing to the
        customer, so one whose outcome is unknown is simply tried again."""
        form = {"messaging_product": "whatsapp", "type": file.mime_type}
        upload = {"file": (files.safe_filename(file.filename or "file"), files.read(file), file.mime_type)}
        return self.graph_upload(graph_url(inbox_id, "media"), form, upload, id_key="id", what="media upload",
                                 id_name="a media id")


def _hash_matches(data: bytes, expected: str) -> bool:
    digest = hashlib.sha256(data).digest()
    return expected.lower() == digest.hex() or expected == base64.b64encode(digest).decode()


# -- rich replies (issue 13): choices as an interactive message ------------------------------------------------------
BUTTON_TITLE_CHARS = 20  # reply buttons' titles; list rows take 24, the list's button 20
ROW_TITLE_CHARS = 24
INTERACTIVE_BODY_CHARS = 1024


def interactive_choices(request: SendRequest) -> dict[str, Any]:
    """Up to three choices as reply buttons, more (up to ten) as a list; each answers with its id (`button_reply` or
    `list_reply` in the webhook: the message's payload)."""
    choices = request.choices[:10]
    text = request.text[:INTERACTIVE_BODY_CHARS] or "?"
    if len(choices) <= 3:
        return {"type": "button", "body": {"text": text}, "action": {"buttons": [
            {"type": "reply", "reply": {"id": str(c["id"]), "title": str(c["title"])[:BUTTON_TITLE_CHARS]}}
            for c in choices]}}
    label = (request.choices_label or "Choose")[:BUTTON_TITLE_CHARS]
    return {"type": "list", "body": {"text": text}, "action": {"button": label, "sections": [
        {"title": label[:ROW_TITLE_CHARS], "rows": [{"id": str(c["id"]), "title": str(c["title"])[:ROW_TITLE_CHARS]}
                                                     for c in choices]}]}}


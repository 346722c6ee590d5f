"""Telegram Bot API: webhook updates in (secret-token header), sendMessage and getFile downloads out.

Every Update type and every Message field of the Bot API (10.2) is classified here: a customer's content becomes
something an agent can read (text, a typed attachment, or a labelled `summary`), edits, unsends, reactions and blocks
are applied, and the rest (service messages, events about chats, payments and inline mode) is an IgnoredEvent with
a reason, never an empty message."""

from __future__ import annotations

import hashlib
import hmac
import json
import mimetypes
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from switchboard import clock, http_input, secrets
from switchboard.channels import files, http, referrals
from switchboard.channels.base import (
    ANY_TYPE,
    INDICATOR_TIMEOUT_SECONDS,
    MB,
    Channel,
    Indicator,
    MediaContent,
    MediaLimits,
    MediaRule,
    WebhookReply,
    WebhookRequest,
    one_file_per_part,
)
from switchboard.channels.fields import as_dict as _dict
from switchboard.channels.fields import as_list as _list
from switchboard.channels.fields import storable
from switchboard.errors import (
    MalformedPayload,
    MediaError,
    PermanentSendError,
    RetryableSendError,
    ServiceUnavailable,
    SignatureError,
)
from switchboard.models import (
    Attachment,
    ContactEvent,
    IgnoredEvent,
    InboundMessage,
    Location,
    SendRequest,
    SendResult,
)
from switchboard.settings import get_settings

SECRET_HEADER = "x-telegram-bot-api-secret-token"
MAX_TEXT = 4096
# Updates setWebhook subscribes to (infra/scripts/telegram-set-webhook.py); every other type is still classified
# below, should it arrive (a webhook set by other means subscribes to all but reactions and chat members).
# What the channel applies: messages and edits, reactions, buttons, blocks, and a connected business account's chats.
ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member", "message_reaction",
                   "business_message", "edited_business_message", "deleted_business_messages")
BUSINESS = "business:"  # the inbox of a connected business account: business:<business_connection_id>
EventList = list[InboundMessage | ContactEvent | IgnoredEvent]
CHAT_ID = re.compile(r"-?[0-9]{1,20}")
BOT_TOKEN = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{1,200}")
MAX_RICH_TEXT = 20_000

# -- what each Update type is to us ----------------------------------------------------------------------------
# New messages and their edits: classified by their content (below). business_*: a connected business account's
# chats (Telegram Business), where the business's own messages are echoes.
MESSAGE_UPDATES = ("message", "business_message")
EDIT_UPDATES = ("edited_message", "edited_business_message")
APPLIED_UPDATES = ("deleted_business_messages", "message_reaction", "callback_query", "my_chat_member")
# Not a customer speaking to us, with the reason they are counted under.
IGNORED_UPDATES = {
    "channel_post": "channel_post",  # the channel's own posts (the business broadcasting)
    "edited_channel_post": "channel_post",
    "business_connection": "business_connection",  # the bot connected to a business account: configuration
    "guest_message": "guest_message",  # the bot summoned in a chat it is not in: answerable only at once, there
    "message_reaction_count": "anonymous_reactions",  # counts on channel posts, nobody to answer
    "inline_query": "inline_query",  # typing "@bot ..." in another chat
    "chosen_inline_result": "inline_query",
    "shipping_query": "payment_query",  # payment steps of invoices we never send
    "pre_checkout_query": "payment_query",
    "purchased_paid_media": "paid_media_purchase",
    "poll": "poll_update",  # state of a poll the bot sent (we send none)
    "poll_answer": "poll_answer",  # a vote in a poll the bot sent (we send none)
    "chat_member": "chat_member_update",  # someone else's membership in a group
    "chat_join_request": "chat_join_request",
    "chat_boost": "chat_boost",
    "removed_chat_boost": "chat_boost",
    "managed_bot": "managed_bot",
    "subscription": "subscription",  # a Stars subscription to the bot changed
}
UPDATE_TYPES = (*MESSAGE_UPDATES, *EDIT_UPDATES, *APPLIED_UPDATES, *IGNORED_UPDATES)

# -- what each Message field is to us --------------------------------------------------------------------------
# Content, in the order a message is read (a live photo also sets photo, an animation document, a venue location).
CONTENT_FIELDS = (
    "text", "rich_message", "live_photo", "paid_media", "photo", "animation", "document", "audio", "voice", "video",
    "video_note", "sticker", "story", "checklist", "venue", "location", "contact", "poll", "dice", "game", "invoice",
    "giveaway", "giveaway_winners", "users_shared", "chat_shared", "web_app_data", "gift", "unique_gift",
    "passport_data",
)
# Service messages: something happened to the chat, nobody said anything to us.
SERVICE_FIELDS = frozenset({
    "new_chat_members", "left_chat_member", "chat_owner_left", "chat_owner_changed", "new_chat_title",
    "new_chat_photo", "delete_chat_photo", "group_chat_created", "supergroup_chat_created", "channel_chat_created",
    "message_auto_delete_timer_changed", "migrate_to_chat_id", "migrate_from_chat_id", "pinned_message",
    "successful_payment", "refunded_payment", "gift_upgrade_sent", "connected_website", "write_access_allowed",
    "proximity_alert_triggered", "boost_added", "chat_background_set", "checklist_tasks_done",
    "checklist_tasks_added", "community_chat_added", "community_chat_removed", "direct_message_price_changed",
    "forum_topic_created", "forum_topic_edited", "forum_topic_closed", "forum_topic_reopened",
    "general_forum_topic_hidden", "general_forum_topic_unhidden", "giveaway_created", "giveaway_completed",
    "managed_bot_created", "paid_message_price_changed", "poll_option_added", "poll_option_deleted",
    "suggested_post_approved", "suggested_post_approval_failed", "suggested_post_declined", "suggested_post_paid",
    "suggested_post_refunded", "video_chat_scheduled", "video_chat_started", "video_chat_ended",
    "video_chat_participants_invited",
})
# About the message, not its content: who, where, when, how it is shown.
METADATA_FIELDS = frozenset({
    "message_id", "message_thread_id", "direct_messages_topic", "from", "sender_chat", "sender_boost_count",
    "sender_business_bot", "sender_tag", "receiver_user", "ephemeral_message_id", "date", "guest_query_id",
    "business_connection_id", "chat", "forward_origin", "is_topic_message", "is_automatic_forward",
    "reply_to_message", "external_reply", "quote", "reply_to_story", "reply_to_checklist_task_id",
    "reply_to_poll_option_id", "via_bot", "guest_bot_caller_user", "guest_bot_caller_chat", "edit_date",
    "has_protected_content", "is_from_offline", "is_paid_post", "media_group_id", "author_signature",
    "paid_star_count", "entities", "link_preview_options", "suggested_post_info", "effect_id", "caption",
    "caption_entities", "show_caption_above_media", "has_media_spoiler", "reply_markup",
})
MEDIA: dict[str, tuple[str, str, dict[str, Any]]] = {  # field: (attachment kind, label, extras)
    "animation": ("video", "GIF", {}), "document": ("document", "File", {}), "audio": ("audio", "Audio", {}),
    "voice": ("audio", "Voice message", {"voice": True}), "video": ("video", "Video", {}),
    "video_note": ("video", "Video message", {"mime": "video/mp4"}),
}
# ISO 4217 currencies without two decimals (Telegram amounts are in the smallest unit); XTR is Telegram Stars.
CURRENCY_EXPONENT = {"XTR": 0, "JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "UGX": 0, "PYG": 0, "XAF": 0,
                     "XOF": 0, "RWF": 0, "KMF": 0, "GNF": 0, "DJF": 0, "BIF": 0, "BHD": 3, "KWD": 3, "OMR": 3,
                     "JOD": 3, "TND": 3, "IQD": 3, "LYD": 3}


class Ignored(Exception):
    """Raised by the classification: the message is not a customer speaking to us."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return storable(value) if isinstance(value, str) and value else None


def _timestamp(value: Any) -> float:
    ts = _int(value)
    return float(ts) if ts is not None and 0 < ts < 10**11 else clock.now().timestamp()


def _date(value: Any) -> str | None:
    ts = _int(value)
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d") if ts is not None and 0 < ts < 10**11 else None


def _name(person: dict[str, Any]) -> str | None:
    full = " ".join(p for p in (_str(person.get("first_name")), _str(person.get("last_name"))) if p)
    return full or _str(person.get("title")) or _str(person.get("username"))


def _who(person: dict[str, Any], id_field: str = "id") -> str:
    """A person or chat as an agent reads it: 'Ann Lee (@ann, id 222)'."""
    username, ident = _str(person.get("username")), _int(person.get(id_field))
    details = ", ".join(p for p in (f"@{username}" if username else None,
                                    f"id {ident}" if ident is not None else None) if p)
    name = " ".join(p for p in (_str(person.get("first_name")), _str(person.get("last_name"))) if p)
    name = name or _str(person.get("title")) or ""
    return f"{name} ({details})" if name and details else name or details or "unknown"


def _amount(total: Any, currency: Any) -> str:
    units, code = _int(total), (_str(currency) or "").upper()[:8]
    if units is None:
        return code
    if code == "XTR":
        return f"{units} Stars"
    exponent = CURRENCY_EXPONENT.get(code, 2)
    value = f"{units / 10**exponent:.{exponent}f}" if abs(units) < 10**18 else str(units)
    return f"{value} {code}".strip()


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else many or one + 's'}"


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


def _live_photo(obj: Any, still: Any = None) -> list[Attachment]:
    """A live photo: its still (an image agents see at once) and its motion (a short video)."""
    obj = _dict(obj)
    found = [_largest_photo(obj.get("photo")) or _largest_photo(still), _file(obj, "video", mime="video/mp4")]
    return [a for a in found if a]


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


# -- rich messages: a tree of blocks and rich texts, read as plain lines ---------------------------------------

def _rich_text(node: Any, depth: int = 0) -> str:
    """A RichText (a string, a list of them, or a styled object around one) as plain text."""
    if depth > 24:
        return ""
    if isinstance(node, str):
        return storable(node)
    if isinstance(node, list):
        return "".join(_rich_text(n, depth + 1) for n in node[:500])
    node = _dict(node)
    if node.get("type") == "custom_emoji":
        return _str(node.get("alternative_text")) or ""
    if node.get("type") == "mathematical_expression":
        return _str(node.get("expression")) or ""
    return _rich_text(node.get("text"), depth + 1)


def _rich_blocks(blocks: Any, lines: list[str], attachments: list[Attachment], depth: int = 0) -> None:
    if depth > 12:
        return
    for block in _list(blocks)[:500]:
        block = _dict(block)
        kind = block.get("type")
        if kind == "details":
            lines.append(_rich_text(block.get("summary")))
        if kind in ("paragraph", "heading", "pre", "footer", "pullquote"):
            lines.append(_rich_text(block.get("text")))
        elif kind == "mathematical_expression":
            lines.append(_str(block.get("expression")) or "")
        elif kind == "list":
            for item in _list(block.get("items"))[:500]:
                item = _dict(item)
                box = ("[x] " if item.get("is_checked") is True else "[ ] ") if item.get("has_checkbox") is True else ""
                inner: list[str] = []
                _rich_blocks(item.get("blocks"), inner, attachments, depth + 1)
                label = _str(item.get("label")) or "-"
                lines.append(f"{label} {box}" + " ".join(line for line in inner if line))
        elif kind == "table":
            for row in _list(block.get("cells"))[:200]:
                lines.append(" | ".join(_rich_text(_dict(cell).get("text")) for cell in _list(row)[:50]))
        elif kind == "map":
            point = _dict(block.get("location"))
            where = _location(point.get("latitude"), point.get("longitude"))
            if where:
                lines.append(f"Map: {where.latitude}, {where.longitude}")
        elif kind == "photo":
            attachments.extend(a for a in [_largest_photo(block.get("photo"))] if a)
        elif kind in ("video", "animation"):
            attachments.extend(a for a in [_file(block.get(kind), "video")] if a)
        elif kind == "audio":
            attachments.extend(a for a in [_file(block.get("audio"), "audio")] if a)
        elif kind == "voice_note":
            attachments.extend(a for a in [_file(block.get("voice_note"), "audio", voice=True)] if a)
        if kind in ("blockquote", "collage", "slideshow", "details"):
            _rich_blocks(block.get("blocks"), lines, attachments, depth + 1)
        caption = _dict(block.get("caption"))
        if kind != "table" and caption:
            lines.append(" ".join(t for t in (_rich_text(caption.get("text")), _rich_text(caption.get("credit"))) if t))
        elif kind == "table":
            lines.append(_rich_text(block.get("caption")))
        if kind in ("blockquote", "pullquote"):
            credit = _rich_text(block.get("credit"))
            lines.append(f"- {credit}" if credit else "")


# -- content ---------------------------------------------------------------------------------------------------

def _content(msg: dict[str, Any]) -> dict[str, Any]:
    """type/text/attachments/location/summary/payload of what a message holds. Raises Ignored for a message that
    is not someone saying something (a service message)."""
    caption = _str(msg.get("caption")) or ""
    for field in CONTENT_FIELDS:
        if field in msg:
            fields = _kind(field, msg.get(field), msg, caption)
            break
    else:
        if SERVICE_FIELDS.intersection(msg):
            raise Ignored("service_message")
        unknown = sorted(k for k in msg if isinstance(k, str) and k not in METADATA_FIELDS
                         and re.fullmatch(r"[a-z_]{1,40}", k))[:3]
        fields = {"type": "unsupported", "text": caption,
                  "summary": "A kind of Telegram message not shown here" + (f" ({', '.join(unknown)})" if unknown else "")}
    fields.setdefault("text", "")
    if not (fields["text"].strip() or fields.get("attachments") or fields.get("summary") or fields.get("location")):
        # A kind we read, but with nothing in it we could show (no file id, an empty text): say what it was.
        fields["summary"] = f"Telegram {fields['type'].replace('_', ' ')} message without content to show"
    return fields


def _kind(field: str, value: Any, msg: dict[str, Any], caption: str) -> dict[str, Any]:
    """One content field, read."""
    obj = _dict(value)
    if field == "text":
        return {"type": "text", "text": _str(value) or ""}  # entities (formatting, links) are not kept
    if field == "rich_message":
        lines: list[str] = []
        attachments: list[Attachment] = []
        _rich_blocks(obj.get("blocks"), lines, attachments)
        text = "\n".join(line for line in lines if line.strip())[:MAX_RICH_TEXT]
        return {"type": "text", "text": text, "attachments": attachments[:10]}
    if field == "live_photo":
        return {"type": "live_photo", "text": caption, "attachments": _live_photo(value, msg.get("photo")),
                "summary": "Live photo"}
    if field == "paid_media":
        attachments = []
        items = [_dict(i) for i in _list(obj.get("paid_media"))]
        for item in items[:10]:
            kind = item.get("type")
            if kind == "photo":
                attachments.extend(a for a in [_largest_photo(item.get("photo"))] if a)
            elif kind == "video":
                attachments.extend(a for a in [_file(item.get("video"), "video")] if a)
            elif kind == "live_photo":
                attachments.extend(_live_photo(item.get("live_photo")))
        stars = _int(obj.get("star_count"))
        summary = f"Paid media: {_plural(len(items), 'item')}" + (f" for {stars} Stars" if stars is not None else "")
        return {"type": "paid_media", "text": caption, "attachments": attachments,
                "summary": summary + ("" if attachments else " (a preview only)")}
    if field == "photo":
        photo = _largest_photo(value)
        return {"type": "image", "text": caption, "attachments": [photo] if photo else [],
                "summary": None if photo else "Photo (no file to download)"}
    if field in MEDIA:
        kind, label, extras = MEDIA[field]
        attachment = _file(value, kind, **extras)
        return {"type": field, "text": caption, "attachments": [attachment] if attachment else [],
                "summary": None if attachment else f"{label} (no file to download)"}
    if field == "sticker":
        attachment = _file(obj, "sticker", mime=_sticker_mime(obj))
        emoji = _str(obj.get("emoji")) or ""
        return {"type": "sticker", "text": emoji, "attachments": [attachment] if attachment else [],
                "summary": None if attachment else f"Sticker {emoji}".strip()}
    if field == "story":
        chat = _dict(obj.get("chat"))
        username, story_id = _str(chat.get("username")), _int(obj.get("id"))
        link = f" https://t.me/{username}/s/{story_id}" if username and story_id is not None else ""
        return {"type": "story", "text": caption, "summary": f"Story from {_who(chat)}{link}"}
    if field == "checklist":
        tasks = []
        for task in _list(obj.get("tasks"))[:100]:
            task = _dict(task)
            done = (_int(task.get("completion_date")) or 0) > 0 or bool(task.get("completed_by_user"))
            tasks.append(f"[{'x' if done else ' '}] {_str(task.get('text')) or ''}".rstrip())
        title = _str(obj.get("title")) or ""
        return {"type": "checklist", "text": "\n".join([title, *tasks]).strip(), "summary": "Checklist"}
    if field in ("venue", "location"):  # a venue message carries its location too
        venue = _dict(msg.get("venue"))
        point = _dict(venue.get("location")) or _dict(msg.get("location"))
        location = _location(point.get("latitude"), point.get("longitude"),
                             _str(venue.get("title")), _str(venue.get("address")))
        if location is None:
            return {"type": "unsupported", "text": "", "summary": "Location (no valid coordinates)"}
        live = "live_period" in point and not venue
        return {"type": "location", "location": location, "summary": "Live location" if live else None,
                "text": ", ".join(p for p in (location.name, location.address) if p)}
    if field == "contact":
        parts = (_str(obj.get("first_name")), _str(obj.get("last_name")), _str(obj.get("phone_number")))
        return {"type": "contact", "text": " ".join(p for p in parts if p), "summary": "Contact card"}
    if field == "poll":
        options = [_str(_dict(o).get("text")) for o in _list(obj.get("options"))[:100]]
        question = _str(obj.get("question")) or ""
        return {"type": "poll", "text": "\n".join([question] + [f"- {o}" for o in options if o]).strip(),
                "summary": None if question else "Poll"}
    if field == "dice":
        number = _int(obj.get("value"))
        return {"type": "dice",
                "text": " ".join(p for p in (_str(obj.get("emoji")), str(number) if number else None) if p)}
    if field == "game":
        about = " - ".join(p for p in (_str(obj.get("title")), _str(obj.get("description"))) if p)
        return {"type": "game", "text": caption, "summary": f"Game: {about}" if about else "Game"}
    if field == "invoice":
        title = _str(obj.get("title")) or "invoice"
        return {"type": "invoice", "text": caption,
                "summary": f"Invoice: {title}, {_amount(obj.get('total_amount'), obj.get('currency'))}".rstrip(", ")}
    if field == "giveaway":
        count = _int(obj.get("winner_count")) or 0
        prize = _str(obj.get("prize_description")) or (
            f"{obj['prize_star_count']} Stars" if _int(obj.get("prize_star_count")) else None) or (
            f"{obj['premium_subscription_month_count']} months of Premium"
            if _int(obj.get("premium_subscription_month_count")) else None)
        when = _date(obj.get("winners_selection_date"))
        return {"type": "giveaway", "text": caption,
                "summary": "Giveaway: " + ", ".join(p for p in (_plural(count, "winner"), prize,
                                                                  f"drawn {when}" if when else None) if p)}
    if field == "giveaway_winners":
        winners = [_who(_dict(w)) for w in _list(obj.get("winners"))[:5]]
        count = _int(obj.get("winner_count")) or len(winners)
        return {"type": "giveaway_winners", "text": caption,
                "summary": f"Giveaway results: {_plural(count, 'winner')}" + (f": {', '.join(winners)}" if winners else "")}
    if field == "users_shared":
        users = [_who(_dict(u), "user_id") for u in _list(obj.get("users"))[:20]]
        return {"type": "users_shared",
                "summary": (f"Shared {_plural(len(users), 'user')}: " + "; ".join(users)) if users else "Shared users"}
    if field == "chat_shared":
        return {"type": "chat_shared", "summary": f"Shared a chat: {_who(obj, 'chat_id')}"}
    if field == "web_app_data":
        data, button = _str(obj.get("data")) or "", _str(obj.get("button_text"))
        return {"type": "web_app_data", "text": data, "payload": data or None,
                "summary": f"Sent from the web app of the button \u201c{button}\u201d" if button else "Sent from a web app"}
    if field == "gift":
        gift = _dict(obj.get("gift"))
        gift_emoji, stars = _str(_dict(gift.get("sticker")).get("emoji")), _int(gift.get("star_count"))
        return {"type": "gift", "text": _str(obj.get("text")) or "",
                "summary": " ".join(filter(None, ["Gift", gift_emoji, f"({stars} Stars)" if stars is not None else None]))}
    if field == "unique_gift":
        gift = _dict(obj.get("gift"))
        name, number = _str(gift.get("base_name")) or _str(gift.get("name")), _int(gift.get("number"))
        return {"type": "gift", "summary": "Gift: " + (" ".join(p for p in (name, f"#{number}" if number else None) if p)
                                                       or "a unique gift")}
    # passport_data: encrypted for the bot's private key; we do not hold it, and keep none of it
    return {"type": "passport_data", "summary": "Telegram Passport data (encrypted: not shown here)"}


def _button_label(markup: Any, data: str | None) -> str | None:
    """The text of the inline button whose callback_data the user pressed (Telegram only sends the data)."""
    for row in _list(_dict(markup).get("inline_keyboard")):
        for button in _list(row):
            button = _dict(button)
            if data is not None and button.get("callback_data") == data:
                return _str(button.get("text"))
    return None


def _reaction_labels(reactions: Any) -> list[str]:
    labels = []
    for reaction in _list(reactions)[:20]:
        reaction = _dict(reaction)
        kind = reaction.get("type")
        if kind == "emoji":
            labels.append(_str(reaction.get("emoji")) or "?")
        elif kind == "custom_emoji":
            labels.append("[custom emoji]")
        elif kind == "paid":
            labels.append("\u2b50")
    return labels


# Rich replies: a bot uploads files of up to 50 MB (multipart). Photos go by sendPhoto up to 10 MB (a larger image
# as a document), voice notes (OGG) by sendVoice, MP3 and M4A by sendAudio, MP4 by sendVideo, anything else by
# sendDocument. The text rides as the first file's caption (up to 1024 characters), else goes first.
MEDIA_LIMITS = MediaLimits(rules=(
    MediaRule("image", frozenset({"image/jpeg", "image/png", "image/webp"}), 50 * MB),
    MediaRule("audio", ANY_TYPE, 50 * MB, prefix="audio/"),
    MediaRule("video", ANY_TYPE, 50 * MB, prefix="video/"),
    MediaRule("document", ANY_TYPE, 50 * MB),
))
PHOTO_MAX_BYTES = 10 * MB
CAPTION_CHARS = 1024
AUDIO_METHODS = {"audio/ogg": ("sendVoice", "voice"), "audio/mpeg": ("sendAudio", "audio"),
                 "audio/mp4": ("sendAudio", "audio"), "audio/x-m4a": ("sendAudio", "audio")}


def send_method(mime_type: str, kind: str, size: int) -> tuple[str, str]:
    """The Bot API method that sends a file of this type, and the name of its file field."""
    if kind == "image" and size <= PHOTO_MAX_BYTES:
        return "sendPhoto", "photo"
    if kind == "audio" and mime_type in AUDIO_METHODS:
        return AUDIO_METHODS[mime_type]
    if kind == "video" and mime_type == "video/mp4":
        return "sendVideo", "video"
    return "sendDocument", "document"


class TelegramChannel(Channel):
    name = "telegram"
    max_text_chars = MAX_TEXT
    reply_window_seconds = None  # no window, but a bot can only write to users who started it
    media_limits = MEDIA_LIMITS

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
        update = http_input.load_json(request.body, strict=False)  # not JSON, or past json's own depth: a 400
        if not isinstance(update, dict):
            raise MalformedPayload("body is not a JSON object")
        update_id = _int(update.get("update_id"))
        if update_id is None:
            raise MalformedPayload("no update_id")
        kind = next((k for k in UPDATE_TYPES if k in update), None)  # an Update holds one of them
        if kind is None:
            return [self._ignored("unknown_update")]
        if kind in IGNORED_UPDATES:
            return [self._ignored(IGNORED_UPDATES[kind])]
        raw = update[kind]
        if kind in MESSAGE_UPDATES or kind in EDIT_UPDATES:
            return [self._message(raw, update_id, edited=kind in EDIT_UPDATES, business=kind.endswith("business_message"))]
        if kind == "deleted_business_messages":
            return list(self._deleted(raw))
        if kind == "message_reaction":
            return [self._reaction(raw, update_id)]
        if kind == "callback_query":
            return [self._callback(raw)]
        return [self._member(raw, update_id)]

    @staticmethod
    def _ignored(reason: str) -> IgnoredEvent:
        return IgnoredEvent(channel="telegram", reason=reason)

    def _message(self, raw: Any, update_id: int, *, edited: bool, business: bool) -> InboundMessage | IgnoredEvent:
        if not isinstance(raw, dict):
            raise MalformedPayload("message is not an object")
        message_id, chat = _int(raw.get("message_id")), _dict(raw.get("chat"))
        chat_id = _int(chat.get("id"))
        if message_id is None or chat_id is None:
            raise MalformedPayload("message without message_id or chat.id")
        inbox, prefix = self._bot_id(), ""
        if business:
            connection = _str(raw.get("business_connection_id"))
            if not connection:
                raise MalformedPayload("business message without business_connection_id")
            inbox, prefix = f"{BUSINESS}{connection}", f"{BUSINESS}{connection}:"
        if raw.get("is_automatic_forward") is True:
            return self._ignored("automatic_forward")  # a channel's post, copied into its discussion group
        try:
            fields = _content(raw)
        except Ignored as ignored:
            return self._ignored(ignored.reason)
        if edited and fields["type"] == "location":
            # A live location moving (edits are how Telegram moves it): nobody said anything new.
            return self._ignored("live_location_update")
        sender = _dict(raw.get("from")) or _dict(raw.get("sender_chat"))
        sender_id = _int(sender.get("id"))
        # In a business account's private chat, chat.id is the customer: a message from anyone else (the owner, a
        # bot on their behalf, an away or greeting message) is the business's own, sent outside Switchboard.
        echo = business and chat.get("type") == "private" and (
            (sender_id is not None and sender_id != chat_id) or bool(raw.get("sender_business_bot")))
        if echo and str(_int(_dict(raw.get("sender_business_bot")).get("id"))) == self._bot_id():
            return self._ignored("own_message")  # sent by this bot: recorded when it was sent
        if echo and edited:
            # processing applies edits to inbound text; an echo's edit never seen would be kept as an inbound message
            return self._ignored("business_echo_edit")
        reply = _dict(raw.get("reply_to_message"))
        reply_id = _int(reply.get("message_id"))
        if reply_id is not None:
            fields["reply_to"] = f"{prefix}{_int(_dict(reply.get('chat')).get('id')) or chat_id}:{reply_id}"
        if edited:
            # An edit's time orders the edits; its update id tells a retry of this edit from the next edit.
            fields.update(timestamp=_timestamp(raw.get("edit_date", raw.get("date"))), event_id=f"update:{update_id}")
        else:
            fields["timestamp"] = _timestamp(raw.get("date"))
        if message_id == 0:  # an ephemeral message (seen by the bot alone): its id is only unique while it lives
            ephemeral = _int(raw.get("ephemeral_message_id"))
            local_id = f"ephemeral:{ephemeral if ephemeral is not None else f'u{update_id}'}:{_int(raw.get('date')) or 0}"
        else:
            local_id = str(message_id)
        if echo:
            fields.update(echo=True, echo_via="telegram_business")
        elif not edited and (payload := referrals.telegram_start(fields.get("text") or "")):
            # growth: a t.me/<bot>?start=<ref> deep link. The reference is the conversation's source, not text.
            fields.update(text="", summary="Started the chat from a link", referral=referrals.referral(payload))
        # Stable per message and the same for its edits, so that an edit finds the message it changes.
        return InboundMessage(
            channel="telegram", provider_message_id=f"{prefix}{chat_id}:{local_id}", inbox_id=inbox,
            sender_id=str(chat_id), identity=f"telegram:{chat_id if echo or sender_id is None else sender_id}",
            sender_name=None if echo else _name(sender), edited=edited,
            **{k: v for k, v in fields.items() if v is not None})

    def _deleted(self, raw: Any) -> list[InboundMessage]:
        """deleted_business_messages: each id unsent in a business account's chat (customer's or business's)."""
        event = _dict(raw)
        connection, chat_id = _str(event.get("business_connection_id")), _int(_dict(event.get("chat")).get("id"))
        if not connection or chat_id is None:
            raise MalformedPayload("deleted_business_messages without business_connection_id or chat.id")
        ids = dict.fromkeys(i for i in (_int(x) for x in _list(event.get("message_ids"))) if i is not None)
        now = clock.now().timestamp()  # Telegram sends no time for a deletion
        return [InboundMessage(channel="telegram", provider_message_id=f"{BUSINESS}{connection}:{chat_id}:{mid}",
                               inbox_id=f"{BUSINESS}{connection}", sender_id=str(chat_id),
                               identity=f"telegram:{chat_id}", deleted=True, timestamp=now) for mid in ids]

    def _reaction(self, raw: Any, update_id: int) -> InboundMessage | IgnoredEvent:
        """message_reaction: what one person's reactions on a message became. Stored as the other channels store
        reactions (a message of type reaction pointing at its target); a removal says what was removed."""
        change = _dict(raw)
        chat_id, message_id = _int(_dict(change.get("chat")).get("id")), _int(change.get("message_id"))
        if chat_id is None or message_id is None:
            raise MalformedPayload("message_reaction without chat.id or message_id")
        actor = _dict(change.get("user")) or _dict(change.get("actor_chat"))
        actor_id = _int(actor.get("id"))
        new, old = _reaction_labels(change.get("new_reaction")), _reaction_labels(change.get("old_reaction"))
        added, removed = [r for r in new if r not in old], [r for r in old if r not in new]
        if not added and not removed:
            return self._ignored("reaction_unchanged")
        fields: dict[str, Any] = (
            {"reaction": " ".join(added), "text": " ".join(added)} if added
            else {"reaction": "", "summary": f"Removed the reaction {' '.join(removed)}"})
        who = chat_id if actor_id is None else actor_id
        return InboundMessage(
            channel="telegram", provider_message_id=f"reaction:{chat_id}:{message_id}:{who}:{update_id}",
            inbox_id=self._bot_id(), sender_id=str(chat_id), identity=f"telegram:{who}", sender_name=_name(actor),
            type="reaction", reply_to=f"{chat_id}:{message_id}", timestamp=_timestamp(change.get("date")), **fields)

    def _callback(self, raw: Any) -> InboundMessage:
        query = _dict(raw)
        query_id, user = _str(query.get("id")), _dict(query.get("from"))
        user_id = _int(user.get("id"))
        if not query_id or user_id is None:
            raise MalformedPayload("callback_query without id or from.id")
        msg = _dict(query.get("message"))  # the bot's message whose button was pressed (absent for inline mode)
        chat_id = _int(_dict(msg.get("chat")).get("id"))
        chat_id = user_id if chat_id is None else chat_id
        data, game = _str(query.get("data")), _str(query.get("game_short_name"))
        message_id = _int(msg.get("message_id"))
        label = _button_label(msg.get("reply_markup"), data) or data or ""
        summary = None if label.strip() else (f"Pressed the button to play {game}" if game else "Pressed a button")
        return InboundMessage(channel="telegram", provider_message_id=f"callback:{query_id}", inbox_id=self._bot_id(),
                              sender_id=str(chat_id), identity=f"telegram:{user_id}", sender_name=_name(user),
                              type="postback", text=label, payload=data or (f"game:{game}" if game else None),
                              summary=summary, reply_to=f"{chat_id}:{message_id}" if message_id is not None else None,
                              timestamp=clock.now().timestamp())  # Telegram sends no time for a button press

    def _member(self, raw: Any, update_id: int) -> ContactEvent | IgnoredEvent:
        change = _dict(raw)
        chat, user = _dict(change.get("chat")), _dict(change.get("from"))
        chat_id, user_id = _int(chat.get("id")), _int(user.get("id"))
        if chat_id is None or user_id is None:
            raise MalformedPayload("my_chat_member without chat.id or from.id")
        if chat.get("type") != "private":
            return self._ignored("chat_member_update")  # the bot added to or removed from a group
        new = _dict(change.get("new_chat_member")).get("status")
        old = _dict(change.get("old_chat_member")).get("status")
        if new == "kicked":
            event = "blocked"
        elif new == "member" and old == "kicked":
            event = "unblocked"
        else:
            return self._ignored("chat_member_update")
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
        """The bot token, checked to be one: it goes into URL paths as it is (it has nothing to escape)."""
        token = secrets.get("telegram_bot_token")
        if not BOT_TOKEN.fullmatch(token or ""):
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
        if request.files:
            return self._send_file(request)
        if not request.text.strip():
            raise PermanentSendError("empty text: Telegram needs 1 to 4096 characters")
        self.check_text(request.text)
        token = self._send_token()
        body: dict[str, Any] = {"chat_id": _chat_id(request.recipient), "text": request.text}
        connection, quoted = _business_connection(request), _reply_parameters(request)
        if connection is not None:
            body["business_connection_id"] = connection
        if quoted:
            body["reply_parameters"] = quoted
        if request.choices:  # rich replies: an inline keyboard; a press comes back as a callback_query (its data)
            body["reply_markup"] = inline_keyboard(request.choices)
        return self._post_send(token, "sendMessage", request, "send", json=body)

    def _send_token(self) -> str:
        """The bot token, for a send: without a valid one no send can succeed (permanent, not retried)."""
        try:
            return self._token()
        except ServiceUnavailable:
            raise PermanentSendError("no valid Telegram bot token configured") from None

    def _post_send(self, token: str, method: str, request: SendRequest, what: str, **payload: Any) -> SendResult:
        """POST a Bot API send method (sendMessage, sendPhoto, ...) with `payload` (json=, or data= and files=): the
        sent message as "<chat id>:<message id>", prefixed with a connected business account's inbox. `what` names
        the send when Telegram answers ok without a message id."""
        response = self._call("POST", f"{get_settings().telegram_api_base_url}/bot{token}/{method}", **payload)
        answer = _answer(response)
        if response.status_code < 400 and answer.get("ok") is True:
            result = _dict(answer.get("result"))
            message_id = _int(result.get("message_id"))
            chat_id = _int(_dict(result.get("chat")).get("id"))
            if message_id is not None:
                prefix = f"{request.inbox_id}:" if _business_connection(request) is not None else ""
                chat = request.recipient if chat_id is None else chat_id
                return SendResult(provider_message_id=f"{prefix}{chat}:{message_id}")
            # Telegram said ok: sending it again could deliver it twice, so the outcome is reported instead.
            raise PermanentSendError(f"Telegram accepted the {what} without a message id: delivery unknown; "
                                     "check the conversation before sending again", outcome_unknown=True)
        raise _send_error(response, answer)

    # -- indicators (issue 15): the bot (or the connected business) is typing ---------------------------
    indicators = frozenset({"typing"})  # the Bot API has no read receipts

    def indicate(self, inbox_id: str, recipient: str, kind: Indicator, provider_message_id: str | None) -> None:
        """sendChatAction `{"chat_id", "action": "typing"}`, through the business connection where the chat is a
        connected business account's (as its sends go): shown for up to 5 s, or until our message arrives."""
        if kind != "typing":
            return
        body: dict[str, Any] = {"chat_id": _chat_id(recipient), "action": "typing"}
        connection = _connection_of(inbox_id)
        if connection is not None:
            body["business_connection_id"] = connection
        url = f"{get_settings().telegram_api_base_url}/bot{self._send_token()}/sendChatAction"
        response = self._call("POST", url, json=body, retries=False, timeout=INDICATOR_TIMEOUT_SECONDS)
        answer = _answer(response)
        if response.status_code >= 400 or answer.get("ok") is not True:
            raise _send_error(response, answer)

    # -- files (rich replies) ---------------------------------------------------------------
    def send_parts(self, request: SendRequest) -> list[SendRequest]:
        return one_file_per_part(request, CAPTION_CHARS) if request.files else [request]

    def _send_file(self, request: SendRequest) -> SendResult:
        """sendPhoto, sendVoice, sendAudio, sendVideo or sendDocument, the file uploaded as multipart/form-data."""
        (file,) = request.files
        token = self._send_token()
        method, field = send_method(file.mime_type, file.kind, file.size)
        form: dict[str, Any] = {"chat_id": request.recipient}
        connection, quoted = _business_connection(request), _reply_parameters(request)
        if connection is not None:
            form["business_connection_id"] = connection
        if request.text:
            form["caption"] = request.text
        if quoted:  # a form field: JSON, as the Bot API takes objects in multipart requests
            form["reply_parameters"] = json.dumps(quoted)
        upload = {field: (files.safe_filename(file.filename or field), files.read(file), file.mime_type)}
        return self._post_send(token, method, request, "file", data=form, files=upload)

    def fetch_media(self, attachment: Attachment) -> MediaContent:
        """getFile, then the file: through http.download, from Telegram's host (or the configured API) only."""
        import requests

        if not attachment.provider_media_id:
            raise MediaError("no Telegram file id")
        settings = get_settings()
        limit = settings.media_max_bytes
        try:
            token = self._token()
            # A GET: it changes nothing (and the local sandbox records only writes as sent messages). The file id
            # goes in the query, encoded by requests.
            meta = self._call("GET", f"{settings.telegram_api_base_url}/bot{token}/getFile",
                              params={"file_id": attachment.provider_media_id})
        except (RetryableSendError, PermanentSendError, ServiceUnavailable, requests.RequestException, ValueError,
                TypeError) as exc:
            # from None: a requests exception names the URL, which holds the bot token.
            raise MediaError(f"media fetch failed: {type(exc).__name__}") from None
        if meta.status_code >= 400:
            raise MediaError(f"getFile answered {meta.status_code}")
        info = _dict(_answer(meta).get("result"))
        path = _file_path(info.get("file_path"))
        if (_int(info.get("file_size")) or 0) > limit:
            raise MediaError("media larger than the configured limit")
        result = http.download(f"{settings.telegram_api_base_url}/file/bot{token}/{path}",
                               allowed_hosts=http.TELEGRAM_HOSTS, max_bytes=limit,
                               api_base_url=settings.telegram_api_base_url)
        served = result.content_type if result.content_type != "application/octet-stream" else None
        mime = attachment.mime_type or served or mimetypes.guess_type(path)[0]
        return MediaContent(data=result.data, mime_type=mime, sha256=hashlib.sha256(result.data).hexdigest())

    def answer_callback_query(self, callback_query_id: str, text: str | None = None) -> None:
        """Stop a pressed button's spinner, when the webhook's own reply did not (see acknowledge)."""
        body: dict[str, Any] = {"callback_query_id": callback_query_id}
        if text:
            body["text"] = text[:200]
        response = self._call("POST", f"{get_settings().telegram_api_base_url}/bot{self._token()}/answerCallbackQuery",
                              json=body)
        if response.status_code >= 400:
            raise _send_error(response, _answer(response))


def _file_path(value: Any) -> str:
    """getFile's file_path ("photos/file_7.jpg"), escaped segment by segment for the download URL; refused if it
    could climb out of the bot's file directory."""
    path = _str(value)
    if not path:
        raise MediaError("getFile returned no file_path")
    segments = path.split("/")
    if len(path) > 1024 or "\\" in path or any(seg in ("", ".", "..") for seg in segments):
        raise MediaError("getFile returned an unusable file_path")
    return "/".join(quote(seg, safe="") for seg in segments)


def _business_connection(request: SendRequest) -> str | None:
    """A connected business account's chat (inbox business:<connection id>) is sent to as the business, through
    its connection: the connection id; None for the bot's own chats."""
    return _connection_of(request.inbox_id)


def _connection_of(inbox_id: str) -> str | None:
    return inbox_id[len(BUSINESS):] if inbox_id.startswith(BUSINESS) else None


def _chat_id(recipient: str) -> int | str:
    """The Bot API's chat_id: a numeric chat as the integer it is, a @channelusername as it is."""
    return int(recipient) if CHAT_ID.fullmatch(recipient) else recipient


def _reply_parameters(request: SendRequest) -> dict[str, Any] | None:
    """The message a reply quotes (reply_to "<chat id>:<message id>") as the Bot API's reply_parameters; None when
    it names none. The quoted message may have been deleted since: sent anyway, unquoted."""
    reply_id = (request.reply_to or "").rpartition(":")[2]
    if CHAT_ID.fullmatch(reply_id) and not reply_id.startswith("-"):
        return {"message_id": int(reply_id), "allow_sending_without_reply": True}
    return None


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


# -- rich replies (issue 13): choices as an inline keyboard ------------------------------------------------------------
CALLBACK_DATA_BYTES = 64


def inline_keyboard(choices: list[dict[str, Any]]) -> dict[str, Any]:
    """Short choices (a rating's digits) side by side on one row, longer ones one per row."""
    buttons = [{"text": str(c["title"])[:64], "callback_data": str(c["id"]).encode()[:CALLBACK_DATA_BYTES].decode(
        errors="ignore")} for c in choices[:20]]
    if all(len(b["text"]) <= 4 for b in buttons) and len(buttons) <= 8:
        return {"inline_keyboard": [buttons]}
    return {"inline_keyboard": [[b] for b in buttons]}


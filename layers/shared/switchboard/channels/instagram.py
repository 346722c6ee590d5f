"""Instagram Messaging: Messenger's event shape under object "instagram", plus stories, hearts and handles; 1000-byte
texts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from switchboard import clock
from switchboard.channels import files
from switchboard.channels.base import MB, MediaLimits, MediaRule
from switchboard.channels.fields import as_dict as _dict
from switchboard.channels.messenger import Event, MessengerChannel, Part, _seconds, _short, _str
from switchboard.errors import PermanentSendError
from switchboard.models import Attachment, InboundMessage, Story
from switchboard.settings import get_settings

# Rich replies (Instagram's send API): images PNG or JPEG up to 8 MB; video, audio and PDF files up to 25 MB.
MEDIA_LIMITS = MediaLimits(rules=(
    MediaRule("image", frozenset({"image/jpeg", "image/png"}), 8 * MB),
    MediaRule("video", frozenset({"video/mp4", "video/ogg", "video/x-msvideo", "video/quicktime", "video/webm"}),
              25 * MB),
    MediaRule("audio", frozenset({"audio/aac", "audio/mp4", "audio/x-m4a", "audio/wav", "audio/x-wav"}), 25 * MB),
    MediaRule("document", frozenset({"application/pdf"}), 25 * MB),
))


STORY_TYPES = frozenset({"story_mention", "story_reply"})
STORY_LINK_SECONDS = 24 * 3600  # Instagram's links to a story's media last a day at most


class InstagramChannel(MessengerChannel):
    name = "instagram"
    object_type = "instagram"
    max_text_chars = None
    max_text_bytes = 1000  # UTF-8 bytes, not characters
    token_name = "instagram_access_token"
    # Dashboard test webhooks (and some Instagram Login subscriptions) wrap one messaging event per change.
    change_fields = frozenset({"messages", "messaging_postbacks", "message_reactions", "messaging_seen", "message_edit",
                               "messaging_referral", "messaging_optins", "messaging_handover", "standby"})
    inbox_name = "instagram_inbox"
    profile_fields = "name,username"
    media_limits = MEDIA_LIMITS

    def _attachment(self, item: dict[str, Any]) -> Part:
        kind = _str(item.get("type")) or ""
        payload = _dict(item.get("payload"))
        url = self._media_url(_str(payload.get("url")))
        if kind == "story_mention":  # the story may be an image or a video: the download's Content-Type tells
            return Part(kind, Attachment(kind="file", url=url) if url else None, "Mentioned you in their story")
        if kind == "ig_story":  # someone's story, shared into the chat
            return Part(kind, Attachment(kind="file", url=url) if url else None,
                        _str(payload.get("title")) or "[shared story]")
        if kind == "like_heart":  # the heart Instagram sends with one tap: a message of its own, not a reaction
            return Part(kind, summary="Sent a heart \u2764\ufe0f")
        return super()._attachment(item)

    def _reply_extras(self, reply: dict[str, Any], fields: dict[str, Any], labels: list[str]) -> None:
        story = _dict(reply.get("story"))
        if not story:
            return
        fields["type"] = "story_reply"  # the text is the customer's answer; the story itself rides as an attachment
        url = self._media_url(_str(story.get("url")))
        if url:
            fields["attachments"].append(Attachment(kind="file", url=url))
        labels.append("Replied to your story")

    # -- stories (issue 17): which attachment is the story, and when Instagram's link to it expires -------------
    def _parse_message(self, raw: dict[str, Any], body: dict[str, Any], inbox_id: str,
                       sender: str) -> InboundMessage | None:
        message = super()._parse_message(raw, body, inbox_id, sender)
        if message is None or message.type not in STORY_TYPES:
            return message
        kind = "reply" if message.type == "story_reply" else "mention"
        if kind == "reply":
            url = self._media_url(_str(_dict(_dict(body.get("reply_to")).get("story")).get("url")))
        else:
            url = next((a.url for a in message.attachments if a.url), None)
        expires = clock.iso(clock.from_epoch(message.timestamp) + timedelta(seconds=STORY_LINK_SECONDS))
        return message.model_copy(update={"story": Story(kind=kind, source_url=url, expires_at=expires)})

    def _receipts(self, status: str, raw: dict[str, Any], body: dict[str, Any], inbox_id: str,
                  sender: str) -> list[Event]:
        # Instagram names the last message seen, never a watermark, and sends no delivery receipts: without
        # one, our earlier messages would stay "sent" forever. What was sent before the customer looked is read.
        if status == "read" and body.get("watermark") is None and _seconds(raw.get("timestamp")):
            body = {**body, "watermark": raw["timestamp"]}
        return super()._receipts(status, raw, body, inbox_id, sender)

    def _api_base_url(self) -> str:
        return get_settings().instagram_api_base_url

    def _check_text(self, text: str) -> None:
        if not text:
            raise PermanentSendError("instagram cannot send an empty message")
        self.check_text(text)

    def _attachment_payload(self, page: str, kind: str, file: Any) -> dict[str, Any]:
        """Instagram takes media by URL: a short-lived presigned link it fetches."""
        return {"url": files.link(file)}

    def _profile_name(self, profile: dict[str, Any]) -> str | None:
        """`GET /{IGSID}?fields=name,username`: the name the customer gave, else their handle."""
        handle = _short(profile.get("username"), 60)
        return _short(profile.get("name")) or (f"@{handle.lstrip('@')}" if handle else None)

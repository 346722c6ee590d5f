"""Instagram stories (issue 17): a story mention or reply carries `story` (which attachment is the story, and when
Instagram's link expires: a day after the message)."""

from __future__ import annotations

from switchboard.api.schemas import MessageOut
from switchboard.models import Attachment, Message
from tests.unit.channels.test_instagram import STORY_URL, event, only


def test_a_story_mention_names_its_attachment_and_its_expiry():
    message = only(event(message={"mid": "aWdf1", "attachments": [{"type": "story_mention",
                                                                   "payload": {"url": STORY_URL}}]}))
    assert message.story is not None
    assert (message.story.kind, message.story.source_url) == ("mention", STORY_URL)
    assert message.story.expires_at.startswith("2025-10-10T08:53:20")  # TS (ms) + 24 h, UTC


def test_a_story_reply_names_the_story_it_answers():
    message = only(event(message={"mid": "aWdf2", "text": "love this!",
                                  "reply_to": {"story": {"url": STORY_URL, "id": "17900000000000001"}}}))
    assert message.story is not None and (message.story.kind, message.story.source_url) == ("reply", STORY_URL)
    without_media = only(event(message={"mid": "aWdf3", "reply_to": {"story": {"id": "17900000000000001"}}}))
    assert without_media.story is not None and without_media.story.source_url is None


def test_other_messages_carry_no_story():
    assert only(event(message={"mid": "aWdf4", "text": "hi"})).story is None


def test_the_api_shows_our_copy_of_the_story():
    message = only(event(message={"mid": "aWdf5", "text": "so nice", "reply_to": {"story": {"url": STORY_URL}}}))
    stored = Message(id="m_1", conversation_id="c_1", direction="inbound", channel="instagram", type=message.type,
                     text=message.text, created_at="2025-10-09T08:53:20.123Z", status="received", story=message.story,
                     attachments=[Attachment(kind="image", url=STORY_URL, s3_key="media/c_1/m_1/0", status="stored",
                                             mime_type="image/jpeg")])
    out = MessageOut.of(stored, link=lambda a: f"https://bucket.example/{a.s3_key}?sig")
    assert out.story is not None
    assert (out.story.kind, out.story.url) == ("reply", "https://bucket.example/media/c_1/m_1/0?sig")
    assert out.story.expires_at == message.story.expires_at  # type: ignore[union-attr]
    pending = MessageOut.of(stored.model_copy(update={"attachments": [Attachment(kind="file", url=STORY_URL)]}))
    assert pending.story is not None and pending.story.url is None  # not copied yet: no link

"""Instagram stories (issue 17) through the webhook and the processor on moto: the story's media is copied into our
bucket when the event arrives, and the message's `story` links to that copy."""

from __future__ import annotations

import uuid

from tests.integration.test_meta_messaging import PAGE, conversation_of, from_customer, now_ms, post
from tests.integration.test_whatsapp_flow import messages


def test_a_story_reply_shows_the_story_image_copied_into_our_bucket(stack):
    igsid, media = f"IGSID{uuid.uuid4().hex[:8]}", f"STORY{uuid.uuid4().hex[:8]}"
    story_url = f"{stack.sandbox.base_url}/_sandbox/instagram/media/{media}"
    post(stack, "instagram", {"id": PAGE, "time": now_ms(), "messaging": [from_customer(
        igsid, message={"mid": f"ig_story_{media}", "text": "Is this jacket still available?",
                        "reply_to": {"story": {"url": story_url, "id": "17900000000000001"}}})]})
    conv = conversation_of(stack, igsid)
    assert conv
    (msg,) = messages(stack, conv["id"])
    assert (msg["type"], msg["text"]) == ("story_reply", "Is this jacket still available?")
    (attachment,) = msg["attachments"]
    assert attachment["status"] == "stored" and attachment["mime_type"] == "image/png"
    story = msg["story"]
    assert story["kind"] == "reply" and story["url"] == attachment["url"] and "X-Amz-Signature" in story["url"]
    assert story["expires_at"] > msg["created_at"]
    # The copy is ours: the bytes are in the media bucket, whatever becomes of Instagram's link
    bucket = stack.resolver.refs["MediaBucket"]
    keys = [o["Key"] for o in stack.clients["s3"].list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert any(stack.clients["s3"].get_object(Bucket=bucket, Key=k)["Body"].read()[:8] == b"\x89PNG\r\n\x1a\n"
               for k in keys)

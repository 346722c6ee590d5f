"""Instagram stories in a real browser (issue 17): a story reply shows the story's image (our copy) and says what
it answers. Screenshots in screenshots/."""

from __future__ import annotations

import time
import uuid

from tests.browser.test_frontend import expect, shot, sign_in


def test_an_instagram_story_reply_shows_the_story_image(page, local_stack):
    s, tag = local_stack, uuid.uuid4().hex[:8]
    igsid, page_id = f"IGSID{tag}", "17841400000000001"
    now = int(time.time() * 1000)
    story_url = f"{s.base}/_sandbox/instagram/media/STORY{tag}"
    payload = {"object": "instagram", "entry": [{"id": page_id, "time": now, "messaging": [{
        "sender": {"id": igsid}, "recipient": {"id": page_id}, "timestamp": now,
        "message": {"mid": f"ig_story_{tag}", "text": "Is this jacket still available in blue?",
                    "reply_to": {"story": {"url": story_url, "id": "17900000000000001"}}}}]}]}
    assert s.post_meta("instagram", payload).status == 200

    def landed():
        for conv in s.conversations(channel="instagram", limit="100"):
            for m in s.messages(conv["id"]):
                if m["text"].startswith("Is this jacket") and m.get("story") and m["story"].get("url"):
                    return conv
        return None

    conv = s.wait_for(landed, 30)
    assert conv, "the story reply did not land with its copied image"
    sign_in(page)
    page.goto(f"/#/c/{conv['id']}")
    message = page.get_by_test_id("message").filter(has_text="Is this jacket")
    expect(message.get_by_test_id("message-story")).to_contain_text("Reply to your story")
    image = message.locator("img")
    expect(image).to_be_visible()
    assert page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    message.evaluate("(el) => el.scrollIntoView({block: 'start'})")
    shot(page, "social-01-story-reply")

"""Voicemail in a real browser (issue 17): the call's recording plays in the conversation with its transcript, the
reply box gives way to "Text the caller" and "Mark called back". Screenshots in screenshots/."""

from __future__ import annotations

from tests.browser.test_frontend import expect, shot, sign_in
from tests.e2e.test_voicemail_e2e import caller, script, sms_contact, voice_message


def test_a_voicemail_plays_with_its_transcript_and_is_marked_called_back(page, local_stack):
    s, sender = local_stack, caller()
    contact_id = sms_contact(s, sender)
    assert script(s, "--from", sender).returncode == 0
    found = voice_message(s, contact_id, "audio")
    assert found
    conv, _ = found
    sign_in(page)
    page.goto(f"/#/c/{conv['id']}")
    message = page.get_by_test_id("message").filter(has=page.get_by_test_id("message-transcript"))
    expect(message.get_by_test_id("attachment-player")).to_be_visible()
    expect(message.get_by_test_id("message-transcript")).to_contain_text("blue jacket")
    expect(message.get_by_test_id("message-summary")).to_contain_text("Voicemail")
    # The recording is a real file the browser can play: its duration is known once its metadata loads
    duration = page.wait_for_function(
        "() => { const a = document.querySelector('[data-testid=\"attachment-player\"]');"
        " return a && a.readyState >= 1 && a.duration > 0 ? a.duration : null; }", timeout=10_000).json_value()
    assert duration > 1
    notice = page.get_by_test_id("reply-window")
    expect(notice).to_contain_text("cannot be answered by voice")
    expect(page.get_by_test_id("voice-text-back")).to_be_visible()
    expect(page.get_by_test_id("reply-input")).to_be_disabled()
    shot(page, "voice-01-voicemail")
    page.get_by_test_id("voice-called-back").click()
    expect(page.get_by_test_id("message").filter(has_text="Called back by agent@example.com")).to_be_visible()
    assert s.wait_for(lambda: s.api("GET", f"/api/conversations/{conv['id']}").json()["status"] == "resolved", 10)
    shot(page, "voice-02-called-back")

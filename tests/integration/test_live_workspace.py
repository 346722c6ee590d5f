"""The live workspace (issue 15) on moto: no double replies (`after`), notifications."""

from __future__ import annotations

from tests.integration.test_agent_api import api, conversation_from
from tests.integration.test_whatsapp_flow import messages, post, wa_message, wa_payload


def _newest(stack, conv_id: str) -> str:
    return messages(stack, conv_id)[-1]["id"]


def test_a_reply_after_the_newest_message_goes_and_a_crossed_one_is_refused(stack):
    conv = conversation_from(stack, "15550001501", "w.live.1", "hello")
    seen = _newest(stack, conv["id"])
    # the customer writes again before the agent answers
    post(stack, wa_payload(wa_message("w.live.2", sender="15550001501", text="are you there?"), sender="15550001501"))
    stack.drain("ProcessorFunction")
    r = api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"text": "Hi!", "after": seen})
    assert r.status == 409 and r.json()["error"]["code"] == "conversation_changed", r
    assert not [m for m in messages(stack, conv["id"]) if m["direction"] == "outbound"]  # nothing stored or queued
    assert stack.drain("SenderFunction") == 0
    # having read it, the same draft goes
    r = api(stack, "POST", f"/api/conversations/{conv['id']}/messages",
            {"text": "Hi!", "after": _newest(stack, conv["id"])})
    assert r.status == 202, r


def test_a_colleagues_reply_crosses_but_my_own_and_notes_do_not(stack):
    conv = conversation_from(stack, "15550001502", "w.live.3", "hello")
    seen = _newest(stack, conv["id"])
    # my own reply (from another tab) and a colleague's note do not stop me
    assert api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"text": "one", "after": seen}).status == 202
    assert api(stack, "POST", f"/api/conversations/{conv['id']}/notes", {"text": "fyi"}, role="admin").status == 201
    assert api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"text": "two", "after": seen}).status == 202
    # a colleague answers: my reply would cross theirs
    assert api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"text": "me too"}, role="admin").status \
        == 202
    r = api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"text": "three", "after": seen})
    assert r.status == 409 and r.json()["error"]["code"] == "conversation_changed"
    assert [m["text"] for m in messages(stack, conv["id"]) if m["direction"] == "outbound" and m["type"] != "note"] \
        == ["one", "two", "me too"]


def test_after_must_name_a_message_of_the_conversation(stack):
    conv = conversation_from(stack, "15550001503", "w.live.4", "hello")
    r = api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"text": "x", "after": "m_nope"})
    assert r.status == 400 and r.json()["error"]["code"] == "unknown_message"
    assert api(stack, "POST", "/api/conversations/cv_missing/messages", {"text": "x", "after": "m_nope"}).status \
        == 404
    assert api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"text": "x", "after": ""}).status == 422

"""Reply windows on Messenger and Instagram: 24 hours for everything; with META_HUMAN_AGENT_TAG, an agent (never
automation) may answer for 7 days, and such a reply goes out with Meta's HUMAN_AGENT tag."""

from __future__ import annotations

import json

import pytest

from switchboard import clock
from tests.integration.test_whatsapp_flow import SECRET, messages
from tests.support.signing import meta_signature

PAGE = "PAGE9"


def customer_writes(stack, channel: str, mid: str, psid: str = "PSID9") -> dict:
    now = clock.epoch() * 1000
    payload = {"object": "page" if channel == "messenger" else "instagram", "entry": [{
        "id": PAGE, "time": now, "messaging": [{"sender": {"id": psid}, "recipient": {"id": PAGE}, "timestamp": now,
                                                 "message": {"mid": mid, "text": f"text of {mid}"}}]}]}
    raw = json.dumps(payload).encode()
    signature = meta_signature(raw, SECRET)
    answer = stack.http("POST", f"/webhooks/{channel}", raw,
                        {"Content-Type": "application/json", "X-Hub-Signature-256": signature})
    assert answer.status == 200, answer
    stack.drain("ProcessorFunction")
    (conv,) = stack.http("GET", "/api/conversations", role="agent", query=f"channel={channel}").json()["items"]
    return conv


def reply(stack, conv_id: str, text: str):
    answer = stack.http("POST", f"/api/conversations/{conv_id}/messages", {"text": text}, role="agent")
    stack.drain("SenderFunction")
    return answer


def sent(stack, channel: str) -> list[dict]:
    return [i["body"] for i in stack.sandbox.outbox if i["channel"] == channel]


def human_agent_tag(stack, settings_env, enabled: bool) -> None:
    from switchboard import settings

    settings_env(META_HUMAN_AGENT_TAG="true" if enabled else "false")
    settings.get_settings.cache_clear()


@pytest.mark.parametrize("channel", ["messenger", "instagram"])
def test_without_the_tag_the_window_closes_after_24_hours(stack, settings_env, channel):
    human_agent_tag(stack, settings_env, False)
    conv = customer_writes(stack, channel, f"mid.{channel}.1")
    assert reply(stack, conv["id"], "within the day").status == 202
    assert sent(stack, channel)[-1]["messaging_type"] == "RESPONSE" and "tag" not in sent(stack, channel)[-1]
    clock.advance(25 * 3600)
    detail = stack.http("GET", f"/api/conversations/{conv['id']}", role="agent").json()
    assert detail["reply_window_open"] is False
    late = reply(stack, conv["id"], "too late")
    assert late.status == 409 and late.json()["error"]["code"] == "reply_window_closed"


@pytest.mark.parametrize("channel", ["messenger", "instagram"])
def test_with_the_tag_an_agent_answers_for_7_days_tagged_past_the_first_24_hours(stack, settings_env, channel):
    human_agent_tag(stack, settings_env, True)
    conv = customer_writes(stack, channel, f"mid.{channel}.2")
    detail = stack.http("GET", f"/api/conversations/{conv['id']}", role="agent").json()
    closes = clock.parse_iso(detail["reply_window_closes_at"]).timestamp()
    assert abs(closes - (clock.epoch() + 7 * 86400)) < 5
    assert reply(stack, conv["id"], "same day").status == 202
    assert sent(stack, channel)[-1]["messaging_type"] == "RESPONSE"
    clock.advance(3 * 86400)
    assert reply(stack, conv["id"], "three days on").status == 202
    body = sent(stack, channel)[-1]
    assert body["messaging_type"] == "MESSAGE_TAG" and body["tag"] == "HUMAN_AGENT"
    assert body["message"] == {"text": "three days on"}
    assert [m["status"] for m in messages(stack, conv["id"]) if m["direction"] == "outbound"] == ["sent", "sent"]
    clock.advance(4 * 86400 + 60)
    late = reply(stack, conv["id"], "eight days on")
    assert late.status == 409 and late.json()["error"]["code"] == "reply_window_closed"


def test_automated_replies_keep_the_24_hour_window_even_with_the_tag(stack, settings_env):
    from switchboard.services import automation
    from switchboard.store import conversations
    from switchboard.store.table import Table

    human_agent_tag(stack, settings_env, True)
    conv = customer_writes(stack, "messenger", "mid.auto.1")
    clock.advance(2 * 86400)
    table = Table()
    assert automation.send_automated(table, conversations.require(table, conv["id"]), "Still there?", "auto_reply") is None
    stack.drain("SenderFunction")
    assert sent(stack, "messenger") == []


def whatsapp_template(settings_env, value: str) -> None:
    from switchboard import settings

    settings_env(WHATSAPP_REPLY_TEMPLATE=value)
    settings.get_settings.cache_clear()


def test_whatsapp_replies_past_24_hours_go_in_the_configured_template(stack, settings_env):
    from tests.integration.test_whatsapp_flow import post, wa_message, wa_payload

    whatsapp_template(settings_env, "support_reply:en_US")
    post(stack, wa_payload(wa_message("wamid.tpl.1", text="are you there?")))
    stack.drain("ProcessorFunction")
    (conv,) = stack.http("GET", "/api/conversations", role="agent", query="channel=whatsapp").json()["items"]
    assert reply(stack, conv["id"], "yes").status == 202
    assert sent(stack, "whatsapp")[-1]["type"] == "text"
    clock.advance(3 * 86400)
    detail = stack.http("GET", f"/api/conversations/{conv['id']}", role="agent").json()
    assert detail["reply_window_open"] is True and detail["reply_window_closes_at"] is None
    assert reply(stack, conv["id"], "Sorry for the wait.\nYour refund\tis on its way.").status == 202
    body = sent(stack, "whatsapp")[-1]
    assert body["type"] == "template" and "text" not in body
    assert body["template"] == {"name": "support_reply", "language": {"code": "en_US"}, "components": [
        {"type": "body", "parameters": [{"type": "text", "text": "Sorry for the wait. Your refund is on its way."}]}]}
    assert [m["status"] for m in messages(stack, conv["id"]) if m["direction"] == "outbound"] == ["sent", "sent"]


def test_without_a_template_a_late_whatsapp_reply_is_refused_and_a_bad_setting_fails_clearly(stack, settings_env):
    from tests.integration.test_whatsapp_flow import post, wa_message, wa_payload

    post(stack, wa_payload(wa_message("wamid.tpl.2")))
    stack.drain("ProcessorFunction")
    (conv,) = stack.http("GET", "/api/conversations", role="agent", query="channel=whatsapp").json()["items"]
    clock.advance(25 * 3600)
    assert reply(stack, conv["id"], "late").status == 409
    whatsapp_template(settings_env, "Not A Template")
    assert reply(stack, conv["id"], "late again").status == 202  # accepted, then failed with the reason
    (failed,) = [m for m in messages(stack, conv["id"]) if m["direction"] == "outbound"]
    assert failed["status"] == "failed" and "WHATSAPP_REPLY_TEMPLATE" in failed["failure_reason"]
    assert sent(stack, "whatsapp") == []

"""Reply windows on Messenger and Instagram: 24 hours for everything; with META_HUMAN_AGENT_TAG, an agent (never
automation) may answer for 7 days, and such a reply goes out with Meta's HUMAN_AGENT tag."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from switchboard import clock
from tests.integration.test_whatsapp_flow import SECRET, messages

PAGE = "PAGE9"


def customer_writes(stack, channel: str, mid: str, psid: str = "PSID9") -> dict:
    now = clock.epoch() * 1000
    payload = {"object": "page" if channel == "messenger" else "instagram", "entry": [{
        "id": PAGE, "time": now, "messaging": [{"sender": {"id": psid}, "recipient": {"id": PAGE}, "timestamp": now,
                                                 "message": {"mid": mid, "text": f"text of {mid}"}}]}]}
    raw = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(SECRET, raw, hashlib.sha256).hexdigest()
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

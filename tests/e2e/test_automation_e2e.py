"""Automation and the data lifecycle as a new user would try them on the local stack, with the clock moved."""

from __future__ import annotations

import email
import email.policy
import urllib.parse
import uuid

import pytest

from tests.e2e.conftest import running_stack
from tests.integration.test_whatsapp_flow import wa_message, wa_payload

WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@pytest.fixture(scope="module")
def stack():
    with running_stack() as s:  # its own clock: moving it must not disturb the other tests' stack
        yield s


def write(s, sender: str, text: str, epoch: int) -> dict:
    message = wa_message(f"wamid.{uuid.uuid4().hex}", sender=sender, text=text)
    message["timestamp"] = str(epoch)
    assert s.post_meta("whatsapp", wa_payload(message, sender=sender, name="Mara")).status == 200
    return s.wait_for(lambda: next((c for c in s.conversations() if any(m["text"] == text for m in s.messages(c["id"]))),
                                   None), 20)


def automated(s, conv_id: str) -> list[str]:
    return [m["sender"] for m in s.messages(conv_id) if (m["sender"] or "").startswith("automation:")]


def now(s) -> int:
    return s.request("GET", "/_local/clock").json()["epoch"]


def test_a_support_day_and_a_year_later(stack):
    s = stack
    # Given saved settings: closed all week (so the away message applies), surveys 30 min after resolving
    r = s.request("PUT", "/api/settings", {
        "greeting": {"enabled": True, "text": "Hello, thanks for writing!"},
        "away": {"enabled": True, "text": "We are closed now."},
        "business_hours": {"timezone": "Europe/Riga", "days": {d: [] for d in WEEK}, "holidays": []},
        "auto_reply": {"enabled": True, "after_minutes": 10, "text": "Still on it!"},
        "survey": {"enabled": True, "delay_minutes": 30},
        "retention": {"default_days": 90, "channels": {"whatsapp": 90}}}, role="admin")
    assert r.status == 200, r
    # A first message gets the greeting and, out of hours, the away message
    conv = write(s, "37120000001", "Hi, is my order shipped?", now(s))
    assert s.wait_for(lambda: automated(s, conv["id"]) == ["automation:greeting", "automation:away"], 20)
    # A wait gets one auto-reply, and running the job again sends nothing more
    s.request("POST", "/_local/clock", {"advance_seconds": 11 * 60})
    assert s.request("POST", "/_local/run/AutoReplyFunction", b"").status == 200
    assert s.request("POST", "/_local/run/AutoReplyFunction", b"").status == 200
    assert automated(s, conv["id"]).count("automation:auto_reply") == 1
    outbox = [i["body"]["text"]["body"] for i in s.request("GET", "/_local/outbox").json()["items"]]
    assert outbox.count("Still on it!") == 1
    # The agent answers and resolves; 30 minutes later one survey email goes out
    contact = conv["contact"]["id"]
    assert s.api("PATCH", f"/api/contacts/{contact}", {"email": "mara@example.com"}).status == 200
    assert s.api("POST", f"/api/conversations/{conv['id']}/messages", {"text": "Yes, it ships today."}).status == 202
    assert s.api("POST", f"/api/conversations/{conv['id']}/resolve").status == 200
    s.request("POST", "/_local/clock", {"advance_seconds": 31 * 60})
    for _ in range(2):
        assert s.request("POST", "/_local/run/SurveyFunction", b"").status == 200
    mails = [m for m in s.request("GET", "/_local/emails").json()["items"] if m["to"] == ["mara@example.com"]]
    assert len(mails) == 1
    body = email.message_from_string(mails[0]["raw"], policy=email.policy.default).get_body(("plain",)).get_content()
    link = next(line.split(": ", 1)[1] for line in body.splitlines() if line.startswith("4: "))
    url = urllib.parse.urlsplit(link)
    s.request("POST", "/_local/clock", {"advance_seconds": 600})  # read later than a mail filter scans the links
    page = s.request("GET", f"{url.path}?{url.query}")
    assert page.status == 200 and b"Thank you" in page.body
    assert s.request("GET", f"{url.path}?{url.query}").status == 200  # a second click changes nothing
    metrics = s.api("GET", "/api/metrics").json()
    assert metrics["csat"] == {"average": 4.0, "responses": 1, "satisfied_share": 1.0}
    assert metrics["first_response_seconds"]["count"] == 1 and metrics["resolution_seconds"]["count"] == 1
    # A year later the old conversation is gone, and a fresh one stays
    s.request("POST", "/_local/clock", {"advance_seconds": 365 * 86400})
    fresh = write(s, "37120000002", "New question", now(s))
    assert s.request("POST", "/_local/run/RetentionFunction", b"").status == 200
    ids = [c["id"] for c in s.conversations()]
    assert conv["id"] not in ids and fresh["id"] in ids
    assert s.api("GET", f"/api/contacts/{contact}").status == 404
    # An erased contact leaves no trace
    other = fresh["contact"]["id"]
    assert s.api("DELETE", f"/api/contacts/{other}", role="admin").status == 200
    assert s.conversations() == []
    for path in (f"/api/contacts/{other}", f"/api/contacts/{other}/export", f"/api/conversations/{fresh['id']}"):
        assert s.api("GET", path, role="admin").status == 404

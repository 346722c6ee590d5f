"""Rich replies (issue 13) through the local stack over HTTP, as a new user would try them: a WhatsApp-only customer
rates a resolved conversation with a button in WhatsApp and the metrics count it; a quoted reply goes out in the
quoted message's context."""

from __future__ import annotations

import datetime
import uuid

from tests.integration.test_whatsapp_flow import wa_message, wa_payload


def write(s, sender: str, text: str, **extra) -> dict:
    assert s.post_meta("whatsapp", wa_payload(wa_message(f"wamid.{uuid.uuid4().hex}", sender=sender, text=text,
                                                         **extra), sender=sender, name="Rita")).status == 200
    return s.wait_for(lambda: next((c for c in s.conversations() if any(m["text"] == text for m in s.messages(c["id"]))),
                                   None), 20)


def outbox(s) -> list[dict]:
    return [i for i in s.request("GET", "/_local/outbox").json()["items"] if isinstance(i["body"], dict)]


def test_a_whatsapp_only_customer_rates_with_a_button_and_the_metrics_count_it(local_stack):
    s = local_stack
    before = s.api("GET", "/api/settings", role="admin").json()["survey"]
    assert s.api("PUT", "/api/settings", {"survey": {"enabled": True, "in_channel": True, "delay_minutes": 0}},
                 role="admin").status == 200
    try:
        sender = "3712" + str(uuid.uuid4().int)[:7]
        tag = uuid.uuid4().hex[:8]
        conv = write(s, sender, f"My order {tag} never came")
        assert conv
        asked = next(m for m in s.messages(conv["id"]) if m["direction"] == "inbound")
        # A quoted reply: sent in the context of the customer's message, shown quoted in the app
        r = s.api("POST", f"/api/conversations/{conv['id']}/messages", {"text": f"Sent again {tag}",
                                                                          "reply_to": asked["id"]})
        assert r.status == 202, r.body
        quoted = s.wait_for(lambda: next((i["body"] for i in outbox(s) if i["body"].get("to") == sender
                                          and i["body"].get("text", {}).get("body") == f"Sent again {tag}"), None))
        assert quoted and quoted["context"]["message_id"].startswith("wamid.")
        assert next(m for m in s.messages(conv["id"]) if m["text"] == f"Sent again {tag}")["quoted"]["id"] == asked["id"]
        today = datetime.date.today().isoformat()
        responses = s.api("GET", f"/api/metrics?from={today}&to={today}").json()["csat"]["responses"]
        # Resolved: the survey job asks in WhatsApp, with a list of ratings
        assert s.api("POST", f"/api/conversations/{conv['id']}/resolve").status == 200
        assert s.request("POST", "/_local/run/SurveyFunction", b"").status == 200
        question = s.wait_for(lambda: next((i["body"] for i in outbox(s) if i["body"].get("to") == sender
                                            and i["body"].get("type") == "interactive"), None))
        assert question, "no rating question was sent"
        rows = question["interactive"]["action"]["sections"][0]["rows"]
        # The customer picks "4 Very good"
        pick = wa_message(f"wamid.{uuid.uuid4().hex}", sender=sender, kind="interactive",
                          body={"type": "list_reply", "list_reply": rows[3]})
        assert s.post_meta("whatsapp", wa_payload(pick, sender=sender, name="Rita")).status == 200
        rated = s.wait_for(lambda: (d := s.api("GET", f"/api/conversations/{conv['id']}").json())["rating"] and d)
        assert rated and rated["rating"] == 4 and rated["status"] == "resolved"
        csat = s.api("GET", f"/api/metrics?from={today}&to={today}").json()["csat"]
        assert csat["responses"] == responses + 1
        assert rows[3]["title"] not in [m["text"] for m in s.messages(conv["id"])]  # an answer, not a message
    finally:
        s.api("PUT", "/api/settings", {"survey": before}, role="admin")

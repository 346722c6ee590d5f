"""Inboxes and the unknown-owner rule over the local stack (issue 14, issue 11): a WhatsApp number that is not the
business's is acknowledged and ignored, counted for the admins, and filed once an admin allows it; the conversation
list filters by inbox."""

from __future__ import annotations

import time
import uuid

from tests.integration.test_whatsapp_flow import wa_message, wa_payload

OURS = "200000000000002"


def payload(number: str, name: str) -> dict:
    """A new customer's message to `number`, from a customer called `name`."""
    sender = "1555" + str(uuid.uuid4().int)[:7]
    body = wa_payload(wa_message(f"wamid.{uuid.uuid4().hex}", sender=sender, text=f"hello, {name} here"),
                      sender=sender, name=name)
    body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = number
    return body


def landed(s, name: str) -> dict | None:
    """The customer's conversation (its last message may be the greeting or the away message)."""
    return next((c for c in s.conversations(limit="100") if c["contact"]["name"] == name), None)


def test_an_unknown_number_is_ignored_counted_and_filed_once_an_admin_allows_it(local_stack):
    s, t = local_stack, uuid.uuid4().hex[:8]
    other = "29" + str(uuid.uuid4().int)[:13]
    assert s.api("PUT", "/api/settings", {"inboxes": {"accept_new": False}}, role="admin").status == 200
    try:
        # The business's number (the channel's first) is filed
        assert s.post_meta("whatsapp", payload(OURS, f"ours {t}")).status == 200
        conv = s.wait_for(lambda: landed(s, f"ours {t}"))
        assert conv and conv["inbox"] in {i["id"] for i in s.api("GET", "/api/inboxes").json()["items"]}
        # Another number's message is acknowledged (so that Meta does not retry), and ignored
        assert s.post_meta("whatsapp", payload(other, f"theirs {t}")).status == 200
        ignored = s.wait_for(lambda: [i for i in s.api("GET", "/api/inboxes?include=ignored", role="admin").json()
                                      ["ignored"] if i["address"] == other])
        assert ignored and ignored[0]["events"] == 1
        time.sleep(1)
        assert landed(s, f"theirs {t}") is None
        # An admin allows it: its next message is filed, in its own inbox
        r = s.api("POST", "/api/inboxes", {"channel": "whatsapp", "address": other, "name": f"Second line {t}"},
                  role="admin")
        assert r.status == 201
        inbox = r.json()["id"]
        assert s.post_meta("whatsapp", payload(other, f"theirs again {t}")).status == 200
        conv = s.wait_for(lambda: landed(s, f"theirs again {t}"))
        assert conv and conv["inbox"] == inbox
        assert [c["id"] for c in s.conversations(inbox=inbox)] == [conv["id"]]
    finally:
        s.api("PUT", "/api/settings", {"inboxes": {"accept_new": True}}, role="admin")

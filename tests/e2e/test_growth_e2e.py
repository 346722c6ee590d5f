"""Growth, tried as a new user would in `make dev`: an admin creates a WhatsApp link and its QR code decodes to it; a
message arriving through it shows its source; a test receiver registered as an endpoint gets signed events for a new
conversation and its resolution and survives an outage with retries; the audit log shows the admin's actions."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.integration.test_whatsapp_flow import wa_message, wa_payload


class Receiver:
    def __init__(self) -> None:
        self.got: list[tuple[dict[str, str], bytes, int]] = []
        self.status = 200
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                owner.got.append(({k.lower(): v for k, v in self.headers.items()}, body, owner.status))
                self.send_response(owner.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/crm"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def delivered(self, conv_id: str) -> list[dict[str, Any]]:
        return [json.loads(b) for _, b, s in self.got if s == 200
                and json.loads(b)["data"].get("conversation", {}).get("id") == conv_id]


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def test_a_link_its_source_signed_events_through_an_outage_and_the_audit_log(local_stack, receiver):
    s = local_stack
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    # an admin registers the CRM's receiver, then creates a WhatsApp link and scans its QR code
    hook = s.api("POST", "/api/webhooks", {"url": receiver.url, "events": ["conversation.created",
                                                                           "conversation.status_changed"]}, role="admin")
    assert hook.status == 201, hook.body
    secret = hook.json()["secret"]
    made = s.api("POST", "/api/links", {"name": "E2E flyer", "channel": "whatsapp", "text": "Hello!"}, role="admin")
    assert made.status == 201, made.body
    link = made.json()
    png = s.request("GET", f"/api/links/{link['id']}/qr.png", role="agent")
    assert png.status == 200
    assert [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png.body)))] == [link["url"]]

    # the receiver is down when the customer writes through the link
    receiver.status = 503
    sender = "1555" + str(uuid.uuid4().int)[:7]
    text = parse_qs(urlsplit(link["url"]).query)["text"][0]
    assert s.post_meta("whatsapp", wa_payload(wa_message(f"wamid.e2e.{sender}", sender=sender, text=text),
                                              sender=sender, name="Flyer Reader")).status == 200
    conv = s.wait_for(lambda: next((c for c in s.conversations(source=link["id"])), None), 20)
    assert conv and conv["source"]["label"] == "E2E flyer" and conv["source"]["link_id"] == link["id"]
    inbound = s.wait_for(lambda: [m["text"] for m in s.messages(conv["id"]) if m["direction"] == "inbound"], 20)
    assert inbound == ["Hello!"]  # the reference is the source, not the customer's words
    assert s.wait_for(lambda: any(st == 503 for _, _, st in receiver.got), 20)

    # it comes back; the retry (the clock moved past the backoff) delivers the same event, signed
    receiver.status = 200
    s.request("POST", "/_local/clock", {"advance_seconds": 120})
    assert s.request("POST", "/_local/run/EventsRetryFunction", b"").status == 200
    assert s.wait_for(lambda: receiver.delivered(conv["id"]), 20)
    assert s.api("POST", f"/api/conversations/{conv['id']}/resolve").status == 200
    assert s.wait_for(lambda: len(receiver.delivered(conv["id"])) == 2, 20)
    created, resolved = receiver.delivered(conv["id"])
    assert created["type"] == "conversation.created" and created["data"]["conversation"]["source"]["link_id"] == link["id"]
    assert resolved["type"] == "conversation.status_changed" and resolved["data"]["to"] == "resolved"
    first_try = next(h for h, _, st in receiver.got if st == 503)
    assert first_try["x-switchboard-event-id"] == created["id"]  # the retry carried the same event id
    for headers, body, status in receiver.got:
        signed = f"{headers['x-switchboard-timestamp']}.".encode() + body
        expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["x-switchboard-signature"], expected)
    log = s.api("GET", f"/api/webhooks/{hook.json()['id']}/deliveries", role="admin").json()["items"]
    mine = [d for d in log if d["event_id"] == created["id"]]
    assert mine and mine[0]["state"] == "delivered" and mine[0]["attempts"] == 2

    # the audit log shows what the admin did, and what the agent did
    items = s.api("GET", "/api/audit?actor=admin@example.com&limit=200", role="admin").json()["items"]
    actions = {(i["action"], i["target"]) for i in items}
    assert {("webhook.create", hook.json()["id"]), ("link.create", link["id"])} <= actions
    agent = s.api("GET", "/api/audit?actor=agent@example.com&action=conversation.resolve", role="admin").json()
    assert conv["id"] in {i["target"] for i in agent["items"]}

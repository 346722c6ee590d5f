"""Events for CRMs on moto: an endpoint registered by an admin gets signed deliveries for a new conversation, its
messages and its resolution; a receiver outage is retried with backoff (the clock moved), 24 hours of failures park
the delivery until an admin replays it; private addresses are refused when deployed; an erased contact produces
contact.erased and no event carries their data afterwards."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from infra.local.pollers import run_scheduled
from switchboard import clock
from switchboard.channels import http
from tests.integration.test_whatsapp_flow import conversations, post, wa_message, wa_payload


class Receiver:
    """A CRM's webhook receiver on 127.0.0.1: records what it gets, answers `status`."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.status = 200
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                owner.received.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body,
                                       "status": owner.status})
                self.send_response(owner.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/switchboard"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def events(self, status: int = 200) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.received if r["status"] == status]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def admin(stack, method, path, body=None, query=""):
    return stack.http(method, path, body, role="admin", query=query)


def register(stack, url: str, events: list[str]) -> dict:
    r = admin(stack, "POST", "/api/webhooks", {"url": url, "events": events})
    assert r.status == 201, r
    return r.json()


def settle(stack) -> None:
    """The processor's queue, then the events queue, until both are empty."""
    for _ in range(3):
        stack.drain("ProcessorFunction")
        stack.drain("SenderFunction")
        stack.drain("EventsFunction")


def retry_run(stack) -> dict:
    counts = run_scheduled(stack.functions["EventsRetryFunction"])
    stack.drain("EventsFunction")
    return counts


def verify(secret: str, delivery: dict[str, Any]) -> bool:
    headers = delivery["headers"]
    expected = "sha256=" + hmac.new(secret.encode(), f"{headers['x-switchboard-timestamp']}.".encode()
                                    + delivery["body"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["x-switchboard-signature"])


def test_signed_events_for_a_new_conversation_its_messages_and_its_resolution(stack, receiver):
    hook = register(stack, receiver.url, ["conversation.created", "message.created", "conversation.status_changed"])
    assert hook["secret"].startswith("whsec_") and hook["events"] == sorted(hook["events"])
    assert "secret" not in admin(stack, "GET", "/api/webhooks").json()["items"][0]  # shown once
    post(stack, wa_payload(wa_message("w.ev1", text="Where is my order?")))
    settle(stack)
    (conv,) = conversations(stack)
    stack.http("POST", f"/api/conversations/{conv['id']}/messages", {"text": "On its way."}, role="agent")
    stack.http("POST", f"/api/conversations/{conv['id']}/resolve", role="agent")
    settle(stack)
    got = receiver.events()
    assert [e["type"] for e in got] == ["conversation.created", "message.created", "message.created",
                                        "conversation.status_changed"]
    for delivery in receiver.received:  # each signed over "<timestamp>.<raw body>", with its event id
        assert verify(hook["secret"], delivery)
        assert delivery["headers"]["x-switchboard-event-id"] == json.loads(delivery["body"])["id"]
        assert delivery["headers"]["content-type"] == "application/json"
        assert abs(int(delivery["headers"]["x-switchboard-timestamp"]) - clock.epoch()) < 30
    created, inbound, outbound, resolved = got
    assert set(created) == {"id", "type", "created_at", "data"}
    assert created["data"]["conversation"]["id"] == conv["id"]
    assert inbound["data"]["message"]["text"] == "Where is my order?"
    assert inbound["data"]["message"]["direction"] == "inbound"
    assert outbound["data"]["message"]["text"] == "On its way." and outbound["data"]["message"]["direction"] == "outbound"
    assert resolved["data"]["from"] == "open" and resolved["data"]["to"] == "resolved"
    assert resolved["data"]["by"] == "agent@example.com"
    assert len({e["id"] for e in got}) == 4
    # a redelivery of the customer's message is stored once and announced once
    post(stack, wa_payload(wa_message("w.ev1", text="Where is my order?")))
    settle(stack)
    assert len(receiver.events()) == 4
    # the delivery log: time, type, state, status, latency, attempts; never a body
    log = admin(stack, "GET", f"/api/webhooks/{hook['id']}/deliveries").json()["items"]
    assert len(log) == 4 and {d["state"] for d in log} == {"delivered"} and {d["status"] for d in log} == {200}
    assert all(d["attempts"] == 1 and d["latency_ms"] >= 0 for d in log)
    assert "Where is my order" not in json.dumps(stack.items("WEBHOOK#"))
    # admins only
    assert stack.http("GET", "/api/webhooks", role="agent").status == 403
    assert stack.http("POST", "/api/webhooks", {"url": receiver.url, "events": ["*"]}, role="agent").status == 403


def test_nothing_is_queued_for_types_no_endpoint_wants(stack, receiver):
    register(stack, receiver.url, ["csat.submitted"])
    post(stack, wa_payload(wa_message("w.none", text="hi")))
    stack.drain("ProcessorFunction")
    assert stack.queue_count("EventsQueue") == 0


def test_a_receiver_outage_is_retried_with_backoff_then_parked_after_24_hours_and_replayed(stack, receiver):
    hook = register(stack, receiver.url, ["conversation.created"])
    receiver.status = 503  # the receiver is down
    post(stack, wa_payload(wa_message("w.out1", text="hello")))
    settle(stack)
    assert len(receiver.received) == 1
    (line,) = admin(stack, "GET", f"/api/webhooks/{hook['id']}/deliveries").json()["items"]
    assert line["state"] == "retrying" and line["status"] == 503 and line["attempts"] == 1 and line["next_attempt_at"]
    assert retry_run(stack)["due"] == 0  # not due yet: the first retry waits about a minute
    clock.advance(70)
    receiver.status = 200  # back up
    assert retry_run(stack)["due"] == 1
    assert [r["status"] for r in receiver.received] == [503, 200]
    assert receiver.received[0]["headers"]["x-switchboard-event-id"] == receiver.received[1]["headers"][
        "x-switchboard-event-id"]  # the same event id: the receiver dedupes on it
    (line,) = admin(stack, "GET", f"/api/webhooks/{hook['id']}/deliveries").json()["items"]
    assert line["state"] == "delivered" and line["attempts"] == 2

    # a second conversation while the receiver stays down for a day: retried with growing gaps, then parked
    receiver.status = 500
    post(stack, wa_payload(wa_message("w.out2", sender="15557654321", text="hi"), sender="15557654321"))
    settle(stack)
    for _ in range(40):
        clock.advance(3600)
        retry_run(stack)
    failures = [r for r in receiver.received if r["status"] == 500]
    assert 8 <= len(failures) <= 20  # backoff: 1, 2, 4 ... minutes up to 4 hours, for 24 hours
    log = {d["state"] for d in admin(stack, "GET", f"/api/webhooks/{hook['id']}/deliveries").json()["items"]}
    assert log == {"delivered", "parked"}
    before = len(receiver.received)
    clock.advance(3600)
    retry_run(stack)
    assert len(receiver.received) == before  # parked: no more tries on its own
    # the receiver is fixed; an admin replays what was parked
    receiver.status = 200
    assert stack.http("POST", f"/api/webhooks/{hook['id']}/replay", role="agent").status == 403
    assert admin(stack, "POST", f"/api/webhooks/{hook['id']}/replay").json() == {"replayed": 1}
    stack.drain("EventsFunction")
    assert receiver.received[-1]["status"] == 200 and len(receiver.received) == before + 1
    assert {d["state"] for d in admin(stack, "GET", f"/api/webhooks/{hook['id']}/deliveries").json()["items"]} == {
        "delivered"}
    assert admin(stack, "POST", f"/api/webhooks/{hook['id']}/replay").json() == {"replayed": 0}


def test_the_test_event_and_deleting_an_endpoint(stack, receiver):
    hook = register(stack, receiver.url, ["*"])
    r = admin(stack, "POST", f"/api/webhooks/{hook['id']}/test").json()
    assert r["ok"] is True and r["status"] == 200
    (delivery,) = receiver.received
    assert json.loads(delivery["body"])["type"] == "webhook.test" and verify(hook["secret"], delivery)
    receiver.status = 500
    assert admin(stack, "POST", f"/api/webhooks/{hook['id']}/test").json()["ok"] is False
    log = admin(stack, "GET", f"/api/webhooks/{hook['id']}/deliveries").json()["items"]
    assert sorted(d["state"] for d in log) == ["delivered", "failed"]
    assert admin(stack, "DELETE", f"/api/webhooks/{hook['id']}").status == 204
    assert admin(stack, "DELETE", f"/api/webhooks/{hook['id']}").status == 404
    assert admin(stack, "GET", "/api/webhooks").json()["items"] == []


def test_deployed_private_loopback_and_link_local_endpoints_are_refused(stack, settings_env, monkeypatch):
    settings_env(LOCAL_WEBHOOK_ALLOW_LOOPBACK="")  # as deployed
    addresses = {"crm.example.com": ["93.184.216.34"], "internal.example.com": ["10.0.0.5"],
                 "rebind.example.com": ["93.184.216.35", "127.0.0.1"]}
    monkeypatch.setattr(http, "_resolve", lambda host, port: addresses.get(host, ["127.0.0.1"]))
    for url in ("http://127.0.0.1:9000/x", "https://127.0.0.1/x", "https://localhost/x", "https://169.254.169.254/x",
                "https://[::1]/x", "https://internal.example.com/x", "https://rebind.example.com/x",
                "http://crm.example.com/x", "https://user@crm.example.com/x", "ftp://crm.example.com/x"):
        r = admin(stack, "POST", "/api/webhooks", {"url": url, "events": ["*"]})
        assert r.status == 400 and r.json()["error"]["code"] == "unsafe_url", (url, r)
    hook = register(stack, "https://crm.example.com/hooks", ["conversation.created"])
    # DNS changes after registration: the delivery is refused before any connection is made
    addresses["crm.example.com"] = ["169.254.169.254"]
    connections: list[Any] = []
    monkeypatch.setattr(http, "pinned_pool", lambda *a, **k: connections.append(a))
    post(stack, wa_payload(wa_message("w.ssrf", text="hi")))
    settle(stack)
    (line,) = admin(stack, "GET", f"/api/webhooks/{hook['id']}/deliveries").json()["items"]
    assert line["state"] == "retrying" and line["error"] == "unsafe_address" and line["status"] is None
    assert connections == []


def test_an_erased_contact_produces_contact_erased_and_nothing_of_theirs_goes_out_afterwards(stack, receiver):
    hook = register(stack, receiver.url, ["*"])
    receiver.status = 503  # down: the events about the customer wait for a retry
    post(stack, wa_payload(wa_message("w.gdpr", text="my address is 1 Main St"), name="Eve"))
    settle(stack)
    (conv,) = conversations(stack)
    contact_id = conv["contact"]["id"]
    waiting = admin(stack, "GET", f"/api/webhooks/{hook['id']}/deliveries").json()["items"]
    assert {d["state"] for d in waiting} == {"retrying"} and len(waiting) == 2
    receiver.status = 200
    assert admin(stack, "DELETE", f"/api/contacts/{contact_id}").status == 200
    settle(stack)
    clock.advance(300)
    retry_run(stack)
    delivered = receiver.events()
    assert [e["type"] for e in delivered] == ["contact.erased"]
    assert delivered[0]["data"] == {"contact": {"id": contact_id}}
    states = sorted(d["state"] for d in admin(stack, "GET", f"/api/webhooks/{hook['id']}/deliveries").json()["items"])
    assert states == ["delivered", "dropped", "dropped"]
    sent = b"".join(r["body"] for r in receiver.received if r["status"] == 200)
    assert b"Main St" not in sent and b"Eve" not in sent

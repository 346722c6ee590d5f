"""WhatsApp end to end through the real handlers on moto: webhook -> queue -> processor -> API -> sender."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from switchboard import aws, clock
from tests.support.signing import meta_signature

SECRET = b"test-meta-secret"
PNID = "200000000000002"


def wa_message(wamid: str, sender: str = "15551234567", text: str = "hi", kind: str = "text", **extra: Any) -> dict:
    message = {"from": sender, "id": wamid, "timestamp": str(clock.epoch()), "type": kind}
    message[kind] = extra.pop("body", {"body": text}) if kind == "text" else extra.pop("body")
    return message | extra


def wa_payload(*messages: dict, statuses: list[dict] | None = None, name: str = "Ann", sender: str = "15551234567",
               entries: int = 1) -> dict:
    value: dict[str, Any] = {"messaging_product": "whatsapp",
                             "metadata": {"display_phone_number": "15550001111", "phone_number_id": PNID},
                             "contacts": [{"profile": {"name": name}, "wa_id": sender}], "messages": list(messages)}
    if statuses:
        value["statuses"] = statuses
    entry = {"id": "WABA", "changes": [{"field": "messages", "value": value}]}
    return {"object": "whatsapp_business_account", "entry": [entry] * entries}


def signed(payload: dict | bytes, secret: bytes = SECRET) -> tuple[bytes, dict[str, str]]:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    sig = meta_signature(raw, secret)
    return raw, {"Content-Type": "application/json", "X-Hub-Signature-256": sig}


def post(stack, payload, secret: bytes = SECRET):
    raw, headers = signed(payload, secret)
    return stack.http("POST", "/webhooks/whatsapp", raw, headers)


def conversations(stack) -> list[dict]:
    r = stack.http("GET", "/api/conversations", role="agent")
    assert r.status == 200, r
    return r.json()["items"]


def messages(stack, conv_id: str) -> list[dict]:
    r = stack.http("GET", f"/api/conversations/{conv_id}/messages", role="agent")
    assert r.status == 200, r
    return r.json()["items"]


def test_a_batch_lands_as_one_conversation_with_every_message(stack):
    # Given a batch with escaped unicode, an image, a location and a button reply, in two entries
    raw = json.dumps(wa_payload(
        wa_message("wamid.1", text="Grüße 📦"),
        wa_message("wamid.2", kind="image", body={"id": "MEDIA9", "mime_type": "image/jpeg", "caption": "photo"}),
        wa_message("wamid.3", kind="location", body={"latitude": 56.95, "longitude": 24.1, "name": "Riga"}),
        wa_message("wamid.4", kind="interactive",
                   body={"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes"}}),
    )).encode()
    assert b"\\u00fc" in raw  # Meta's escaped form: the signature covers these bytes, not a re-serialization
    # When it is posted and processed
    assert post(stack, raw).status == 200
    assert stack.drain("ProcessorFunction") == 4
    # Then one open conversation holds the four messages, in a useful form
    (conv,) = conversations(stack)
    assert conv["channel"] == "whatsapp" and conv["status"] == "open" and conv["contact"]["name"] == "Ann"
    by_text = {m["text"]: m for m in messages(stack, conv["id"])}
    assert set(by_text) == {"Grüße 📦", "photo", "Riga", "Yes"}
    image = by_text["photo"]["attachments"][0]
    assert image["status"] == "stored" and "X-Amz-Signature" in image["url"]
    (item,) = [i for i in stack.items("CONV#") if i.get("text") == "photo"]
    s3_key = item["attachments"][0]["s3_key"]
    assert s3_key.startswith(f"media/{conv['id']}/")
    stored = aws.s3().get_object(Bucket=stack.resolver.refs["MediaBucket"], Key=s3_key)["Body"].read()
    assert stored.startswith(b"\x89PNG") and b"sandbox media MEDIA9" in stored
    assert by_text["Riga"]["location"]["latitude"] == 56.95
    assert by_text["Yes"]["payload"] == "yes"  # the button the customer chose, for the agent


def test_redeliveries_store_one_message_even_twenty_at_once(stack):
    payload = wa_payload(wa_message("wamid.dup", text="once"))
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(post(stack, payload).status)) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 20
    stack.drain("ProcessorFunction")
    assert post(stack, payload).status == 200  # after processing: acknowledged, not even enqueued
    assert stack.queue_count("InboundQueue") == 0
    (conv,) = conversations(stack)
    assert [m["text"] for m in messages(stack, conv["id"])] == ["once"]


def test_refused_requests_store_nothing(stack):
    payload = wa_payload(wa_message("wamid.forged"))
    assert post(stack, payload, secret=b"wrong").status == 401
    raw, headers = signed(payload)
    assert stack.http("POST", "/webhooks/whatsapp", raw, {"Content-Type": "application/json"}).status == 401
    assert stack.http("POST", "/webhooks/whatsapp", raw + b" ", headers).status == 401  # tampered
    assert post(stack, b'{"object": "whatsapp_business_account", "entry": [').status == 400
    assert post(stack, {"object": "page", "entry": []}).status == 400
    big = {"object": "whatsapp_business_account", "entry": [], "pad": "x" * 1_100_000}
    assert post(stack, big).status == 413
    assert stack.queue_count("InboundQueue") == 0
    assert stack.items("INBOUND#") == []


def test_handshake(stack):
    query = "hub.mode=subscribe&hub.verify_token=test-verify-token&hub.challenge=42"
    ok = stack.http("GET", "/webhooks/whatsapp", query=query)
    assert (ok.status, ok.body) == (200, "42")
    bad = stack.http("GET", "/webhooks/whatsapp", query="hub.mode=subscribe&hub.verify_token=nope&hub.challenge=42")
    assert bad.status == 403


class Flaky:
    """Wraps an AWS client: the named operation raises a throttling error `times` times."""

    def __init__(self, client: Any, operation: str, times: int = 1):
        self.client, self.operation, self.times = client, operation, times

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.client, name)
        if name != self.operation:
            return attr

        def failing(**kwargs: Any) -> Any:
            if self.times > 0:
                self.times -= 1
                from botocore.exceptions import ClientError

                raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "injected"}}, name)
            return attr(**kwargs)

        return failing


def make_flaky(monkeypatch, service: str, operation: str, times: int = 1) -> None:
    """The core's client for `service` fails `operation` the next `times` calls (a throttling error)."""
    flaky, original = Flaky(aws.client(service), operation, times), aws.client
    monkeypatch.setattr(aws, "client", lambda name: flaky if name == service else original(name))


@pytest.mark.parametrize(("service", "operation"), [("dynamodb", "put_item"), ("sqs", "send_message_batch")])
def test_an_aws_failure_is_a_5xx_and_the_retry_stores_once(stack, monkeypatch, service, operation):
    payload = wa_payload(wa_message("wamid.fault", text="after a fault"))
    make_flaky(monkeypatch, service, operation)
    assert post(stack, payload).status == 503
    assert post(stack, payload).status == 200  # the provider's retry
    stack.drain("ProcessorFunction")
    (conv,) = conversations(stack)
    assert [m["text"] for m in messages(stack, conv["id"])] == ["after a fault"]


def test_reply_goes_out_once_and_receipts_move_it_forward(stack):
    post(stack, wa_payload(wa_message("wamid.q", text="where is my order?")))
    stack.drain("ProcessorFunction")
    (conv,) = conversations(stack)
    r = stack.http("POST", f"/api/conversations/{conv['id']}/messages", {"text": "On its way!"}, role="agent")
    assert r.status == 202 and r.json()["status"] == "queued"
    assert stack.drain("SenderFunction") == 1
    (sent,) = stack.sandbox.outbox
    assert sent["url"].endswith(f"/{PNID}/messages") and sent["body"]["to"] == "15551234567"
    assert sent["body"]["text"]["body"] == "On its way!"
    reply = next(m for m in messages(stack, conv["id"]) if m["direction"] == "outbound")
    assert reply["status"] == "sent"
    # A duplicate job (SQS redelivery) never sends twice
    from switchboard import queue
    from switchboard.models import OutboundJob

    queue.send_outbound(OutboundJob(conversation_id=conv["id"], message_id=reply["id"], created_at=reply["created_at"]))
    stack.drain("SenderFunction")
    assert len(stack.sandbox.outbox) == 1
    # Receipts out of order: read, then a late delivered, which must not regress it
    wamid = stack.items("PROVIDERMSG#")[0]["pk"].split("#", 2)[2]
    now = int(time.time())
    read = {"id": wamid, "status": "read", "timestamp": str(now + 2), "recipient_id": "15551234567"}
    delivered = {"id": wamid, "status": "delivered", "timestamp": str(now + 1), "recipient_id": "15551234567"}
    post(stack, wa_payload(statuses=[read]))
    post(stack, wa_payload(statuses=[delivered]))
    stack.drain("ProcessorFunction")
    reply = next(m for m in messages(stack, conv["id"]) if m["direction"] == "outbound")
    assert reply["status"] == "read"
    assert not [m for m in messages(stack, conv["id"]) if m["text"] == ""]  # statuses are never customer messages


def test_provider_errors_fail_the_reply_with_a_reason_or_retry(stack):
    from infra.local.sandbox import Fault

    post(stack, wa_payload(wa_message("wamid.e", text="hello")))
    stack.drain("ProcessorFunction")
    (conv,) = conversations(stack)
    # A throttled provider: the job waits and goes out on a later delivery
    stack.sandbox.add_fault("whatsapp", Fault(status=429, count=5, retry_after=60))
    stack.http("POST", f"/api/conversations/{conv['id']}/messages", {"text": "first"}, role="agent")
    stack.source("SenderFunction").poll_once()
    out = [m for m in messages(stack, conv["id"]) if m["direction"] == "outbound"]
    assert out[0]["status"] == "queued"
    stack.sandbox.faults.clear()
    clock.advance(61)  # past the provider's Retry-After: until then, deliveries of the job leave it alone
    stack.drain("SenderFunction")
    assert [m["status"] for m in messages(stack, conv["id"]) if m["direction"] == "outbound"] == ["sent"]
    # A permanent error: failed, with the provider's reason, never retried
    undeliverable = {"error": {"code": 131026, "message": "undeliverable"}}
    stack.sandbox.add_fault("whatsapp", Fault(status=400, count=1, body=undeliverable))
    stack.http("POST", f"/api/conversations/{conv['id']}/messages", {"text": "second"}, role="agent")
    stack.drain("SenderFunction")
    second = next(m for m in messages(stack, conv["id"]) if m["text"] == "second")
    assert second["status"] == "failed" and "131026" in second["failure_reason"]


def test_media_download_failure_is_retried_not_forgotten(stack, monkeypatch):
    from switchboard.channels import whatsapp
    from switchboard.errors import MediaError

    calls = {"n": 0}
    real = whatsapp.WhatsAppChannel.fetch_media

    def flaky(self, attachment):
        calls["n"] += 1
        if calls["n"] == 1:
            raise MediaError("media lookup answered 500")
        return real(self, attachment)

    monkeypatch.setattr(whatsapp.WhatsAppChannel, "fetch_media", flaky)
    post(stack, wa_payload(wa_message("wamid.m", kind="image", body={"id": "M1", "mime_type": "image/jpeg"})))
    stack.drain("ProcessorFunction")
    (conv,) = conversations(stack)
    (msg,) = messages(stack, conv["id"])
    assert calls["n"] == 2 and msg["attachments"][0]["status"] == "stored"


def test_poison_message_does_not_block_its_batch_and_reaches_the_dlq(stack):
    sqs = stack.clients["sqs"]
    sqs.send_message(QueueUrl=stack.resolver.refs["InboundQueue"], MessageBody="not json")
    post(stack, wa_payload(wa_message("wamid.ok", text="fine")))
    stack.drain("ProcessorFunction", max_polls=20)
    (conv,) = conversations(stack)
    assert [m["text"] for m in messages(stack, conv["id"])] == ["fine"]
    assert stack.queue_count("InboundDLQ") == 1


def test_the_agent_api_needs_a_token_and_answers_errors_as_json(stack):
    assert stack.http("GET", "/api/conversations").status == 401
    assert stack.http("GET", "/api/health").status == 200
    missing = stack.http("GET", "/api/conversations/cv_nope", role="agent")
    assert missing.status == 404 and missing.json()["error"]["code"] == "not_found"
    wrong_method = stack.http("DELETE", "/api/conversations/cv_nope/messages", role="agent")
    assert wrong_method.status == 405 and wrong_method.json()["error"]["code"] == "method_not_allowed"
    assert wrong_method.headers["Allow"] == "GET, POST"
    assert stack.http("GET", "/api/no/such/route", role="agent").status == 404
    bad = stack.http("GET", "/api/conversations", role="agent", query="status=closed")
    assert bad.status == 422 and "error" in bad.json()
    bad_cursor = stack.http("GET", "/api/conversations", role="agent", query="cursor=%%%")
    assert bad_cursor.status == 400
    post(stack, wa_payload(wa_message("wamid.x")))
    stack.drain("ProcessorFunction")
    (conv,) = conversations(stack)
    empty = stack.http("POST", f"/api/conversations/{conv['id']}/messages", {"text": ""}, role="agent")
    assert empty.status == 422
    spec = stack.http("GET", "/api/openapi.json").json()
    assert {"/api/conversations", "/api/conversations/{conversation_id}/messages"} <= set(spec["paths"])


def test_a_reply_still_failing_on_its_last_receive_is_marked_failed_not_left_queued(stack):
    from infra.local.sandbox import Fault

    post(stack, wa_payload(wa_message("wamid.down", text="hello")))
    stack.drain("ProcessorFunction")
    (conv,) = conversations(stack)
    # Given a provider that answers 500 to every send
    stack.sandbox.add_fault("whatsapp", Fault(status=500, count=1000))
    # When the reply's job is received as often as the outbound queue allows
    stack.http("POST", f"/api/conversations/{conv['id']}/messages", {"text": "doomed"}, role="agent")
    stack.drain("SenderFunction", max_polls=40)
    # Then the agent sees it failed, with the reason, and the job did not end in the DLQ with the reply "queued"
    (reply,) = [m for m in messages(stack, conv["id"]) if m["direction"] == "outbound"]
    assert reply["status"] == "failed"
    assert reply["failure_reason"].startswith("gave up after 20 attempts: whatsapp error 500"), reply["failure_reason"]
    assert len(stack.sandbox.outbox) == 20
    assert stack.queue_count("OutboundQueue") == 0 and stack.queue_count("OutboundDLQ") == 0


def test_a_long_retry_after_is_handed_to_the_queue(stack):
    from infra.local.pollers import watch_function_visibility
    from infra.local.sandbox import Fault

    post(stack, wa_payload(wa_message("wamid.slow", text="hello")))
    stack.drain("ProcessorFunction")
    (conv,) = conversations(stack)
    asked: list[int] = []
    aws.sqs().meta.events.register("before-parameter-build.sqs.ChangeMessageVisibility",
                                   lambda params, **_: asked.append(params["VisibilityTimeout"]))
    watch_function_visibility(aws.sqs())  # the local poller then leaves the function's visibility alone, as Lambda does
    # Given a provider that throttles with Retry-After: 60, longer than a send waits inside the call
    stack.sandbox.add_fault("whatsapp", Fault(status=429, count=5, retry_after=60))
    stack.http("POST", f"/api/conversations/{conv['id']}/messages", {"text": "later"}, role="agent")
    # When the sender fails the job
    assert stack.source("SenderFunction").poll_once() == 1
    # Then SQS is told to deliver it again in 60 s, and until then it is not delivered (the poller's own backoff is 0)
    assert asked == [60]
    assert stack.source("SenderFunction").poll_once() == 0
    (reply,) = [m for m in messages(stack, conv["id"]) if m["direction"] == "outbound"]
    assert reply["status"] == "queued" and len(stack.sandbox.outbox) == 1


def test_retry_after_visibility_stays_within_what_sqs_allows(stack):
    from switchboard import queue

    asked: list[int] = []
    aws.sqs().meta.events.register("before-parameter-build.sqs.ChangeMessageVisibility",
                                   lambda params, **_: asked.append(params["VisibilityTimeout"]))
    # An unknown receipt handle: SQS refuses, and that is not an error for the caller (the usual timeout applies)
    assert queue.retry_outbound_after("not-a-handle", 0.2) is False
    queue.retry_outbound_after("not-a-handle", 10**9)
    assert asked == [1, 12 * 3600]


def test_a_large_batch_is_claimed_by_the_processor_and_stored_once(stack):
    from switchboard.services import ingest

    # Given a POST of more events than the webhook claims itself (Meta batches up to 1,000)
    n = ingest.INLINE_CLAIMS + 10
    payload = wa_payload(*[wa_message(f"wamid.big{i}", text=f"line {i}") for i in range(n)])
    assert post(stack, payload).status == 200
    # Then it is enqueued without a claim per event, and a redelivery before processing is enqueued again
    assert stack.items("INBOUND#") == [] and stack.queue_count("InboundQueue") == n
    assert post(stack, payload).status == 200
    assert stack.queue_count("InboundQueue") == 2 * n
    # When the processor has run: each message is stored once, claimed and marked processed
    stack.drain("ProcessorFunction")
    (conv,) = conversations(stack)
    page = stack.http("GET", f"/api/conversations/{conv['id']}/messages", role="agent", query="limit=200").json()
    assert sorted(m["text"] for m in page["items"]) == sorted(f"line {i}" for i in range(n))
    assert len(stack.items("INBOUND#")) == n and all(i.get("processed") for i in stack.items("INBOUND#"))
    # And a provider retry after processing is acknowledged without enqueueing anything
    assert post(stack, payload).status == 200
    assert stack.queue_count("InboundQueue") == 0

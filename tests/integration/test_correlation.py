"""Correlation ids on moto, through the real handlers: a webhook request's id travels on its inbound queue messages,
an agent's reply request's id on its outbound job, and the sender logs that job under it."""

from __future__ import annotations

import json
import logging
import os

import pytest

from infra.local import auth
from infra.local.events import http_event
from tests.integration.test_whatsapp_flow import conversations, signed, wa_message, wa_payload


def with_request_id(event: dict, request_id: str) -> dict:
    event["requestContext"]["requestId"] = request_id
    return event


def queued(stack, queue: str) -> list[dict]:
    """The queue's messages, read without taking them (made visible again at once)."""
    out = stack.clients["sqs"].receive_message(QueueUrl=stack.resolver.refs[queue], MaxNumberOfMessages=10,
                                               VisibilityTimeout=0)
    return [json.loads(m["Body"]) for m in out.get("Messages", [])]


class Lines(logging.Handler):
    """Every record of the functions' Powertools logger, as the JSON line its own formatter writes."""

    def __init__(self, formatter: logging.Formatter):
        super().__init__()
        self.setFormatter(formatter)
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))

    def handled(self) -> list[dict]:
        return [line for line in self.lines if line.get("message") == "outbound handled"]


@pytest.fixture
def logs(stack):
    stack.functions["SenderFunction"].handler()  # its module's Logger() configures the service's logger
    service = logging.getLogger(os.environ["POWERTOOLS_SERVICE_NAME"])
    lines = Lines(service.handlers[0].formatter)
    service.addHandler(lines)
    yield lines
    service.removeHandler(lines)


def test_a_request_id_follows_the_message_through_the_queues_to_the_senders_logs(stack, logs):
    # A webhook request: its id is on every event it enqueued
    raw, headers = signed(wa_payload(wa_message("wamid.c1", text="first"), wa_message("wamid.c2", text="second")))
    event = with_request_id(http_event("POST", "/webhooks/whatsapp", "", headers, raw, "POST /webhooks/whatsapp", {},
                                       None, "127.0.0.1"), "req-webhook-1")
    assert stack.functions["WhatsAppWebhookFunction"].invoke(event)["statusCode"] == 200
    envelopes = queued(stack, "InboundQueue")
    assert len(envelopes) == 2 and {e["correlation_id"] for e in envelopes} == {"req-webhook-1"}
    stack.drain("ProcessorFunction")
    processed = [line for line in logs.lines if line.get("message") == "inbound processed"]
    assert [line.get("correlation_id") for line in processed] == ["req-webhook-1", "req-webhook-1"]  # the processor's too
    (conv,) = conversations(stack)

    # An agent's reply: its request id is on the job, and the sender logs the job under it
    claims = auth.verify(f"Bearer {auth.issue('agent@example.com', 'agent')}")
    path = f"/api/conversations/{conv['id']}/messages"
    reply = with_request_id(http_event("POST", path, "", {"Content-Type": "application/json"},
                                       json.dumps({"text": "On it"}).encode(), "POST /api/conversations/{id}/messages",
                                       {"id": conv["id"]}, claims, "127.0.0.1"), "req-reply-1")
    assert stack.functions["AgentApiFunction"].invoke(reply)["statusCode"] == 202
    (job,) = queued(stack, "OutboundQueue")
    assert job["correlation_id"] == "req-reply-1"
    assert stack.drain("SenderFunction") == 1
    assert [(h["result"], h.get("correlation_id")) for h in logs.handled()] == [("sent", "req-reply-1")]


def test_a_job_without_a_correlation_id_is_logged_without_a_stale_one(stack, logs, monkeypatch):
    # Jobs queued before correlation ids existed (or by a scheduled job) still parse, and carry no earlier job's id
    from switchboard import queue

    raw, headers = signed(wa_payload(wa_message("wamid.c3", text="hello")))
    stack.http("POST", "/webhooks/whatsapp", raw, headers)
    stack.drain("ProcessorFunction")
    (conv,) = conversations(stack)
    stack.http("POST", f"/api/conversations/{conv['id']}/messages", {"text": "one"}, role="agent")
    stack.drain("SenderFunction")
    assert [h.get("correlation_id") for h in logs.handled()] != [None]  # logged under the first reply's request id
    held = []
    monkeypatch.setattr(queue, "send_outbound", held.append)
    second = stack.http("POST", f"/api/conversations/{conv['id']}/messages", {"text": "two"}, role="agent").json()
    monkeypatch.undo()
    (job,) = held
    assert job.correlation_id
    body = json.dumps({"conversation_id": job.conversation_id, "message_id": job.message_id,
                       "created_at": job.created_at})  # as an older sender would have queued it
    stack.clients["sqs"].send_message(QueueUrl=stack.resolver.refs["OutboundQueue"], MessageBody=body,
                                      MessageGroupId=job.conversation_id, MessageDeduplicationId=job.message_id)
    logs.lines.clear()
    assert stack.drain("SenderFunction") == 1
    assert [(h["message_id"], h["result"], h.get("correlation_id")) for h in logs.handled()] == [
        (second["id"], "sent", None)]

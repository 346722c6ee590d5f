"""Faults through the local stack: with 30% of AWS requests failing, hundreds of deliveries (provider retries and
redeliveries included) and their replies lose nothing and double nothing."""

from __future__ import annotations

import collections
import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time

import boto3
import pytest

from infra.local.stack import free_port
from tests.e2e.conftest import LocalStack, running_stack
from tests.e2e.faultproxy import FaultProxy
from tests.integration.test_whatsapp_flow import wa_message, wa_payload

SENDERS = 12
MESSAGES_PER_SENDER = 8  # 96 deliveries retried until accepted, 24 delivered again, under 30% AWS faults
# The same retries, with less waiting between them: the SDK's backoff at 1/50 (one execution environment per
# function spends most of this test asleep otherwise, about 5 minutes), and a sender's lease on a send whose
# outcome was not recorded at 15 s instead of 120 s.
TIME_COMPRESSION = {"LOCAL_AWS_BACKOFF_SCALE": "0.02", "SEND_LEASE_SECONDS": "15"}


def wait_until_listening(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


@contextlib.contextmanager
def moto_server():
    """A moto server of its own, in another process: a clean AWS, not the one this process's other tests used, and
    not sharing this process's interpreter lock with the proxy."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until_listening(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)


@pytest.fixture(scope="module")
def faulty_stack():
    with moto_server() as moto_url, FaultProxy(moto_url) as proxy, running_stack(
            AWS_ENDPOINT_URL=proxy.url, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
            LOCAL_LOG_LEVEL="ERROR", **TIME_COMPRESSION) as stack:
        stack.request("PUT", "/api/settings", {s: {"enabled": False} for s in ("greeting", "away", "auto_reply")},
                      role="admin")
        yield stack, proxy, moto_url


def deliver(stack: LocalStack, payload: dict, attempts: int = 30) -> int:
    """As Meta does: retry until a 2xx (it retries for days; here, quickly)."""
    for attempt in range(attempts):
        status = stack.post_meta("whatsapp", payload).status
        if 200 <= status < 300:
            return attempt
        assert status >= 500, f"a fault must be a 5xx, got {status}"
        time.sleep(0.05)
    raise AssertionError("never accepted")


def redrive(moto_url: str) -> int:
    """What ops do after an incident: move the DLQs' messages back (infra/scripts/redrive-dlq.py in AWS)."""
    sqs = boto3.client("sqs", endpoint_url=moto_url, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    moved = 0
    for url in sqs.list_queues()["QueueUrls"]:
        if "DLQ" not in url:
            continue
        source = url.replace("DLQ", "Queue")
        while True:
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", [])
            if not batch:
                break
            for m in batch:
                extra = {"MessageGroupId": m["Attributes"]["MessageGroupId"],
                         "MessageDeduplicationId": m["MessageId"]} if source.endswith(".fifo") else {}
                sqs.send_message(QueueUrl=source, MessageBody=m["Body"], **extra)
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                moved += 1
    return moved


def idle(stack: LocalStack, timeout: float) -> bool:
    def quiet():
        r = stack.request("GET", "/_local/queues")
        return r.status == 200 and not any(d["visible"] or d["in_flight"] or d["busy"] for d in r.json().values())

    return bool(stack.wait_for(quiet, timeout))


def all_conversations(stack: LocalStack) -> list[dict]:
    items, cursor = [], None
    while True:
        r = stack.request("GET", "/api/conversations?limit=100" + (f"&cursor={cursor}" if cursor else ""), role="agent")
        assert r.status == 200, r
        page = r.json()
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return items


def test_nothing_lost_nothing_doubled_under_30_percent_aws_faults(faulty_stack):
    stack, proxy, moto_url = faulty_stack
    rng = random.Random(3)
    senders = [f"4477{i:07d}" for i in range(SENDERS)]
    expected = {s: [f"msg {s} #{n}" for n in range(MESSAGES_PER_SENDER)] for s in senders}
    payloads = [wa_payload(wa_message(f"wamid.f.{s}.{n}", sender=s, text=text), sender=s, name=f"N{s[-3:]}")
                for s in senders for n, text in enumerate(expected[s])]

    # With AWS failing altogether, the webhook answers 5xx, so that Meta retries (and nothing is half-stored)
    proxy.rate = 1.0
    assert stack.post_meta("whatsapp", payloads[0]).status >= 500
    # Given 30% of AWS requests failing, when Meta delivers (retrying every 5xx, redelivering some)
    proxy.rate = 0.3
    retried = sum(deliver(stack, payload) > 0 for payload in payloads)
    for payload in rng.sample(payloads, len(payloads) // 4):
        deliver(stack, payload)
    idle(stack, 180)  # the processor retries through the faults; what fails five times waits in the DLQ

    # and agents reply to each conversation, the sender retrying through the same faults
    proxy.rate = 0.0
    redrive(moto_url)
    assert idle(stack, 120)
    convs = all_conversations(stack)
    assert len(convs) == SENDERS, "every sender's conversation appears"
    proxy.rate = 0.3
    replies = {}
    for conv in convs:
        for _ in range(30):  # the agent's browser retries what the API refused with a 5xx
            r = stack.request("POST", f"/api/conversations/{conv['id']}/messages", {"text": f"reply to {conv['id']}"},
                              role="agent")
            if r.status == 202:
                replies[conv["id"]] = r.json()["id"]
                break
            assert r.status >= 500, r
    idle(stack, 180)
    proxy.rate = 0.0
    redrive(moto_url)
    assert idle(stack, 120)

    # Then every message is stored exactly once, in its sender's conversation
    for conv in convs:
        texts = [m["text"] for m in stack.messages(conv["id"]) if m["direction"] == "inbound"]
        assert texts, conv["id"]
        sender = next(s for s in senders if texts[0].startswith(f"msg {s} "))
        assert sorted(texts) == sorted(expected[sender]), conv["id"]
    # and no reply went out twice; one that could not be sent says so on the message, with its reason
    sent = collections.Counter(i["body"]["text"]["body"] for i in stack.request("GET", "/_local/outbox").json()["items"])
    assert all(count == 1 for count in sent.values()), [t for t, c in sent.items() if c > 1]
    for conv in convs:
        outbound = [m for m in stack.messages(conv["id"]) if m["direction"] == "outbound"]
        for m in outbound:
            assert m["status"] == "sent" or (m["status"] == "failed" and m["failure_reason"]), m
        # What is marked sent went out; a send that went out but could not be recorded is flagged, not resent
        marked = sum(m["status"] == "sent" for m in outbound)
        unknown = sum(m["status"] == "failed" and "outcome unknown" in m["failure_reason"] for m in outbound)
        assert marked <= sent[f"reply to {conv['id']}"] <= marked + unknown, outbound
    assert len(replies) == SENDERS and sum(sent.values()) >= SENDERS * 0.9
    # The faults really happened; the SDK's own retries absorb most, so few deliveries needed Meta's retry
    assert proxy.counts["failed"] > 100, (proxy.counts, retried)

"""Queue and provider faults on moto, through the real handlers: a consumer that outlives its visibility timeout,
duplicate outbound jobs, a provider answering 429 with Retry-After, a provider down for minutes, poison messages.

Each consumer here is what Lambda's SQS poller would run; where two must run at once, the second is another
execution environment of the same function (its own module instance), as Lambda scales out."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from typing import Any

import pytest

from infra.local.events import sqs_event
from infra.local.lambdas import Function
from infra.local.sandbox import Fault
from infra.local.template import load
from switchboard import clock
from tests.conftest import ROOT
from tests.integration.test_whatsapp_flow import conversations, make_flaky, messages, post, wa_message, wa_payload

GREETING = "Hello! An agent will be with you shortly."


def max_receive_count(queue: str) -> int:
    return int(load(ROOT / "template.yaml")["Resources"][queue]["Properties"]["RedrivePolicy"]["maxReceiveCount"])


def second_environment(fn: Function) -> Function:
    """Another execution environment of the same function: its own lock and its own module globals."""
    return dataclasses.replace(fn, name=f"{fn.name}Env2", lock=threading.Lock(), _handler=None)


def receive(stack, queue: str, visibility: int) -> list[dict[str, Any]]:
    out = stack.clients["sqs"].receive_message(QueueUrl=stack.resolver.refs[queue], MaxNumberOfMessages=10,
                                               VisibilityTimeout=visibility, AttributeNames=["All"],
                                               MessageSystemAttributeNames=["All"])
    return out.get("Messages", [])


def queue_arn(stack, queue: str) -> str:
    return stack.clients["sqs"].get_queue_attributes(QueueUrl=stack.resolver.refs[queue],
                                                     AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def enable_greeting() -> None:
    from switchboard.services import automation_config
    from switchboard.store.table import Table

    automation_config.save(Table(), {"greeting": {"enabled": True, "text": GREETING}})
    automation_config.forget()


def sends(stack, text: str | None = None) -> list[dict[str, Any]]:
    """Provider calls of WhatsApp sends that the provider accepted (answered 200), in order."""
    return [i for i in stack.sandbox.outbox if i["channel"] == "whatsapp" and i["answered"] == 200
            and isinstance(i["body"], dict) and (text is None or i["body"]["text"]["body"] == text)]


def reply(stack, conv_id: str, text: str) -> dict[str, Any]:
    r = stack.http("POST", f"/api/conversations/{conv_id}/messages", {"text": text}, role="agent")
    assert r.status == 202, r
    return r.json()


def outbound(stack, conv_id: str) -> list[dict[str, Any]]:
    return [m for m in messages(stack, conv_id) if m["direction"] == "outbound"]


def one_conversation(stack, wamid: str, sender: str = "15551234567", text: str = "hello") -> dict[str, Any]:
    assert post(stack, wa_payload(wa_message(wamid, sender=sender, text=text), sender=sender)).status == 200
    stack.drain("ProcessorFunction")
    return next(c for c in conversations(stack) if c["last_message"]["text"] == text)


# -- a consumer that outlives its visibility timeout ----------------------------------------------------------------
@pytest.mark.parametrize("stall", ["mid_work", "after_work"])
def test_an_inbound_record_redelivered_while_its_first_consumer_is_stuck_is_stored_and_greeted_once(
        stack, monkeypatch, stall):
    from switchboard.services import automation, processing

    enable_greeting()
    assert post(stack, wa_payload(wa_message("wamid.slow", text="anyone there?"))).status == 200
    # A first consumer gets the record and stalls past the visibility timeout: after storing the message but before
    # the automation step ("mid_work"), or with all its work done but the record not yet deleted ("after_work")
    stalled, release = threading.Event(), threading.Event()
    target, name = (automation, "on_inbound") if stall == "mid_work" else (processing, "process")
    real = getattr(target, name)
    first = {"call": True}

    def stalling(*args, **kwargs):
        if first.pop("call", False):
            if stall == "after_work":
                result = real(*args, **kwargs)
                stalled.set()
                release.wait(10)
                return result
            stalled.set()
            release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(target, name, stalling)
    (record,) = receive(stack, "InboundQueue", visibility=1)
    arn = queue_arn(stack, "InboundQueue")
    results: dict[str, Any] = {}
    slow = threading.Thread(target=lambda: results.setdefault(
        "first", stack.functions["ProcessorFunction"].invoke(sqs_event([record], arn))))
    slow.start()
    assert stalled.wait(10)
    # When the visibility timeout passes, SQS delivers the record again, to another execution environment
    time.sleep(1.2)
    try:
        (again,) = receive(stack, "InboundQueue", visibility=30)
        assert again["MessageId"] == record["MessageId"] and again["Attributes"]["ApproximateReceiveCount"] == "2"
        results["second"] = second_environment(stack.functions["ProcessorFunction"]).invoke(sqs_event([again], arn))
    finally:
        release.set()
        slow.join(10)
    # Then both succeed, the message is stored once, and the customer is greeted once
    assert results == {"first": {"batchItemFailures": []}, "second": {"batchItemFailures": []}}
    stack.clients["sqs"].delete_message(QueueUrl=stack.resolver.refs["InboundQueue"], ReceiptHandle=again["ReceiptHandle"])
    stack.drain("ProcessorFunction")
    stack.drain("SenderFunction")
    (conv,) = conversations(stack)
    assert [m["text"] for m in messages(stack, conv["id"]) if m["direction"] == "inbound"] == ["anyone there?"]
    assert [m["text"] for m in outbound(stack, conv["id"])] == [GREETING]
    assert [i["body"]["to"] for i in sends(stack, GREETING)] == ["15551234567"]


def test_an_outbound_job_redelivered_while_its_send_is_in_flight_is_sent_once(stack, monkeypatch):
    from switchboard.channels.whatsapp import WhatsAppChannel

    conv = one_conversation(stack, "wamid.o1")
    queued = reply(stack, conv["id"], "Your parcel left today.")
    # A first sender invocation claims the reply; the provider takes longer than the job's visibility timeout
    in_flight, release = threading.Event(), threading.Event()
    real = WhatsAppChannel.send

    def slow_send(self, request):
        in_flight.set()
        release.wait(10)
        return real(self, request)

    monkeypatch.setattr(WhatsAppChannel, "send", slow_send)
    (record,) = receive(stack, "OutboundQueue", visibility=1)
    arn = queue_arn(stack, "OutboundQueue")
    results: dict[str, Any] = {}
    slow = threading.Thread(target=lambda: results.setdefault(
        "first", stack.functions["SenderFunction"].invoke(sqs_event([record], arn))))
    slow.start()
    assert in_flight.wait(10)
    # When SQS delivers the job again meanwhile, the second invocation leaves it alone (retried later)
    time.sleep(1.2)
    (again,) = receive(stack, "OutboundQueue", visibility=0)
    try:
        answer = second_environment(stack.functions["SenderFunction"]).invoke(sqs_event([again], arn))
        assert answer == {"batchItemFailures": [{"itemIdentifier": again["MessageId"]}]}  # its only record: retried
        assert [m["status"] for m in outbound(stack, conv["id"])] == ["sending"]
    finally:
        release.set()
        slow.join(10)
    assert results["first"] == {"batchItemFailures": []}
    # Then the later deliveries find it sent: one provider call, one "sent" message
    stack.drain("SenderFunction")
    assert len(sends(stack, "Your parcel left today.")) == 1
    assert [(m["id"], m["status"]) for m in outbound(stack, conv["id"])] == [(queued["id"], "sent")]
    assert stack.queue_count("OutboundQueue") == 0


def test_a_send_cut_off_mid_call_is_never_repeated_blind(stack):
    from switchboard.store import delivery, messages
    from switchboard.store.table import Table

    conv = one_conversation(stack, "wamid.o2")
    queued = reply(stack, conv["id"], "Cut off")
    # An invocation claimed the send and died without an outcome (a timeout kills it mid-call)
    table = Table()
    (message,) = [m for m in (messages.get_message(table, conv["id"], queued["created_at"], queued["id"]),) if m]
    assert delivery.claim_send(table, message, clock.epoch() + 120)
    # While its lease runs, the redelivered job waits; once the lease has expired, it fails saying so
    stack.drain("SenderFunction", max_polls=2)
    assert [m["status"] for m in outbound(stack, conv["id"])] == ["sending"]
    clock.advance(121)
    stack.drain("SenderFunction")
    (failed,) = outbound(stack, conv["id"])
    assert failed["status"] == "failed" and "outcome unknown" in failed["failure_reason"]
    assert sends(stack, "Cut off") == []


# -- duplicate outbound jobs ----------------------------------------------------------------------------------------
def enqueue_again(stack, job_body: str, group: str, dedupe: str) -> None:
    """The same job on the queue once more, past FIFO deduplication (its 5-minute window, or a hand redrive)."""
    stack.clients["sqs"].send_message(QueueUrl=stack.resolver.refs["OutboundQueue"], MessageBody=job_body,
                                      MessageGroupId=group, MessageDeduplicationId=dedupe)


def test_a_job_enqueued_twice_in_one_batch_is_sent_once(stack):
    conv = one_conversation(stack, "wamid.d1")
    queued = reply(stack, conv["id"], "Only once, please")
    job = json.dumps({"conversation_id": conv["id"], "message_id": queued["id"], "created_at": queued["created_at"]})
    enqueue_again(stack, job, conv["id"], "again-1")
    enqueue_again(stack, job, conv["id"], "again-2")
    assert stack.queue_count("OutboundQueue") == 3
    assert stack.drain("SenderFunction") == 3
    assert len(sends(stack, "Only once, please")) == 1
    assert [m["status"] for m in outbound(stack, conv["id"])] == ["sent"]


def test_the_same_job_in_two_execution_environments_at_once_is_sent_once(stack, monkeypatch):
    from switchboard.channels.whatsapp import WhatsAppChannel
    from switchboard.store import delivery
    from switchboard.store.table import Table

    conv = one_conversation(stack, "wamid.d2")
    queued = reply(stack, conv["id"], "Racing")
    job = json.dumps({"conversation_id": conv["id"], "message_id": queued["id"], "created_at": queued["created_at"]})
    enqueue_again(stack, job, f"{conv['id']}-elsewhere", "again-3")  # another group: both are handed out at once
    records = receive(stack, "OutboundQueue", visibility=30)
    assert len(records) == 2
    # DynamoDB applies each conditional write atomically; moto in one process does not, so its calls are serialized
    atomic, real_call = threading.Lock(), Table._call

    def serialized(self, op, **kwargs):
        with atomic:
            return real_call(self, op, **kwargs)

    monkeypatch.setattr(Table, "_call", serialized)
    # Both environments read the message as queued, then both try to claim it at the same moment
    both_read, real_claim = threading.Barrier(2, timeout=10), delivery.claim_send

    def claim_together(*args, **kwargs):
        both_read.wait()
        return real_claim(*args, **kwargs)

    monkeypatch.setattr(delivery, "claim_send", claim_together)
    calls, real_send = [], WhatsAppChannel.send

    def recorded(self, request):
        calls.append(request.message_id)
        return real_send(self, request)

    monkeypatch.setattr(WhatsAppChannel, "send", recorded)
    arn = queue_arn(stack, "OutboundQueue")
    envs = [stack.functions["SenderFunction"], second_environment(stack.functions["SenderFunction"])]
    results: list[Any] = [None, None]
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, envs[i].invoke(sqs_event([records[i]], arn))))
               for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    # Then one claims and sends, the other's claim fails and it leaves the job done: one provider call
    assert results == [{"batchItemFailures": []}] * 2
    assert calls == [queued["id"]] and len(sends(stack, "Racing")) == 1
    assert [m["status"] for m in outbound(stack, conv["id"])] == ["sent"]


# -- a reply whose request fails half-way -----------------------------------------------------------------------------
def test_a_reply_that_could_not_be_queued_is_not_stored_and_the_resend_goes_out_once(stack, monkeypatch):
    conv = one_conversation(stack, "wamid.h1")
    make_flaky(monkeypatch, "sqs", "send_message")
    r = stack.http("POST", f"/api/conversations/{conv['id']}/messages", {"text": "Sent again"}, role="agent")
    assert r.status == 503
    assert outbound(stack, conv["id"]) == [] and stack.queue_count("OutboundQueue") == 0  # nothing left queued
    reply(stack, conv["id"], "Sent again")  # the agent sends it again
    assert stack.drain("SenderFunction") == 1
    assert len(sends(stack, "Sent again")) == 1
    assert [m["status"] for m in outbound(stack, conv["id"])] == ["sent"]


def test_a_reply_queued_but_not_stored_is_never_sent_and_the_resend_goes_out_once(stack, monkeypatch):
    from switchboard.services.sending import STORE_GRACE_SECONDS

    conv = one_conversation(stack, "wamid.h2")
    make_flaky(monkeypatch, "dynamodb", "transact_write_items")
    r = stack.http("POST", f"/api/conversations/{conv['id']}/messages", {"text": "Only the resend"}, role="agent")
    assert r.status == 503
    assert outbound(stack, conv["id"]) == [] and stack.queue_count("OutboundQueue") == 1  # its job, queued first
    source = stack.source("SenderFunction")
    assert source.poll_once() == 1  # the job waits for its message a while
    assert stack.queue_count("OutboundQueue") == 1
    reply(stack, conv["id"], "Only the resend")  # the agent sends it again: behind the first job, in order
    clock.advance(STORE_GRACE_SECONDS)
    assert stack.drain("SenderFunction") == 2  # the first job, given up on, and the resend
    assert len(sends(stack, "Only the resend")) == 1
    assert [m["status"] for m in outbound(stack, conv["id"])] == ["sent"]
    assert stack.queue_count("OutboundQueue") == 0 and stack.queue_count("OutboundDLQ") == 0


def test_a_send_whose_record_fails_at_first_is_still_recorded_sent_and_sent_once(stack, monkeypatch):
    conv = one_conversation(stack, "wamid.h4")
    reply(stack, conv["id"], "Recorded after all")
    # The provider accepts the send, then DynamoDB refuses the first two tries to record it (after the SDK's own)
    make_flaky(monkeypatch, "dynamodb", "transact_write_items", times=2)
    assert stack.drain("SenderFunction") == 1
    assert len(sends(stack, "Recorded after all")) == 1
    (message,) = outbound(stack, conv["id"])
    assert message["status"] == "sent" and stack.queue_count("OutboundQueue") == 0


def test_a_job_that_arrives_before_its_message_is_stored_waits_for_it(stack, monkeypatch):
    from switchboard.store import messages

    conv = one_conversation(stack, "wamid.h3")
    late, real_add = [], messages.add_outbound
    monkeypatch.setattr(messages, "add_outbound", lambda *args, **kwargs: late.append((args, kwargs)))
    reply(stack, conv["id"], "Worth the wait")  # queued; its store is held back
    monkeypatch.setattr(messages, "add_outbound", real_add)
    source = stack.source("SenderFunction")
    assert source.poll_once() == 1 and sends(stack) == []  # no message yet: tried again shortly
    ((args, kwargs),) = late
    real_add(*args, **kwargs)
    clock.advance(5)
    assert stack.drain("SenderFunction") == 1
    assert len(sends(stack, "Worth the wait")) == 1
    assert [m["status"] for m in outbound(stack, conv["id"])] == ["sent"]


# -- a provider answering 429 with Retry-After ------------------------------------------------------------------------
def test_a_short_retry_after_is_waited_in_the_call_then_the_reply_goes_out(stack):
    conv = one_conversation(stack, "wamid.r1")
    stack.sandbox.add_fault("whatsapp", Fault(status=429, count=1, retry_after=1))
    reply(stack, conv["id"], "After a short wait")
    started = time.monotonic()
    assert stack.drain("SenderFunction") == 1  # one delivery of the job: the wait happened inside the call
    assert time.monotonic() - started >= 1.0
    attempts = [i["answered"] for i in stack.sandbox.outbox if i["channel"] == "whatsapp"]
    assert attempts == [429, 200]
    assert [m["status"] for m in outbound(stack, conv["id"])] == ["sent"]


def test_a_long_retry_after_is_honored_across_deliveries_then_the_reply_goes_out(stack):
    # The job comes back after the queue's visibility timeout (180 s); a provider asking for longer is not called
    # again before its time, however often the job is delivered meanwhile.
    conv = one_conversation(stack, "wamid.r2")
    stack.sandbox.add_fault("whatsapp", Fault(status=429, count=1, retry_after=600))
    reply(stack, conv["id"], "After a long wait")
    source = stack.source("SenderFunction")
    for _ in range(3):  # three deliveries, three visibility timeouts apart
        assert source.poll_once() == 1
        clock.advance(180)
    assert [i["answered"] for i in stack.sandbox.outbox if i["channel"] == "whatsapp"] == [429]
    assert [m["status"] for m in outbound(stack, conv["id"])] == ["queued"]
    clock.advance(600 - 3 * 180)
    stack.drain("SenderFunction")
    assert [i["answered"] for i in stack.sandbox.outbox if i["channel"] == "whatsapp"] == [429, 200]
    assert [m["status"] for m in outbound(stack, conv["id"])] == ["sent"]
    assert stack.queue_count("OutboundQueue") == 0 and stack.queue_count("OutboundDLQ") == 0


# -- a provider down for minutes ----------------------------------------------------------------------------------
def test_replies_wait_while_the_provider_is_down_then_go_out_in_order_per_conversation(stack):
    ann = one_conversation(stack, "wamid.p1", sender="15550000001", text="ann here")
    bob = one_conversation(stack, "wamid.p2", sender="15550000002", text="bob here")
    # Given the provider answering 500 to every send for a while
    stack.sandbox.add_fault("whatsapp", Fault(status=500, count=10_000))
    texts = {"15550000001": ["A1", "A2", "A3"], "15550000002": ["B1", "B2"]}
    for a, b in (("A1", "B1"), ("A2", "B2"), ("A3", None)):
        reply(stack, ann["id"], a)
        if b:
            reply(stack, bob["id"], b)
    # When the sender keeps getting the jobs back for five minutes (a delivery a minute)
    source = stack.source("SenderFunction")
    for _ in range(5):
        source.poll_once()
        clock.advance(60)
    assert sends(stack) == []
    for conv in (ann, bob):
        assert {m["status"] for m in outbound(stack, conv["id"])} == {"queued"}
    assert any(i["answered"] == 500 for i in stack.sandbox.outbox)
    # and then the provider is back
    stack.sandbox.faults.clear()
    stack.drain("SenderFunction")
    # Then every reply went out once, each conversation's in the order the agent wrote them
    by_recipient: dict[str, list[str]] = {}
    for item in sends(stack):
        by_recipient.setdefault(item["body"]["to"], []).append(item["body"]["text"]["body"])
    assert by_recipient == texts
    for conv in (ann, bob):
        assert {m["status"] for m in outbound(stack, conv["id"])} == {"sent"}
    assert stack.queue_count("OutboundQueue") == 0 and stack.queue_count("OutboundDLQ") == 0


# -- poison messages --------------------------------------------------------------------------------------------------
class Spy:
    """Wraps a function's invoke: the SQS records of each invocation, by body."""

    def __init__(self, fn: Function):
        self.fn, self.batches = fn, []
        self.real = fn.invoke

    def __call__(self, event: dict[str, Any]) -> Any:
        self.batches.append([r["body"] for r in event["Records"]])
        return self.real(event)


def test_an_inbound_poison_record_does_not_hold_back_its_batch_and_dead_letters_after_max_receives(stack, monkeypatch):
    poison = "this is not an envelope"
    stack.clients["sqs"].send_message(QueueUrl=stack.resolver.refs["InboundQueue"], MessageBody=poison)
    for i in range(3):
        post(stack, wa_payload(wa_message(f"wamid.ok{i}", sender=f"1555000001{i}", text=f"fine {i}"),
                               sender=f"1555000001{i}"))
    spy = Spy(stack.functions["ProcessorFunction"])
    monkeypatch.setattr(stack.functions["ProcessorFunction"], "invoke", spy)
    source = stack.source("ProcessorFunction")
    # The first batch holds the poison and the three good records; the good ones are done after it
    assert source.poll_once() == 4
    assert poison in spy.batches[0] and len(spy.batches[0]) == 4
    assert sorted(c["last_message"]["text"] for c in conversations(stack)) == ["fine 0", "fine 1", "fine 2"]
    assert stack.queue_count("InboundQueue") == 1
    # The poison is tried maxReceiveCount times in all, then waits in the DLQ, body intact
    stack.drain("ProcessorFunction")
    deliveries = sum(batch.count(poison) for batch in spy.batches)
    assert deliveries == max_receive_count("InboundQueue") == 5
    assert stack.queue_count("InboundQueue") == 0
    (dead,) = receive(stack, "InboundDLQ", visibility=0)
    assert dead["Body"] == poison


def test_an_outbound_poison_job_holds_back_only_its_own_conversation(stack, monkeypatch):
    ann = one_conversation(stack, "wamid.x1", sender="15550000021", text="ann again")
    bob = one_conversation(stack, "wamid.x2", sender="15550000022", text="bob again")
    # A job nobody can read, in Ann's conversation, ahead of Bob's reply
    stack.clients["sqs"].send_message(QueueUrl=stack.resolver.refs["OutboundQueue"], MessageBody="{broken",
                                      MessageGroupId=ann["id"], MessageDeduplicationId="poison-1")
    reply(stack, bob["id"], "Bob's answer")
    # When the sender gets them, in one batch, and then until the poison reaches the DLQ
    spy = Spy(stack.functions["SenderFunction"])
    monkeypatch.setattr(stack.functions["SenderFunction"], "invoke", spy)
    assert stack.source("SenderFunction").poll_once() == 2 and "{broken" in spy.batches[0]
    sent_on_first_delivery = len(sends(stack, "Bob's answer"))
    stack.drain("SenderFunction", max_polls=2 * max_receive_count("OutboundQueue"))
    dead = [m["Body"] for m in receive(stack, "OutboundDLQ", visibility=0)]
    # Then Bob's reply went out once, on its first delivery, and the poison alone is in the DLQ
    assert [m["status"] for m in outbound(stack, bob["id"])] == ["sent"] and len(sends(stack, "Bob's answer")) == 1
    assert dead == ["{broken"] and stack.queue_count("OutboundQueue") == 0
    assert sum(batch.count("{broken") for batch in spy.batches) == max_receive_count("OutboundQueue")
    assert sent_on_first_delivery == 1

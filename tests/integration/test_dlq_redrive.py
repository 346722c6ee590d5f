"""The DLQ tooling against the moto stack built from template.yaml: an event that failed five times waits in
InboundDLQ; infra/scripts/redrive-dlq.py shows it without its body and redrives it (SQS StartMessageMoveTask, which
moto does not implement: emulated here as SQS documents it, back to the queue whose redrive policy names the DLQ);
the processor then finishes the half-done work, storing the message and greeting the customer once."""

from __future__ import annotations

import io
import json
import time
from typing import Any

from tests.integration.test_reliability import GREETING, enable_greeting, outbound, sends
from tests.integration.test_whatsapp_flow import conversations, messages, post, wa_message, wa_payload
from tests.template.test_ops_scripts import FakeCloudFormation, redrive_dlq


class MoveTasks:
    """The moto SQS client, plus StartMessageMoveTask and ListMessageMoveTasks as SQS runs them (to the source)."""

    def __init__(self, sqs: Any):
        self.sqs, self.tasks = sqs, []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sqs, name)

    def _source_of(self, dlq_arn: str) -> str:
        for url in self.sqs.list_queues()["QueueUrls"]:
            attrs = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"]).get("Attributes", {})
            policy = attrs.get("RedrivePolicy")
            if policy and json.loads(policy)["deadLetterTargetArn"] == dlq_arn:
                return url
        raise AssertionError(f"no queue dead-letters to {dlq_arn}")

    def start_message_move_task(self, SourceArn: str, DestinationArn: str | None = None, **limits: Any) -> dict:
        dlq_url = self.sqs.get_queue_url(QueueName=SourceArn.rsplit(":", 1)[1])["QueueUrl"]
        target = self._source_of(SourceArn) if DestinationArn is None else None
        assert target, "the script redrives to the source queue (no DestinationArn)"
        moved = 0
        while batch := self.sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10,
                                                AttributeNames=["All"]).get("Messages", []):
            for m in batch:
                self.sqs.send_message(QueueUrl=target, MessageBody=m["Body"])
                self.sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=m["ReceiptHandle"])
                moved += 1
        self.tasks.append({"Status": "COMPLETED", "SourceArn": SourceArn, "ApproximateNumberOfMessagesMoved": moved,
                           "ApproximateNumberOfMessagesToMove": moved, "StartedTimestamp": int(time.time() * 1000)})
        return {"TaskHandle": f"task-{len(self.tasks)}"}

    def list_message_move_tasks(self, SourceArn: str, MaxResults: int = 10) -> dict:
        return {"Results": [t for t in self.tasks if t["SourceArn"] == SourceArn][:MaxResults]}


def stack_queues(stack) -> dict[str, tuple[str, str]]:
    """What the stack's outputs name: each queue's URL and ARN."""
    sqs = stack.clients["sqs"]
    return {name: (stack.resolver.refs[name],
                   sqs.get_queue_attributes(QueueUrl=stack.resolver.refs[name], AttributeNames=["QueueArn"])[
                       "Attributes"]["QueueArn"])
            for name in ("InboundQueue", "InboundDLQ", "OutboundQueue", "OutboundDLQ")}


def script(stack, sqs: Any, *args: str) -> str:
    out = io.StringIO()
    assert redrive_dlq.run(redrive_dlq.parse_args(["--queue", "inbound", "--stage", "dev", *args]),
                           FakeCloudFormation(stack_queues(stack)), sqs, out) == 0
    return out.getvalue()


def test_an_event_dead_lettered_after_five_failures_is_redriven_and_finished_once(stack, monkeypatch):
    from switchboard.store import markers

    enable_greeting()
    monkeypatch.setattr(redrive_dlq, "PEEK_WAIT_SECONDS", 0)
    # Given an event whose processing stores the message, then fails at its last step, on every delivery
    real_mark = markers.mark_processed

    def failing(*args, **kwargs):
        raise RuntimeError("injected: the marker write fails")

    monkeypatch.setattr(markers, "mark_processed", failing)
    assert post(stack, wa_payload(wa_message("wamid.dlq1", text="are you there?"))).status == 200
    stack.drain("ProcessorFunction")
    assert stack.queue_count("InboundQueue") == 0 and stack.queue_count("InboundDLQ") == 1
    sqs = MoveTasks(stack.clients["sqs"])
    # When ops look: the count and the message's metadata, never its body
    peeked = script(stack, sqs, "--peek", "5")
    assert "InboundDLQ of switchboard-dev: 1 waiting" in peeked and "are you there?" not in peeked
    _id, size, receives, *_ = peeked.splitlines()[2].split()
    assert int(size) > 0 and int(receives) >= 5  # it was received five times before it was dead-lettered
    # and, the cause fixed, redrive it
    monkeypatch.setattr(markers, "mark_processed", real_mark)
    assert "redrive started" in script(stack, sqs, "--redrive", "--yes")
    assert stack.queue_count("InboundDLQ") == 0 and stack.queue_count("InboundQueue") == 1
    assert "COMPLETED: 1 of 1 moved" in script(stack, sqs, "--status")
    stack.drain("ProcessorFunction")
    stack.drain("SenderFunction")
    # Then the message is stored once, the customer greeted once, and nothing is left to redrive
    (conv,) = conversations(stack)
    assert [m["text"] for m in messages(stack, conv["id"]) if m["direction"] == "inbound"] == ["are you there?"]
    assert [m["text"] for m in outbound(stack, conv["id"])] == [GREETING] and len(sends(stack, GREETING)) == 1
    assert stack.items("INBOUND#whatsapp#wamid.dlq1")[0]["processed"]
    assert "nothing to redrive" in script(stack, sqs, "--redrive", "--yes")

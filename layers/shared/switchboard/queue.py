"""The queues: inbound events to the processor, outbound jobs to the sender (FIFO per conversation)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from switchboard import aws
from switchboard.errors import ServiceUnavailable
from switchboard.parallel import parallel
from switchboard.settings import get_settings

if TYPE_CHECKING:
    from switchboard.models import EventJob, InboundEnvelope, OutboundJob

SQS_BATCH = 10
MAX_VISIBILITY_SECONDS = 12 * 3600  # SQS's limit


def _call(op: str, **kwargs: Any) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return getattr(aws.sqs(), op)(**kwargs)
    except (BotoCoreError, ClientError) as exc:
        raise ServiceUnavailable(f"SQS {op} failed") from exc


def send_inbound(envelopes: Sequence[InboundEnvelope]) -> None:
    """Enqueue every envelope or raise; entries SQS refused are retried once, then it is an error. Batches of ten go
    side by side (a POST of 1,000 messages is 100 of them)."""
    url = get_settings().inbound_queue_url

    def send(chunk: Sequence[InboundEnvelope]) -> None:
        entries = [{"Id": str(i), "MessageBody": e.model_dump_json(exclude_none=True)} for i, e in enumerate(chunk)]
        for _attempt in range(2):
            failed = _call("send_message_batch", QueueUrl=url, Entries=entries).get("Failed", [])
            if not failed:
                return
            retry = {f["Id"] for f in failed}
            entries = [e for e in entries if e["Id"] in retry]
        raise ServiceUnavailable(f"SQS refused {len(entries)} messages")

    parallel(send, [envelopes[start:start + SQS_BATCH] for start in range(0, len(envelopes), SQS_BATCH)])


def send_outbound(job: OutboundJob) -> None:
    _call("send_message", QueueUrl=get_settings().outbound_queue_url, MessageBody=job.model_dump_json(),
          MessageGroupId=job.conversation_id,
          # rich replies: an agent's retry of a failed reply is a job of its own (one per attempt)
          MessageDeduplicationId=f"{job.message_id}#retry{job.retry}" if job.retry else job.message_id)


def retry_outbound_after(receipt_handle: str, seconds: float) -> bool:
    """Have SQS deliver a failed outbound job again in `seconds` (a provider's Retry-After), not after the queue's
    visibility timeout. Best effort: if SQS refuses, the job simply comes back at the usual time."""
    import math

    visibility = max(1, min(MAX_VISIBILITY_SECONDS, math.ceil(seconds)))
    try:
        _call("change_message_visibility", QueueUrl=get_settings().outbound_queue_url, ReceiptHandle=receipt_handle,
              VisibilityTimeout=visibility)
    except ServiceUnavailable:
        return False
    return True


def send_event(job: EventJob) -> None:
    """growth: an event (or a delivery's retry) for the events function. One SendMessage: publishing never costs
    the work that caused it more than that."""
    _call("send_message", QueueUrl=get_settings().events_queue_url, MessageBody=job.model_dump_json(exclude_none=True))

"""SQS event sources and schedules, as Lambda's pollers and EventBridge Scheduler run them."""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from infra.local.events import scheduled_event, sqs_event
from infra.local.lambdas import FunctionError, Invokable

log = logging.getLogger("local.pollers")
RATE = re.compile(r"rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)")
UNIT = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
# Receipt handles whose visibility a function set itself (the sender honoring a provider's Retry-After). Lambda's
# poller leaves those alone, so the local one must not shorten them with its quick local backoff either.
_SET_BY_FUNCTION: set[str] = set()
_SET_BY_FUNCTION_LOCK = threading.Lock()


def note_set_by_function(receipt_handle: str) -> None:
    """The function itself set this record's visibility (a worker process reports it with its result)."""
    with _SET_BY_FUNCTION_LOCK:
        _SET_BY_FUNCTION.add(receipt_handle)


def _note_visibility_change(params: dict[str, Any], **_: Any) -> None:
    note_set_by_function(str(params.get("ReceiptHandle")))


def watch_function_visibility(sqs_client: Any) -> None:
    """Call with the SQS client in-process functions use (switchboard.aws.sqs()) to notice their visibility changes."""
    sqs_client.meta.events.register("before-parameter-build.sqs.ChangeMessageVisibility", _note_visibility_change,
                                    unique_id="local-function-visibility")


def _set_by_function(receipt_handle: str) -> bool:
    with _SET_BY_FUNCTION_LOCK:
        if receipt_handle in _SET_BY_FUNCTION:
            _SET_BY_FUNCTION.discard(receipt_handle)
            return True
    return False


@dataclass
class SqsSource:
    function: Invokable
    queue_url: str
    queue_arn: str
    batch_size: int
    report_failures: bool
    sqs: Any
    backoff_cap: int = 30  # seconds before a failed record is retried (0: at once, for tests)
    busy: bool = False
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        last_error = ""
        while not self.stop.is_set():
            try:
                self.poll_once(wait=1)
                last_error = ""
            except Exception as exc:  # noqa: BLE001 - Lambda's poller keeps polling whatever happens; so does this one
                error = f"{type(exc).__name__}: {exc}"
                if error != last_error:  # one line per kind of failure, not one a second
                    log.warning("poller for %s failed: %s", self.function.name, error)
                last_error = error
                time.sleep(1)

    def poll_once(self, wait: int = 0) -> int:
        out = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=min(self.batch_size, 10),
                                       WaitTimeSeconds=wait, AttributeNames=["All"], MessageAttributeNames=["All"],
                                       MessageSystemAttributeNames=["All"])
        messages = out.get("Messages", [])
        if not messages:
            return 0
        self.busy = True
        try:
            failed = self._invoke(messages)
            done = [m for m in messages if m["MessageId"] not in failed]
            for start in range(0, len(done), 10):
                self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start:start + 10])])
            for m in messages:
                if m["MessageId"] in failed and not _set_by_function(m["ReceiptHandle"]):
                    # Locally a failed record comes back after a short backoff instead of the full
                    # visibility timeout, so that retries and the DLQ can be seen within seconds.
                    count = int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
                    self.sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"],
                                                       VisibilityTimeout=min(2 ** (count - 1), self.backoff_cap))
        finally:
            self.busy = False
        return len(messages)

    def _invoke(self, messages: list[dict[str, Any]]) -> set[str]:
        ids = {m["MessageId"] for m in messages}
        try:
            result = self.function.invoke(sqs_event(messages, self.queue_arn))
        except FunctionError as exc:  # the worker has logged its error: the batch comes back, as in Lambda
            log.warning("%s failed its batch of %d: %s", self.function.name, len(messages), exc.error_type)
            return ids
        except Exception:  # any error of the function is a failed invocation: the whole batch comes back
            log.exception("%s failed its batch", self.function.name)
            return ids
        if not self.report_failures:
            return set()
        failures = (result or {}).get("batchItemFailures", []) if isinstance(result, dict) else []
        return {f.get("itemIdentifier") for f in failures} & ids


@dataclass
class Schedule:
    function: Invokable
    every_seconds: int
    on_run: Any
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.wait(self.every_seconds):
            try:
                self.on_run(self.function)
            except FunctionError as exc:
                log.warning("scheduled %s failed: %s", self.function.name, exc.error_type)
            except Exception:  # a failed scheduled run is logged; the schedule goes on, as EventBridge's does
                log.exception("scheduled %s failed", self.function.name)


def schedule_seconds(expression: str) -> int | None:
    m = RATE.fullmatch(expression.strip())
    return int(m.group(1)) * UNIT[m.group(2)] if m else None


def run_scheduled(function: Invokable) -> Any:
    return function.invoke(scheduled_event(function.name))

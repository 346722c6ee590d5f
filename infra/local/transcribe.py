"""Amazon Transcribe, locally (issue 17: voicemail transcripts). The AWS stand-in (moto) records a started job but
never transcribes: the stack finishes each job as Transcribe would, then delivers its "Transcribe Job State Change"
event the way the template's EventBridge rules route it.

- COMPLETED: the sandbox's fixed transcript, in Transcribe's output format, written to the job's output location
  (OutputBucketName, OutputKey) with the stack's own credentials: Transcribe's write, not a function's.
- FAILED: a job whose media is not in the bucket, as Transcribe fails it (with a FailureReason).
- Delivery: to each function whose `EventBridgeRule` pattern matches the event, as an asynchronous invocation: an
  error is retried twice (Lambda's default), then logged (deployed, the function's failure destination gets it).
  `finish_jobs(deliver=False)` finishes the jobs and loses their events, as EventBridge might: what TimersFunction's
  check of a job (GetTranscriptionJob) is for.
- A job's state is the emulation's alone: moto would move a job on by itself (to COMPLETED, with no output written)
  whenever it is read, so its jobs are held where they start until `finish_jobs` ends them. That first state names
  no status (GetTranscriptionJob answers without TranscriptionJobStatus), which the check takes as a job under way,
  as it takes QUEUED and IN_PROGRESS.

The local stack runs `run` in a thread (a second between looks); the integration tier calls `finish_jobs` itself.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from infra.local.events import transcribe_event
from infra.local.lambdas import Invokable
from infra.local.sandbox import TRANSCRIPT, transcribe_output
from infra.local.template import Resolver

log = logging.getLogger("local.transcribe")
REGION = "us-east-1"
ASYNC_RETRIES = 2
MEDIA_MISSING = "The media file couldn't be found. Check the media file URI and try your request again."
JOB_MODEL = "transcribe::transcriptionjob"  # moto's name for a job's state (its state manager)


@dataclass
class Target:
    """A function an EventBridge rule of the template invokes, and the rule's event pattern (resolved)."""

    function: Invokable
    pattern: dict[str, Any]


def targets(functions: dict[str, Any], resolver: Resolver) -> list[Target]:
    found = []
    for fn in functions.values():
        for event in fn.events.values():
            if event.get("Type") == "EventBridgeRule":
                found.append(Target(fn, resolver.resolve((event.get("Properties") or {}).get("Pattern") or {})))
    return found


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """EventBridge's matching, as far as the template uses it: every field of the pattern is in the event, a nested
    pattern matches the nested object, and a list matches a value equal to one of its entries or one starting with an
    entry's {"prefix"}."""
    for name, wanted in pattern.items():
        value = event.get(name)
        if isinstance(wanted, dict):
            if not isinstance(value, dict) or not matches(wanted, value):
                return False
        elif not any(_one(entry, value) for entry in (wanted if isinstance(wanted, list) else [wanted])):
            return False
    return True


def _one(entry: Any, value: Any) -> bool:
    if isinstance(entry, dict):
        prefix = entry.get("prefix")
        return isinstance(prefix, str) and isinstance(value, str) and value.startswith(prefix)
    return entry == value


def output_location(job: Any) -> tuple[str, str]:
    """Where Transcribe writes a job's output: OutputKey as given when it names a .json file, else a folder that
    gets `<job name>.json` (no OutputKey: the bucket's top)."""
    name, key = job.transcription_job_name, job.output_key or ""
    if not key.endswith(".json"):
        key = f"{key.rstrip('/')}/{name}.json" if key else f"{name}.json"
    return job._output_bucket_name, key  # moto keeps the bucket in a private attribute, with no getter


@dataclass
class LocalTranscribe:
    targets: list[Target]
    s3: Any  # the stack's S3 client (its own credentials)
    transcript: str = TRANSCRIPT
    done: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.hold_jobs()

    @staticmethod
    def hold_jobs() -> None:
        """moto moves a job on by itself each time it is read (its default: at once to COMPLETED); here it stays
        where it starts until `finish_jobs` ends it, as Transcribe's jobs run until they are done."""
        from moto.moto_api import state_manager

        state_manager.set_transition(JOB_MODEL, {"progression": "manual", "times": 2**62})

    @staticmethod
    def release_jobs() -> None:
        """moto's own way again (for whatever runs in this process after the emulation)."""
        from moto.moto_api import state_manager

        state_manager.unset_transition(JOB_MODEL)

    @staticmethod
    def _backend() -> Any:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.transcribe.models import transcribe_backends

        return transcribe_backends[DEFAULT_ACCOUNT_ID][REGION]

    def pending(self) -> list[str]:
        """Jobs started and not finished yet."""
        return [name for name in list(self._backend().transcriptions) if name not in self.done]

    def finish_jobs(self, deliver: bool = True) -> list[tuple[str, str, Any]]:
        """Finish every job started since the last look and deliver its event: (job, status, each target's result or
        error) per job. With `deliver` False the events are lost (no target gets them; no results)."""
        with self.lock:
            jobs = [job for name, job in list(self._backend().transcriptions.items()) if name not in self.done]
            finished = []
            for job in jobs:
                self.done.add(job.transcription_job_name)
                finished.append((job.transcription_job_name, self._finish(job)))
        return [(name, status, self._deliver(transcribe_event(name, status)) if deliver else [])
                for name, status in finished]

    def _finish(self, job: Any) -> str:
        from botocore.exceptions import ClientError
        from moto.core import DEFAULT_ACCOUNT_ID

        media = str((job.media or {}).get("MediaFileUri", ""))
        bucket, _, key = media.removeprefix("s3://").partition("/")
        try:
            self.s3.head_object(Bucket=bucket, Key=key)
        except ClientError:
            job.status, job.failure_reason = "FAILED", MEDIA_MISSING
            return "FAILED"
        out_bucket, out_key = output_location(job)
        self.s3.put_object(Bucket=out_bucket, Key=out_key, ContentType="application/json",
                           Body=transcribe_output(job.transcription_job_name, DEFAULT_ACCOUNT_ID, self.transcript))
        job.status = "COMPLETED"
        job.completion_time = datetime.now(UTC)
        job.transcript = {"TranscriptFileUri": f"https://s3.{REGION}.amazonaws.com/{out_bucket}/{out_key}"}
        return "COMPLETED"

    def _deliver(self, event: dict[str, Any]) -> list[Any]:
        results: list[Any] = []
        for target in self.targets:
            if not matches(target.pattern, event):
                continue
            for attempt in range(1 + ASYNC_RETRIES):
                try:
                    results.append(target.function.invoke(event))
                    break
                except Exception as exc:  # noqa: BLE001 - as Lambda: a failed asynchronous invocation is retried
                    log.warning("%s failed a transcription event (attempt %d): %s", target.function.name,
                                attempt + 1, type(exc).__name__)
                    if attempt == ASYNC_RETRIES:
                        results.append(exc)
        return results

    def run(self, stop: threading.Event, every_seconds: float = 1.0) -> None:
        while not stop.wait(every_seconds):
            try:
                self.finish_jobs()
            except Exception:  # the emulation keeps going, as Transcribe's events do
                log.exception("finishing transcription jobs failed")

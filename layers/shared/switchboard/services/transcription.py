"""Voicemail transcripts with Amazon Transcribe (issue 17): the job a recording starts once it is in our bucket, and
the job's end (EventBridge "Transcribe Job State Change" -> TranscriptsFunction) adding its words to the call's
message, once.

- The job is named after the call (`<TRANSCRIBE_JOB_PREFIX><CallSid>`, the prefix `switchboard-<stage>-`): a
  redelivered recording starts nothing new (Transcribe answers ConflictException), and the template's rule takes only
  this stage's jobs. It reads the recording and writes Transcribe's JSON to `transcripts/<CallSid>.json` in the media
  bucket, both with the processor's permissions (template.yaml, ProcessorRole).
- The message records the job before it starts (`transcript_status` pending, `transcript_ref` the output's key), so
  that retention and erasure delete the output with the message. Its end is recorded once (completed with the words,
  or failed) by a conditional write: a redelivered event, or a rerun, changes nothing. A failed job is recorded, not
  started again. Output that lands after its message was erased is deleted when its event comes.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from switchboard import aws, observability
from switchboard.channels import voice
from switchboard.errors import ServiceUnavailable
from switchboard.settings import get_settings
from switchboard.store import markers, messages
from switchboard.store import voice as store

if TYPE_CHECKING:
    from switchboard.models import Attachment, Message
    from switchboard.store.table import Table

OUTPUT_PREFIX = "transcripts/"
PENDING, COMPLETED, FAILED = "pending", "completed", "failed"
MAX_TRANSCRIPT_CHARS = 10_000
# Transcribe refuses these for good (an unsupported language, unreadable media): the voicemail is kept, untranscribed.
REFUSALS = frozenset({"BadRequestException"})


def job_name(call_sid: str) -> str:
    return get_settings().transcribe_job_prefix + call_sid


def call_of(job: str) -> str | None:
    """The call a job of ours transcribes (None: not a job this stage started)."""
    prefix = get_settings().transcribe_job_prefix
    call_sid = job[len(prefix):] if job.startswith(prefix) else ""
    return call_sid if voice.CALL_SID.fullmatch(call_sid) else None


def output_key(call_sid: str) -> str:
    return f"{OUTPUT_PREFIX}{call_sid}.json"


def _recording(message: Message) -> Attachment | None:
    return next((a for a in message.attachments if a.kind == "audio" and a.status == "stored" and a.s3_key), None)


# -- the job, started by the processor ------------------------------------------------------------------------------
def start(table: Table, message: Message, language: str) -> str | None:
    """Start transcribing the voicemail's recording (copied to our bucket), once. What happened, or None when there
    is nothing to do (transcribed already, no stored recording, erased meanwhile). Raises ServiceUnavailable when
    Transcribe could not take the job now: the queue delivers the recording again, and its job starts then."""
    from botocore.exceptions import BotoCoreError, ClientError

    recording = _recording(message)
    call_sid = message.provider_message_id or ""
    if message.transcript or message.transcript_status not in (None, PENDING) or recording is None or \
            not voice.CALL_SID.fullmatch(call_sid):
        return None
    key = output_key(call_sid)
    if message.transcript_status is None and not store.start_transcript(
            table, message.conversation_id, message.created_at, message.id, key):
        return None  # erased meanwhile, or another delivery recorded it (and starts the job)
    bucket = get_settings().media_bucket
    # A language with its region (en-US) is Transcribe's language code; a bare one (en) is identified instead.
    spoken: dict[str, Any] = {"LanguageCode": language} if "-" in language else {"IdentifyLanguage": True}
    try:
        aws.transcribe().start_transcription_job(
            TranscriptionJobName=job_name(call_sid), Media={"MediaFileUri": f"s3://{bucket}/{recording.s3_key}"},
            OutputBucketName=bucket, OutputKey=key, **spoken)
    except ClientError as exc:
        code = aws.error_code(exc)
        if code == "ConflictException":  # this call's job exists: started by an earlier delivery
            return "started_already"
        if code in REFUSALS:
            store.finish_transcript(table, message.conversation_id, message.created_at, message.id, FAILED, None)
            observability.count_by_reason("TranscriptsFailed", "voice", "refused")
            return FAILED
        raise ServiceUnavailable(f"Transcribe did not start the job ({code})") from exc
    except BotoCoreError as exc:
        raise ServiceUnavailable("Transcribe could not be reached") from exc
    observability.count_by_channel("TranscriptionsStarted", "voice")
    return "started"


# -- the job's end, from EventBridge --------------------------------------------------------------------------------
def finished(table: Table, job: str, status: str) -> str:
    """A job of ours ended (`status` COMPLETED or FAILED, as Transcribe reports it): its words join the call's message
    (completed), or the message records that it failed. Once: a redelivered event or a rerun changes nothing."""
    call_sid = call_of(job)
    if call_sid is None or status not in ("COMPLETED", "FAILED"):
        observability.count_by_reason("EventsIgnored", "voice", "not_our_transcription")
        return "ignored"
    key = output_key(call_sid)
    message = _message_of(table, call_sid)
    if message is None:  # erased (or never filed): its words are not kept either
        _delete_output(key)
        observability.count_by_reason("EventsDropped", "voice", "transcript_of_unknown_call")
        return "dropped"
    if message.transcript_status != PENDING:
        return "stale"  # its end is recorded already
    if status == "FAILED":
        return _record(table, message, FAILED, None, key, reason="job_failed")
    words = _words(key)
    if words is None:  # no output, or not Transcribe's: nothing to show, and nothing to wait for
        return _record(table, message, FAILED, None, key, reason="unreadable_output")
    return _record(table, message, COMPLETED, words, key)


def _message_of(table: Table, call_sid: str) -> Message | None:
    """The call's one message, where every event of the call found it (services/voice.py: the call's marker)."""
    call = markers.get(table, "voice", voice.call_key(call_sid)) or {}
    conv_id, created_at, msg_id = (call.get(k) for k in ("conversation_id", "message_created_at", "message_id"))
    if not call.get("processed") or "-" in (conv_id, created_at, msg_id) or not (conv_id and created_at and msg_id):
        return None
    return messages.get_message(table, str(conv_id), str(created_at), str(msg_id))


def _record(table: Table, message: Message, status: str, words: str | None, key: str, reason: str = "") -> str:
    from switchboard.services import push

    if not store.finish_transcript(table, message.conversation_id, message.created_at, message.id, status, words):
        if messages.get_message(table, message.conversation_id, message.created_at, message.id) is None:
            _delete_output(key)  # erased while the words were read
            return "dropped"
        return "stale"  # another delivery of the event recorded it first
    if status == COMPLETED:
        observability.count_by_channel("TranscriptsStored", "voice")
    else:
        observability.count_by_reason("TranscriptsFailed", "voice", reason)
    push.transcript_changed(table, message.conversation_id, message.id, status)
    return "transcribed" if status == COMPLETED else status


def _words(key: str) -> str | None:
    """The transcript in Transcribe's output (`results.transcripts[].transcript`), capped; "" when nothing was said,
    None when the output is missing or not Transcribe's."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        body = aws.s3().get_object(Bucket=get_settings().media_bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if aws.error_code(exc) in ("NoSuchKey", "404"):
            return None
        raise ServiceUnavailable("S3 get failed") from exc  # the event is delivered again (Lambda's retries)
    except BotoCoreError as exc:
        raise ServiceUnavailable("S3 get failed") from exc
    return words_of(body)


def words_of(body: bytes) -> str | None:
    """Transcribe's output document: one transcript per audio channel (one for a call recording), joined."""
    try:
        parts = json.loads(body)["results"]["transcripts"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(parts, list) or not all(isinstance(p, dict) and isinstance(p.get("transcript"), str)
                                              for p in parts):
        return None
    return " ".join(p["transcript"].strip() for p in parts).strip()[:MAX_TRANSCRIPT_CHARS]


def _delete_output(key: str) -> None:
    from switchboard.store import erasure

    erasure.delete_objects([key])

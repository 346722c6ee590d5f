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
- Nothing waits for an event that never comes (EventBridge failing to deliver it past its retries, a rule broken
  during a deploy): the job's start also puts a check in the DueIndex (`DUE#transcript`, 15 minutes on), and
  TimersFunction asks Transcribe about the job then. An ended job's end is recorded as its event would record it; a
  job still running is asked about again 15 minutes later, until 6 hours after it started (then recorded failed,
  `timed_out`); a job Transcribe does not know is recorded failed (`job_missing`). A voicemail whose end was recorded
  (its event came) just loses its check.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from switchboard import aws, clock, observability
from switchboard.channels import voice
from switchboard.errors import ServiceUnavailable
from switchboard.settings import get_settings
from switchboard.store import due, markers, messages
from switchboard.store import voice as store

if TYPE_CHECKING:
    from switchboard.models import Attachment, Message
    from switchboard.store.table import Table

OUTPUT_PREFIX = "transcripts/"
PENDING, COMPLETED, FAILED = "pending", "completed", "failed"
MAX_TRANSCRIPT_CHARS = 10_000
# Transcribe refuses these for good (an unsupported language, unreadable media): the voicemail is kept, untranscribed.
REFUSALS = frozenset({"BadRequestException"})
ENDS = ("COMPLETED", "FAILED")
# The check of a job whose end's event did not come (TimersFunction): first after CHECK_EVERY, then as often while the
# job runs, until GIVE_UP_AFTER since it started. GetTranscriptionJob answers these for a job it does not know.
CHECK_EVERY, GIVE_UP_AFTER = timedelta(minutes=15), timedelta(hours=6)
UNKNOWN_JOB = frozenset({"BadRequestException", "NotFoundException"})


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
    job = job_name(call_sid)
    try:
        aws.transcribe().start_transcription_job(
            TranscriptionJobName=job, Media={"MediaFileUri": f"s3://{bucket}/{recording.s3_key}"},
            OutputBucketName=bucket, OutputKey=key, **spoken)
    except ClientError as exc:
        code = aws.error_code(exc)
        if code in REFUSALS:
            store.finish_transcript(table, message.conversation_id, message.created_at, message.id, FAILED, None)
            observability.count_by_reason("TranscriptsFailed", "voice", "refused")
            return FAILED
        if code != "ConflictException":
            raise ServiceUnavailable(f"Transcribe did not start the job ({code})") from exc
        outcome = "started_already"  # this call's job exists: started by an earlier delivery
    except BotoCoreError as exc:
        raise ServiceUnavailable("Transcribe could not be reached") from exc
    else:
        outcome = "started"
        observability.count_by_channel("TranscriptionsStarted", "voice")
    # Its check, in case the job's end never reaches TranscriptsFunction (put once: a redelivery keeps the first)
    now = clock.now()
    due.schedule_transcript_check(table, message.conversation_id, message.created_at, message.id, job,
                                  clock.iso(now + CHECK_EVERY), clock.iso(now))
    return outcome


# -- the job's end, from EventBridge --------------------------------------------------------------------------------
def finished(table: Table, job: str, status: str) -> str:
    """A job of ours ended (`status` COMPLETED or FAILED, as Transcribe reports it): its words join the call's message
    (completed), or the message records that it failed. Once: a redelivered event or a rerun changes nothing."""
    call_sid = call_of(job)
    if call_sid is None or status not in ENDS:
        observability.count_by_reason("EventsIgnored", "voice", "not_our_transcription")
        return "ignored"
    return _ended(table, call_sid, _message_of(table, call_sid), status)


def _ended(table: Table, call_sid: str, message: Message | None, status: str) -> str:
    """The call's job ended (`status` one of ENDS): recorded on its message (None: gone), once. The event's way
    (`finished`) and the check's (`check`) both come here."""
    key = output_key(call_sid)
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


# -- the check, when the job's end did not come (TimersFunction) ---------------------------------------------------
def check(table: Table, entry: dict[str, Any]) -> bool:
    """A due check of one voicemail's transcription (`due.schedule_transcript_check`): its end recorded if the job
    ended (as its event would have), or failed if it ran too long or Transcribe does not know it; asked again later
    while it runs. True when this check recorded the end. Raises ServiceUnavailable when Transcribe or S3 could not
    answer now: the entry stays due, and the next run asks again."""
    from botocore.exceptions import BotoCoreError, ClientError

    message = messages.get_message(table, str(entry["conversation_id"]), str(entry["message_created_at"]),
                                   str(entry["message_id"]))
    job = str(entry["transcription_job"])
    call_sid = call_of(job)
    if message is None and call_sid is not None:  # erased meanwhile: whatever output there is goes too
        _delete_output(output_key(call_sid))
    if call_sid is None or message is None or message.transcript_status != PENDING:
        due.take(table, entry)  # erased, or its end is recorded already (its event came)
        return False
    try:
        found = aws.transcribe().get_transcription_job(TranscriptionJobName=job).get("TranscriptionJob") or {}
        status = str(found.get("TranscriptionJobStatus") or "")  # anything but an end: still under way
    except ClientError as exc:
        code = aws.error_code(exc)
        if code not in UNKNOWN_JOB:
            raise ServiceUnavailable(f"Transcribe did not answer ({code})") from exc
        status = "MISSING"  # deleted, or never started
    except BotoCoreError as exc:
        raise ServiceUnavailable("Transcribe could not be reached") from exc
    key = output_key(call_sid)
    if status in ENDS:
        outcome = _ended(table, call_sid, message, status)
        if outcome in ("transcribed", FAILED):
            observability.count_by_channel("TranscriptEventsMissed", "voice")  # lost, or later than the check
    elif status == "MISSING":
        outcome = _record(table, message, FAILED, None, key, reason="job_missing")
    elif clock.now() - clock.parse_iso(str(entry["since"])) >= GIVE_UP_AFTER:
        outcome = _record(table, message, FAILED, None, key, reason="timed_out")
    else:  # queued or in progress: asked again later
        due.postpone(table, entry, due.TRANSCRIPT, clock.iso(clock.now() + CHECK_EVERY))
        return False
    due.take(table, entry)
    return outcome in ("transcribed", FAILED)


def run_checks(table: Table) -> dict[str, int]:
    """TimersFunction: every transcription check due (`jobs.run`: one failure never stops the run)."""
    from switchboard.services import jobs

    return jobs.run(due.TRANSCRIPT, check, table)

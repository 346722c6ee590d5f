"""Voicemail transcripts (issue 17), services/transcription.py on the template's table and a bucket in moto, with a
fake Amazon Transcribe client: the job started once (named after the call, in the configured language, its output
in our bucket), the job's end recorded once (the words, or a failure), output of an erased call deleted; and the
check TimersFunction makes of a job whose end's event did not come (recorded as the event would, asked again while
it runs, given up after 6 hours, a job Transcribe does not know recorded failed, an outage left for the next run)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from switchboard import aws, clock
from switchboard.errors import ServiceUnavailable
from switchboard.models import Attachment, Message
from switchboard.services import transcription
from switchboard.store import due, keys, markers, messages
from switchboard.store.table import Table
from tests.conftest import TEST_INFRASTRUCTURE
from tests.support.dynamodb import template_table

BUCKET = TEST_INFRASTRUCTURE["MEDIA_BUCKET"]
CALL = "CA" + "5" * 32
JOB = f"switchboard-test-{CALL}"
OUTPUT = f"transcripts/{CALL}.json"
RECORDING_KEY = "media/cv_1/m_1/0"


class FakeTranscribe:
    """StartTranscriptionJob and GetTranscriptionJob as Transcribe answers them: recorded, or the error it is told to
    raise; a started job's state is `status` (QUEUED until a test ends it)."""

    def __init__(self) -> None:
        self.started: list[dict[str, Any]] = []
        self.error: str | None = None
        self.status = "QUEUED"
        self.asked: list[str] = []
        self.get_error: str | None = None

    def get_transcription_job(self, TranscriptionJobName: str) -> dict[str, Any]:
        self.asked.append(TranscriptionJobName)
        if self.get_error:
            raise ClientError({"Error": {"Code": self.get_error, "Message": "no"}}, "GetTranscriptionJob")
        if not any(r["TranscriptionJobName"] == TranscriptionJobName for r in self.started):
            raise ClientError({"Error": {"Code": "BadRequestException", "Message": "The requested job couldn't be "
                                         "found. Check the job name and try your request again."}},
                              "GetTranscriptionJob")
        return {"TranscriptionJob": {"TranscriptionJobName": TranscriptionJobName,
                                     "TranscriptionJobStatus": self.status}}

    def start_transcription_job(self, **request: Any) -> dict[str, Any]:
        if self.error:
            raise ClientError({"Error": {"Code": self.error, "Message": "no"}}, "StartTranscriptionJob")
        if any(r["TranscriptionJobName"] == request["TranscriptionJobName"] for r in self.started):
            raise ClientError({"Error": {"Code": "ConflictException", "Message": "exists"}}, "StartTranscriptionJob")
        self.started.append(request)
        return {"TranscriptionJob": {"TranscriptionJobName": request["TranscriptionJobName"]}}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, settings_env) -> FakeTranscribe:
    settings_env(TRANSCRIBE_JOB_PREFIX="switchboard-test-", POWERTOOLS_METRICS_NAMESPACE="Switchboard/test")
    client = FakeTranscribe()
    monkeypatch.setattr(aws, "transcribe", lambda: client)
    return client


@pytest.fixture
def table(fake):
    with template_table():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        yield Table()


def voicemail(table: Table, recording: str = "stored") -> Message:
    """A call's voicemail as the processor files it, and the call's marker that leads to it."""
    message = Message(id="m_1", conversation_id="cv_1", direction="inbound", channel="voice", type="audio",
                      created_at=clock.iso(clock.now()), status="received", provider_message_id=CALL,
                      attachments=[Attachment(kind="audio", mime_type="audio/x-wav", status=recording,
                                              s3_key=RECORDING_KEY if recording == "stored" else None)])
    messages.add_note(table, message)
    markers.claim_inbound(table, "voice", f"call#{CALL}", message.created_at, clock.epoch() + 3600)
    markers.mark_processed(table, "voice", f"call#{CALL}", message.conversation_id, message.created_at, message.id)
    return message


def stored(table: Table, message: Message) -> Message | None:
    return messages.get_message(table, message.conversation_id, message.created_at, message.id)


def output(words: str | None = "Call me back, please.", *parts: str) -> bytes:
    transcripts = [{"transcript": w} for w in ((words,) if words is not None else ()) + parts]
    return json.dumps({"jobName": JOB, "status": "COMPLETED", "results": {"transcripts": transcripts,
                                                                         "items": []}}).encode()


def put_output(body: bytes) -> None:
    boto3.client("s3", region_name="us-east-1").put_object(Bucket=BUCKET, Key=OUTPUT, Body=body)


def keys_in_bucket() -> list[str]:
    listed = boto3.client("s3", region_name="us-east-1").list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return [o["Key"] for o in listed]


# -- names -----------------------------------------------------------------------------------------------------------
def test_a_job_is_named_after_its_call_and_only_this_stages_jobs_are_ours(fake):
    assert transcription.job_name(CALL) == JOB and transcription.call_of(JOB) == CALL
    assert transcription.output_key(CALL) == OUTPUT
    for other in (f"switchboard-prod-{CALL}", "switchboard-test-CAnotasid", f"x{JOB}", ""):
        assert transcription.call_of(other) is None


@pytest.mark.parametrize(("body", "words"), [
    (output("Call me back, please."), "Call me back, please."),
    (output("Part one.", "Part two."), "Part one. Part two."),  # one transcript per channel: joined
    (output("  "), ""),  # nothing was said
    (output("x" * 20_000), "x" * transcription.MAX_TRANSCRIPT_CHARS),
    (b"not json", None),
    (json.dumps({"results": {}}).encode(), None),
    (json.dumps({"results": {"transcripts": "no"}}).encode(), None),
])
def test_the_words_are_read_from_transcribes_output(body, words):
    assert transcription.words_of(body) == words


# -- starting ----------------------------------------------------------------------------------------------------------
def test_the_recording_in_our_bucket_is_transcribed_once_in_the_configured_language(table, fake):
    message = voicemail(table)
    assert transcription.start(table, message, "de-DE") == "started"
    assert fake.started == [{"TranscriptionJobName": JOB, "Media": {"MediaFileUri": f"s3://{BUCKET}/{RECORDING_KEY}"},
                             "OutputBucketName": BUCKET, "OutputKey": OUTPUT, "LanguageCode": "de-DE"}]
    pending = stored(table, message)
    assert pending is not None and (pending.transcript_status, pending.transcript_ref) == ("pending", OUTPUT)
    # A redelivered recording: Transcribe has the job already, nothing new
    assert transcription.start(table, pending, "de-DE") == "started_already" and len(fake.started) == 1


def test_a_language_without_its_region_is_identified(table, fake):
    transcription.start(table, voicemail(table), "fr")
    (request,) = fake.started
    assert request["IdentifyLanguage"] is True and "LanguageCode" not in request


def test_nothing_is_started_without_a_stored_recording_or_for_an_erased_message(table, fake):
    assert transcription.start(table, voicemail(table, recording="failed"), "en-US") is None
    gone = voicemail(table).model_copy(update={"id": "m_gone"})  # never stored (erased)
    assert transcription.start(table, gone, "en-US") is None
    assert fake.started == []


def test_a_refused_job_is_recorded_failed_and_a_transcribe_outage_is_retried(table, fake):
    message = voicemail(table)
    fake.error = "LimitExceededException"
    with pytest.raises(ServiceUnavailable):
        transcription.start(table, message, "en-US")
    pending = stored(table, message)
    assert pending is not None and pending.transcript_status == "pending"  # the queue delivers the recording again
    fake.error = "BadRequestException"  # an unsupported language, say: for good
    assert transcription.start(table, pending, "xx-XX") == "failed"
    failed = stored(table, message)
    assert failed is not None and failed.transcript_status == "failed"
    fake.error = None
    assert transcription.start(table, failed, "en-US") is None and fake.started == []


# -- the job's end -------------------------------------------------------------------------------------------------
def test_a_completed_job_adds_its_words_once(table, fake):
    message = voicemail(table)
    transcription.start(table, message, "en-US")
    put_output(output("Call me back, please."))
    assert transcription.finished(table, JOB, "COMPLETED") == "transcribed"
    done = stored(table, message)
    assert done is not None and (done.transcript, done.transcript_status) == ("Call me back, please.", "completed")
    # A redelivered event, or the same event after other words somehow: the first words stay
    put_output(output("Something else."))
    assert transcription.finished(table, JOB, "COMPLETED") == "stale"
    assert transcription.finished(table, JOB, "FAILED") == "stale"
    again = stored(table, message)
    assert again is not None and (again.transcript, again.transcript_status) == ("Call me back, please.", "completed")
    assert keys_in_bucket() == [OUTPUT]  # kept with the message (deleted with it)


def test_a_silent_voicemail_completes_without_words(table, fake):
    message = voicemail(table)
    transcription.start(table, message, "en-US")
    put_output(output(""))
    assert transcription.finished(table, JOB, "COMPLETED") == "transcribed"
    done = stored(table, message)
    assert done is not None and (done.transcript, done.transcript_status) == (None, "completed")


@pytest.mark.parametrize("body", [None, b"<html>not Transcribe's</html>"])
def test_a_failed_job_or_unreadable_output_is_recorded_failed(table, fake, body):
    message = voicemail(table)
    transcription.start(table, message, "en-US")
    if body is not None:
        put_output(body)
    assert transcription.finished(table, JOB, "FAILED" if body is None else "COMPLETED") == "failed"
    failed = stored(table, message)
    assert failed is not None and (failed.transcript, failed.transcript_status) == (None, "failed")


def test_output_of_an_erased_call_is_deleted(table, fake):
    message = voicemail(table)
    transcription.start(table, message, "en-US")
    Table().delete({"pk": f"CONV#{message.conversation_id}",
                    "sk": f"MSG#{message.created_at}#{message.id}"})  # erased meanwhile (the marker stays)
    put_output(output())
    assert transcription.finished(table, JOB, "COMPLETED") == "dropped"
    assert keys_in_bucket() == []


def test_events_that_are_not_ours_or_not_an_end_are_ignored(table, fake):
    put_output(output())
    assert transcription.finished(table, f"switchboard-prod-{CALL}", "COMPLETED") == "ignored"
    assert transcription.finished(table, JOB, "IN_PROGRESS") == "ignored"
    assert keys_in_bucket() == [OUTPUT]


# -- the check of a job whose end's event did not come (TimersFunction) ----------------------------------------------
def check_entry(table: Table, message: Message) -> dict[str, Any] | None:
    return table.get(keys.transcript_check(message.conversation_id, message.id), consistent=True)


def due_checks(table: Table, after_minutes: float = 0) -> list[dict[str, Any]]:
    clock.advance(after_minutes * 60)
    return list(due.due_items(table, due.TRANSCRIPT))


def test_a_started_job_is_checked_15_minutes_on_and_a_redelivery_keeps_its_one_check(table, fake):
    message = voicemail(table)
    started_at = clock.now()
    assert transcription.start(table, message, "en-US") == "started"
    ended_at = clock.now()
    entry = check_entry(table, message)
    assert entry is not None and entry["sk"] == f"DUE#transcript#{message.id}"
    assert {k: entry[k] for k in ("job", "conversation_id", "message_created_at", "message_id",
                                  "transcription_job")} == {
        "job": "transcript", "conversation_id": "cv_1", "message_created_at": message.created_at,
        "message_id": "m_1", "transcription_job": JOB}
    assert started_at - timedelta(milliseconds=1) <= clock.parse_iso(entry["since"]) <= ended_at
    assert entry["due_pk"] == "DUE#transcript"
    assert clock.parse_iso(entry["due_sk"].split("#")[0]) - clock.parse_iso(entry["since"]) == timedelta(minutes=15)
    assert due_checks(table) == [] and due_checks(table, 15) != []
    # A redelivered recording (Transcribe has the job): the same key, its first time kept
    pending = stored(table, message)
    assert pending is not None and transcription.start(table, pending, "en-US") == "started_already"
    assert check_entry(table, message) == entry


def test_a_refused_or_untried_job_has_no_check(table, fake):
    message = voicemail(table)
    fake.error = "LimitExceededException"  # not started: the queue delivers the recording again
    with pytest.raises(ServiceUnavailable):
        transcription.start(table, message, "en-US")
    assert check_entry(table, message) is None
    fake.error = "BadRequestException"  # refused for good: recorded failed, nothing to check
    pending = stored(table, message)
    assert pending is not None and transcription.start(table, pending, "xx-XX") == "failed"
    assert check_entry(table, message) is None


def test_a_completed_job_whose_event_was_lost_is_recorded_once_by_the_check(table, fake, capsys):
    message = voicemail(table)
    transcription.start(table, message, "en-US")
    put_output(output("Call me back, please."))
    fake.status = "COMPLETED"
    assert transcription.run_checks(table) == {"due": 0, "done": 0, "errors": 0}  # not before its time
    clock.advance(15 * 60)
    assert transcription.run_checks(table) == {"due": 1, "done": 1, "errors": 0}
    done = stored(table, message)
    assert done is not None and (done.transcript, done.transcript_status) == ("Call me back, please.", "completed")
    assert check_entry(table, message) is None and fake.asked == [JOB]
    assert transcription.run_checks(table) == {"due": 0, "done": 0, "errors": 0}
    # The event after all: recorded already
    assert transcription.finished(table, JOB, "COMPLETED") == "stale"
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert [m["TranscriptEventsMissed"] for m in metrics if "TranscriptEventsMissed" in m] == [[1.0]]
    assert "Call me back" not in json.dumps(metrics)


def test_a_failed_job_whose_event_was_lost_is_recorded_failed(table, fake):
    message = voicemail(table)
    transcription.start(table, message, "en-US")
    fake.status = "FAILED"
    clock.advance(15 * 60)
    assert transcription.run_checks(table)["done"] == 1
    failed = stored(table, message)
    assert failed is not None and failed.transcript_status == "failed" and check_entry(table, message) is None


def test_a_job_still_running_is_asked_about_again_later(table, fake):
    message = voicemail(table)
    transcription.start(table, message, "en-US")
    for status in ("QUEUED", "IN_PROGRESS"):
        fake.status = status
        (entry,) = due_checks(table, 15)
        asked_at = clock.now()
        assert transcription.check(table, entry) is False
        moved = check_entry(table, message)
        assert moved is not None and moved["since"] == entry["since"]
        again = clock.parse_iso(moved["due_sk"].split("#")[0]) - timedelta(minutes=15)
        assert asked_at - timedelta(milliseconds=1) <= again <= clock.now()  # 15 minutes on from the check
        assert due_checks(table) == []  # not due again until then
    pending = stored(table, message)
    assert pending is not None and pending.transcript_status == "pending"
    put_output(output("Later words."))
    fake.status = "COMPLETED"
    (entry,) = due_checks(table, 15)
    assert transcription.check(table, entry) is True
    done = stored(table, message)
    assert done is not None and done.transcript == "Later words."


def test_a_job_running_past_six_hours_is_recorded_timed_out(table, fake, capsys):
    message = voicemail(table)
    transcription.start(table, message, "en-US")
    fake.status = "IN_PROGRESS"
    clock.advance(6 * 3600 - 60)
    (entry,) = due_checks(table)
    assert transcription.check(table, entry) is False  # 5 h 59 min: asked again later
    (entry,) = due_checks(table, 15)
    assert transcription.check(table, entry) is True
    failed = stored(table, message)
    assert failed is not None and (failed.transcript, failed.transcript_status) == (None, "failed")
    assert check_entry(table, message) is None
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert [(m["reason"], m["TranscriptsFailed"]) for m in metrics if "TranscriptsFailed" in m] == [
        ("timed_out", [1.0])]


@pytest.mark.parametrize("code", ["BadRequestException", "NotFoundException"])
def test_a_job_transcribe_does_not_know_is_recorded_failed(table, fake, code, capsys):
    message = voicemail(table)
    transcription.start(table, message, "en-US")
    fake.started.clear()  # deleted (or Transcribe forgot it)
    if code != "BadRequestException":
        fake.get_error = code
    clock.advance(15 * 60)
    assert transcription.run_checks(table) == {"due": 1, "done": 1, "errors": 0}
    failed = stored(table, message)
    assert failed is not None and failed.transcript_status == "failed" and check_entry(table, message) is None
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert [m["reason"] for m in metrics if "TranscriptsFailed" in m] == ["job_missing"]


@pytest.mark.parametrize("code", ["ThrottlingException", "LimitExceededException", "InternalFailureException"])
def test_a_transcribe_outage_leaves_the_check_for_the_next_run(table, fake, code):
    message = voicemail(table)
    transcription.start(table, message, "en-US")
    fake.get_error = code
    clock.advance(15 * 60)
    assert transcription.run_checks(table) == {"due": 1, "done": 0, "errors": 1}
    pending = stored(table, message)
    assert pending is not None and pending.transcript_status == "pending"
    assert due_checks(table) != []  # still due: the next run asks again
    fake.get_error, fake.status = None, "FAILED"
    assert transcription.run_checks(table) == {"due": 1, "done": 1, "errors": 0}


def test_an_unreachable_transcribe_is_an_outage_too(table, fake, monkeypatch):
    from botocore.exceptions import EndpointConnectionError

    message = voicemail(table)
    transcription.start(table, message, "en-US")

    def unreachable(**_: Any) -> dict[str, Any]:
        raise EndpointConnectionError(endpoint_url="https://transcribe.us-east-1.amazonaws.com")

    monkeypatch.setattr(fake, "get_transcription_job", unreachable)
    assert transcription.run_checks(table) == {"due": 0, "done": 0, "errors": 0}
    clock.advance(15 * 60)
    assert transcription.run_checks(table) == {"due": 1, "done": 0, "errors": 1}
    assert check_entry(table, message) is not None


def test_a_voicemail_whose_event_came_loses_its_check_without_asking_transcribe(table, fake):
    message = voicemail(table)
    transcription.start(table, message, "en-US")
    put_output(output())
    assert transcription.finished(table, JOB, "COMPLETED") == "transcribed"
    clock.advance(15 * 60)
    assert transcription.run_checks(table) == {"due": 1, "done": 0, "errors": 0}
    assert check_entry(table, message) is None and fake.asked == []


def test_the_check_of_an_erased_voicemail_deletes_its_output_and_itself(table, fake):
    message = voicemail(table)
    transcription.start(table, message, "en-US")
    put_output(output())
    Table().delete(keys.message(message.conversation_id, message.created_at, message.id))
    clock.advance(15 * 60)
    assert transcription.run_checks(table) == {"due": 1, "done": 0, "errors": 0}
    assert check_entry(table, message) is None and keys_in_bucket() == [] and fake.asked == []

"""Voicemail (issue 17) through the real handlers on moto: a call answered with TwiML, its recording copied from
the provider sandbox into the media bucket, under the caller's SMS contact, then transcribed by Amazon Transcribe (the
local emulation: moto's job finished with the sandbox's transcript, its EventBridge event delivered to
TranscriptsFunction); a call that leaves nothing a missed-call entry; either order of callbacks one message;
redeliveries stored once, the transcript added once; a failed job recorded; retention and erasure take the
transcription's output. A job whose event is lost on the way is checked by TimersFunction (GetTranscriptionJob, 15
minutes on): its words stored once, a job still running asked about again, one past six hours or unknown to
Transcribe recorded failed; retention and erasure take the check too."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from infra.local.sandbox import TRANSCRIPT
from switchboard.channels.sms import twilio_signature
from tests.conftest import TEST_SECRETS
from tests.integration.test_telegram_sms_flow import sms
from tests.integration.test_whatsapp_flow import conversations, messages

PUBLIC = TEST_SECRETS["PUBLIC_BASE_URL"]
ACCOUNT = TEST_SECRETS["TWILIO_ACCOUNT_SID"]
CALLER, CALLED = "+15551234567", "+15550001111"
CALL = "CA" + "a" * 32
RECORDING = "RE" + "b" * 32


def twilio(stack, url: str, params: dict[str, str], token: str = TEST_SECRETS["TWILIO_AUTH_TOKEN"]):
    """POST a form to a full public URL (with its query), signed as Twilio signs it."""
    parts = urlsplit(url)
    signature = twilio_signature(token, url, {k: [v] for k, v in params.items()})
    return stack.http("POST", parts.path, urlencode(params).encode(),
                      {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
                      query=parts.query)


def call_params(call: str = CALL, **extra: str) -> dict[str, str]:
    return {"CallSid": call, "AccountSid": ACCOUNT, "From": CALLER, "To": CALLED, "Direction": "inbound", **extra}


def answer(stack, call: str = CALL) -> str:
    """The incoming call: TwiML back; returns the recording callback URL it names."""
    r = twilio(stack, f"{PUBLIC}/webhooks/voice", call_params(call, CallStatus="ringing"))
    assert r.status == 200, r
    assert r.headers.get("Content-Type", r.headers.get("content-type", "")).startswith("text/xml")
    assert "<Say" in r.body and "<Record" in r.body
    found = re.search(r'recordingStatusCallback="([^"]+)"', r.body)
    assert found
    return found.group(1).replace("&amp;", "&")


def recording(stack, callback: str, call: str = CALL, sid: str = RECORDING):
    params = {"CallSid": call, "AccountSid": ACCOUNT, "RecordingSid": sid, "RecordingStatus": "completed",
              "RecordingUrl": f"{stack.sandbox.base_url}/_sandbox/twilio/2010-04-01/Accounts/{ACCOUNT}/Recordings/{sid}",
              "RecordingDuration": "12", "RecordingSource": "RecordVerb"}
    return twilio(stack, callback, params)


def ended(stack, call: str = CALL):
    return twilio(stack, f"{PUBLIC}/webhooks/voice", call_params(call, CallStatus="completed", CallDuration="14"))


def voice_conversation(stack) -> dict[str, Any]:
    (conv,) = [c for c in conversations(stack) if c["channel"] == "voice"]
    return conv


def objects(stack, prefix: str = "") -> list[str]:
    bucket = stack.resolver.refs["MediaBucket"]
    return [o["Key"] for o in stack.clients["s3"].list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


def jobs() -> dict[str, Any]:
    """The Transcribe jobs started (moto's record of them)."""
    from infra.local.transcribe import LocalTranscribe

    return dict(LocalTranscribe._backend().transcriptions)


OUTPUT = f"transcripts/{CALL}.json"


def test_a_voicemail_lands_under_the_callers_sms_contact_with_recording_and_transcript(stack):
    # Given a customer who texted from the number before
    assert sms(stack, {"MessageSid": "SM" + "1" * 32, "AccountSid": ACCOUNT, "From": CALLER, "To": CALLED,
                       "Body": "Hello", "NumMedia": "0", "SmsStatus": "received"}).status == 200
    stack.drain("ProcessorFunction")
    (texted,) = conversations(stack)
    # When they call and leave a message
    callback = answer(stack)
    assert parse_qs(urlsplit(callback).query) == {"caller": [CALLER], "called": [CALLED]}
    assert recording(stack, callback).status == 200
    stack.drain("ProcessorFunction")
    assert ended(stack).status == 200  # the call's status callback follows: not a missed call
    stack.drain("ProcessorFunction")
    # Then one voice conversation, the same contact, one voicemail with the stored recording, being transcribed
    conv = voice_conversation(stack)
    assert conv["contact"]["id"] == texted["contact"]["id"]
    (msg,) = messages(stack, conv["id"])
    assert (msg["type"], msg["direction"], msg["transcript"], msg["transcript_status"]) == (
        "audio", "inbound", None, "pending")
    assert msg["summary"] == "Voicemail (12 s)"
    (attachment,) = msg["attachments"]
    assert attachment["status"] == "stored" and attachment["kind"] == "audio"
    bucket = stack.resolver.refs["MediaBucket"]  # the recording's bytes are in our bucket: a WAV
    (recorded,) = objects(stack, "media/")
    assert stack.clients["s3"].get_object(Bucket=bucket, Key=recorded)["Body"].read()[8:12] == b"WAVE"
    # And Amazon Transcribe was asked, once, for that object: named after the call, in the voice settings' language,
    # its output under transcripts/ in our bucket
    (job,) = jobs().values()
    assert job.transcription_job_name == f"switchboard-dev-{CALL}" and job.language_code == "en-US"
    assert job.media == {"MediaFileUri": f"s3://{bucket}/{recorded}"}
    assert (job._output_bucket_name, job.output_key) == (bucket, OUTPUT)
    # When the job completes (its EventBridge event reaches TranscriptsFunction)
    ((name, status, results),) = stack.transcribe()
    assert (name, status, results) == (job.transcription_job_name, "COMPLETED", [{"outcome": "transcribed"}])
    # Then the sandbox's words are on the voicemail, and Transcribe's output is in our bucket
    (msg,) = messages(stack, conv["id"])
    assert (msg["transcript"], msg["transcript_status"]) == (TRANSCRIPT, "completed")
    assert objects(stack, "transcripts/") == [OUTPUT]
    # And redeliveries change nothing: the recording callback (no second job), the job's event, a rerun
    assert recording(stack, callback).status == 200
    stack.drain("ProcessorFunction")
    assert len(jobs()) == 1 and stack.transcribe() == []
    from infra.local.events import transcribe_event

    again = stack.functions["TranscriptsFunction"].invoke(transcribe_event(name, "COMPLETED"))
    assert again == {"outcome": "stale"}
    (msg,) = messages(stack, conv["id"])
    assert (msg["transcript"], msg["transcript_status"]) == (TRANSCRIPT, "completed")


def test_a_missed_call_filed_first_becomes_the_voicemail_when_the_recording_arrives(stack):
    callback = answer(stack)
    assert ended(stack).status == 200
    stack.drain("ProcessorFunction")
    conv = voice_conversation(stack)
    (missed,) = messages(stack, conv["id"])
    assert (missed["type"], missed["summary"], missed["text"], missed["attachments"]) == (
        "missed_call", "Missed call", "", [])
    assert recording(stack, callback).status == 200
    stack.drain("ProcessorFunction")
    (voicemail,) = messages(stack, conv["id"])
    assert voicemail["id"] == missed["id"] and voicemail["created_at"] == missed["created_at"]
    assert voicemail["type"] == "audio" and voicemail["attachments"][0]["status"] == "stored"
    assert voicemail["transcript_status"] == "pending"
    stack.transcribe()
    assert messages(stack, conv["id"])[0]["transcript"] == TRANSCRIPT
    (listed,) = [c for c in conversations(stack) if c["id"] == conv["id"]]
    assert listed["last_message"]["text"].startswith("Voicemail")


def test_a_call_that_hangs_up_is_a_missed_call_entry_stored_once(stack):
    answer(stack)
    for _ in range(2):  # Twilio retries the status callback
        assert ended(stack).status == 200
        stack.drain("ProcessorFunction")
    (msg,) = messages(stack, voice_conversation(stack)["id"])
    assert msg["type"] == "missed_call" and msg["summary"] == "Missed call"


def test_twilio_is_not_asked_to_transcribe_and_its_transcription_callback_is_ignored(stack):
    callback = answer(stack)
    answered = twilio(stack, f"{PUBLIC}/webhooks/voice", call_params("CA" + "c" * 32, CallStatus="ringing")).body
    assert "transcribe" not in answered  # neither transcribe="true" nor transcribeCallback
    assert recording(stack, callback).status == 200
    stack.drain("ProcessorFunction")
    conv = voice_conversation(stack)
    # A transcription callback of Twilio's (a call answered by an earlier version's TwiML) is acknowledged, not stored
    words = {"CallSid": CALL, "AccountSid": ACCOUNT, "RecordingSid": RECORDING, "TranscriptionSid": "TR" + "d" * 32,
             "TranscriptionStatus": "completed", "TranscriptionText": "Please call me back about the invoice.",
             "RecordingUrl": f"{stack.sandbox.base_url}/_sandbox/twilio/2010-04-01/Accounts/{ACCOUNT}/Recordings/"
                             f"{RECORDING}"}
    assert twilio(stack, callback, words).status == 200
    assert stack.queue_count("InboundQueue") == 0
    stack.transcribe()
    (msg,) = messages(stack, conv["id"])
    assert msg["transcript"] == TRANSCRIPT  # Amazon Transcribe's words, not Twilio's


def test_with_transcription_off_no_job_is_started(stack):
    from switchboard.services import automation_config
    from switchboard.store.table import Table

    automation_config.save(Table(), {"voice": {"transcribe": False}})
    recording(stack, answer(stack))
    stack.drain("ProcessorFunction")
    (msg,) = messages(stack, voice_conversation(stack)["id"])
    assert msg["attachments"][0]["status"] == "stored"
    assert (msg["transcript"], msg["transcript_status"]) == (None, None) and jobs() == {}


def test_a_failed_transcription_is_recorded_once_and_never_started_again(stack):
    # Given a recording whose job fails (the emulation fails a job whose media is not in the bucket, as Transcribe)
    callback = answer(stack)
    recording(stack, callback)
    stack.drain("ProcessorFunction")
    bucket = stack.resolver.refs["MediaBucket"]
    (recorded,) = objects(stack, "media/")
    body = stack.clients["s3"].get_object(Bucket=bucket, Key=recorded)["Body"].read()
    stack.clients["s3"].delete_object(Bucket=bucket, Key=recorded)
    ((_, status, results),) = stack.transcribe()
    assert (status, results) == ("FAILED", [{"outcome": "failed"}])
    stack.clients["s3"].put_object(Bucket=bucket, Key=recorded, Body=body)
    # Then the voicemail says so, and keeps its recording
    conv = voice_conversation(stack)
    (msg,) = messages(stack, conv["id"])
    assert (msg["transcript"], msg["transcript_status"], msg["attachments"][0]["status"]) == (None, "failed", "stored")
    # And neither a redelivered recording callback nor the event again starts or records anything more
    recording(stack, callback)
    stack.drain("ProcessorFunction")
    from infra.local.events import transcribe_event

    assert stack.functions["TranscriptsFunction"].invoke(
        transcribe_event(f"switchboard-dev-{CALL}", "FAILED")) == {"outcome": "stale"}
    assert len(jobs()) == 1 and stack.transcribe() == []
    assert messages(stack, conv["id"])[0]["transcript_status"] == "failed"


def test_events_of_other_stages_jobs_are_ignored(stack):
    from infra.local.events import transcribe_event

    fn = stack.functions["TranscriptsFunction"]
    assert fn.invoke(transcribe_event(f"switchboard-prod-{CALL}", "COMPLETED")) == {"outcome": "ignored"}
    assert fn.invoke(transcribe_event("someone-elses-job", "COMPLETED")) == {"outcome": "ignored"}


def test_forged_and_unsigned_voice_requests_are_refused_and_nothing_is_stored(stack):
    forged = twilio(stack, f"{PUBLIC}/webhooks/voice", call_params(CallStatus="completed"), token="not-the-token")
    assert forged.status == 401
    callback = f"{PUBLIC}/webhooks/voice/recording?" + urlencode({"caller": CALLER, "called": CALLED})
    unsigned = stack.http("POST", "/webhooks/voice/recording", urlencode({"CallSid": CALL}).encode(),
                          {"Content-Type": "application/x-www-form-urlencoded"}, query=urlsplit(callback).query)
    assert unsigned.status == 401
    assert stack.queue_count("InboundQueue") == 0 and conversations(stack) == []


def test_agents_cannot_reply_in_voice_but_can_text_the_caller(stack):
    answer(stack)
    ended(stack)
    stack.drain("ProcessorFunction")
    conv = voice_conversation(stack)
    r = stack.http("POST", f"/api/conversations/{conv['id']}/messages", {"text": "hi"}, role="agent")
    assert r.status == 409 and r.json()["error"]["code"] == "channel_cannot_reply"
    assert "SMS or WhatsApp" in r.json()["error"]["message"]
    started = stack.http("POST", "/api/conversations", {"channel": "sms", "contact_id": conv["contact"]["id"],
                                                        "text": "Sorry we missed your call: how can we help?"},
                         role="agent")
    assert started.status in (200, 201), started
    assert started.json()["channel"] == "sms"


def test_export_has_the_voicemail_and_erasure_removes_its_recording_and_transcript(stack):
    callback = answer(stack)
    recording(stack, callback)
    stack.drain("ProcessorFunction")
    stack.transcribe()
    conv = voice_conversation(stack)
    contact_id = conv["contact"]["id"]
    assert sorted(objects(stack)) == [objects(stack, "media/")[0], OUTPUT]
    exported = stack.http("GET", f"/api/contacts/{contact_id}/export", role="admin")
    assert exported.status == 200, exported
    (held,) = exported.json()["conversations"]
    (msg,) = held["messages"]
    assert msg["channel"] == "voice" and msg["transcript"] == TRANSCRIPT and msg["attachments"][0]["url"]
    assert stack.http("DELETE", f"/api/contacts/{contact_id}", role="admin").status in (200, 204)
    assert objects(stack) == [] and stack.items(f"CONV#{conv['id']}") == []


def test_retention_removes_the_recording_and_the_transcript(stack):
    from switchboard import clock
    from tests.integration.test_automation import run, settings

    settings(stack, {"retention": {"default_days": 30, "channels": {"voice": 30}}})
    recording(stack, answer(stack))
    stack.drain("ProcessorFunction")
    stack.transcribe()
    assert objects(stack, "transcripts/") == [OUTPUT] and objects(stack, "media/")
    clock.advance(31 * 86400)
    assert run(stack, "RetentionFunction")["conversations"] == 1
    assert objects(stack) == [] and [c for c in conversations(stack) if c["channel"] == "voice"] == []


def test_a_transcript_that_lands_after_the_caller_was_erased_is_deleted(stack):
    # Given a voicemail whose transcription is under way (Transcribe has read the recording) when an admin erases
    # the caller
    recording(stack, answer(stack))
    stack.drain("ProcessorFunction")
    bucket = stack.resolver.refs["MediaBucket"]
    (recorded,) = objects(stack, "media/")
    read_by_transcribe = stack.clients["s3"].get_object(Bucket=bucket, Key=recorded)["Body"].read()
    contact_id = voice_conversation(stack)["contact"]["id"]
    assert stack.http("DELETE", f"/api/contacts/{contact_id}", role="admin").status in (200, 204)
    assert objects(stack) == []
    # When Transcribe writes its output and the job's event comes (the emulation reads the media where it was)
    stack.clients["s3"].put_object(Bucket=bucket, Key=recorded, Body=read_by_transcribe)
    ((_, status, results),) = stack.transcribe()
    stack.clients["s3"].delete_object(Bucket=bucket, Key=recorded)
    # Then the output is deleted: nothing of the call is kept
    assert (status, results) == ("COMPLETED", [{"outcome": "dropped"}])
    assert objects(stack) == []


# -- the check of a job whose event is lost (TimersFunction) -----------------------------------------------------------
def timers(stack) -> dict[str, Any]:
    from tests.integration.test_automation import run

    return run(stack, "TimersFunction")


def checks(stack, conv_id: str) -> list[dict[str, Any]]:
    return [i for i in stack.items(f"CONV#{conv_id}") if i["sk"].startswith("DUE#transcript#")]


def voicemail_pending(stack) -> tuple[dict[str, Any], dict[str, Any]]:
    """A call's voicemail, its transcription started (the job not ended): its conversation and message."""
    recording(stack, answer(stack))
    stack.drain("ProcessorFunction")
    conv = voice_conversation(stack)
    (msg,) = messages(stack, conv["id"])
    assert msg["transcript_status"] == "pending"
    return conv, msg


def test_a_transcript_whose_event_is_lost_is_stored_once_by_timers(stack):
    from switchboard import clock

    # Given a voicemail being transcribed: its job started, and its check 15 minutes on
    conv, msg = voicemail_pending(stack)
    (check,) = checks(stack, conv["id"])
    assert (check["sk"], check["due_pk"], check["transcription_job"]) == (
        f"DUE#transcript#{msg['id']}", "DUE#transcript", f"switchboard-dev-{CALL}")
    assert (check["conversation_id"], check["message_id"], check["message_created_at"]) == (
        conv["id"], msg["id"], msg["created_at"])
    # A redelivered recording: no second job, the same check
    callback = answer(stack)
    recording(stack, callback)
    stack.drain("ProcessorFunction")
    assert len(jobs()) == 1 and checks(stack, conv["id"]) == [check]
    # When the job completes and its event is lost on the way to TranscriptsFunction
    ((_, status, results),) = stack.transcribe(deliver=False)
    assert (status, results) == ("COMPLETED", [])
    assert messages(stack, conv["id"])[0]["transcript_status"] == "pending"
    assert timers(stack)["transcripts_due"] == 0  # not before its time
    # Then TimersFunction's run 15 minutes on asks Transcribe, and stores the words, once
    clock.advance(15 * 60 + 1)
    counts = timers(stack)
    assert (counts["transcripts_due"], counts["transcripts_recorded"], counts["errors"]) == (1, 1, 0)
    (msg,) = messages(stack, conv["id"])
    assert (msg["transcript"], msg["transcript_status"]) == (TRANSCRIPT, "completed")
    assert checks(stack, conv["id"]) == [] and objects(stack, "transcripts/") == [OUTPUT]
    # And a second run changes nothing, nor does the event if it comes after all
    assert timers(stack)["transcripts_due"] == 0
    from infra.local.events import transcribe_event

    assert stack.functions["TranscriptsFunction"].invoke(
        transcribe_event(f"switchboard-dev-{CALL}", "COMPLETED")) == {"outcome": "stale"}
    (again,) = messages(stack, conv["id"])
    assert (again["transcript"], again["transcript_status"]) == (TRANSCRIPT, "completed")


def test_a_job_still_running_is_checked_again_15_minutes_later(stack):
    from switchboard import clock

    conv, _ = voicemail_pending(stack)
    # When the check is due and Transcribe still has the job under way
    clock.advance(15 * 60 + 1)
    counts = timers(stack)
    assert (counts["transcripts_due"], counts["transcripts_recorded"], counts["errors"]) == (1, 0, 0)
    # Then the voicemail is still being transcribed, and its check moved on 15 minutes
    assert messages(stack, conv["id"])[0]["transcript_status"] == "pending"
    (check,) = checks(stack, conv["id"])
    assert check["due_sk"] > clock.iso(clock.now() + __import__("datetime").timedelta(minutes=14))
    assert timers(stack)["transcripts_due"] == 0
    # When the job ends (its event lost), the next check records it
    stack.transcribe(deliver=False)
    clock.advance(15 * 60 + 1)
    assert timers(stack)["transcripts_recorded"] == 1
    assert messages(stack, conv["id"])[0]["transcript"] == TRANSCRIPT and checks(stack, conv["id"]) == []


def test_a_job_that_never_ends_is_recorded_failed_after_six_hours(stack, capsys):
    import json

    from switchboard import clock

    conv, _ = voicemail_pending(stack)
    capsys.readouterr()
    for _ in range(6 * 4):  # every 15 minutes, the job still under way
        clock.advance(15 * 60 + 1)
        counts = timers(stack)
        assert counts["errors"] == 0
    assert counts["transcripts_recorded"] == 1
    (msg,) = messages(stack, conv["id"])
    assert (msg["transcript"], msg["transcript_status"], msg["attachments"][0]["status"]) == (None, "failed", "stored")
    assert checks(stack, conv["id"]) == [] and timers(stack)["transcripts_due"] == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert [(r["reason"], r["TranscriptsFailed"]) for r in records if "TranscriptsFailed" in r] == [
        ("timed_out", [1.0])]


def test_a_job_transcribe_does_not_know_is_recorded_failed(stack):
    import boto3

    from switchboard import clock

    conv, _ = voicemail_pending(stack)
    boto3.client("transcribe", region_name="us-east-1").delete_transcription_job(
        TranscriptionJobName=f"switchboard-dev-{CALL}")
    clock.advance(15 * 60 + 1)
    assert timers(stack)["transcripts_recorded"] == 1
    assert messages(stack, conv["id"])[0]["transcript_status"] == "failed" and checks(stack, conv["id"]) == []


def test_when_the_event_came_the_check_is_just_dropped(stack, monkeypatch):
    from switchboard import aws, clock

    conv, _ = voicemail_pending(stack)
    ((_, _, results),) = stack.transcribe()
    assert results == [{"outcome": "transcribed"}]
    asked: list[str] = []
    monkeypatch.setattr(aws, "transcribe", lambda: asked.append("transcribe"))  # Transcribe is not asked
    clock.advance(15 * 60 + 1)
    counts = timers(stack)
    assert (counts["transcripts_due"], counts["transcripts_recorded"], counts["errors"]) == (1, 0, 0)
    assert asked == [] and checks(stack, conv["id"]) == []
    assert messages(stack, conv["id"])[0]["transcript"] == TRANSCRIPT


def test_a_transcribe_outage_leaves_the_check_for_the_next_run(stack, monkeypatch):
    from botocore.exceptions import ClientError

    from switchboard import aws, clock

    conv, _ = voicemail_pending(stack)
    stack.transcribe(deliver=False)
    real = aws.transcribe

    class Throttled:
        def get_transcription_job(self, **_: Any) -> Any:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "GetTranscriptionJob")

    monkeypatch.setattr(aws, "transcribe", Throttled)
    clock.advance(15 * 60 + 1)
    counts = timers(stack)
    assert (counts["transcripts_due"], counts["transcripts_recorded"], counts["errors"]) == (1, 0, 1)
    assert messages(stack, conv["id"])[0]["transcript_status"] == "pending" and len(checks(stack, conv["id"])) == 1
    monkeypatch.setattr(aws, "transcribe", real)
    assert timers(stack)["transcripts_recorded"] == 1  # the next run (a minute on)
    assert messages(stack, conv["id"])[0]["transcript"] == TRANSCRIPT


def test_erasure_and_retention_delete_a_voicemails_check(stack):
    from switchboard import clock
    from tests.integration.test_automation import run, settings

    # Erasure: the caller erased while the transcription is under way
    conv, _ = voicemail_pending(stack)
    assert len(checks(stack, conv["id"])) == 1
    contact_id = conv["contact"]["id"]
    assert stack.http("DELETE", f"/api/contacts/{contact_id}", role="admin").status in (200, 204)
    assert stack.items(f"CONV#{conv['id']}") == []
    clock.advance(15 * 60 + 1)
    assert timers(stack)["transcripts_due"] == 0
    # Retention: a voicemail whose job never ended, past the voice channel's days
    settings(stack, {"retention": {"default_days": 30, "channels": {"voice": 30}}})
    recording(stack, answer(stack, "CA" + "e" * 32), "CA" + "e" * 32, "RE" + "f" * 32)
    stack.drain("ProcessorFunction")
    conv = voice_conversation(stack)
    assert len(checks(stack, conv["id"])) == 1
    clock.advance(31 * 86400)
    assert run(stack, "RetentionFunction")["conversations"] == 1
    assert stack.items(f"CONV#{conv['id']}") == []

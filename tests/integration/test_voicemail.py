"""Voicemail (issue 17) through the real handlers on moto: a call answered with TwiML, its recording copied from
the provider sandbox into the media bucket with the sandbox's transcript, under the caller's SMS contact; a call
that leaves nothing a missed-call entry; either order of callbacks one message; redeliveries stored once."""

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
    # Then one voice conversation, the same contact, one voicemail with the stored recording and the transcript
    conv = voice_conversation(stack)
    assert conv["contact"]["id"] == texted["contact"]["id"]
    (msg,) = messages(stack, conv["id"])
    assert (msg["type"], msg["direction"], msg["transcript"]) == ("audio", "inbound", TRANSCRIPT)
    assert msg["summary"] == "Voicemail (12 s)"
    (attachment,) = msg["attachments"]
    assert attachment["status"] == "stored" and attachment["kind"] == "audio"
    bucket = stack.resolver.refs["MediaBucket"]  # the recording's bytes are in our bucket: a WAV
    bodies = [stack.clients["s3"].get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
              for o in stack.clients["s3"].list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert [b[8:12] for b in bodies if b[:4] == b"RIFF"] == [b"WAVE"]
    # And a redelivered recording callback changes nothing
    assert recording(stack, callback).status == 200
    stack.drain("ProcessorFunction")
    assert len(messages(stack, conv["id"])) == 1


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
    assert voicemail["transcript"] == TRANSCRIPT
    (listed,) = [c for c in conversations(stack) if c["id"] == conv["id"]]
    assert listed["last_message"]["text"].startswith("Voicemail")


def test_a_call_that_hangs_up_is_a_missed_call_entry_stored_once(stack):
    answer(stack)
    for _ in range(2):  # Twilio retries the status callback
        assert ended(stack).status == 200
        stack.drain("ProcessorFunction")
    (msg,) = messages(stack, voice_conversation(stack)["id"])
    assert msg["type"] == "missed_call" and msg["summary"] == "Missed call"


def test_the_transcription_callback_adds_the_words_when_twilio_had_none_yet(stack):
    from switchboard.services import automation_config
    from switchboard.store.table import Table

    automation_config.save(Table(), {"voice": {"transcribe": False}})  # no look-up: the callback brings the words
    callback = answer(stack)
    assert 'transcribe="true"' not in twilio(stack, f"{PUBLIC}/webhooks/voice",
                                             call_params("CA" + "c" * 32, CallStatus="ringing")).body
    assert recording(stack, callback).status == 200
    stack.drain("ProcessorFunction")
    conv = voice_conversation(stack)
    assert messages(stack, conv["id"])[0].get("transcript") is None
    words = {"CallSid": CALL, "AccountSid": ACCOUNT, "RecordingSid": RECORDING, "TranscriptionSid": "TR" + "d" * 32,
             "TranscriptionStatus": "completed", "TranscriptionText": "Please call me back about the invoice."}
    for _ in range(2):  # a redelivery: stored once
        assert twilio(stack, callback, words).status == 200
        stack.drain("ProcessorFunction")
    (msg,) = messages(stack, conv["id"])
    assert msg["transcript"] == "Please call me back about the invoice."


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


def test_export_has_the_voicemail_and_erasure_removes_its_recording(stack):
    callback = answer(stack)
    recording(stack, callback)
    stack.drain("ProcessorFunction")
    conv = voice_conversation(stack)
    contact_id = conv["contact"]["id"]
    bucket = stack.resolver.refs["MediaBucket"]

    def objects() -> list[str]:
        return [o["Key"] for o in stack.clients["s3"].list_objects_v2(Bucket=bucket).get("Contents", [])]

    assert objects()
    exported = stack.http("GET", f"/api/contacts/{contact_id}/export", role="admin")
    assert exported.status == 200, exported
    (held,) = exported.json()["conversations"]
    (msg,) = held["messages"]
    assert msg["channel"] == "voice" and msg["transcript"] == TRANSCRIPT and msg["attachments"][0]["url"]
    assert stack.http("DELETE", f"/api/contacts/{contact_id}", role="admin").status in (200, 204)
    assert objects() == [] and stack.items(f"CONV#{conv['id']}") == []

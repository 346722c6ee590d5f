"""Twilio Voice (issue 17): signatures as for SMS, the call's requests parsed, the TwiML a call is answered with."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from switchboard import clock
from switchboard.automation_settings import validate
from switchboard.channels.base import WebhookRequest
from switchboard.channels.sms import twilio_signature
from switchboard.channels.voice import IncomingCall, VoiceChannel, identity
from switchboard.errors import MalformedPayload, PermanentSendError, SignatureError
from switchboard.models import IgnoredEvent, InboundMessage, SendRequest
from switchboard.services import automation_config
from switchboard.services import voice as voice_service

TOKEN = "test-twilio-token"
PUBLIC = "https://hooks.example.com"
CALL = "CA" + "1" * 32
RECORDING = "RE" + "2" * 32
TRANSCRIPTION = "TR" + "3" * 32
CALLER, CALLED = "+15551234567", "+15550001111"
MONDAY_NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # open by the default business hours (09-17 UTC, Mon-Fri)
SUNDAY_NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def signed(path: str, params: dict[str, str], query: str = "", token: str = TOKEN) -> WebhookRequest:
    url = PUBLIC + path + (f"?{query}" if query else "")
    form = {k: [v] for k, v in params.items()}
    return WebhookRequest(method="POST", path=path, headers={"x-twilio-signature": twilio_signature(token, url, form),
                                                               "content-type": "application/x-www-form-urlencoded"},
                          query={k: v[0] for k, v in parse_qs(query).items()}, body=urlencode(params).encode(),
                          raw_query=query, form=form)


def call_params(**extra: str) -> dict[str, str]:
    return {"CallSid": CALL, "AccountSid": "AC" + "0" * 32, "From": CALLER, "To": CALLED, "Direction": "inbound",
            **extra}


def recording_params(**extra: str) -> dict[str, str]:
    return {"CallSid": CALL, "AccountSid": "AC" + "0" * 32, "RecordingSid": RECORDING, "RecordingStatus": "completed",
            "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/AC{'0' * 32}/Recordings/{RECORDING}",
            "RecordingDuration": "12", **extra}


def at(moment: datetime) -> None:
    """Move the one clock to this moment (it only moves forward: from now, by the difference)."""
    clock.advance((moment - clock.now()).total_seconds())


CALLBACK_QUERY = urlencode({"caller": CALLER, "called": CALLED})


# -- signatures: exactly the SMS webhook's check --------------------------------------------------------------------
def test_a_signed_call_verifies():
    VoiceChannel().verify(signed("/webhooks/voice", call_params(CallStatus="ringing")))


def test_a_signed_recording_callback_verifies_with_its_query():
    VoiceChannel().verify(signed("/webhooks/voice/recording", recording_params(), CALLBACK_QUERY))


@pytest.mark.parametrize("tamper", ["token", "param", "query", "path", "missing"])
def test_forged_or_unsigned_requests_are_refused(tamper):
    request = signed("/webhooks/voice/recording", recording_params(), CALLBACK_QUERY,
                     token="another-token" if tamper == "token" else TOKEN)
    if tamper == "param":  # the recording of someone else's call, under a valid signature of another body
        request = WebhookRequest(**{**request.__dict__, "form": {**request.form, "CallSid": ["CA" + "9" * 32]}})
    elif tamper == "query":  # another caller named in the URL
        request = WebhookRequest(**{**request.__dict__, "raw_query": urlencode({"caller": "+15559999999",
                                                                                "called": CALLED})})
    elif tamper == "path":
        request = WebhookRequest(**{**request.__dict__, "path": "/webhooks/voice"})
    elif tamper == "missing":
        request = WebhookRequest(**{**request.__dict__, "headers": {}})
    with pytest.raises(SignatureError):
        VoiceChannel().verify(request)


def test_no_token_configured_refuses_everything(settings_env):
    settings_env(TWILIO_AUTH_TOKEN="")
    with pytest.raises(SignatureError):
        VoiceChannel().verify(signed("/webhooks/voice", call_params(CallStatus="ringing")))


# -- parsing -------------------------------------------------------------------------------------------------------
def test_an_incoming_call_is_answered_not_stored():
    events = VoiceChannel().parse(signed("/webhooks/voice", call_params(CallStatus="ringing")))
    assert events == [IncomingCall(channel="voice", reason="incoming_call", caller=CALLER, called=CALLED)]


def test_the_record_action_is_answered_with_a_hang_up():
    events = VoiceChannel().parse(signed("/webhooks/voice", call_params(
        CallStatus="completed", RecordingUrl="https://api.twilio.com/x", RecordingDuration="5", Digits="hangup")))
    assert [e.reason for e in events if isinstance(e, IgnoredEvent)] == ["recorded"]
    reply = VoiceChannel().acknowledge(list(events))
    assert reply.content_type == "text/xml"
    assert [child.tag for child in ET.fromstring(reply.body.split("?>", 1)[1])] == ["Hangup"]


@pytest.mark.parametrize("status", ["completed", "busy", "no-answer", "canceled", "failed"])
def test_a_call_that_ended_is_a_missed_call_entry(status):
    at(MONDAY_NOON)
    [event] = VoiceChannel().parse(signed("/webhooks/voice", call_params(CallStatus=status, CallDuration="3")))
    assert isinstance(event, InboundMessage)
    assert (event.type, event.summary, event.text, event.attachments) == ("missed_call", "Missed call", "", [])
    assert (event.provider_message_id, event.event_id) == (CALL, f"call#{CALL}#ended")
    assert (event.sender_id, event.inbox_id, event.identity) == (CALLER, CALLED, f"phone:{CALLER}")


def test_outbound_calls_are_not_customers_calling():
    events = VoiceChannel().parse(signed("/webhooks/voice", call_params(CallStatus="completed",
                                                                        Direction="outbound-api")))
    assert [e.reason for e in events if isinstance(e, IgnoredEvent)] == ["outbound_call"]


def test_a_recording_is_an_audio_message_of_the_call_under_the_callers_phone_identity():
    [event] = VoiceChannel().parse(signed("/webhooks/voice/recording", recording_params(), CALLBACK_QUERY))
    assert isinstance(event, InboundMessage)
    assert (event.type, event.summary, event.provider_message_id) == ("audio", "Voicemail (12 s)", CALL)
    assert event.event_id == f"recording#{RECORDING}"
    assert event.identity == "phone:+15551234567"  # the same person as on SMS and WhatsApp
    [attachment] = event.attachments
    assert attachment.kind == "audio" and attachment.provider_media_id == RECORDING
    assert attachment.url and attachment.url.endswith(f"/Recordings/{RECORDING}.wav")


def test_a_recording_that_is_silent_or_failed_files_nothing():
    events = VoiceChannel().parse(signed("/webhooks/voice/recording", recording_params(RecordingStatus="absent"),
                                         CALLBACK_QUERY))
    assert [e.reason for e in events if isinstance(e, IgnoredEvent)] == ["recording_absent"]


@pytest.mark.parametrize("query", [CALLBACK_QUERY, ""])
def test_a_transcription_callback_of_twilios_is_acknowledged_and_ignored(query):
    # Transcripts are Amazon Transcribe's: one that an earlier version's TwiML asked Twilio for stores nothing
    params = recording_params(TranscriptionSid=TRANSCRIPTION, TranscriptionStatus="completed",
                              TranscriptionText="Please call me back.")
    channel = VoiceChannel()
    events = channel.parse(signed("/webhooks/voice/recording", params, query))
    assert [(type(e), e.reason) for e in events] == [(IgnoredEvent, "twilio_transcription")]
    reply = channel.acknowledge(events)
    assert reply.status == 200 and "<Hangup" not in reply.body


@pytest.mark.parametrize("params", [
    {},  # no CallSid
    {"CallSid": "CA-not-a-sid"},
    {"CallSid": CALL, "CallStatus": "completed"},  # no From/To
])
def test_malformed_voice_requests_are_refused(params):
    with pytest.raises(MalformedPayload):
        VoiceChannel().parse(signed("/webhooks/voice", params))


def test_a_recording_callback_without_the_caller_in_its_url_is_refused():
    with pytest.raises(MalformedPayload):
        VoiceChannel().parse(signed("/webhooks/voice/recording", recording_params()))


def test_identity_keeps_non_phone_callers_apart():
    assert identity("+15551234567") == "phone:+15551234567"
    assert identity("anonymous") == "voice:anonymous"


def test_nothing_is_ever_sent_on_voice():
    with pytest.raises(PermanentSendError):
        VoiceChannel().send(SendRequest(channel="voice", recipient=CALLER, inbox_id=CALLED, text="hi"))


# -- the TwiML a call is answered with ----------------------------------------------------------------------------
def answered(monkeypatch: pytest.MonkeyPatch, when: datetime, document: dict[str, Any] | None = None) -> ET.Element:
    at(when)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Switchboard/test")
    settings = validate(document or {})
    monkeypatch.setattr(automation_config, "load", lambda table, fresh=False: settings)
    reply = VoiceChannel().acknowledge([IncomingCall(channel="voice", reason="incoming_call", caller=CALLER,
                                                     called=CALLED)])
    assert reply.status == 200 and reply.content_type == "text/xml"
    assert reply.body.startswith('<?xml version="1.0" encoding="UTF-8"?><Response>')
    return ET.fromstring(reply.body.split("?>", 1)[1])


def test_in_business_hours_the_greeting_is_spoken_then_the_call_recorded(monkeypatch):
    twiml = answered(monkeypatch, MONDAY_NOON)
    assert [child.tag for child in twiml] == ["Say", "Say", "Record", "Hangup"]
    greeting, prompt, record = twiml[0], twiml[1], twiml[2]
    assert greeting.text == validate({}).greeting.text and greeting.get("language") == "en-US"
    assert prompt.text == "Please leave a message after the tone."
    assert record.get("maxLength") == "120" and record.get("action") == f"{PUBLIC}/webhooks/voice"
    callback = urlsplit(record.get("recordingStatusCallback") or "")
    assert f"{callback.scheme}://{callback.netloc}{callback.path}" == f"{PUBLIC}/webhooks/voice/recording"
    assert parse_qs(callback.query) == {"caller": [CALLER], "called": [CALLED]}
    # Twilio is not asked to transcribe: Amazon Transcribe does, once the recording is in our bucket
    assert record.get("transcribe") is None and record.get("transcribeCallback") is None


def test_outside_business_hours_the_away_text_is_spoken_in_the_configured_language(monkeypatch):
    twiml = answered(monkeypatch, SUNDAY_NOON, {
        "away": {"text": "Wir sind gerade nicht erreichbar."},
        "voice": {"language": "de-DE", "prompt": "Bitte sprechen Sie nach dem Ton.", "max_length_seconds": 60,
                  "transcribe": False}})
    assert [(say.text, say.get("language")) for say in twiml.findall("Say")] == [
        ("Wir sind gerade nicht erreichbar.", "de-DE"), ("Bitte sprechen Sie nach dem Ton.", "de-DE")]
    record = twiml.find("Record")
    assert record is not None and record.get("maxLength") == "60" and record.get("transcribe") is None


def test_greeting_text_is_escaped_in_the_twiml(monkeypatch):
    twiml = answered(monkeypatch, MONDAY_NOON, {"greeting": {"text": 'Hi <b>&</b> "you"'}})
    assert twiml[0].text == 'Hi <b>&</b> "you"'  # parsed back: the XML escaped it


def test_voice_settings_are_validated():
    from switchboard.errors import BadRequest

    for bad in ({"language": "english"}, {"max_length_seconds": 1}, {"max_length_seconds": 7200}):
        with pytest.raises(BadRequest):
            validate({"voice": bad})


def test_reply_refusal_names_the_way_out():
    assert "SMS or WhatsApp" in (voice_service.reply_refusal("voice") or "")
    assert voice_service.reply_refusal("sms") is None

"""Voicemail (issue 17) through the local stack, as a new user tries it: a caller who texted before calls (signed
as Twilio signs), gets TwiML, leaves a message; the recording plays from our bucket with the sandbox's transcript
(the local stack's Amazon Transcribe: the processor's job finished, its event delivered to TranscriptsFunction, each
with its own role), in a voice conversation of the same contact. A forged call is refused; a hang-up is a missed
call."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.parse
import urllib.request
import uuid

from infra.local.sandbox import TRANSCRIPT
from tests.conftest import ROOT
from tests.e2e.conftest import SECRETS
from tests.e2e.test_channels_e2e import twilio_post
from tests.support.signing import twilio_signature

SCRIPT = ROOT / "infra" / "scripts" / "send-webhook.py"


def caller() -> str:
    return f"+1555{uuid.uuid4().int % 10**7:07d}"


def script(s, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, **SECRETS, PUBLIC_BASE_URL=s.base)
    return subprocess.run([sys.executable, str(SCRIPT), "--url", s.base, "voice", *args], env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def voice_message(s, contact_id: str, wanted: str):
    def look():
        for conv in s.conversations(channel="voice"):
            if conv["contact"]["id"] != contact_id:
                continue
            for m in s.messages(conv["id"]):
                if m["type"] == wanted and (wanted != "audio" or (m["attachments"] and m["attachments"][0]["status"]
                                                                  == "stored" and m.get("transcript"))):
                    return conv, m
        return None

    return s.wait_for(look, 30)


def sms_contact(s, sender: str) -> str:
    text = f"texting first {uuid.uuid4().hex[:8]}"
    params = {"MessageSid": f"SM{uuid.uuid4().hex}", "AccountSid": "AC1", "From": sender, "To": "+15550001111",
              "Body": text, "NumMedia": "0"}
    assert twilio_post(s, params).status == 200

    def look():
        for conv in s.conversations(channel="sms"):
            if any(m["text"] == text for m in s.messages(conv["id"])):
                return conv
        return None

    conv = s.wait_for(look, 20)
    assert conv
    return conv["contact"]["id"]


def test_a_voicemail_plays_from_our_bucket_with_its_transcript_under_the_sms_contact(local_stack):
    s, sender = local_stack, caller()
    contact_id = sms_contact(s, sender)
    result = script(s, "--from", sender)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "<Say" in result.stdout and "<Record" in result.stdout  # the TwiML the call was answered with
    found = voice_message(s, contact_id, "audio")
    assert found, "the voicemail did not land under the caller's SMS contact"
    conv, msg = found
    assert msg["transcript"] == TRANSCRIPT and msg["summary"].startswith("Voicemail")
    assert msg["transcript_status"] == "completed"
    with urllib.request.urlopen(msg["attachments"][0]["url"], timeout=10) as r:
        audio = r.read()
    assert audio[:4] == b"RIFF" and audio[8:12] == b"WAVE"
    # An agent cannot answer by voice: the app offers SMS or WhatsApp instead
    r = s.api("POST", f"/api/conversations/{conv['id']}/messages", {"text": "hello"})
    assert r.status == 409 and r.json()["error"]["code"] == "channel_cannot_reply"


def test_a_hang_up_is_a_missed_call(local_stack):
    s, sender = local_stack, caller()
    contact_id = sms_contact(s, sender)
    result = script(s, "--from", sender, "--missed")
    assert result.returncode == 0, result.stdout + result.stderr
    found = voice_message(s, contact_id, "missed_call")
    assert found and found[1]["summary"] == "Missed call" and not found[1]["attachments"]


def test_forged_and_unsigned_calls_are_refused(local_stack):
    s = local_stack
    params = {"CallSid": "CA" + uuid.uuid4().hex, "AccountSid": "AC1", "From": caller(), "To": "+15550001111",
              "CallStatus": "ringing", "Direction": "inbound"}
    body = urllib.parse.urlencode(params).encode()
    forged = twilio_signature("not-the-token", s.base + "/webhooks/voice", params)
    for headers in ({"X-Twilio-Signature": forged}, {}):
        r = s.request("POST", "/webhooks/voice", body, {"Content-Type": "application/x-www-form-urlencoded", **headers})
        assert r.status == 401 and b"<Record" not in r.body

"""Twilio Voice (voicemail): signed form webhooks in, TwiML out; calls become voice messages, never replies.

Three requests reach `/webhooks/voice`: the incoming call (answered with TwiML that greets and records), the
`<Record>` verb's action once the caller has spoken (answered with a hang-up), and the call's status callback (a
completed call that left no recording becomes a missed-call entry). `/webhooks/voice/recording` takes the recording's
status callback (the voicemail itself). Every request is signed as for SMS.

Transcripts are Amazon Transcribe's (services/transcription.py): Twilio is not asked to transcribe. A transcription
callback of Twilio's that still arrives (a call answered by an earlier version's TwiML, which asked for one) is
acknowledged and ignored, so that Twilio neither retries it nor reports a failing webhook.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urlencode

from switchboard import clock
from switchboard.channels import http
from switchboard.channels.base import Channel, MediaContent, WebhookReply, WebhookRequest
from switchboard.channels.sms import E164, TWILIO_API_HOST, SmsChannel
from switchboard.errors import MalformedPayload, MediaError, PermanentSendError
from switchboard.models import Attachment, IgnoredEvent, InboundMessage, SendRequest, SendResult
from switchboard.settings import get_settings

WEBHOOK_PATH = "/webhooks/voice"
RECORDING_PATH = "/webhooks/voice/recording"
TWIML_CONTENT_TYPE = "text/xml"
# Reasons for the requests that are answered with TwiML but carry nothing to store.
INCOMING_CALL = "incoming_call"
RECORDED = "recorded"
TWILIO_TRANSCRIPTION = "twilio_transcription"
# A call that ended in one of these states without a recording is a missed call (an inbound call Twilio could not
# connect to our TwiML, or one the caller hung up on before the beep).
MISSED_STATES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
MISSED_SUMMARY = "Missed call"
VOICEMAIL_SUMMARY = "Voicemail"
CALL_SID = re.compile(r"CA[0-9a-fA-F]{32}")
SID = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}")
# The recording is fetched as WAV (RecordingUrl + ".wav", what it serves without an extension too): the original
# 8 kHz audio every browser plays, about 1 MB a minute (".mp3" is smaller, but Twilio transcodes it on demand).
RECORDING_FORMAT = (".wav", "audio/x-wav")


class IncomingCall(IgnoredEvent):
    """A call to answer: nothing stored (a call that leaves no message is filed by its status callback), only the
    TwiML, whose callback URLs name the caller and the number called."""

    caller: str
    called: str


def _first(params: dict[str, list[str]], name: str) -> str:
    values = params.get(name) or [""]
    return values[0]


def identity(caller: str) -> str:
    """The caller's identity: the same `phone:+E164` as SMS and WhatsApp give, so that a voicemail joins the
    contact who texts from that number."""
    return f"phone:{caller}" if E164.fullmatch(caller) else f"voice:{caller}"


def call_key(call_sid: str) -> str:
    """The dedupe key every event of one call claims first (services/voice.py): its first sight is the time of the
    call's one message, whichever event (missed call, recording) comes first; once processed, it leads to that
    message (where the transcription's end finds it)."""
    return f"call#{call_sid}"


class VoiceChannel(Channel):
    name = "voice"
    provider_timestamps = False  # Twilio sends no time: the call's message is dated when we first saw the call
    reply_window_seconds = None
    media_limits = None  # nothing is ever sent on voice: agents answer by SMS or WhatsApp

    def __init__(self) -> None:
        self._sms = SmsChannel()

    # -- in ----------------------------------------------------------------------------------
    def verify(self, request: WebhookRequest) -> None:
        """Exactly the SMS webhook's check: X-Twilio-Signature over PUBLIC_BASE_URL + path + query + parameters."""
        self._sms.verify(request)

    def parse(self, request: WebhookRequest) -> list[InboundMessage | IgnoredEvent]:
        params = SmsChannel.params(request)
        call_sid = _first(params, "CallSid")
        if not CALL_SID.fullmatch(call_sid):
            raise MalformedPayload("no CallSid")
        if request.path.rstrip("/").endswith("/recording"):
            return [self._recording(request, params, call_sid)]
        if _first(params, "RecordingUrl"):  # the <Record> action: the caller has spoken; the recording follows
            return [IgnoredEvent(channel="voice", reason=RECORDED)]
        status = _first(params, "CallStatus").strip().lower()
        direction = _first(params, "Direction").strip().lower()
        if direction and not direction.startswith("inbound"):
            return [IgnoredEvent(channel="voice", reason="outbound_call")]
        if status in ("ringing", "in-progress", "queued", "initiated", ""):
            caller, called = self._caller(params, {})
            return [IncomingCall(channel="voice", reason=INCOMING_CALL, caller=caller, called=called)]
        if status in MISSED_STATES:
            return [self._missed(params, call_sid)]
        return [IgnoredEvent(channel="voice", reason="unknown_status")]

    @staticmethod
    def _caller(params: dict[str, list[str]], query: dict[str, str]) -> tuple[str, str]:
        """The caller and the number called: the call's own parameters, or (the recording callback, which carries
        neither) the callback URL's, which we wrote into the TwiML and Twilio signed with the rest."""
        caller = _first(params, "From") or query.get("caller", "")
        called = _first(params, "To") or query.get("called", "")
        if not caller or not called:
            raise MalformedPayload("a voice event without its caller or the number called")
        return caller, called

    def _missed(self, params: dict[str, list[str]], call_sid: str) -> InboundMessage:
        caller, called = self._caller(params, {})
        return InboundMessage(channel="voice", provider_message_id=call_sid, event_id=f"{call_key(call_sid)}#ended",
                              inbox_id=called, sender_id=caller, identity=identity(caller),
                              sender_name=_first(params, "CallerName") or None, type="missed_call",
                              summary=MISSED_SUMMARY, timestamp=clock.now().timestamp())

    def _recording(self, request: WebhookRequest, params: dict[str, list[str]],
                   call_sid: str) -> InboundMessage | IgnoredEvent:
        if _first(params, "TranscriptionSid"):  # Twilio's transcription: not asked for, not stored (see above)
            return IgnoredEvent(channel="voice", reason=TWILIO_TRANSCRIPTION)
        caller, called = self._caller(params, request.query)
        common: dict[str, Any] = {"channel": "voice", "provider_message_id": call_sid, "inbox_id": called,
                                  "sender_id": caller, "identity": identity(caller),
                                  "timestamp": clock.now().timestamp()}
        recording, url = _first(params, "RecordingSid"), _first(params, "RecordingUrl")
        if not SID.fullmatch(recording) or not url:
            raise MalformedPayload("a recording callback without RecordingSid or RecordingUrl")
        status = _first(params, "RecordingStatus").strip().lower()
        if status and status != "completed":  # "absent" (silence) or "failed": the call counts as missed
            return IgnoredEvent(channel="voice", reason=f"recording_{status}"[:40])
        suffix, mime = RECORDING_FORMAT
        duration = _first(params, "RecordingDuration")
        attachment = Attachment(kind="audio", url=url + suffix, mime_type=mime, provider_media_id=recording,
                                filename=f"voicemail-{recording}{suffix}", voice=True)
        seconds = f" ({int(duration)} s)" if duration.isdigit() else ""
        return InboundMessage(**common, event_id=f"recording#{recording}", type="audio", attachments=[attachment],
                              summary=VOICEMAIL_SUMMARY + seconds)

    def acknowledge(self, events: list[Any] | None = None) -> WebhookReply:
        """TwiML: the greeting and the recording for an incoming call, a hang-up after it; empty otherwise."""
        call = next((e for e in events or [] if isinstance(e, IncomingCall)), None)
        if call is not None:
            from switchboard.services import voice  # the greeting's words and the business hours are settings

            return WebhookReply(200, voice.answer_call(call.caller, call.called), TWIML_CONTENT_TYPE)
        reasons = {getattr(e, "reason", None) for e in events or []}
        response = ET.Element("Response")
        if RECORDED in reasons:
            ET.SubElement(response, "Hangup")
        return WebhookReply(200, twiml(response), TWIML_CONTENT_TYPE)

    # -- out -----------------------------------------------------------------------------------
    def send(self, request: SendRequest) -> SendResult:
        raise PermanentSendError("voice conversations cannot be answered by voice: reply by SMS or WhatsApp")

    def fetch_media(self, attachment: Attachment) -> MediaContent:
        """The recording, from Twilio's API with the account's credentials (http.download keeps them to it)."""
        if not attachment.url:
            raise MediaError("no recording URL")
        sid, token = self._sms_credentials()
        settings = get_settings()
        result = http.download(attachment.url, allowed_hosts=http.TWILIO_MEDIA_HOSTS,
                               headers={"Authorization": http.basic_auth(sid, token)},
                               credential_hosts=(TWILIO_API_HOST,), max_bytes=settings.media_max_bytes,
                               api_base_url=settings.twilio_api_base_url)
        return MediaContent(data=result.data, mime_type=attachment.mime_type or result.content_type,
                            sha256=hashlib.sha256(result.data).hexdigest())

    @staticmethod
    def _sms_credentials() -> tuple[str, str]:
        try:
            return SmsChannel._credentials()
        except PermanentSendError:
            raise MediaError("no Twilio account SID or auth token configured") from None


def twiml(response: ET.Element) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(response, encoding="unicode")


def callback_url(path: str, caller: str, called: str) -> str:
    """A callback URL for this call, carrying who called which number (Twilio signs the URL with its query)."""
    base = get_settings().public_base_url.rstrip("/")
    return f"{base}{path}?{urlencode({'caller': caller, 'called': called})}"

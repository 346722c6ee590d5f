"""Voicemail (issue 17): the TwiML a call is answered with, and the processor's work for a call's events.

A call has one message in its caller's voice conversation, whichever of its events comes first: the status
callback files a missed call, the recording callback a voicemail (turning a missed call filed earlier into it), the
transcription callback adds its words. All three claim the call first (`call#<CallSid>`), so that they date the
message alike and name the same stored item.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from switchboard import business_hours, clock, observability
from switchboard.channels import http, voice
from switchboard.errors import SwitchboardError
from switchboard.services import automation_config, media
from switchboard.settings import get_settings
from switchboard.store import markers, messages
from switchboard.store import voice as store
from switchboard.store.table import Table

if TYPE_CHECKING:
    from switchboard.models import InboundEnvelope, InboundMessage
    from switchboard.services.processing import Outcome

MAX_TRANSCRIPT_CHARS = 10_000


# -- answering the call ------------------------------------------------------------------------------------------
def answer_call(caller: str, called: str, table: Table | None = None) -> str:
    """TwiML: the greeting (open) or the away text (closed), spoken in the configured language, the prompt, then
    a recording with a length limit whose callbacks name the caller; a hang-up if the caller says nothing."""
    config = automation_config.load(table or Table())
    settings = config.voice
    is_open = business_hours.is_open(config.business_hours, clock.now())
    words = config.greeting.text if is_open else config.away.text
    response = ET.Element("Response")
    for text in (words, settings.prompt):
        ET.SubElement(response, "Say", language=settings.language).text = text
    callback = voice.callback_url(voice.RECORDING_PATH, caller, called)
    base = get_settings().public_base_url.rstrip("/")
    record = {"action": base + voice.WEBHOOK_PATH, "method": "POST", "maxLength": str(settings.max_length_seconds),
              "playBeep": "true", "recordingStatusCallback": callback, "recordingStatusCallbackMethod": "POST",
              "recordingStatusCallbackEvent": "completed"}
    if settings.transcribe:
        record.update(transcribe="true", transcribeCallback=callback)
    ET.SubElement(response, "Record", record)
    ET.SubElement(response, "Hangup")
    observability.count_by_reason("CallsAnswered", "voice", "open" if is_open else "closed")
    return voice.twiml(response)


# -- filing the call ---------------------------------------------------------------------------------------------
def process(table: Table, event: InboundMessage, envelope: InboundEnvelope, attempt: int = 1) -> Outcome:
    from switchboard.models import dedupe_id
    from switchboard.services import processing

    key = voice.call_key(event.provider_message_id)
    first = markers.claim_inbound(table, "voice", key, envelope.received_at,
                                  clock.epoch() + get_settings().dedupe_ttl_seconds)
    seen = (first or {}).get("received_at") or envelope.received_at
    event = event.model_copy(update={"timestamp": clock.parse_iso(seen).timestamp()})
    if event.type == "transcript":
        return _transcript(table, event, envelope, attempt)
    # contact, conversation, message, events, media: all done before the call's own steps, which read them
    outcome = processing.completed(processing._message(table, event, attempt))
    conv_id = outcome.conversation_id
    if conv_id is None:
        return outcome
    created_at = clock.iso(clock.from_epoch(event.timestamp))
    message_id = processing.message_id(event)
    stored = messages.get_message(table, conv_id, created_at, message_id)
    if stored is not None and event.type == "audio":
        if stored.type == "missed_call":  # the status callback came first
            voicemail = processing.message_for(event, conv_id, stored.sender)
            if store.make_voicemail(table, stored, voicemail):
                outcome = processing.Outcome("voicemail", conv_id)
            stored = messages.get_message(table, conv_id, created_at, message_id) or stored
            media.store_pending(table, stored, attempt)
        if not stored.transcript and automation_config.load(table).voice.transcribe:
            words = fetch_transcript(event.attachments[0].provider_media_id or "")
            if words and store.set_transcript(table, conv_id, created_at, message_id, words):
                observability.count_by_channel("TranscriptsStored", "voice")
    # Where every later event of this call finds its message.
    markers.mark_processed(table, "voice", key, conv_id, created_at, message_id)
    markers.mark_processed(table, "voice", dedupe_id(event), conv_id, created_at, message_id)
    return outcome


def _transcript(table: Table, event: InboundMessage, envelope: InboundEnvelope, attempt: int) -> Outcome:
    """Twilio's transcription callback: the words join the call's message (which may still be on its way)."""
    from switchboard.models import dedupe_id
    from switchboard.services import processing

    call = markers.get(table, "voice", voice.call_key(event.provider_message_id))
    if not call or not call.get("processed") or not call.get("conversation_id"):
        processing._overtaken(envelope, "the transcript's voicemail", attempt)
        observability.count_by_reason("EventsDropped", "voice", "transcript_of_unknown_call")
        markers.mark_processed(table, "voice", dedupe_id(event), None)
        return processing.Outcome("dropped")
    conv_id = call["conversation_id"]
    words = event.text.strip()[:MAX_TRANSCRIPT_CHARS]
    added = bool(words) and store.set_transcript(table, conv_id, call["message_created_at"], call["message_id"], words)
    markers.mark_processed(table, "voice", dedupe_id(event), conv_id)
    return processing.Outcome("transcribed" if added else "stale", conv_id)


def fetch_transcript(recording_sid: str) -> str | None:
    """The recording's completed transcription from Twilio's API, if it is ready (None otherwise: the transcription
    callback brings it later). Never raises: a failure here must not cost the voicemail."""
    if not voice.SID.fullmatch(recording_sid):
        return None
    try:
        sid, token = voice.VoiceChannel._sms_credentials()
        base = get_settings().twilio_api_base_url
        response = http.request("GET", f"{base}/2010-04-01/Accounts/{quote(sid, safe='')}/Recordings/"
                                f"{recording_sid}/Transcriptions.json", auth=(sid, token))
        answer: Any = response.json() if response.status_code == 200 else {}
    except (SwitchboardError, ValueError, OSError):
        observability.count_by_reason("TranscriptLookupsFailed", "voice", "error")
        return None
    items = answer.get("transcriptions") if isinstance(answer, dict) else None
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and item.get("status") == "completed" and isinstance(item.get("transcription_text"), str):
            return str(item["transcription_text"]).strip()[:MAX_TRANSCRIPT_CHARS] or None
    return None


def reply_refusal(channel: str) -> str | None:
    """Why an agent's reply cannot go out on this channel (None: it can)."""
    if channel == "voice":
        return ("a voicemail cannot be answered by voice: start an SMS or WhatsApp conversation with the caller "
                "(POST /api/conversations), or mark it called back by resolving it")
    return None

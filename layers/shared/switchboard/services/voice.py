"""Voicemail (issue 17): the TwiML a call is answered with, and the processor's work for a call's events.

A call has one message in its caller's voice conversation, whichever of its events comes first: the status
callback files a missed call, the recording callback a voicemail (turning a missed call filed earlier into it). Both
claim the call first (`call#<CallSid>`), so that they date the message alike and name the same stored item, where the
transcription's end finds it too. Once the recording is in our bucket its transcription starts (Amazon Transcribe,
services/transcription.py) when `voice.transcribe` is on.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from switchboard import business_hours, clock, observability
from switchboard.channels import voice
from switchboard.services import automation_config, media, transcription
from switchboard.settings import get_settings
from switchboard.store import markers, messages
from switchboard.store import voice as store
from switchboard.store.table import Table

if TYPE_CHECKING:
    from switchboard.models import InboundEnvelope, InboundMessage
    from switchboard.services.processing import Outcome


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
    # Twilio is not asked to transcribe: the recording is transcribed by Amazon Transcribe once it is in our bucket.
    record = {"action": base + voice.WEBHOOK_PATH, "method": "POST", "maxLength": str(settings.max_length_seconds),
              "playBeep": "true", "recordingStatusCallback": callback, "recordingStatusCallbackMethod": "POST",
              "recordingStatusCallbackEvent": "completed"}
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
    # contact, conversation, message, events, media: all done before the call's own steps, which read them
    outcome = processing.completed(processing._message(table, event, attempt))
    conv_id = outcome.conversation_id
    if conv_id is None:
        return outcome
    created_at = clock.iso(clock.from_epoch(event.timestamp))
    message_id = processing.message_id(event)
    stored = messages.get_message(table, conv_id, created_at, message_id)
    # Where every later event of this call finds its message (the transcription's end too: marked before it starts).
    markers.mark_processed(table, "voice", key, conv_id, created_at, message_id)
    if stored is not None and event.type == "audio":
        if stored.type == "missed_call":  # the status callback came first
            voicemail = processing.message_for(event, conv_id, stored.sender)
            if store.make_voicemail(table, stored, voicemail):
                outcome = processing.Outcome("voicemail", conv_id)
            stored = messages.get_message(table, conv_id, created_at, message_id) or stored
            media.store_pending(table, stored, attempt)
            stored = messages.get_message(table, conv_id, created_at, message_id) or stored  # with its copy
        settings = automation_config.load(table).voice
        if settings.transcribe:  # the recording is in our bucket (a failed copy has nothing to transcribe)
            transcription.start(table, stored, settings.language)
    markers.mark_processed(table, "voice", dedupe_id(event), conv_id, created_at, message_id)
    return outcome


def reply_refusal(channel: str) -> str | None:
    """Why an agent's reply cannot go out on this channel (None: it can)."""
    if channel == "voice":
        return ("a voicemail cannot be answered by voice: start an SMS or WhatsApp conversation with the caller "
                "(POST /api/conversations), or mark it called back by resolving it")
    return None

"""Voicemail (issue 17): a call's one message, turned from a missed call into a voicemail, and its transcription
(started once, finished once)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from switchboard.store import keys
from switchboard.store.table import ConditionFailed, Table

if TYPE_CHECKING:
    from switchboard.models import Message


def make_voicemail(table: Table, missed: Message, voicemail: Message) -> bool:
    """The call's recording arrived after its status callback had filed a missed call: the same message becomes
    the voicemail (its recording, summary and type). False when it is no longer a missed call (done already)."""
    try:
        table.update(keys.message(missed.conversation_id, missed.created_at, missed.id),
                     "SET #type = :audio, attachments = :a, summary = :s",
                     names={"#type": "type"},
                     vals={":audio": voicemail.type, ":missed": "missed_call", ":s": voicemail.summary or "",
                           ":a": [a.model_dump(mode="json", exclude_none=True) for a in voicemail.attachments]},
                     condition="attribute_exists(pk) AND #type = :missed")
    except ConditionFailed:
        return False
    try:  # the inbox preview, when it still shows the missed call
        table.update(keys.conversation(missed.conversation_id), "SET last_message.#t = :s",
                     names={"#t": "text"}, vals={":s": voicemail.summary or "", ":at": missed.created_at},
                     condition="last_message.created_at = :at")
    except ConditionFailed:
        pass
    return True


def start_transcript(table: Table, conv_id: str, created_at: str, msg_id: str, ref: str) -> bool:
    """Record that the voicemail is being transcribed, and where the output will be (`ref`, deleted with the message),
    before the job starts. False when the message is gone (erased), unsent, or its transcription was recorded already
    (another delivery of the recording starts the job)."""
    try:
        table.update(keys.message(conv_id, created_at, msg_id), "SET transcript_status = :pending, transcript_ref = :r",
                     vals={":pending": "pending", ":r": ref},
                     condition="attribute_exists(pk) AND attribute_not_exists(deleted_at)"
                               " AND attribute_not_exists(transcript_status) AND attribute_not_exists(transcript)")
    except ConditionFailed:
        return False
    return True


def finish_transcript(table: Table, conv_id: str, created_at: str, msg_id: str, status: str,
                      transcript: str | None) -> bool:
    """The transcription's outcome (`status` completed, with its words when something was said, or failed), recorded
    once: False when the message is gone (erased) or unsent, or the outcome is there already (a redelivered event)."""
    update, vals = "SET transcript_status = :s", {":s": status, ":pending": "pending"}
    if transcript:
        update, vals = update + ", transcript = :t", vals | {":t": transcript}
    try:
        table.update(keys.message(conv_id, created_at, msg_id), update, vals=vals,
                     condition="attribute_exists(pk) AND attribute_not_exists(deleted_at)"
                               " AND transcript_status = :pending")
    except ConditionFailed:
        return False
    return True

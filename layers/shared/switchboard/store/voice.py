"""Voicemail (issue 17): a call's one message, turned from a missed call into a voicemail, and its transcript."""

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


def set_transcript(table: Table, conv_id: str, created_at: str, msg_id: str, transcript: str) -> bool:
    """Record the voicemail's transcript once (a later callback with the same words changes nothing). False when
    the message is not there (erased, or not stored yet) or already has one."""
    try:
        table.update(keys.message(conv_id, created_at, msg_id), "SET transcript = :t", vals={":t": transcript},
                     condition="attribute_exists(pk) AND attribute_not_exists(transcript)"
                               " AND attribute_not_exists(deleted_at)")
    except ConditionFailed:
        return False
    return True

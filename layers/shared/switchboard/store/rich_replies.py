"""Rich replies (issue 13) in the table: a message found by its id (MessageIndex), a failed reply put back in the
queue for a retry, and the in-channel survey's marker on its conversation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from switchboard import clock
from switchboard.store import keys
from switchboard.store.conversations import live
from switchboard.store.table import ConditionFailed, Table

if TYPE_CHECKING:
    from switchboard.models import Message


def find_message(table: Table, conv_id: str, msg_id: str) -> Message | None:
    """The message with this id in this conversation (None when there is none, or it is another conversation's):
    one Query of MessageIndex (keys only), then a consistent GetItem of the item it names."""
    from switchboard.models import Message

    if not msg_id or len(msg_id) > 64:
        return None
    (attribute, value), = keys.message_index(msg_id).items()
    items, _ = table.query("#m = :m", {":m": value}, names={"#m": attribute}, index=keys.MESSAGE_INDEX, limit=5)
    pk = keys.conversation_pk(conv_id)
    for found in items:
        if found.get("pk") == pk and str(found.get("sk", "")).startswith(keys.MSG_PREFIX):
            item = table.get({"pk": found["pk"], "sk": found["sk"]}, consistent=True)
            return Message.model_validate(item) if item and live(item) else None
    return None


def requeue_failed(table: Table, message: Message, attempt: int, fresh: bool) -> bool:
    """failed -> queued for an agent's retry number `attempt`, once: False when it is not failed any more, or another
    retry took it first. `fresh`: the whole reply had gone out before it failed (a receipt said so): its parts are
    all sent again, under new provider ids."""
    remove = "failure_reason, lease_until, retry_at" + (", sent_parts, provider_message_id" if fresh else "")
    try:
        table.update(keys.message(message.conversation_id, message.created_at, message.id),
                     f"SET #st = :queued, attempt = :n, status_at = :now REMOVE {remove}",
                     names={"#st": "status"},
                     vals={":queued": "queued", ":failed": "failed", ":n": attempt, ":prev": attempt - 1,
                           ":now": clock.epoch()},
                     condition="#st = :failed AND (attribute_not_exists(attempt) OR attempt = :prev)")
    except ConditionFailed:
        return False
    return True


# -- the in-channel survey: its due entry, and its marker on the conversation -----------------------------------------
def channel_survey_due(conv_id: str, due_at: str, *, contact_id: str, resolution: str, resolved_by: str
                       ) -> dict[str, Any]:
    """A Put action (for the resolve transaction) scheduling the survey of one resolution in the conversation's own
    channel: the survey job's entry (DueIndex DUE#survey), as store/due.survey_put's for an email, without one."""
    from switchboard.store import due

    return {"Put": {"Item": {**keys.due(conv_id, due.SURVEY), **keys.due_index(due.SURVEY, due_at, conv_id),
                             "type": "due", "job": due.SURVEY, "conversation_id": conv_id, "contact_id": contact_id,
                             "resolution": resolution, "resolved_by": resolved_by, "in_channel": True}}}


def ask_survey(table: Table, conv_id: str, marker: dict[str, Any]) -> None:
    """The rating question of a resolution is (being) asked in the channel: answers are looked for from now."""
    table.update(keys.conversation(conv_id), "SET channel_survey = :m", vals={":m": marker},
                 condition="attribute_exists(pk)")


def survey_rated(table: Table, conv_id: str, resolution: str, at: str) -> bool:
    """The customer answered the question of this resolution: a comment may follow. False when the marker is of
    another resolution (or gone)."""
    try:
        table.update(keys.conversation(conv_id), "SET channel_survey.rated_at = :at",
                     vals={":at": at, ":r": resolution}, condition="channel_survey.resolution = :r")
    except ConditionFailed:
        return False
    return True


def survey_commented(table: Table, conv_id: str, resolution: str, event_key: str) -> bool:
    """The comment that follows the rating is taken, once (the event that is it, by its dedupe key): False when one
    was already (or the marker moved on)."""
    try:
        table.update(keys.conversation(conv_id), "SET channel_survey.commented = :t",
                     vals={":t": event_key, ":r": resolution},
                     condition="channel_survey.resolution = :r AND attribute_not_exists(channel_survey.commented)")
    except ConditionFailed:
        return False
    return True

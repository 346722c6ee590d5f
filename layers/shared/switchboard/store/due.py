"""Due work of the scheduled jobs (DueIndex, sparse): the auto-reply's wait, the survey to send, each
conversation's retention entry, and a voicemail's transcription to check. Every read and write of a `DUE#` item is
here, so a job reads only what is due."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from switchboard import clock
from switchboard.store import keys
from switchboard.store.table import ConditionFailed, Table

PAGE = 100
AUTO_REPLY, SURVEY, RETENTION = "auto_reply", "survey", "retention"


# -- the jobs' reads and claims -------------------------------------------------------------------------------
def due_items(table: Table, job: str, limit: int = 1000) -> Iterator[dict[str, Any]]:
    """Items due for `job` at the clock's now, oldest first, at most `limit`."""
    upper = clock.iso(clock.now()) + "~"  # '~' sorts after '#<id>': everything due up to now
    for items, _ in table.pages("due_pk = :pk AND due_sk <= :now", {":pk": keys.due_pk(job), ":now": upper},
                                index=keys.DUE_INDEX, cap=limit, page_size=PAGE):
        yield from items


def take(table: Table, item: dict[str, Any]) -> bool:
    """Claim a due item by deleting it: of two overlapping runs, one wins."""
    try:
        table.delete({"pk": item["pk"], "sk": item["sk"]}, condition="due_sk = :s", vals={":s": item["due_sk"]})
    except ConditionFailed:
        return False
    return True


def settle(table: Table, item: dict[str, Any], **attrs: Any) -> bool:
    """Claim a due item by taking it off the index but keeping it (with `attrs`): of two overlapping runs, one
    wins, and the item still says the work was done until something deletes it."""
    names = {f"#a{i}": name for i, name in enumerate(attrs)}
    vals: dict[str, Any] = {f":a{i}": value for i, value in enumerate(attrs.values())} | {":s": item["due_sk"]}
    sets = ", ".join(f"#a{i} = :a{i}" for i in range(len(attrs)))
    try:
        table.update({"pk": item["pk"], "sk": item["sk"]}, (f"SET {sets} " if sets else "") + "REMOVE due_pk, due_sk",
                     names=names or None, vals=vals, condition="due_sk = :s")
    except ConditionFailed:
        return False
    return True


def postpone(table: Table, item: dict[str, Any], job: str, due_at: str) -> bool:
    """Move an entry of `job` on to a later time, if nobody moved or took it meanwhile."""
    try:
        table.update({"pk": item["pk"], "sk": item["sk"]}, "SET due_sk = :n",
                     vals={":n": keys.due_index(job, due_at, item["conversation_id"])["due_sk"],
                           ":s": item["due_sk"]}, condition="due_sk = :s")
    except ConditionFailed:
        return False
    return True


# -- scheduling and cancelling ---------------------------------------------------------------------------------
def schedule_auto_reply(table: Table, conv_id: str, due_at: str, waiting_since: str,
                        conversation: dict[str, Any]) -> bool:
    """The auto-reply's wait, started at the first unanswered message; False when a wait exists already (it is left
    as it is, also once its holding reply went out). `conversation`: what the job needs to reply, so that it reads
    nothing else."""
    try:
        table.put({**keys.due(conv_id, AUTO_REPLY), **keys.due_index(AUTO_REPLY, due_at, conv_id),
                   "type": "due", "job": AUTO_REPLY, "conversation_id": conv_id,
                   "waiting_since": waiting_since, "conversation": conversation},
                  condition="attribute_not_exists(pk)")
    except ConditionFailed:
        return False
    return True


def survey_put(conv_id: str, due_at: str, *, contact_id: str, resolution: str, resolved_by: str, email: str,
               name: str | None) -> dict[str, Any]:
    """A Put action (for the resolve transaction) scheduling the survey of one resolution, with everything the
    survey job needs to send it."""
    return {"Put": {"Item": {**keys.due(conv_id, SURVEY), **keys.due_index(SURVEY, due_at, conv_id),
                             "type": "due", "job": SURVEY, "conversation_id": conv_id, "contact_id": contact_id,
                             "resolution": resolution, "resolved_by": resolved_by, "email": email, "name": name}}}


def cancel(table: Table, conv_id: str, job: str) -> None:
    """The conversation's pending `job` (auto-reply or survey) is off: delete its entry, if any."""
    table.delete(keys.due(conv_id, job))


def cancel_all(table: Table, conv_ids: Iterable[str], jobs: Iterable[str]) -> int:
    """Delete the pending `jobs` of every conversation in `conv_ids` (batched); returns how many keys were asked."""
    wanted = [keys.due(conv_id, job) for conv_id in conv_ids for job in jobs]
    return table.batch_delete(wanted) if wanted else 0


# -- retention ---------------------------------------------------------------------------------------------------
RETENTION_SK = keys.due("-", RETENTION)["sk"]


def retention_entry(conv_id: str, channel: str, contact_id: str, last_activity: str) -> dict[str, Any]:
    """A new conversation's retention entry (an item to put): by channel and last activity."""
    return {**keys.retention_due(conv_id, channel, last_activity), "type": "due", "job": RETENTION,
            "conversation_id": conv_id, "contact_id": contact_id, "channel": channel}


def retention_pages(table: Table, channel: str, *, older_than: str | None = None, cap: int,
                    start: dict[str, Any] | None = None) -> Iterator[tuple[list[dict[str, Any]], dict[str, Any] | None]]:
    """The channel's retention entries, oldest activity first, a page at a time with where to resume: those whose
    last activity is not after `older_than` (a cut-off), or all of them, at most `cap` per call."""
    condition, vals = "due_pk = :pk", {":pk": keys.retention_due_pk(channel)}
    if older_than is not None:
        condition += " AND due_sk <= :cut"
        vals[":cut"] = older_than + "~"
    yield from table.pages(condition, vals, index=keys.DUE_INDEX, cap=cap, page_size=PAGE, start=start)


def reschedule_retention(table: Table, entry: dict[str, Any], last_activity: str, conv_id: str) -> None:
    """The conversation was active since its entry was written: the entry moves to its real last activity."""
    table.update({"pk": entry["pk"], "sk": entry["sk"]}, "SET due_sk = :s",
                 vals={":s": keys.inbox_sort(last_activity, conv_id)})


def move_retention(table: Table, conv_id: str, contact_id: str) -> None:
    """The conversation's contact changed (a merge): its retention entry names the new one (if it has an entry)."""
    try:
        table.update(keys.due(conv_id, RETENTION), "SET contact_id = :t", vals={":t": contact_id},
                     condition="attribute_exists(pk)")
    except ConditionFailed:
        pass


# -- organizing the queue (issue 14): snooze wake-ups and SLA timers ---------------------------------------------------
SNOOZE = keys.SNOOZE
SLA = "sla"  # one DueIndex partition (DUE#sla) for every target; an entry per conversation and target


def schedule_wake(table: Table, conv_id: str, until: str) -> None:
    """A snoozed conversation's wake-up (a new snooze replaces it)."""
    table.put({**keys.due(conv_id, SNOOZE), **keys.due_index(SNOOZE, until, conv_id), "type": "due", "job": SNOOZE,
               "conversation_id": conv_id, "until": until})


def schedule_sla(table: Table, conv_id: str, target: str, due_at: str, at: str, event: str) -> None:
    """An SLA target's next step: its warning (`event` "warn", at `at`) or its breach ("breach", at its due time).
    The entry carries everything the timer needs, so that it reads nothing else."""
    table.put({**keys.due(conv_id, keys.sla_due_job(target)), **keys.due_index(SLA, at, conv_id), "type": "due",
               "job": SLA, "conversation_id": conv_id, "target": target, "due_at": due_at, "event": event})


def advance_sla(table: Table, item: dict[str, Any], at: str, event: str) -> bool:
    """Move a claimed SLA entry on to its next step, if nobody rescheduled it meanwhile."""
    try:
        table.update({"pk": item["pk"], "sk": item["sk"]}, "SET due_sk = :n, #ev = :ev", names={"#ev": "event"},
                     vals={":n": keys.due_index(SLA, at, item["conversation_id"])["due_sk"], ":ev": event,
                           ":s": item["due_sk"]},
                     condition="due_sk = :s")
    except ConditionFailed:
        return False
    return True


# -- voicemail (issue 17): a transcription whose end's event may be lost --------------------------------------------
TRANSCRIPT = keys.TRANSCRIPT


def schedule_transcript_check(table: Table, conv_id: str, created_at: str, msg_id: str, transcription_job: str,
                              due_at: str, since: str) -> bool:
    """A voicemail's transcription job started (`since`): TimersFunction asks Transcribe about it at `due_at`, in
    case its end's event never comes. The entry names the message and the job, so that the check reads nothing
    else to find them; in the conversation's partition, so that retention and erasure delete it with the rest.
    Once: False when it exists already (a redelivered recording keeps the first entry, and its `since`)."""
    try:
        table.put({**keys.transcript_check(conv_id, msg_id), **keys.due_index(TRANSCRIPT, due_at, conv_id),
                   "type": "due", "job": TRANSCRIPT, "conversation_id": conv_id, "message_created_at": created_at,
                   "message_id": msg_id, "transcription_job": transcription_job, "since": since},
                  condition="attribute_not_exists(pk)")
    except ConditionFailed:
        return False
    return True

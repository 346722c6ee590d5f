"""TimersFunction's run (issue 14): what is due in the sparse DueIndex, and nothing else. Snoozed conversations wake;
SLA targets get their warning and their breach; voicemail transcriptions whose end's event did not come are checked
with Amazon Transcribe (issue 17). Each step is claimed by a conditional write, so a rerun (or two runs at once) never
wakes, warns, records or counts twice."""

from __future__ import annotations

from typing import Any

from switchboard import observability
from switchboard.services import events, jobs, sla
from switchboard.store import due, queue
from switchboard.store.table import Table


def _wake(table: Table, entry: dict[str, Any]) -> bool:
    """The conversation first (only if it is still snoozed until then), then its entry: a rerun after a stop in between
    finds the conversation awake and just drops the entry."""
    woken = queue.wake(table, entry)
    if woken:  # a status change like any other: the systems' event (one id per snooze) and the apps' push
        events.status_changed(table, woken, "snoozed", by="snooze", stable=(woken.id, "woke", str(entry["until"])))
    due.take(table, entry)
    if woken:
        observability.count("SnoozesWoken")
    return woken is not None


def run(table: Table | None = None) -> dict[str, int]:
    table = table or Table()
    woke = jobs.run(due.SNOOZE, _wake, table)
    checked = sla.run(table)
    # issue 19: idle rules (conversation.idle) and the mails of notify_email actions (services/rules.py)
    from switchboard.services import rules

    idle = rules.run_idle(table)
    mailed = rules.run_mail(table)
    # issue 17: transcription jobs whose end's event did not come (loaded here, not at init: it loads the models)
    from switchboard.services import transcription

    transcripts = transcription.run_checks(table)
    return {"snoozes_due": woke["due"], "woken": woke["done"], "sla_due": checked["due"], "sla_done": checked["done"],
            "idle_due": idle["due"], "idle_ran": idle["done"], "rule_mails": mailed["done"],
            "transcripts_due": transcripts["due"], "transcripts_recorded": transcripts["done"],
            "errors": woke["errors"] + checked["errors"] + idle["errors"] + mailed["errors"] + transcripts["errors"]}

"""The scheduled jobs' entry points. Each reads its due items only; each is safe to rerun."""

from __future__ import annotations

from typing import Any

from switchboard.services import jobs
from switchboard.store.table import Table


def _not_scheduled_yet(_table: Table, _item: dict[str, Any]) -> bool:
    # Nothing schedules these jobs' items yet (issue 5): a due item found here is left as it is.
    return False


def run_auto_reply() -> dict[str, int]:
    return jobs.run("auto_reply", _not_scheduled_yet)


def run_retention() -> dict[str, int]:
    return jobs.run("retention", _not_scheduled_yet)


def run_survey() -> dict[str, int]:
    return jobs.run("survey", _not_scheduled_yet)

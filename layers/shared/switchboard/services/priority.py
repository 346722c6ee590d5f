"""Priorities (issue 14): urgent, high, normal, low, set by agents; the inbox filters and sorts by them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from switchboard.store import queue
from switchboard.store.table import Table

if TYPE_CHECKING:
    from switchboard.models import Conversation

PRIORITIES = ("urgent", "high", "normal", "low")


def set_priority(table: Table, conv_id: str, priority: str) -> Conversation:
    conv = queue.set_priority(table, conv_id, priority)
    from switchboard.services import push  # issue 15: the apps' inboxes

    push.conversation_updated(table, conv, "priority")
    return conv

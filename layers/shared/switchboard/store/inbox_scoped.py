"""The inbox of one or more inboxes (issue 14: `?inbox=`, `?team=`), newest activity first, from InboxIndex.

InboxIndex's partition key is GSI1's (`STATUS#<status>`), its sort key `<inbox id>#<updated_at>#<conv id>`: one
inbox in one status is a `begins_with` range, read exactly. A team's view (its inboxes), or all statuses, merges
several ranges: each is read in small chunks, and only while it may still hold one of the newest, so that a merge
reads little more than it returns. The cursor keeps one resume point per range, as store/inbox.py's does."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from switchboard.errors import BadRequest
from switchboard.store import keys
from switchboard.store.conversations import live
from switchboard.store.inbox import STATUSES
from switchboard.store.table import Table, decode_cursor, encode_cursor

if TYPE_CHECKING:
    from switchboard.models import Conversation

# A merged range is read this many items at a time at least: fewer requests, a little more read past the page.
MIN_CHUNK = 5
CURSOR_KEYS = {"pk", "sk", "gsi1pk", "inbox_sk"}


class _Range:
    """One inbox in one status: items read ahead (newest first) and where the next read starts."""

    def __init__(self, table: Table, status: str, inbox_id: str, start: dict[str, Any] | None,
                 filters: tuple[str | None, dict[str, Any], dict[str, str]]):
        self.table, self.start, self.resume = table, start, start
        self.pk, self.prefix = keys.inbox_status_pk(status), keys.inbox_scope_prefix(inbox_id)
        self.filter_expression, self.vals, self.names = filters
        self.buffer: list[dict[str, Any]] = []
        self.used: dict[str, Any] | None = None
        self.exhausted = False

    def fill(self, chunk: int) -> None:
        """Read until something is buffered or the range is done (a filter may leave a read empty)."""
        while not self.buffer and not self.exhausted:
            items, last = self.table.query(
                "gsi1pk = :pkv AND begins_with(inbox_sk, :prefix)", {":pkv": self.pk, ":prefix": self.prefix,
                                                                     **self.vals},
                index=keys.INBOX_BY_INBOX, names=self.names or None, forward=False, limit=chunk, start=self.resume,
                filter_expression=self.filter_expression)
            self.buffer.extend(items)
            self.resume, self.exhausted = last, last is None

    def take(self) -> dict[str, Any]:
        self.used = self.buffer.pop(0)
        return self.used

    def next_start(self) -> tuple[bool, dict[str, Any] | None]:
        """(more to read, where to resume): after the last item taken while read-ahead items are left over."""
        if self.buffer:
            if self.used is None:
                return True, self.start
            return True, {k: self.used[k] for k in CURSOR_KEYS}
        return (not self.exhausted), self.resume


def _filters(status: str | None, assignee: str | None, channel: str | None,
             label: str | None) -> tuple[str | None, dict[str, Any], dict[str, str]]:
    clauses, vals, names = [], {}, {}
    if channel:
        clauses.append("#ch = :ch")
        vals[":ch"], names["#ch"] = channel, "channel"
    if label:
        clauses.append("contains(#lb, :lb)")
        vals[":lb"], names["#lb"] = label, "labels"
    if assignee:
        clauses.append("#as = :as")
        vals[":as"], names["#as"] = assignee.lower(), "assignee"
    return " AND ".join(clauses) or None, vals, names


def _state(cursor: str, names: list[str]) -> dict[str, Any]:
    state = decode_cursor(cursor) or {}
    for name, start in state.items():
        if name not in names or not (start is None or (isinstance(start, dict) and set(start) == CURSOR_KEYS)):
            raise BadRequest("invalid cursor for this view", code="invalid_cursor")
    return state


def page(table: Table, *, inboxes: list[str], status: str | None = None, assignee: str | None = None,
         channel: str | None = None, label: str | None = None, limit: int = 25,
         cursor: str | None = None) -> tuple[list[Conversation], str | None]:
    """Conversations of these inboxes, newest activity first, filtered as store.inbox.page filters."""
    from switchboard.models import Conversation

    ranges_wanted = [(s, i) for s in ((status,) if status else STATUSES) for i in sorted(set(inboxes))]
    names = [f"{s}|{i}" for s, i in ranges_wanted]
    state: dict[str, Any] = _state(cursor, names) if cursor else dict.fromkeys(names)
    filters = _filters(status, assignee, channel, label)
    ranges = {name: _Range(table, s, i, state[name], filters)
              for name, (s, i) in zip(names, ranges_wanted, strict=True) if name in state}
    # One range: a page is one read. Several: chunks, so that what is read past the page stays small.
    chunk = limit if len(ranges) <= 1 else max(MIN_CHUNK, -(-limit // (2 * len(ranges))))
    taken: list[dict[str, Any]] = []
    while len(taken) < limit:
        for r in ranges.values():
            r.fill(chunk)
        ready = [r for r in ranges.values() if r.buffer]
        if not ready:
            break
        taken.append(max(ready, key=lambda r: r.buffer[0]["gsi1sk"]).take())
    next_state: dict[str, Any] = {}
    for name, r in ranges.items():
        more, start = r.next_start()
        if more:
            next_state[name] = start
    return ([Conversation.model_validate(item) for item in taken if live(item)],
            encode_cursor(next_state) if next_state else None)

"""The inbox: conversations by status or assignee, newest activity first, filtered by channel or label, paged
with an opaque cursor."""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Any

from switchboard.errors import BadRequest
from switchboard.store import keys
from switchboard.store.conversations import live
from switchboard.store.table import Table, decode_cursor, encode_cursor, start_key

if TYPE_CHECKING:
    from switchboard.models import Conversation

STATUSES = ("open", "pending", "resolved", "snoozed")  # snoozed: issue 14


def _conversation(item: dict[str, Any]) -> Conversation:
    from switchboard.models import Conversation

    return Conversation.model_validate(item)


def page(table: Table, *, status: str | None = None, assignee: str | None = None, channel: str | None = None,
          label: str | None = None, limit: int = 25, cursor: str | None = None) -> tuple[list[Conversation], str | None]:
    """Newest activity first: one index Query per partition; the unfiltered view merges the three statuses.

    The cursor maps each partition still to read to the index key to resume after (None: from the top).
    """
    filters, vals, names = [], {}, {}
    if channel:
        filters.append("#ch = :ch")
        vals[":ch"] = channel
        names["#ch"] = "channel"
    if label:
        filters.append("contains(#lb, :lb)")
        vals[":lb"] = label
        names["#lb"] = "labels"
    if assignee and status:
        filters.append("#st = :st")
        vals[":st"] = status
        names["#st"] = "status"
    if assignee:
        partitions = {"assignee": (keys.INBOX_BY_ASSIGNEE, "gsi2pk", "gsi2sk", keys.inbox_assignee_pk(assignee))}
    else:
        partitions = {s: (keys.INBOX_BY_STATUS, "gsi1pk", "gsi1sk", keys.inbox_status_pk(s))
                      for s in ((status,) if status else STATUSES)}
    state: dict[str, Any] = _state(cursor, partitions) if cursor else dict.fromkeys(partitions)
    pages: dict[str, tuple[list[dict[str, Any]], dict[str, Any] | None]] = {}
    for name, (index, pk_attr, _, pk_value) in partitions.items():
        if name in state:
            pages[name] = _filtered_page(table, index, pk_attr, pk_value, limit, state[name],
                                         " AND ".join(filters) or None, vals, names)
    merged = heapq.merge(*[[(name, item) for item in items] for name, (items, _) in pages.items()],
                         key=lambda pair: pair[1][partitions[pair[0]][2]], reverse=True)
    taken = [pair for _, pair in zip(range(limit), merged, strict=False)]
    next_state: dict[str, Any] = {}
    for name, (items, last) in pages.items():
        used = [item for n, item in taken if n == name]
        if len(used) < len(items):  # this partition has items left over in this page: resume after the last used
            next_state[name] = _index_key(used[-1], partitions[name]) if used else state[name]
        elif last:
            next_state[name] = last
    return [_conversation(item) for _, item in taken if live(item)], (encode_cursor(next_state) if next_state else None)


def _state(cursor: str, partitions: dict[str, tuple[str, str, str, str]]) -> dict[str, Any]:
    """A cursor of this very view: partitions of it only, each resuming after a conversation's key in that
    partition of that index (or from the top: None). Anything else is invalid_cursor."""
    state = decode_cursor(cursor) or {}
    if not state or not set(state) <= set(partitions):
        raise BadRequest("invalid cursor", code="invalid_cursor")
    for name, resume in state.items():
        if resume is not None:
            _, pk_attr, sk_attr, pk_value = partitions[name]
            state[name] = start_key(resume, ("pk", "sk", pk_attr, sk_attr), {"sk": keys.META, pk_attr: pk_value},
                                    {"pk": keys.conversation_pk("")})
    return state


def _index_key(item: dict[str, Any], partition: tuple[str, str, str, str]) -> dict[str, Any]:
    _, pk_attr, sk_attr, _ = partition
    return {"pk": item["pk"], "sk": item["sk"], pk_attr: item[pk_attr], sk_attr: item[sk_attr]}


def _filtered_page(table: Table, index: str, pk_attr: str, pk_value: str, limit: int, start: dict[str, Any] | None,
                   filter_expression: str | None, vals: dict[str, Any], names: dict[str, str]
                   ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Up to `limit` matching items and where to resume; a filter may need several reads to fill the page."""
    found: list[dict[str, Any]] = []
    last = start
    for items, resume in table.pages(f"{pk_attr} = :pkv", {":pkv": pk_value, **vals}, page_size=limit, start=start,
                                     index=index, names=names or None, forward=False,
                                     filter_expression=filter_expression):
        found.extend(items)
        last = resume
        if len(found) >= limit:
            break
    if len(found) > limit:
        found = found[:limit]
        sk_attr = "gsi2sk" if pk_attr == "gsi2pk" else "gsi1sk"
        last = {"pk": found[-1]["pk"], "sk": found[-1]["sk"], pk_attr: pk_value, sk_attr: found[-1][sk_attr]}
    return found, last

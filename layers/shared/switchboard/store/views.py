"""The inbox in the orders and filters of issue 14: by priority (then waiting time), by waiting time, by the SLA due
time nearest, one priority, a list attribute. Each page is a Query on one partition of an index per status (a few
when statuses or ranges are merged), never a Scan; the plain views stay in store/inbox.py.

Which index serves what (store/keys.py, docs/data-model.md):
- sort=priority: QueueIndex, `<rank>#<waiting since>#<id>` ascending: exactly the page.
- priority=X with sort=priority or waiting: QueueIndex, the rank's range: exactly the page.
- priority=X (not normal) with sort=activity: PriorityIndex, the rank's range, newest first: exactly the page.
- priority=normal with sort=activity: GSI1 without the prioritized ones (a filter: reads grow with their share).
- sort=waiting: QueueIndex's four rank ranges merged. The normal range is read first; the others only up to its last
  item, so the page reads what it returns plus the prioritized conversations among them (their share).
- sort=sla_due: SlaIndex (the conversations with an SLA target running, breached first), then the others, newest
  activity first (GSI1 without them: a filter).
Other filters (channel, label, assignee, attr.<key>) are FilterExpressions on the same Queries."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from switchboard.errors import BadRequest
from switchboard.store import keys
from switchboard.store.conversations import live
from switchboard.store.table import Table, decode_cursor, encode_cursor

if TYPE_CHECKING:
    from switchboard.models import Conversation

SORTS = ("activity", "priority", "waiting", "sla_due")
NORMAL_RANK = keys.priority_rank("normal")
HIGHEST = "\U0010ffff"  # sorts after anything a key holds


@dataclass
class Stream:
    """One index partition's range, read in order."""

    name: str  # its key in the cursor
    index: str
    sk_attr: str
    pk_value: str
    forward: bool
    begins: str | None = None  # the sort key's prefix (a priority's rank)
    filters: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    vals: dict[str, Any] = field(default_factory=dict)
    pk_attr: str = "gsi1pk"


@dataclass
class Phase:
    """Streams merged into one order; `base`: read first, the others only up to its last item (see sort=waiting)."""

    streams: list[Stream]
    key: Callable[[str], str]
    reverse: bool
    base: str | None = None


def page(table: Table, *, statuses: tuple[str, ...], sort: str, priority: str | None = None,
         assignee: str | None = None, channel: str | None = None, label: str | None = None,
         attributes: dict[str, str] | None = None, limit: int = 25,
         cursor: str | None = None) -> tuple[list[Conversation], str | None]:
    filters, names, vals = _filters(channel, label, assignee, attributes, priority if sort == "sla_due" else None)
    phases = _plan(statuses, sort, priority, filters, names, vals)
    signature = f"{sort}|{priority or ''}|{','.join(statuses)}"
    state = _state(cursor, signature, phases)
    taken: list[dict[str, Any]] = []
    while state["p"] < len(phases) and len(taken) < limit:
        phase = phases[state["p"]]
        got, streams_left = _merge(table, phase, state["s"], limit - len(taken))
        taken += got
        if streams_left:
            state["s"] = streams_left
            break
        state = {"p": state["p"] + 1, "s": _fresh(phases[state["p"] + 1]) if state["p"] + 1 < len(phases) else {}}
    more = state["p"] < len(phases)
    next_cursor = encode_cursor({"v": signature, "p": state["p"], "s": state["s"]}) if more else None
    return [_conversation(item) for item in taken if live(item)], next_cursor


def _conversation(item: dict[str, Any]) -> Conversation:
    from switchboard.models import Conversation

    return Conversation.model_validate(item)


def _filters(channel: str | None, label: str | None, assignee: str | None, attributes: dict[str, str] | None,
             priority: str | None) -> tuple[list[str], dict[str, str], dict[str, Any]]:
    filters: list[str] = []
    names: dict[str, str] = {}
    vals: dict[str, Any] = {}
    if channel:
        filters.append("#vch = :vch")
        names["#vch"], vals[":vch"] = "channel", channel
    if label:
        filters.append("contains(#vlb, :vlb)")
        names["#vlb"], vals[":vlb"] = "labels", label
    if assignee:
        filters.append("#vas = :vas")
        names["#vas"], vals[":vas"] = "assignee", assignee.lower()
    for i, (key, value) in enumerate(sorted((attributes or {}).items())):
        filters.append(f"#vat.#vak{i} = :vav{i}")
        names["#vat"], names[f"#vak{i}"], vals[f":vav{i}"] = "attributes", key, value
    if priority:
        names["#vpr"], vals[":vpr"] = "priority", priority
        filters.append("(attribute_not_exists(#vpr) OR #vpr = :vpr)" if priority == "normal" else "#vpr = :vpr")
    return filters, names, vals


def _stream(name: str, index: str, sk_attr: str, status: str, forward: bool, filters: list[str],
            names: dict[str, str], vals: dict[str, Any], begins: str | None = None,
            extra: str | None = None, extra_names: dict[str, str] | None = None) -> Stream:
    return Stream(name=name, index=index, sk_attr=sk_attr, pk_value=keys.inbox_status_pk(status), forward=forward,
                  begins=begins, filters=[*filters, *([extra] if extra else [])],
                  names={**names, **(extra_names or {})}, vals=dict(vals))


def _plan(statuses: tuple[str, ...], sort: str, priority: str | None, filters: list[str], names: dict[str, str],
          vals: dict[str, Any]) -> list[Phase]:
    rank = keys.priority_rank(priority) if priority else None
    if sort == "activity":  # a priority filter (the other filters alone are store/inbox.py's)
        if priority and priority != "normal":
            streams = [_stream(s, keys.PRIORITY_INDEX, "prio_sk", s, False, filters, names, vals, begins=f"{rank}#")
                       for s in statuses]
        else:
            normal_only = "attribute_not_exists(#vps)" if priority else None
            streams = [_stream(s, keys.INBOX_BY_STATUS, "gsi1sk", s, False, filters, names, vals, extra=normal_only,
                               extra_names={"#vps": "prio_sk"} if priority else None) for s in statuses]
        return [Phase(streams, key=_after_rank if priority and priority != "normal" else _same, reverse=True)]
    if sort == "priority" or (sort == "waiting" and priority):
        streams = [_stream(s, keys.QUEUE_INDEX, "queue_sk", s, True, filters, names, vals,
                           begins=f"{rank}#" if rank else None) for s in statuses]
        return [Phase(streams, key=_same if sort == "priority" else _after_rank, reverse=False)]
    if sort == "waiting":
        streams = [_stream(f"{s}.{r}", keys.QUEUE_INDEX, "queue_sk", s, True, filters, names, vals, begins=f"{r}#")
                   for s in statuses for r in sorted(keys.PRIORITY_RANKS.values())]
        return [Phase(streams, key=_after_rank, reverse=False, base=f"{statuses[0]}.{NORMAL_RANK}")]
    if sort == "sla_due":
        running = [_stream(f"{s}.sla", keys.SLA_INDEX, "sla_sk", s, True, filters, names, vals) for s in statuses]
        rest = [_stream(f"{s}.rest", keys.INBOX_BY_STATUS, "gsi1sk", s, False, filters, names, vals,
                        extra="attribute_not_exists(#vss)", extra_names={"#vss": "sla_sk"}) for s in statuses]
        return [Phase(running, key=_same, reverse=False), Phase(rest, key=_same, reverse=True)]
    raise BadRequest(f"sort must be one of {', '.join(SORTS)}", code="invalid_sort")


def _same(sk: str) -> str:
    return sk


def _after_rank(sk: str) -> str:
    return sk.split("#", 1)[1]  # "<rank>#<rest>": the rest orders across ranks


def _fresh(phase: Phase) -> dict[str, str]:
    return {s.name: "" for s in phase.streams}


def _state(cursor: str | None, signature: str, phases: list[Phase]) -> dict[str, Any]:
    if not cursor:
        return {"p": 0, "s": _fresh(phases[0])}
    state = decode_cursor(cursor) or {}
    p = state.get("p")
    streams = state.get("s")
    if state.get("v") != signature or not isinstance(p, int) or not 0 <= p < len(phases) \
            or not isinstance(streams, dict) or not set(streams) <= {s.name for s in phases[p].streams}:
        raise BadRequest("invalid cursor (it belongs to other filters)", code="invalid_cursor")
    return {"p": p, "s": streams}


def _start(stream: Stream, sk: str) -> dict[str, Any] | None:
    """The index key to resume after, rebuilt from its sort key (it ends with the conversation's id)."""
    if not sk:
        return None
    conv_id = sk.rsplit("#", 1)[-1]
    return {**keys.conversation(conv_id), stream.pk_attr: stream.pk_value, stream.sk_attr: sk}


def _read(table: Table, stream: Stream, limit: int, start: str, upper: str | None
          ) -> tuple[list[dict[str, Any]], bool]:
    """Up to `limit` matching items after `start` (a filter may take several reads to fill the page), and whether
    the range has more (False: everything up to `upper`, or to its end, has been read)."""
    condition = f"{stream.pk_attr} = :vpk"
    vals: dict[str, Any] = {":vpk": stream.pk_value, **stream.vals}
    names = dict(stream.names)
    if stream.begins:  # the rank's range, up to the bound when there is one (a merge's base item)
        condition += " AND #vsk BETWEEN :vlo AND :vhi"
        names["#vsk"] = stream.sk_attr
        vals[":vlo"] = stream.begins
        vals[":vhi"] = stream.begins + (upper if upper is not None else HIGHEST)
    found: list[dict[str, Any]] = []
    resume = _start(stream, start)
    while True:  # each read asks for what the page still lacks: a filter that drops a few costs a few reads more
        items, resume = table.query(condition, vals, index=stream.index, names=names or None, forward=stream.forward,
                                    limit=limit - len(found), start=resume,
                                    filter_expression=" AND ".join(stream.filters) or None)
        found.extend(items)
        if len(found) >= limit or not resume:
            return found, bool(resume)


def _merge(table: Table, phase: Phase, state: dict[str, str], limit: int) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The phase's next `limit` items in order, and the streams still to read (each with where to resume)."""
    by_name = {s.name: s for s in phase.streams}
    pages: dict[str, tuple[list[dict[str, Any]], bool, bool]] = {}  # items, more, bounded
    bound: str | None = None
    if phase.base and phase.base in state:
        items, more = _read(table, by_name[phase.base], limit, state[phase.base], None)
        pages[phase.base] = (items, more, False)
        if more and items:
            bound = phase.key(items[-1][by_name[phase.base].sk_attr])
    for name, start in state.items():
        if name not in pages:
            items, more = _read(table, by_name[name], limit, start, bound if phase.base else None)
            pages[name] = (items, more, bound is not None)
    merged = heapq.merge(*[[(phase.key(item[by_name[name].sk_attr]), name, item) for item in items]
                           for name, (items, _, _) in pages.items()], reverse=phase.reverse)
    taken = [entry for _, entry in zip(range(limit), merged, strict=False)]
    left: dict[str, str] = {}
    for name, (items, more, bounded) in pages.items():
        used = [item for _, n, item in taken if n == name]
        if len(used) < len(items) or more or bounded:
            left[name] = used[-1][by_name[name].sk_attr] if used else state[name]
    return [item for _, _, item in taken], left

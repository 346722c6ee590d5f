"""Report counters: per business day (in the business time zone), per dimension, per key, updated as events happen,
so that a report over a range reads one item per day of the range, never a conversation.

Item REPORT#<local day> / <dimension> (dimensions: agents, labels, channels, sources, inboxes) holds flat counters
named `<counter>|<key>`:
  n     conversations: opened (channels, inboxes, sources), handled by the agent (agents: assigned to them, answered
        first or resolved by them; once per conversation, by a CONV#<id> / HANDLED#<agent> claim), labelled (labels)
  r     resolutions
  f<i>  first responses in time bucket i (store/metrics.BUCKETS)
  s<i>  resolutions in time bucket i
  cn, cs, c45  CSAT answers, their sum, how many were 4 or 5
Only counters that happened exist (ADD creates them), so a day's item holds what happened that day. Keys are agents'
sign-in addresses (staff, not customers), labels, channel names, inbox ids and source names: no customer's data.

Each count is recorded after the write that makes its event happen once (a conditional put or update): a redelivery
or a retry never counts twice; a failure here loses a count, never the event (as store/metrics.record)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from switchboard import clock, observability
from switchboard.errors import BadRequest, ServiceUnavailable
from switchboard.settings import get_settings
from switchboard.store import keys, settings_doc
from switchboard.store.metrics import BUCKETS, MAX_DAYS, bucket
from switchboard.store.table import ConditionFailed, Table

if TYPE_CHECKING:
    from switchboard.models import Conversation, Source

DIMENSIONS = ("agents", "labels", "channels", "sources", "inboxes")
KEEP_DAYS = 800  # report items expire (TTL) this long after their day: two years of comparisons, then gone
MAX_KEY = 200  # characters of a key kept (a label or a source name longer than this is cut)
NO_SOURCE = "none"  # conversations nobody attributed (no link, no ad, no page)
SEPARATOR = "|"
ZONE_CACHE_SECONDS = 30.0
_zone_cache: tuple[float, ZoneInfo] | None = None


# -- the business day ------------------------------------------------------------------------------------------------
def _zone_name(document: dict[str, Any] | None) -> str | None:
    hours = (document or {}).get("business_hours")
    return hours.get("timezone") if isinstance(hours, dict) and isinstance(hours.get("timezone"), str) else None


def business_zone(table: Table) -> ZoneInfo:
    """The business time zone (settings business_hours.timezone, else the template's default, else UTC), cached
    briefly as the settings are."""
    global _zone_cache
    if _zone_cache and time.monotonic() - _zone_cache[0] < ZONE_CACHE_SECONDS:
        return _zone_cache[1]
    document, _ = settings_doc.read(table)
    name = _zone_name(document)
    if not name:
        try:
            name = _zone_name(json.loads(get_settings().automation_defaults or "{}"))
        except ValueError:
            name = None
    try:
        zone = ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    _zone_cache = (time.monotonic(), zone)
    return zone


def forget_zone() -> None:
    global _zone_cache
    _zone_cache = None


def local_day(table: Table, at: str | datetime) -> str:
    """The business day (YYYY-MM-DD) an instant falls on."""
    moment = clock.parse_iso(at) if isinstance(at, str) else at
    return moment.astimezone(business_zone(table)).date().isoformat()


# -- counting --------------------------------------------------------------------------------------------------------
def _key(value: str) -> str:
    return value.replace(SEPARATOR, "/")[:MAX_KEY] or "-"


def record(table: Table, day: str, dimension: str, counts: dict[str, dict[str, int]]) -> None:
    """Add `counts` ({key: {counter: delta}}) to the day's item of one dimension: one UpdateItem. A failure (the
    store unavailable, or the item at DynamoDB's size limit) loses these counts, never the event."""
    flat = {f"{counter}{SEPARATOR}{_key(k)}": delta for k, counters in counts.items()
            for counter, delta in counters.items() if delta}
    if not flat:
        return
    names = {f"#c{i}": name for i, name in enumerate(flat)}
    vals: dict[str, Any] = {f":c{i}": value for i, value in enumerate(flat.values())}
    vals[":exp"] = int(datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC).timestamp()) \
        + KEEP_DAYS * 86400
    expression = "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(flat))) + \
        " SET expires_at = if_not_exists(expires_at, :exp), #t = if_not_exists(#t, :type)"
    names["#t"] = "type"
    vals[":type"] = "report_day"
    try:
        table.update(keys.report_day(day, dimension), expression, names=names, vals=vals)
    except (ServiceUnavailable, BadRequest):
        observability.count("ReportCountsLost")


def record_all(table: Table, day: str, dims: Mapping[str, Iterable[str]], counters: dict[str, int]) -> None:
    """The same counters for every key of every dimension in `dims` ({"agents": ["a@x"], "labels": [...]}): one
    UpdateItem per dimension, side by side (independent items, and `record` never raises)."""
    from switchboard.parallel import parallel

    updates = [(dimension, {k: counters for k in dict.fromkeys(found) if k}) for dimension, found in dims.items()]
    parallel(lambda update: record(table, day, *update), [u for u in updates if u[1]])


# -- the events counted -----------------------------------------------------------------------------------------------
def source_key(source: Source | dict[str, Any] | None) -> str:
    """A conversation's source as the sources report groups it (as services/links.metric_name, bounded by what admins
    and Meta create): link:<link id>, ad:<ad id>, page, other; `none` when nothing attributed it."""
    if source is None:
        return NO_SOURCE
    data = source if isinstance(source, dict) else source.model_dump(mode="json", exclude_none=True)
    ad = data.get("ad") or {}
    if data.get("link_id"):
        return f"link:{data['link_id']}"
    if isinstance(ad, dict) and ad.get("id"):
        return f"ad:{str(ad['id'])[:100]}"
    if data.get("page_url"):
        return "page"
    return "other"


def dims_of(conv: Conversation, agent: str | None) -> dict[str, list[str]]:
    """Every key an event of this conversation counts under: its agent (who acted), labels, channel, inbox, source."""
    return {"agents": [agent.lower()] if agent else [], "labels": list(conv.labels), "channels": [conv.channel],
            "inboxes": [conv.inbox], "sources": [source_key(conv.source)]}


def opened(table: Table, conv: Conversation) -> None:
    """A new conversation (counted once: after its conditional put), on the business day it opened."""
    day = local_day(table, conv.created_at)
    record_all(table, day, {"channels": [conv.channel], "inboxes": [conv.inbox], "sources": [NO_SOURCE]}, {"n": 1})


def attributed(table: Table, conv: Conversation, source: Source) -> None:
    """Its source became known (once: a conditional write): counted under it rather than under `none`."""
    key = source_key(source)
    if key != NO_SOURCE:
        record(table, local_day(table, conv.created_at), "sources", {NO_SOURCE: {"n": -1}, key: {"n": 1}})


def handled(table: Table, conv_id: str, agent: str | None, at: str, expires_at: int | None = None) -> None:
    """An agent handled a conversation (it was assigned to them, they answered it first, or resolved it): counted
    in their `conversations` once per conversation, on the day they first did, by a claim in its partition (which
    goes with the conversation: retention, erasure). Automation is not an agent."""
    if not agent or agent.startswith("automation"):
        return
    item: dict[str, Any] = {**keys.report_handled(conv_id, agent), "type": "report_handled", "created_at": at}
    if expires_at:
        item["expires_at"] = expires_at
    try:
        table.put(item, condition="attribute_not_exists(pk)")
    except ConditionFailed:
        return  # counted before
    except (ServiceUnavailable, BadRequest):
        observability.count("ReportCountsLost")
        return
    record(table, local_day(table, at), "agents", {agent.lower(): {"n": 1}})


def assigned(table: Table, conv: Conversation, agent: str | None, at: str) -> None:
    """A conversation went to an agent."""
    handled(table, conv.id, agent, at, conv.expires_at)


def labelled(table: Table, added: Iterable[str], at: str) -> None:
    """Labels newly put on a conversation."""
    record(table, local_day(table, at), "labels", {label: {"n": 1} for label in added})


def first_response(table: Table, conv: Conversation, agent: str | None, at: str, seconds: float) -> None:
    """The conversation's first answer (once: its conditional write), credited to whoever answered."""
    record_all(table, local_day(table, at), dims_of(conv, agent or conv.assignee), {f"f{bucket(seconds)}": 1})
    handled(table, conv.id, agent or conv.assignee, at, conv.expires_at)


def resolved(table: Table, conv: Conversation, by: str, at: str, seconds: float) -> None:
    """A resolution (once: its conditional write), credited to whoever resolved it."""
    record_all(table, local_day(table, at), dims_of(conv, by), {"r": 1, f"s{bucket(seconds)}": 1})
    handled(table, conv.id, by, at, conv.expires_at)


def csat(table: Table, day: str, dims: dict[str, list[str]], counters: dict[str, int]) -> None:
    """A survey's answer counted (or changed: the counters move by the difference) on `day`, under the keys the
    survey was first counted with."""
    short = {"csat_n": "cn", "csat_sum": "cs", "csat_45": "c45"}
    record_all(table, day, dims, {short[name]: value for name, value in counters.items() if name in short})


# -- reading ---------------------------------------------------------------------------------------------------------
def days(table: Table, dimension: str, first: date, last: date) -> list[dict[str, Any]]:
    """The range's items of one dimension: one key per day (BatchGetItem, 100 at a time); days with nothing
    recorded have no item."""
    count = min((last - first).days + 1, MAX_DAYS)
    wanted = [keys.report_day((first + timedelta(days=i)).isoformat(), dimension) for i in range(max(count, 0))]
    now = clock.epoch()
    found: list[dict[str, Any]] = []
    for start in range(0, len(wanted), 100):
        found += [i for i in table.batch_get(wanted[start:start + 100])
                  if not (isinstance(i.get("expires_at"), int | float) and 0 < i["expires_at"] <= now)]
    return found


def totals(items: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """{key: {counter: total}} over the days' items."""
    out: dict[str, dict[str, int]] = {}
    for item in items:
        for name, value in item.items():
            if SEPARATOR not in name or not isinstance(value, int | float):
                continue
            counter, key = name.split(SEPARATOR, 1)
            into = out.setdefault(key, {})
            into[counter] = into.get(counter, 0) + int(value)
    return out


def histogram(counters: dict[str, int], prefix: str) -> list[int]:
    return [max(0, counters.get(f"{prefix}{i}", 0)) for i in range(len(BUCKETS) + 1)]


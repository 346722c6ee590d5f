"""report_items_read_per_day and export_rows_per_second (issue 16): the reports (GET /api/reports/<dimension>,
through the real API handler on moto) over a 90-day range whose every day has its counters, and the conversation
export of a range of conversations (GET /api/exports/conversations).

The reports' days are written by the store's own counting (store/reports.record: the items and counter names the
events write), for 25 agents, 40 labels, 7 channels, 12 sources and 10 inboxes a day, beside 100,000 conversations
(or the quick run's) that a report must never read. Items read are counted from DynamoDB's responses (bench/harness:
ScannedCount of each Query, each item a GetItem or BatchGetItem returned); the headline is the most any dimension
read per day of the range, everything the request read included (its business time zone's settings item, the
agents' list for `currently_open`, the links' names for sources)."""

from __future__ import annotations

import json
import random
import time
from datetime import date, timedelta
from typing import Any

from bench.harness import CallLog, OutputCapture, by_operation, forget_metrics, items_read, moto_stack, reset_caches
from bench.items_read import _item
from bench.motofast import fast_moto, put_items

DAYS = 90
KEYS = {"agents": 25, "labels": 40, "channels": 7, "sources": 12, "inboxes": 10}
EXPORT_DAYS = 3


def _populate_reports(table_name: str, last: date, rng: random.Random) -> None:
    from switchboard.store import keys, reports
    from switchboard.store.metrics import BUCKETS

    items = []
    for offset in range(DAYS):
        day = (last - timedelta(days=offset)).isoformat()
        for dimension, count in KEYS.items():
            item: dict[str, Any] = {**keys.report_day(day, dimension), "type": "report_day",
                                    "expires_at": int(time.time()) + 800 * 86400}
            for k in range(count):
                name = {"agents": f"agent{k}@example.com", "labels": f"label-{k}", "channels": f"channel{k}",
                        "sources": f"link:lk_{k:08d}", "inboxes": f"whatsapp:2000000000000{k:02d}"}[dimension]
                counters = {"n": rng.randint(1, 40), "r": rng.randint(0, 30), "cn": rng.randint(0, 8)}
                counters["cs"] = counters["cn"] * rng.randint(3, 5)
                for _ in range(rng.randint(2, 6)):  # the few histogram buckets a key's day has
                    counters[f"f{rng.randint(0, len(BUCKETS))}"] = rng.randint(1, 10)
                    counters[f"s{rng.randint(0, len(BUCKETS))}"] = rng.randint(1, 10)
                item |= {f"{c}{reports.SEPARATOR}{name}": v for c, v in counters.items()}
            items.append(_item(item))
    for k in range(KEYS["agents"]):  # registered agents: the agents report lists their open load
        items.append(_item({**keys.agent(f"agent{k}@example.com"), "type": "agent", "email": f"agent{k}@example.com",
                            "available": True, "max_open": 10, "open_count": rng.randint(0, 10)}))
    put_items(table_name, items)


def _populate_conversations(table_name: str, conversations: int, start: date) -> int:
    """Conversations as CreatedIndex holds them: the export's population (EXPORT_DAYS of them, the rest earlier)."""
    from switchboard.store import keys

    items = []
    per_day = max(1, conversations // 30)
    exported = 0
    for i in range(conversations):
        day = start - timedelta(days=i // per_day)
        created = f"{day.isoformat()}T{(i % 86400) // 3600:02d}:{(i % 3600) // 60:02d}:{i % 60:02d}.000Z"
        conv_id = f"cv_{i:028x}"
        exported += (start - day).days < EXPORT_DAYS
        items.append(_item({**keys.conversation(conv_id), **keys.created_keys(created, conv_id), "type": "conversation",
                            "id": conv_id, "channel": "whatsapp", "inbox_id": "200000000000002",
                            "contact_id": f"ct_{i:028x}", "contact_name": f"Customer {i}", "status": "resolved",
                            "created_at": created, "first_response_at": created, "resolved_at": created,
                            "resolved_by": "agent0@example.com", "assignee": "agent0@example.com",
                            "labels": ["billing"], "priority": "normal", "rating": 5}))
    put_items(table_name, items)
    return exported


def measure(conversations: int, log_progress: Any = print) -> dict[str, Any]:
    from switchboard import clock

    rng = random.Random(16)
    with moto_stack() as stack, fast_moto():
        today = clock.now().date()
        _populate_reports(stack.table_name, today, rng)
        exported = _populate_conversations(stack.table_name, conversations, today)
        log_progress(f"  populated {DAYS} days x {len(KEYS)} report dimensions and {conversations:,} conversations")
        forget_metrics()
        reset_caches()
        log = CallLog()
        log.attach_switchboard()
        out = OutputCapture()
        first = (today - timedelta(days=DAYS - 1)).isoformat()
        per_dimension: dict[str, Any] = {}
        for dimension in KEYS:
            function, event = stack.http_event("GET", f"/api/reports/{dimension}", role="agent",
                                               query=f"from={first}&to={today.isoformat()}")
            with out.capture():
                started = time.perf_counter()
                response = stack.functions[function].invoke(event)
                ms = (time.perf_counter() - started) * 1000
            calls = log.take()
            rows = len(json.loads(response.get("body") or "{}").get("items", []))
            read = items_read(calls)
            per_dimension[dimension] = {"status": response.get("statusCode"), "rows": rows, "ms": round(ms, 1),
                                        **read, "items_read_per_day": round(read["items_read"] / DAYS, 3),
                                        "ops": by_operation(calls)}
        export_first = (today - timedelta(days=EXPORT_DAYS - 1)).isoformat()
        function, event = stack.http_event("GET", "/api/exports/conversations", role="admin",
                                           query=f"from={export_first}&to={today.isoformat()}")
        with out.capture():
            started = time.perf_counter()
            response = stack.functions[function].invoke(event)
            seconds = time.perf_counter() - started
        calls = log.take()
        body = response.get("body") or ""
        rows = max(0, len(body.strip().splitlines()) - 1) if response.get("statusCode") == 200 and \
            not body.startswith("{") else json.loads(body or "{}").get("rows", 0)
    read = items_read(calls)
    worst = max(per_dimension.values(), key=lambda d: d["items_read_per_day"])
    return {
        "report_items_read_per_day": worst["items_read_per_day"],
        "export_rows_per_second": round(rows / seconds, 1) if seconds else None,
        "reports_detail": {
            "days": DAYS, "keys_per_day": KEYS, "conversations_in_table": conversations,
            "by_dimension": per_dimension,
            "export": {"status": response.get("statusCode"), "rows": rows, "expected_rows": exported,
                       "seconds": round(seconds, 2), **read,
                       "items_read_per_row": round(read["items_read"] / max(rows, 1), 3), "ops": by_operation(calls),
                       "note": "moto answers an index Query by looking at every item of the table: the rate is "
                               "moto's, a floor of DynamoDB's"},
            "layout": " ".join((__doc__ or "").split()),
        },
    }

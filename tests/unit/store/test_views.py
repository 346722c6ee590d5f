"""store/views.py and store/queue.py (issue 14): every view pages through exactly the conversations a brute-force sort
gives, in that order, whatever the priorities, waits and SLA due times; the sort keys follow the writes; a Delta
renders into another write."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from switchboard.store import keys, queue, views
from switchboard.store.table import Table
from tests.support.dynamodb import template_table

PRIORITIES = ("urgent", "high", "normal", "low")
RANK = {p: i for i, p in enumerate(PRIORITIES)}


def put(table: Table, n: int, status: str, priority: str, waiting: int | None, activity: int,
        sla: int | None) -> dict[str, Any]:
    conv_id = f"cv_{n:04d}"
    updated = f"2026-01-01T00:{activity // 60:02d}:{activity % 60:02d}.000Z"
    since = f"2026-01-01T00:{waiting // 60:02d}:{waiting % 60:02d}.000Z" if waiting is not None else None
    due = f"2026-01-02T00:{sla // 60:02d}:{sla % 60:02d}.000Z" if sla is not None else None
    item: dict[str, Any] = {**keys.conversation(conv_id), **keys.inbox_keys(status, None, updated, conv_id),
                            "type": "conversation", "id": conv_id, "channel": "whatsapp", "inbox_id": "P",
                            "contact_id": f"ct_{n}", "recipient": "1", "status": status, "labels": [],
                            "created_at": updated, "updated_at": updated, "priority": priority,
                            "queue_sk": keys.queue_sort(priority, since, conv_id),
                            "prio_sk": keys.priority_sort(priority, updated, conv_id), "waiting_since": since}
    if due:
        item |= {"sla": {"resolution_due_at": due}, "sla_sk": keys.sla_sort(due, conv_id)}
    table.put(item)
    return item


def pages(table: Table, limit: int, **query: Any) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(200):
        items, cursor = views.page(table, limit=limit, cursor=cursor, **query)
        assert len(items) <= limit
        seen += [c.id for c in items]
        if not cursor:
            return seen
    raise AssertionError("never ended")


conversation = st.tuples(st.sampled_from(("open", "open", "pending")), st.sampled_from(PRIORITIES),
                         st.one_of(st.none(), st.integers(0, 3599)), st.integers(0, 3599),
                         st.one_of(st.none(), st.integers(0, 3599)))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(conversation, min_size=0, max_size=14), limit=st.integers(1, 5))
def test_every_view_pages_through_the_brute_force_order(rows, limit):
    with template_table():
        table = Table()
        made = [put(table, n, *row) for n, row in enumerate(rows)]
        open_ = [m for m in made if m["status"] == "open"]
        ids = lambda items: [m["id"] for m in items]  # noqa: E731
        waiting_key = lambda m: (m["waiting_since"] or "~", m["id"])  # noqa: E731
        expected = {
            ("priority", None): sorted(open_, key=lambda m: (RANK[m["priority"]], *waiting_key(m))),
            ("waiting", None): sorted(open_, key=waiting_key),
            ("sla_due", None): sorted((m for m in open_ if "sla" in m), key=lambda m: (m["sla"]["resolution_due_at"],
                                                                                        m["id"]))
            + sorted((m for m in open_ if "sla" not in m), key=lambda m: (m["updated_at"], m["id"]), reverse=True),
        }
        for p in PRIORITIES:
            mine = [m for m in open_ if m["priority"] == p]
            expected[("activity", p)] = sorted(mine, key=lambda m: (m["updated_at"], m["id"]), reverse=True)
            expected[("waiting", p)] = sorted(mine, key=waiting_key)
        for (sort, priority), want in expected.items():
            got = pages(table, limit, statuses=("open",), sort=sort, priority=priority)
            assert got == ids(want), (sort, priority)


@pytest.fixture
def table():
    with template_table():
        yield Table()


def test_a_cursor_of_another_view_is_refused(table):
    for n in range(3):
        put(table, n, "open", "normal", n, n, None)
    _, cursor = views.page(table, statuses=("open",), sort="priority", limit=1)
    with pytest.raises(Exception, match="cursor"):
        views.page(table, statuses=("open",), sort="waiting", limit=1, cursor=cursor)


def test_a_delta_renders_into_another_write_with_its_own_placeholders():
    delta = queue.Delta(sets={"queue_sk": "3#x#cv_1", "sla.first_response_due_at": "t"}, removes=["waiting_since"],
                        conditions=[("eq_or_absent", "priority", "normal"), ("absent", "sla", None)])
    expression, names, vals, condition = queue.merge("SET a = :a REMOVE b", delta, {"#x": "y"}, {":a": 1}, "c = :c")
    assert expression.startswith("SET a = :a, ") and expression.endswith("REMOVE b, #q3")
    assert condition.startswith("c = :c AND (attribute_not_exists(#q4) OR #q4 = :q2)")
    assert names["#q0"] == "queue_sk" and names["#q1"] == "sla" and names["#x"] == "y"
    assert vals == {":a": 1, ":q0": "3#x#cv_1", ":q1": "t", ":q2": "normal"}
    assert queue.merge("SET a = :a", None, None, {}, None) == ("SET a = :a", {}, {}, "")


def test_the_sort_keys_follow_the_priority_and_the_wait():
    assert keys.queue_sort("urgent", None, "cv_1") == "1#~#cv_1"
    assert keys.queue_sort(None, "2026-01-01T00:00:00.000Z", "cv_1") == "3#2026-01-01T00:00:00.000Z#cv_1"
    assert keys.priority_sort("normal", "t", "cv_1") is None and keys.priority_sort("low", "t", "cv_1") == "4#t#cv_1"
    assert sorted(["3#~#a", "3#2026#b", "1#~#c", "4#2025#d"]) == ["1#~#c", "3#2026#b", "3#~#a", "4#2025#d"]

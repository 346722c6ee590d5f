"""store/table.py: the cursor encoding, query_all's paging and cap, and AWS errors as domain errors."""

from __future__ import annotations

import pytest

from switchboard.errors import BadRequest
from switchboard.store.table import ConditionFailed, Table, decode_cursor, encode_cursor


def test_a_cursor_round_trips_and_is_opaque():
    key = {"pk": "CONV#cv_1", "sk": "MSG#2026#m_1", "n": 3}
    cursor = encode_cursor(key)
    assert cursor and "CONV" not in cursor and "=" not in cursor
    assert decode_cursor(cursor) == key


def test_no_key_is_no_cursor():
    assert encode_cursor(None) is None and encode_cursor({}) is None and decode_cursor(None) is None


# junk, then base64 of null, [1,2] and {"a": [1,2]}
@pytest.mark.parametrize("cursor", ["not base64 !", "bnVsbA", "WzEsMl0", "eyJhIjogWzEsMl19"])
def test_a_forged_cursor_is_a_bad_request(cursor):
    with pytest.raises(BadRequest) as raised:
        decode_cursor(cursor)
    assert raised.value.code == "invalid_cursor"


def put_many(table: Table, n: int) -> None:
    for i in range(n):
        table.put({"pk": "P", "sk": f"S#{i:03d}", "n": i})


def test_query_all_follows_every_page(table, monkeypatch):
    put_many(table, 25)
    calls = []
    real = Table.query

    def counted(self, *args, **kwargs):
        calls.append(kwargs.get("limit"))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Table, "query", counted)
    items = table.query_all("pk = :pk", {":pk": "P"}, page_size=10)
    assert [i["n"] for i in items] == list(range(25))
    assert calls == [10, 10, 10]


def test_query_all_stops_at_its_cap_and_pages_say_where_to_resume(table):
    put_many(table, 25)
    assert [i["n"] for i in table.query_all("pk = :pk", {":pk": "P"}, cap=12, page_size=5)] == list(range(12))
    pages = list(table.pages("pk = :pk", {":pk": "P"}, cap=12, page_size=5))
    assert [len(items) for items, _ in pages] == [5, 5, 2]
    (_, resume) = pages[-1]
    rest = table.query_all("pk = :pk", {":pk": "P"}, start=resume)
    assert [i["n"] for i in rest] == list(range(12, 25))


def test_a_failed_condition_is_condition_failed_with_the_old_item(table):
    table.put({"pk": "P", "sk": "S", "v": 1})
    with pytest.raises(ConditionFailed) as raised:
        table.put({"pk": "P", "sk": "S", "v": 2}, condition="attribute_not_exists(pk)", return_old_on_fail=True)
    assert raised.value.item == {"pk": "P", "sk": "S", "v": 1}


def test_numbers_come_back_as_ints_and_floats(table):
    table.put({"pk": "P", "sk": "N", "i": 3, "f": 1.5, "nested": {"x": [1, 2.5]}})
    assert table.get({"pk": "P", "sk": "N"}) == {"pk": "P", "sk": "N", "i": 3, "f": 1.5, "nested": {"x": [1, 2.5]}}

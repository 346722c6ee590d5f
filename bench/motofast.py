"""Makes moto's DynamoDB usable at 100,000 conversations, without changing what it answers.

Queries:

moto answers every Query by sorting every item of the table first (even a base-table Query of one partition),
which takes about a second per Query at a few hundred thousand items. While this patch is active:
- a base-table Query starts from its own partition (moto then filters on the hash key and sorts by the range key
  exactly as before);
- an index Query starts from the unsorted items (moto then keeps the ones in the index partition and sorts them
  by the index keys itself, as before).
Responses (items, Count, ScannedCount, LastEvaluatedKey) are what unpatched moto returns; the counting happens on
the client side (botocore hooks), so the figures do not depend on this.

`put_items` writes items straight into moto's table (what BatchWriteItem ends in, without the HTTP round trip):
the population of 100,000 conversations takes seconds instead of minutes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_state = threading.local()


@contextmanager
def fast_moto() -> Iterator[None]:
    with fast_queries(), light_transactions():
        yield


@contextmanager
def light_transactions() -> Iterator[None]:
    """moto backs up every table a TransactWriteItems touches with a deep copy of the whole table (seconds at a
    few hundred thousand items), to restore it if the transaction is cancelled. Here it backs up only the items
    the transaction names, and restores those (the local stack's patch, infra/local/moto_speedups.py)."""
    from infra.local.moto_speedups import install_light_transactions

    undo = install_light_transactions()
    try:
        yield
    finally:
        undo()


@contextmanager
def fast_queries() -> Iterator[None]:
    """A Query looks only at its own partition (base table) or at the unsorted items (an index): the local
    stack's patch, infra/local/moto_speedups.py."""
    from infra.local.moto_speedups import install_fast_queries

    undo = install_fast_queries()
    try:
        yield
    finally:
        undo()


def moto_table(table_name: str, account: str = "123456789012", region: str = "us-east-1") -> Any:
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[account][region].get_table(table_name)


def put_items(table_name: str, items: list[dict[str, Any]]) -> int:
    """Items in DynamoDB JSON ({"pk": {"S": ...}}), stored as BatchWriteItem's PutRequests store them (moto's
    Item in the table's partition map), without moto's per-attribute size check, which is quadratic in the number
    of attributes (every item here is far below 400 KB)."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    table = moto_table(table_name)
    hash_attr, range_attr = table.hash_key_attr, table.range_key_attr
    for raw in items:
        attrs = LimitedSizeDict()
        dict.update(attrs, {name: DynamoType(value) for name, value in raw.items()})
        item: Any = Item.__new__(Item)  # filled by hand: moto's constructor re-parses every attribute
        item.hash_key, item.range_key, item.attrs = attrs[hash_attr], attrs[range_attr], attrs
        table.items[item.hash_key][item.range_key] = item
    return len(items)


@contextmanager
def sorted_partitions() -> Iterator[None]:
    """For read-only phases (the search benchmark's queries): a base-table Query reads its partition
    in range-key order from a sorted list built once per partition, and a begins_with condition starts where the
    prefix starts (bisect), instead of moto comparing and sorting every item of the partition for every Query (a
    word that 70,000 conversations have). An index Query is given only the items of its index partition (grouped
    once per index) to look through, instead of every item of the table; moto then checks, sorts, pages and
    projects them as ever. The answer is moto's own: the same items in the same order, the same Limit and 1 MB page
    size, the same ScannedCount (moto counts only items that meet the key condition) and LastEvaluatedKey. Writes
    while it is active are not seen by partitions already listed: never use it then."""
    import bisect
    import copy

    from moto.dynamodb.models import table as moto_table

    cls = moto_table.Table
    original, original_all_items = cls.query, cls.all_items
    listed: dict[tuple[int, Any], tuple[list[str], list[Any]]] = {}
    grouped: dict[tuple[int, str], dict[str, list[Any]]] = {}

    def all_items(self: Any) -> list[Any]:
        wanted = getattr(_state, "index_partition", None)
        if wanted is None:
            return original_all_items(self)
        index_name, value = wanted
        key = (id(self), index_name)
        if key not in grouped:
            index = next(i for i in self.all_indexes() if i.name == index_name)
            attr = next(k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH")
            groups: dict[str, list[Any]] = {}
            for item in original_all_items(self):
                found = item.attrs.get(attr)
                if found is not None and found.type == "S":
                    groups.setdefault(found.value, []).append(item)
            grouped[key] = groups
        return list(grouped[key].get(value, []))

    def sorted_partition(table: Any, hash_key: Any) -> tuple[list[str], list[Any]]:
        key = (id(table), hash_key.value)
        if key not in listed:
            partition = table.items.get(hash_key) or {}
            items = sorted(partition.values(), key=lambda item: item.range_key.value)
            listed[key] = ([item.range_key.value for item in items], items)
        return listed[key]

    def query(self: Any, hash_key: Any, range_comparison: str | None, range_objs: list[Any], limit: int,
              exclusive_start_key: dict[str, Any], scan_index_forward: bool,
              projection_expressions: list[list[str]] | None, index_name: str | None = None,
              consistent_read: bool = False, filter_expression: Any = None, hash_key_conditions: Any = None,
              range_key_conditions: Any = None, **filter_kwargs: Any) -> Any:
        simple = (index_name is None and not filter_kwargs and self.range_key_attr
                  and hash_key is not None and hash_key.type == "S" and range_comparison in (None, "BEGINS_WITH")
                  and all(o.type == "S" for o in range_objs)
                  and (not range_key_conditions or len(range_key_conditions) == 1))
        if not simple:
            one_partition = (index_name is not None and hash_key is not None and hash_key.type == "S"
                             and (not hash_key_conditions or len(hash_key_conditions) == 1))
            previous = getattr(_state, "index_partition", None)
            _state.index_partition = (index_name, hash_key.value) if one_partition else None
            try:
                return original(self, hash_key, range_comparison, range_objs, limit, exclusive_start_key,
                                scan_index_forward, projection_expressions, index_name, consistent_read,
                                filter_expression, hash_key_conditions, range_key_conditions, **filter_kwargs)
            finally:
                _state.index_partition = previous
        values, items = sorted_partition(self, hash_key)
        low, high = 0, len(values)
        if range_comparison == "BEGINS_WITH":
            prefix = range_objs[0].value
            low = bisect.bisect_left(values, prefix)
            high = low
            while high < len(values) and values[high].startswith(prefix):
                high += 1
        order = range(low, high) if scan_index_forward is not False else range(high - 1, low - 1, -1)
        if exclusive_start_key:
            after = exclusive_start_key[self.range_key_attr]["S"]
            if scan_index_forward is not False:
                order = range(max(low, bisect.bisect_right(values, after)), high)
            else:
                order = range(min(high, bisect.bisect_left(values, after)) - 1, low - 1, -1)
        results: list[Any] = []
        size, last, position = 0, None, None
        for position in order:
            item = items[position]
            if len(results) == limit or size + item.size() > moto_table.RESULT_SIZE_LIMIT:
                last = self._get_last_evaluated_key(results[-1], None)
                break
            results.append(item)
            size += item.size()
        else:
            # moto walks the whole partition: a full page followed by any item at all (matching or not) has a
            # LastEvaluatedKey
            forward = scan_index_forward is not False
            beyond = position is not None and (position < len(values) - 1 if forward else position > 0)
            if results and len(results) == limit and beyond:
                last = self._get_last_evaluated_key(results[-1], None)
        scanned = len(results)
        results = copy.deepcopy(results)
        if filter_expression is not None:  # as moto: a FilterExpression applies after Limit (none is an always-true Op)
            results = [item for item in results if filter_expression.expr(item)]
        if projection_expressions:
            results = [r.project(projection_expressions) for r in results]
        return results, scanned, last

    cls.query, cls.all_items = query, all_items  # type: ignore[method-assign]  # patched for the bench's read-only phase
    try:
        yield
    finally:
        cls.query, cls.all_items = original, original_all_items  # type: ignore[method-assign]  # restored

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
    the transaction names, and restores those: the same outcome for our single-table transactions."""
    import copy

    import moto.dynamodb.models as backend_module
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    class _Copy:
        def deepcopy(self, obj: Any, memo: Any = None) -> Any:
            return obj if isinstance(obj, Table) else copy.deepcopy(obj, memo)

        def __getattr__(self, name: str) -> Any:
            return getattr(copy, name)

    cls = backend_module.DynamoDBBackend
    original = cls.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        saved = []
        for entry in transact_items:
            op = next(iter(entry.values()))
            table = self.tables.get(op.get("TableName"))
            if table is None:
                continue
            key = op.get("Key") or op.get("Item") or {}
            if table.hash_key_attr not in key or (table.range_key_attr and table.range_key_attr not in key):
                continue
            h = DynamoType(key[table.hash_key_attr])
            r = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            current = table.get_item(h, r)
            saved.append((table, h, r, copy.deepcopy(current) if current is not None else None))
        try:
            return original(self, transact_items)
        except Exception:  # whatever failed the transaction (then raised again): its writes are rolled back
            for table, h, r, item in reversed(saved):
                partition = table.items[h]
                if item is None:
                    partition.pop(r, None)
                else:
                    partition[r] = item
            raise

    real_copy = backend_module.copy
    backend_module.copy = _Copy()  # type: ignore[assignment]  # moto's module, patched for the bench
    cls.transact_write_items = transact_write_items  # type: ignore[method-assign]  # patched for the bench
    try:
        yield
    finally:
        cls.transact_write_items = original  # type: ignore[method-assign]  # restored
        backend_module.copy = real_copy


@contextmanager
def fast_queries() -> Iterator[None]:
    from moto.dynamodb.models import table as moto_table

    cls = moto_table.Table
    original_query, original_all_items = cls.query, cls.all_items

    def all_items(self: Any) -> list[Any]:
        mode = getattr(_state, "mode", None)
        if mode is None:
            return original_all_items(self)
        kind, hash_key = mode
        if kind == "base":
            partition = self.items.get(hash_key) if hash_key is not None else None
            if partition is None:
                return original_all_items(self) if hash_key is None else []
            return list(partition.values()) if self.range_key_attr else [partition]
        if self.range_key_attr:
            return [item for partition in self.items.values() for item in partition.values()]
        return list(self.items.values())

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        hash_key = kwargs.get("hash_key", args[0] if args else None)
        index_name = kwargs.get("index_name", args[7] if len(args) > 7 else None)
        previous = getattr(_state, "mode", None)
        _state.mode = ("index", None) if index_name else ("base", hash_key)
        try:
            return original_query(self, *args, **kwargs)
        finally:
            _state.mode = previous

    original_sorted_items = cls.sorted_items

    def sorted_items(self: Any, hash_key_attrs: list[str], range_key_attrs: list[str | None], items: list[Any]) -> Any:
        # The same order, compared on plain strings when every sort attribute is a string (all our keys are).
        attrs = self._generate_attr_to_sort_by(hash_key_attrs, range_key_attrs)
        if all(item.attrs[a].type == "S" for item in items for a in attrs):
            items.sort(key=lambda x: tuple(x.attrs[a].value for a in attrs))
            return items
        return original_sorted_items(self, hash_key_attrs, range_key_attrs, items)

    cls.query, cls.all_items, cls.sorted_items = query, all_items, sorted_items  # type: ignore[method-assign]  # patched for the bench
    try:
        yield
    finally:
        cls.query, cls.all_items, cls.sorted_items = original_query, original_all_items, original_sorted_items  # type: ignore[method-assign]  # restored


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

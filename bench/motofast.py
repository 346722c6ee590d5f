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

"""A thin typed wrapper over the DynamoDB client: plain dicts in and out, and AWS failures made explicit."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from decimal import Decimal
from functools import cache
from typing import Any

from switchboard import aws
from switchboard.errors import BadRequest, ServiceUnavailable
from switchboard.settings import get_settings


@cache
def _codec() -> tuple[Any, Any]:
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

    return TypeSerializer(), TypeDeserializer()


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, set)):
        return [_plain(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    return value


def _dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _dynamo(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_dynamo(v) for v in value]
    return value


def serialize(item: dict[str, Any]) -> dict[str, Any]:
    ser = _codec()[0]
    return {k: ser.serialize(_dynamo(v)) for k, v in item.items() if v is not None}


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    de = _codec()[1]
    return {k: _plain(de.deserialize(v)) for k, v in item.items()}


def values(mapping: dict[str, Any]) -> dict[str, Any]:
    ser = _codec()[0]
    return {k: ser.serialize(_dynamo(v)) for k, v in mapping.items()}


class ConditionFailed(Exception):
    """A conditional write did not apply; `item` is the item as it was, when DynamoDB returned it."""

    def __init__(self, item: dict[str, Any] | None = None, reasons: list[str] | None = None):
        super().__init__("condition failed")
        self.item = item
        self.reasons = reasons or []


def _error_code(exc: Exception) -> str:
    return getattr(exc, "response", {}).get("Error", {}).get("Code", "")


class Table:
    """The single table. Every method is one request (or one paginated Query)."""

    def __init__(self, name: str | None = None):
        self.name = name or get_settings().table_name

    @property
    def client(self) -> Any:
        return aws.dynamodb()

    def _call(self, op: str, **kwargs: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, op)(**kwargs)
        except ClientError as exc:
            code = _error_code(exc)
            if code == "ConditionalCheckFailedException":
                old: dict[str, Any] | None = exc.response.get("Item")  # type: ignore[assignment]  # ReturnValuesOnConditionCheckFailure's item, untyped in botocore's stubs
                raise ConditionFailed(deserialize(old) if old else None) from None
            if code == "TransactionCanceledException":
                reasons = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]
                if reasons and all(r in ("None", "ConditionalCheckFailed") for r in reasons):
                    raise ConditionFailed(None, reasons) from None
            if code == "ValidationException":
                raise BadRequest("invalid request to the store") from exc
            raise ServiceUnavailable(f"DynamoDB {op} failed: {code}") from exc
        except BotoCoreError as exc:
            raise ServiceUnavailable(f"DynamoDB {op} failed: {type(exc).__name__}") from exc

    def get(self, key: dict[str, str], consistent: bool = False) -> dict[str, Any] | None:
        out = self._call("get_item", TableName=self.name, Key=serialize(key), ConsistentRead=consistent)
        return deserialize(out["Item"]) if "Item" in out else None

    def put(self, item: dict[str, Any], condition: str | None = None,
            names: dict[str, str] | None = None, vals: dict[str, Any] | None = None,
            return_old_on_fail: bool = False) -> None:
        kwargs: dict[str, Any] = {"TableName": self.name, "Item": serialize(item)}
        if condition:
            kwargs["ConditionExpression"] = condition
            if return_old_on_fail:
                kwargs["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        if names:
            kwargs["ExpressionAttributeNames"] = names
        if vals:
            kwargs["ExpressionAttributeValues"] = values(vals)
        self._call("put_item", **kwargs)

    def update(self, key: dict[str, str], expression: str, names: dict[str, str] | None = None,
               vals: dict[str, Any] | None = None, condition: str | None = None,
               return_new: bool = False, return_old: bool = False) -> dict[str, Any] | None:
        """`return_new`: the item as written; `return_old`: the values the update replaced (UPDATED_OLD)."""
        kwargs: dict[str, Any] = {"TableName": self.name, "Key": serialize(key), "UpdateExpression": expression}
        if condition:
            kwargs["ConditionExpression"] = condition
        if names:
            kwargs["ExpressionAttributeNames"] = names
        if vals:
            kwargs["ExpressionAttributeValues"] = values(vals)
        if return_new or return_old:
            kwargs["ReturnValues"] = "ALL_NEW" if return_new else "UPDATED_OLD"
        out = self._call("update_item", **kwargs)
        return deserialize(out.get("Attributes") or {}) if return_new or return_old else None

    def delete(self, key: dict[str, str], condition: str | None = None,
               vals: dict[str, Any] | None = None) -> None:
        kwargs: dict[str, Any] = {"TableName": self.name, "Key": serialize(key)}
        if condition:
            kwargs["ConditionExpression"] = condition
        if vals:
            kwargs["ExpressionAttributeValues"] = values(vals)
        self._call("delete_item", **kwargs)

    def batch_get(self, keys_: list[dict[str, str]], consistent: bool = False,
                  attributes: list[str] | None = None) -> list[dict[str, Any]]:
        """Items by key (100 per request), in no particular order; unprocessed keys are retried. `attributes`: only
        these (a ProjectionExpression)."""
        found: list[dict[str, Any]] = []
        pending = [serialize(k) for k in keys_]
        request: dict[str, Any] = {"ConsistentRead": consistent}
        if attributes:
            request["ProjectionExpression"] = ", ".join(f"#a{i}" for i in range(len(attributes)))
            request["ExpressionAttributeNames"] = {f"#a{i}": name for i, name in enumerate(attributes)}
        for _attempt in range(5):
            if not pending:
                break
            out = self._call("batch_get_item", RequestItems={self.name: {"Keys": pending[:100], **request}})
            found += [deserialize(i) for i in out.get("Responses", {}).get(self.name, [])]
            pending = out.get("UnprocessedKeys", {}).get(self.name, {}).get("Keys", []) + pending[100:]
        return found

    def batch_delete(self, keys_: list[dict[str, str]]) -> int:
        """Delete many items, 25 per request; unprocessed ones are retried."""
        pending = [{"DeleteRequest": {"Key": serialize(k)}} for k in keys_]
        for _attempt in range(8):
            if not pending:
                return len(keys_)
            out = self._call("batch_write_item", RequestItems={self.name: pending[:25]})
            pending = out.get("UnprocessedItems", {}).get(self.name, []) + pending[25:]
        raise ServiceUnavailable(f"DynamoDB left {len(pending)} deletes unprocessed")

    def batch_put(self, items: list[dict[str, Any]]) -> int:
        """Put many items (unconditionally), 25 per request; unprocessed ones are retried."""
        pending = [{"PutRequest": {"Item": serialize(i)}} for i in items]
        for _attempt in range(8):
            if not pending:
                return len(items)
            out = self._call("batch_write_item", RequestItems={self.name: pending[:25]})
            pending = out.get("UnprocessedItems", {}).get(self.name, []) + pending[25:]
        raise ServiceUnavailable(f"DynamoDB left {len(pending)} puts unprocessed")

    def transact(self, actions: list[dict[str, Any]]) -> None:
        """Actions are {"Put"|"Update"|"Delete"|"ConditionCheck": {...}} with plain-dict Item/Key/values."""
        wire = []
        for action in actions:
            ((op, spec),) = action.items()
            spec = dict(spec, TableName=self.name)
            if "Item" in spec:
                spec["Item"] = serialize(spec["Item"])
            if "Key" in spec:
                spec["Key"] = serialize(spec["Key"])
            if "ExpressionAttributeValues" in spec:
                spec["ExpressionAttributeValues"] = values(spec["ExpressionAttributeValues"])
            wire.append({op: spec})
        self._call("transact_write_items", TransactItems=wire)

    def query(self, key_condition: str, vals: dict[str, Any], *, index: str | None = None,
              names: dict[str, str] | None = None, forward: bool = True, limit: int | None = None,
              start: dict[str, Any] | None = None, filter_expression: str | None = None,
              consistent: bool = False, attributes: list[str] | None = None
              ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """One page of a Query: (items, last evaluated key or None). `attributes`: only these (with the keys)."""
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeValues": values(vals),
            "ScanIndexForward": forward,
        }
        if index:
            kwargs["IndexName"] = index
        if names:
            kwargs["ExpressionAttributeNames"] = names
        if limit:
            kwargs["Limit"] = limit
        if start:
            kwargs["ExclusiveStartKey"] = serialize(start)
        if filter_expression:
            kwargs["FilterExpression"] = filter_expression
        if consistent and not index:
            kwargs["ConsistentRead"] = True
        if attributes:
            kwargs["ProjectionExpression"] = ", ".join(f"#p{i}" for i in range(len(attributes)))
            kwargs["ExpressionAttributeNames"] = {**kwargs.get("ExpressionAttributeNames", {}),
                                                  **{f"#p{i}": name for i, name in enumerate(attributes)}}
        out = self._call("query", **kwargs)
        last = out.get("LastEvaluatedKey")
        return [deserialize(i) for i in out.get("Items", [])], (deserialize(last) if last else None)

    def pages(self, key_condition: str, vals: dict[str, Any], *, cap: int | None = None, page_size: int | None = None,
              start: dict[str, Any] | None = None, **options: Any
              ) -> Iterator[tuple[list[dict[str, Any]], dict[str, Any] | None]]:
        """The pages of a Query, each with the key to resume after (None after the last), following
        LastEvaluatedKey until the end or until `cap` items have been read. `page_size` is each request's Limit
        (the last one asks for no more than the cap leaves); `options` are `query`'s."""
        seen = 0
        while True:
            limit = page_size if cap is None else min(page_size or cap, cap - seen)
            items, start = self.query(key_condition, vals, limit=limit, start=start, **options)
            yield items, start
            seen += len(items)
            if not start or (cap is not None and seen >= cap):
                return

    def query_all(self, key_condition: str, vals: dict[str, Any], *, cap: int | None = None,
                  page_size: int | None = None, **options: Any) -> list[dict[str, Any]]:
        """Every item a Query matches (at most `cap`), however many pages that takes."""
        return [item for items, _ in self.pages(key_condition, vals, cap=cap, page_size=page_size, **options)
                for item in items]


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    """An opaque page cursor (the store's resume point)."""
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (ValueError, TypeError):
        raise BadRequest("invalid cursor", code="invalid_cursor") from None
    if not isinstance(key, dict) or not all(isinstance(k, str) and _cursor_value(v) for k, v in key.items()):
        raise BadRequest("invalid cursor", code="invalid_cursor")
    return key


MAX_CURSOR_VALUE = 1024  # a key attribute longer than any key of ours (DynamoDB's own limits are 2048 / 1024 bytes)


def start_key(value: Any, attributes: tuple[str, ...], fixed: dict[str, str] | None = None,
              prefixes: dict[str, str] | None = None) -> dict[str, str]:
    """A decoded cursor's resume point for one Query, checked against that Query: exactly `attributes` (the
    table's and the index's key), each a non-empty string, those in `fixed` equal to the partition being read and
    those in `prefixes` starting as the Query's items do. Anything else (a list, nested objects, other names,
    another index's or another partition's key) is BadRequest invalid_cursor, never a request the store refuses
    or a page of something else."""
    fixed, prefixes = fixed or {}, prefixes or {}
    if not isinstance(value, dict) or set(value) != set(attributes):
        raise BadRequest("invalid cursor", code="invalid_cursor")
    for name, part in value.items():
        if not isinstance(part, str) or not 0 < len(part) <= MAX_CURSOR_VALUE or (name in fixed and part != fixed[name]) \
                or not part.startswith(prefixes.get(name, "")):
            raise BadRequest("invalid cursor", code="invalid_cursor")
    return dict(value)


def _cursor_value(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and isinstance(v, str | int) for k, v in value.items())
    return value is None or isinstance(value, str | int)

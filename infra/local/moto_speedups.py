"""moto, made to behave like the services it stands for where the local stack depends on it.

DynamoDB: moto's backend is not safe for concurrent requests (TransactWriteItems deep-copies the whole table to roll
back, and fails with "dictionary changed size during iteration" while another request writes), and the local
stack's functions and webhooks call it at once. Its operations are serialized by one lock: DynamoDB serializes
writes to an item anyway, and locally throughput matters less than never failing a correct request.
TransactWriteItems backs up only the items it names (moto deep-copies the whole table first, to restore it if the
transaction is cancelled: about a second per transaction once `make dev` holds a few thousand conversations, which
made seeding crawl and let botocore's 5 s read timeout retry a transaction that had landed).
A Query looks only at its own partition (a base-table Query) or at the items unsorted (an index Query, which moto
then filters on the index key and sorts itself): moto sorts every item of the table for every Query first, the
cost that grew with the table most. Its answers are the same (bench/motofast.py uses both patches, and its tests
compare the answers with plain moto).
The server finds a request's service without listing moto's package directory for every request.
TransactWriteItems is idempotent under its ClientRequestToken, as DynamoDB makes it for 10 minutes: botocore puts
one token on a call and keeps it across its retries, so a retry after a lost answer (a read timeout while the
first try waited for the lock) answers as the first did instead of failing its own conditions.

S3 browser uploads (rich replies): moto stores whatever a presigned POST brings. S3 checks the signed policy first,
and refuses a file of another size or type, a key or field the policy does not name, or a POST after its
expiration: the local stack checks the same conditions (not the signature, which moto cannot verify without the
signer's secret), so that a limit refused by AWS is refused locally too.

ReceiveMessage in moto checks each message it hands out against the queue's retention period by reading the queue's
whole attribute set (three walks of the queue, for the approximate counts), and GetQueueAttributes builds that set
again for every name asked: with the seed script's thousands of messages queued, the processor's polls took most of
the local stack's time. The retention period is read as itself, and the set is built once per GetQueueAttributes.
SendMessage in moto reads the queue's whole attribute set, whose approximate counts walk every message in the queue:
each send costs O(queue depth), so a webhook POST of 1,000 messages took seconds in SQS alone. SQS itself keeps
those counts as it goes. While moto sends, the counts (which a send never needs) read as 0; GetQueueAttributes still
walks the queue and answers them exactly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import wraps
from typing import Any

_state = threading.local()
COUNTS = ("approximate_number_of_messages", "approximate_number_of_messages_not_visible",
          "approximate_number_of_messages_delayed")


def apply() -> None:
    install_light_transactions()  # before the lock wraps the backend's methods, this one among them
    install_fast_queries()
    _serialize_dynamodb()
    _cached_service_list()
    _cheap_sqs_receives()
    _idempotent_transactions()
    _cheap_sqs_sends()
    _enforce_post_policies()


def _serialize_dynamodb() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, "serialized", False):
        return
    lock = threading.RLock()  # reentrant: backend methods call each other
    for name, method in list(vars(DynamoDBBackend).items()):
        if name.startswith("_") or not callable(method) or isinstance(method, (staticmethod, classmethod, type)):
            continue

        def locked(self: Any, *args: Any, _method: Any = method, **kwargs: Any) -> Any:
            with lock:
                return _method(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, wraps(method)(locked))
    DynamoDBBackend.serialized = True  # type: ignore[attr-defined]


def install_light_transactions() -> Callable[[], None]:
    """TransactWriteItems backs up, and on failure restores, only the items it names: the same outcome as moto's
    whole-table copy. Returns what undoes the patch."""
    import copy

    import moto.dynamodb.models as backend_module
    from moto.dynamodb.models.dynamo_type import DynamoType

    cls = backend_module.DynamoDBBackend
    if getattr(cls.transact_write_items, "light", False):
        return lambda: None
    original = cls.transact_write_items
    real_copy = backend_module.copy

    class _Copy:
        """moto's module's `copy`: within a light transaction, its whole-table backup is the table itself."""

        def deepcopy(self, obj: Any, memo: Any = None) -> Any:
            return obj if getattr(_state, "light", False) else copy.deepcopy(obj, memo)

        def __getattr__(self, name: str) -> Any:
            return getattr(copy, name)

    @wraps(original)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        saved = []
        for entry in transact_items:
            op = next(iter(entry.values()))
            table = self.tables.get(op.get("TableName"))
            key = op.get("Key") or op.get("Item") or {}
            if table is None or table.hash_key_attr not in key \
                    or (table.range_key_attr and table.range_key_attr not in key):
                continue  # an action without its key: moto refuses it, and writes nothing for it
            h = DynamoType(key[table.hash_key_attr])
            r = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            current = table.get_item(h, r)
            saved.append((table, h, r, copy.deepcopy(current) if current is not None else None))
        _state.light = True
        try:
            return original(self, transact_items)
        except Exception:  # whatever cancelled the transaction (raised again): its writes are undone
            for table, h, r, item in reversed(saved):
                where, at = (table.items, h) if r is None else (table.items[h], r)  # hash-only: items[h] is the item
                if item is None:
                    where.pop(at, None)
                else:
                    where[at] = item
            raise
        finally:
            _state.light = False

    transact_write_items.light = True  # type: ignore[attr-defined]
    backend_module.copy = _Copy()  # type: ignore[assignment]
    cls.transact_write_items = transact_write_items  # type: ignore[method-assign]

    def undo() -> None:
        cls.transact_write_items = original  # type: ignore[method-assign]
        backend_module.copy = real_copy

    return undo


def install_fast_queries() -> Callable[[], None]:
    """Table.query gives moto only the items that can answer: the partition of a base-table Query, every item
    unsorted for an index Query (moto sorts the whole table by its primary key first, then filters). Returns what
    undoes the patch."""
    from moto.dynamodb.models import table as moto_table

    cls = moto_table.Table
    if getattr(cls.query, "fast", False):
        return lambda: None
    original_query, original_all_items, original_sorted_items = cls.query, cls.all_items, cls.sorted_items

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

    @wraps(original_query)
    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        hash_key = kwargs.get("hash_key", args[0] if args else None)
        index_name = kwargs.get("index_name", args[7] if len(args) > 7 else None)
        previous = getattr(_state, "mode", None)
        _state.mode = ("index", None) if index_name else ("base", hash_key)
        try:
            return original_query(self, *args, **kwargs)
        finally:
            _state.mode = previous

    def sorted_items(self: Any, hash_key_attrs: list[str], range_key_attrs: list[str | None], items: list[Any]) -> Any:
        # The same order, compared on plain strings when every sort attribute is a string (all our keys are).
        attrs = self._generate_attr_to_sort_by(hash_key_attrs, range_key_attrs)
        if all(item.attrs[a].type == "S" for item in items for a in attrs):
            items.sort(key=lambda x: tuple(x.attrs[a].value for a in attrs))
            return items
        return original_sorted_items(self, hash_key_attrs, range_key_attrs, items)

    query.fast = True  # type: ignore[attr-defined]
    cls.query, cls.all_items, cls.sorted_items = query, all_items, sorted_items  # type: ignore[method-assign]

    def undo() -> None:
        cls.query, cls.all_items, cls.sorted_items = original_query, original_all_items, original_sorted_items  # type: ignore[method-assign]

    return undo


def _cached_service_list() -> None:
    """moto's server matches each request's host against its services by listing its package directory (an
    `isdir` per entry, per request): listed once here."""
    import functools

    from moto import backends

    if hasattr(backends.list_of_moto_modules, "cache_info"):
        return
    original = backends.list_of_moto_modules
    backends.list_of_moto_modules = functools.cache(lambda: tuple(original()))


TOKEN_SECONDS = 600  # DynamoDB: "A client request token is valid for 10 minutes after the first request"


def _idempotent_transactions() -> None:
    import hashlib
    import time

    from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.transact_write_items
    if getattr(original, "idempotent", False):
        return

    class Mismatch(DynamodbException):
        def __init__(self) -> None:
            super().__init__(ERROR_TYPE_PREFIX + "IdempotentParameterMismatchException",
                             "the client request token was used with another request")

    guard = threading.Lock()
    calls: dict[str, tuple[float, threading.Lock]] = {}  # token -> (its first try, one try at a time)
    answered: dict[str, tuple[str, Any]] = {}  # token -> (the request's digest, its answer)

    @wraps(original)
    def transact_write_items(self: Any) -> Any:
        token = self.body.get("ClientRequestToken")
        if not token:
            return original(self)
        digest = hashlib.sha256(repr(self.body.get("TransactItems")).encode()).hexdigest()
        with guard:
            now = time.monotonic()
            for old in [t for t, (first, _) in calls.items() if now - first > TOKEN_SECONDS]:
                calls.pop(old)
                answered.pop(old, None)
            _, lock = calls.setdefault(token, (now, threading.Lock()))
        with lock:  # a retry that arrives while its first try runs waits for that try's answer
            if token in answered:
                first_digest, answer = answered[token]
                if first_digest != digest:
                    raise Mismatch()
                return answer
            answer = original(self)  # a failure is not remembered: DynamoDB runs a failed call's retry again
            answered[token] = (digest, answer)
            return answer

    transact_write_items.idempotent = True  # type: ignore[attr-defined]
    DynamoHandler.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _cheap_sqs_receives() -> None:
    from moto.sqs import models
    from moto.sqs.models import SQSBackend

    if getattr(SQSBackend.get_queue_attributes, "sped_up", False):
        return

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention = int(self.get_queue(queue_name).message_retention_period)
        return bool(retention + message.sent_timestamp / 1000 > models.unix_time())

    original = SQSBackend.get_queue_attributes

    @wraps(original)
    def get_queue_attributes(self: Any, queue_name: str, attribute_names: list[str]) -> dict[str, Any]:
        if not attribute_names or "All" in attribute_names:
            return original(self, queue_name, attribute_names)
        queue = self.get_queue(queue_name)
        known = {"All", *queue.BASE_ATTRIBUTES, *queue.FIFO_ATTRIBUTES, *queue.KMS_ATTRIBUTES}
        if any(not name or name not in known for name in attribute_names):
            return original(self, queue_name, attribute_names)  # moto's own error
        everything = queue.attributes  # once, not twice per name
        return {name: everything[name] for name in attribute_names if everything.get(name) is not None}

    get_queue_attributes.sped_up = True  # type: ignore[attr-defined]
    SQSBackend.get_queue_attributes = get_queue_attributes  # type: ignore[method-assign]
    SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period  # type: ignore[method-assign]


def _cheap_sqs_sends() -> None:
    from moto.sqs.models import Queue, SQSBackend

    if getattr(SQSBackend.send_message, "sped_up", False):
        return
    for name in COUNTS:
        exact = getattr(Queue, name).fget

        def count(self: Any, _exact: Any = exact) -> int:
            return 0 if getattr(_state, "sending", False) else _exact(self)

        setattr(Queue, name, property(count))
    send = SQSBackend.send_message

    @wraps(send)
    def send_message(self: Any, *args: Any, **kwargs: Any) -> Any:
        _state.sending = True
        try:
            return send(self, *args, **kwargs)
        finally:
            _state.sending = False

    send_message.sped_up = True  # type: ignore[attr-defined]
    SQSBackend.send_message = send_message  # type: ignore[method-assign]


def _enforce_post_policies() -> None:
    from moto.s3.responses import S3Response

    original = S3Response._bucket_response_post
    if getattr(original, "enforced", False):
        return

    @wraps(original)
    def bucket_response_post(self: Any, request: Any, bucket_name: str) -> Any:
        fields = {k: v[0] for k, v in (self.querystring or {}).items() if isinstance(v, list) and v}
        if "policy" in fields:
            body = self.raw_body if isinstance(getattr(self, "raw_body", None), bytes | str) else self.body
            size = len(body.encode() if isinstance(body, str) else body or b"")
            refused = post_policy_problem(fields, bucket_name, size)
            if refused:
                code, status, message = refused
                return status, {"Content-Type": "application/xml"}, (
                    f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code>"
                    f"<Message>{message}</Message></Error>")
        return original(self, request, bucket_name)

    bucket_response_post.enforced = True  # type: ignore[attr-defined]
    S3Response._bucket_response_post = bucket_response_post  # type: ignore[method-assign]


def post_policy_problem(fields: dict[str, str], bucket: str, size: int) -> tuple[str, int, str] | None:
    """Why S3 would refuse a browser POST under its policy ((code, status, message)), or None."""
    import base64
    import json
    from datetime import UTC, datetime

    try:
        policy = json.loads(base64.b64decode(fields["policy"]))
        expires = datetime.fromisoformat(str(policy["expiration"]).replace("Z", "+00:00"))
        conditions = list(policy["conditions"])
    except (ValueError, KeyError, TypeError):
        return "InvalidPolicyDocument", 400, "Invalid Policy: unreadable"
    if expires < datetime.now(UTC):
        return "AccessDenied", 403, "Invalid according to Policy: Policy expired."
    values = {k.lower(): v for k, v in fields.items()} | {"bucket": bucket}
    named = {"policy", "x-amz-signature", "file", "x-amz-security-token"}
    for condition in conditions:
        if isinstance(condition, dict):
            ((name, expected),) = condition.items()
            named.add(name.lower())
            if values.get(name.lower()) != expected:
                return "AccessDenied", 403, f"Invalid according to Policy: Policy Condition failed: {name}"
        elif isinstance(condition, list) and condition and condition[0] == "content-length-range":
            low, high = int(condition[1]), int(condition[2])
            if size > high:
                return "EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed size"
            if size < low:
                return "EntityTooSmall", 400, "Your proposed upload is smaller than the minimum allowed size"
        elif isinstance(condition, list) and len(condition) == 3:
            op, name, expected = condition[0], str(condition[1]).lstrip("$").lower(), str(condition[2])
            named.add(name)
            value = str(values.get(name, ""))
            if (op == "eq" and value != expected) or (op == "starts-with" and not value.startswith(expected)):
                return "AccessDenied", 403, f"Invalid according to Policy: Policy Condition failed: {name}"
    extra = [k for k in values if k not in named and k != "bucket" and not k.startswith("x-ignore-")]
    if extra:
        return "AccessDenied", 403, f"Invalid according to Policy: Extra input fields: {extra[0]}"
    return None

"""moto, made to behave like the services it stands for where the local stack depends on it.

DynamoDB: moto's backend is not safe for concurrent requests (TransactWriteItems deep-copies the whole table to roll
back, and fails with "dictionary changed size during iteration" while another request writes), and the local
stack's functions and webhooks call it at once. Its operations are serialized by one lock: DynamoDB serializes
writes to an item anyway, and locally throughput matters less than never failing a correct request.
TransactWriteItems is idempotent under its ClientRequestToken, as DynamoDB makes it for 10 minutes: botocore puts
one token on a call and keeps it across its retries, so a retry after a lost answer (a read timeout while the
first try waited for the lock) answers as the first did instead of failing its own conditions.

S3 browser uploads (rich replies): moto stores whatever a presigned POST brings. S3 checks the signed policy first,
and refuses a file of another size or type, a key or field the policy does not name, or a POST after its
expiration: the local stack checks the same conditions (not the signature, which moto cannot verify without the
signer's secret), so that a limit refused by AWS is refused locally too.

SendMessage in moto reads the queue's whole attribute set, whose approximate counts walk every message in the queue:
each send costs O(queue depth), so a webhook POST of 1,000 messages took seconds in SQS alone. SQS itself keeps
those counts as it goes. While moto sends, the counts (which a send never needs) read as 0; GetQueueAttributes still
walks the queue and answers them exactly.
"""

from __future__ import annotations

import threading
from functools import wraps
from typing import Any

_state = threading.local()
COUNTS = ("approximate_number_of_messages", "approximate_number_of_messages_not_visible",
          "approximate_number_of_messages_delayed")


def apply() -> None:
    _serialize_dynamodb()
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

"""moto, made to behave like the services it stands for where the local stack depends on it.

DynamoDB: moto's backend is not safe for concurrent requests (TransactWriteItems deep-copies the whole table to roll
back, and fails with "dictionary changed size during iteration" while another request writes), and the local
stack's functions and webhooks call it at once. Its operations are serialized by one lock: DynamoDB serializes
writes to an item anyway, and locally throughput matters less than never failing a correct request.

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
    _cheap_sqs_sends()


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

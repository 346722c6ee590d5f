"""cost_usd_per_million_messages: one message's whole life (in, processed, answered, surveyed) run through the real
handlers on moto, every AWS request counted, priced at list prices, times a million, and each step's cost
charged to its unit: the customer message (in and processed: the contract figure), the conversation it opens,
the agent's reply, the resolution with its survey email. Charging all of them to a single message instead is
reported too (single_message_conversation_usd_per_million): SES alone bills $100 per million emails.

DynamoDB capacity units are estimated from the items themselves, as DynamoDB bills them (approximation below);
Lambda duration is the warm handler's wall time at the function's MemorySize; log bytes are what the handlers
write plus Lambda's START/END/REPORT lines and the HTTP API's access log line."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bench.harness import (
    Call,
    CallLog,
    OutputCapture,
    forget_metrics,
    moto_stack,
    reset_caches,
    save_settings,
    scheduled_event,
    signed,
    wa_message,
    wa_payload,
    wa_status,
)

# us-east-1 list prices, as recorded in /work/shared/design/reliability-and-cost.md section 7 (its sources:
# aws.amazon.com/lambda/pricing, /api-gateway/pricing, /sqs/pricing, /ses/pricing, /cloudwatch/pricing and
# /dynamodb/pricing/on-demand; DynamoDB after the 1 Nov 2024 on-demand price cut, CloudWatch Logs after the
# 1 May 2025 Lambda log tiering, first tier; the note's sources were read in 2026). First tiers, no free tier.
PRICES_AS_OF = "2026 (reliability-and-cost.md section 7; latest price change it cites: 1 May 2025)"
PRICES: dict[str, float] = {
    "lambda_request": 0.20 / 1e6,  # per invocation (x86 and arm64)
    "lambda_gb_second_arm64": 0.0000133334,  # per GB-s, first tier
    "http_api_request": 1.00 / 1e6,  # HTTP API, first 300 M, per 512 KB increment
    "sqs_standard_request": 0.40 / 1e6,  # per request, each 64 KB chunk a request
    "sqs_fifo_request": 0.50 / 1e6,
    "dynamodb_wru": 0.625 / 1e6,  # on-demand write request unit
    "dynamodb_rru": 0.125 / 1e6,  # on-demand read request unit
    "ses_email": 0.10 / 1000,  # outbound email
    "cloudwatch_logs_gb": 0.50,  # ingested (Standard), per GB (2^30 bytes here)
    # Rich replies: S3 Standard requests (aws.amazon.com/s3/pricing, us-east-1): PUT, COPY, POST and LIST $0.005 per
    # 1,000; GET, HEAD and the rest $0.0004 per 1,000; DELETE free. Storage $0.023 per GB-month (reported apart).
    "s3_put_request": 0.005 / 1000,
    "s3_get_request": 0.0004 / 1000,
    "s3_gb_month": 0.023,
}
S3_PUT_CLASS = frozenset({"PutObject", "CopyObject", "PostObject", "ListObjectsV2", "ListObjects",
                          "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"})
S3_FREE = frozenset({"DeleteObject", "DeleteObjects"})
IMAGE_BYTES = 250_000  # the reply's one image: a phone screenshot, compressed
LIFE_PHASES = ("in", "processed", "answered", "surveyed")  # the contract's life; "follow-up" is extra
REPORT_LINES_BYTES = 250  # Lambda's START, END and REPORT lines per invocation
LIVES = 3  # measured lives: durations are the median of the three
SCENARIO = {"inbound": 5, "replies": 3}  # an illustrative conversation (assumed, not measured)
FOLLOW_UP_AFTER_SECONDS = 120  # the customer's second message, two minutes after the first (auto-reply: 15)
GRAPH_API_LATENCY_MS = 300  # what a real WhatsApp send adds to the sender's duration (the sandbox answers at once)


# -- DynamoDB item sizes and capacity units ------------------------------------------------------
def _number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").split("e")[0].split("E")[0].strip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def attribute_size(value: dict[str, Any]) -> int:
    ((kind, v),) = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        return _number_size(v)
    if kind == "B":
        return len(v)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(x.encode()) for x in v)
    if kind == "NS":
        return sum(_number_size(x) for x in v)
    if kind == "BS":
        return sum(len(x) for x in v)
    if kind == "L":
        return 3 + sum(attribute_size(x) + 1 for x in v)
    if kind == "M":
        return 3 + sum(len(k.encode()) + attribute_size(x) + 1 for k, x in v.items())
    raise ValueError(kind)


def item_size(item: dict[str, Any] | None) -> int:
    """DynamoDB's item size: attribute names plus values (strings in UTF-8 bytes, numbers about one byte per two
    digits plus one, 3 bytes plus one per element for lists and maps)."""
    return sum(len(k.encode()) + attribute_size(v) for k, v in (item or {}).items())


TABLE_KEYS = ("pk", "sk")


def _key_of(item_or_key: dict[str, Any]) -> dict[str, Any]:
    return {k: item_or_key[k] for k in TABLE_KEYS}


@dataclass(frozen=True)
class Index:
    """A global secondary index as template.yaml declares it: its key attributes and what it projects."""

    name: str
    keys: tuple[str, ...]  # the partition key, and the sort key when it has one
    projection: str = "ALL"  # ALL, INCLUDE or KEYS_ONLY
    non_key: frozenset[str] = frozenset()  # INCLUDE: the attributes projected besides the keys

    def holds(self, item: dict[str, Any] | None) -> bool:
        """An item is in the index when it has every index key attribute (sparse indexes)."""
        return item is not None and all(k in item for k in self.keys)

    def key(self, item: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(item[k] for k in (*self.keys, *TABLE_KEYS))

    def entry(self, item: dict[str, Any]) -> dict[str, Any]:
        """What the index stores of the item: the table's and the index's keys, and the projected attributes."""
        if self.projection == "ALL":
            return item
        wanted = {*TABLE_KEYS, *self.keys, *(self.non_key if self.projection == "INCLUDE" else ())}
        return {k: v for k, v in item.items() if k in wanted}


class Units:
    """Write and read request units of each DynamoDB request (an estimate; see `approximation`)."""

    approximation = (
        "writes: ceil(max(item before, item after)/1 KB) WRU on the table (at least 1; a failed condition bills the "
        "existing item), x2 inside TransactWriteItems (ConditionCheck too); per global secondary index, as "
        "DynamoDB bills it: an item is in the index when it has the index's key attributes (a sparse index holds "
        "only those that do); its entry is the table's and the index's keys plus what the index projects (ALL: the "
        "item; INCLUDE: the attributes named; KEYS_ONLY: nothing else); ceil(entry/1 KB) to put the new entry when "
        "the item enters the index, its index key changes, or the entry's content changes (for ALL: any change to "
        "the item; for INCLUDE and KEYS_ONLY only a change to what is projected), plus ceil(old entry/1 KB) to "
        "delete the old one when its index key changed or the item left the index; nothing when the entry did not "
        "change. Reads: ceil(size/4 KB) per GetItem and BatchGetItem item (a key that finds nothing bills the "
        "minimum, as a GetItem of a missing item does), ceil(sum of sizes/4 KB) per Query (at least 1), x0.5 "
        "eventually consistent, x2 in transactions. Sizes from the items before and after each write, read from "
        "moto by a separate, uncounted client.")

    def __init__(self, oracle: Any, table_name: str, indexes: list[Index]):
        self.oracle, self.table_name, self.indexes = oracle, table_name, indexes

    # Called by the counting hooks around each request.
    def snapshot(self, service: str, operation: str, params: dict[str, Any]) -> Any:
        if service != "dynamodb":
            return None
        keys = self._write_keys(operation, params)
        return [self._current(k) for k in keys] if keys else None

    def after(self, call: Call) -> None:
        if call.before is not None:
            call.after = [self._current(k) for k in self._write_keys(call.operation, call.params)]

    def _current(self, key: dict[str, Any]) -> dict[str, Any] | None:
        return self.oracle.get_item(TableName=self.table_name, Key=key, ConsistentRead=True).get("Item")

    @staticmethod
    def _write_keys(operation: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        if operation == "PutItem":
            return [_key_of(params["Item"])]
        if operation in ("UpdateItem", "DeleteItem"):
            return [_key_of(params["Key"])]
        if operation == "BatchWriteItem":
            return [_key_of(r["PutRequest"]["Item"]) if "PutRequest" in r else _key_of(r["DeleteRequest"]["Key"])
                    for reqs in params["RequestItems"].values() for r in reqs]
        if operation == "TransactWriteItems":
            out = []
            for action in params["TransactItems"]:
                ((_, spec),) = action.items()
                out.append(_key_of(spec.get("Key") or spec["Item"]))
            return out
        return []

    def wru(self, call: Call) -> float:
        if call.service != "dynamodb" or call.before is None:
            return 0.0
        factor = 2 if call.operation == "TransactWriteItems" else 1
        total = 0.0
        for old, new in zip(call.before, call.after or call.before, strict=False):
            applied = not call.error
            if not applied:
                total += factor * max(1, math.ceil(item_size(old) / 1024))
                continue
            total += factor * max(1, math.ceil(max(item_size(old), item_size(new)) / 1024))
            if old == new:
                continue
            for index in self.indexes:
                total += index_wru(index, old, new)
        return total

    def index_wru(self, call: Call, name: str) -> float:
        """Of `wru(call)`, what the index `name` took."""
        if call.service != "dynamodb" or call.before is None or call.error:
            return 0.0
        index = next(i for i in self.indexes if i.name == name)
        return sum(index_wru(index, old, new) for old, new in zip(call.before, call.after or call.before, strict=False)
                   if old != new)

    @staticmethod
    def rru(call: Call) -> float:
        if call.service != "dynamodb" or call.error:
            return 0.0
        p, r = call.params, call.parsed
        if call.operation == "GetItem":
            return max(1, math.ceil(item_size(r.get("Item")) / 4096)) * (1 if p.get("ConsistentRead") else 0.5)
        if call.operation in ("Query", "Scan"):
            size = sum(item_size(i) for i in r.get("Items", []))
            return max(1, math.ceil(size / 4096)) * (1 if p.get("ConsistentRead") else 0.5)
        if call.operation == "BatchGetItem":
            total = 0.0
            unprocessed = r.get("UnprocessedKeys") or {}
            for table, spec in p["RequestItems"].items():
                items = (r.get("Responses") or {}).get(table, [])
                missing = len(spec["Keys"]) - len(items) - len((unprocessed.get(table) or {}).get("Keys", []))
                units = sum(max(1, math.ceil(item_size(i) / 4096)) for i in items) + max(0, missing)
                total += units * (1 if spec.get("ConsistentRead") else 0.5)
            return total
        if call.operation == "TransactGetItems":
            return sum(2 * max(1, math.ceil(item_size(x.get("Item")) / 4096)) for x in r.get("Responses", []))
        return 0.0


def index_wru(index: Index, old: dict[str, Any] | None, new: dict[str, Any] | None) -> int:
    """What one write of an item costs in one global secondary index (see Units.approximation)."""
    had, has = index.holds(old), index.holds(new)
    if not had and not has:
        return 0
    if had and has:
        assert old is not None and new is not None
        before, after = index.entry(old), index.entry(new)
        if index.key(old) == index.key(new):  # the entry stays: rewritten only if what it holds changed
            return 0 if before == after else max(1, math.ceil(item_size(after) / 1024))
        return max(1, math.ceil(item_size(after) / 1024)) + max(1, math.ceil(item_size(before) / 1024))
    if has:  # enters the index
        assert new is not None
        return max(1, math.ceil(item_size(index.entry(new)) / 1024))
    assert old is not None  # leaves it
    return max(1, math.ceil(item_size(index.entry(old)) / 1024))


# -- one message's life --------------------------------------------------------------------------
@dataclass
class Invocation:
    function: str
    ms: float
    memory_mb: int
    log_bytes: int


@dataclass
class Step:
    phase: str
    name: str
    api_requests: int = 0
    access_log_bytes: int = 0
    browser_s3_posts: int = 0  # rich replies: the browser's presigned POST of a file (S3, no function)
    invocations: list[Invocation] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    search_ms: float = 0.0  # of the invocations' time, what the search index took (contacts and search, issue 14)


class Counting:
    """The hooks, attached once before any client exists (clients copy their session's handlers when created)."""

    def __init__(self, stack: Any):
        import boto3

        self.units = Units(stack.clients["dynamodb"], stack.table_name, _indexes(stack))
        self.log = CallLog(on_before=self.units.snapshot, on_after=self.units.after)
        self.log.attach_switchboard()
        # Lambda's SQS pollers receive and delete on the function's behalf: billed SQS requests too.
        self.poller_sqs = boto3.client("sqs", region_name="us-east-1")
        self.log.attach(self.poller_sqs.meta.events, "poller")


class Life:
    def __init__(self, stack: Any, counting: Counting):
        self.stack = stack
        self.steps: list[Step] = []
        self.step: Step | None = None
        self.units, self.log, self.poller_sqs = counting.units, counting.log, counting.poller_sqs
        self.access_format = _access_log_format(stack)

    # -- plumbing
    def begin(self, phase: str, name: str) -> Step:
        self.step = Step(phase, name)
        self.steps.append(self.step)
        self.log.take()
        return self.step

    def end(self) -> None:
        assert self.step is not None
        self.step.calls += self.log.take()

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        fn = self.stack.functions[function]
        out = OutputCapture()
        with out.capture():
            started, hooks = time.perf_counter(), self.log.overhead_s
            try:
                result = fn.invoke(event)
            finally:
                # Without the time the unit-estimating hooks spent reading items before and after each write.
                ms = (time.perf_counter() - started - (self.log.overhead_s - hooks)) * 1000
        assert self.step is not None
        self.step.invocations.append(Invocation(function, ms, fn.memory, out.bytes))
        return result

    def http(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
             role: str | None = None) -> dict[str, Any]:
        function, event = self.stack.http_event(method, path, body, headers, role)
        started = time.perf_counter()
        result = self.invoke(function, event)
        assert self.step is not None
        self.step.api_requests += 1
        self.step.access_log_bytes += len(self.access_format
                                          .replace("$context.requestId", "Aa1Bb2Cc3Dd4Ee5=")
                                          .replace("$context.routeKey", event["routeKey"])
                                          .replace("$context.status", str(result.get("statusCode", 200)))
                                          .replace("$context.responseLatency",
                                                   str(int((time.perf_counter() - started) * 1000)))
                                          .replace("$context.integrationErrorMessage", "-")) + 1
        assert result.get("statusCode", 500) < 300, result
        return result

    def poll(self, function: str) -> int:
        source = self.stack.sqs_source(function, self.poller_sqs)
        life = self

        class _Measured:  # the poller invokes through this: timed and captured like any invocation
            name = function

            @staticmethod
            def invoke(event: dict[str, Any]) -> Any:
                return life.invoke(function, event)

        source.function = _Measured()
        return source.poll_once()

    # -- the life itself
    def run(self, n: int) -> dict[str, str]:
        import json

        from switchboard import clock

        stack, sender = self.stack, f"1555888{n:04d}"
        secret = stack.env["META_APP_SECRET"]

        self.begin("in", "webhook POST, 1 message")
        payload = wa_payload([wa_message(f"wamid.life.{n}", sender, "Hello, my order has not arrived")],
                             names={sender: f"Life {n}"})
        raw, headers = signed(payload, secret)
        self.http("POST", "/webhooks/whatsapp", raw, headers)
        self.end()

        self.begin("processed", "processor (inbound queue)")
        assert self.poll("ProcessorFunction") == 1
        self.end()

        conv = _find(stack, "recipient", sender, "conversation")
        _set_email(stack, conv["contact_id"]["S"], f"life{n}@example.com")  # setup, not counted

        # Not part of the life: what a later message of the same conversation costs (for the scenario below). It
        # comes a little later, as a customer's next message does (not within the same second as the first: what a
        # write sets from the time, such as the TTL backstop, moves as it would).
        clock.advance(FOLLOW_UP_AFTER_SECONDS)
        self.begin("follow-up", "webhook POST, a second message")
        payload = wa_payload([wa_message(f"wamid.life.{n}.2", sender, "Any news?")], names={sender: f"Life {n}"})
        raw, headers = signed(payload, secret)
        self.http("POST", "/webhooks/whatsapp", raw, headers)
        self.end()
        self.begin("follow-up", "processor, the second message")
        assert self.poll("ProcessorFunction") == 1
        self.end()

        self.begin("answered", "agent reply (API)")
        self.http("POST", f"/api/conversations/{conv['id']['S']}/messages", {"text": "Sorry! It ships today."},
                  role="agent")
        self.end()

        self.begin("answered", "sender (outbound FIFO queue)")
        assert self.poll("SenderFunction") == 1
        self.end()

        sent = _find(stack, "conversation_id", conv["id"]["S"], "message", direction="outbound")
        self.begin("answered", "delivered receipt webhook POST")
        raw, headers = signed(wa_payload(statuses=[wa_status(sent["provider_message_id"]["S"], "delivered", sender)]),
                              secret)
        self.http("POST", "/webhooks/whatsapp", raw, headers)
        self.end()

        self.begin("answered", "receipt processing (inbound queue)")
        assert self.poll("ProcessorFunction") == 1
        self.end()

        self.reply_with_one_image(conv["id"]["S"], sender, secret)

        self.begin("surveyed", "resolve (API)")
        self.http("POST", f"/api/conversations/{conv['id']['S']}/resolve", role="agent")
        self.end()

        clock.advance(61 * 60)
        self.begin("surveyed", "survey job (schedule) and email")
        result = self.invoke("SurveyFunction", scheduled_event("SurveyFunction"))
        self.end()
        assert isinstance(result, dict) and result.get("done") == 1, result
        return {"conversation": conv["id"]["S"], "survey_job": json.dumps(result)}


    def reply_with_one_image(self, conv_id: str, sender: str, secret: str) -> None:
        """Not part of the contract's life: an agent's reply carrying one image, from the upload to its receipt
        (phase "answered_with_image", priced per reply in usd_per_million_units)."""
        import json

        import requests

        image = b"\x89PNG\r\n\x1a\n" + bytes(IMAGE_BYTES - 8)
        self.begin("answered_with_image", "upload for the image (API)")
        grant = json.loads(self.http("POST", "/api/uploads", {"conversation_id": conv_id, "filename": "screenshot.png",
                                                              "content_type": "image/png", "size": len(image)},
                                     role="agent")["body"])
        self.end()
        self.begin("answered_with_image", "browser POST to S3 (no function)")
        posted = requests.post(grant["url"], data=grant["fields"], files={"file": ("screenshot.png", image, "image/png")},
                               timeout=30)
        assert posted.status_code == 204, posted.text
        assert self.step is not None
        self.step.browser_s3_posts += 1
        self.end()
        self.begin("answered_with_image", "reply with the image (API)")
        self.http("POST", f"/api/conversations/{conv_id}/messages",
                  {"text": "Here is where to find it", "attachments": [grant["upload_id"]]}, role="agent")
        self.end()
        self.begin("answered_with_image", "sender: media upload, send")
        assert self.poll("SenderFunction") == 1
        self.end()
        sent = _find(self.stack, "conversation_id", conv_id, "message", direction="outbound",
                     text="Here is where to find it")
        self.begin("answered_with_image", "delivered receipt webhook POST")
        raw, headers = signed(wa_payload(statuses=[wa_status(sent["provider_message_id"]["S"], "delivered", sender)]),
                              secret)
        self.http("POST", "/webhooks/whatsapp", raw, headers)
        self.end()
        self.begin("answered_with_image", "receipt processing (inbound queue)")
        assert self.poll("ProcessorFunction") == 1
        self.end()


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _median_durations(lives: list[Life]) -> None:
    """Durations vary from run to run on a shared machine: each invocation of the first life takes the median
    of the same invocation over every life (the requests, units and log bytes are the first life's own)."""
    for s, step in enumerate(lives[0].steps):
        for i, invocation in enumerate(step.invocations):
            invocation.ms = statistics.median(life.steps[s].invocations[i].ms for life in lives)


def _indexes(stack: Any) -> list[Index]:
    from bench.harness import template

    table = next(r for r in template()["Resources"].values() if r.get("Type") == "AWS::DynamoDB::Table")
    return [indexes_of(index) for index in table["Properties"].get("GlobalSecondaryIndexes", [])]


def indexes_of(index: dict[str, Any]) -> Index:
    """An Index from a GlobalSecondaryIndexes entry of template.yaml."""
    schema = {k["KeyType"]: k["AttributeName"] for k in index["KeySchema"]}
    projection = index.get("Projection") or {}
    return Index(index["IndexName"], (schema["HASH"], *([schema["RANGE"]] if "RANGE" in schema else [])),
                 projection.get("ProjectionType", "ALL"), frozenset(projection.get("NonKeyAttributes", [])))


def _access_log_format(stack: Any) -> str:
    from bench.harness import template

    api = next(r for r in template()["Resources"].values() if r.get("Type") == "AWS::Serverless::HttpApi")
    return ((api.get("Properties") or {}).get("AccessLogSettings") or {}).get("Format", "")


def _find(stack: Any, attribute: str, value: str, kind: str, **equal: str) -> dict[str, Any]:
    """One item by attribute (a Scan by the bench's own client: setup, never counted)."""
    ddb = stack.clients["dynamodb"]
    items = ddb.scan(TableName=stack.table_name)["Items"]
    for item in items:
        # A message item's "type" is the message's own (text, image...): messages are told by their sort key.
        is_kind = item["sk"]["S"].startswith("MSG#") if kind == "message" else item.get("type", {}).get("S") == kind
        if is_kind and item.get(attribute, {}).get("S") == value and \
                all(item.get(k, {}).get("S") == v for k, v in equal.items()):
            return item
    raise LookupError(f"no {kind} with {attribute}={value}")


def _set_email(stack: Any, contact_id: str, email: str) -> None:
    stack.clients["dynamodb"].update_item(
        TableName=stack.table_name, Key={"pk": {"S": f"CONTACT#{contact_id}"}, "sk": {"S": "PROFILE"}},
        UpdateExpression="SET email = :e", ExpressionAttributeValues={":e": {"S": email}})


# -- pricing ---------------------------------------------------------------------------------------
def _sqs_requests(call: Call) -> int:
    """Billed SQS requests: each 64 KB chunk of payload is one."""
    if call.operation == "SendMessage":
        size = len(call.params.get("MessageBody", "").encode())
    elif call.operation == "SendMessageBatch":
        size = sum(len(e.get("MessageBody", "").encode()) for e in call.params.get("Entries", []))
    elif call.operation == "ReceiveMessage":
        size = sum(len(m.get("Body", "").encode()) for m in call.parsed.get("Messages", []))
    else:
        size = 0
    return max(1, math.ceil(size / 65536))


def price(steps: list[Step], units: Units) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    totals: dict[str, float] = {}
    quantities: dict[str, float] = {}
    unpriced: dict[str, int] = {}
    for step in steps:
        q = {"http_api_requests": step.api_requests, "lambda_invocations": len(step.invocations),
             "lambda_gb_seconds": sum(math.ceil(i.ms) / 1000 * i.memory_mb / 1024 for i in step.invocations),
             "sqs_standard_requests": 0, "sqs_fifo_requests": 0, "dynamodb_wru": 0.0, "dynamodb_rru": 0.0,
             "ses_emails": 0, "s3_put_requests": step.browser_s3_posts, "s3_get_requests": 0,
             "log_bytes": sum(i.log_bytes + REPORT_LINES_BYTES for i in step.invocations) + step.access_log_bytes}
        for call in step.calls:
            if call.service == "sqs":
                fifo = str(call.params.get("QueueUrl", "")).endswith(".fifo")
                q["sqs_fifo_requests" if fifo else "sqs_standard_requests"] += _sqs_requests(call)
            elif call.service == "dynamodb":
                q["dynamodb_wru"] += units.wru(call)
                q["dynamodb_rru"] += units.rru(call)
            elif (call.service, call.operation) in (("sesv2", "SendEmail"), ("ses", "SendEmail"),
                                                    ("ses", "SendRawEmail")):
                q["ses_emails"] += 1
            elif call.service == "s3" and call.operation not in S3_FREE:
                q["s3_put_requests" if call.operation in S3_PUT_CLASS else "s3_get_requests"] += 1
            else:
                unpriced[f"{call.service}.{call.operation}"] = unpriced.get(f"{call.service}.{call.operation}", 0) + 1
        usd = {
            "HTTP API requests": q["http_api_requests"] * PRICES["http_api_request"],
            "Lambda requests": q["lambda_invocations"] * PRICES["lambda_request"],
            "Lambda duration": q["lambda_gb_seconds"] * PRICES["lambda_gb_second_arm64"],
            "SQS standard": q["sqs_standard_requests"] * PRICES["sqs_standard_request"],
            "SQS FIFO": q["sqs_fifo_requests"] * PRICES["sqs_fifo_request"],
            "DynamoDB writes": q["dynamodb_wru"] * PRICES["dynamodb_wru"],
            "DynamoDB reads": q["dynamodb_rru"] * PRICES["dynamodb_rru"],
            "SES emails": q["ses_emails"] * PRICES["ses_email"],
            "S3 requests": q["s3_put_requests"] * PRICES["s3_put_request"] + q["s3_get_requests"] * PRICES["s3_get_request"],
            "CloudWatch Logs": q["log_bytes"] / 2**30 * PRICES["cloudwatch_logs_gb"],
        }
        rows.append({"phase": step.phase, "step": step.name,
                     "functions": [f"{i.function} {i.ms:.1f} ms @{i.memory_mb} MB" for i in step.invocations],
                     "aws_requests": _ops(step.calls),
                     "dynamodb_wru_by_request": [f"{c.operation}({len(c.before or [])} items): {units.wru(c):g}"
                                                 for c in step.calls if units.wru(c)],
                     **{k: round(v, 3) if isinstance(v, float) else v for k, v in q.items()},
                     "usd_per_million": round(sum(usd.values()) * 1e6, 3)})
        if step.phase in LIFE_PHASES:
            for k, v in usd.items():
                totals[k] = totals.get(k, 0.0) + v
            for k, v in q.items():
                quantities[k] = quantities.get(k, 0) + v
    by_phase: dict[str, float] = {}
    for row in rows:
        by_phase[row["phase"]] = round(by_phase.get(row["phase"], 0.0) + row["usd_per_million"], 3)
    total = sum(totals.values()) * 1e6
    return {"total": total, "by_service_usd_per_million": {k: round(v * 1e6, 3) for k, v in totals.items()},
            "by_phase_usd_per_million": by_phase, "steps": rows,
            "quantities_per_message": {k: round(v, 4) for k, v in quantities.items()}, "unpriced_requests": unpriced}


def _ops(calls: list[Call]) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in calls:
        out[f"{c.service}.{c.operation}"] = out.get(f"{c.service}.{c.operation}", 0) + 1
    return out


def measure() -> dict[str, Any]:
    with moto_stack() as stack:
        # Greeting and away messages are per contact and per day, not per message: off. Auto-reply (15 min) and
        # survey (60 min after resolving) on, as shipped.
        save_settings({"greeting": {"enabled": False}, "away": {"enabled": False},
                       "auto_reply": {"enabled": True, "after_minutes": 15},
                       "survey": {"enabled": True, "delay_minutes": 60}})
        reset_caches()
        counting = Counting(stack)
        with OutputCapture().capture():
            Life(stack, counting).run(1)  # every function warm: imports done, clients created, settings cached
        forget_metrics()
        lives: list[Life] = []
        from bench import search as search_bench  # the search index's own line (issue 14)

        with search_bench.timed_index(lambda: lives[-1].step if lives else None):
            for n in range(2, 2 + LIVES):
                life = Life(stack, counting)
                lives.append(life)
                with OutputCapture().capture() if len(lives) > 1 else _nothing():  # the first life's output is measured
                    ids = life.run(n)
        life = lives[0]
        search_line = search_bench.cost_line(lives, life.units, PRICES)  # before the durations become medians
        _median_durations(lives)
        priced = price(life.steps, life.units)
        with OutputCapture().capture():
            limits = rate_limits(stack, counting)
    sender_memory = next(i.memory_mb for s in life.steps for i in s.invocations if i.function == "SenderFunction")
    graph_usd = GRAPH_API_LATENCY_MS / 1000 * sender_memory / 1024 * PRICES["lambda_gb_second_arm64"] * 1e6
    single_life = priced.pop("total")
    without_email = single_life - priced["by_service_usd_per_million"]["SES emails"]
    phase = priced["by_phase_usd_per_million"]
    # Each step's cost belongs to one unit: a customer message (its POST and its processing, automation
    # included), a conversation (what its opening message costs on top of that; its resolution and survey),
    # an agent reply (API, sender, receipt). The contract figure is the message's own, as reliability-and-cost.md
    # section 7 counts it; the other units are priced beside it, and recombined in an illustrative conversation.
    per_message = phase["follow-up"]
    units = {"message": per_message,
             "conversation_opened": round(phase["in"] + phase["processed"] - per_message, 3),
             "reply": phase["answered"], "resolution_and_survey": phase["surveyed"],
             "reply_with_one_image": phase["answered_with_image"]}
    image_storage = IMAGE_BYTES / 2**30 * PRICES["s3_gb_month"] * 1e6
    conversation = (SCENARIO["inbound"] * per_message + units["conversation_opened"]
                    + SCENARIO["replies"] * units["reply"] + units["resolution_and_survey"])
    scenario = {**SCENARIO, "usd_per_million_inbound_messages": round(conversation / SCENARIO["inbound"], 2),
                "note": "illustrative, assumed: a conversation of "
                        f"{SCENARIO['inbound']} customer messages (the first opens it), "
                        f"{SCENARIO['replies']} agent replies each with one delivered receipt, one resolve and one "
                        "survey email, all divided by the customer messages"}
    return {
        "cost_usd_per_million_messages": round(per_message, 2),
        "search_cost_usd_per_million_messages": search_line["message"],
        "search_cost_share_of_message_cost": round(search_line["message"] / per_message, 3) if per_message else None,
        "cost_breakdown": {
            "search_index": search_line,
            "prices": PRICES, "prices_as_of": PRICES_AS_OF, **priced,
            "contract_figure": "a customer message's own life: the webhook POST carrying it and its processing "
                               "(contact, conversation, message, automation, dedupe), in a conversation that is "
                               "already open; the costs of opening a conversation, of each reply and of each "
                               "resolution with its survey email are per conversation or per reply, and priced "
                               "in usd_per_million_units",
            "usd_per_million_units": units,
            "reply_with_one_image_usd_per_million": round(units["reply_with_one_image"], 2),
            "reply_with_one_image": f"an agent's WhatsApp reply with a {IMAGE_BYTES // 1000} KB image and a caption: "
                                    "POST /api/uploads, the browser's POST of the file to S3 (no function), the reply "
                                    "naming the upload (HeadObject, CopyObject under the message, DeleteObject of "
                                    "the upload), the sender (GetObject, Graph media upload and send), one "
                                    "'delivered' receipt; the image's storage is not per reply: "
                                    f"${image_storage:.2f} per million images per month kept",
            "single_message_conversation_usd_per_million": round(single_life, 2),
            "without_survey_email_usd_per_million": round(without_email, 2),
            "in_and_processed_usd_per_million": round(phase["in"] + phase["processed"], 2),
            "follow_up_message_in_and_processed_usd_per_million": per_message,
            "scenario_conversation": scenario,
            "life": "one WhatsApp text message opening a conversation: the webhook POST carrying it, its "
                    "processing, one agent reply "
                    "through the API, the sender, one 'delivered' receipt (POST and processing), the agent "
                    "resolving the conversation, the survey job emailing the survey; warm functions (a first "
                    "life ran before, not counted)",
            "assumptions": [
                "the measured life is a conversation of one message and its follow-up: every step happens once; "
                "single_message_conversation_usd_per_million charges all of it (opening, reply, resolution, "
                "survey email) to that one message",
                f"the follow-up message comes {FOLLOW_UP_AFTER_SECONDS // 60} minutes after the first (the "
                "simulated clock moves; caches that use the process's own clock do not expire)",
                "one POST per message and one SQS batch of one record per invocation (no batching gains)",
                "greeting and away messages off (per contact / per day, not per message); auto-reply on: its "
                "entry is written on the way in and deleted by the reply",
                "the contact's email address was set outside the life (not counted)",
                "channel secrets from the environment: deployed, SSM reads happen once per container per 5 "
                "minutes (not counted)",
                f"the provider answers at once here: a real Graph API send (~{GRAPH_API_LATENCY_MS} ms) adds "
                f"${graph_usd:.2f} per million to the sender's duration (not included)",
                "Lambda duration is wall time of the warm handler on this machine with moto answering in-process "
                "(no network round trips), median of three lives, rounded up to 1 ms per invocation",
                "not included: idle SQS long polling, EventBridge Scheduler runs (per schedule, not per "
                "message), X-Ray traces (Tracing: Active; about $5 per million traces recorded, at most one per "
                "invocation when sampled), storage, data transfer, agents' reads of the inbox and conversation",
                "CloudWatch Logs: handler output + 250 bytes START/END/REPORT per invocation + one access log "
                "line per HTTP API request; 1 GB = 2^30 bytes",
            ],
            "dynamodb_units": Units.approximation,
            "rate_limits": limits,
            "conversation": ids["conversation"],
        },
    }


# -- rate limits (issue 11) ------------------------------------------------------------------------
def rate_limits(stack: Any, counting: Counting) -> dict[str, Any]:
    """What the public routes' rate limits add, measured through the real functions: the UpdateItems on the RATE#
    counters of a web chat message (the visitor's and the address's), a new chat and a survey page, priced."""
    import json

    from switchboard.services import ratelimit

    life = Life(stack, counting)

    def checks(name: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
               query: str = "") -> tuple[dict[str, Any], dict[str, Any]]:
        life.begin("rate limits", name)
        function, event = stack.http_event(method, path, body, headers, query=query)
        result = life.invoke(function, event)
        life.end()
        assert life.step is not None
        counters = [c for c in life.step.calls if c.service == "dynamodb" and c.operation == "UpdateItem"
                    and str(c.params["Key"]["pk"]["S"]).startswith("RATE#")]
        wru = sum(life.units.wru(c) for c in counters)
        return result, {"checks": len(counters), "wru": wru, "usd_per_million": round(wru * PRICES["dynamodb_wru"] * 1e6, 3)}

    session, new_chat = checks("web chat session POST", "POST", "/webchat/sessions", {"name": "Bench"})
    assert session["statusCode"] == 201, session
    token = json.loads(session["body"])["token"]
    sent, message = checks("web chat message POST", "POST", "/webchat/messages",
                           {"client_message_id": "bench-rate-0001", "text": "Hello"}, {"Authorization": f"Bearer {token}"})
    assert sent["statusCode"] == 201, sent
    _, page = checks("survey page GET (a forged link: the limit is checked first)", "GET", "/survey/x.y", query="rating=5")
    return {
        "web_chat_message": message, "web_chat_new_chat": new_chat, "survey_page": page,
        "usd_per_million_messages": message["usd_per_million"],
        "note": (f"fixed windows counted with one UpdateItem per client (an atomic ADD returning the new counts, "
                 f"no read; the minute and hour windows of one client share an item): a web chat message checks "
                 f"its visitor and its address ({message['checks']} UpdateItems), a new chat and a survey page "
                 f"their address; the counters expire by TTL (free) {ratelimit.EXPIRY_SLACK // 60} minutes after "
                 f"their hour. Not part of the WhatsApp life above: web chat messages only"),
    }


def table(breakdown: dict[str, Any]) -> str:
    """The breakdown, printable."""
    lines = [f"{'step':<40} {'API':>4} {'λ':>3} {'GB-s':>8} {'SQS':>4} {'FIFO':>4} {'WRU':>6} {'RRU':>6} "
             f"{'SES':>3} {'S3':>3} {'log B':>6} {'$/M':>8}"]
    for r in breakdown["steps"]:
        lines.append(f"{(r['phase'] + ': ' + r['step'])[:40]:<40} {r['http_api_requests']:>4} "
                     f"{r['lambda_invocations']:>3} {r['lambda_gb_seconds']:>8.4f} {r['sqs_standard_requests']:>4} "
                     f"{r['sqs_fifo_requests']:>4} {r['dynamodb_wru']:>6.1f} {r['dynamodb_rru']:>6.1f} "
                     f"{r['ses_emails']:>3} {r['s3_put_requests'] + r['s3_get_requests']:>3} {r['log_bytes']:>6} "
                     f"{r['usd_per_million']:>8.3f}")
    lines.append("")
    lines.append("by service ($ per million messages): " + ", ".join(
        f"{k} {v:.2f}" for k, v in breakdown["by_service_usd_per_million"].items()))
    lines.append("by phase ($ per million messages): " + ", ".join(
        f"{k} {v:.2f}" for k, v in breakdown["by_phase_usd_per_million"].items()))
    lines.append("per unit ($ per million of each): " + ", ".join(
        f"{k.replace('_', ' ')} {v:.2f}" for k, v in breakdown["usd_per_million_units"].items()))
    if "reply_with_one_image" in breakdown["usd_per_million_units"]:
        lines.append(f"a reply carrying one image (upload, S3 copy, media upload and send, receipt): "
                     f"${breakdown['usd_per_million_units']['reply_with_one_image']:.2f} per million replies "
                     f"(a text reply: ${breakdown['usd_per_million_units']['reply']:.2f})")
    lines.append(f"one message alone in its conversation, with its reply, resolution and survey email: "
                 f"${breakdown['single_message_conversation_usd_per_million']:.2f} per million "
                 f"(${breakdown['without_survey_email_usd_per_million']:.2f} without the email)")
    limits = breakdown.get("rate_limits")
    if limits:
        lines.append(f"rate limits (web chat and survey pages, per check 1 WRU): a web chat message "
                     f"{limits['web_chat_message']['checks']} UpdateItems = ${limits['usd_per_million_messages']:.2f} "
                     f"per million messages; a new chat ${limits['web_chat_new_chat']['usd_per_million']:.2f} and a "
                     f"survey page ${limits['survey_page']['usd_per_million']:.2f} per million")
    if "search_index" in breakdown:
        line = breakdown["search_index"]
        lines.append(f"of which the search index (issue 14): ${line['message']:.2f} per million messages "
                     f"(${line['conversation_opened']:.2f} more per conversation opened)")
    sc = breakdown["scenario_conversation"]
    lines.append(f"scenario (assumed): a conversation of {sc['inbound']} customer messages, {sc['replies']} replies, "
                 f"1 survey: ${sc['usd_per_million_inbound_messages']:.2f} per million customer messages")
    return "\n".join(lines)

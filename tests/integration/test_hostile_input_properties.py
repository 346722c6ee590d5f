"""Hostile requests to every route template.yaml declares, through the real handlers and the routes and authorizer
the local stack builds from the template (moto behind them): the agent API as an agent, an admin and nobody, the
webhooks signed and not, web chat with and without a visitor token, the survey pages with genuine and forged links.
Bodies (deep, huge, binary, not UTF-8, near-valid with wrong values), headers (content types, charsets, encodings,
huge and odd values), query strings (other scripts' digits, huge numbers, repeated parameters, cursors of the wrong
shape) and transfer forms (a body API Gateway says is base64 and is not).

Whatever arrives, the answer is never a 5xx (but a 503 when an AWS failure was injected), never an exception, and
a refused request (4xx) stores nothing: no write the handlers send to DynamoDB (rate-limit counters aside), SQS, S3
or SES is applied.

One sweep sends a fixed set of hostile requests to every route, so that each is covered every run; a Hypothesis
walk draws freely over all of them. Both are bounded to keep `make test` quick."""

from __future__ import annotations

import base64
import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from infra.local import auth
from infra.local.events import http_event
from infra.local.lambdas import match
from tests.integration.test_whatsapp_flow import PNID, post, wa_message, wa_payload
from tests.unit.channels.test_webhook_properties import sign

EXAMPLES = 300
SEEDED_NAME = "Hostile Input"


# -- the routes --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # as declared, {param} for a path parameter
    kind: str  # api, webhook, webchat, survey
    body_fields: tuple[str, ...] = ()  # a JSON body's field names, from the OpenAPI document
    query: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


def operations(stack) -> list[Operation]:
    """Every route of the template; the agent API's catch-all route expanded into the operations of its document."""
    from switchboard.api.app import document

    doc = document()
    schemas = doc["components"]["schemas"]
    ops: list[Operation] = []
    for route in stack.routes:
        if route.path == "/api/{proxy+}":
            for path, item in doc["paths"].items():
                for method, spec in item.items():
                    ref = (((spec.get("requestBody") or {}).get("content") or {}).get("application/json") or {}).get(
                        "schema", {}).get("$ref", "")
                    fields = tuple((schemas.get(ref.rsplit("/", 1)[-1]) or {}).get("properties", {})) if ref else ()
                    if path == "/api/settings" and method == "put":
                        fields = ("greeting", "away", "survey", "retention", "business_hours", "auto_reply")
                    query = tuple(p["name"] for p in spec.get("parameters", []) if p["in"] == "query")
                    ops.append(Operation(method.upper(), path, "api", fields, query))
            ops.append(Operation("GET", "/api/no/such/route", "api"))
            continue
        kind = route.path.split("/")[1]
        kind = {"webhooks": "webhook", "api": "api"}.get(kind, kind)
        fields = ("client_message_id", "text", "visitor_id", "widget_id", "name", "email", "identity_hash") \
            if kind == "webchat" else ()
        query = ("rating",) if kind == "survey" else ("cursor",) if kind == "webchat" else \
            ("hub.mode", "hub.verify_token", "hub.challenge") if kind == "webhook" else ()
        ops.append(Operation(route.method, route.path, kind, fields, query))
    unique = list({op.label: op for op in ops}.values())  # GET /api/health is a route and in the document
    assert len(unique) >= 35, [op.label for op in unique]
    return unique


# -- the requests ------------------------------------------------------------------------------------------------
@dataclass
class Hostile:
    """One request, as a client could send it."""

    op: Operation
    params: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    query: str = ""
    caller: str = "none"  # api: none | agent | admin; webchat: none | visitor | forged; webhook: signed | unsigned
    transfer: str = "gateway"  # gateway: as API Gateway encodes it; base64: always; broken-base64: not decodable
    fail_aws: bool = False

    @property
    def path(self) -> str:
        path = self.op.path
        for name, value in self.params.items():
            path = path.replace("{" + name + "}", value)
        return path


def cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


WRONG_CURSORS = [cursor(v) for v in (
    [1, 2], {"open": "x"}, {"open": 7}, {"open": {"pk": {"S": "x"}, "sk": "y"}}, {"open": {"a": "b"}},
    {"pk": "CONV#other", "sk": "MSG#1"}, {"pk": "CONV#x", "sk": "META", "gsi2pk": "ASSIGNEE#x", "gsi2sk": "1"},
    {"open": {"pk": "CONV#x", "sk": "META", "gsi1pk": "STATUS#resolved", "gsi1sk": "1"}}, {"open": None, "x": None},
    {}, "text", None, {"pk": "CONV#x", "sk": "MSG#" + "9" * 3000})] + ["%%%", "a" * 4000, "é", "\x00"]
QUERY_VALUES = ["²", "٣", "5", "0", "-1", "9" * 5000, "1e999", "NaN", "", " ", "1,2", "%ff", "\ud800", "x" * 3000,
                "2026-13-45", "0001-01-01", "9999-12-31", "open", "resolved", "closed"]
STRINGS = st.text(max_size=20) | st.sampled_from(
    ["", "\ud800", "\x00", "é" * 300, "x" * 11_000, "a@b", "+15551234567", "<script>", "../../etc", "1" * 400])
LEAF = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | STRINGS
JSON = st.recursive(LEAF, lambda children: st.lists(children, max_size=4)
                    | st.dictionaries(STRINGS, children, max_size=4), max_leaves=20)
HOSTILE_BODIES = st.sampled_from([
    b"[" * 100_000, b'{"a":' * 2000 + b"1" + b"}" * 2000, b"{" * 30_000, b"", b"null", b"[]", b'"x"', b"\xff\xfe\x00",
    b'{"text": NaN}', b'{"text": 1e999}', b'{"text": ' + b"9" * 5000 + b"}", "{\"text\": \"\ud800\"}".encode(
        "utf-8", "surrogatepass"), "{\"text\": \"é\"}".encode("utf-16"), b"comment=" + b"%ff" * 10,
    b"rating=1&rating=2", b"rating=" + "²".encode(), b"comment=x&" * 50, b"x" * 1_100_000,
]) | st.binary(max_size=200)
CONTENT_TYPES = st.sampled_from([
    "application/json", "application/json; charset=utf-8", "application/json; charset=utf-16", "application/x-json",
    "application/problem+json", "multipart/form-data", "multipart/form-data; boundary=", "multipart/mixed",
    "multipart/form-data; boundary=xyz", "application/x-www-form-urlencoded", "text/plain", "text/html; charset=ebcdic",
    "", "json", "*/*", "application/json; charset", "application/json;;;", "\x00", "é/é", "a" * 9000,
])
ENCODINGS = st.sampled_from(["", "gzip", "br", "identity", "deflate, gzip", "x" * 100])
ODD_HEADERS = st.dictionaries(
    st.sampled_from(["X-Odd", "Origin", "Accept", "User-Agent", "X-Forwarded-For", "Cookie", "Accept-Charset",
                     "Authorization", "X-Hub-Signature-256", "If-None-Match", "Content-Length"]),
    st.sampled_from(["", "\x00", "é" * 50, "x" * 9000, "\r\n", "https://shop.example.com", "1.2.3.4, 5.6.7.8",
                     "Bearer x.y", "sha256=00", "-1", "999999999999"]), max_size=3)


@dataclass
class Seeded:
    conversation_id: str
    contact_id: str
    canned_id: str
    survey_token: str
    visitor_token: str


def seed(stack) -> Seeded:
    """A conversation with its contact, a canned response, a sent survey and a web chat visitor, so that hostile
    input reaches real records too."""
    from switchboard import clock
    from switchboard.services import survey, webchat
    from switchboard.store import surveys
    from switchboard.store.table import Table

    sender = "15557779999"
    assert post(stack, wa_payload(wa_message("wamid.hostile.1", sender=sender, text="hello"), sender=sender,
                                  name=SEEDED_NAME)).status == 200
    stack.drain("ProcessorFunction")
    (conv,) = [c for c in stack.http("GET", "/api/conversations", role="agent").json()["items"]
               if c["contact"]["name"] == SEEDED_NAME]
    canned = stack.http("POST", "/api/canned-responses", {"shortcut": "hostile", "text": "Hi"}, role="agent").json()
    resolution = "r-hostile"
    expires = clock.epoch() + 86400
    surveys.claim(Table(), conv["id"], resolution, resolved_by="agent@example.com",
                  sent_at=clock.iso(clock.now()), expires_token=expires)
    token = survey.make_token(conv["id"], resolution, expires)
    visitor = webchat.start_session(None, {"name": "Hostile"})["token"]
    return Seeded(conv["id"], conv["contact"]["id"], canned["id"], token, visitor)


def params_for(op: Operation, seeded: Seeded, pick: Any) -> dict[str, str]:
    names = [part[1:-1] for part in op.path.split("/") if part.startswith("{")]
    known = {"conversation_id": seeded.conversation_id, "contact_id": seeded.contact_id,
             "canned_id": seeded.canned_id, "token": seeded.survey_token}
    hostile = ["x", "cv_missing", "%2e%2e", "..", "é", "a" * 3000, "%00", "x%2Fy", "ct_" + "0" * 28,
               seeded.survey_token[:-3] + "abc", "Q" * 200 + "." + "R" * 30]
    return {name: pick(st.sampled_from([known.get(name, "x")] * 2 + hostile)) for name in names}


def requests(op: Operation, seeded: Seeded) -> st.SearchStrategy[Hostile]:
    """Hostile requests to one operation: near-valid bodies with hostile values, or hostile bodies outright."""

    @st.composite
    def build(draw: Any) -> Hostile:
        pick = draw
        fields = op.body_fields
        if fields and draw(st.booleans()):
            doc = draw(st.fixed_dictionaries({}, optional={name: JSON for name in fields}))
            if op.kind == "webchat" and draw(st.booleans()):
                doc["client_message_id"] = draw(st.text(min_size=8, max_size=12, alphabet="abcdef0123456789"))
            body = json.dumps(doc, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
        elif op.kind == "survey" and op.method == "POST" and draw(st.booleans()):
            body = urlencode(draw(st.dictionaries(st.sampled_from(["rating", "comment", "x"]), STRINGS, max_size=3)),
                             errors="surrogatepass").encode()
        else:
            body = draw(HOSTILE_BODIES | JSON.map(lambda v: json.dumps(v).encode("utf-8", "surrogatepass")))
        headers = dict(draw(ODD_HEADERS))
        content_type = draw(CONTENT_TYPES)
        if content_type:
            headers["Content-Type"] = content_type
        encoding = draw(ENCODINGS)
        if encoding:
            headers["Content-Encoding"] = encoding
        query_names = [*op.query, *op.query, "cursor", "rating", "limit", "x"]
        pairs = draw(st.lists(st.tuples(st.sampled_from(query_names),
                                        st.sampled_from(QUERY_VALUES + WRONG_CURSORS)), max_size=3))
        query = "&".join(f"{quote(k)}={quote(v, errors='surrogatepass')}" for k, v in pairs)
        if op.kind == "api":
            caller = draw(st.sampled_from(["agent", "admin", "admin", "none"]))
        elif op.kind == "webchat":
            caller = draw(st.sampled_from(["visitor", "visitor", "forged", "none"]))
        elif op.kind == "webhook":
            caller = draw(st.sampled_from(["signed", "signed", "unsigned"]))
        else:
            caller = "none"
        return Hostile(op, params_for(op, seeded, pick), body, headers, query, caller,
                       draw(st.sampled_from(["gateway", "gateway", "base64", "broken-base64"])),
                       draw(st.integers(0, 9)) == 0)

    return build()


def sweep(op: Operation, seeded: Seeded) -> list[Hostile]:
    """The fixed hostile requests every route gets, every run."""
    params = {"conversation_id": seeded.conversation_id, "contact_id": seeded.contact_id,
              "canned_id": seeded.canned_id, "token": seeded.survey_token}
    names = {part[1:-1]: params.get(part[1:-1], "x") for part in op.path.split("/") if part.startswith("{")}
    caller = {"api": "admin", "webchat": "visitor", "webhook": "signed"}.get(op.kind, "none")
    json_type = {"Content-Type": "application/json"}
    cases = [
        Hostile(op, names, b"[" * 100_000, json_type),
        Hostile(op, names, b'{"a":' * 5000 + b"1" + b"}" * 5000, json_type),
        Hostile(op, names, b"--x\r\n\r\n", {"Content-Type": "multipart/form-data"}),
        Hostile(op, names, b"\x1f\x8b garbage", {"Content-Type": "application/json", "Content-Encoding": "gzip"}),
        Hostile(op, names, "{\"text\": \"é\"}".encode("utf-16"), {"Content-Type": "application/json; charset=utf-16"}),
        Hostile(op, names, b'{"text": "hi"}', json_type, transfer="broken-base64"),
        Hostile(op, names, b"\xff\xfe\xfd", json_type, transfer="base64"),
        Hostile(op, names, b"{}", {"Content-Type": "text/html; charset=ebcdic", "X-Odd": "x" * 9000}),
        Hostile(op, names, b"", {"Content-Type": "multipart/form-data; boundary="},
                query="rating=%C2%B2&cursor=" + WRONG_CURSORS[1] + "&limit=" + "9" * 5000),
        Hostile(op, names, b"", {}, query="rating=1&rating=2&cursor=" + WRONG_CURSORS[5] + "&x=%ff"),
        Hostile(op, names, b'{"text": NaN, "labels": [1e999]}', json_type),
        Hostile(op, names, b"{}", json_type, fail_aws=True),
    ]
    for name in op.query:  # each query parameter the route reads, alone, with every hostile value
        values = QUERY_VALUES + (WRONG_CURSORS if name == "cursor" else [])
        cases += [Hostile(op, names, query=f"{quote(name)}={quote(value, errors='surrogatepass')}")
                  for value in values]
    for case in cases:
        case.caller = caller
    return cases


# -- sending one, and what must hold ------------------------------------------------------------------------------
def event_for(stack, request: Hostile, seeded: Seeded) -> tuple[Any, dict[str, Any]] | None:
    found = match(stack.routes, request.op.method, request.path)
    if found is None:
        return None
    route, params = found
    headers = dict(request.headers)
    claims = None
    if route.auth:
        if request.caller in ("agent", "admin"):
            claims = auth.verify(f"Bearer {auth.issue(f'{request.caller}@example.com', request.caller)}")
        else:
            return route, {"statusCode": 401}  # the gateway's authorizer answers: the function never sees it
    if request.op.kind == "webchat" and request.caller in ("visitor", "forged"):
        headers["Authorization"] = f"Bearer {seeded.visitor_token}" + ("x" if request.caller == "forged" else "")
    if request.op.kind == "webhook" and request.caller == "signed":
        channel = request.path.rsplit("/", 1)[-1]
        content_type = headers.get("Content-Type", "")
        headers |= {k: v for k, v in sign(channel, request.body, content_type, "valid").items() if k != "Content-Type"}
    event = http_event(request.op.method, request.path, request.query, headers, request.body,
                       f"{route.method} {route.path}", params, claims, "198.51.100.7")
    if request.transfer in ("base64", "broken-base64") and request.body:
        event["isBase64Encoded"] = True
        event["body"] = base64.b64encode(request.body).decode()
        if request.transfer == "broken-base64":
            event["body"] = "*" + event["body"][1:]
    return route, event


WRITES = {("dynamodb", op) for op in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")} \
    | {("sqs", "SendMessage"), ("sqs", "SendMessageBatch"), ("s3", "PutObject"), ("s3", "DeleteObject"),
       ("s3", "DeleteObjects"), ("sesv2", "SendEmail")}


def _keys(operation: str, params: dict[str, Any]) -> list[str]:
    """The partition keys a DynamoDB write names."""
    if operation == "PutItem":
        return [params["Item"]["pk"]["S"]]
    if operation in ("UpdateItem", "DeleteItem"):
        return [params["Key"]["pk"]["S"]]
    if operation == "BatchWriteItem":
        return [(r.get("PutRequest", {}).get("Item") or r.get("DeleteRequest", {}).get("Key"))["pk"]["S"]
                for reqs in params["RequestItems"].values() for r in reqs]
    return [(spec.get("Item") or spec.get("Key"))["pk"]["S"]
            for action in params["TransactItems"] for spec in action.values()]


@contextmanager
def recording_writes(fail: bool):
    """Every write the handlers make that AWS applied (rate-limit counters aside: every request counts): the
    functions' own clients are watched. With `fail`, every DynamoDB and SQS request fails instead (an error that is
    not retried, so the test does not sleep through backoffs)."""
    from botocore.awsrequest import AWSResponse

    from switchboard import aws

    applied: list[str] = []

    def remember(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        context["hostile_params"] = params

    def after(parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        service = model.service_model.service_name
        if (service, model.name) not in WRITES or "Error" in parsed:
            return
        keys = _keys(model.name, context.get("hostile_params") or {}) if service == "dynamodb" else [service]
        applied.extend(f"{model.name} {key}" for key in keys if not key.startswith("RATE#"))

    def failing(**_: Any) -> Any:
        return (AWSResponse("https://aws.invalid/", 400, {}, None),
                {"Error": {"Code": "AccessDeniedException", "Message": "injected"}, "ResponseMetadata": {}})

    clients = [aws.client(name) for name in ("dynamodb", "sqs", "s3", "sesv2")]
    for client in clients:
        client.meta.events.register("before-parameter-build", remember, unique_id="hostile-remember")
        client.meta.events.register("after-call", after, unique_id="hostile-after")
        if fail and client in clients[:2]:
            client.meta.events.register("before-call", failing, unique_id="hostile-failure")
    try:
        yield applied
    finally:
        for client in clients:
            client.meta.events.unregister("before-parameter-build", unique_id="hostile-remember")
            client.meta.events.unregister("after-call", unique_id="hostile-after")
            client.meta.events.unregister("before-call", unique_id="hostile-failure")


def check(stack, seeded: Seeded, request: Hostile) -> int:
    prepared = event_for(stack, request, seeded)
    if prepared is None:
        return 404  # no route: API Gateway's own 404
    route, lambda_event = prepared
    if lambda_event.get("statusCode"):
        return int(lambda_event["statusCode"])
    with recording_writes(request.fail_aws) as writes:
        result = stack.functions[route.function].invoke(lambda_event)
    status = int(result["statusCode"])
    body = result.get("body") or ""
    assert status < 500 or (status == 503 and request.fail_aws), (request.op.label, status, body[:300], request)
    if status in (204, 304):
        assert body == "", (request.op.label, body)
    if 400 <= status < 500:
        headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
        if headers.get("content-type", "").startswith("application/json"):
            assert json.loads(body)["error"]["code"], (request.op.label, body)
        if status == 429:
            assert int(headers["retry-after"]) > 0
        # The audit log claims its record before the route runs and deletes it after a 4xx: a put undone is nothing.
        audit = [w for w in writes if " AUDIT#" in w]
        undone = sorted(w.split(" ", 1)[1] for w in audit if w.startswith("PutItem")) == \
            sorted(w.split(" ", 1)[1] for w in audit if w.startswith("DeleteItem"))
        left = [w for w in writes if " AUDIT#" not in w] + ([] if undone else audit)
        assert left == [], (f"a refused request ({status}) stored something", request.op.label, writes, request)
    return status


@pytest.fixture
def hostile(stack, settings_env):
    # One client address sends everything here: its limits stay out of the way (tests/integration/test_ratelimit.py
    # tests them), and the sweep still sees the counters written.
    settings_env(**{name: "100000" for name in (
        "WEBCHAT_VISITOR_MESSAGES_PER_MINUTE", "WEBCHAT_VISITOR_MESSAGES_PER_HOUR",
        "WEBCHAT_ADDRESS_MESSAGES_PER_MINUTE", "WEBCHAT_ADDRESS_SESSIONS_PER_HOUR",
        "SURVEY_ADDRESS_PAGES_PER_MINUTE", "SURVEY_ADDRESS_POSTS_PER_MINUTE")})
    seeded = seed(stack)
    return stack, seeded, operations(stack)


def test_every_route_answers_a_fixed_set_of_hostile_requests_with_a_4xx_and_stores_nothing(hostile):
    stack, seeded, ops = hostile
    seen: dict[str, set[int]] = {}
    for op in ops:
        for request in sweep(op, seeded):
            seen.setdefault(op.label, set()).add(check(stack, seeded, request))
    assert set(seen) == {op.label for op in ops}
    assert any(code == 503 for codes in seen.values() for code in codes)  # the injected failures were felt


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(data=st.data())
def test_any_request_to_any_route_is_never_a_5xx_nor_stores_anything_when_refused(hostile, data):
    stack, seeded, ops = hostile
    kind = data.draw(st.sampled_from(sorted({op.kind for op in ops})), label="kind")  # each kind as often
    op = data.draw(st.sampled_from([op for op in ops if op.kind == kind]), label="operation")
    request = data.draw(requests(op, seeded), label="request")
    status = check(stack, seeded, request)
    event(f"{op.kind} {status // 100}xx")


def test_the_sweep_reaches_the_routes_past_their_checks(hostile):
    """Not only refusals: the seeded records are reachable, so hostile values meet real data; and the write
    recorder sees what an accepted request stores."""
    stack, seeded, _ = hostile
    with recording_writes(False) as writes:
        assert stack.http("POST", "/api/canned-responses", {"shortcut": "seen", "text": "x"}, role="agent").status == 201
    assert any(w.startswith(("PutItem CANNED", "TransactWriteItems CANNED")) for w in writes), writes
    assert stack.http("GET", f"/api/conversations/{seeded.conversation_id}", role="agent").status == 200
    assert stack.http("GET", f"/survey/{seeded.survey_token}", query="rating=5").status == 200
    assert stack.http("GET", "/webchat/messages", headers={"Authorization": f"Bearer {seeded.visitor_token}"}
                      ).status == 200
    assert PNID  # the WhatsApp inbox the seeded conversation came through

"""What every benchmark shares: the moto stack built from template.yaml (as tests/integration/conftest.py builds
it), the real handlers, counting hooks on the AWS clients, and capture of what the handlers log."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import tempfile
import threading
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bench import ROOT

REGION = "us-east-1"
ACCOUNT = "123456789012"
PNID = "200000000000002"  # the WhatsApp business number's phone_number_id
BASE_ENV = {"AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}


def clean_environment() -> None:
    """No endpoint or profile of the developer's: every AWS call goes to moto (or to a stub)."""
    for key in list(os.environ):
        if key.startswith(("AWS_ENDPOINT_URL", "AWS_PROFILE")):
            del os.environ[key]
    os.environ.update(BASE_ENV)


def template() -> dict[str, Any]:
    from infra.local.template import load

    return load(ROOT / "template.yaml")


def reset_caches() -> None:
    """Settings, channels, HTTP session, AWS clients and cached automation settings, as the tests reset them."""
    from switchboard import aws
    from switchboard.channels import http, registry
    from switchboard.services import automation_config
    from switchboard.settings import get_settings

    get_settings.cache_clear()
    registry.get.cache_clear()
    http.session.cache_clear()
    aws.reset()
    automation_config.forget()
    from switchboard.services import inboxes  # the directory's brief cache (issue 14)

    inboxes.forget()


# -- counting hooks ------------------------------------------------------------------------------
@dataclass
class Call:
    service: str
    operation: str
    params: dict[str, Any]
    parsed: dict[str, Any]
    step: str
    before: Any = None  # what a write's items looked like before it (cost estimate only)
    after: Any = None

    @property
    def error(self) -> str | None:
        return (self.parsed.get("Error") or {}).get("Code") if isinstance(self.parsed, dict) else None


@dataclass
class CallLog:
    """Every AWS API request made through an instrumented client: the operation, its parameters, its response.

    Attached to the botocore session behind switchboard.aws (clients copy the session's handlers when they are
    created, so every client the core creates afterwards is counted) or to any other client."""

    step: str = ""
    calls: list[Call] = field(default_factory=list)
    enabled: bool = True
    on_before: Callable[[str, str, dict[str, Any]], Any] | None = None
    on_after: Callable[[Call], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    overhead_s: float = 0.0  # time spent in on_before/on_after (not the handler's): callers subtract it

    def attach(self, emitter: Any, tag: str) -> None:
        emitter.register("before-parameter-build", self._before, unique_id=f"bench-before-{tag}-{id(self)}")
        emitter.register("after-call", self._after, unique_id=f"bench-after-{tag}-{id(self)}")

    def attach_switchboard(self) -> None:
        """Count every client switchboard.aws creates from now on (call after reset_caches())."""
        from switchboard import aws

        self.attach(aws._session()._session, "switchboard")  # the botocore session the factories use

    def _before(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if not self.enabled:
            return
        service = model.service_model.service_name
        started = time.perf_counter()
        snapshot = self.on_before(service, model.name, params) if self.on_before else None
        self.overhead_s += time.perf_counter() - started
        context["bench"] = (service, model.name, dict(params), snapshot)

    def _after(self, parsed: Any, model: Any, context: dict[str, Any], **_: Any) -> None:
        started = context.pop("bench", None)
        if not self.enabled or started is None:
            return
        service, operation, params, snapshot = started
        call = Call(service, operation, params, parsed if isinstance(parsed, dict) else {}, self.step, before=snapshot)
        if self.on_after:
            started = time.perf_counter()
            self.on_after(call)
            self.overhead_s += time.perf_counter() - started
        with self.lock:
            self.calls.append(call)

    def take(self) -> list[Call]:
        with self.lock:
            taken, self.calls = self.calls, []
        return taken


# -- items read, from the responses --------------------------------------------------------------
READ_OPERATIONS = ("GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems")


def items_read(calls: list[Call]) -> dict[str, int]:
    """Items DynamoDB read to answer: Query/Scan ScannedCount (what a filter saw, not just what it kept), a found
    GetItem, each item a BatchGetItem or TransactGetItems returned."""
    out = {"items_read": 0, "items_returned": 0, "read_requests": 0}
    for c in calls:
        if c.service != "dynamodb" or c.operation not in READ_OPERATIONS or c.error:
            continue
        out["read_requests"] += 1
        if c.operation in ("Query", "Scan"):
            out["items_read"] += int(c.parsed.get("ScannedCount", c.parsed.get("Count", 0)))
            out["items_returned"] += int(c.parsed.get("Count", 0))
        elif c.operation == "GetItem":
            found = int("Item" in c.parsed)
            out["items_read"] += found
            out["items_returned"] += found
        elif c.operation == "BatchGetItem":
            n = sum(len(v) for v in (c.parsed.get("Responses") or {}).values())
            out["items_read"] += n
            out["items_returned"] += n
        else:
            n = sum(1 for r in c.parsed.get("Responses") or [] if r.get("Item"))
            out["items_read"] += n
            out["items_returned"] += n
    return out


def items_deleted(calls: list[Call]) -> int:
    """Items the requests deleted: DeleteItem and transactional Deletes that applied, batch DeleteRequests that
    were processed."""
    n = 0
    for c in calls:
        if c.service != "dynamodb" or c.error:
            continue
        if c.operation == "DeleteItem":
            n += 1
        elif c.operation == "BatchWriteItem":
            sent = sum(1 for reqs in c.params["RequestItems"].values() for r in reqs if "DeleteRequest" in r)
            left = sum(1 for reqs in (c.parsed.get("UnprocessedItems") or {}).values() for r in reqs
                       if "DeleteRequest" in r)
            n += sent - left
        elif c.operation == "TransactWriteItems":
            n += sum(1 for a in c.params["TransactItems"] if "Delete" in a)
    return n


def by_operation(calls: list[Call]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for c in calls:
        key = f"{c.service}.{c.operation}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


# -- what the handlers write (their CloudWatch log lines) ------------------------------------------
class OutputCapture:
    """Captures file descriptors 1 and 2 (what Lambda ships to CloudWatch Logs) while handlers run."""

    def __init__(self) -> None:
        self.bytes = 0
        self.lines = 0
        self.sample = b""

    @contextmanager
    def capture(self) -> Iterator[None]:
        import sys

        sys.stdout.flush()
        sys.stderr.flush()
        saved = (os.dup(1), os.dup(2))
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            try:
                yield
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
                os.close(saved[0])
                os.close(saved[1])
                sink.seek(0)
                data = sink.read()
                self.bytes += len(data)
                self.lines += data.count(b"\n")
                if data and not self.sample:
                    self.sample = data[:600]


# -- AWS answered locally -------------------------------------------------------------------------
class _Raw:
    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


def _stub_answer(request: Any, event_name: str = "", **_: Any) -> Any:
    """A successful, empty answer (JSON protocols: DynamoDB, SQS, SESv2), without leaving the process."""
    from botocore.awsrequest import AWSResponse

    service = event_name.split(".")[1] if event_name.count(".") >= 1 else ""
    target = request.headers.get("X-Amz-Target", b"")
    target = target.decode() if isinstance(target, bytes) else str(target)
    body = b"{}"
    if target.endswith("SendMessageBatch"):
        body = b'{"Successful": [], "Failed": []}'
    elif service == "sesv2":
        body = b'{"MessageId": "bench-stub"}'
    content_type = "application/json" if service == "sesv2" else "application/x-amz-json-1.0"
    return AWSResponse(request.url, 200, {"x-amzn-RequestId": "bench-stub", "Content-Type": content_type},  # type: ignore[arg-type]  # botocore takes any mapping here
                       _Raw(body))


def stub_aws(botocore_session: Any, services: tuple[str, ...]) -> None:
    """Answer these services' requests locally, ahead of moto (requests are still signed, sent to the hooks
    and counted)."""
    emitter = botocore_session.get_component("event_emitter")
    for service in services:
        emitter.register_first(f"before-send.{service}", _stub_answer, unique_id=f"bench-stub-{service}")


# -- the moto stack ------------------------------------------------------------------------------
@dataclass
class Stack:
    functions: dict[str, Any]
    resolver: Any
    clients: dict[str, Any]  # the bench's own clients: setup and inspection, never counted
    sandbox: Any
    routes: list[Any]
    env: dict[str, str]

    @property
    def table_name(self) -> str:
        return self.resolver.refs["Table"]

    def queue_url(self, logical_id: str) -> str:
        return self.resolver.refs[logical_id]

    def http_event(self, method: str, path: str, body: bytes | dict | None = None,
                   headers: dict[str, str] | None = None, role: str | None = None, query: str = ""
                   ) -> tuple[str, dict[str, Any]]:
        """(function, HTTP API v2 event) for a request, through the template's routes and the JWT authorizer."""
        from infra.local import auth
        from infra.local.events import http_event
        from infra.local.lambdas import match

        headers = dict(headers or {})
        if isinstance(body, dict):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        found = match(self.routes, method, path)
        if not found:
            raise LookupError(f"no route for {method} {path}")
        route, params = found
        claims = None
        if route.auth:
            claims = auth.verify(f"Bearer {auth.issue(f'{role or 'agent'}@example.com', role or 'agent')}")
        event = http_event(method, path, query, headers, body or b"", f"{route.method} {route.path}", params, claims,
                           "127.0.0.1")
        return route.function, event

    def sqs_source(self, function: str, sqs_client: Any) -> Any:
        from infra.local import resources
        from infra.local.pollers import SqsSource

        fn = self.functions[function]
        (event,) = [e for e in fn.events.values() if e.get("Type") == "SQS"]
        arn = self.resolver.resolve(event["Properties"]["Queue"])
        return SqsSource(function=fn, queue_url=resources.queue_url_by_arn(self.resolver, arn), queue_arn=arn,
                         batch_size=int(event["Properties"].get("BatchSize", 10)), report_failures=True,
                         sqs=sqs_client, backoff_cap=0)

    def drain(self, function: str, sqs_client: Any | None = None, max_polls: int = 500) -> int:
        source, delivered = self.sqs_source(function, sqs_client or self.clients["sqs"]), 0
        for _ in range(max_polls):
            n = source.poll_once()
            if not n:
                break
            delivered += n
        return delivered


@contextmanager
def moto_stack(secrets: dict[str, str] | None = None) -> Iterator[Stack]:
    """The template's resources on moto, the handlers loaded as Lambda loads them, a provider sandbox."""
    import boto3
    from moto import mock_aws

    from infra.local import resources
    from infra.local.lambdas import http_routes, load_functions
    from infra.local.sandbox import Sandbox
    from infra.local.server import serve
    from infra.local.stack import local_environment
    from infra.local.template import Resolver

    clean_environment()
    saved = dict(os.environ)
    with mock_aws():
        tpl = template()
        resolver = Resolver(tpl)
        clients: dict[str, Any] = {name: boto3.client(name, region_name=REGION) for name in ("dynamodb", "sqs", "s3", "ses")}
        resources.create_all(tpl, resolver, clients)
        functions = load_functions(ROOT, tpl, resolver)
        sandbox = Sandbox("http://127.0.0.1:0")
        server = serve(types.SimpleNamespace(sandbox=sandbox), 0)  # type: ignore[arg-type]  # the sandbox is all it serves here
        sandbox.base_url = f"http://127.0.0.1:{server.server_address[1]}"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        env = local_environment(functions, sandbox, "https://hooks.example.com", secrets or {})
        os.environ.update(env)
        # SES sends only from verified identities: whatever the settings send surveys and replies from.
        senders = {env.get("SURVEY_FROM_ADDRESS") or "", env.get("EMAIL_FROM_ADDRESS") or "", "support@example.com"}
        for address in senders - {""}:
            clients["ses"].verify_email_identity(EmailAddress=address)
            clients["ses"].verify_domain_identity(Domain=address.rsplit("@", 1)[-1])
        reset_caches()
        from switchboard import clock

        clock.reset()
        try:
            yield Stack(functions, resolver, clients, sandbox, http_routes(tpl, functions), env)
        finally:
            clock.reset()
            reset_caches()
            server.shutdown()
            server.server_close()
            os.environ.clear()
            os.environ.update(saved)


def forget_metrics() -> None:
    """Drop metrics the core recorded outside a handler (setup), so that no handler publishes them."""
    try:
        from switchboard import observability

        observability._metrics().clear_metrics()
    except (ImportError, AttributeError):
        pass


def save_settings(patch: dict[str, Any]) -> None:
    from switchboard.services import automation_config
    from switchboard.store.table import Table

    automation_config.save(Table(), patch)
    automation_config.forget()


# -- WhatsApp payloads ---------------------------------------------------------------------------
def wa_message(wamid: str, sender: str, text: str) -> dict[str, Any]:
    from switchboard import clock

    return {"from": sender, "id": wamid, "timestamp": str(clock.epoch()), "type": "text", "text": {"body": text}}


def wa_payload(messages: list[dict[str, Any]] | None = None, statuses: list[dict[str, Any]] | None = None,
               names: dict[str, str] | None = None) -> dict[str, Any]:
    value: dict[str, Any] = {"messaging_product": "whatsapp",
                             "metadata": {"display_phone_number": "15550001111", "phone_number_id": PNID}}
    if messages:
        value["contacts"] = [{"profile": {"name": name}, "wa_id": wa_id} for wa_id, name in (names or {}).items()]
        value["messages"] = messages
    if statuses:
        value["statuses"] = statuses
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": value}]}]}


def wa_status(wamid: str, status: str, recipient: str) -> dict[str, Any]:
    from switchboard import clock

    return {"id": wamid, "status": status, "timestamp": str(clock.epoch()), "recipient_id": recipient,
            "conversation": {"id": "c1", "origin": {"type": "service"}}, "pricing": {"billable": False}}


def signed(payload: dict[str, Any], secret: str) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return raw, {"Content-Type": "application/json", "X-Hub-Signature-256": signature}


def whatsapp_post(stack_env: dict[str, str], payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    return signed(payload, stack_env.get("META_APP_SECRET") or os.environ["META_APP_SECRET"])


def scheduled_event(function: str) -> dict[str, Any]:
    from infra.local.events import scheduled_event as event

    return event(function)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn()
    return result, (time.perf_counter() - started) * 1000

"""Integration tier: moto with the resources template.yaml declares, the real handlers, a provider sandbox."""

from __future__ import annotations

import json
import threading
import types
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.local import auth, resources
from infra.local.events import http_event
from infra.local.lambdas import Function, http_routes, load_functions, match
from infra.local.pollers import SqsSource
from infra.local.sandbox import Sandbox
from infra.local.server import serve
from infra.local.stack import LOCAL_SENDER, local_environment
from infra.local.template import Resolver, load
from infra.local.transcribe import LocalTranscribe, targets
from tests.conftest import ROOT, TEST_SECRETS, reset_caches


@dataclass
class Response:
    status: int
    body: str
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Stack:
    functions: dict[str, Function]
    resolver: Resolver
    clients: dict[str, Any]
    sandbox: Sandbox
    routes: list[Any]
    _transcribe: LocalTranscribe | None = field(default=None, repr=False)

    def http(self, method: str, path: str, body: bytes | dict | None = None, headers: dict[str, str] | None = None,
             role: str | None = None, query: str = "", source_ip: str = "127.0.0.1") -> Response:
        """A request through the routes and authorizer the template declares (as API Gateway would), from the client
        address `source_ip` (API Gateway's requestContext.http.sourceIp)."""
        headers = dict(headers or {})
        if isinstance(body, dict):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        found = match(self.routes, method, path)
        assert found, f"no route for {method} {path}"
        route, params = found
        claims = None
        if route.auth:
            claims = auth.verify(f"Bearer {auth.issue(f'{role}@example.com', role)}") if role else None
            if claims is None:
                return Response(401, '{"message":"Unauthorized"}', {})
        event = http_event(method, path, query, headers, body or b"", f"{route.method} {route.path}", params, claims,
                           source_ip)
        result = self.functions[route.function].invoke(event)
        return Response(result["statusCode"], result.get("body") or "", result.get("headers") or {})

    def source(self, function: str) -> SqsSource:
        fn = self.functions[function]
        (event,) = [e for e in fn.events.values() if e.get("Type") == "SQS"]
        arn = self.resolver.resolve(event["Properties"]["Queue"])
        return SqsSource(function=fn, queue_url=resources.queue_url_by_arn(self.resolver, arn), queue_arn=arn,
                         batch_size=int(event["Properties"].get("BatchSize", 10)), report_failures=True,
                         sqs=self.clients["sqs"], backoff_cap=0)

    def drain(self, function: str, max_polls: int = 50) -> int:
        """Deliver the function's queue to it until empty; returns how many records were delivered."""
        source, delivered = self.source(function), 0
        for _ in range(max_polls):
            n = source.poll_once()
            if not n:
                return delivered
            delivered += n
        return delivered

    def __post_init__(self) -> None:
        # issue 17: from the start, so that moto's jobs stay as they are until `transcribe` ends them
        self._transcribe = LocalTranscribe(targets(self.functions, self.resolver), self.clients["s3"])

    def transcribe(self, deliver: bool = True) -> list[tuple[str, str, Any]]:
        """issue 17: finish the Amazon Transcribe jobs started since the last call, as the local stack does (the
        sandbox's transcript), and deliver their events to the template's EventBridge rule's function: (job, status,
        the function's results) per job. `deliver` False: the events are lost on the way (no results)."""
        assert self._transcribe is not None
        return self._transcribe.finish_jobs(deliver)

    def queue_count(self, logical_id: str) -> int:
        attrs = self.clients["sqs"].get_queue_attributes(
            QueueUrl=self.resolver.refs[logical_id],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def items(self, prefix: str) -> list[dict[str, Any]]:
        """Test-only Scan for items whose pk starts with prefix."""
        from switchboard.store.table import deserialize

        out = self.clients["dynamodb"].scan(TableName=self.resolver.refs["Table"])
        return [deserialize(i) for i in out["Items"] if i["pk"]["S"].startswith(prefix)]


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch):
    with mock_aws():
        template = load(ROOT / "template.yaml")
        resolver = Resolver(template)
        clients = {name: boto3.client(name, region_name="us-east-1") for name in ("dynamodb", "sqs", "s3")}
        resources.create_all(template, resolver, clients)
        boto3.client("sesv2", region_name="us-east-1").create_email_identity(EmailIdentity=LOCAL_SENDER.split("@")[1])
        functions = load_functions(ROOT, template, resolver)
        sandbox = Sandbox("http://127.0.0.1:0")
        server = serve(types.SimpleNamespace(sandbox=sandbox), 0)
        sandbox.base_url = f"http://127.0.0.1:{server.server_address[1]}"
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        env = local_environment(functions, sandbox, "https://hooks.example.com", TEST_SECRETS)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        reset_caches()
        from switchboard.services import automation_config
        from switchboard.store.table import Table

        # Automated replies would add messages to every test's conversations: tests that want them turn them on.
        # Tests write to several business addresses per channel: new inboxes are allowed (tests of the
        # unknown-owner rule turn it off).
        automation_config.save(Table(), {**{section: {"enabled": False}
                                            for section in ("greeting", "away", "auto_reply", "survey")},
                                         "inboxes": {"accept_new": True}})
        try:
            yield Stack(functions, resolver, clients, sandbox, http_routes(template, functions))
        finally:
            automation_config.forget()
            LocalTranscribe.release_jobs()
            server.shutdown()
            server.server_close()

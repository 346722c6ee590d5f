"""Tracing (observability.traced): in Lambda each invocation is a `## handler` subsegment with its AWS calls and
provider calls inside, and nothing of a response, an exception or a URL path reaches X-Ray; outside Lambda the
X-Ray SDK never loads. Each case runs in a fresh interpreter (the X-Ray SDK patches botocore process-wide) and
catches the documents the SDK sends to the daemon address on a local UDP socket."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

from tests.conftest import ROOT

_CHILD = """
import sys
sys.path[:0] = [{layer!r}]
import boto3
from moto import mock_aws
from switchboard import observability
from switchboard.channels import http

@observability.traced
def handler(event, context):
    boto3.client("dynamodb").list_tables()
    try:  # a provider call: refused, and the error message holds the URL's path (a bot token)
        http.request("POST", "http://127.0.0.1:9/botSECRET-TOKEN/sendMessage")
    except http.RetryableSendError:
        pass
    if event.get("fail"):
        raise ValueError("customer said: SECRET-TEXT")
    return {{"text": "SECRET-TEXT"}}

with mock_aws():
    handler({{}}, None)
    handler({{}}, None)
    try:
        handler({{"fail": True}}, None)
    except ValueError:
        pass
print("LOADED", "aws_xray_sdk" in sys.modules)
"""


def _run(extra_env: dict[str, str]) -> tuple[str, list[dict]]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    try:
        env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
        env |= {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_LAMBDA_FUNCTION_NAME": "TracedFunction", "HTTP_MAX_RETRIES": "0",
                "POWERTOOLS_SERVICE_NAME": "switchboard",
                "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{sock.getsockname()[1]}",
                "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
                **extra_env}
        run = subprocess.run([sys.executable, "-c", _CHILD.format(layer=str(ROOT / "layers" / "shared"))], env=env,
                             capture_output=True, text=True, timeout=120, check=False)
        assert run.returncode == 0, run.stderr[-3000:]
        documents = []
        while True:
            try:
                datagram = sock.recv(65536)
            except TimeoutError:
                break
            documents.append(json.loads(datagram.decode().split("\n", 1)[1]))
        return run.stdout, documents
    finally:
        sock.close()


def _flatten(documents: list[dict]) -> list[dict]:
    found, pending = [], list(documents)
    while pending:
        doc = pending.pop()
        found.append(doc)
        pending.extend(doc.get("subsegments") or [])
    return found


def test_in_lambda_each_invocation_is_traced_with_its_aws_and_provider_calls_and_no_content():
    stdout, documents = _run({"LAMBDA_TASK_ROOT": str(ROOT)})
    assert "LOADED True" in stdout
    spans = _flatten(documents)
    handlers = [s for s in spans if s["name"] == "## handler"]
    assert len(handlers) == 3
    assert sorted(s["annotations"]["ColdStart"] for s in handlers) == [False, False, True]
    assert {s["annotations"]["Service"] for s in handlers} == {"switchboard"}
    assert sum(1 for s in spans if s["name"].lower() == "dynamodb" and s["aws"]["operation"] == "ListTables") == 3
    calls = [s for s in spans if s["name"] == "## 127.0.0.1"]  # named by host alone
    assert len(calls) == 3 and all(s["annotations"]["Error"] == "ConnectionError" for s in calls)
    assert sum(1 for s in handlers if s.get("fault") or s.get("error")) == 1  # the failure is marked...
    recorded = json.dumps(documents)  # ...but neither an error's message, nor a response, nor a URL path is recorded
    assert "SECRET-TEXT" not in recorded and "SECRET-TOKEN" not in recorded


def test_outside_lambda_or_when_disabled_nothing_is_traced_and_the_sdk_never_loads():
    for env in ({}, {"LAMBDA_TASK_ROOT": str(ROOT), "POWERTOOLS_TRACE_DISABLED": "true"},
                {"LAMBDA_TASK_ROOT": str(ROOT), "AWS_SAM_LOCAL": "true"}):
        stdout, documents = _run(env)
        assert "LOADED False" in stdout, env
        assert documents == [], env

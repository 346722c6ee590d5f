"""End-to-end tier: the local stack (`python -m infra.local`) in a subprocess, driven over HTTP on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

import pytest

from infra.local.stack import free_port
from tests.conftest import ROOT
from tests.support.signing import meta_signature

SECRETS = {"META_APP_SECRET": "e2e-meta-secret", "META_VERIFY_TOKEN": "e2e-verify-token",
           "TELEGRAM_SECRET_TOKEN": "e2e-telegram-secret", "TWILIO_AUTH_TOKEN": "e2e-twilio-token"}


@dataclass
class Reply:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


class LocalStack:
    def __init__(self, base: str, log_path: str | None = None):
        self.base = base
        self.log_path = log_path  # the stack's output: its own lines and every function's
        self.tokens: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | dict | None = None, headers: dict[str, str] | None = None,
                role: str | None = None, timeout: float = 60) -> Reply:
        headers = dict(headers or {})
        if isinstance(body, dict):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        if role:
            headers["Authorization"] = f"Bearer {self.token(role)}"
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return Reply(r.status, r.read())
        except urllib.error.HTTPError as e:
            return Reply(e.code, e.read())

    def token(self, role: str) -> str:
        if role not in self.tokens:
            r = self.request("POST", "/_local/token", {"email": f"{role}@example.com", "role": role})
            self.tokens[role] = r.json()["token"]
        return self.tokens[role]

    def post_meta(self, channel: str, payload: dict | bytes, secret: str = SECRETS["META_APP_SECRET"]) -> Reply:
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        sig = meta_signature(raw, secret)
        return self.request("POST", f"/webhooks/{channel}", raw,
                            {"Content-Type": "application/json", "X-Hub-Signature-256": sig})

    def api(self, method: str, path: str, body: dict | None = None, role: str = "agent") -> Reply:
        return self.request(method, path, body, role=role)

    def wait_for(self, predicate: Any, timeout: float = 20) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = predicate()
            if result:
                return result
            time.sleep(0.2)
        return None

    def log_lines(self, start: int = 0) -> list[str]:
        """The stack's output from byte `start` on (see log_size)."""
        with open(self.log_path or "", "rb") as f:
            f.seek(start)
            return f.read().decode("utf-8", "replace").splitlines()

    def log_size(self) -> int:
        return os.path.getsize(self.log_path or "")

    def conversations(self, **query: str) -> list[dict]:
        q = ("?" + urllib.parse.urlencode(query)) if query else ""
        return self.api("GET", f"/api/conversations{q}").json()["items"]

    def messages(self, conv_id: str) -> list[dict]:
        return self.api("GET", f"/api/conversations/{conv_id}/messages").json()["items"]


@contextlib.contextmanager
def running_stack(**extra_env: str):
    """`python -m infra.local` on a free port until the block ends."""
    port = free_port()
    env = dict(os.environ, PORT=str(port), LOCAL_LOG_LEVEL="WARNING", **SECRETS)
    env.pop("AWS_ENDPOINT_URL", None)  # its own moto, unless the caller names an endpoint
    env |= extra_env
    log = open(os.path.join(os.environ.get("TMPDIR", "/tmp"), f"e2e-stack-{port}.log"), "wb")
    proc = subprocess.Popen([sys.executable, "-m", "infra.local"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    stack = LocalStack(f"http://127.0.0.1:{port}", log.name)
    try:
        ready = False
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                ready = stack.request("GET", "/api/health", timeout=2).status == 200
            except OSError:
                ready = False
            if ready:
                break
            time.sleep(0.3)
        assert ready, f"local stack did not start; see {log.name}"
        yield stack
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


# Every e2e and browser test is one client address (127.0.0.1), and one of them posts a page of 101 messages as one
# visitor: the shared stack raises the public routes' rate limits as a deployment would, through the environment
# (tests/integration/test_ratelimit.py tests the limits themselves).
E2E_RATE_LIMITS = {name: "100000" for name in (
    "WEBCHAT_VISITOR_MESSAGES_PER_MINUTE", "WEBCHAT_VISITOR_MESSAGES_PER_HOUR", "WEBCHAT_ADDRESS_MESSAGES_PER_MINUTE",
    "WEBCHAT_ADDRESS_SESSIONS_PER_HOUR", "SURVEY_ADDRESS_PAGES_PER_MINUTE", "SURVEY_ADDRESS_POSTS_PER_MINUTE")}


def follow_stack_clock(stack: LocalStack) -> None:
    """This process's clock (switchboard.clock: the webhooks' timestamps tests write) at the stack's, which earlier
    tests may have moved on (a day, a year): a message stamped by it is new to the stack, not a day old."""
    from switchboard import clock

    epoch = stack.request("GET", "/_local/clock").json()["epoch"]
    clock.advance(epoch - clock.epoch())


@pytest.fixture(autouse=True)
def _on_the_stacks_clock(request: pytest.FixtureRequest):
    """Tests of the session's stack write on its clock (tests of a stack of their own keep the real one)."""
    if "local_stack" in request.fixturenames:
        follow_stack_clock(request.getfixturevalue("local_stack"))
    yield


@pytest.fixture(scope="session")
def local_stack():
    with running_stack(**E2E_RATE_LIMITS) as stack:
        # The session's tests (and the API fuzzer, which adds inboxes of its own) write to several business
        # addresses per channel: new inboxes are allowed. test_inboxes_e2e turns the rule on for its own checks.
        r = stack.request("PUT", "/api/settings", {"inboxes": {"accept_new": True}}, role="admin")
        assert r.status == 200, r
        yield stack

"""One process per function, as Lambda gives each function execution environments of its own: the function's own
environment variables and AWS credentials, its own module state (Powertools' logger keys, cached clients, the clock
offset), one invocation at a time. The process starts with the first invocation (a cold start) and stays warm.

The stack side is `ProcessFunction`, which the local stack uses in place of the in-process `Function` (the integration
tier keeps that one: its tests patch the handlers' modules). The worker side is `serve`. Workers are forked from a
multiprocessing fork server that has imported the libraries every function loads (boto3, Powertools, pydantic,
requests: about a second of CPU each time otherwise), never the functions' own code nor anything that reads the
environment at import; a worker then takes its own environment before it imports its handler."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from infra.local.lambdas import FunctionError

log = logging.getLogger("local.workers")
# Process-level variables a worker keeps from the stack's environment (Lambda has its own PATH, LANG, TZ...).
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")
PRELOAD = ["infra.local.preload"]
# Lambda stops an invocation at the function's Timeout. Locally a loaded machine gets some slack before the worker is
# stopped, so that a slow test run is not mistaken for a hung function.
TIMEOUT_GRACE_SECONDS = 10.0
INIT_TIMEOUT_SECONDS = 120.0


@dataclass
class ProcessFunction:
    """The stack's handle on one function's worker process. Same surface as `lambdas.Function`."""

    name: str
    code_dir: Path
    handler_name: str
    memory: int
    timeout: int
    environment: dict[str, str]  # the template's variables, resolved
    events: dict[str, dict[str, Any]]
    process_environment: dict[str, str] = field(default_factory=dict)  # what the worker runs with
    clock_offset: Callable[[], float] = lambda: 0.0
    on_visibility_change: Callable[[str], None] | None = None
    before_start: Callable[[], None] | None = None  # waits for what a cold start needs (the secrets in SSM)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _process: Any = None  # a multiprocessing Process
    _connection: Connection | None = None

    def start(self) -> None:
        """Start the worker now (a prewarm) if it is not running."""
        with self.lock:
            self._ensure()

    def invoke(self, event: dict[str, Any]) -> Any:
        with self.lock:
            connection = self._ensure()
            try:
                connection.send(("invoke", event, self.clock_offset()))
                if not connection.poll(self.timeout + TIMEOUT_GRACE_SECONDS):
                    self._stop()
                    log.error("%s: task timed out after %s seconds; its worker was stopped", self.name, self.timeout)
                    raise FunctionError(self.name, "Sandbox.Timedout", f"Task timed out after {self.timeout} seconds")
                kind, payload, changed = connection.recv()
            except (EOFError, OSError) as exc:
                self._stop()
                raise FunctionError(self.name, "Runtime.ExitError", "the worker process exited") from exc
        for receipt_handle in changed:
            if self.on_visibility_change:
                self.on_visibility_change(receipt_handle)
        if kind == "error":
            raise FunctionError(self.name, payload["errorType"], payload["errorMessage"])
        return payload

    def stop(self) -> None:
        with self.lock:
            self._stop()

    # -- the process -------------------------------------------------------------------------------------------------
    def _ensure(self) -> Connection:
        if self._connection is not None and self._process is not None and self._process.is_alive():
            return self._connection
        self._stop()
        if self.before_start:
            self.before_start()
        spec = {"name": self.name, "code_dir": str(self.code_dir), "handler": self.handler_name, "memory": self.memory,
                "timeout": self.timeout, "events": self.events,
                "environment": {k: v for k, v in os.environ.items() if k in INHERITED} | self.process_environment}
        started = time.monotonic()
        context = forkserver()
        connection, theirs = context.Pipe()
        self._process = context.Process(target=serve, args=(theirs, spec), name=f"lambda-{self.name}", daemon=True)
        self._process.start()
        theirs.close()
        ready = connection.poll(INIT_TIMEOUT_SECONDS)
        try:
            kind, payload = connection.recv() if ready else ("init_error", {"errorType": "Sandbox.Timedout",
                                                                            "errorMessage": "init timed out"})
        except EOFError:
            kind, payload = "init_error", {"errorType": "Runtime.ExitError", "errorMessage": "the worker exited"}
        if kind != "ready":
            connection.close()
            self._process.kill()
            self._process.join()
            self._process = None
            raise FunctionError(self.name, payload["errorType"], payload["errorMessage"])
        log.info("%s: cold start, init %.0f ms (%.0f ms with the process)", self.name, payload["init_ms"],
                 (time.monotonic() - started) * 1000)
        self._connection = connection
        return connection

    def _stop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._process is not None:
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(5)
                if self._process.is_alive():
                    self._process.kill()
                    self._process.join()
            self._process = None


@cache
def forkserver() -> Any:
    """The multiprocessing context whose fork server has the common libraries loaded."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def start_forkserver() -> None:
    """Start the fork server now (in the background at boot), so that the first cold start does not wait for it."""
    from multiprocessing import forkserver as server

    forkserver()
    server.ensure_running()


# -- the worker side --------------------------------------------------------------------------------------------------
def _error(exc: BaseException) -> dict[str, Any]:
    return {"errorType": type(exc).__name__, "errorMessage": str(exc)}


def _log_error(function: str, request_id: str | None, exc: BaseException) -> None:
    """What the Lambda runtime logs for an unhandled exception: one JSON line, with the stack trace as a list."""
    print(json.dumps({"level": "ERROR", "function_name": function, "function_request_id": request_id,
                      "message": f"unhandled {type(exc).__name__}", **_error(exc),
                      "stackTrace": traceback.format_exception(exc)}), flush=True)


def serve(connection: Connection, spec: dict[str, Any]) -> None:
    """A worker: take the function's environment, load its handler (the init phase), then invoke it per message."""
    os.environ.clear()
    os.environ.update(spec["environment"])
    time.tzset()
    os.chdir(spec["code_dir"])  # the function's code first on sys.path, as /var/task is
    sys.path.insert(0, spec["code_dir"])
    for stream in (sys.stdout, sys.stderr):  # one write per log line, so that the functions' lines never mix
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(line_buffering=True)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the stack stops workers
    started = time.monotonic()
    for name in ("botocore", "boto3", "urllib3", "s3transfer"):  # their INFO and DEBUG lines are noise locally
        logging.getLogger(name).setLevel(logging.WARNING)
    if os.environ.get("LOCAL_AWS_BACKOFF_SCALE"):  # the stack's setting, for the AWS calls the function makes
        from infra.local.stack import scale_sdk_backoff

        scale_sdk_backoff(float(os.environ["LOCAL_AWS_BACKOFF_SCALE"]))
    from infra.local.lambdas import Context, Function

    function = Function(name=spec["name"], code_dir=Path(spec["code_dir"]), handler_name=spec["handler"],
                        memory=spec["memory"], timeout=spec["timeout"], environment={}, events=spec["events"])
    try:
        handler = function.handler()  # the init phase: the handler's module, as Lambda imports it before the first event
    except Exception as exc:  # noqa: BLE001 - as Lambda's runtime: any init failure is reported, then the process ends
        _log_error(function.name, None, exc)
        connection.send(("init_error", _error(exc)))
        return
    changed: list[str] = []
    if any(e.get("Type") == "SQS" for e in spec["events"].values()):
        # A consumer that sets a record's visibility itself (the sender honoring Retry-After): the stack's poller
        # must leave that record alone, so it is told which ones.
        from switchboard import aws

        aws.sqs().meta.events.register("before-parameter-build.sqs.ChangeMessageVisibility",
                                       lambda params, **_: changed.append(str(params.get("ReceiptHandle"))))
    from switchboard import clock

    connection.send(("ready", {"init_ms": (time.monotonic() - started) * 1000}))
    while True:
        try:
            _, event, offset = connection.recv()
        except EOFError:
            return
        clock.reset()
        clock.advance(offset)  # the stack's clock: POST /_local/clock moves it for every function
        changed.clear()
        context = Context(function)
        try:
            reply: tuple[str, Any, list[str]] = ("ok", handler(event, context), list(changed))
        except Exception as exc:  # noqa: BLE001 - as Lambda's runtime: any unhandled exception is a function error
            _log_error(function.name, context.aws_request_id, exc)
            reply = ("error", _error(exc), list(changed))
        try:
            connection.send(reply)
        except Exception as exc:  # noqa: BLE001 - a result that cannot be sent: Lambda's Runtime.MarshalError
            connection.send(("error", {"errorType": "Runtime.MarshalError", "errorMessage": str(exc)}, list(changed)))

"""A webhook POST of 1,000 WhatsApp messages (Meta batches up to that many) through the local stack, as a provider
sends it: HTTP to `python -m infra.local`, the webhook function, its claims and its enqueue, until the 200.

Deployed, the webhook function has 10 seconds; a timeout there means nothing is enqueued and every provider retry
repeats the same work. The figure is the POST's wall time on this machine, with the processor draining the queue
beside it as it would."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

from bench import ROOT
from bench.harness import signed
from bench.webhook import batch

MESSAGES = 1000
SECRET = "bench-meta-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def local_stack() -> Iterator[str]:
    port = _free_port()
    env = dict(os.environ, PORT=str(port), META_APP_SECRET=SECRET, LOCAL_LOG_LEVEL="WARNING")
    env.pop("AWS_ENDPOINT_URL", None)
    log = open(os.path.join(os.environ.get("TMPDIR", "/tmp"), f"bench-stack-{port}.log"), "wb")
    proc = subprocess.Popen([sys.executable, "-m", "infra.local"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(base + "/api/health", timeout=2) as r:
                    if r.status == 200:
                        break
            time.sleep(0.3)
        else:
            raise RuntimeError(f"the local stack did not start; see {log.name}")
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def _post(base: str, payload: dict[str, Any]) -> tuple[int, float]:
    raw, headers = signed(payload, SECRET)
    request = urllib.request.Request(base + "/webhooks/whatsapp", data=raw, method="POST", headers=headers)
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as r:
        r.read()
        return r.status, (time.perf_counter() - started) * 1000


def measure(runs: int = 3) -> dict[str, Any]:
    with local_stack() as base:
        status, _ = _post(base, batch(0, 10))  # warm: the function's first invocation (imports, clients)
        assert status == 200
        times = []
        for run in range(1, runs + 1):
            status, ms = _post(base, batch(run, MESSAGES))
            assert status == 200, status
            times.append(round(ms))
    return {"webhook_ms_for_1000_messages": max(times),
            "webhook_batch_detail": {"messages_per_post": MESSAGES, "posts": runs, "ms_each": times,
                                     "note": "wall time of a signed POST to the local stack until its 200 (the "
                                             "slowest of the posts), the processor draining the queue beside it"}}

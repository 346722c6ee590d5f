"""Load through the local stack from a second process: sustained signed webhook traffic, bounded in count and time,
with throughput and latency percentiles reported; then every message is found stored exactly once, and every new
customer greeted exactly once."""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import time
import uuid

import pytest

from tests.conftest import ROOT
from tests.e2e import loadgen
from tests.e2e.conftest import SECRETS, LocalStack, running_stack

MESSAGES = 160  # one POST each, plus 10% redelivered
SENDERS = 16
WORKERS = 4
MAX_SECONDS = 45  # the generator stops here whatever is left (it reports what it did not send)
GREETING = "Hello! Thanks for writing, an agent will answer shortly."
PROVIDER_DEADLINE_MS = 10_000  # the tightest deadline a provider gives a webhook (reliability-and-cost.md section 9)


@pytest.fixture(scope="module")
def stack():
    with running_stack() as s:
        r = s.request("PUT", "/api/settings", {"greeting": {"enabled": True, "text": GREETING},
                                               "away": {"enabled": False}, "auto_reply": {"enabled": False}},
                      role="admin")
        assert r.status == 200, r
        yield s


def idle(stack: LocalStack, timeout: float) -> bool:
    def quiet():
        r = stack.request("GET", "/_local/queues")
        return r.status == 200 and not any(d["visible"] or d["in_flight"] or d["busy"] for d in r.json().values())

    return bool(stack.wait_for(quiet, timeout))


def pages(stack: LocalStack, path: str) -> list[dict]:
    items, cursor = [], None
    while True:
        sep = "&" if "?" in path else "?"
        r = stack.request("GET", path + (f"{sep}cursor={cursor}" if cursor else ""), role="agent")
        assert r.status == 200, r
        items += r.json()["items"]
        cursor = r.json().get("next_cursor")
        if not cursor:
            return items


def test_sustained_signed_webhooks_from_another_process_land_exactly_once(stack):
    run = uuid.uuid4().hex[:8]
    # When a second process posts the messages from a few concurrent connections
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "tests.e2e.loadgen", "--base", stack.base, "--secret", SECRETS["META_APP_SECRET"],
         "--run", run, "--messages", str(MESSAGES), "--senders", str(SENDERS), "--workers", str(WORKERS),
         "--duplicates", "0.1", "--max-seconds", str(MAX_SECONDS)],
        cwd=ROOT, capture_output=True, text=True, timeout=MAX_SECONDS + 30, check=False)
    report = json.loads(proc.stdout.splitlines()[0])
    # and the stack works through its queues
    assert idle(stack, 90), "the processor and sender did not catch up"
    landed_seconds = time.monotonic() - started
    figures = {**report, "processed_per_second": round(MESSAGES / landed_seconds, 1)}
    print("\nload:", proc.stderr.strip(), f"| all processed after {landed_seconds:.1f} s "
          f"({figures['processed_per_second']} messages/s end to end)")
    with open(os.path.join(os.environ.get("TMPDIR", "/tmp"), f"switchboard-load-{run}.json"), "w") as f:
        json.dump(figures, f)

    # Then every request was answered 200 within a provider's deadline, nothing left unsent
    assert proc.returncode == 0, proc.stderr
    assert report["planned"] == MESSAGES + round(MESSAGES * 0.1) == report["requests"]
    assert report["statuses"] == {"200": report["requests"]} and report["errors"] == {} and report["unsent"] == 0
    lat = report["latency_ms"]
    assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"] < PROVIDER_DEADLINE_MS
    assert report["requests_per_second"] > 0 and report["elapsed_seconds"] < MAX_SECONDS

    # and each customer's messages are stored once each, in one conversation, with one greeting sent
    convs = [c for c in pages(stack, "/api/conversations?limit=100&channel=whatsapp")
             if c["contact"]["name"] and c["contact"]["name"].startswith(f"Load {run} ")]
    assert len(convs) == SENDERS
    per_sender = MESSAGES // SENDERS
    for conv in convs:
        sender = conv["contact"]["name"].rsplit(" ", 1)[1]
        msgs = pages(stack, f"/api/conversations/{conv['id']}/messages")
        inbound = [m["text"] for m in msgs if m["direction"] == "inbound"]
        assert collections.Counter(inbound) == collections.Counter(loadgen.text(run, sender, n) for n in range(per_sender))
        assert [m["text"] for m in msgs if m["direction"] == "outbound"] == [GREETING], conv["id"]
    greetings = collections.Counter(
        item["body"]["to"] for item in stack.request("GET", "/_local/outbox").json()["items"]
        if isinstance(item["body"], dict) and item["body"].get("text", {}).get("body") == GREETING
        and item["body"].get("to", "").startswith(loadgen.sender_id(run, 0)[:8]))
    assert greetings == {loadgen.sender_id(run, i): 1 for i in range(SENDERS)}

"""A bounded load generator for the local stack: signed WhatsApp webhooks from a few concurrent workers.

Standard library only, and run as a process of its own (the stack's Python threads do not share its GIL):

    .venv/bin/python -m tests.e2e.loadgen --base http://127.0.0.1:3000 --secret local-meta-app-secret \\
        --messages 500 --senders 25 --workers 4 --duplicates 0.1 --max-seconds 60

Each message is one POST, as Meta sends them: a `whatsapp_business_account` notification signed with
X-Hub-Signature-256 over the exact bytes. A share of them (`--duplicates`) is posted a second time, unchanged (same id,
same timestamp), as a provider's redelivery. It stops after `--messages` (plus duplicates) requests or
`--max-seconds`, whichever comes first, and prints one JSON report on stdout: requests, answers by status, throughput
and latency percentiles (a summary line goes to stderr). Message ids and texts are derived from `--run`
(`wamid.load.<run>.<sender>.<n>`), so a caller can check what landed. It only talks to the loopback interface.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import math
import queue
import random
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

PNID = "200000000000002"


def sender_id(run: str, index: int) -> str:
    """A distinct phone number per sender and run (digits only, as WhatsApp's wa_id)."""
    return "49" + str(int(hashlib.sha256(run.encode()).hexdigest()[:8], 16) % 10**6).zfill(6) + f"{index:04d}"


def wamid(run: str, sender: str, n: int) -> str:
    return f"wamid.load.{run}.{sender}.{n}"


def text(run: str, sender: str, n: int) -> str:
    return f"load {run} {sender} #{n}"


def contact_name(run: str, sender: str) -> str:
    return f"Load {run} {sender}"


def payload(run: str, sender: str, n: int, epoch: int) -> bytes:
    """A provider's redelivery is the same notification: same id, same timestamp (the message's own time)."""
    message = {"from": sender, "id": wamid(run, sender, n), "timestamp": str(epoch + n), "type": "text",
               "text": {"body": text(run, sender, n)}}
    value = {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550001111", "phone_number_id": PNID},
             "contacts": [{"profile": {"name": contact_name(run, sender)}, "wa_id": sender}], "messages": [message]}
    body = {"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages",
                                                                                          "value": value}]}]}
    return json.dumps(body).encode()


def plan(run: str, messages: int, senders: int, duplicates: float, seed: int) -> list[tuple[str, int]]:
    """(sender, n) of every POST in order: messages spread round-robin over senders, duplicates interleaved later."""
    jobs = [(float(i), (sender_id(run, i % senders), i // senders)) for i in range(messages)]
    rng = random.Random(seed)
    for i in rng.sample(range(messages), round(messages * duplicates)):
        jobs.append((rng.uniform(i + 0.5, messages), jobs[i][1]))  # a redelivery, somewhere after the original
    return [job for _, job in sorted(jobs)]


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class Results:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, status: int | None, ms: float, error: str | None = None) -> None:
        with self.lock:
            if error:
                self.errors[error] += 1
            else:
                self.statuses[str(status)] += 1
                self.latencies_ms.append(ms)


def worker(base: str, secret: bytes, run: str, epoch: int, jobs: queue.Queue, results: Results, deadline: float,
           timeout: float) -> None:
    url = urlsplit(base)
    conn: http.client.HTTPConnection | None = None
    while time.monotonic() < deadline:
        try:
            sender, n = jobs.get_nowait()
        except queue.Empty:
            break
        body = payload(run, sender, n, epoch)
        headers = {"Content-Type": "application/json",
                   "X-Hub-Signature-256": "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()}
        started = time.perf_counter()
        try:
            if conn is None:  # one keep-alive connection per worker, as a provider's delivery pool keeps
                conn = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
            conn.request("POST", "/webhooks/whatsapp", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            results.add(response.status, (time.perf_counter() - started) * 1000)
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException) as exc:
            results.add(None, 0.0, type(exc).__name__)
            if conn is not None:
                conn.close()
            conn = None
    if conn is not None:
        conn.close()


def run_load(base: str, secret: str, run: str, messages: int, senders: int, workers: int, duplicates: float,
             max_seconds: float, seed: int = 1, timeout: float = 30.0) -> dict:
    jobs_list = plan(run, messages, senders, duplicates, seed)
    jobs: queue.Queue = queue.Queue()
    for job in jobs_list:
        jobs.put(job)
    results = Results()
    started = time.monotonic()
    deadline = started + max_seconds
    epoch = int(time.time()) - messages  # each message's time, in the recent past: the reply window is open
    threads = [threading.Thread(target=worker, args=(base, secret.encode(), run, epoch, jobs, results, deadline, timeout),
                                daemon=True) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()) + timeout + 1)
    elapsed = time.monotonic() - started
    latencies = sorted(results.latencies_ms)
    answered = len(latencies)
    return {
        "run": run, "planned": len(jobs_list), "messages": messages, "duplicates": len(jobs_list) - messages,
        "senders": senders, "workers": workers, "requests": answered + sum(results.errors.values()),
        "unsent": jobs.qsize(), "statuses": dict(results.statuses), "errors": dict(results.errors),
        "elapsed_seconds": round(elapsed, 3), "requests_per_second": round(answered / elapsed, 1) if elapsed else 0.0,
        "latency_ms": {"p50": round(percentile(latencies, 50), 1), "p90": round(percentile(latencies, 90), 1),
                       "p99": round(percentile(latencies, 99), 1), "max": round(latencies[-1], 1) if latencies else None,
                       "mean": round(sum(latencies) / answered, 1) if answered else None},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Signed WhatsApp webhook load against the local stack (bounded).")
    parser.add_argument("--base", required=True, help="the stack's URL, e.g. http://127.0.0.1:3000")
    parser.add_argument("--secret", required=True, help="the stack's META_APP_SECRET")
    parser.add_argument("--run", default=f"{int(time.time())}", help="tag of this run's message ids and texts")
    parser.add_argument("--messages", type=int, default=200, help="distinct messages to post (one per POST)")
    parser.add_argument("--senders", type=int, default=20, help="distinct customers the messages come from")
    parser.add_argument("--workers", type=int, default=4, help="concurrent connections")
    parser.add_argument("--duplicates", type=float, default=0.1, help="share of messages posted a second time")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="stop after this long, whatever is left")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if not 1 <= args.messages <= 100_000 or not 1 <= args.workers <= 64 or not 1 <= args.senders <= 9999 \
            or not 0 <= args.duplicates <= 1 or not 0 < args.max_seconds <= 3600:
        parser.error("messages 1-100000, workers 1-64, senders 1-9999, duplicates 0-1, max-seconds up to 3600")
    if urlsplit(args.base).hostname not in ("127.0.0.1", "localhost", "::1"):
        parser.error("--base must be the local stack on the loopback interface")
    report = run_load(args.base, args.secret, args.run, args.messages, args.senders, args.workers, args.duplicates,
                      args.max_seconds, args.seed)
    print(json.dumps(report))
    lat = report["latency_ms"]
    print(f"{report['requests']} requests in {report['elapsed_seconds']} s ({report['requests_per_second']}/s) with "
          f"{args.workers} workers; latency p50 {lat['p50']} ms, p90 {lat['p90']} ms, p99 {lat['p99']} ms, "
          f"max {lat['max']} ms; statuses {report['statuses']}, errors {report['errors']}, unsent {report['unsent']}",
          file=sys.stderr)
    return 0 if not report["errors"] and not report["unsent"] else 1


if __name__ == "__main__":
    sys.exit(main())

"""The live workspace (issue 15): push_latency_ms_p95, from a signed webhook's 200 to the message.created event at a
connected agent's socket, on the local stack (`python -m infra.local`, as `make dev` runs it); and what push fan-out
costs per million messages.

Fan-out grows with connections: every event is one Query of the agents' connection partition (0.5 read unit per
4 KB: about 25 connections per unit) and one PostToConnection per open agent app (API Gateway bills WebSocket
messages at $1.00 per million, in 32 KB units, and connection time at $0.25 per million minutes). The events of one
message's life are counted on the socket here (the customer's message, automated replies, the agent's reply and its
delivery status); the price is for AGENTS_CONNECTED apps open."""

from __future__ import annotations

import json
import math
import time
import uuid
from typing import Any

AGENTS_CONNECTED = 10  # a team's open apps, for the cost line (fan-out is linear in it)
CONNECTION_BYTES = 150  # one connection item (ids, agent, times)
PRICE_WS_MESSAGE = 1.00 / 1e6  # API Gateway WebSocket messages, us-east-1, first billion
PRICE_RRU = 0.25 / 1e6  # DynamoDB on-demand read request unit
PRICE_LAMBDA_GB_S = 0.0000133334  # arm64
PUSH_MS_PER_EVENT = 15  # PostToConnection round trips side by side, in the publishing function's time (estimate)


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p * len(ordered)) - 1))]


def measure(quick: bool = False, log: Any = print) -> dict[str, Any]:
    from websockets.sync.client import connect

    from tests.e2e.conftest import running_stack
    from tests.integration.test_whatsapp_flow import wa_message, wa_payload

    runs = 5 if quick else 30
    latencies: list[float] = []
    events_per_life: list[int] = []
    with running_stack() as stack:
        token = stack.request("POST", "/_local/token", {"email": "bench@example.com", "role": "agent"}).json()["token"]
        with connect(stack.base.replace("http://", "ws://") + f"/ws?token={token}", open_timeout=30) as ws:
            for i in range(runs + 1):  # the first warms the functions up (cold starts are not push latency)
                event, _ = _message(stack, ws, wa_message, wa_payload)
                if i:
                    latencies.append(event["ms"])
                _drain(ws, 1.0)  # its automated replies and their statuses, before the next one is timed
                log(f"  push {i}: {event['ms']:.0f} ms after the webhook's 200")
            for _ in range(2):  # whole lives: the customer's message, automation, an agent's reply, its status
                event, _ = _message(stack, ws, wa_message, wa_payload)
                count = 1 + _drain(ws, 3.0)
                r = stack.api("POST", f"/api/conversations/{event['conversation_id']}/messages", {"text": "On it."})
                assert r.status == 202, r
                events_per_life.append(count + _drain(ws, 3.0))
    p95 = round(_percentile(latencies, 0.95), 1)
    events = max(events_per_life) if events_per_life else 0
    per_event = AGENTS_CONNECTED * PRICE_WS_MESSAGE + math.ceil(AGENTS_CONNECTED * CONNECTION_BYTES / 4096) * 0.5 \
        * PRICE_RRU + PUSH_MS_PER_EVENT / 1000 * 0.512 * PRICE_LAMBDA_GB_S
    return {
        "push_latency_ms_p95": p95,
        "push_latency_ms_p50": round(_percentile(latencies, 0.5), 1),
        "push_events_per_message": events,
        "push_cost_usd_per_million_messages": round(per_event * events * 1e6, 2),
        "push_cost_assumptions": {"agents_connected": AGENTS_CONNECTED, "events_per_message": events,
                                  "usd_per_event": per_event, "runs": runs,
                                  "grows_with": "events x connected agent apps (one PostToConnection each), plus one "
                                                "Query of the connections partition per event"},
    }


def _message(stack: Any, ws: Any, wa_message: Any, wa_payload: Any) -> tuple[dict[str, Any], None]:
    """A new customer's signed WhatsApp message; its message.created event, with the ms from the 200 to it."""
    sender = "3716" + str(uuid.uuid4().int)[:7]
    payload = wa_payload(wa_message(f"wamid.bench.{sender}", sender=sender, text="hello"), sender=sender)
    assert stack.post_meta("whatsapp", payload).status == 200
    answered = time.perf_counter()
    while True:
        event = json.loads(ws.recv(timeout=30))
        if event.get("type") == "message.created" and event.get("direction") == "inbound":
            return {**event, "ms": (time.perf_counter() - answered) * 1000}, None


def _drain(ws: Any, quiet: float) -> int:
    """Events until `quiet` seconds pass without one."""
    n = 0
    while True:
        try:
            ws.recv(timeout=quiet)
        except TimeoutError:
            return n
        n += 1

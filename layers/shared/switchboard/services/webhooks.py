"""Event endpoints and deliveries: registration (the URL checked, a signing secret shown once), each event fanned out
to the endpoints that want it, signed POSTs, retries with backoff for 24 hours, then parked until an admin replays.

Signing secrets are not stored: each is derived from the stack's webhook signing key (SSM SecureString) and the
endpoint's id, so the table, its exports and its backups hold none. The API derives it once to show it; the events
function derives it for each delivery.

Each delivery is `POST <url>` with the body `{"id", "type", "created_at", "data"}` and the headers
`X-Switchboard-Event-Id`, `X-Switchboard-Timestamp` (unix seconds) and
`X-Switchboard-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from switchboard import clock, ids, observability, secrets, tokens
from switchboard.channels import http
from switchboard.errors import BadRequest, NotFound, ServiceUnavailable
from switchboard.parallel import parallel
from switchboard.services import events
from switchboard.settings import get_settings
from switchboard.store import keys, webhooks
from switchboard.store.table import Table

if TYPE_CHECKING:
    from switchboard.models import EventJob, EventRecord

logger = logging.getLogger(__name__)

RETRY_HOURS = 24
LEASE_SECONDS = 120  # an attempt's hold on its delivery: longer than the POST's timeout; then it is due again
FIRST_DELAY_SECONDS = 60
MAX_DELAY_SECONDS = 4 * 3600
RETRY_RUN_CAP = 1000  # due deliveries queued per run of the retry job; the next run takes the rest
REPLAY_CAP = 1000


# -- endpoints ----------------------------------------------------------------------------------------------------
def allow_loopback() -> bool:
    return get_settings().local_webhook_allow_loopback


def check_url(url: str) -> None:
    """Refuse what would reach the VPC, the metadata service or this machine: at registration, as at each delivery."""
    loopback = allow_loopback()
    try:
        _, host, port, _ = http.endpoint_parts(url, allow_loopback=loopback)
        http.endpoint_address(host, port, allow_loopback=loopback)
    except http.UnsafeUrl as exc:
        raise BadRequest(f"endpoint refused: {exc.message}", code="unsafe_url") from None
    except http.MediaError:
        raise BadRequest("endpoint refused: its host name does not resolve", code="unresolvable_url") from None


def _master() -> bytes:
    key = secrets.get("webhook_signing_key")
    if not key:
        raise ServiceUnavailable("no webhook signing key configured")
    return key.encode()


def secret_for(endpoint: dict[str, Any]) -> str:
    derived = tokens.derive(_master(), f"switchboard webhook {endpoint['id']} v{endpoint.get('secret_version', 1)}"
                            .encode())
    return "whsec_" + tokens.b64(derived)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def register(table: Table, url: str, event_types: list[str], by: str) -> dict[str, Any]:
    check_url(url)
    if len(webhooks.endpoints(table)) >= webhooks.MAX_ENDPOINTS:
        raise BadRequest(f"at most {webhooks.MAX_ENDPOINTS} endpoints", code="too_many_endpoints")
    endpoint = {"id": ids.new_id("wh_"), "url": url, "events": sorted(set(event_types)), "secret_version": 1,
                "created_at": clock.iso(clock.now()), "created_by": by}
    secret = secret_for(endpoint)  # before the write: no endpoint without a secret to show
    webhooks.put_endpoint(table, endpoint)
    return {**view(endpoint), "secret": secret}


def view(endpoint: dict[str, Any]) -> dict[str, Any]:
    return {k: endpoint[k] for k in ("id", "url", "events", "created_at", "created_by") if k in endpoint}


def list_endpoints(table: Table) -> list[dict[str, Any]]:
    return [view(e) for e in webhooks.endpoints(table)]


def require(table: Table, endpoint_id: str) -> dict[str, Any]:
    endpoint = webhooks.endpoint(table, endpoint_id)
    if endpoint is None:
        raise NotFound(f"endpoint {endpoint_id} not found")
    return endpoint


def delete(table: Table, endpoint_id: str) -> None:
    """Deliveries still due are dropped when they come up (their endpoint is gone); the log expires with its TTL."""
    if not webhooks.delete_endpoint(table, endpoint_id):
        raise NotFound(f"endpoint {endpoint_id} not found")


# -- delivering ---------------------------------------------------------------------------------------------------
def _expiry() -> int:
    return clock.epoch() + webhooks.DELIVERY_TTL_SECONDS


def _body(event: EventRecord, data: dict[str, Any]) -> bytes:
    return json.dumps({"id": event.id, "type": event.type, "created_at": event.created_at, "data": data},
                      separators=(",", ":"), ensure_ascii=False).encode()


def post(endpoint: dict[str, Any], event: EventRecord, data: dict[str, Any]) -> http.PostResult:
    body = _body(event, data)
    timestamp = clock.epoch()
    headers = {"Content-Type": "application/json", "User-Agent": "Switchboard-Webhooks/1",
               "X-Switchboard-Event-Id": event.id, "X-Switchboard-Event-Type": event.type,
               "X-Switchboard-Timestamp": str(timestamp),
               "X-Switchboard-Signature": signature(secret_for(endpoint), timestamp, body)}
    return http.guarded_post(endpoint["url"], body, headers, allow_loopback=allow_loopback(),
                             timeout_seconds=get_settings().webhook_timeout_seconds)


def delay_after(attempts: int) -> float:
    """Seconds before the next try after `attempts` failed ones: 1, 2, 4 ... minutes up to 4 hours, with jitter."""
    base = min(FIRST_DELAY_SECONDS * 2 ** max(attempts - 1, 0), MAX_DELAY_SECONDS)
    return base * random.uniform(0.9, 1.1)


def attempt(table: Table, item: dict[str, Any]) -> str:
    """One attempt at a delivery that is due: take it, render, sign, POST, settle. Returns the outcome."""
    from switchboard.models import EventRecord

    now = clock.now()
    taken = webhooks.take(table, item, clock.iso(now), clock.iso(now + timedelta(seconds=LEASE_SECONDS)))
    if taken is None:
        return "not_due"
    event = EventRecord.model_validate(taken["event"])
    endpoint = webhooks.endpoint(table, taken["endpoint_id"])
    if endpoint is None:
        webhooks.settle(table, taken, {"state": "dropped", "error": "endpoint_deleted"}, _expiry())
        return "dropped"
    data = events.render(table, event)
    if data is None:  # erased or deleted by retention since: nothing of theirs goes out any more
        webhooks.settle(table, taken, {"state": "dropped", "error": "subject_gone"}, _expiry())
        observability.count("EventsDropped")
        return "dropped"
    result = post(endpoint, event, data)
    done = clock.now()
    outcome: dict[str, Any] = {"status": result.status, "latency_ms": result.latency_ms, "error": result.error,
                               "last_attempt_at": clock.iso(done)}
    if result.status is not None and 200 <= result.status < 300:
        webhooks.settle(table, taken, {**outcome, "state": "delivered", "delivered_at": clock.iso(done)}, _expiry())
        observability.count("EventsDelivered")
        return "delivered"
    observability.count("EventDeliveryFailures")
    first = clock.parse_iso(taken.get("first_attempt_at") or clock.iso(now))
    deadline = first + timedelta(hours=RETRY_HOURS)
    if done >= deadline:
        webhooks.settle(table, taken, {**outcome, "state": "parked", "parked_at": clock.iso(done)}, _expiry(),
                        keys.webhook_parked(endpoint["id"], clock.iso(done), event.id))
        observability.count("EventsParked")
        logger.warning("event delivery parked", extra={"endpoint_id": endpoint["id"], "event_id": event.id,
                                                       "attempts": taken.get("attempts")})
        return "parked"
    next_at = min(done + timedelta(seconds=delay_after(int(taken.get("attempts") or 1))), deadline)
    webhooks.settle(table, taken, {**outcome, "state": "retrying", "next_attempt_at": clock.iso(next_at)}, _expiry(),
                    keys.webhook_due(clock.iso(next_at), endpoint["id"], event.id))
    return "retrying"


def fan_out(table: Table, event: EventRecord) -> dict[str, int]:
    """An event to every endpoint that wants it: each delivery claimed once (a redelivered event adds none), and
    tried at once, side by side."""
    wanted = [e for e in webhooks.endpoints(table) if event.type in e.get("events", []) or "*" in e.get("events", [])]
    record = event.model_dump(mode="json")

    def one(endpoint: dict[str, Any]) -> str:
        now = clock.iso(clock.now())
        item = webhooks.claim(table, endpoint["id"], record, now, _expiry())
        if item is None:  # claimed before (a redelivery of this event): tried again only if it is due
            item = webhooks.get(table, endpoint["id"], keys.webhook_delivery(endpoint["id"], event.created_at,
                                                                               event.id)["sk"])
            if item is None:
                return "gone"
        return attempt(table, item)

    counts: dict[str, int] = {}
    for outcome in parallel(one, wanted):
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def handle(job: EventJob, table: Table | None = None) -> dict[str, int]:
    """The events function's work for one queued job."""
    table = table or Table()
    if job.event is not None:
        return fan_out(table, job.event)
    item = webhooks.get(table, job.endpoint_id or "", job.delivery_sk or "")
    return {attempt(table, item) if item else "gone": 1}


def run_retries(table: Table | None = None) -> dict[str, int]:
    """The retry job (every minute): each delivery that is due goes back on the events queue for its attempt."""
    from switchboard import queue
    from switchboard.models import EventJob

    table = table or Table()
    due = webhooks.due(table, clock.iso(clock.now()), RETRY_RUN_CAP)
    jobs = [EventJob(endpoint_id=item["endpoint_id"], delivery_sk=item["sk"]) for item in due]
    parallel(queue.send_event, jobs)
    return {"due": len(due), "queued": len(jobs)}


def replay(table: Table, endpoint_id: str) -> dict[str, int]:
    """An admin replays what was parked for an endpoint: each delivery is due now again, with 24 hours of retries."""
    from switchboard import queue
    from switchboard.models import EventJob

    require(table, endpoint_id)
    now = clock.iso(clock.now())
    replayed = 0
    for item in webhooks.parked(table, endpoint_id, REPLAY_CAP):
        if webhooks.unpark(table, item, now, _expiry()):
            replayed += 1
            try:
                queue.send_event(EventJob(endpoint_id=endpoint_id, delivery_sk=item["sk"]))
            except ServiceUnavailable:
                pass  # due now all the same: the retry job queues it within a minute
    return {"replayed": replayed}


def send_test(table: Table, endpoint_id: str) -> dict[str, Any]:
    """A test event, delivered now (once, no retries), in the delivery log like any other."""
    from switchboard.models import EventRecord

    endpoint = require(table, endpoint_id)
    event = EventRecord(id=ids.new_id("ev_"), type="webhook.test", created_at=clock.iso(clock.now()),
                        facts={"endpoint_id": endpoint_id, "message": "A test event from Switchboard"})
    result = post(endpoint, event, events.render(table, event) or {})
    ok = result.status is not None and 200 <= result.status < 300
    now = clock.iso(clock.now())
    item = webhooks.claim(table, endpoint_id, event.model_dump(mode="json"), now, _expiry(), due=False)
    if item is not None:
        webhooks.record_test(table, item, {"state": "delivered" if ok else "failed", "attempts": 1,
                                           "status": result.status, "latency_ms": result.latency_ms,
                                           "error": result.error, "last_attempt_at": now,
                                           "first_attempt_at": now})
    return {"event_id": event.id, "ok": ok, "status": result.status, "latency_ms": result.latency_ms,
            "error": result.error}


def deliveries(table: Table, endpoint_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """The endpoint's delivery log: time, event type, state, HTTP status, latency, attempts; never a body."""
    require(table, endpoint_id)
    items, next_cursor = webhooks.log_page(table, endpoint_id, limit, cursor)
    return [{"event_id": i["event"]["id"], "event_type": i["event_type"], "created_at": i["created_at"],
             "state": i.get("state"), "status": i.get("status"), "latency_ms": i.get("latency_ms"),
             "attempts": int(i.get("attempts") or 0), "error": i.get("error"),
             "last_attempt_at": i.get("last_attempt_at"), "next_attempt_at": i.get("next_attempt_at")
             if i.get("state") == "retrying" else None} for i in items], next_cursor

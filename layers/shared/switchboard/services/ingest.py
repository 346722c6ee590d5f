"""The webhook's work: verify, parse, record each new provider message once, enqueue, acknowledge."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from switchboard import clock, observability, queue
from switchboard.channels import registry
from switchboard.channels.base import WebhookReply, WebhookRequest
from switchboard.errors import PayloadTooLarge
from switchboard.settings import get_settings
from switchboard.store import markers
from switchboard.store.table import Table

if TYPE_CHECKING:
    from switchboard.models import ContactEvent, InboundMessage, StatusUpdate


def handle(channel_name: str, request: WebhookRequest) -> tuple[WebhookReply, dict[str, int]]:
    """Answer a provider's request. Raises a SwitchboardError for anything that is not a 2xx."""
    channel = registry.get(channel_name)
    if request.method == "GET":
        return channel.handshake(request), {}
    if len(request.body) > get_settings().max_webhook_body_bytes:
        raise PayloadTooLarge("webhook body over the size limit")
    channel.verify(request)
    events = channel.parse(request)
    counts = ingest(events)
    return channel.acknowledge(list(events)), counts


def ingest(events: Sequence[InboundMessage | StatusUpdate | ContactEvent]) -> dict[str, int]:
    """Durably record and enqueue. Returns counts for the log (never content)."""
    from switchboard.models import InboundEnvelope, InboundMessage, StatusUpdate, dedupe_id

    table = Table()
    now = clock.now()
    received_at = clock.iso(now)
    expires_at = int(now.timestamp()) + get_settings().dedupe_ttl_seconds
    seen: set[str] = set()
    envelopes: list[InboundEnvelope] = []
    correlation_id = observability.correlation_id()
    counts = {"messages": 0, "duplicates": 0, "statuses": 0}
    for event in events:
        key = dedupe_id(event)
        if key in seen:
            counts["duplicates"] += 1
            continue
        seen.add(key)
        if not isinstance(event, StatusUpdate):
            existing = markers.claim_inbound(table, event.channel, key, received_at, expires_at)
            if existing and existing.get("processed"):
                counts["duplicates"] += 1
                continue  # stored and processed already: a provider retry
            if isinstance(event, InboundMessage) and not registry.get(event.channel).provider_timestamps:
                first_seen = (existing or {}).get("received_at") or received_at
                event = event.model_copy(update={"timestamp": clock.parse_iso(first_seen).timestamp()})
            # New, or claimed earlier without being processed (that attempt may not have enqueued it).
            counts["messages" if existing is None else "duplicates"] += 1
        else:
            counts["statuses"] += 1
        envelopes.append(InboundEnvelope(event=event, received_at=received_at, correlation_id=correlation_id))
    queue.send_inbound(envelopes)
    # A Sum where nothing was recorded is zero: no bytes of log for a count of none.
    if counts["messages"]:
        observability.count("MessagesReceived", counts["messages"])
    if counts["duplicates"]:
        observability.count("DuplicateDeliveries", counts["duplicates"])
    return counts

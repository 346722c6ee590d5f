"""The webhook's work: verify, parse, record each new provider message once, enqueue, acknowledge."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from switchboard import clock, http_input, observability, queue
from switchboard.channels import registry
from switchboard.channels.base import WebhookReply, WebhookRequest
from switchboard.errors import PayloadTooLarge
from switchboard.parallel import parallel
from switchboard.settings import get_settings
from switchboard.store import markers
from switchboard.store.table import Table

if TYPE_CHECKING:
    from switchboard.models import ContactEvent, IgnoredEvent, InboundMessage, StatusUpdate


def handle(channel_name: str, request: WebhookRequest) -> tuple[WebhookReply, dict[str, int]]:
    """Answer a provider's request. Raises a SwitchboardError for anything that is not a 2xx."""
    channel = registry.get(channel_name)
    if request.method == "GET":
        return channel.handshake(request), {}
    if len(request.body) > get_settings().max_webhook_body_bytes:
        raise PayloadTooLarge("webhook body over the size limit")
    http_input.check_body_headers(request.headers)  # compressed or non-UTF-8 bodies: a 415, nothing parsed
    channel.verify(request)
    events = channel.parse(request)
    counts = ingest(events)
    return channel.acknowledge(list(events)), counts


# Up to this many events are claimed by the webhook itself; a larger batch is claimed by the processor.
INLINE_CLAIMS = 50


def first_seen(event: InboundMessage, claim: dict[str, Any] | None, received_at: str) -> InboundMessage:
    """A channel without provider timestamps (Twilio, our widget): the message's time is when it was first seen, so
    that every redelivery names the same stored message."""
    seen = (claim or {}).get("received_at") or received_at
    return event.model_copy(update={"timestamp": clock.parse_iso(seen).timestamp()})


def ingest(events: Sequence[InboundMessage | StatusUpdate | ContactEvent | IgnoredEvent]) -> dict[str, int]:
    """Durably record and enqueue. Returns counts for the log (never content)."""
    from switchboard.models import IgnoredEvent, InboundEnvelope, InboundMessage, StatusUpdate, dedupe_id

    table = Table()
    now = clock.now()
    received_at = clock.iso(now)
    expires_at = int(now.timestamp()) + get_settings().dedupe_ttl_seconds
    correlation_id = observability.correlation_id()
    counts = {"messages": 0, "duplicates": 0, "statuses": 0}
    ignored: dict[tuple[str, str], int] = {}
    unique: dict[str, InboundMessage | StatusUpdate | ContactEvent] = {}
    for event in events:
        if isinstance(event, IgnoredEvent):  # not a customer speaking, nor a receipt: counted, never stored
            ignored[(event.channel, event.reason)] = ignored.get((event.channel, event.reason), 0) + 1
        elif dedupe_id(event) in unique:
            counts["duplicates"] += 1
        else:
            unique[dedupe_id(event)] = event
    claimable = [(key, e) for key, e in unique.items() if not isinstance(e, StatusUpdate)]
    claimed = len(claimable) <= INLINE_CLAIMS
    if claimed:
        # One claim per event, side by side: a claim is one small write whose time is mostly the round trip.
        claims = dict(zip((key for key, _ in claimable), parallel(
            lambda pair: markers.claim_inbound(table, pair[1].channel, pair[0], received_at, expires_at), claimable),
            strict=True))
    else:
        # A large batch (Meta sends up to 1,000 events in one POST) is enqueued unclaimed, so that the webhook's
        # time does not grow with it; the processor claims each. Only what was processed already is left out.
        done: set[str] = set()
        for channel in {e.channel for _, e in claimable}:
            done |= markers.processed(table, channel, [k for k, e in claimable if e.channel == channel])
        claims = {key: {"processed": True} if key in done else None for key, _ in claimable}
    envelopes: list[InboundEnvelope] = []
    for key, event in unique.items():
        if not isinstance(event, StatusUpdate):
            existing = claims[key]
            if existing and existing.get("processed"):
                counts["duplicates"] += 1
                continue  # stored and processed already: a provider retry
            if claimed and isinstance(event, InboundMessage) and not registry.get(event.channel).provider_timestamps:
                event = first_seen(event, existing, received_at)
            # New, or claimed earlier without being processed (that attempt may not have enqueued it).
            counts["messages" if existing is None else "duplicates"] += 1
        else:
            counts["statuses"] += 1
        envelopes.append(InboundEnvelope(event=event, received_at=received_at, correlation_id=correlation_id,
                                         claimed=claimed))
    queue.send_inbound(envelopes)
    # A Sum where nothing was recorded is zero: no bytes of log for a count of none.
    if counts["messages"]:
        observability.count("MessagesReceived", counts["messages"])
    if counts["duplicates"]:
        observability.count("DuplicateDeliveries", counts["duplicates"])
    for (ignored_channel, reason), count in ignored.items():
        observability.count_by_reason("EventsIgnored", ignored_channel, reason, count)
    if ignored:
        counts["ignored"] = sum(ignored.values())
    return counts

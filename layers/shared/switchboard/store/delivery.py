"""The outbound delivery state machine of one message: queued -> sending (claimed, with a lease) -> sent, or back
to queued, or failed; then receipts move it forward (delivered, read, failed), never backwards."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from switchboard import clock
from switchboard.store import keys
from switchboard.store.table import ConditionFailed, Table

if TYPE_CHECKING:
    from switchboard.models import Message


def claim_send(table: Table, message: Message, lease_until: float) -> bool:
    """queued -> sending, once. False when another worker has it or it has left the queue."""
    try:
        table.update(keys.message(message.conversation_id, message.created_at, message.id),
                     "SET #st = :sending, lease_until = :lease",
                     names={"#st": "status"}, vals={":sending": "sending", ":queued": "queued", ":lease": lease_until},
                     condition="#st = :queued")
        return True
    except ConditionFailed:
        return False


def release_send(table: Table, message: Message) -> None:
    """sending -> queued after a retryable failure: the provider did not take it."""
    table.update(keys.message(message.conversation_id, message.created_at, message.id),
                 "SET #st = :queued REMOVE lease_until", names={"#st": "status"},
                 vals={":queued": "queued", ":sending": "sending"}, condition="#st = :sending")


def defer(table: Table, message: Message, until: float) -> bool:
    """Keep the provider's Retry-After on a message being sent, so that deliveries of its job before then leave it
    alone. False when it is no longer being sent."""
    try:
        table.update(keys.message(message.conversation_id, message.created_at, message.id), "SET retry_at = :t",
                     names={"#st": "status"}, vals={":t": until, ":sending": "sending"}, condition="#st = :sending")
    except ConditionFailed:
        return False
    return True


def record_sent(table: Table, message: Message, provider_message_id: str) -> None:
    now = clock.epoch()
    table.transact([
        {"Update": {"Key": keys.message(message.conversation_id, message.created_at, message.id),
                    "UpdateExpression": "SET #st = :sent, status_at = :now, provider_message_id = :pid REMOVE lease_until",
                    "ConditionExpression": "#st = :sending",
                    "ExpressionAttributeNames": {"#st": "status"},
                    "ExpressionAttributeValues": {":sent": "sent", ":sending": "sending", ":now": now,
                                                  ":pid": provider_message_id}}},
        {"Put": {"Item": {**keys.provider_message(message.channel, provider_message_id), "type": "provider_message",
                          "conversation_id": message.conversation_id, "message_id": message.id,
                          "created_at": message.created_at}}},
    ])


def provider_message(table: Table, channel: str, provider_message_id: str) -> dict[str, Any] | None:
    """Which of our messages a provider's message id names ({conversation_id, message_id, created_at}), or None."""
    return table.get(keys.provider_message(channel, provider_message_id))


def link_provider_message(table: Table, message: Message) -> None:
    """provider message id -> our message, for a message sent outside our sender (receipts find it), or another id
    the provider gave a message we sent (SES's own message id)."""
    if message.provider_message_id:
        table.put({**keys.provider_message(message.channel, message.provider_message_id), "type": "provider_message",
                   "conversation_id": message.conversation_id, "message_id": message.id,
                   "created_at": message.created_at})


def record_failed(table: Table, message: Message, reason: str) -> None:
    table.update(keys.message(message.conversation_id, message.created_at, message.id),
                 "SET #st = :failed, failure_reason = :r, status_at = :now REMOVE lease_until",
                 names={"#st": "status"}, vals={":failed": "failed", ":r": reason[:500], ":now": clock.epoch()})


def apply_watermark(table: Table, conv_id: str, status: str, watermark: float, limit: int = 50) -> int:
    """Every outbound message up to the watermark moves forward (Messenger/Instagram receipts). Recent first."""
    from switchboard.models import STATUS_RANK

    upper = f"{keys.MSG_PREFIX}{clock.iso(clock.from_epoch(watermark))}~"
    items, _ = table.query("pk = :pk AND sk BETWEEN :lo AND :hi",
                           {":pk": keys.conversation_pk(conv_id), ":lo": keys.MSG_PREFIX, ":hi": upper},
                           forward=False, limit=limit)
    moved = 0
    for item in items:
        if item.get("direction") == "outbound" and item.get("provider_message_id") and \
                STATUS_RANK.get(item.get("status", ""), 99) < STATUS_RANK[status]:
            moved += apply_receipt(table, item["channel"], item["provider_message_id"], status, watermark) == "applied"
    return moved


def apply_receipt(table: Table, channel: str, provider_message_id: str, status: str, timestamp: float,
                  reason: str | None = None) -> str:
    """Move an outbound message forward on a receipt; never backwards. Returns what happened."""
    from switchboard.models import STATUS_RANK

    ref = table.get(keys.provider_message(channel, provider_message_id))
    if not ref:
        return "unknown"
    key = keys.message(ref["conversation_id"], ref["created_at"], ref["message_id"])
    lower = [s for s, rank in STATUS_RANK.items() if rank < STATUS_RANK[status]]
    expression = "SET #st = :st, status_at = :ts"
    vals: dict[str, Any] = {":st": status, ":ts": timestamp}
    if reason:
        expression += ", failure_reason = :r"
        vals[":r"] = reason[:500]
    vals |= {f":l{i}": s for i, s in enumerate(lower)}
    placeholders = ", ".join(f":l{i}" for i in range(len(lower)))
    try:
        table.update(key, expression, names={"#st": "status"}, vals=vals,
                     condition=f"attribute_exists(pk) AND #st IN ({placeholders})")
    except ConditionFailed:
        return "stale"
    return "applied"


def provider_ref(table: Table, channel: str, provider_message_id: str) -> dict[str, Any] | None:
    """The live workspace (issue 15): which of our messages a provider's id names ({conversation_id, message_id})."""
    return table.get(keys.provider_message(channel, provider_message_id))

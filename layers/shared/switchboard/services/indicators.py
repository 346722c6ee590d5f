"""Indicators customers see (issue 15, the live workspace): support is on it. When an agent opens a conversation
with customer messages not yet marked, the latest is marked read on the channel (WhatsApp's blue ticks, Messenger's
and Instagram's "seen"); while an agent types, the customer sees typing (WhatsApp, Messenger, Instagram, Telegram).
SMS, email, voice and the web chat have no provider-side indicators here (the widget hears typing over its socket).

Where the call runs: in the WebSocketFunction's `$default` handler, at once, after the agents' own fan-out; not
through the outbound queue. An indicator is best effort and worth nothing seconds late, while the outbound path is
built for the opposite: a FIFO group per conversation, exactly-once leases and retries over minutes. Queued there,
an indicator would wait behind a reply's uploads (or hold a reply up behind it), cost a queue message, a sender run
and lease writes, and arrive after the moment it was for. The handler already holds the conversation; what it needs
in addition is narrow: read access to the four channel tokens (ssm:GetParameter on those parameters only), and
UpdateItem for the two markers below. Each call is one attempt with a short timeout (no retries), so an agent's
action costs at most a few seconds of this function's time, and nothing to the agent (a socket has no answer).

Cheap, and never twice: the conversation item carries what was shown. `indicated_read_at` is the last_inbound_at
whose messages were marked read; a conditional update claims each newer one, so of two agents' tabs (or one tab's
repeated `viewing`) only one calls the provider, and only when a customer message is newer than the last one
marked. `indicated_typing_at` lets one typing indicator through per conversation every TYPING_EVERY_SECONDS.
Both checks read the conversation the handler has already loaded before any write, so the common case (nothing
new, or typing again within the interval) costs nothing beyond it.

Only inside the channel's standard reply window (24 hours after the customer's last message on WhatsApp, Messenger
and Instagram): past it the customer is not in a conversation with us, and the provider would refuse anyway. Never
to a customer who blocked us, never on a public comment thread. Admins turn them off with
`live.customer_indicators` in the automation settings.

Failures are logged with ids only (conversation, channel, kind, the error's class), counted
(CustomerIndicatorsFailed by channel and reason), and never reach the agent's socket.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from switchboard import clock, observability
from switchboard.channels import registry
from switchboard.errors import PermanentSendError, RetryableSendError, SwitchboardError
from switchboard.store import conversations, messages

if TYPE_CHECKING:
    from switchboard.channels.base import Indicator
    from switchboard.models import Conversation
    from switchboard.store.table import Table

logger = logging.getLogger(__name__)

TYPING_EVERY_SECONDS = 5.0
# What each action an agent's app sends shows the customer.
KIND_OF_ACTION: dict[str, Indicator] = {"viewing": "read", "typing": "typing"}


def on_action(table: Table, action: str, conv: Conversation) -> str:
    """An agent is viewing or typing in `conv`: show the customer, if this is the moment to. Returns what happened
    ("sent", or why not: "unsupported", "off", "window_closed", "nothing_new", "throttled", "no_message",
    "failed"), for tests and logs. Never raises."""
    kind = KIND_OF_ACTION.get(action)
    if kind is None:
        return "unsupported"
    try:
        outcome = _indicate(table, kind, conv)
    except (PermanentSendError, RetryableSendError) as exc:
        observability.count_by_reason("CustomerIndicatorsFailed", conv.channel, "refused")
        logger.warning("customer indicator failed", extra={"conversation_id": conv.id, "channel": conv.channel,
                                                           "kind": kind, "error": type(exc).__name__,
                                                           "retryable": isinstance(exc, RetryableSendError)})
        return "failed"
    except SwitchboardError as exc:  # the store, a token unavailable: nothing for the agent to do either
        observability.count_by_reason("CustomerIndicatorsFailed", conv.channel, "error")
        logger.warning("customer indicator failed", extra={"conversation_id": conv.id, "channel": conv.channel,
                                                           "kind": kind, "error": type(exc).__name__})
        return "failed"
    if outcome == "sent":
        observability.count_by_channel("CustomerIndicatorsSent", conv.channel)
    return outcome


def _indicate(table: Table, kind: Indicator, conv: Conversation) -> str:
    channel = registry.get(conv.channel)
    if kind not in channel.indicators or conv.kind == "comment" or conv.blocked:
        return "unsupported"
    if not _enabled(table):
        return "off"
    from switchboard.services.sending import window_open

    if not conv.last_inbound_at or not window_open(conv, human=False):
        return "window_closed"
    if kind == "read":
        if conv.indicated_read_at is not None and conv.indicated_read_at >= conv.last_inbound_at:
            return "nothing_new"
        if not conversations.claim_read_receipt(table, conv.id, conv.last_inbound_at):
            return "nothing_new"  # another tab marked it meanwhile
    else:
        now = clock.now().timestamp()
        if conv.indicated_typing_at is not None and now - conv.indicated_typing_at < TYPING_EVERY_SECONDS:
            return "throttled"
        if not conversations.claim_typing(table, conv.id, now, TYPING_EVERY_SECONDS):
            return "throttled"
    provider_message_id = None
    if channel.indicators_name_message:
        latest = messages.latest_inbound(table, conv.id)
        if latest is None:
            return "no_message"
        provider_message_id = latest.provider_message_id
    channel.indicate(conv.inbox_id, conv.recipient, kind, provider_message_id)
    return "sent"


def _enabled(table: Table) -> bool:
    from switchboard.services import automation_config

    return automation_config.load(table).live.customer_indicators

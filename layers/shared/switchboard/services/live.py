"""The live workspace (issue 15) where the processor files a customer's message or a receipt: the assignee's
notification and the apps' push, in one place so that processing.py calls one line each."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from switchboard.services import notifications, push
from switchboard.store import delivery

if TYPE_CHECKING:
    from switchboard.models import Conversation, Message
    from switchboard.store.table import Table

logger = logging.getLogger(__name__)


def customer_message(table: Table, conv: Conversation, message: Message) -> None:
    """The push first (it never fails), so that the apps show the stored message without waiting for the assignee's
    notification (its write and its own push); then the notification, required (stored under the message's own id:
    a redelivery writes the same one, and pushes the message again, which the apps take as a refetch)."""
    push.message_created(table, conv, message)
    notifications.customer_replied(table, conv, message, required=True)


def files_stored(table: Table, conv: Conversation, message: Message, count: int) -> None:
    """The customer's files were copied into our bucket (`count` of them): shown from there."""
    if count:
        push.files_stored(table, conv, message)


def receipt(table: Table, channel: str, provider_message_id: str, status: str) -> None:
    if not push.enabled():
        return
    try:
        ref = delivery.provider_ref(table, channel, provider_message_id)
    except Exception:  # a push never fails the receipt
        logger.warning("receipt not pushed", exc_info=True)
        return
    if ref:
        push.message_updated(table, ref["conversation_id"], ref["message_id"], status)

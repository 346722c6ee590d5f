"""Identifiers: time-ordered random ids for new things, stable ids derived from provider ids."""

from __future__ import annotations

import hashlib
import secrets

from switchboard import clock


def new_id(prefix: str) -> str:
    """Sortable by creation time (ms), then 64 random bits."""
    return f"{prefix}{clock.epoch() * 1000 + clock.now().microsecond // 1000:012x}{secrets.token_hex(8)}"


def stable_id(prefix: str, *parts: str) -> str:
    """The same provider message always maps to the same id, so every retry lands on the same item."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]
    return f"{prefix}{digest}"


# -- inboxes (issue 14) ----------------------------------------------------------------------------------------------
def inbox_id(channel: str, address: str) -> str:
    """An inbox's id, derived from the business address it is (a WhatsApp phone_number_id, a Page id, an email
    address...): the same inbox always has the same id, so a conversation names its inbox without a read and
    two first messages at once cannot make two inboxes."""
    return stable_id("ib_", channel, address)

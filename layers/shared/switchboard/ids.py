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

"""Every HMAC token and hash the product signs: `<base64url JSON claims>.<base64url HMAC-SHA256>` tokens (web chat
visitors, survey links), keys derived from a secret for one purpose, hex MACs (web chat identity hashes), and the
constant-time comparison they are all checked with."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any


class InvalidToken(ValueError):
    """Not a token signed with this key: malformed, tampered or signed with another key."""


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def derive(secret: bytes, purpose: bytes) -> bytes:
    """A key for one purpose, derived from a secret one way: holding it reveals neither the secret nor other keys."""
    return hmac.new(secret, purpose, hashlib.sha256).digest()


def hex_mac(key: bytes, message: bytes) -> str:
    """Hex HMAC-SHA256 of `message` (what a website's backend computes for an identity hash)."""
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def matches(given: str, expected: str) -> bool:
    """Constant-time comparison of a MAC or signature someone sent with the one expected."""
    return hmac.compare_digest(given.encode(), expected.encode())


def _signature(key: bytes, body: str, mac_bytes: int | None) -> str:
    return b64(hmac.new(key, body.encode(), hashlib.sha256).digest()[:mac_bytes])


def issue(claims: dict[str, Any], key: bytes, *, mac_bytes: int | None = None) -> str:
    """A signed token carrying `claims` (compact JSON); `mac_bytes` truncates the MAC (shorter links)."""
    body = b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{body}.{_signature(key, body, mac_bytes)}"


def read(token: str, key: bytes, *, mac_bytes: int | None = None) -> dict[str, Any]:
    """The claims of a token signed with `key`, the signature checked first. Raises InvalidToken. Expiry and the
    claims' meaning are the caller's."""
    try:
        body, signature = token.split(".")
        if not matches(signature, _signature(key, body, mac_bytes)):
            raise InvalidToken("signature mismatch")
        claims = json.loads(unb64(body))
    except (ValueError, UnicodeError) as exc:  # the wrong number of parts, bad base64 or JSON (InvalidToken too)
        raise InvalidToken(str(exc)) from None
    if not isinstance(claims, dict):
        raise InvalidToken("the claims are not an object")
    return claims

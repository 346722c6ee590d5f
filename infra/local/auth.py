"""The emulated JWT authorizer: tokens from POST /_local/token, checked like API Gateway checks Cognito's."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import secrets
import time
from typing import Any

_KEY = secrets.token_bytes(32)
ROLES = ("agent", "admin")
LIFETIME = 12 * 3600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(email: str, role: str) -> str:
    now = int(time.time())
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {"sub": hashlib.sha256(email.lower().encode()).hexdigest()[:32], "email": email,
              "cognito:groups": [role], "iss": "local", "token_use": "id", "iat": now, "exp": now + LIFETIME}
    body = _b64(json.dumps(claims).encode())
    signature = _b64(hmac.new(_KEY, f"{header}.{body}".encode(), hashlib.sha256).digest())
    return f"{header}.{body}.{signature}"


def verify(authorization: str | None) -> dict[str, Any] | None:
    """The token's claims, or None: as API Gateway, a bad token is a 401 before any function runs, whatever is
    wrong with it (segments, base64, JSON, claims of the wrong type, characters outside ASCII)."""
    if not authorization or not authorization.startswith("Bearer "):
        return None
    try:
        header, body, signature = authorization[7:].strip().encode("ascii").split(b".")
        expected = _b64(hmac.new(_KEY, header + b"." + body, hashlib.sha256).digest()).encode()
        if not hmac.compare_digest(signature, expected):
            return None
        claims = json.loads(_unb64(body.decode()))
    except (ValueError, TypeError):  # UnicodeError and binascii.Error are ValueErrors
        return None
    if not isinstance(claims, dict):
        return None
    expires = claims.get("exp")
    if isinstance(expires, bool) or not isinstance(expires, int | float) or not math.isfinite(expires) \
            or expires <= time.time():
        return None  # a string, NaN or Infinity never passes; neither does a token without an expiry
    return claims

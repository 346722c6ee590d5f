"""Requests signed as each provider signs them (the channels check these; see docs and channels.md)."""

from __future__ import annotations

import base64
import hashlib
import hmac

META_APP_SECRET = "test-meta-secret"  # tests/conftest.py's META_APP_SECRET


def meta_signature(body: bytes, secret: str | bytes = META_APP_SECRET) -> str:
    """X-Hub-Signature-256 of WhatsApp, Messenger and Instagram: HMAC-SHA256 of the raw body with the app secret."""
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def twilio_signature(token: str, url: str, params: dict[str, str]) -> str:
    """X-Twilio-Signature: base64 HMAC-SHA1 of the public URL followed by the sorted form parameters."""
    signed = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()).decode()

"""Decoding and encoding the HTTP API (payload v2) events the functions receive."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs

from switchboard.channels.base import WebhookRequest
from switchboard.errors import MalformedPayload, SwitchboardError, TooManyRequests


def raw_body(event: dict[str, Any]) -> bytes:
    """The bytes the client sent (what a signature covers). MalformedPayload when they cannot be recovered."""
    body = event.get("body") or ""
    if not isinstance(body, str):
        raise MalformedPayload("body is not a string")
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except ValueError:  # binascii.Error, and non-ASCII characters
            raise MalformedPayload("body is not valid base64") from None
    try:
        return body.encode("utf-8", "surrogateescape")  # undecodable bytes a gateway escaped come back as they were
    except UnicodeEncodeError:
        return body.encode("utf-8", "surrogatepass")  # other lone surrogates: bytes no signature or parser accepts


def webhook_request(event: dict[str, Any]) -> WebhookRequest:
    raw = raw_body(event)
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    query = dict(event.get("queryStringParameters") or {})
    http = (event.get("requestContext") or {}).get("http") or {}
    form: dict[str, list[str]] = {}
    if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
    return WebhookRequest(method=http.get("method", "POST").upper(), path=event.get("rawPath", ""),
                          headers=headers, query=query, body=raw, raw_query=event.get("rawQueryString", ""), form=form)


def http_response(status: int, body: str, content_type: str = "application/json") -> dict[str, Any]:
    if status in (204, 304):  # no content: no body and no Content-Type (a stray body breaks keep-alive clients)
        return {"statusCode": status, "headers": {}, "body": ""}
    return {"statusCode": status, "headers": {"Content-Type": content_type}, "body": body}


def error_response(exc: SwitchboardError) -> dict[str, Any]:
    response = http_response(exc.status, json.dumps({"error": {"code": exc.code, "message": exc.message}}))
    if isinstance(exc, TooManyRequests):
        response["headers"]["Retry-After"] = str(exc.retry_after)
    return response


def source_ip(event: dict[str, Any]) -> str | None:
    """The client's address as API Gateway saw it (requestContext.http.sourceIp): no request header sets it."""
    value = ((event.get("requestContext") or {}).get("http") or {}).get("sourceIp")
    return value if isinstance(value, str) and value else None

"""The API function's checks of a request's body before the resolver reads it: the resolver's own parsers raise
(a multipart type without a boundary, JSON nested past the recursion limit, a body that is not UTF-8 or not
base64), so what they cannot read is answered here, as a 4xx with an error code."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from switchboard.errors import BadRequest, SwitchboardError
from switchboard.http_input import FORM_TYPES, JSON_TYPES, check_body_headers, load_json

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def accepted(path: str) -> tuple[str, ...]:
    """The media types a route reads: the survey pages take their HTML forms, the help feedback JSON or a form, the
    agent API JSON."""
    if path.startswith("/survey/"):
        return FORM_TYPES
    if path == "/help/feedback":  # the help center's "Was this helpful?": JSON, or the page's form without JavaScript
        return JSON_TYPES + FORM_TYPES
    return JSON_TYPES


def check(event: dict[str, Any]) -> None:
    """Raise a SwitchboardError (4xx) for a body the routes could not read."""
    body = event.get("body")
    if body is None:
        body = ""
    if not isinstance(body, str):
        raise BadRequest("the body is not text", code="malformed_body")
    if event.get("isBase64Encoded") and body:
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest("the body is not valid base64", code="malformed_body") from None
    else:
        raw = body.encode("utf-8", "surrogatepass")
    method = str(((event.get("requestContext") or {}).get("http") or {}).get("method") or "").upper()
    if not raw and method not in BODY_METHODS:
        return  # nothing to read, and no route here reads one
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    path = str(event.get("rawPath") or "")
    accept = accepted(path)
    check_body_headers(headers, accept=accept)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the body is not UTF-8", code="malformed_body") from None
    if accept == JSON_TYPES and text.strip():
        load_json(text, code="invalid_json")


def refusal(event: dict[str, Any]) -> dict[str, Any] | None:
    """The Lambda response refusing the request, or None when its body can be read."""
    try:
        check(event)
    except SwitchboardError as exc:
        return {"statusCode": exc.status, "headers": {"Content-Type": "application/json"},
                "body": json.dumps({"error": {"code": exc.code, "message": exc.message}})}
    return None

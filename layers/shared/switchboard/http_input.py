"""What every HTTP entry point checks before it reads a request body: its transfer form (Content-Encoding), its
content type and charset, and JSON that parses within bounds (nesting, numbers). A request that fails is a 4xx
with a clear code, never an exception from a parser deep inside a handler."""

from __future__ import annotations

import json
import math
import re
from email.message import Message
from typing import Any

from switchboard.errors import BadRequest, MalformedPayload, SwitchboardError

# Deeper than any provider payload or API body we take (Meta's are about 8 levels): a body nested deeper is
# refused before anything walks it recursively (pydantic, the DynamoDB serializer, json.dumps).
MAX_JSON_DEPTH = 64
JSON_TYPES = ("application/json",)
FORM_TYPES = ("application/x-www-form-urlencoded",)
TEXT_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+/[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


class UnsupportedMediaType(SwitchboardError):
    code, status = "unsupported_media_type", 415


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # 1e999: not a number anything downstream can store
        raise ValueError("number out of range")
    return value


def load_json(body: bytes | str, *, code: str = "malformed_payload", strict: bool = True) -> Any:
    """The JSON value of a body, or MalformedPayload (a 400 with `code`): not JSON, not UTF-8, or nested past what
    json can read (its RecursionError, near 1,000 levels). `strict` (the API, web chat) also refuses NaN, Infinity,
    a number out of range and nesting deeper than MAX_JSON_DEPTH. A webhook is not strict: its channel reads typed
    fields out of the payload and skips the one event that has none, never refusing a provider's whole batch."""
    options: dict[str, Any] = {"parse_constant": _refuse_constant, "parse_float": _finite_float} if strict else {}
    try:
        value = json.loads(body, **options)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise MalformedPayload("body is not JSON", code=code) from None
    if strict and depth(value) > MAX_JSON_DEPTH:
        raise MalformedPayload(f"JSON nested deeper than {MAX_JSON_DEPTH} levels", code=code)
    return value


def depth(value: Any) -> int:
    """How deep lists and objects nest in a parsed JSON value (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    return deepest


def media_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    """("type/subtype" lower-cased, {parameter: value}) of a Content-Type header; ("", {}) when absent.
    BadRequest when it is not one (no slash, junk, a multipart type without its boundary)."""
    if not content_type or not content_type.strip():
        return "", {}
    try:
        header = Message()
        header["content-type"] = content_type
        params = header.get_params() or []
    except (ValueError, TypeError, LookupError, AttributeError):
        raise BadRequest("the Content-Type header is not a media type", code="invalid_content_type") from None
    kind = content_type.split(";", 1)[0].strip().lower()
    if not _TOKEN.match(kind):
        raise BadRequest("the Content-Type header is not a media type", code="invalid_content_type")
    values = {str(k).lower(): (v if isinstance(v, str) else "") for k, v in params[1:]}
    if kind.startswith("multipart/"):
        boundary = values.get("boundary", "")
        if not 1 <= len(boundary) <= 70:  # RFC 2046 section 5.1.1
            raise BadRequest("a multipart body needs a boundary (1 to 70 characters)", code="invalid_content_type")
    return kind, values


def check_body_headers(headers: dict[str, str], *, accept: tuple[str, ...] | None = None) -> str:
    """Refuse what no handler here can read: a Content-Encoding (gzip, br...: request bodies are never
    decompressed), a malformed Content-Type, a charset other than UTF-8 (or ASCII), and, with `accept`, any
    media type but those (`+json` types count as JSON; no Content-Type at all is taken as the first). Returns the
    media type. `headers` have lower-cased names."""
    encoding = (headers.get("content-encoding") or "").strip().lower()
    if encoding and any(part.strip() not in ("identity", "") for part in encoding.split(",")):
        raise UnsupportedMediaType("request bodies must not be compressed (Content-Encoding)",
                                   code="unsupported_encoding")
    kind, params = media_type(headers.get("content-type"))
    charset = params.get("charset", "").strip().strip('"').lower()
    if charset and charset not in TEXT_CHARSETS:
        raise UnsupportedMediaType("request bodies are read as UTF-8 only", code="unsupported_charset")
    if accept is not None:
        effective = kind or accept[0]
        json_like = effective.endswith("+json") and "application/json" in accept
        if effective not in accept and not json_like:
            raise UnsupportedMediaType(f"this route takes {' or '.join(accept)}")
    return kind

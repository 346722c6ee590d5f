"""Defensive readers for provider JSON, shared by the channel parsers: wrong types read as absent."""

from __future__ import annotations

import math
import re
from typing import Any

from switchboard.errors import MediaError

_SURROGATE = re.compile("[\ud800-\udfff]")


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str | None:
    """A non-empty string (an int's digits accepted), storable: JSON's lone surrogates ("\\ud800") can't be UTF-8."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str) or not value:
        return None
    return storable(value)


def storable(value: str) -> str:
    """The string with lone surrogates (valid in JSON and Python, never in UTF-8) replaced by U+FFFD."""
    return value if value.isascii() else _SURROGATE.sub("\ufffd", value)


def number(value: Any) -> float | None:
    """A JSON number, or a string of one, as a finite float (NaN and infinities parse as JSON but serialize as null);
    None for anything else (booleans too)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        parsed = float(value)
    except (ValueError, OverflowError):
        return None
    return parsed if math.isfinite(parsed) else None


def coordinate(value: Any, limit: float) -> float | None:
    """A finite degree within ±limit."""
    degree = number(value)
    return degree if degree is not None and -limit <= degree <= limit else None


def read_capped(response: Any, limit: int) -> bytes:
    """A streamed download, refused once it grows past `limit` bytes."""
    chunks, size = [], 0
    for chunk in response.iter_content(65536):
        size += len(chunk)
        if size > limit:
            raise MediaError("media larger than the configured limit")
        chunks.append(chunk)
    return b"".join(chunks)


def meta_seconds(value: Any) -> float | None:
    """A Meta time as unix seconds: milliseconds (seconds tolerated, as some test webhooks send). None unless plausible."""
    ts = number(value)
    if ts is not None and ts > 1e11:
        ts /= 1000
    return ts if ts is not None and 0 < ts < 1e11 else None

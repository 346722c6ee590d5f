"""The HTTP session every channel sends with: timeouts, backoff with jitter on 429/5xx, Retry-After honored."""

from __future__ import annotations

import math
from datetime import UTC
from email.utils import parsedate_to_datetime
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from switchboard import clock, observability
from switchboard.errors import PermanentSendError, RetryableSendError
from switchboard.settings import get_settings

RETRYABLE_STATUS = (429, 500, 502, 503, 504)
# A Lambda must not sleep for minutes: a longer Retry-After ends the in-call retries, and the caller
# hands the wait to the queue (RetryableSendError.retry_after).
MAX_IN_CALL_RETRY_AFTER = 5.0


@cache
def _retry_class() -> type:
    from urllib3.exceptions import InvalidHeader, MaxRetryError, ResponseError
    from urllib3.util.retry import Retry

    class LambdaRetry(Retry):
        """urllib3's Retry that waits inside the call only for short Retry-After values."""

        # urllib3 also retries a 413 that carries Retry-After; a body too large stays too large.
        RETRY_AFTER_STATUS_CODES = frozenset({429, 503})

        def get_retry_after(self, response: Any) -> float | None:
            try:
                return super().get_retry_after(response)
            except InvalidHeader:
                return None  # unparseable: back off as if it were absent

        def increment(self, method: Any = None, url: Any = None, response: Any = None, error: Any = None,
                      _pool: Any = None, _stacktrace: Any = None) -> Any:
            if response is not None and error is None:
                wait = self.get_retry_after(response)
                if wait is not None and wait > MAX_IN_CALL_RETRY_AFTER:
                    # With raise_on_status=False urllib3 answers with this very response.
                    raise MaxRetryError(_pool, url, ResponseError(f"Retry-After {wait:.0f}s is the caller's to wait"))
            return super().increment(method, url, response=response, error=error, _pool=_pool, _stacktrace=_stacktrace)

    return LambdaRetry


# A send (POST) is retried inside the call only where the provider cannot have acted on it: the connection
# never opened, or it answered 429/503. A read timeout after the request went out is "outcome unknown".
SAFE_SEND_STATUS = (429, 503)


@cache
def session(safe_to_repeat: bool = True) -> Any:
    """`safe_to_repeat`: GETs (look-ups, downloads) retry read errors and every 5xx; sends do not."""
    import requests
    from requests.adapters import HTTPAdapter

    settings = get_settings()
    retry = _retry_class()(
        total=settings.http_max_retries, connect=settings.http_max_retries, read=1 if safe_to_repeat else 0,
        status=settings.http_max_retries, backoff_factor=0.5, backoff_jitter=0.5, backoff_max=8,
        status_forcelist=RETRYABLE_STATUS if safe_to_repeat else SAFE_SEND_STATUS, allowed_methods=None,
        respect_retry_after_header=True, raise_on_status=False)
    s = requests.Session()
    adapter = HTTPAdapter(max_retries=retry, pool_maxsize=10)
    s.mount("https://", adapter)
    s.mount("http://", adapter)
    return s


def request(method: str, url: str, **kwargs: Any) -> Any:
    """One provider call; the caller reads the status.

    A failure before the request reached the provider is a RetryableSendError. For a send, a failure after it
    went out (read timeout, connection dropped mid-answer) may have delivered it: that is a PermanentSendError
    saying so, because the one thing a support inbox must not do is say the same thing twice.
    """
    import requests

    kwargs.setdefault("timeout", get_settings().http_timeout_seconds)
    repeatable = method.upper() in ("GET", "HEAD")
    try:
        with observability.subsegment(f"## {urlsplit(url).hostname or 'provider'}"):  # the host only: paths hold tokens
            return session(repeatable).request(method, url, **kwargs)
    except (requests.ConnectTimeout, requests.exceptions.SSLError) as exc:
        raise RetryableSendError(f"{type(exc).__name__} calling the provider") from exc
    except (requests.ReadTimeout, requests.exceptions.ChunkedEncodingError) as exc:
        if repeatable:
            raise RetryableSendError(f"{type(exc).__name__} calling the provider") from exc
        raise PermanentSendError("delivery outcome unknown: the provider did not answer in time; "
                                 "check the conversation before sending again") from exc
    except requests.ConnectionError as exc:
        if repeatable or _never_connected(exc):
            raise RetryableSendError(f"{type(exc).__name__} calling the provider") from exc
        raise PermanentSendError("delivery outcome unknown: the connection broke after sending; "
                                 "check the conversation before sending again") from exc
    except requests.RequestException as exc:
        raise RetryableSendError(f"{type(exc).__name__} calling the provider") from exc


def _never_connected(exc: Exception) -> bool:
    from urllib3.exceptions import NameResolutionError, NewConnectionError

    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError | NameResolutionError)


def retry_after(response: Any) -> float | None:
    """Seconds the provider asks us to wait (Retry-After: seconds or an HTTP date), or None."""
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)  # "-0000": RFC 9110 dates are GMT anyway
        seconds = (when - clock.now()).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def raise_for_status(response: Any, permanent_reason: str) -> None:
    """Map an HTTP failure to the send error the sender acts on."""
    if response.status_code < 400:
        return
    if response.status_code in RETRYABLE_STATUS:
        raise RetryableSendError(f"provider answered {response.status_code}", retry_after=retry_after(response))
    raise PermanentSendError(f"{permanent_reason} (HTTP {response.status_code})")

"""The HTTP session every channel sends with: timeouts, backoff with jitter on 429/5xx, Retry-After honored."""

from __future__ import annotations

import math
from datetime import UTC
from email.utils import parsedate_to_datetime
from functools import cache
from typing import Any

from switchboard import clock
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


@cache
def session() -> Any:
    import requests
    from requests.adapters import HTTPAdapter

    settings = get_settings()
    retry = _retry_class()(
        total=settings.http_max_retries, connect=settings.http_max_retries, read=1, status=settings.http_max_retries,
        backoff_factor=0.5, backoff_jitter=0.5, backoff_max=8, status_forcelist=RETRYABLE_STATUS, allowed_methods=None,
        respect_retry_after_header=True, raise_on_status=False)
    s = requests.Session()
    adapter = HTTPAdapter(max_retries=retry, pool_maxsize=10)
    s.mount("https://", adapter)
    s.mount("http://", adapter)
    return s


def request(method: str, url: str, **kwargs: Any) -> Any:
    """One provider call. Network failures become RetryableSendError; the caller reads the status."""
    import requests

    kwargs.setdefault("timeout", get_settings().http_timeout_seconds)
    try:
        return session().request(method, url, **kwargs)
    except requests.RequestException as exc:
        raise RetryableSendError(f"{type(exc).__name__} calling the provider") from exc


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

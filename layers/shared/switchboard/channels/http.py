"""The HTTP session every channel sends with: timeouts, backoff with jitter on 429/5xx, Retry-After honored."""

from __future__ import annotations

from functools import cache
from typing import Any

from switchboard.errors import PermanentSendError, RetryableSendError
from switchboard.settings import get_settings

RETRYABLE_STATUS = (429, 500, 502, 503, 504)


@cache
def session() -> Any:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    settings = get_settings()
    retry = Retry(total=settings.http_max_retries, connect=settings.http_max_retries, read=1,
                  status=settings.http_max_retries, backoff_factor=0.5, backoff_jitter=0.5, backoff_max=8,
                  status_forcelist=RETRYABLE_STATUS, allowed_methods=None, respect_retry_after_header=True,
                  raise_on_status=False)
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
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value else None
    except ValueError:
        return None


def raise_for_status(response: Any, permanent_reason: str) -> None:
    """Map an HTTP failure to the send error the sender acts on."""
    if response.status_code < 400:
        return
    if response.status_code in RETRYABLE_STATUS:
        raise RetryableSendError(f"provider answered {response.status_code}", retry_after=retry_after(response))
    raise PermanentSendError(f"{permanent_reason} (HTTP {response.status_code})")

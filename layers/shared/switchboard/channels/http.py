"""The HTTP session every channel sends with (timeouts, backoff with jitter on 429/5xx, Retry-After honored), and
the guarded download for URLs that come from provider payloads."""

from __future__ import annotations

import base64
import ipaddress
import logging
import math
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from functools import cache
from typing import Any
from urllib.parse import urljoin, urlsplit

from switchboard import clock, observability
from switchboard.errors import MediaError, PermanentSendError, RetryableSendError
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


BOT_TOKEN_IN_PATH = re.compile(r"/bot[0-9]+:[A-Za-z0-9_-]+")


class _RedactTokens(logging.Filter):
    """urllib3 logs the URL of a request it retries, and Telegram's paths hold the bot token."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = BOT_TOKEN_IN_PATH.sub("/bot<token>", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


@cache
def _redact_urllib3_logs() -> None:
    logging.getLogger("urllib3.connectionpool").addFilter(_RedactTokens())


@cache
def session(safe_to_repeat: bool = True, retries: bool = True) -> Any:
    """`safe_to_repeat`: GETs (look-ups, downloads) retry read errors and every 5xx; sends do not. `retries` False:
    one attempt and no backoff (best-effort calls such as typing indicators, worth nothing a few seconds late)."""
    import requests
    from requests.adapters import HTTPAdapter

    _redact_urllib3_logs()
    settings = get_settings()
    if not retries:
        from urllib3.util.retry import Retry

        s = requests.Session()
        once = HTTPAdapter(max_retries=Retry(total=0, connect=0, read=0, status=0, redirect=False,
                                             raise_on_status=False), pool_maxsize=10)
        s.mount("https://", once)
        s.mount("http://", once)
        return s
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


def request(method: str, url: str, *, retries: bool = True, **kwargs: Any) -> Any:
    """One provider call; the caller reads the status (`retries` False: a single attempt, see `session`).

    A failure before the request reached the provider is a RetryableSendError. For a send, a failure after it
    went out (read timeout, connection dropped mid-answer) may have delivered it: that is a PermanentSendError
    saying so, because the one thing a support inbox must not do is say the same thing twice.
    """
    import requests

    kwargs.setdefault("timeout", get_settings().http_timeout_seconds)
    repeatable = method.upper() in ("GET", "HEAD")
    try:
        with observability.subsegment(f"## {urlsplit(url).hostname or 'provider'}"):  # the host only: paths hold tokens
            return session(repeatable, retries).request(method, url, **kwargs)
    except (requests.ConnectTimeout, requests.exceptions.SSLError) as exc:
        raise RetryableSendError(f"{type(exc).__name__} calling the provider") from exc
    except (requests.ReadTimeout, requests.exceptions.ChunkedEncodingError) as exc:
        if repeatable:
            raise RetryableSendError(f"{type(exc).__name__} calling the provider") from exc
        raise PermanentSendError("delivery outcome unknown: the provider did not answer in time; "
                                 "check the conversation before sending again", outcome_unknown=True) from exc
    except requests.ConnectionError as exc:
        if repeatable or _never_connected(exc):
            raise RetryableSendError(f"{type(exc).__name__} calling the provider") from exc
        raise PermanentSendError("delivery outcome unknown: the connection broke after sending; "
                                 "check the conversation before sending again", outcome_unknown=True) from exc
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


# -- downloads from URLs a payload named -----------------------------------------------------------------------
# A provider payload is signed, but what it names is still not ours to trust: a URL in it is fetched only over
# HTTPS, from the provider's own hosts, at a public address checked after DNS (and connected to as checked), with
# redirects followed here, one checked hop at a time. Configuration is trusted: the origin of the channel's configured
# API base URL gets the credentials, and is allowed as configured where the checks would refuse it (the sandbox).

# The hosts each provider serves media from, for `download(allowed_hosts=...)`. "*.x.com" matches subdomains only.
TWILIO_MEDIA_HOSTS = ("api.twilio.com", "*.twiliocdn.com", "s3-external-1.amazonaws.com")
META_MEDIA_HOSTS = ("lookaside.fbsbx.com", "*.fbsbx.com", "*.fbcdn.net", "*.cdninstagram.com")
TELEGRAM_HOSTS = ("api.telegram.org",)
MAX_REDIRECTS = 5
REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})
MAX_URL_CHARS = 4096
# A DNS name as providers use them: ASCII labels, and a last label of letters (so never an IP literal in any form).
HOSTNAME = re.compile(r"(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeUrl(MediaError):
    """A URL the guarded download refuses before any connection: retrying cannot help."""

    code = "unsafe_url"
    permanent = True


@dataclass(frozen=True)
class Download:
    data: bytes
    content_type: str | None  # as served, parameters dropped


@dataclass(frozen=True)
class _Hop:
    scheme: str
    host: str  # lower-case ASCII, no trailing dot
    port: int
    target: str  # path and query
    configured: bool  # the configured API base URL's own origin: credentials may go there
    checked: bool  # resolved and connected to only at checked public addresses (False: as configured)


def basic_auth(user: str, password: str) -> str:
    """An Authorization header value, for `download(headers=...)`."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode("utf-8", "surrogatepass")).decode()


def download(url: str, *, allowed_hosts: Iterable[str], headers: Mapping[str, str] | None = None,
             credential_hosts: Iterable[str] = (), max_bytes: int | None = None,
             api_base_url: str | None = None) -> Download:
    """GET a URL that came from a provider payload, safely. Raises MediaError (UnsafeUrl for a refused URL).

    - `allowed_hosts`: the provider's hosts, exact names or "*.example.com" for subdomains. A URL is fetched only
      over HTTPS on port 443, from one of them, without user info, and only when every address its name resolves
      to is public (not private, loopback, link-local, multicast, reserved or unspecified, IPv4-mapped and other
      embedded IPv4 included). The connection goes to the address that was checked, with the name kept for TLS
      (SNI, certificate) and Host, so a second DNS answer cannot move it.
    - `headers`: credentials, sent only to a host named exactly in `credential_hosts` (and to `api_base_url`'s
      origin), never to another host, redirects included.
    - Redirects are followed here, at most MAX_REDIRECTS, each hop checked as the first.
    - `max_bytes` (default: the media_max_bytes setting) caps the body, announced or streamed.
    - `api_base_url`: the channel's configured provider base URL. A URL of its scheme, host and port gets the
      credentials, and is allowed as configured where the checks above would refuse it (the local sandbox, on
      loopback): configuration is trusted, payloads are not.
    No error message names the URL: some carry a token in their path.
    """
    settings = get_settings()
    limit = settings.media_max_bytes if max_bytes is None else max_bytes
    allowed = tuple(h.lower() for h in allowed_hosts)
    credentialed = {h.lower().rstrip(".") for h in credential_hosts}
    trusted = _origin(api_base_url) if api_base_url else None
    for _ in range(MAX_REDIRECTS + 1):
        hop = _hop(url, allowed, trusted)
        send = dict(headers or {}) if headers and (hop.configured or hop.host in credentialed) else {}
        status, location, download_ = _get(hop, send, limit)
        if download_ is not None:
            return download_
        if status in REDIRECT_STATUS and location:
            url = urljoin(url, location)
            continue
        raise MediaError(f"media download answered {status}")
    raise UnsafeUrl(f"more than {MAX_REDIRECTS} redirects")


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").removesuffix(".")
    if scheme not in ("http", "https") or not host:
        return None
    return scheme, host, port or (443 if scheme == "https" else 80)


def _host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    for pattern in allowed:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif host == pattern:
            return True
    return False


def _hop(url: str, allowed: tuple[str, ...], trusted: tuple[str, str, int] | None) -> _Hop:
    """The checks that need no network. Parsers disagree about odd URLs, so odd URLs are refused outright."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_CHARS:
        raise UnsafeUrl("media URL missing or too long")
    if not url.isascii() or any(c <= " " or c in "\x7f\\" for c in url):
        raise UnsafeUrl("media URL with non-ASCII text, spaces, control characters or backslashes")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeUrl("unparseable media URL") from None
    if "@" in parts.netloc:
        raise UnsafeUrl("media URL with user info")
    scheme, host = parts.scheme.lower(), (parts.hostname or "").removesuffix(".")
    if scheme not in ("http", "https") or not host:
        raise UnsafeUrl("media URL that is not http(s) with a host")
    port = port or (443 if scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not target.startswith("/"):
        raise UnsafeUrl("media URL with a relative path")
    configured = trusted is not None and (scheme, host, port) == trusted
    if scheme == "https" and port == 443 and HOSTNAME.fullmatch(host) and _host_allowed(host, allowed):
        return _Hop(scheme, host, port, target, configured=configured, checked=True)
    if configured:  # e.g. the local sandbox on loopback: allowed as configured, by name
        return _Hop(scheme, host, port, target, configured=True, checked=False)
    if scheme != "https" or port != 443:
        raise UnsafeUrl("media URL that is not https on port 443")
    raise UnsafeUrl("media URL on a host that is not the provider's")


def _resolve(host: str, port: int) -> list[str]:
    """Every address the name resolves to (a seam for tests)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def public_address(address: str) -> bool:
    """Whether an address is one a download may connect to: globally routable, IPv4 inside IPv6 checked too."""
    try:
        ip = ipaddress.ip_address(address.partition("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d is a.b.c.d
            return public_address(str(ip.ipv4_mapped))
        embedded = ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and not public_address(str(embedded)):
            return False
    return ip.is_global and not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                                 or ip.is_reserved or ip.is_unspecified)


def _ca_bundle() -> str:
    import certifi

    return certifi.where()


def _pool(hop: _Hop, address: str) -> Any:
    """A connection pool to `address`, speaking to it as `hop.host` (a seam for tests)."""
    settings = get_settings()
    retries = _retry_class()(
        total=settings.http_max_retries, connect=settings.http_max_retries, read=1, status=settings.http_max_retries,
        redirect=False, backoff_factor=0.5, backoff_jitter=0.5, backoff_max=8, status_forcelist=RETRYABLE_STATUS,
        allowed_methods=None, respect_retry_after_header=True, raise_on_status=False)
    return pinned_pool(hop.scheme, hop.host, hop.port, address, settings.http_timeout_seconds, retries)


def pinned_pool(scheme: str, host: str, port: int, address: str, timeout_seconds: float, retries: Any) -> Any:
    """A connection pool to the checked `address`, speaking to it as `host` (TLS SNI and certificate, Host): a second
    DNS answer cannot move the connection somewhere else."""
    import urllib3

    _redact_urllib3_logs()
    timeout = urllib3.Timeout(connect=timeout_seconds, read=timeout_seconds)
    if scheme == "http":  # a configured origin, or a loopback endpoint locally
        return urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=retries, maxsize=1)
    return urllib3.HTTPSConnectionPool(address, port, timeout=timeout, retries=retries, maxsize=1,
                                       cert_reqs="CERT_REQUIRED", ca_certs=_ca_bundle(), server_hostname=host,
                                       assert_hostname=host)


# -- POSTs to URLs an admin registered (event endpoints: CRMs and other systems) -------------------------------------
# The same guard as downloads: an endpoint on a private, loopback, link-local or reserved address is refused when it
# is registered AND each time it is called (DNS can change in between), and the connection goes to the address that
# was checked. Only the local stack (LOCAL_WEBHOOK_ALLOW_LOOPBACK) may name a loopback address, over plain http.
def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.partition("%")[0]).is_loopback
    except ValueError:
        return False


def endpoint_parts(url: str, *, allow_loopback: bool) -> tuple[str, str, int, str]:
    """(scheme, host, port, path and query) of an endpoint URL, checked without the network. Raises UnsafeUrl."""
    if not isinstance(url, str) or not url or len(url) > 2048:
        raise UnsafeUrl("the URL is missing or longer than 2048 characters")
    if not url.isascii() or any(c <= " " or c in "\x7f\\" for c in url):
        raise UnsafeUrl("the URL has non-ASCII text, spaces, control characters or backslashes")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeUrl("the URL cannot be read") from None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").removesuffix(".")
    if "@" in parts.netloc or not host:
        raise UnsafeUrl("the URL needs a host and no user info")
    if scheme != "https" and not (allow_loopback and scheme == "http"):
        raise UnsafeUrl("the URL must be https")
    if parts.fragment:
        raise UnsafeUrl("the URL must have no fragment")
    return scheme, host, port or (443 if scheme == "https" else 80), (parts.path or "/") + (
        f"?{parts.query}" if parts.query else "")


def endpoint_address(host: str, port: int, *, allow_loopback: bool) -> str:
    """The address to connect to for an endpoint's host: every address it resolves to must be public (or, locally,
    loopback). Raises UnsafeUrl for a refused address, MediaError when the name does not resolve."""
    try:
        addresses = _resolve(host, port)
    except (OSError, UnicodeError):
        raise MediaError("the endpoint's host name did not resolve") from None
    if not addresses:
        raise MediaError("the endpoint's host name did not resolve")
    for address in addresses:
        if not (public_address(address) or (allow_loopback and _loopback(address))):
            raise UnsafeUrl("the endpoint resolves to a private, loopback, link-local or reserved address")
    return addresses[0]


@dataclass(frozen=True)
class PostResult:
    status: int | None  # None: no answer (refused, timed out, connection failed)
    latency_ms: int
    error: str | None  # a short code, never a URL: "timeout", "connection_failed", "unsafe_address"...


def guarded_post(url: str, body: bytes, headers: Mapping[str, str], *, allow_loopback: bool,
                 timeout_seconds: float) -> PostResult:
    """One POST to an endpoint URL, through the checks above; no redirects followed, no retries inside the call
    (the caller schedules them). Never raises for what the far end does."""
    import time

    import urllib3

    started = time.monotonic()

    def result(status: int | None, error: str | None) -> PostResult:
        return PostResult(status, int((time.monotonic() - started) * 1000), error)

    try:
        scheme, host, port, target = endpoint_parts(url, allow_loopback=allow_loopback)
        address = endpoint_address(host, port, allow_loopback=allow_loopback)
    except UnsafeUrl:
        return result(None, "unsafe_address")
    except MediaError:
        return result(None, "dns_failed")
    host_header = host if port in (80, 443) else f"{host}:{port}"
    pool = pinned_pool(scheme, host, port, address, timeout_seconds, urllib3.Retry(0, redirect=False, read=False))
    try:
        with observability.subsegment(f"## {host}"):
            response = pool.urlopen("POST", target, body=body, redirect=False, preload_content=False,
                                    headers={"Host": host_header, **headers})
            response.read(65536, decode_content=False)  # a little of the answer, never kept
            response.release_conn()
            return result(response.status, None)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        timed_out = isinstance(reason, urllib3.exceptions.TimeoutError | TimeoutError) and not isinstance(
            reason, urllib3.exceptions.NewConnectionError)  # refused: a NewConnectionError is a ConnectTimeoutError
        return result(None, "timeout" if timed_out else "connection_failed")
    finally:
        pool.close()


def _get(hop: _Hop, headers: dict[str, str], limit: int) -> tuple[int, str | None, Download | None]:
    """One hop: (status, Location, None) for a redirect or a failure status, (status, None, Download) for content."""
    import urllib3

    if not hop.checked:
        address = hop.host  # as configured: connected to by name
    else:
        try:
            addresses = _resolve(hop.host, hop.port)
        except (OSError, UnicodeError):
            raise MediaError("media host name did not resolve") from None
        if not addresses:
            raise MediaError("media host name did not resolve")
        if not all(public_address(a) for a in addresses):
            raise UnsafeUrl("media host resolves to a private, loopback or reserved address")
        address = addresses[0]
    host_header = hop.host if hop.port in (80, 443) else f"{hop.host}:{hop.port}"
    pool = _pool(hop, address)
    response = None
    try:
        with observability.subsegment(f"## {hop.host}"):  # the host only: paths can hold tokens
            response = pool.urlopen("GET", hop.target, redirect=False, preload_content=False,
                                    headers={"Host": host_header, "Accept-Encoding": "identity", **headers})
            if response.status in REDIRECT_STATUS or response.status >= 300 or response.status < 200:
                return response.status, response.headers.get("Location"), None
            announced = (response.headers.get("Content-Length") or "").strip()
            if announced.isdigit() and int(announced) > limit:
                raise MediaError("media larger than the configured limit")
            chunks, size = [], 0
            for chunk in response.stream(65536):
                size += len(chunk)
                if size > limit:
                    raise MediaError("media larger than the configured limit")
                chunks.append(chunk)
            served = (response.headers.get("Content-Type") or "").split(";")[0].strip() or None
            return response.status, None, Download(b"".join(chunks), served)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        # from None: urllib3's messages name the URL, and some paths hold a token.
        raise MediaError(f"{type(exc).__name__} downloading media") from None
    finally:
        if response is not None:
            response.release_conn()
        pool.close()

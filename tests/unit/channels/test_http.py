"""The provider HTTP session against a real local server: retries on 429/5xx, Retry-After, and no long sleeps."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from switchboard import clock
from switchboard.channels import http
from switchboard.errors import PermanentSendError, RetryableSendError


@dataclass
class Script:
    """What the server answers, in order (the last answer repeats), and what it received."""

    answers: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    received: list[tuple[str, str, bytes]] = field(default_factory=list)
    delay: float = 0.0
    released: threading.Event = field(default_factory=threading.Event)

    def answer(self, status: int, headers: dict[str, str] | None = None, body: bytes = b"") -> Script:
        self.answers.append((status, headers or {}, body))
        return self


class Provider(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.respond()

    def do_POST(self) -> None:
        self.respond()

    def respond(self) -> None:
        script: Script = self.server.script  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        script.received.append((self.command, self.path, self.rfile.read(length)))
        if script.delay:
            script.released.wait(script.delay)
        status, headers, body = script.answers[min(len(script.received), len(script.answers)) - 1]
        self.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class LocalServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the client gave up first (timeouts): nothing to report


@pytest.fixture
def provider() -> Iterator[tuple[str, Script]]:
    script = Script()
    server = LocalServer(("127.0.0.1", 0), Provider)
    server.script = script  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", script
    finally:
        script.released.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=2)


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """urllib3's retry sleeps, recorded instead of slept."""
    import urllib3.util.retry

    recorded: list[float] = []
    monkeypatch.setattr(urllib3.util.retry.time, "sleep", recorded.append)
    return recorded


def test_a_success_is_returned_as_is(provider: tuple[str, Script], sleeps: list[float]) -> None:
    url, script = provider
    script.answer(200, {"Content-Type": "application/json"}, b'{"messages":[{"id":"wamid.1"}]}')

    response = http.request("POST", f"{url}/PNID/messages", json={"to": "1"})

    assert response.status_code == 200 and response.json() == {"messages": [{"id": "wamid.1"}]}
    assert script.received == [("POST", "/PNID/messages", b'{"to": "1"}')]
    assert sleeps == []


def test_a_429_with_a_short_retry_after_is_retried_after_that_wait(provider: tuple[str, Script],
                                                                   sleeps: list[float]) -> None:
    url, script = provider
    script.answer(429, {"Retry-After": "2"}).answer(200, body=b"ok")

    response = http.request("POST", f"{url}/messages", json={"text": "hi"})

    assert response.status_code == 200
    assert [body for _, _, body in script.received] == [b'{"text": "hi"}'] * 2  # the POST body is sent again
    assert sleeps == [2]


def test_a_retry_after_of_exactly_the_in_call_limit_is_still_waited_for(provider: tuple[str, Script],
                                                                         sleeps: list[float]) -> None:
    url, script = provider
    script.answer(429, {"Retry-After": str(int(http.MAX_IN_CALL_RETRY_AFTER))}).answer(200)

    assert http.request("GET", url).status_code == 200
    assert sleeps == [http.MAX_IN_CALL_RETRY_AFTER]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_of_lookups_are_retried_with_backoff(provider: tuple[str, Script], sleeps: list[float],
                                                           status: int) -> None:
    url, script = provider
    script.answer(status).answer(status).answer(200)

    response = http.request("GET", url)

    assert response.status_code == 200
    assert len(script.received) == 3
    # urllib3 retries the first failure at once, then backs off exponentially: 1 s (+ up to 0.5 s jitter), 2 s...
    assert len(sleeps) == 1 and 1.0 <= sleeps[0] <= 1.5


def test_a_send_is_repeated_in_the_call_only_when_the_provider_cannot_have_acted(provider: tuple[str, Script],
                                                                                  sleeps: list[float]) -> None:
    url, script = provider
    script.answer(503).answer(200)
    assert http.request("POST", url, json={}).status_code == 200  # 503: not processed, repeat at once
    script.answer(500).answer(200)
    response = http.request("POST", url, json={})
    assert response.status_code == 500  # may or may not have been sent: the caller decides, not a blind repeat
    assert len(script.received) == 3


def test_retries_end_with_the_last_answer_not_an_exception(provider: tuple[str, Script], sleeps: list[float],
                                                           settings_env) -> None:
    settings_env(HTTP_MAX_RETRIES="2")
    url, script = provider
    script.answer(503, {"Retry-After": "1"}, b"busy")

    response = http.request("POST", url, json={})

    assert (response.status_code, response.text) == (503, "busy")
    assert len(script.received) == 3
    with pytest.raises(RetryableSendError) as failed:
        http.raise_for_status(response, "refused")
    assert failed.value.retry_after == 1.0


def test_a_long_retry_after_is_handed_to_the_caller_without_sleeping(provider: tuple[str, Script]) -> None:
    url, script = provider
    script.answer(429, {"Retry-After": "120"}, b'{"error":{"code":130429}}').answer(200)

    started = time.monotonic()
    response = http.request("POST", url, json={})
    elapsed = time.monotonic() - started

    assert elapsed < 1.5
    assert response.status_code == 429 and len(script.received) == 1
    with pytest.raises(RetryableSendError) as failed:
        http.raise_for_status(response, "refused")
    assert failed.value.retry_after == 120.0


def test_a_retry_after_date_far_ahead_is_handed_to_the_caller(provider: tuple[str, Script], sleeps: list[float]) -> None:
    url, script = provider
    script.answer(503, {"Retry-After": format_datetime(clock.now() + timedelta(minutes=10), usegmt=True)}).answer(200)

    response = http.request("GET", url)

    assert response.status_code == 503 and len(script.received) == 1
    assert sleeps == []
    assert 590 <= http.retry_after(response) <= 600


def test_an_unparseable_retry_after_is_retried_as_if_absent(provider: tuple[str, Script], sleeps: list[float]) -> None:
    url, script = provider
    script.answer(429, {"Retry-After": "in a while"}).answer(429, {"Retry-After": "later"}).answer(200)

    assert http.request("GET", url).status_code == 200
    assert len(script.received) == 3
    assert len(sleeps) == 1 and 1.0 <= sleeps[0] <= 1.5  # the backoff, as for any other retry


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413])
def test_client_errors_are_not_retried(provider: tuple[str, Script], sleeps: list[float], status: int) -> None:
    url, script = provider
    script.answer(status, {"Retry-After": "1"})

    assert http.request("POST", url, json={}).status_code == status
    assert len(script.received) == 1 and sleeps == []


def test_an_unreachable_provider_is_a_retryable_error(sleeps: list[float]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again before the call: nothing listens there

    with pytest.raises(RetryableSendError, match="ConnectionError"):
        http.request("GET", f"http://127.0.0.1:{port}/")

    assert len(sleeps) == 2  # three connect retries: the first at once, then with backoff


def test_a_slow_lookup_times_out_as_a_retryable_error(provider: tuple[str, Script], sleeps: list[float],
                                                       settings_env) -> None:
    settings_env(HTTP_TIMEOUT_SECONDS="0.2")
    url, script = provider
    script.delay = 5
    script.answer(200)

    started = time.monotonic()
    with pytest.raises(RetryableSendError):
        http.request("GET", url)

    assert time.monotonic() - started < 1.5
    assert len(script.received) >= 1


def test_a_send_without_an_answer_is_never_repeated(provider: tuple[str, Script], sleeps: list[float],
                                                    settings_env) -> None:
    # The provider got the request and may have delivered it: sending again could say the same thing twice.
    settings_env(HTTP_TIMEOUT_SECONDS="0.2")
    url, script = provider
    script.delay = 5
    script.answer(200)

    with pytest.raises(PermanentSendError, match="outcome unknown"):
        http.request("POST", url, json={})

    assert len(script.received) == 1


@pytest.mark.parametrize(("given", "expected"), [({}, 10.0), ({"timeout": 3}, 3)])
def test_every_call_has_a_timeout(monkeypatch: pytest.MonkeyPatch, given: dict[str, float], expected: float) -> None:
    seen: dict[str, object] = {}

    def request(self: requests.Session, method: str, url: str, **kwargs: object) -> str:
        seen.update(kwargs)
        return "response"

    monkeypatch.setattr(requests.Session, "request", request)

    assert http.request("GET", "https://provider.test", **given) == "response"
    assert seen["timeout"] == expected


def test_the_session_is_built_once_per_settings() -> None:
    assert http.session() is http.session()


# -- retry_after / raise_for_status -------------------------------------------------------------


def answer(status: int = 429, retry_after: str | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = retry_after
    return response


@pytest.mark.parametrize(("header", "expected"), [
    ("30", 30.0), (" 7 ", 7.0), ("1.5", 1.5), ("0", 0.0), ("-5", 0.0), (None, None), ("", None), ("soon", None),
    ("nan", None), ("inf", None), ("1e999", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
])
def test_retry_after_reads_seconds_and_dates(header: str | None, expected: float | None) -> None:
    assert http.retry_after(answer(retry_after=header)) == expected


def test_retry_after_reads_a_date_relative_to_the_clock() -> None:
    header = format_datetime(clock.now() + timedelta(seconds=90), usegmt=True)

    assert 85 <= http.retry_after(answer(retry_after=header)) <= 90


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_raise_for_status_retryable(status: int) -> None:
    with pytest.raises(RetryableSendError) as failed:
        http.raise_for_status(answer(status, "12"), "refused")

    assert failed.value.retry_after == 12.0


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 501])
def test_raise_for_status_permanent(status: int) -> None:
    with pytest.raises(PermanentSendError, match=f"blocked \\(HTTP {status}\\)"):
        http.raise_for_status(answer(status), "blocked")


@pytest.mark.parametrize("status", [200, 201, 204, 302])
def test_raise_for_status_success(status: int) -> None:
    http.raise_for_status(answer(status), "refused")  # no exception

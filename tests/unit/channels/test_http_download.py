"""The guarded download for URLs from provider payloads: HTTPS to the provider's own hosts only, public addresses
only (checked after DNS, connected to as checked), redirects checked hop by hop, credentials to the exact host
only, a size cap. Against a local TLS server that passes for the providers' hosts (media_server.py)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from switchboard.channels import http
from switchboard.errors import MediaError
from tests.unit.channels.media_server import MediaServer, media_server_fixture  # noqa: F401 (a fixture)

TWILIO_MEDIA = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"
AUTH = {"Authorization": http.basic_auth("AC1", "secret-token")}


def fetch(url: str, **extra) -> http.Download:
    options = {"allowed_hosts": http.TWILIO_MEDIA_HOSTS, "headers": AUTH, "credential_hosts": ["api.twilio.com"]}
    return http.download(url, **(options | extra))


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """A resolver answering from a table, and no connection allowed: what is refused never reaches the network."""
    table: dict[str, list[str]] = {}

    def resolve(host: str, port: int) -> list[str]:
        return table.get(host, ["54.172.60.1"])

    def no_connection(hop, address):
        raise AssertionError(f"connected to {hop.host} at {address}")

    monkeypatch.setattr(http, "_resolve", resolve)
    monkeypatch.setattr(http, "_pool", no_connection)
    return table


# -- what is refused before any connection --------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "http://api.twilio.com/2010-04-01/x",  # not https
    "https://api.twilio.com:8443/x",  # another port
    "https://evil.example/x",  # not the provider's host
    "https://api.twilio.com.evil.example/x",
    "https://twilio.com/x",  # the apex is not a media host
    "https://xtwiliocdn.com/x",  # "*.twiliocdn.com" means subdomains
    "https://evil.example\\@api.twilio.com/x",  # a backslash: parsers disagree on the host
    "https://evil.example\\.api.twilio.com/x",
    "https://api.twilio.com@evil.example/x",  # user info
    "https://AC1:token@api.twilio.com/x",
    "https://@api.twilio.com/x",
    "https://api\u3002twilio\u3002com/x",  # ideographic full stops
    "https://api.twilio.com\uff0fx",
    "https://api.twilio.com%2eevil.example/x",
    "https://127.0.0.1/x", "https://10.0.0.1/x", "https://169.254.169.254/latest/meta-data/", "https://[::1]/x",
    "https://[::ffff:127.0.0.1]/x", "https://2130706433/x", "https://0x7f.0.0.1/x", "https://0177.0.0.1/x",
    "https://localhost/x",
    "ftp://api.twilio.com/x", "file:///etc/passwd", "gopher://api.twilio.com/x", "//api.twilio.com/x", "/x", "",
    "https:///x", " https://api.twilio.com/x", "https://api.twilio.com/x\r\nHost: evil.example",
    "https://api.twilio.com/x y", "https://api.twilio.com:99999/x", "https://api.twilio.com/" + "a" * 5000,
])
def test_urls_that_are_not_the_providers_https_are_refused(offline, url):
    with pytest.raises(http.UnsafeUrl):
        fetch(url)


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.0.1", "172.31.255.254", "192.168.1.1", "169.254.169.254",
    "100.64.0.1", "0.0.0.0", "224.0.0.1", "239.255.255.250", "255.255.255.255", "192.0.2.1", "198.18.0.1",
    "240.0.0.1", "::1", "::", "fe80::1", "fe80::1%eth0", "fc00::1", "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1",
    "::ffff:10.0.0.1", "::ffff:169.254.169.254", "2002:a00:1::1", "2002:36ac:3c01::1", "64:ff9b::a00:1", "2001:db8::1",
    "not an address",
])
def test_a_provider_name_that_resolves_to_a_private_address_is_refused(offline, address):
    offline["mms.twiliocdn.com"] = [address]
    with pytest.raises(http.UnsafeUrl):
        fetch("https://mms.twiliocdn.com/AC1/abc")


def test_one_private_address_among_public_ones_is_enough_to_refuse(offline):
    offline["mms.twiliocdn.com"] = ["13.224.5.6", "10.0.0.8"]
    with pytest.raises(http.UnsafeUrl):
        fetch("https://mms.twiliocdn.com/AC1/abc")


@pytest.mark.parametrize("address", ["54.172.60.1", "2600:1f18::1", "::ffff:54.172.60.1"])
def test_public_addresses_pass(address):
    assert http.public_address(address)


def test_a_name_that_does_not_resolve_is_a_retryable_media_error(monkeypatch):
    def fail(host, port):
        raise socket.gaierror("Name or service not known")

    monkeypatch.setattr(http, "_resolve", fail)
    with pytest.raises(MediaError) as caught:
        fetch("https://mms.twiliocdn.com/AC1/abc")
    assert not isinstance(caught.value, http.UnsafeUrl)


def test_refusals_never_name_the_url(offline):
    with pytest.raises(http.UnsafeUrl) as caught:
        http.download("https://api.telegram.org.evil.example/file/bot123:secret-token/x", allowed_hosts=["api.telegram.org"])
    assert "secret-token" not in caught.value.message and "evil" not in caught.value.message


# -- what is fetched, and how ---------------------------------------------------------------------------------

def test_a_provider_url_is_fetched_from_the_checked_address_with_its_name_kept_for_tls(media_server: MediaServer):
    media_server.answer("/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", 200, {"Content-Type": "image/jpeg"}, b"JPEG!")

    result = fetch(TWILIO_MEDIA)

    assert (result.data, result.content_type) == (b"JPEG!", "image/jpeg")
    assert media_server.connected == [("api.twilio.com", "54.172.60.1")]  # the address that was checked
    assert media_server.resolved == ["api.twilio.com"]  # resolved once: no second answer can move the connection
    (seen,) = media_server.seen
    assert (seen.host, seen.sni) == ("api.twilio.com", "api.twilio.com")
    assert seen.authorization == AUTH["Authorization"]


def test_a_redirect_is_checked_and_the_credentials_stay_with_the_exact_host(media_server: MediaServer):
    media_server.answer("/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", 307,
                        {"Location": "https://mms.twiliocdn.com/AC1/abc?Expires=1&Signature=x"})
    media_server.answer("/AC1/abc?Expires=1&Signature=x", 200, {"Content-Type": "image/png; x=1"}, b"PNG")

    result = fetch(TWILIO_MEDIA)

    assert (result.data, result.content_type) == (b"PNG", "image/png")
    assert media_server.connected == [("api.twilio.com", "54.172.60.1"), ("mms.twiliocdn.com", "13.224.5.6")]
    first, second = media_server.seen
    assert first.authorization and second.authorization is None  # never sent on to another host
    assert (second.host, second.sni) == ("mms.twiliocdn.com", "mms.twiliocdn.com")


@pytest.mark.parametrize("location", [
    "https://mms.twiliocdn.com/private",  # resolves to a private address (below)
    "http://mms.twiliocdn.com/AC1/abc",  # a downgrade
    "https://evil.example/steal",  # not the provider's
    "https://api.twilio.com@evil.example/x",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::ffff:127.0.0.1]/x",
    "file:///etc/passwd",
])
def test_a_redirect_anywhere_else_is_refused_before_it_is_followed(media_server: MediaServer, location):
    media_server.dns["mms.twiliocdn.com"] = ["10.1.2.3"] if location.endswith("/private") else ["13.224.5.6"]
    media_server.answer("/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", 302, {"Location": location})
    with pytest.raises(http.UnsafeUrl):
        fetch(TWILIO_MEDIA)
    assert len(media_server.seen) == 1


def test_a_relative_redirect_stays_on_the_host(media_server: MediaServer):
    media_server.answer("/a", 301, {"Location": "/b"})
    media_server.answer("/b", 200, {}, b"ok")
    assert fetch("https://api.twilio.com/a").data == b"ok"
    assert [s.authorization is not None for s in media_server.seen] == [True, True]  # the same, exact host


def test_redirects_are_bounded(media_server: MediaServer):
    for hop in range(http.MAX_REDIRECTS + 2):
        media_server.answer(f"/r{hop}", 302, {"Location": f"https://api.twilio.com/r{hop + 1}"})
    with pytest.raises(http.UnsafeUrl, match="redirects"):
        fetch("https://api.twilio.com/r0")
    assert len(media_server.seen) == http.MAX_REDIRECTS + 1


def test_the_certificate_must_name_the_host(media_server: MediaServer, settings_env):
    settings_env(HTTP_MAX_RETRIES="0")
    media_server.dns["other.twiliocdn.com"] = ["13.224.5.7"]  # the server's certificate does not name it
    media_server.answer("/x", 200, {}, b"data")
    with pytest.raises(MediaError, match=r"SSLError|MaxRetryError"):
        fetch("https://other.twiliocdn.com/x")
    assert media_server.seen == []


@pytest.mark.parametrize("chunked", [False, True])
def test_media_over_the_cap_is_refused_announced_or_streamed(media_server: MediaServer, chunked):
    headers = {"Transfer-Encoding": "chunked", "Content-Length": ""} if chunked else {}
    media_server.answer("/big", 200, headers, b"x" * 5000)
    with pytest.raises(MediaError, match="larger than"):
        fetch("https://api.twilio.com/big", max_bytes=4999)
    assert fetch("https://api.twilio.com/big", max_bytes=5000).data == b"x" * 5000


def test_the_cap_defaults_to_the_setting(media_server: MediaServer, settings_env):
    settings_env(MEDIA_MAX_BYTES="3")
    media_server.answer("/four", 200, {}, b"four")
    with pytest.raises(MediaError, match="larger than"):
        fetch("https://api.twilio.com/four")


@pytest.mark.parametrize("status", [400, 403, 404, 410])
def test_a_failure_status_is_a_media_error(media_server: MediaServer, status):
    media_server.answer("/gone", status, {}, b"")
    with pytest.raises(MediaError, match=str(status)):
        fetch("https://api.twilio.com/gone")


def test_without_credential_hosts_no_credentials_are_sent(media_server: MediaServer):
    media_server.answer("/x", 200, {}, b"ok")
    fetch("https://api.twilio.com/x", credential_hosts=[])
    assert media_server.seen[0].authorization is None


# -- the configured API base URL -----------------------------------------------------------------------------

class _Plain(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.server.seen.append((self.path, self.headers.get("Authorization")))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        self.wfile.write(b"local")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def sandbox() -> Iterator[tuple[str, list]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Plain)
    server.daemon_threads = True
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.seen  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=2)


def test_the_configured_api_origin_is_allowed_as_configured(sandbox):
    base, seen = sandbox
    result = fetch(f"{base}/_sandbox/twilio/media/ME1/x", api_base_url=f"{base}/_sandbox/twilio")
    assert result.data == b"local" and result.content_type == "image/png"
    assert seen == [("/_sandbox/twilio/media/ME1/x", AUTH["Authorization"])]  # configuration is trusted


def test_a_configured_origin_that_passes_the_checks_is_still_checked(offline):
    # The default TWILIO_API_BASE_URL is Twilio itself: its name is resolved and checked like any payload URL's
    offline["api.twilio.com"] = ["10.0.0.1"]
    with pytest.raises(http.UnsafeUrl):
        fetch(TWILIO_MEDIA, api_base_url="https://api.twilio.com")


@pytest.mark.parametrize("other", ["http://127.0.0.1:1/x", "http://localhost:{port}/x", "https://127.0.0.1:{port}/x",
                                   "http://user@127.0.0.1:{port}/x"])
def test_only_that_exact_origin_is(sandbox, offline, other):
    base, seen = sandbox
    port = base.rsplit(":", 1)[1]
    with pytest.raises(http.UnsafeUrl):
        fetch(other.format(port=port), api_base_url=f"{base}/_sandbox/twilio")
    assert seen == []


def test_retries_are_logged_without_the_bot_token_in_the_path(caplog, settings_env, monkeypatch):
    import logging

    import urllib3.util.retry

    monkeypatch.setattr(urllib3.util.retry.time, "sleep", lambda seconds: None)
    settings_env(HTTP_MAX_RETRIES="1")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{probe.getsockname()[1]}"  # closed again: nothing listens, urllib3 retries
    with caplog.at_level(logging.WARNING, logger="urllib3.connectionpool"), pytest.raises(MediaError) as caught:
        http.download(f"{base}/file/bot123:secret-token_x/photos/a.jpg", allowed_hosts=http.TELEGRAM_HOSTS,
                      api_base_url=base)
    assert "Retrying" in caplog.text and "/bot<token>/photos/a.jpg" in caplog.text
    assert "secret-token" not in caplog.text + caught.value.message

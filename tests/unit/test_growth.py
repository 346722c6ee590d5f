"""Growth's pure parts: QR codes that decode to the link, the delivery signature, the backoff, the guarded POST to
an endpoint (refusals before any connection; the connection pinned to the checked address), audit action names."""

from __future__ import annotations

import hashlib
import hmac
import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from switchboard.api import audit
from switchboard.channels import http
from switchboard.services import links, webhooks


@pytest.mark.parametrize("url", ["https://wa.me/15550001111?text=Hi%21%20%28ref%20sb_abcdefgh%29",
                                 "https://t.me/switchboard_bot?start=sb_abcdefgh",
                                 "https://shop.example.com/pricing?sb_ref=sb_abcdefgh"])
def test_the_png_qr_code_decodes_to_the_url(url):
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    data, content_type = links.qr_code(url, "png")
    assert content_type == "image/png"
    assert [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))] == [url]


def test_the_svg_qr_code_is_the_same_symbol_as_the_png():
    import segno

    svg, content_type = links.qr_code("https://m.me/page?ref=sb_abcdefgh", "svg")
    assert content_type == "image/svg+xml" and svg.startswith(b"<svg") and b"<title>QR code</title>" in svg
    expected = io.BytesIO()
    segno.make("https://m.me/page?ref=sb_abcdefgh", error="m", micro=False).save(
        expected, kind="svg", scale=8, border=4, xmldecl=False, title="QR code")
    assert svg == expected.getvalue()


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    body = b'{"id":"ev_1","type":"message.created","created_at":"x","data":{}}'
    expected = hmac.new(b"whsec_abc", b"1760000000." + body, hashlib.sha256).hexdigest()
    assert webhooks.signature("whsec_abc", 1760000000, body) == f"sha256={expected}"


def test_secrets_are_derived_per_endpoint_and_never_stored(settings_env):
    settings_env(WEBHOOK_SIGNING_KEY="k1")
    a, b = webhooks.secret_for({"id": "wh_a"}), webhooks.secret_for({"id": "wh_b"})
    assert a != b and a == webhooks.secret_for({"id": "wh_a", "secret_version": 1}) and a.startswith("whsec_")
    assert webhooks.secret_for({"id": "wh_a", "secret_version": 2}) != a
    settings_env(WEBHOOK_SIGNING_KEY="k2")
    assert webhooks.secret_for({"id": "wh_a"}) != a


def test_backoff_doubles_from_a_minute_up_to_four_hours():
    delays = [webhooks.delay_after(n) for n in range(1, 12)]
    assert 54 <= delays[0] <= 66 and 108 <= delays[1] <= 132
    assert all(d <= 4 * 3600 * 1.1 for d in delays) and delays[-1] >= 4 * 3600 * 0.9


class _Receiver:
    def __init__(self) -> None:
        self.hits: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                owner.hits.append(dict(self.headers.items()))
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(302 if self.path == "/redirect" else 204)
                self.send_header("Location", "http://169.254.169.254/")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()


@pytest.fixture
def receiver():
    r = _Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def test_a_post_to_a_loopback_receiver_only_when_allowed(receiver):
    url = f"http://127.0.0.1:{receiver.port}/hook"
    ok = http.guarded_post(url, b"{}", {"Content-Type": "application/json"}, allow_loopback=True, timeout_seconds=5)
    assert ok.status == 204 and ok.error is None and ok.latency_ms >= 0 and len(receiver.hits) == 1
    refused = http.guarded_post(url, b"{}", {}, allow_loopback=False, timeout_seconds=5)
    assert refused.status is None and refused.error == "unsafe_address" and len(receiver.hits) == 1
    # a redirect is an answer, never followed (it could point inside)
    moved = http.guarded_post(f"http://127.0.0.1:{receiver.port}/redirect", b"{}", {}, allow_loopback=True,
                              timeout_seconds=5)
    assert moved.status == 302 and len(receiver.hits) == 2


def test_nothing_listening_and_names_that_do_not_resolve(monkeypatch):
    closed = http.guarded_post("http://127.0.0.1:9/hook", b"{}", {}, allow_loopback=True, timeout_seconds=2)
    assert closed.status is None and closed.error == "connection_failed"

    def fail(host: str, port: int) -> list[str]:
        raise OSError("no such name")

    monkeypatch.setattr(http, "_resolve", fail)
    assert http.guarded_post("https://nowhere.example/x", b"", {}, allow_loopback=False,
                             timeout_seconds=2).error == "dns_failed"


@pytest.mark.parametrize("addresses", [["10.1.2.3"], ["169.254.169.254"], ["::1"], ["fd00::1"], ["::ffff:127.0.0.1"],
                                       ["93.184.216.34", "192.168.0.1"], ["100.64.0.1"]])
def test_any_private_address_among_the_answers_is_refused(monkeypatch, addresses):
    monkeypatch.setattr(http, "_resolve", lambda host, port: addresses)
    with pytest.raises(http.UnsafeUrl):
        http.endpoint_address("crm.example.com", 443, allow_loopback=False)


def test_the_connection_goes_to_the_checked_address(monkeypatch):
    monkeypatch.setattr(http, "_resolve", lambda host, port: ["93.184.216.34"])
    pools: list[tuple] = []

    class Pool:
        def urlopen(self, *args: Any, **kwargs: Any) -> Any:
            raise OSError("test: not really connecting")

        def close(self) -> None:
            pass

    monkeypatch.setattr(http, "pinned_pool", lambda *a: pools.append(a) or Pool())
    result = http.guarded_post("https://crm.example.com:8443/in?x=1", b"{}", {}, allow_loopback=False,
                               timeout_seconds=1)
    assert result.error == "connection_failed"
    assert pools[0][:4] == ("https", "crm.example.com", 8443, "93.184.216.34")


@pytest.mark.parametrize(("method", "route", "action"), [
    ("POST", "/api/conversations/{conversation_id}/resolve", "conversation.resolve"),
    ("DELETE", "/api/contacts/{contact_id}", "contact.erase"),
    ("GET", "/api/contacts/{contact_id}/export", "contact.export"),
    ("PUT", "/api/teams/{id}", "team.update"),
    ("POST", "/api/something/new", "POST /api/something/new"),
    ("GET", "/api/conversations", None),
    ("POST", "/api/conversations/{conversation_id}/read", None),
    ("GET", "/survey/{token}", None),
])
def test_audit_action_names(method, route, action):
    assert audit.action_for(method, route) == action

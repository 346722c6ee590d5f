"""A local HTTPS server that passes for the providers' media hosts, for tests of the guarded download.

Its certificate, signed by a throwaway CA, names the providers' hosts. Tests point the download's resolver at public
addresses of their choice and its connection seam at this server, so that what is checked (the addresses), what is
connected to (the checked address) and what is spoken (SNI, Host, the certificate's name) can each be asserted."""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import ssl
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from switchboard.channels import http

NAMES = ["api.twilio.com", "mms.twiliocdn.com", "api.telegram.org", "lookaside.fbsbx.com", "scontent.xx.fbcdn.net",
         "mmg.whatsapp.net", "evil.example"]
# Public addresses the fake resolver hands out (the server itself is on loopback, reached through the seam).
PUBLIC = {"api.twilio.com": "54.172.60.1", "mms.twiliocdn.com": "13.224.5.6", "api.telegram.org": "149.154.167.220",
          "lookaside.fbsbx.com": "157.240.1.1", "scontent.xx.fbcdn.net": "157.240.22.19",
          "mmg.whatsapp.net": "157.240.9.53", "evil.example": "93.184.216.34"}


@dataclass
class Seen:
    host: str  # the Host header
    sni: str | None
    path: str
    authorization: str | None


@dataclass
class MediaServer:
    port: int
    ca_file: str
    answers: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)  # every name the download resolved, in order
    connected: list[tuple[str, str]] = field(default_factory=list)  # (name spoken, address connected to)
    dns: dict[str, list[str]] = field(default_factory=lambda: {name: [ip] for name, ip in PUBLIC.items()})

    def answer(self, path: str, status: int = 200, headers: dict[str, str] | None = None, body: bytes = b"") -> None:
        self.answers[path] = (status, headers or {}, body)


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "switchboard test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAMES[0])]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in NAMES]
                                                       + [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_file, cert_file, key_file = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return ca_file, cert_file, key_file


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        media: MediaServer = self.server.media  # type: ignore[attr-defined]
        sni = getattr(self.connection, "sni", None)
        media.seen.append(Seen(self.headers.get("Host", ""), sni, self.path, self.headers.get("Authorization")))
        status, headers, body = media.answers.get(self.path, (404, {}, b"not here"))
        self.send_response(status)
        headers = {"Content-Length": str(len(body)), **headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if headers.get("Transfer-Encoding") == "chunked":
            for start in range(0, len(body), 1000):
                piece = body[start:start + 1000]
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that refused our certificate: what the test expects


@pytest.fixture(name="media_server")
def media_server_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[MediaServer]:
    """The providers' media hosts, all served here over TLS; the download's resolver and connection seams routed."""
    with tempfile.TemporaryDirectory() as tmp:
        ca_file, cert_file, key_file = _certificates(Path(tmp))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_file, key_file)

        def remember_sni(sock: ssl.SSLSocket, name: str | None, _context: ssl.SSLContext) -> None:
            sock.sni = name  # type: ignore[attr-defined]

        context.sni_callback = remember_sni
        server = _Server(("127.0.0.1", 0), _Handler)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        media = MediaServer(port=server.server_address[1], ca_file=str(ca_file))
        server.media = media  # type: ignore[attr-defined]
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()

        def resolve(host: str, port: int) -> list[str]:
            media.resolved.append(host)
            if host not in media.dns:
                raise OSError("no such name")
            return list(media.dns[host])

        real_pool = http._pool

        def pool(hop: Any, address: str) -> Any:
            media.connected.append((hop.host, address))
            if not hop.checked:
                return real_pool(hop, address)
            # The address checked is recorded above; the bytes go to this server, spoken to as hop.host.
            return real_pool(dataclasses.replace(hop, port=media.port), "127.0.0.1")

        monkeypatch.setattr(http, "_resolve", resolve)
        monkeypatch.setattr(http, "_pool", pool)
        monkeypatch.setattr(http, "_ca_bundle", lambda: str(ca_file))
        try:
            yield media
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=2)

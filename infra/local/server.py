"""The local stack's HTTP front: API Gateway's routes, the /_local controls, the sandbox, the frontend."""

from __future__ import annotations

import json
import logging
import mimetypes
import sys
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from infra.local import auth
from infra.local.events import http_event
from infra.local.lambdas import FunctionError, match
from infra.local.sandbox import PREFIX as SANDBOX_PREFIX
from infra.local.sandbox import Fault
from infra.local.websocket import MANAGEMENT_PREFIX as WS_MANAGEMENT_PREFIX
from infra.local.websocket import PATH as WS_PATH

if TYPE_CHECKING:
    from infra.local.stack import LocalStack

log = logging.getLogger("local.http")
MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit
HTTP_API_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
NO_CONTENT_STATUSES = (204, 304)


class Handler(BaseHTTPRequestHandler):
    stack: LocalStack
    protocol_version = "HTTP/1.1"
    # Headers and body are written separately: without this, Nagle's algorithm holds the body back for a
    # keep-alive client's delayed ACK (40 ms a request on Linux).
    disable_nagle_algorithm = True
    timeout = 300  # a client that stops sending mid-request (or an idle keep-alive) does not hold a thread forever

    def log_message(self, fmt: str, *args: Any) -> None:  # access log without query strings
        log.debug("%s %s", self.command, urlsplit(self.path).path)

    def __getattr__(self, name: str) -> Any:
        # http.server answers 501 to a method without a do_<METHOD>; here every method (PROPFIND, TRACE, FOO...)
        # reaches the router, which answers as API Gateway and CloudFront would: 404 or 405, in JSON.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (a malformed request line, headers too long): JSON, not an HTML page."""
        self.close_connection = True
        try:
            self._json(code, {"message": message or HTTPStatus(code).phrase})
        except (OSError, ValueError):
            pass

    def _send(self, status: int, body: bytes | str, headers: dict[str, str] | None = None) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        headers = dict(headers or {})
        # A 204 or 304 has no body (RFC 9110 sections 15.3.5 and 15.4.5), whatever a function returned: bytes after
        # its headers would be read as the start of the next response on a keep-alive connection.
        no_content = status in NO_CONTENT_STATUSES
        if not no_content:
            headers.setdefault("Content-Type", "application/json")
        for name, value in headers.items():
            if name.lower() != "content-length" and not (no_content and name.lower() == "content-type"):
                self.send_header(name, value)
        if not no_content:
            self.send_header("Content-Length", str(len(data)))  # for HEAD: the length a GET would have
        self.end_headers()
        if self.command != "HEAD" and not no_content:
            self.wfile.write(data)

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload))

    def _body(self) -> bytes | None:
        """The request body (Content-Length or chunked), or None when the request was answered (a 400 or 413) and
        the connection is to close: what is left of a body not read would be taken for the next request."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._chunked()
        declared = (self.headers.get("Content-Length") or "0").strip()
        if not declared.isascii() or not declared.isdigit():
            self._refuse(400, "Bad Request")
            return None
        length = int(declared)
        if length > MAX_BODY:
            self._refuse(413, "Request Entity Too Large")
            return None
        return self.rfile.read(length) if length else b""

    def _chunked(self) -> bytes | None:
        data = bytearray()
        while True:
            size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                size = -1
            if size < 0:
                self._refuse(400, "Bad Request")
                return None
            if len(data) + size > MAX_BODY:
                self._refuse(413, "Request Entity Too Large")
                return None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):  # trailers, then the blank line
                    pass
                return bytes(data)
            data += self.rfile.read(size)
            self.rfile.readline(1024)  # the CRLF after the chunk

    def _refuse(self, status: int, message: str) -> None:
        self.close_connection = True
        self._send(status, json.dumps({"message": message}), {"Connection": "close"})

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        if url.path == WS_PATH and self.command == "GET" and "websocket" in self.headers.get("Upgrade", "").lower():
            self.stack.ws.serve(self)  # issue 15: the WebSocket API, until the socket closes
            return
        body = self._body()
        if body is None:
            return
        try:
            if url.path.startswith("/_local/"):
                self._local(url.path, url.query, body)
            elif url.path.startswith(SANDBOX_PREFIX + "/"):
                status, headers, data = self.stack.sandbox.handle(self.command, url.path, url.query,
                                                                  dict(self.headers.items()), body)
                self._send(status, data, headers)
            elif url.path.startswith(("/api/", "/webhooks/", "/webchat/", "/survey/")):
                self._api(url.path, url.query, body)
            elif url.path.startswith("/help/") and match(self.stack.routes, self.command, url.path):
                self._api(url.path, url.query, body)  # help center: feedback, views (API routes)
            elif url.path == "/help" or url.path.startswith("/help/"):
                self._help(url.path)
            elif self.command not in ("GET", "HEAD"):
                self._send(405, json.dumps({"message": "Method Not Allowed"}), {"Allow": "GET, HEAD"})
            else:
                self._static(url.path)
        except (BrokenPipeError, ConnectionResetError):  # the client went away (it timed out): nobody to answer
            self.close_connection = True
        except FunctionError as exc:  # the function's own log has its error; API Gateway answers a bare 500
            log.warning("%s %s: %s", self.command, url.path, exc)
            self._json(500, {"message": "Internal Server Error"})
        except (BotoCoreError, ClientError) as exc:  # a local control's call to the AWS stand-in failed
            log.warning("%s %s: %s", self.command, url.path, exc)
            self._json(500, {"message": "Internal Server Error"})
        except Exception:  # as API Gateway: any integration failure is a 500, never a dropped connection
            log.exception("request failed: %s %s", self.command, url.path)
            self._json(500, {"message": "Internal Server Error"})

    # -- API Gateway ---------------------------------------------------------------------------
    def _api(self, path: str, query: str, body: bytes) -> None:
        # An HTTP API knows these methods only; with any other, no route matches (ANY included).
        found = match(self.stack.routes, self.command, path) if self.command in HTTP_API_METHODS else None
        if not found:
            self._json(404, {"message": "Not Found"})
            return
        route, params = found
        claims = None
        if route.auth:
            claims = auth.verify(self.headers.get("Authorization"))
            if claims is None:
                self._json(401, {"message": "Unauthorized"})
                return
        event = http_event(self.command, path, query, dict(self.headers.items()), body,
                           f"{route.method} {route.path}", params, claims, self.client_address[0])
        result = self.stack.functions[route.function].invoke(event)
        self._lambda_response(result)

    def _lambda_response(self, result: Any) -> None:
        import base64

        if not isinstance(result, dict) or "statusCode" not in result:
            self._json(200, result)
            return
        body = result.get("body") or ""
        data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        headers = {k: str(v) for k, v in (result.get("headers") or {}).items()}
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers[name] = ",".join(str(v) for v in values)
        self._send(int(result["statusCode"]), data, headers)

    # -- local controls ------------------------------------------------------------------------
    def _local(self, path: str, query: str, body: bytes) -> None:
        stack = self.stack
        payload: Any = {}
        if body and self.headers.get("Content-Type", "").startswith("application/json"):
            try:
                payload = json.loads(body)
            except ValueError:
                self._json(400, {"error": {"code": "bad_json", "message": "body is not JSON"}})
                return
        if path == "/_local/token" and self.command == "POST":
            email, role = (payload or {}).get("email"), (payload or {}).get("role", "agent")
            if not isinstance(email, str) or "@" not in email or role not in auth.ROLES:
                self._json(400, {"error": {"code": "bad_request", "message": "email and role (agent|admin) required"}})
                return
            self._json(200, {"token": auth.issue(email, role)})
        elif path == "/_local/outbox" and self.command == "GET":
            self._json(200, {"items": list(stack.sandbox.outbox)})
        elif path == "/_local/emails" and self.command == "GET":
            self._json(200, {"items": stack.sent_emails()})
        elif path == "/_local/clock" and self.command in ("GET", "POST"):
            if self.command == "POST":
                seconds = (payload or {}).get("advance_seconds")
                if not isinstance(seconds, int | float) or seconds < 0:
                    self._json(400, {"error": {"code": "bad_request", "message": "advance_seconds >= 0 required"}})
                    return
                stack.advance_clock(seconds)
            now = stack.clock.now()
            self._json(200, {"now": stack.clock.iso(now), "epoch": int(now.timestamp())})
        elif path.startswith("/_local/run/") and self.command == "POST":
            name = path.rsplit("/", 1)[-1]
            if name not in stack.functions:
                self._json(404, {"error": {"code": "not_found", "message": f"no function {name}"}})
                return
            started = time.monotonic()
            result = stack.run_now(name)
            self._json(200, {"function": name, "result": result, "seconds": round(time.monotonic() - started, 3)})
        elif path == "/_local/sandbox/faults" and self.command == "POST":
            try:
                fault = Fault(status=int(payload["status"]), count=int(payload.get("count", 1)),
                              retry_after=payload.get("retry_after"), body=payload.get("body"))
                channel = str(payload["channel"])
            except (KeyError, TypeError, ValueError):
                self._json(400, {"error": {"code": "bad_request", "message": "channel and status (an HTTP code) required"}})
                return
            stack.sandbox.add_fault(channel, fault)
            self._json(200, {"ok": True})
        elif path == "/_local/email" and self.command == "POST":
            status, answer = stack.deliver_email(body, wait="wait=0" not in query.split("&"))
            self._json(status, answer)
        elif path == "/_local/queues" and self.command == "GET":
            self._json(200, stack.queue_depths())
        elif path == "/_local/iam" and self.command == "GET":
            self._json(200, stack.iam_status())
        elif path.startswith(WS_MANAGEMENT_PREFIX):  # issue 15: the WebSocket API's @connections API
            status, headers, data = stack.ws.manage(self.command, path, body, self.headers, self.path)
            self._send(status, data, headers)
        else:
            self._json(404, {"error": {"code": "not_found", "message": "no such local control"}})

    # -- the help center: the frontend bucket's help/, as CloudFront serves it -------------------
    HELP_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
                "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")

    def _help(self, path: str) -> None:
        """GET /help/... from the local S3 stand-in's frontend bucket (the publisher's output): a path ending in /
        is its index.html, as the distribution's viewer-request function does."""
        from urllib.parse import unquote

        import boto3
        from botocore.exceptions import ClientError

        from infra.local.resources import STACK

        if self.command not in ("GET", "HEAD"):
            self._json(405, {"message": "Method Not Allowed"})
            return
        if path == "/help":
            self._send(301, b"", {"Location": "/help/"})
            return
        key = unquote(path.lstrip("/")) + ("index.html" if path.endswith("/") else "")
        try:
            obj = boto3.client("s3").get_object(Bucket=f"{STACK}-FrontendBucket".lower(), Key=key)
        except ClientError:
            self._send(404, b"<!doctype html><title>Not found</title><p>No such page.</p>",
                       {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache"})
            return
        self._send(200, obj["Body"].read(), {"Content-Type": obj.get("ContentType") or "application/octet-stream",
                                              "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
                                              "X-Frame-Options": "DENY", "Content-Security-Policy": self.HELP_CSP})

    # -- the frontend --------------------------------------------------------------------------
    def _static(self, path: str) -> None:
        root = self.stack.root / "frontend"
        if path == "/config.json":
            from switchboard.channel_names import CHANNELS

            # issue 15: the WebSocket at /ws of this very origin (the app makes the ws:// URL from its location)
            self._json(200, {"apiUrl": "", "local": True, "channels": list(CHANNELS), "ws_url": ""})
            return
        target = (root / path.lstrip("/")).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not str(target).startswith(str(root.resolve())) or not target.is_file():
            self._json(404, {"message": "Not Found"})
            return
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if target.suffix == ".js":
            content_type = "text/javascript"
        body = target.read_bytes()
        if target.name == "index.html":  # media links point at the local AWS stand-in, over plain HTTP
            origin = "/".join((self.stack.endpoint or "").split("/")[:3])
            # (and, for rich replies, the browser POSTs uploads to it and plays audio and video from it)
            for directive in (b"img-src", b"connect-src", b"media-src"):
                body = body.replace(directive + b" 'self'", directive + f" 'self' {origin}".encode(), 1)
        self._send(200, body, {"Content-Type": content_type, "Cache-Control": "no-cache",
                               "X-Content-Type-Options": "nosniff"})


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return  # a client that went away mid-request: nobody to answer, nothing to report
        log.exception("request from %s failed", client_address[0])


def serve(stack: LocalStack, port: int) -> ThreadingHTTPServer:
    handler = type("BoundHandler", (Handler,), {"stack": stack})
    return Server(("127.0.0.1", port), handler)

"""The local stack's WebSocket API (issue 15, the live workspace): what API Gateway's WebSocket API does, at /ws.

- `GET /ws?token=<agent JWT>` or `?visitor_token=<web chat token>` upgrades to a WebSocket (the `websockets`
  package's sans-I/O protocol does the handshake and the framing, on the HTTP front's own socket). An agent's token
  is checked by the stack's authorizer emulation (as the HTTP API's JWT authorizer is, infra/local/auth.py) and its
  claims handed to the function as `requestContext.authorizer.jwt.claims`; the template's WebSocketFunction runs
  `$connect` with the event API Gateway sends, and anything but a 200 refuses the upgrade with that status.
- Each text frame is the `$default` route's event; a close (or a dropped socket) is `$disconnect`.
- The @connections management API the functions push through is served at `/_local/ws/@connections/{id}`
  (`WEBSOCKET_MANAGEMENT_URL`): POST sends a text frame, GET describes, DELETE closes; an unknown connection is a
  410 GoneException, as API Gateway answers. With the roles enforced (infra/local/iam.py), each call is authorized as
  API Gateway authorizes it: the caller's SigV4 signature, then `execute-api:ManageConnections` on
  `arn:aws:execute-api:<region>:<account>:<WebSocketApi>/<stage>/<METHOD>/@connections/<id>` (the API and stage the
  template's roles name); a function whose role lacks it gets 403 AccessDeniedException, and the denial is logged.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from infra.local import auth, iam

if TYPE_CHECKING:
    from http.server import BaseHTTPRequestHandler

    from infra.local.stack import LocalStack

log = logging.getLogger("local.ws")
FUNCTION = "WebSocketFunction"
PATH = "/ws"
MANAGEMENT_PREFIX = "/_local/ws/"
MAX_FRAME = 128 * 1024  # API Gateway's WebSocket message limit


@dataclass
class Connection:
    id: str
    handler: BaseHTTPRequestHandler
    protocol: Any
    connected_at: float = field(default_factory=time.time)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                self.handler.connection.sendall(data)

    def send_text(self, data: bytes) -> None:
        with self.lock:
            self.protocol.send_text(data)
            self.flush()

    def close(self) -> None:
        with self.lock:
            try:
                self.protocol.send_close(1000, "closed by the server")
                self.flush()
            except (OSError, RuntimeError, ValueError):  # already closing, or gone
                log.debug("connection %s: already closed", self.id)


class Hub:
    """The open connections of one local stack."""

    def __init__(self, stack: LocalStack):
        self.stack = stack
        self.api_id, self.stage = "local", "local"  # the template's, once the stack has resolved it (`bind`)
        self.region, self.account = "us-east-1", "123456789012"
        self.connections: dict[str, Connection] = {}
        # Connections whose $connect is running: the function has listed them already, so a push may come before
        # the handshake is answered. API Gateway delivers it once the connection is up; so does this: kept, then sent.
        self.pending: dict[str, list[bytes]] = {}
        self.lock = threading.Lock()

    def bind(self, template: dict[str, Any], resolver: Any) -> None:
        """The template's WebSocket API and its stage, as the roles' statements name them (`${WebSocketApi}/${Stage}`)."""
        self.region, self.account = resolver.region, resolver.account
        for name, resource in (template.get("Resources") or {}).items():
            props = resource.get("Properties") or {}
            if resource.get("Type") == "AWS::ApiGatewayV2::Api" and props.get("ProtocolType") == "WEBSOCKET":
                self.api_id = str(resolver.ref(name))
                stages = [r.get("Properties") or {} for r in template["Resources"].values()
                          if r.get("Type") == "AWS::ApiGatewayV2::Stage"
                          and (r.get("Properties") or {}).get("ApiId") == {"Ref": name}]
                if stages:
                    self.stage = str(resolver.resolve(stages[0].get("StageName")))
                return

    def _arn(self, method: str, connection_id: str) -> str:
        return (f"arn:aws:execute-api:{self.region}:{self.account}:{self.api_id}/{self.stage}/{method}/@connections/"
                f"{connection_id}")

    # -- the client's side ----------------------------------------------------------------------------------------
    def _event(self, route: str, connection_id: str, **extra: Any) -> dict[str, Any]:
        context = {"routeKey": route, "eventType": {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(
            route, "MESSAGE"), "connectionId": connection_id, "stage": self.stage, "apiId": self.api_id,
            "domainName": "127.0.0.1", "requestId": str(uuid.uuid4()), "requestTimeEpoch": int(time.time() * 1000),
            **extra.pop("context", {})}
        return {"requestContext": context, "isBase64Encoded": False, **extra}

    def _invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        result = self.stack.functions[FUNCTION].invoke(event)
        return result if isinstance(result, dict) else {"statusCode": 200}

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        """Upgrade the handler's request, then run the connection until it closes (on the handler's thread)."""
        from websockets.frames import Frame, Opcode
        from websockets.http11 import Request
        from websockets.server import ServerProtocol

        handler.close_connection = True  # whatever happens, this HTTP connection is not reused for requests
        url = urlsplit(handler.path)
        query = dict(parse_qsl(url.query))
        protocol = ServerProtocol(max_size=MAX_FRAME)
        # The HTTP front has read the request already: the protocol parses it again (its parser then moves on to
        # frames), from the same request line and headers.
        head = [handler.requestline, *(f"{name}: {value}" for name, value in handler.headers.items())]
        protocol.receive_data(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        requests = [e for e in protocol.events_received() if isinstance(e, Request)]
        request = requests[0] if requests else None
        if request is None:
            handler.connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            return
        response = protocol.accept(request)
        if response.status_code != 101:  # not a valid WebSocket handshake
            self._answer(handler, protocol, response)
            return
        connection_id = uuid.uuid4().hex[:16]
        context: dict[str, Any] = {"identity": {"sourceIp": handler.client_address[0]}}
        if query.get("token"):
            claims = auth.verify(f"Bearer {query['token']}")
            if claims is None:  # the authorizer emulation refuses, as API Gateway would
                self._answer(handler, protocol, protocol.reject(401, "Unauthorized\n"))
                return
            context["authorizer"] = {"jwt": {"claims": claims}}
        with self.lock:
            self.pending[connection_id] = []
        try:
            result = self._invoke(self._event("$connect", connection_id, context=context,
                                              queryStringParameters=query, headers=dict(handler.headers.items())))
        except Exception:
            with self.lock:
                self.pending.pop(connection_id, None)
            raise
        status = int(result.get("statusCode", 500))
        if status != 200:
            with self.lock:
                self.pending.pop(connection_id, None)
            self._answer(handler, protocol, protocol.reject(status, str(result.get("body") or "Refused") + "\n"))
            return
        conn = Connection(connection_id, handler, protocol)
        with conn.lock:
            protocol.send_response(response)
            conn.flush()
        with self.lock:
            early = self.pending.pop(connection_id, [])
            self.connections[connection_id] = conn
        for data in early:  # what was pushed while $connect ran, in order
            conn.send_text(data)
        handler.connection.settimeout(None)  # an idle socket stays open (API Gateway: 10 minutes idle, 2 hours)
        try:
            while True:
                data = handler.rfile.read1(65536)
                with conn.lock:
                    if data:
                        protocol.receive_data(data)
                    else:
                        protocol.receive_eof()
                    frames = protocol.events_received()
                    conn.flush()  # pongs, and the answer to a close
                log.debug("connection %s: %d bytes, %d frames", connection_id, len(data), len(frames))
                for frame in frames:
                    if isinstance(frame, Frame) and frame.opcode == Opcode.TEXT:
                        self._invoke(self._event("$default", connection_id,
                                                 body=bytes(frame.data).decode("utf-8", "replace")))
                if not data or protocol.close_expected() or protocol.state.name == "CLOSED":
                    break
        except (OSError, ValueError):
            pass
        finally:
            with self.lock:
                self.connections.pop(connection_id, None)
            try:
                self._invoke(self._event("$disconnect", connection_id))
            except Exception:  # the function's own log has it
                log.warning("$disconnect of %s failed", connection_id, exc_info=True)

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, protocol: Any, response: Any) -> None:
        protocol.send_response(response)
        for data in protocol.data_to_send():
            if data:
                handler.connection.sendall(data)

    # -- the @connections management API ---------------------------------------------------------------------------
    def manage(self, method: str, path: str, body: bytes, headers: Any = None,
               target: str | None = None) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) for `{method} /_local/ws/@connections/{id}` (`headers` and `target`, the path and
        query as sent: what the caller signed)."""
        rest = unquote(path[len(MANAGEMENT_PREFIX):])
        if not rest.startswith("@connections/"):
            return 404, {}, b'{"message": "Not Found"}'
        connection_id = rest[len("@connections/"):]
        if self.stack.enforcing:  # API Gateway authorizes before it looks the connection up
            refused = iam.authorize_execute_api(method, target or path, headers or {}, body,
                                                self._arn(method, connection_id))
            if refused is not None:
                return refused.status, {"x-amzn-ErrorType": refused.error}, json.dumps(
                    {"message": refused.message}).encode()
        with self.lock:
            conn = self.connections.get(connection_id)
            if conn is None and connection_id in self.pending and method == "POST" and len(body) <= MAX_FRAME:
                self.pending[connection_id].append(body)  # sent once the handshake is answered
                return 200, {}, b""
        if conn is None:
            return 410, {"x-amzn-ErrorType": "GoneException"}, json.dumps({"message": "gone"}).encode()
        if method == "POST":
            if len(body) > MAX_FRAME:
                return 413, {"x-amzn-ErrorType": "PayloadTooLargeException"}, b'{"message": "too large"}'
            try:
                conn.send_text(body)
            except OSError:
                return 410, {"x-amzn-ErrorType": "GoneException"}, json.dumps({"message": "gone"}).encode()
            return 200, {}, b""
        if method == "DELETE":
            conn.close()
            return 204, {}, b""
        if method == "GET":
            at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(conn.connected_at))
            return 200, {}, json.dumps({"connectedAt": at, "identity": {"sourceIp": conn.handler.client_address[0]},
                                        "lastActiveAt": at}).encode()
        return 405, {}, b'{"message": "Method Not Allowed"}'

    def close_all(self) -> None:
        with self.lock:
            conns = list(self.connections.values())
        for conn in conns:
            conn.close()

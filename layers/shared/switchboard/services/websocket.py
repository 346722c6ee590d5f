"""The WebSocket API's routes (issue 15, the live workspace): $connect authenticates, $disconnect forgets, $default
takes an agent's presence and typing.

$connect takes `?token=<agent's Cognito ID token>` or `?visitor_token=<web chat visitor token>` (a browser cannot
set headers on a WebSocket). An agent's token is verified as the HTTP API's JWT authorizer verifies it: RS256 with
the user pool's published keys (JWKS), issuer, audience (the app client), expiry, token use. In the local stack,
whose tokens come from its authorizer emulation (POST /_local/token), the stack verifies them at /ws and hands the
claims over as an authorizer would (`requestContext.authorizer`): only when no user pool is configured, so a deployed
function never trusts anything but the signature. A visitor's token is the widget's own, read as the web chat API
reads it. Anything else is refused (401) and nothing is stored."""

from __future__ import annotations

import json
import logging
from functools import cache
from typing import Any

from switchboard import clock, observability
from switchboard.errors import SwitchboardError, Unauthorized
from switchboard.settings import get_settings
from switchboard.store import connections, conversations
from switchboard.store.table import Table

logger = logging.getLogger(__name__)


@cache
def client_action() -> Any:
    """What an agent's app sends: it is viewing, or typing in, a conversation (pydantic, loaded on first use: the
    function's init stays light)."""
    from typing import Literal

    from pydantic import BaseModel, ConfigDict, Field

    class ClientAction(BaseModel):
        model_config = ConfigDict(extra="ignore")
        action: Literal["viewing", "typing"]
        conversation_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")

    return ClientAction


@cache
def _jwks(url: str) -> Any:
    import jwt

    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600, timeout=3)


def verify_agent(token: str) -> dict[str, Any]:
    """A Cognito ID token's claims, verified; Unauthorized otherwise."""
    import jwt

    settings = get_settings()
    issuer = f"https://cognito-idp.{settings.aws_region}.amazonaws.com/{settings.cognito_user_pool_id}"
    try:
        key = _jwks(f"{issuer}/.well-known/jwks.json").get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=settings.cognito_client_id, issuer=issuer,
                            options={"require": ["exp", "iss", "aud", "email"]})
    except jwt.PyJWTError:
        raise Unauthorized("invalid token", code="invalid_token") from None
    if claims.get("token_use") != "id":
        raise Unauthorized("an ID token is required", code="invalid_token")
    return claims


def _agent_claims(token: str, authorizer: dict[str, Any] | None) -> dict[str, Any]:
    if get_settings().cognito_user_pool_id:
        return verify_agent(token)
    claims = ((authorizer or {}).get("jwt") or {}).get("claims")  # the local stack's authorizer emulation
    if not isinstance(claims, dict) or not isinstance(claims.get("email"), str):
        raise Unauthorized("invalid token", code="invalid_token")
    return claims


def connect(table: Table, connection_id: str, query: dict[str, str], authorizer: dict[str, Any] | None) -> dict:
    """Store the connection of an agent or a visitor, or raise Unauthorized."""
    now = clock.now()
    expires_at = int(now.timestamp()) + get_settings().ws_connection_seconds
    if query.get("token"):
        claims = _agent_claims(query["token"], authorizer)
        connections.add_agent(table, connection_id, claims["email"], clock.iso(now), expires_at)
        observability.count("WebSocketAgentsConnected")
        return {"kind": "agent"}
    if query.get("visitor_token"):
        from switchboard.channels.webchat import read_token

        visitor = read_token(f"Bearer {query['visitor_token']}")
        connections.add_visitor(table, connection_id, visitor.visitor_id, clock.iso(now), expires_at)
        observability.count("WebSocketVisitorsConnected")
        return {"kind": "visitor"}
    raise Unauthorized("a token or visitor_token is required", code="missing_token")


def disconnect(table: Table, connection_id: str) -> None:
    connections.remove(table, connection_id)


def action(table: Table, connection_id: str, body: str | None) -> None:
    """An agent's `{"action": "viewing" | "typing", "conversation_id"}`, fanned out to the others and shown to the
    customer where their channel can (services/indicators.py). Bad input and visitors' messages are ignored (a socket
    has no error response to give)."""
    try:
        parsed = client_action().model_validate(json.loads(body or "{}"))
    except ValueError:  # bad JSON, or pydantic's ValidationError (a ValueError)
        observability.count("WebSocketBadActions")
        return
    connection = connections.get(table, connection_id)
    if not connection or not connection.get("agent"):
        return
    conv = conversations.get(table, parsed.conversation_id)
    if conv is None:
        return
    from switchboard.services import indicators, push

    push.activity(table, parsed.action, conv, connection["agent"], skip=connection_id)
    indicators.on_action(table, parsed.action, conv)  # the customer sees support is on it (best effort)


def handle(event: dict[str, Any]) -> dict[str, Any]:
    """API Gateway's WebSocket event, by route: a statusCode for API Gateway (a $connect refused with 401)."""
    context = event.get("requestContext") or {}
    route, connection_id = context.get("routeKey"), context.get("connectionId") or ""
    table = Table()
    try:
        if route == "$connect":
            connect(table, connection_id, event.get("queryStringParameters") or {}, context.get("authorizer"))
        elif route == "$disconnect":
            disconnect(table, connection_id)
        else:
            action(table, connection_id, event.get("body"))
    except Unauthorized as exc:
        observability.count("WebSocketRefused")
        logger.info("connection refused", extra={"connection_id": connection_id, "code": exc.code})
        return {"statusCode": 401, "body": json.dumps({"error": {"code": exc.code, "message": exc.message}})}
    except SwitchboardError as exc:  # DynamoDB failed: the client reconnects (or the next action comes)
        logger.warning("websocket route failed", extra={"route": route, "connection_id": connection_id})
        return {"statusCode": exc.status, "body": json.dumps({"error": {"code": exc.code, "message": exc.message}})}
    return {"statusCode": 200}

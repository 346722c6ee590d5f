"""The agent API resolver: validation and OpenAPI on, domain errors mapped to HTTP in one place."""

from __future__ import annotations

import math
import re
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from switchboard.api import (
    admin,
    audit,
    auth,
    canned,
    contacts,
    conversations,
    gate,
    help_public,  # help center: its public routes
    inboxes,
    links,
    organize,
    survey_pages,
    team,
    webhooks,
)
from switchboard.api import articles as article_routes  # help center
from switchboard.api import live as live_routes  # issue 15: notifications
from switchboard.api import outreach as outreach_routes  # templates capability
from switchboard.api import reports as report_routes  # reports and the conversation export (issue 16)
from switchboard.api import rich_replies as rich_reply_routes  # rich replies: retry a failed reply
from switchboard.api import rules as rule_routes  # issue 19: automation rules and macros
from switchboard.api import search as search_routes  # contacts and search (issue 14)
from switchboard.api import templates as template_routes  # templates capability
from switchboard.api import uploads as upload_routes  # rich replies: POST /api/uploads
from switchboard.api.schemas import ErrorResponse, Health
from switchboard.errors import Forbidden, ProviderUnavailable, SwitchboardError, TooManyRequests, Unauthorized

logger = Logger(child=True)
app = APIGatewayHttpResolver(enable_validation=True)


def authenticate(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
    """The caller of every request, checked once against what its route needs (auth.py), before the route runs
    (and after the request's validation, as ever). Routes read it with `auth.current(router)`."""
    request = app.request
    try:
        who = auth.authorize(app.current_event.raw_event, request.method, request.route)
    except (Unauthorized, Forbidden):
        if not _declared(request.method, app.current_event.path):
            return next_middleware(app)  # no such route: the not-found handler answers 404 or 405, to anyone
        raise
    if who is not None:
        app.append_context(**{auth.CONTEXT_KEY: who})
    return next_middleware(app)


app.use(middlewares=[authenticate])
# growth: the audit log records every action that changes or reveals data, once per request (api/audit.py)
app.use(middlewares=[audit.record_action])
app.include_router(conversations.router)
app.include_router(canned.router)
app.include_router(contacts.router)
app.include_router(admin.router)
app.include_router(survey_pages.router)
app.include_router(team.router)
app.include_router(inboxes.router)  # issue 14
app.include_router(template_routes.router)  # templates capability
app.include_router(outreach_routes.router)  # templates capability
app.include_router(organize.router)  # issue 14: snooze, priority, bulk, attributes
app.include_router(search_routes.router)
app.include_router(upload_routes.router)  # rich replies: POST /api/uploads
app.include_router(rich_reply_routes.router)  # rich replies: retry a failed reply
# growth: entry links, endpoints for events, the audit log
app.include_router(links.router)
app.include_router(webhooks.router)
app.include_router(audit.router)
app.include_router(rule_routes.router)  # issue 19: automation rules and macros
app.include_router(live_routes.router)  # issue 15: notifications
app.include_router(article_routes.router)  # help center
app.include_router(help_public.router)  # help center
app.include_router(report_routes.router)  # reports and the conversation export (issue 16)


def error(status: int, code: str, message: str) -> Response:
    return Response(status_code=status, content_type="application/json",
                    body={"error": {"code": code, "message": message}})


@app.exception_handler(SwitchboardError)
def domain_error(exc: SwitchboardError) -> Response:
    if exc.status >= 500:
        logger.warning("dependency failure", extra={"code": exc.code})
    response = error(exc.status, exc.code, exc.message)
    if isinstance(exc, TooManyRequests):
        response.headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, ProviderUnavailable) and exc.retry_after:  # the provider's own Retry-After, passed on
        response.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    return response


@app.exception_handler(RequestValidationError)
def validation_error(exc: RequestValidationError) -> Response:
    problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()[:5])
    return error(422, "validation_error", problems or "invalid request")


@app.exception_handler(RequestUnsupportedContentType)
def unsupported_content_type(_exc: RequestUnsupportedContentType) -> Response:
    return error(415, "unsupported_media_type", "this route takes application/json")


@app.not_found
def not_found(_exc: Exception) -> Response:
    path = app.current_event.path
    allowed = sorted({method.upper() for pattern, methods in _route_patterns() if pattern.fullmatch(path)
                      for method in methods})
    if allowed:
        response = error(405, "method_not_allowed", f"{app.current_event.http_method} is not allowed here; "
                                                    f"allowed: {', '.join(allowed)}")
        response.headers["Allow"] = ", ".join(allowed)
        return response
    return error(404, "not_found", "no such route")


def _declared(method: str, path: str) -> bool:
    return any(pattern.fullmatch(path) and method.lower() in methods for pattern, methods in _route_patterns())


@cache
def _route_patterns() -> list[tuple[re.Pattern[str], tuple[str, ...]]]:
    """Every documented path as a pattern ({param} is one path segment), with its methods."""
    patterns = []
    for path, item in document().get("paths", {}).items():
        regex = re.sub(r"\\\{[^/]*?\\\}", "[^/]+", re.escape(path))  # re.escape turns {id} into \{id\}
        patterns.append((re.compile(regex), tuple(item)))
    return patterns


@app.get("/api/health", summary="Liveness (no auth)")
def health() -> Health:
    return Health()


ERROR_STATUSES = {"400": "Bad request", "401": "Missing or invalid token", "403": "Not allowed for this role",
                  "404": "No such resource", "409": "Conflict with the current state",
                  "415": "A body this route cannot read (media type, charset or Content-Encoding)",
                  "422": "Invalid input (parameters or body)", "503": "A dependency is unavailable; retry"}


def document() -> dict[str, Any]:
    """The generated document, completed: errors are {"error": {code, message}} (not FastAPI's
    HTTPValidationError), every route but health needs a bearer token, and PUT /api/settings takes a JSON object."""
    doc = app.get_openapi_schema(title="Switchboard agent API", version="1.0.0").model_dump(
        mode="json", by_alias=True, exclude_none=True)
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas["ErrorResponse"] = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(schemas["ErrorResponse"].pop("$defs", {}))
    schemas["GatewayError"] = {"type": "object", "required": ["message"], "title": "GatewayError",
                               "properties": {"message": {"type": "string"}},
                               "description": "API Gateway's own answer when its JWT authorizer rejects the token"}
    components["securitySchemes"] = {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
    doc["security"] = [{"bearerAuth": []}]
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
    unauthorized = {"application/json": {"schema": {"anyOf": [{"$ref": "#/components/schemas/ErrorResponse"},
                                                              {"$ref": "#/components/schemas/GatewayError"}]}}}
    for path, item in doc.get("paths", {}).items():
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            if auth.is_public(method, path):
                operation["security"] = []
                responses.pop("422", None)
                continue
            for status, description in ERROR_STATUSES.items():
                responses[status] = {"description": description,
                                     "content": unauthorized if status == "401" else error}
            if path == "/api/settings" and method == "put":
                operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "description": "a partial automation settings document, merged"}}}}
    help_public.document(doc)  # help center: the public routes' bodies
    return doc


@app.get("/api/openapi.json", summary="This document (no auth)", include_in_schema=False)
def openapi() -> dict[str, Any]:
    return document()


# -- hardening (issue 11): a body the resolver's parsers could not read is refused before them (api/gate.py), and
# a response that has no content carries none (a stray body breaks a keep-alive client's next response).
NO_CONTENT = (204, 304)


def resolve(event: dict[str, Any], context: Any) -> dict[str, Any]:
    refused = gate.refusal(event)
    if refused is not None:
        return refused
    return without_content(app.resolve(event, context))


def without_content(response: dict[str, Any]) -> dict[str, Any]:
    """A 204 or 304 with no body and no body headers, whatever the route returned."""
    if response.get("statusCode") not in NO_CONTENT:
        return response
    headers = {k: v for k, v in (response.get("headers") or {}).items()
               if k.lower() not in ("content-type", "content-length")}
    multi = {k: v for k, v in (response.get("multiValueHeaders") or {}).items()
             if k.lower() not in ("content-type", "content-length")}
    cleaned = {**response, "body": "", "isBase64Encoded": False, "headers": headers}
    if "multiValueHeaders" in response:
        cleaned["multiValueHeaders"] = multi
    return cleaned

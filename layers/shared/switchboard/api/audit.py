"""The audit log: every agent's and admin's action that changes or reveals data, recorded once, centrally, by a
middleware of the resolver (api/app.py); and the admins' read of it.

How a route is audited: every POST, PUT, PATCH and DELETE under /api/ is, with no code in the route. Its action name
is declared in ACTIONS below by (method, path as declared; a path parameter is written {}), else it is recorded as
"<METHOD> <path>" until someone names it. A GET that reveals data (an export) is audited only when declared here.
EXEMPT lists the few mutating routes that change nothing anyone needs to account for.

The record (store/audit.py) is written before the route runs, keyed by the request's id (one record per request,
and nothing done without one: if it cannot be written the request fails with 503 before anything changed), and
completed after with the outcome (the HTTP status) and the id of what a creation made. A request refused with a 4xx
changed nothing: its record is removed. It holds who (the caller's email), what (the action), when and the target's
id (the last path parameter, or the created thing's id), never message text or other personal data."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from switchboard import clock
from switchboard.api import auth
from switchboard.api.schemas import ApiModel
from switchboard.errors import BadRequest, SwitchboardError
from switchboard.store import audit as store_audit
from switchboard.store.table import Table

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

router = APIGatewayHttpRouter()

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# (method, path with {} for each parameter) -> action. Other engineers' contract routes are named ahead of time.
ACTIONS: dict[tuple[str, str], str] = {
    ("POST", "/api/conversations/{}/messages"): "message.send",
    ("POST", "/api/conversations/{}/notes"): "note.create",
    ("POST", "/api/conversations/{}/resolve"): "conversation.resolve",
    ("POST", "/api/conversations/{}/reopen"): "conversation.reopen",
    ("POST", "/api/conversations/{}/pending"): "conversation.pending",
    ("POST", "/api/conversations/{}/assign"): "conversation.assign",
    ("POST", "/api/conversations/{}/labels"): "conversation.labels",
    ("POST", "/api/canned-responses"): "canned.create",
    ("PATCH", "/api/canned-responses/{}"): "canned.update",
    ("DELETE", "/api/canned-responses/{}"): "canned.delete",
    ("POST", "/api/contacts"): "contact.create",
    ("PATCH", "/api/contacts/{}"): "contact.update",
    ("POST", "/api/contacts/{}/merge"): "contact.merge",
    ("GET", "/api/contacts/{}/export"): "contact.export",
    ("DELETE", "/api/contacts/{}"): "contact.erase",
    ("PUT", "/api/settings"): "settings.update",
    ("PUT", "/api/me/availability"): "agent.availability",
    ("POST", "/api/links"): "link.create",
    ("DELETE", "/api/links/{}"): "link.delete",
    ("POST", "/api/webhooks"): "webhook.create",
    ("DELETE", "/api/webhooks/{}"): "webhook.delete",
    ("POST", "/api/webhooks/{}/test"): "webhook.test",
    ("POST", "/api/webhooks/{}/replay"): "webhook.replay",
    # the next capabilities' routes (ARCHITECTURE.md), named before they exist
    ("POST", "/api/conversations"): "conversation.create",
    ("PATCH", "/api/conversations/{}"): "conversation.update",
    ("POST", "/api/conversations/{}/snooze"): "conversation.snooze",
    ("POST", "/api/conversations/{}/priority"): "conversation.priority",
    ("POST", "/api/conversations/bulk"): "conversation.bulk",
    ("POST", "/api/conversations/{}/messages/{}/retry"): "message.retry",
    ("POST", "/api/conversations/{}/messages/{}/moderate"): "message.moderate",
    ("POST", "/api/conversations/{}/macros/{}"): "macro.apply",
    ("POST", "/api/uploads"): "upload.create",
    ("POST", "/api/templates/sync"): "template.sync",
    ("PATCH", "/api/inboxes/{}"): "inbox.update",
    ("POST", "/api/teams"): "team.create",
    ("PUT", "/api/teams/{}"): "team.update",
    ("DELETE", "/api/teams/{}"): "team.delete",
    ("POST", "/api/attributes"): "attribute.create",
    ("DELETE", "/api/attributes/{}"): "attribute.delete",
    ("POST", "/api/rules"): "rule.create",
    ("PUT", "/api/rules/{}"): "rule.update",
    ("DELETE", "/api/rules/{}"): "rule.delete",
    ("POST", "/api/macros"): "macro.create",
    ("PUT", "/api/macros/{}"): "macro.update",
    ("DELETE", "/api/macros/{}"): "macro.delete",
    ("POST", "/api/articles"): "article.create",
    ("PATCH", "/api/articles/{}"): "article.update",
    ("DELETE", "/api/articles/{}"): "article.delete",
    ("GET", "/api/exports/conversations"): "conversations.export",
    ("POST", "/api/inboxes"): "inbox.create",
    ("DELETE", "/api/inboxes/{}"): "inbox.block",
    ("POST", "/api/articles/{}/images"): "article.image_upload",
    ("POST", "/api/articles/republish"): "help.republish",
}
# Mutating routes left out: marking a conversation or a notification read changes only a counter of one's own;
# an article's preview changes nothing.
EXEMPT = frozenset({("POST", "/api/conversations/{}/read"), ("POST", "/api/notifications/read"),
                    ("POST", "/api/articles/preview")})  # a preview renders Markdown and stores nothing

_PARAM = re.compile(r"\{[^/}]*\}")


def _shape(route: str) -> str:
    return _PARAM.sub("{}", route)


def action_for(method: str, route: str) -> str | None:
    """The action a request to `route` (as declared) records, or None when it is not audited."""
    method, shape = method.upper(), _shape(route)
    if (method, shape) in EXEMPT or not route.startswith("/api/"):
        return None
    named = ACTIONS.get((method, shape))
    if named:
        return named
    return f"{method} {route}" if method in MUTATING else None


def _created_id(response: Response) -> str | None:
    body = response.body
    if response.status_code == 201 and isinstance(body, dict) and isinstance(body.get("id"), str):
        return body["id"]
    return None


def _expires_at(table: Table) -> int:
    from switchboard.services import automation_config

    return clock.epoch() + automation_config.load(table).retention.audit_days * 86400


def record_action(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
    """The audit middleware (after `authenticate`, which put the caller in the context)."""
    request = app.request
    action = action_for(request.method, request.route)
    who = app.context.get(auth.CONTEXT_KEY)
    if action is None or not isinstance(who, auth.Caller):
        return next_middleware(app)
    params = request.path_parameters or {}  # after validation it also holds the body: only the path's own count
    names = [name.strip("{}") for name in _PARAM.findall(request.route)]
    target = str(params[names[-1]])[:200] if names and names[-1] in params else None
    table = Table()
    request_id = app.current_event.request_context.request_id or clock.iso(clock.now())
    key = store_audit.begin_action(table, clock.iso(clock.now()), request_id, who.email.lower(), action, target,
                                   _expires_at(table))
    try:
        response = next_middleware(app)
    except SwitchboardError as exc:
        _settle(table, key, exc.status, None)
        raise
    except Exception:
        _settle(table, key, 500, None)
        raise
    _settle(table, key, response.status_code, _created_id(response))
    return response


def _settle(table: Table, key: dict[str, str], status: int, target: str | None) -> None:
    try:
        if 400 <= status < 500:
            store_audit.forget_action(table, key)
        else:
            store_audit.finish_action(table, key, status, target)
    except SwitchboardError:  # the action happened and its record is there: only the outcome is missing
        from switchboard import observability

        observability.count("AuditOutcomesMissing")


# -- the admins' read -----------------------------------------------------------------------------------------------
class AuditItem(ApiModel):
    at: str
    actor: str
    action: str
    target: str | None = None
    outcome: str | None = None
    status: int | None = None
    counts: dict[str, Any] | None = None


class AuditPage(ApiModel):
    items: list[AuditItem]
    next_cursor: str | None = None


DATE = r"^\d{4}-\d{2}-\d{2}$"


def _day(value: str | None, default: date) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{value!r} is not a date (YYYY-MM-DD)", code="invalid_date") from None


@router.get("/api/audit", summary="The audit log, newest first (admins)")
def get_audit(
    from_: Annotated[str | None, Query(alias="from", pattern=DATE)] = None,
    to: Annotated[str | None, Query(pattern=DATE)] = None,
    actor: Annotated[str | None, Query(max_length=320)] = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
) -> AuditPage:
    today = clock.now().date()
    last = _day(to, today)
    try:
        first = _day(from_, last - timedelta(days=30))
    except OverflowError:  # a "to" in year 1
        raise BadRequest("the range starts before year 1", code="invalid_range") from None
    if first > last:
        raise BadRequest("from must not be after to", code="invalid_range")
    if (last - first).days > 3650:
        raise BadRequest("at most ten years at a time", code="invalid_range")
    items, next_cursor = store_audit.page(Table(), first, last, actor=actor.strip().lower() if actor else None,
                                          action=action.strip() if action else None, limit=limit, cursor=cursor)
    return AuditPage(items=[AuditItem(**{**i, "actor": i.get("actor") or "system",
                                         "action": i.get("action") or i.get("kind") or "unknown"}) for i in items],
                     next_cursor=next_cursor)

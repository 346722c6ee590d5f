"""Who is calling: the claims the HTTP API's JWT authorizer verified (Cognito groups give the role), and which
routes need whom. The resolver's middleware (api/app.py) checks every request against these, once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from switchboard.errors import Forbidden, Unauthorized

ROLES = ("agent", "admin")
# Routes anyone may call (no sign-in): the gateway has no authorizer on them either (template.yaml).
PUBLIC_ROUTES = frozenset({("GET", "/api/health"), ("GET", "/api/openapi.json")})
PUBLIC_PREFIXES = ("/survey/",)  # the customers' survey pages
# help center: the widget's suggestions and readers' feedback, views and chats (rate limited per address)
PUBLIC_ROUTES = PUBLIC_ROUTES | {("GET", "/webchat/articles"), ("POST", "/help/feedback"), ("POST", "/help/views"),
                                 ("POST", "/help/chats")}
# Routes for admins only, as (method, path as declared, {param} for a path parameter).
ADMIN_ROUTES = frozenset({
    ("GET", "/api/settings"),
    ("PUT", "/api/settings"),
    ("GET", "/api/contacts/{contact_id}/export"),
    ("DELETE", "/api/contacts/{contact_id}"),
    # inboxes and teams (issue 14); GET /api/inboxes?include=ignored checks the role in its route
    ("POST", "/api/inboxes"),
    ("PATCH", "/api/inboxes/{inbox_id}"),
    ("DELETE", "/api/inboxes/{inbox_id}"),
    ("POST", "/api/teams"),
    ("PUT", "/api/teams/{team_id}"),
    ("DELETE", "/api/teams/{team_id}"),
    ("POST", "/api/templates/sync"),  # templates capability: calls the provider with the business's token
    ("POST", "/api/attributes"),  # issue 14: custom attribute definitions
    ("DELETE", "/api/attributes/{key}"),
    ("POST", "/api/articles/republish"),  # help center: rebuild the public pages
})


# growth: entry links (created and deleted by admins; listed by everyone), endpoints for events, the audit log
ADMIN_ROUTES = ADMIN_ROUTES | frozenset({
    ("POST", "/api/links"),
    ("DELETE", "/api/links/{link_id}"),
    ("POST", "/api/webhooks"),
    ("GET", "/api/webhooks"),
    ("DELETE", "/api/webhooks/{webhook_id}"),
    ("POST", "/api/webhooks/{webhook_id}/test"),
    ("GET", "/api/webhooks/{webhook_id}/deliveries"),
    ("POST", "/api/webhooks/{webhook_id}/replay"),
    ("GET", "/api/audit"),
})


@dataclass(frozen=True)
class Caller:
    email: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _groups(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, str):  # API Gateway flattens arrays to "[a b]"
        return value.strip("[]").replace(",", " ").split()
    return []


def caller(event: dict[str, Any]) -> Caller:
    claims = (((event.get("requestContext") or {}).get("authorizer") or {}).get("jwt") or {}).get("claims") or {}
    email = claims.get("email") or claims.get("username") or claims.get("cognito:username")
    if not email:
        raise Unauthorized("no verified identity on the request")
    groups = _groups(claims.get("cognito:groups"))
    role = "admin" if "admin" in groups else "agent" if "agent" in groups else ""
    if not role:
        raise Forbidden("the caller is in neither the agent nor the admin group")
    return Caller(email=str(email), role=role)


def require_admin(who: Caller) -> None:
    if not who.is_admin:
        raise Forbidden("admins only")


def is_public(method: str, route: str) -> bool:
    return (method.upper(), route) in PUBLIC_ROUTES or route.startswith(PUBLIC_PREFIXES)


def authorize(event: dict[str, Any], method: str, route: str) -> Caller | None:
    """The caller of a request to `route` (as declared), checked against what the route needs; None for a public
    route. Raises Unauthorized or Forbidden."""
    if is_public(method, route):
        return None
    who = caller(event)
    if (method.upper(), route) in ADMIN_ROUTES:
        require_admin(who)
    return who


def current(router: Any) -> Caller:
    """The caller the middleware resolved for this request (routes of a router read it here)."""
    who = router.context.get(CONTEXT_KEY)
    if not isinstance(who, Caller):  # a route the middleware did not see: never serve it unchecked
        raise Unauthorized("no verified identity on the request")
    return who


CONTEXT_KEY = "caller"

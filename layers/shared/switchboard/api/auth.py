"""Who is calling: the claims the HTTP API's JWT authorizer verified (Cognito groups give the role)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from switchboard.errors import Forbidden, Unauthorized

ROLES = ("agent", "admin")


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

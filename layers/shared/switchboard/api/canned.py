"""Canned responses: list (everyone), create, edit and delete (the author or an admin)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from switchboard.api import auth
from switchboard.api.schemas import CannedIn, CannedList, CannedOut, CannedPatch
from switchboard.services import canned
from switchboard.store.table import Table

router = APIGatewayHttpRouter()


@router.get("/api/canned-responses", summary="The team's canned responses, by shortcut")
def list_canned() -> CannedList:
    return CannedList(items=[CannedOut(**c) for c in canned.list_all(Table())], variables=canned.VARIABLES)


@router.post("/api/canned-responses", summary="Create a canned response",
             responses={201: {"description": "created", "content": {"application/json": {"model": CannedOut}}}})
def create_canned(body: CannedIn) -> Response[CannedOut]:
    who = auth.current(router)
    created = canned.create(Table(), body.shortcut, body.text, who.email)
    return Response(status_code=201, content_type="application/json", body=CannedOut(**created))


@router.patch("/api/canned-responses/<canned_id>", summary="Edit a canned response (its author or an admin)")
def patch_canned(canned_id: str, body: CannedPatch) -> CannedOut:
    who = auth.current(router)
    return CannedOut(**canned.update(Table(), canned_id, body.shortcut, body.text, who.email, who.is_admin))


@router.delete("/api/canned-responses/<canned_id>", summary="Delete a canned response (its author or an admin)",
               responses={204: {"description": "deleted"}})
def delete_canned(canned_id: str) -> Response[None]:
    who = auth.current(router)
    canned.delete(Table(), canned_id, who.email, who.is_admin)
    return Response(status_code=204, content_type="application/json", body="")  # type: ignore[arg-type]  # Response[None] documents no content; the wire body is empty

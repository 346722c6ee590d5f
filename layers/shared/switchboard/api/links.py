"""Entry links (admins create and delete them; everyone may list them and get their QR codes)."""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import ConfigDict, Field

from switchboard.api import auth
from switchboard.api.schemas import ApiModel
from switchboard.services import links
from switchboard.store.table import Table

router = APIGatewayHttpRouter()


class LinkIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=80, description="what agents see as the source: 'Website header'")
    channel: Literal["whatsapp", "messenger", "telegram", "instagram", "webchat"]
    text: str | None = Field(None, max_length=500, description="WhatsApp: the pre-filled message (the reference "
                                                               "is added to it)")


class LinkOut(ApiModel):
    id: str
    url: str
    ref: str
    name: str
    channel: str
    text: str | None = None
    created_at: str
    created_by: str | None = None
    snippet: str = Field(description="HTML for a website header or an email signature")


class LinkList(ApiModel):
    items: list[LinkOut]


@router.post("/api/links", summary="Create an entry link with a reference (admins)",
             responses={201: {"description": "created", "content": {"application/json": {"model": LinkOut}}}})
def create_link(body: LinkIn) -> Response[LinkOut]:
    who = auth.current(router)
    link = links.create(Table(), body.name.strip(), body.channel, body.text.strip() if body.text else None, who.email)
    return Response(status_code=201, content_type="application/json", body=LinkOut(**link))


@router.get("/api/links", summary="Entry links, newest first")
def list_links() -> LinkList:
    return LinkList(items=[LinkOut(**link) for link in links.list_all(Table())])


@router.get("/api/links/<link_id>", summary="One entry link")
def get_link(link_id: str) -> LinkOut:
    return LinkOut(**links.get(Table(), link_id))


@router.delete("/api/links/<link_id>", summary="Delete an entry link (admins); conversations keep their source",
               responses={204: {"description": "deleted"}})
def delete_link(link_id: str) -> Response[None]:
    links.delete(Table(), link_id)
    return Response(status_code=204, content_type="application/json", body="")  # type: ignore[arg-type]  # no content


QR_RESPONSES: dict[int, Any] = {200: {"description": "the QR code of the link's URL",
                      "content": {"image/svg+xml": {}, "image/png": {}}}}


@router.get("/api/links/<link_id>/qr.svg", summary="The link's QR code, SVG (for screens)", responses=QR_RESPONSES)
def qr_svg(link_id: str) -> Response[str]:
    data, content_type = links.qr_code(links.get(Table(), link_id)["url"], "svg")
    return Response(status_code=200, content_type=content_type, body=data.decode(),
                    headers={"Cache-Control": "private, max-age=300"})


@router.get("/api/links/<link_id>/qr.png", summary="The link's QR code, PNG (for print)", responses=QR_RESPONSES)
def qr_png(link_id: str):  # no return type: a binary body the validator must leave as it is
    data, content_type = links.qr_code(links.get(Table(), link_id)["url"], "png")
    return Response(status_code=200, content_type=content_type, body=data,
                    headers={"Cache-Control": "private, max-age=300",
                             "Content-Disposition": f'attachment; filename="{link_id}.png"'})

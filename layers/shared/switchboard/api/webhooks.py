"""Endpoints for events (CRMs and other systems): register (the secret is shown once), list, delete, test, the
delivery log, and replaying what was parked after 24 hours of failures. Admins only (auth.ADMIN_ROUTES)."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import ConfigDict, Field

from switchboard.api import auth
from switchboard.api.schemas import ApiModel
from switchboard.services import webhooks
from switchboard.store.table import Table

router = APIGatewayHttpRouter()

EventName = Literal["conversation.created", "conversation.status_changed", "conversation.assigned", "message.created",
                    "contact.updated", "contact.merged", "contact.erased", "csat.submitted", "*"]


class WebhookIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=8, max_length=2048, description="https; never a private or link-local address")
    events: list[EventName] = Field(min_length=1, max_length=20, description='event types, or ["*"] for all')


class WebhookOut(ApiModel):
    id: str
    url: str
    events: list[str]
    created_at: str
    created_by: str | None = None


class WebhookCreated(WebhookOut):
    secret: str = Field(description="signs every delivery; shown this once")


class WebhookList(ApiModel):
    items: list[WebhookOut]


class TestResult(ApiModel):
    event_id: str
    ok: bool
    status: int | None = None
    latency_ms: int
    error: str | None = None


class Delivery(ApiModel):
    event_id: str
    event_type: str
    created_at: str
    state: str | None = Field(None, description="pending, attempting, retrying, delivered, failed (a test), "
                                                "parked (24 hours of failures: replay it), dropped")
    status: int | None = Field(None, description="the endpoint's HTTP status at the last attempt")
    latency_ms: int | None = None
    attempts: int = 0
    error: str | None = None
    last_attempt_at: str | None = None
    next_attempt_at: str | None = None


class DeliveryPage(ApiModel):
    items: list[Delivery]
    next_cursor: str | None = None


class Replayed(ApiModel):
    replayed: int


@router.post("/api/webhooks", summary="Register an endpoint for events (admins); its secret is shown once",
             responses={201: {"description": "registered", "content": {"application/json": {"model": WebhookCreated}}}})
def create_webhook(body: WebhookIn) -> Response[WebhookCreated]:
    who = auth.current(router)
    created = webhooks.register(Table(), body.url.strip(), list(body.events), who.email)
    return Response(status_code=201, content_type="application/json", body=WebhookCreated(**created))


@router.get("/api/webhooks", summary="Registered endpoints (admins)")
def list_webhooks() -> WebhookList:
    return WebhookList(items=[WebhookOut(**e) for e in webhooks.list_endpoints(Table())])


@router.delete("/api/webhooks/<webhook_id>", summary="Remove an endpoint (admins)",
               responses={204: {"description": "deleted"}})
def delete_webhook(webhook_id: str) -> Response[None]:
    webhooks.delete(Table(), webhook_id)
    return Response(status_code=204, content_type="application/json", body="")  # type: ignore[arg-type]  # no content


@router.post("/api/webhooks/<webhook_id>/test", summary="Send a test event now (admins)")
def test_webhook(webhook_id: str) -> TestResult:
    return TestResult(**webhooks.send_test(Table(), webhook_id))


@router.get("/api/webhooks/<webhook_id>/deliveries", summary="The endpoint's delivery log, newest first (admins)")
def list_deliveries(
    webhook_id: str,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
) -> DeliveryPage:
    items, next_cursor = webhooks.deliveries(Table(), webhook_id, limit, cursor)
    return DeliveryPage(items=[Delivery(**i) for i in items], next_cursor=next_cursor)


@router.post("/api/webhooks/<webhook_id>/replay", summary="Deliver again what was parked after 24 hours (admins)")
def replay_webhook(webhook_id: str) -> Replayed:
    return Replayed(**webhooks.replay(Table(), webhook_id))

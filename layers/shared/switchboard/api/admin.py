"""Admin routes (auth.ADMIN_ROUTES): automation settings, GDPR export and erasure; and the metrics every agent sees."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from switchboard.api.schemas import MetricsOut
from switchboard.automation_settings import AutomationSettings
from switchboard.errors import BadRequest
from switchboard.services import automation_config, lifecycle, metrics
from switchboard.store.table import Table

router = APIGatewayHttpRouter()
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"


@router.get("/api/settings", summary="The automation settings (admins)")
def get_settings_doc() -> AutomationSettings:
    return automation_config.load(Table(), fresh=True)


@router.put("/api/settings", summary="Change automation settings: a partial document is merged (admins)")
def put_settings_doc() -> AutomationSettings:
    try:
        patch = router.current_event.json_body if router.current_event.body else None
    except ValueError:  # not JSON, or not UTF-8 (UnicodeDecodeError is a ValueError too)
        patch = None
    if not isinstance(patch, dict):
        raise BadRequest("the body must be a JSON object (a partial settings document)", code="invalid_settings")
    table = Table()
    before = automation_config.load(table, fresh=True)
    after = automation_config.save(table, patch)
    lifecycle.schedule_backstop_review(table, after, before)  # a raised retention moves the TTL backstops out
    if after.help_center != before.help_center:  # help center: its look changed, the public pages are rebuilt
        from switchboard.services import articles

        articles.request_publish("settings")
    return after


@router.get("/api/contacts/<contact_id>/export", summary="Everything held about a contact, as JSON (admins)")
def export_contact(contact_id: str) -> dict[str, Any]:
    return lifecycle.export_contact(Table(), contact_id)


@router.delete("/api/contacts/<contact_id>", summary="Erase a contact and everything of theirs (admins)",
               responses={200: {"description": "erased: counts only"}})
def erase_contact(contact_id: str) -> dict[str, Any]:
    return {"erased": lifecycle.erase_contact(Table(), contact_id)}


@router.get("/api/metrics", summary="First response and resolution times, CSAT and volume, from daily aggregates")
def get_metrics(
    from_: Annotated[str | None, Query(alias="from", pattern=DATE_PATTERN)] = None,
    to: Annotated[str | None, Query(pattern=DATE_PATTERN)] = None,
) -> MetricsOut:
    return MetricsOut(**metrics.summary(Table(), from_, to))


__all__ = ["Response", "router"]

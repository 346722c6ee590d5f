"""Admin routes: automation settings, GDPR export and erasure; and the metrics every agent sees."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from switchboard import clock
from switchboard.api.auth import caller, require_admin
from switchboard.api.schemas import MetricsOut
from switchboard.automation_settings import AutomationSettings
from switchboard.errors import BadRequest
from switchboard.services import automation_config, lifecycle
from switchboard.store import metrics
from switchboard.store.table import Table

router = APIGatewayHttpRouter()
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"


@router.get("/api/settings", summary="The automation settings (admins)")
def get_settings_doc() -> AutomationSettings:
    require_admin(caller(router.current_event.raw_event))
    return automation_config.load(Table(), fresh=True)


@router.put("/api/settings", summary="Change automation settings: a partial document is merged (admins)")
def put_settings_doc() -> AutomationSettings:
    require_admin(caller(router.current_event.raw_event))
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
    return after


@router.get("/api/contacts/<contact_id>/export", summary="Everything held about a contact, as JSON (admins)")
def export_contact(contact_id: str) -> dict[str, Any]:
    require_admin(caller(router.current_event.raw_event))
    return lifecycle.export_contact(Table(), contact_id)


@router.delete("/api/contacts/<contact_id>", summary="Erase a contact and everything of theirs (admins)",
               responses={200: {"description": "erased: counts only"}})
def erase_contact(contact_id: str) -> dict[str, Any]:
    require_admin(caller(router.current_event.raw_event))
    return {"erased": lifecycle.erase_contact(Table(), contact_id)}


@router.get("/api/metrics", summary="First response and resolution times, CSAT and volume, from daily aggregates")
def get_metrics(
    from_: Annotated[str | None, Query(alias="from", pattern=DATE_PATTERN)] = None,
    to: Annotated[str | None, Query(pattern=DATE_PATTERN)] = None,
) -> MetricsOut:
    caller(router.current_event.raw_event)
    try:
        last = date.fromisoformat(to) if to else clock.now().date()
        first = date.fromisoformat(from_) if from_ else last - timedelta(days=29)
    except ValueError:
        raise BadRequest("from and to are dates (YYYY-MM-DD)", code="invalid_range") from None
    if first > last or (last - first).days >= metrics.MAX_DAYS:
        raise BadRequest(f"from must not be after to, and the range at most {metrics.MAX_DAYS} days",
                         code="invalid_range")
    summary = metrics.summarize(metrics.days(Table(), first, last))
    return MetricsOut(**{"from": first.isoformat(), "to": last.isoformat(), **summary})


__all__ = ["Response", "router"]

"""Message templates (WhatsApp): the approved ones agents may send, and the admins' sync from the provider."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from switchboard.api.schemas import TemplateList, TemplateOut, TemplateSyncOut
from switchboard.channel_names import Channel
from switchboard.services import templates
from switchboard.store.table import Table

router = APIGatewayHttpRouter()


@router.get("/api/templates", summary="The approved message templates of a channel (WhatsApp), by name")
def list_templates(channel: Annotated[Channel, Query()] = "whatsapp") -> TemplateList:
    table = Table()
    return TemplateList(items=[TemplateOut.model_validate(t) for t in templates.list_templates(table, channel)],
                        synced_at=templates.last_synced(table, channel))


@router.post("/api/templates/sync", summary="Pull the approved templates from the provider now (admin)")
def sync_templates() -> TemplateSyncOut:
    return TemplateSyncOut.model_validate(templates.sync(Table()))

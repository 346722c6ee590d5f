"""Reports by agent, label, channel, source and inbox (JSON or CSV), and the conversation export (admins, audited:
api/audit.py ACTIONS)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import Field

from switchboard.api.schemas import ApiModel
from switchboard.services import exports
from switchboard.services import reports as report_service
from switchboard.store.reports import DIMENSIONS
from switchboard.store.table import Table

router = APIGatewayHttpRouter()

DATE = r"^\d{4}-\d{2}-\d{2}$"


class Percentiles(ApiModel):
    p50: float | None = Field(None, description="seconds (interpolated in the histogram's bucket)")
    p90: float | None = None
    count: int = 0


class Csat(ApiModel):
    average: float | None = None
    responses: int = 0
    satisfied_share: float | None = Field(None, description="answers of 4 or 5 over all answers")


class ReportRow(ApiModel):
    key: str = Field(description="agent email, label, channel, inbox id, or source (link:<id>, ad:<id>, page, "
                                 "other, none)")
    name: str | None = Field(None, description="a display name where the key is an id (sources)")
    conversations: int = Field(description="opened (channels, inboxes, sources), handled (agents: assigned, "
                                           "answered first or resolved; once each), labelled (labels) in the range")
    resolved: int
    first_response_seconds: Percentiles
    resolution_seconds: Percentiles
    csat: Csat
    currently_open: int | None = Field(None, description="agents: assigned open conversations now")


class Report(ApiModel):
    dimension: str
    from_: str = Field(alias="from")
    to: str
    items: list[ReportRow]


class ExportLink(ApiModel):
    url: str = Field(description="a presigned GET of the CSV in S3, valid for expires_in seconds")
    rows: int
    expires_in: int


def _csv(body: str | bytes, filename: str) -> Response[Any]:
    return Response(status_code=200, content_type="text/csv; charset=utf-8",
                    body=body.decode() if isinstance(body, bytes) else body,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


def _report_route(dimension: str) -> Callable[..., Any]:
    def handler(
        from_: Annotated[str | None, Query(alias="from", pattern=DATE, description="first business day")] = None,
        to: Annotated[str | None, Query(pattern=DATE, description="last business day (inclusive)")] = None,
        format: Annotated[Literal["json", "csv"], Query()] = "json",  # the contract's parameter name
    ):  # no return type: JSON or CSV (documented in `responses`)
        result = report_service.report(Table(), dimension, from_, to)
        if format == "csv":
            return _csv(report_service.to_csv(result), f"{dimension}-{result['from']}-to-{result['to']}.csv")
        return Response(status_code=200, content_type="application/json",
                        body=json.dumps(Report.model_validate(result).model_dump(mode="json", by_alias=True)))

    handler.__name__ = f"report_{dimension}"
    return handler


for _dimension in DIMENSIONS:
    router.get(f"/api/reports/{_dimension}", summary=f"The {_dimension} report for a range of business days",
               responses={200: {"description": "the report (JSON), or CSV with format=csv",
                                "content": {"application/json": {"model": Report}, "text/csv": {}}}},
               )(_report_route(_dimension))


@router.get("/api/exports/conversations", summary="One CSV row per conversation created in the range (admins)",
            responses={200: {"description": "the CSV, or for a large range {url} of it in S3 (a short-lived link)",
                             "content": {"text/csv": {}, "application/json": {"model": ExportLink}}}})
def export_conversations(
    from_: Annotated[str | None, Query(alias="from", pattern=DATE, description="first business day")] = None,
    to: Annotated[str | None, Query(pattern=DATE, description="last business day (inclusive)")] = None,
):  # no return type: CSV or JSON
    result = exports.conversations(Table(), from_, to)
    if result.csv is not None:
        return _csv(result.csv, f"conversations-{from_ or 'last-30-days'}-to-{to or 'today'}.csv")
    return Response(status_code=200, content_type="application/json",
                    body=ExportLink(url=result.url or "", rows=result.rows,
                                    expires_in=result.expires_in or 0).model_dump_json())

"""The conversation export (admins): one CSV row per conversation created in a range of business days, read through
CreatedIndex page by page and written to a spooled file (memory bounded: past SPOOL_BYTES it is on /tmp). A small
export is answered inline; a large one (a long range, many rows) is put in S3 under exports/ (deleted after a day by
the bucket's lifecycle rule) and answered with a presigned GET link that expires in LINK_SECONDS."""

from __future__ import annotations

import csv
import io
import tempfile
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import IO, Any

from switchboard import aws, clock, ids, observability
from switchboard.errors import ServiceUnavailable
from switchboard.services import reports as report_service
from switchboard.settings import get_settings
from switchboard.store import exports, reports
from switchboard.store.table import Table

COLUMNS = ["id", "channel", "inbox", "contact_id", "contact_name", "status", "priority", "created_at",
           "first_response_at", "first_response_seconds", "resolved_at", "resolution_seconds", "resolved_by",
           "assignee", "labels", "source", "source_name", "rating"]
INLINE_MAX_DAYS = 31  # a longer range always goes to S3
INLINE_MAX_ROWS = 5000
INLINE_MAX_BYTES = 2 * 1024 * 1024  # well under Lambda's 6 MB response
SPOOL_BYTES = 1024 * 1024
LINK_SECONDS = 900
PREFIX = "exports/"


@dataclass
class Export:
    rows: int
    csv: bytes | None = None  # inline
    url: str | None = None  # in S3
    expires_in: int | None = None


def _seconds(since: Any, until: Any) -> float | None:
    if not isinstance(since, str) or not isinstance(until, str):
        return None
    return round((clock.parse_iso(until) - clock.parse_iso(since)).total_seconds(), 1)


def row(item: dict[str, Any]) -> list[Any]:
    source = item.get("source") if isinstance(item.get("source"), dict) else None
    values = {
        "id": item.get("id"), "channel": item.get("channel"),
        "inbox": ids.inbox_id(item["channel"], item["inbox_id"]) if item.get("channel") and item.get("inbox_id")
        else None,
        "contact_id": item.get("contact_id"), "contact_name": item.get("contact_name"), "status": item.get("status"),
        "priority": item.get("priority"), "created_at": item.get("created_at"),
        "first_response_at": item.get("first_response_at"),
        "first_response_seconds": _seconds(item.get("created_at"), item.get("first_response_at")),
        "resolved_at": item.get("resolved_at"),
        "resolution_seconds": _seconds(item.get("created_at"), item.get("resolved_at")),
        "resolved_by": item.get("resolved_by"), "assignee": item.get("assignee"),
        "labels": ";".join(item.get("labels") or []),
        "source": reports.source_key(source) if source else "",
        "source_name": (source or {}).get("label"),
        "rating": item.get("rating"),
    }
    return [report_service.cell(values[c]) for c in COLUMNS]


def _write(table: Table, start: datetime, end: datetime, spool: IO[bytes]) -> int:
    text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    count = 0
    for item in exports.created_between(table, start, end):
        writer.writerow(row(item))
        count += 1
    text.flush()
    text.detach()
    return count


def conversations(table: Table, from_: str | None, to: str | None) -> Export:
    """The export of the conversations created from `from` to `to` (business days, inclusive)."""
    first, last = report_service.date_range(table, from_, to)
    zone = reports.business_zone(table)
    start = datetime.combine(first, time.min, zone)
    end = datetime.combine(last + timedelta(days=1), time.min, zone)
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+b") as spool:
        count = _write(table, start, end, spool)
        size = spool.tell()
        spool.seek(0)
        observability.count("ConversationsExported", count)
        if (last - first).days < INLINE_MAX_DAYS and count <= INLINE_MAX_ROWS and size <= INLINE_MAX_BYTES:
            return Export(rows=count, csv=spool.read())
        key = f"{PREFIX}{clock.iso(clock.now())[:10]}/{ids.new_id('ex_')}.csv"
        bucket = get_settings().media_bucket
        filename = f"conversations-{first.isoformat()}-to-{last.isoformat()}.csv"
        try:
            aws.s3().upload_fileobj(spool, bucket, key, ExtraArgs={
                "ContentType": "text/csv; charset=utf-8", "ContentDisposition": f'attachment; filename="{filename}"'})
            url = aws.s3().generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key},
                                                  ExpiresIn=LINK_SECONDS)
        except Exception as exc:  # botocore's ClientError / BotoCoreError: the admin tries again
            raise ServiceUnavailable(f"the export could not be stored: {type(exc).__name__}") from exc
    return Export(rows=count, url=str(url), expires_in=LINK_SECONDS)

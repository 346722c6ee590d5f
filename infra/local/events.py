"""The event shapes AWS delivers: HTTP API payload v2, SQS batches, EventBridge Scheduler, EventBridge events of
AWS services (Amazon Transcribe's job state changes)."""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded", "application/xml",
              "message/rfc822", "application/javascript")


def http_event(method: str, path: str, query: str, headers: dict[str, str], body: bytes, route_key: str,
               path_params: dict[str, str], claims: dict[str, Any] | None, source_ip: str) -> dict[str, Any]:
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        lowered[key] = f"{lowered[key]},{value}" if key in lowered else value
    params: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        params[name] = f"{params[name]},{value}" if name in params else value
    content_type = lowered.get("content-type", "")
    textual = any(content_type.startswith(t) for t in TEXT_TYPES)
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0", "routeKey": route_key, "rawPath": path, "rawQueryString": query,
        "headers": lowered,
        "requestContext": {
            "accountId": "123456789012", "apiId": "local", "domainName": lowered.get("host", "127.0.0.1"),
            "domainPrefix": "local", "requestId": str(uuid.uuid4()), "routeKey": route_key, "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"), "timeEpoch": int(now.timestamp() * 1000),
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": source_ip,
                     "userAgent": lowered.get("user-agent", "")},
        },
        "isBase64Encoded": bool(body) and not textual,
    }
    if params:
        event["queryStringParameters"] = params
    if path_params:
        event["pathParameters"] = path_params
    if body:
        event["body"] = base64.b64encode(body).decode() if event["isBase64Encoded"] else body.decode("utf-8", "replace")
    if "cookie" in lowered:
        event["cookies"] = [c.strip() for c in lowered["cookie"].split(";")]
    if claims is not None:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    return event


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    records = []
    for m in messages:
        attrs = m.get("Attributes", {})
        records.append({
            "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
            "attributes": {k: str(v) for k, v in attrs.items()},
            "messageAttributes": m.get("MessageAttributes", {}),
            "md5OfBody": m.get("MD5OfBody") or hashlib.md5(m["Body"].encode(), usedforsecurity=False).hexdigest(),
            "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": "us-east-1",
        })
    return {"Records": records}


def scheduled_event(function: str) -> dict[str, Any]:
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.scheduler",
            "account": "123456789012", "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "region": "us-east-1", "resources": [f"arn:aws:scheduler:us-east-1:123456789012:schedule/default/{function}"],
            "detail": {}}


def transcribe_event(job_name: str, status: str) -> dict[str, Any]:
    """Amazon Transcribe's "Transcribe Job State Change" event, as an EventBridge rule delivers it to a function."""
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Transcribe Job State Change",
            "source": "aws.transcribe", "account": "123456789012",
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "region": "us-east-1", "resources": [],
            "detail": {"TranscriptionJobName": job_name, "TranscriptionJobStatus": status}}


def ses_event(raw: bytes, message_id: str, bucket: str) -> dict[str, Any]:
    """The SES receipt rule's Lambda action event (no body: the S3 action stored it first)."""
    import email
    import email.policy

    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    to = [str(a) for a in (parsed.get_all("To") or [])]
    # The envelope's recipients: bare addresses (SES never hands the rule a display name), To and Cc standing in
    recipients = list(dict.fromkeys(a.addr_spec for name in ("To", "Cc") for header in (parsed.get_all(name) or [])
                                    for a in getattr(header, "addresses", ()) if "@" in a.addr_spec))
    common = {"from": [str(a) for a in (parsed.get_all("From") or [])], "to": to, "subject": str(parsed.get("Subject", "")),
              "messageId": str(parsed.get("Message-ID", "")), "date": str(parsed.get("Date", ""))}
    # SES writes its scan results into the stored message as X-SES-Spam-Verdict / X-SES-Virus-Verdict headers: a
    # message posted with them set to FAIL gets that verdict here, so quarantine can be tried locally. The same
    # spelling sets the authentication verdicts (X-SES-SPF-Verdict, X-SES-DKIM-Verdict, X-SES-DMARC-Verdict).
    scanned = {name: {"status": _verdict(parsed.get(header))} for name, header in
               (("spamVerdict", "X-SES-Spam-Verdict"), ("virusVerdict", "X-SES-Virus-Verdict"),
                ("spfVerdict", "X-SES-SPF-Verdict"), ("dkimVerdict", "X-SES-DKIM-Verdict"),
                ("dmarcVerdict", "X-SES-DMARC-Verdict"))}
    return {"Records": [{"eventSource": "aws:ses", "eventVersion": "1.0", "ses": {
        "mail": {"timestamp": now, "source": parsed.get("Return-Path", common["from"][0] if common["from"] else ""),
                 "messageId": message_id, "destination": recipients, "headersTruncated": False,
                 "headers": [{"name": k, "value": str(v)} for k, v in parsed.items()], "commonHeaders": common},
        "receipt": {"timestamp": now, "processingTimeMillis": 1, "recipients": recipients, **scanned,
                    "action": {"type": "Lambda", "invocationType": "Event",
                               "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:EmailFunction"}},
    }}], "_local": {"bucket": bucket, "key": f"inbound-email/{message_id}"}}


def _verdict(header: object) -> str:
    value = str(header or "").strip().upper()
    return value if value in ("PASS", "FAIL", "GRAY", "PROCESSING_FAILED") else "PASS"

"""The email function's work: an SES receipt event in, verdicts and recipients checked, raw MIME read, message ingested.

The receipt rule runs [S3 action -> Lambda action]: the raw message is in the media bucket before we are invoked.
Mail we do not deliver is moved aside (quarantine/ for spam and viruses, rejected/ for the rest) so that
inbound-email/ holds only messages the store refers to (raw_ref), which the retention job deletes with them.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any

from switchboard import aws, clock, observability
from switchboard.errors import MalformedPayload, ServiceUnavailable
from switchboard.services import ingest as ingest_service
from switchboard.settings import get_settings
from switchboard.store import markers
from switchboard.store.table import Table

if TYPE_CHECKING:
    from switchboard.models import InboundMessage

QUARANTINE_PREFIX = "quarantine/"
REJECTED_PREFIX = "rejected/"
SES_MESSAGE_ID = re.compile(r"[A-Za-z0-9._-]{1,200}")
RAW_KEY = re.compile(r"[A-Za-z0-9!._*'()/-]{1,1024}")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _verdict(receipt: dict[str, Any], name: str) -> str:
    status = _dict(receipt.get(name)).get("status")
    return status.upper() if isinstance(status, str) else ""


# Every record of an event ends in exactly one of these counts, or is handed to ingest (counted there as a message or
# a duplicate): nothing is left uncounted, and nothing but an AWS failure fails the invocation.
SET_ASIDE = ("quarantined", "refused", "malformed", "dropped", "duplicates", "bounces", "complaints", "receipts",
             "backscatter")
OUTCOMES = (*SET_ASIDE, "ignored", "repeated")


def handle_ses_event(event: dict[str, Any]) -> dict[str, int]:
    """Ingest every deliverable message of the event, apply every report about our own mail; counts for the log
    (never addresses or content).

    Raises ServiceUnavailable when S3, DynamoDB or SQS fail, so that the asynchronous invocation is retried; nothing
    else, whatever the mail holds (a message that cannot be read is set aside and counted as malformed)."""
    from switchboard.channels import email as email_channel  # MIME parsing (and models) load with the first event

    counts = {"records": 0, "quarantined": 0, "refused": 0, "malformed": 0, "dropped": 0, "ignored": 0}
    bucket = get_settings().media_bucket
    channel = email_channel.EmailChannel()
    messages: list[InboundMessage] = []
    seen: set[str] = set()
    records = _dict(event).get("Records")
    for record in records if isinstance(records, list) else []:
        counts["records"] += 1
        ses = _dict(_dict(record).get("ses"))
        mail, receipt = _dict(ses.get("mail")), _dict(ses.get("receipt"))
        message_id = mail.get("messageId")
        if _dict(record).get("eventSource") != "aws:ses" or not isinstance(message_id, str) \
                or not SES_MESSAGE_ID.fullmatch(message_id):
            counts["ignored"] += 1
            continue
        if message_id in seen:  # the same delivery twice in one event: its raw message may be set aside already
            counts["repeated"] = counts.get("repeated", 0) + 1
            continue
        seen.add(message_id)
        object_key = _dict(receipt.get("action")).get("objectKey")
        key = object_key if isinstance(object_key, str) and RAW_KEY.fullmatch(object_key) \
            else email_channel.raw_key(message_id)
        if "FAIL" in (_verdict(receipt, "spamVerdict"), _verdict(receipt, "virusVerdict")):
            _set_aside(bucket, key, QUARANTINE_PREFIX + message_id)
            counts["quarantined"] += 1
            continue
        recipients = email_channel.allowed_recipients(receipt.get("recipients") or mail.get("destination"))
        if not recipients:
            _set_aside(bucket, key, REJECTED_PREFIX + message_id)
            counts["refused"] += 1
            continue
        raw = _read(bucket, key)
        outcome, message = _read_mail(channel, raw, message_id, recipients, key, bucket, mail, receipt)
        if message is not None and not _first_delivery(message):
            # The same mail again under a new SES message id (the sender's server retried): stored once.
            outcome, message = "duplicates", None
        if message is None:
            _set_aside(bucket, key, REJECTED_PREFIX + message_id)
            counts[outcome] = counts.get(outcome, 0) + 1
            continue
        messages.append(message)
    if messages:
        for name, count in ingest_service.ingest(messages).items():
            counts[name] = counts.get(name, 0) + count
    return counts


def _read_mail(channel: Any, raw: bytes, message_id: str, recipients: list[str], key: str, bucket: str,
               mail: dict[str, Any], receipt: dict[str, Any]) -> tuple[str, InboundMessage | None]:
    """(how the record is counted, the message to ingest, if any). A report about mail we sent is applied here."""
    from switchboard.channels.email import MailReport
    from switchboard.services import mail_feedback

    source = mail.get("source")
    try:
        parsed = channel.read(raw, ses_message_id=message_id, recipients=recipients, raw_ref=key, bucket=bucket,
                              envelope_sender=source if isinstance(source, str) else None,
                              authentication=_authentication(receipt))
    except MalformedPayload:
        return "malformed", None
    except Exception as exc:  # noqa: BLE001  (the last line: no mail, however malformed, may fail the function)
        # What failed, by its type only (never the content): a case for the parser to learn.
        observability.count_by_reason("EmailsMalformed", "email", type(exc).__name__)
        return "malformed", None
    if isinstance(parsed, MailReport):
        return mail_feedback.apply_report(Table(), parsed), None
    if parsed is None:
        return "dropped", None  # no usable sender, or our own mail come back
    return "messages", parsed


def _authentication(receipt: dict[str, Any]) -> dict[str, str]:
    """SES's SPF, DKIM and DMARC verdicts of the receipt (and the sender's DMARC policy, given when DMARC failed)."""
    verdicts = {name: _verdict(receipt, f"{name}Verdict") for name in ("spf", "dkim", "dmarc")}
    policy = receipt.get("dmarcPolicy")
    if isinstance(policy, str):
        verdicts["dmarc_policy"] = policy
    return verdicts


def _first_delivery(message: InboundMessage) -> bool:
    """Whether this SES delivery is the first of its mail: keyed by (Message-ID, sender, inbox), so that neither a
    forged Message-ID from someone else nor the same Message-ID sent to another inbox hides a message."""
    if not message.message_ref:
        return True
    alias = "msgid:" + hashlib.sha256("\x1f".join((message.message_ref, message.sender_id, message.inbox_id))
                                      .encode("utf-8", "surrogatepass")).hexdigest()[:40]
    now = clock.epoch()
    holder = markers.claim_alias(Table(), "email", alias, message.provider_message_id, now,
                                 now + get_settings().dedupe_ttl_seconds)
    return holder == message.provider_message_id  # ours, or a retry of the SES event that claimed it


def _read(bucket: str, key: str) -> bytes:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return aws.s3().get_object(Bucket=bucket, Key=key)["Body"].read()
    except (BotoCoreError, ClientError) as exc:
        # Missing included: the S3 action runs first, so a missing object is a misconfiguration worth retrying
        # into the on-failure destination, not mail to drop silently.
        raise ServiceUnavailable("S3 get of the raw email failed") from exc


def _set_aside(bucket: str, key: str, target: str) -> None:
    """Move the raw message out of inbound-email/. Idempotent: a redelivered event finds it moved already."""
    from botocore.exceptions import BotoCoreError, ClientError

    s3 = aws.s3()
    try:
        s3.copy_object(Bucket=bucket, Key=target, CopySource={"Bucket": bucket, "Key": key})
    except ClientError as exc:
        if aws.error_code(exc) not in ("NoSuchKey", "404"):
            raise ServiceUnavailable("S3 copy of the raw email failed") from exc
        return  # moved by an earlier attempt
    except BotoCoreError as exc:
        raise ServiceUnavailable("S3 copy of the raw email failed") from exc
    try:
        s3.delete_object(Bucket=bucket, Key=key)
    except (BotoCoreError, ClientError) as exc:
        raise ServiceUnavailable("S3 delete of the raw email failed") from exc

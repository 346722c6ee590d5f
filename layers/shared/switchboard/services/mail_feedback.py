"""What mail systems report about the email we send: bounces, complaints and read receipts.

Two ways in: SES's own events for mail sent with the configuration set (SNS -> SesEventsFunction), and reports mailed
to our inbox (DSN, ARF, MDN, read by channels/email.py in the email function). A bounce marks the reply it names
failed, with the reason; a complaint, or a permanent failure of the address itself, puts the address on the
suppression list, after which no automated mail goes to it (see automation and sending for agents' replies).
Counts only, never addresses, in what is returned and logged.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from switchboard import clock, observability
from switchboard.store import contacts, conversations, delivery, messages
from switchboard.store import suppression as store_suppression
from switchboard.store.table import Table

if TYPE_CHECKING:
    from switchboard.channels.email import MailReport

CHANNEL = "email"
ADDRESS = re.compile(r"<?[^@\s<>,;:\"()\[\]\\]{1,64}@[^@\s<>,;:\"()\[\]\\]{1,253}>?")  # in brackets or not
OUTCOMES = {"bounce": "bounces", "complaint": "complaints", "read_receipt": "receipts"}
MAX_REASON = 300


# -- reports mailed to our inbox ---------------------------------------------------------------------------------
def apply_report(table: Table, report: MailReport) -> str:
    """Apply a report to the reply it is about. Returns the count it goes in: 'bounces', 'complaints', 'receipts', or
    'backscatter' when it names no reply of ours (a bounce of mail forged in our name, a report about mail someone
    else sent): never a conversation, and never a reason to suppress an address."""
    found = _our_reply(table, report.refs)
    if found is None:
        return "backscatter"
    ref, reply = found
    if report.status:
        delivery.apply_receipt(table, CHANNEL, ref, report.status, clock.epoch(),
                               report.reason if report.status == "failed" else None)
    if report.suppress:
        conv = conversations.get(table, reply.conversation_id)
        if conv is not None:
            # The address the reply went to, as recorded: never an address the report itself names, which anyone
            # could write.
            suppress(table, conv.recipient, report.kind)
    observability.count_by_reason("EmailReports", CHANNEL, report.kind)
    return OUTCOMES.get(report.kind, "backscatter")


def _our_reply(table: Table, refs: tuple[str, ...]) -> tuple[str, Any] | None:
    """(the reference, the message) of the first reference that names a message we sent."""
    for ref in refs:
        item = delivery.provider_message(table, CHANNEL, ref)
        if not item:
            continue
        message = messages.get_message(table, item["conversation_id"], item["created_at"], item["message_id"],
                                       consistent=False)
        if message is not None and message.direction == "outbound":
            return ref, message
    return None


# -- SES's events (configuration set -> SNS) ---------------------------------------------------------------------
def handle_ses_notifications(event: dict[str, Any], table: Table | None = None) -> dict[str, int]:
    """SNS records of SES events (configuration set publishing, or identity notifications). A bounce of one of our
    replies marks it failed with the reason; permanent bounces and complaints suppress their recipients."""
    from switchboard.channels.email import ses_alias

    table = table or Table()
    counts = {"records": 0, "suppressed": 0, "ignored": 0}
    records = event.get("Records") if isinstance(event, dict) else None
    for record in records if isinstance(records, list) else []:
        counts["records"] += 1
        try:
            message = json.loads(((record or {}).get("Sns") or {}).get("Message") or "{}")
        except (ValueError, TypeError, AttributeError):
            counts["ignored"] += 1
            continue
        if not isinstance(message, dict):
            counts["ignored"] += 1
            continue
        kind = message.get("eventType") or message.get("notificationType")
        mail = _dict(message.get("mail"))
        replied = False
        if kind == "Bounce":
            bounce = _dict(message.get("bounce"))
            bounced = [_dict(r) for r in bounce.get("bouncedRecipients") or [] if isinstance(r, dict)]
            ses_id = mail.get("messageId")
            if isinstance(ses_id, str) and ses_id:
                replied = delivery.apply_receipt(table, CHANNEL, ses_alias(ses_id), "failed", clock.epoch(),
                                                 _bounce_reason(bounce, bounced)) == "applied"
            recipients = [r.get("emailAddress") for r in bounced] if bounce.get("bounceType") == "Permanent" else []
        elif kind == "Complaint":
            complaint = _dict(message.get("complaint"))
            recipients = [_dict(r).get("emailAddress") for r in complaint.get("complainedRecipients") or []]
        else:
            recipients = []
        addresses = [a for a in recipients if isinstance(a, str) and a.strip()]
        if replied:
            counts["replies_failed"] = counts.get("replies_failed", 0) + 1
        elif not addresses:
            counts["ignored"] += 1  # transient bounces of surveys, deliveries: nothing to do
            continue
        for address in addresses:
            suppress(table, address, str(kind).lower())
            counts["suppressed"] += 1
    return counts


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _bounce_reason(bounce: dict[str, Any], bounced: list[dict[str, Any]]) -> str:
    first = bounced[0] if bounced else {}
    status, diagnostic = str(first.get("status") or ""), str(first.get("diagnosticCode") or "")
    kind = "/".join(str(bounce.get(k)) for k in ("bounceType", "bounceSubType") if bounce.get(k))
    text = f"bounced{f' ({status})' if status else ''}: {diagnostic or kind or 'no reason given'}"
    return ADDRESS.sub("<address>", " ".join(text.split()))[:MAX_REASON]


# -- the suppression list ------------------------------------------------------------------------------------------
def suppress(table: Table, address: str, reason: str) -> bool:
    """A bounce or complaint: no automated mail to this address again. True when a contact has the address."""
    from switchboard.services.survey import cancel_for_contact

    address = address.strip().lower()
    observability.count("SurveyBounces")  # the name the alarm and dashboard know: every suppression
    store_suppression.suppress(table, address, reason, clock.iso(clock.now()))
    contact = contacts.find(table, f"email:{address}")
    if contact is None:
        return False
    contacts.set_email_suppressed(table, contact.id)
    cancel_for_contact(table, contact.id)
    return True


def suppression(table: Table, address: str) -> dict[str, Any] | None:
    """The suppression of an address ({'reason', 'at'}), or None when it may be mailed."""
    return store_suppression.get(table, address)


SUPPRESSION_TEXT = {"complaint": "a complaint (the customer marked our mail as spam)",
                    "bounce": "a permanent bounce (the mailbox does not exist or is disabled)"}


def suppressed_reason(item: dict[str, Any]) -> str:
    """Why a send to a suppressed address failed, for the agent."""
    cause = SUPPRESSION_TEXT.get(str(item.get("reason")), "bounces or complaints")
    return (f"not sent: this address has been on the suppression list since {str(item.get('at', ''))[:10]} after "
            f"{cause}. Replies go out again once the customer writes to us.")

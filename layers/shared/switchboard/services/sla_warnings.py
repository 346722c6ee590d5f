"""Warning an assignee that an SLA target is about to be missed (issue 14). There is no notification system yet: the
warning is recorded on the conversation (the app shows it) and mailed to the assignee through SES, as surveys are
sent. This one function is all a notification system has to replace (ARCHITECTURE.md: `sla_warning`)."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid
from typing import TYPE_CHECKING

from switchboard import aws, clock
from switchboard.errors import ServiceUnavailable
from switchboard.settings import get_settings

if TYPE_CHECKING:
    from switchboard.models import Conversation

TARGET_TEXT = {"first_response": "first response", "next_response": "next response", "resolution": "resolution"}


def warn(conv: Conversation, target: str, due_at: str) -> bool:
    """Mail the conversation's assignee (nobody when unassigned: the app shows the warning to every agent). No message
    text, no customer's name or address: the conversation's id, channel and link. Raises ServiceUnavailable when SES
    fails, so that the timer tries again."""
    if not conv.assignee:
        return False
    settings = get_settings()
    sender = settings.email_from_address or settings.survey_from_address or "support@example.com"
    what = TARGET_TEXT.get(target, target)
    due = clock.parse_iso(due_at).strftime("%Y-%m-%d %H:%M UTC")
    link = f"{settings.app_url.rstrip('/')}/#/c/{conv.id}" if settings.app_url else f"conversation {conv.id}"
    mail = EmailMessage()
    mail["From"], mail["To"] = sender, conv.assignee
    mail["Subject"] = f"SLA: the {what} of a {conv.channel} conversation is due at {due}"
    mail["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no automatic answers to it
    mail.set_content(f"The {what} target of a conversation assigned to you is due at {due}.\n\n"
                     f"Open it: {link}\n\nSwitchboard")
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        extra = {"ConfigurationSetName": settings.ses_configuration_set} if settings.ses_configuration_set else {}
        aws.client("sesv2").send_email(FromEmailAddress=sender, Destination={"ToAddresses": [conv.assignee]},
                                       Content={"Raw": {"Data": mail.as_bytes()}}, **extra)
    except (BotoCoreError, ClientError) as exc:
        raise ServiceUnavailable("SES send failed") from exc
    return True

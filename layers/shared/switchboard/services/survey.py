"""Satisfaction surveys: one email per resolution with signed, single-use, expiring rating links."""

from __future__ import annotations

import email.utils
import html
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import TYPE_CHECKING, Any

from switchboard import aws, clock, observability, secrets, tokens
from switchboard.errors import BadRequest, Forbidden, NotFound, ServiceUnavailable
from switchboard.services import jobs, survey_answers
from switchboard.services.automation_config import load as load_settings
from switchboard.services.survey_answers import Decision, Source
from switchboard.settings import get_settings
from switchboard.store import contacts, due, surveys
from switchboard.store.table import Table

if TYPE_CHECKING:
    from switchboard.automation_settings import SurveySettings


# -- tokens ------------------------------------------------------------------------------------
def _key() -> bytes:
    key = secrets.get("survey_signing_key")
    if not key:
        raise ServiceUnavailable("no survey signing key configured")
    return key.encode()


MAC_BYTES = 20  # a 160-bit MAC keeps the links short


def rate_limit_key() -> bytes:
    """The key the survey pages' rate-limit counters name client addresses with (services/ratelimit.subject)."""
    return tokens.derive(_key(), b"switchboard survey rate limits")


def make_token(conv_id: str, resolution: str, expires: int) -> str:
    return tokens.issue({"c": conv_id, "r": resolution, "e": expires}, _key(), mac_bytes=MAC_BYTES)


def read_token(token: str) -> tuple[str, str]:
    """(conversation id, resolution) of a genuine, unexpired token."""
    try:
        claims = tokens.read(token, _key(), mac_bytes=MAC_BYTES)
        conv_id, resolution, expires = str(claims["c"]), str(claims["r"]), int(claims["e"])
    except (ValueError, KeyError, TypeError):
        raise Forbidden("this survey link is not valid", code="invalid_token") from None
    if clock.epoch() > expires:
        raise Forbidden("this survey link has expired", code="expired_token")
    return conv_id, resolution


# -- sending -----------------------------------------------------------------------------------
def send(table: Table, entry: dict[str, Any]) -> bool:
    """Email the survey for one resolution, at most once, from what its due entry carries (workflow.resolve put
    it there after checking the contact; reopening, opting out or a bounce delete it). Raises ServiceUnavailable
    when SES fails, so the job tries again on its next run."""
    if entry.get("in_channel"):  # rich replies: the rating question in the customer's own channel
        from switchboard.services import channel_survey

        return channel_survey.send(table, entry)
    config = load_settings(table).survey
    if not config.enabled or not entry.get("email"):
        return False
    expires = int((clock.now() + timedelta(days=config.expires_days)).timestamp())
    conv_id, resolution = entry["conversation_id"], entry["resolution"]
    if not surveys.claim(table, conv_id, resolution, resolved_by=entry.get("resolved_by"),
                         sent_at=clock.iso(clock.now()), expires_token=expires):
        return False  # already sent for this resolution
    try:
        token = make_token(conv_id, resolution, expires)
        _email(entry["email"], entry.get("name"), token, config)
    except Exception:  # whatever stopped it (then raised again): the claim must not outlive a send that never was
        surveys.release(table, conv_id, resolution)  # not sent: let the next run try again
        raise
    surveys.mark_sent(table, conv_id, resolution)
    observability.count("SurveysSent")
    return True


def _due(table: Table, item: dict[str, Any]) -> bool:
    # Sent (or decided against) first, then the entry goes: a failed send stays due for the next run,
    # and send's own claim keeps two runs from mailing twice.
    sent = send(table, item)
    due.take(table, item)
    return sent


def run() -> dict[str, int]:
    """The survey job: every survey due now."""
    return jobs.run("survey", _due)


def cancel_for_contact(table: Table, contact_id: str) -> int:
    """Drop the contact's pending surveys (opted out, address changed or bouncing)."""
    _, _, conversation_ids = contacts.related(table, contact_id)
    return due.cancel_all(table, conversation_ids, [due.SURVEY])


def _email(to: str, name: str | None, token: str, config: SurveySettings) -> None:
    """Every word of it comes from the survey settings (subject, text, hello, rating_prompt, closing)."""
    from switchboard.channels.email import LOOP_HEADER, loop_marker

    settings = get_settings()
    base = settings.public_base_url.rstrip("/")
    links = [(n, f"{base}/survey/{token}?rating={n}") for n in range(1, 6)]
    greeting = f"{config.hello} {name}," if name else f"{config.hello},"
    text = "\n".join([greeting, "", config.text, config.rating_prompt, ""]
                     + [f"{n}: {url}" for n, url in links] + ["", config.closing])
    buttons = " ".join(f'<a href="{html.escape(url)}" style="padding:8px 14px;border:1px solid #345;'
                       f'border-radius:4px;text-decoration:none">{n}</a>' for n, url in links)
    body_html = (f"<p>{html.escape(greeting)}</p><p>{html.escape(config.text)} {html.escape(config.rating_prompt)}"
                 f"</p><p>{buttons}</p><p>{html.escape(config.closing)}</p>")
    subject = config.subject
    sender = settings.survey_from_address or settings.email_from_address or "support@example.com"
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, to, subject
    mail["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    # RFC 3834 section 5: generated by a process, not answering a message; out-of-office replies and other
    # responders leave it unanswered. X-Loop recognizes it should it ever come back to our inbox.
    mail["Auto-Submitted"] = "auto-generated"
    mail[LOOP_HEADER] = loop_marker(email.utils.parseaddr(sender)[1])
    mail.set_content(text)
    mail.add_alternative(body_html, subtype="html")
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        extra = {"ConfigurationSetName": settings.ses_configuration_set} if settings.ses_configuration_set else {}
        aws.client("sesv2").send_email(FromEmailAddress=sender, Destination={"ToAddresses": [to]},
                                       Content={"Raw": {"Data": mail.as_bytes()}}, **extra)
    except (BotoCoreError, ClientError) as exc:
        raise ServiceUnavailable("SES send failed") from exc


# -- answers -----------------------------------------------------------------------------------
def record_rating(table: Table, token: str, rating: int, source: Source = "link") -> tuple[str, bool]:
    """Record the customer's answer (services/survey_answers.py: scanners' clicks are held, a later answer replaces
    an earlier one). Returns (conversation id, whether it changed the survey's counted rating)."""
    conv_id, decision = answer_token(table, token, rating, source)
    return conv_id, decision.outcome == "counted"


def answer_token(table: Table, token: str, rating: int, source: Source = "link") -> tuple[str, Decision]:
    """An answer through a survey link (`source` "link") or its page's form ("page"): what it did."""
    if rating not in range(1, 6):
        raise BadRequest("the rating must be 1 to 5", code="invalid_rating")
    conv_id, resolution = read_token(token)
    decision = survey_answers.answer(table, conv_id, resolution, rating, source)
    if decision.outcome == "counted":  # growth: csat.submitted, for other systems (a held click is not an answer)
        from switchboard.services import events

        events.csat_submitted(table, conv_id, rating, decision.resolved_by)
    return conv_id, decision


def survey_state(table: Table, token: str) -> dict[str, Any]:
    """The survey a genuine token names, as its page shows it (NotFound when gone)."""
    conv_id, resolution = read_token(token)
    record = surveys.get(table, conv_id, resolution)
    if record is None:
        raise NotFound("this survey is no longer available", code="survey_gone")
    return record


def record_comment(table: Table, token: str, comment: str) -> None:
    conv_id, resolution = read_token(token)
    comment = comment.strip()[:2000]
    if not comment:
        raise BadRequest("the comment is empty", code="empty_comment")
    # on the survey record, once, and on the conversation beside its rating, for the agents to read
    if not surveys.add_comment(table, conv_id, resolution, comment):
        raise BadRequest("a comment was already recorded, or there is no rating yet", code="comment_refused")

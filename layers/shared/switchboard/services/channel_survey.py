"""The satisfaction survey in the customer's own channel (rich replies, issue 13; settings `survey.in_channel`).

Most WhatsApp, SMS, Messenger, Instagram, Telegram and web chat customers have no email address, so the survey email
never reaches them. For those, resolving a conversation schedules the rating question in its own channel instead
(services/workflow.py), and the survey job (SurveyFunction, services/survey.py) sends it once per resolution, as an
automated message of the conversation with five choices: WhatsApp an interactive list, Telegram an inline keyboard,
Messenger and Instagram quick replies, web chat buttons, SMS the question asking for a digit. Only while the
channel's window for automated messages is open (past WhatsApp's, as the approved template survey.whatsapp_template
names, its quick-reply buttons answering as the list would), never to a contact who opted out (of surveys, or of the channel)
or is marked do not contact, never for automated mail or what automation resolved (as by email).

The answer (a choice's payload `csat:<rating>:<resolution>`, or on any of these channels a lone digit 1 to 5 while
the conversation is still resolved and the question valid) is recorded as the survey's rating through the same
code as the email's (services/survey_answers.py: same CSAT counters, same agent credit, a later answer replaces an
earlier one and is never counted twice), and is not stored as a customer message: the conversation stays resolved.
A message the customer writes within `comment_minutes` after answering is kept as the rating's comment, once."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from switchboard import clock, ids, observability
from switchboard.errors import NotFound
from switchboard.services import optouts, survey_answers
from switchboard.services.automation_config import backstop_expiry
from switchboard.services.automation_config import load as load_settings
from switchboard.services.sending import hand_over, window_open
from switchboard.store import contacts, conversations, rich_replies, surveys

if TYPE_CHECKING:
    from switchboard.automation_settings import SurveySettings
    from switchboard.models import Contact, Conversation, InboundMessage, Message
    from switchboard.store.table import Table

CHANNELS = frozenset({"whatsapp", "telegram", "messenger", "instagram", "sms", "webchat"})
SENDER = "automation:survey"
PAYLOAD = re.compile(r"csat:([1-5]):(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")
DIGIT = re.compile(r"\s*([1-5])\s*[.!]?\s*")


def eligible(contact: Contact | None, conv: Conversation) -> bool:
    """May the rating question go to this contact in this conversation's channel (checked when it is resolved, and
    again when the question is due)?"""
    return (contact is not None and not contact.email and not contact.surveys_opt_out and not conv.blocked
            and conv.channel in CHANNELS and optouts.refusal(contact, conv.channel, automated=True) is None)


def choices(config: SurveySettings, resolution: str) -> list[dict[str, str]]:
    return [{"id": f"csat:{n}:{resolution}", "title": f"{n} {label}"}
            for n, label in enumerate(config.rating_labels, start=1)]


# -- asking ---------------------------------------------------------------------------------------------------------
def send(table: Table, entry: dict[str, Any]) -> bool:
    """Ask the rating question of one resolution in its channel, at most once (the survey record is the claim, as
    for the email). False when it is not to be asked (any more): settings off, reopened, consent withdrawn, the
    window closed. A failure to queue it releases the claim and raises, so that the job's next run tries again."""
    config = load_settings(table).survey
    conv_id, resolution = entry["conversation_id"], entry["resolution"]
    if not (config.enabled and config.in_channel):
        return False
    conv = conversations.get(table, conv_id, consistent=True)
    if conv is None or conv.status != "resolved" or conv.resolved_at != resolution:
        return False  # reopened (or resolved again, which scheduled its own) or gone
    if not eligible(contacts.get(table, conv.contact_id), conv):
        observability.count_by_reason("SurveysSkipped", conv.channel, "consent")
        return False
    asked = question(table, conv, config, resolution)
    message = asked if window_open(conv, human=False) else past_window_question(table, conv, config, resolution, asked)
    if message is None:
        observability.count_by_reason("SurveysSkipped", conv.channel, "window_closed")
        return False
    expires = int((clock.now() + timedelta(days=config.expires_days)).timestamp())
    if not surveys.claim(table, conv_id, resolution, resolved_by=entry.get("resolved_by"),
                         sent_at=clock.iso(clock.now()), expires_token=expires):
        return False  # asked already for this resolution
    try:
        rich_replies.ask_survey(table, conv_id, {"resolution": resolution, "expires_at": expires})
        hand_over(table, conv, message, counts_as_response=False)
    except Exception:  # not asked: the next run may try again (and the claim must not outlive a send that never was)
        surveys.release(table, conv_id, resolution)
        raise
    surveys.mark_sent(table, conv_id, resolution)
    observability.count_by_channel("SurveysSentInChannel", conv.channel)
    return True


def question(table: Table, conv: Conversation, config: SurveySettings, resolution: str) -> Message:
    from switchboard.models import Message

    now = clock.now()
    return Message(id=ids.stable_id("m_", "survey", conv.id, resolution), conversation_id=conv.id,
                   direction="outbound", channel=conv.channel, type="survey",
                   text=config.in_channel_sms_text if conv.channel == "sms" else config.in_channel_text,
                   created_at=clock.iso(now), status="queued", sender=SENDER,
                   choices=choices(config, resolution), choices_label=config.in_channel_button,
                   expires_at=backstop_expiry(table, conv.channel, now.timestamp()))


def past_window_question(table: Table, conv: Conversation, config: SurveySettings, resolution: str,
                         message: Message) -> Message | None:
    """Past WhatsApp's 24-hour window: the question as the configured approved template, whose quick-reply buttons
    answer as the list's choices would (None: no template configured or usable, or another channel)."""
    if conv.channel != "whatsapp" or not config.whatsapp_template:
        return None
    from switchboard.services import templates

    made = templates.survey_template(table, config.whatsapp_template, [c["id"] for c in choices(config, resolution)])
    if made is None:
        observability.count_by_reason("SurveysSkipped", conv.channel, "template_unusable")
        return None
    template, text = made
    return message.model_copy(update={"template": template, "text": text, "choices": None, "choices_label": None})


# -- answers --------------------------------------------------------------------------------------------------------
def on_inbound(table: Table, event: InboundMessage, contact: Contact, conv: Conversation) -> str | None:
    """Take a customer's message that answers the in-channel survey (a rating, or the comment after one): what it
    was ('survey_answer', 'survey_comment'), or None for a message to store as usual. Idempotent: a redelivery of
    an answer changes nothing more, and one of a comment is recognized."""
    from switchboard.models import dedupe_id

    if event.echo or event.channel not in CHANNELS or conv.channel != event.channel:
        return None
    found = PAYLOAD.fullmatch(event.payload or "")
    marker = conv.channel_survey if isinstance(conv.channel_survey, dict) else None
    if found:
        rating, resolution = int(found.group(1)), found.group(2)
    elif marker is None or conv.status != "resolved" or marker.get("resolution") != conv.resolved_at \
            or clock.epoch() > int(marker.get("expires_at") or 0):
        return None
    elif (digit := DIGIT.fullmatch(event.text or "")) and not event.attachments:
        rating, resolution = int(digit.group(1)), str(marker["resolution"])
    else:
        return _comment(table, event, conv, marker, dedupe_id(event))
    record = surveys.get(table, conv.id, resolution)
    if record is None or clock.epoch() > int(record.get("expires_token") or 0):
        if found:  # our own button, pressed too late: nothing to record, and nothing for an agent to read
            observability.count_by_reason("SurveyAnswersRefused", event.channel, "expired")
            return "survey_expired"
        return None
    try:
        decision = survey_answers.answer(table, conv.id, resolution, rating, "channel")
    except NotFound:
        return None
    if decision.outcome == "counted":
        from switchboard.services import automation, events

        events.csat_submitted(table, conv.id, rating, record.get("resolved_by"))
        rich_replies.survey_rated(table, conv.id, resolution, clock.iso(clock.now()))
        config = load_settings(table).survey
        if decision.new_response:  # thanked once, and asked for a comment
            automation.send_automated(table, conv, config.in_channel_thanks, "survey_thanks", contact)
    return "survey_answer"


def _comment(table: Table, event: InboundMessage, conv: Conversation, marker: dict[str, Any], event_key: str
             ) -> str | None:
    """The first message after the rating, within comment_minutes, as the rating's comment (text only)."""
    rated_at = marker.get("rated_at")
    text = (event.text or "").strip()
    if not rated_at or not text or event.attachments:
        return None
    if marker.get("commented") == event_key:
        return "survey_comment"  # a redelivery of the comment taken
    minutes = load_settings(table).survey.comment_minutes
    if marker.get("commented") or (clock.now() - clock.parse_iso(str(rated_at))).total_seconds() > minutes * 60:
        return None
    resolution = str(marker["resolution"])
    if not rich_replies.survey_commented(table, conv.id, resolution, event_key):
        return None
    surveys.add_comment(table, conv.id, resolution, text[:2000])
    observability.count_by_channel("SurveyCommentsInChannel", conv.channel)
    return "survey_comment"

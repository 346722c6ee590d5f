"""Automated replies and the scheduled jobs. Every step is claimed once (a conditional write), so a rerun,
a retry or an overlap never sends twice. Jobs read only what is due (DueIndex), never the table."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from switchboard import clock, ids
from switchboard.services import jobs, mail_feedback, optouts
from switchboard.services.automation_config import backstop_expiry
from switchboard.services.automation_config import load as load_settings
from switchboard.services.sending import hand_over, window_open
from switchboard.store import claims, conversations, due
from switchboard.store.table import ConditionFailed, Table

if TYPE_CHECKING:
    from switchboard.models import Contact, Conversation, Message


# Channels no automated text is sent on (issue 17: voice conversations are answered by SMS or WhatsApp).
SILENT_CHANNELS = frozenset({"voice"})


def send_automated(table: Table, conv: Conversation, text: str, kind: str,
                   contact: Contact | None = None, message_id: str | None = None) -> Message | None:
    """An automated reply: respects the reply window, never counts as an agent's response. With `contact`, never to
    one who opted out of the channel or is marked do not contact (the scheduled jobs, which read only their due
    entries, rely on those entries being dropped when the contact's consent changes: services/optouts.py)."""
    from switchboard.models import AUTOMATED_SENDER, Message

    if not window_open(conv, human=False) or conv.blocked:  # the human-agent window is for people only
        return None
    if conv.channel in SILENT_CHANNELS:  # issue 17: a call was greeted by its TwiML; nothing is sent on voice
        return None
    if conv.kind == "comment":  # issue 17: nothing automated is ever posted on a public comment thread
        return None
    if optouts.refusal(contact, conv.channel, automated=True):
        return None
    if conv.channel == "email" and mail_feedback.suppression(table, conv.recipient):
        return None  # the address bounced for good or complained: no automated mail to it
    message = Message(id=message_id or ids.new_id("m_"), conversation_id=conv.id, direction="outbound",
                      channel=conv.channel, text=text, created_at=clock.iso(clock.now()), status="queued",
                      sender=f"{AUTOMATED_SENDER}{kind}",
                      expires_at=backstop_expiry(table, conv.channel, clock.now().timestamp()))
    hand_over(table, conv, message, counts_as_response=False)
    return message


def on_inbound(table: Table, conv: Conversation, contact: Contact, message: Message, first_contact: bool,
               previous_inbound: str | None = None, already_waiting: bool = False,
               new_conversation: bool = False) -> list[str]:
    """After a customer message is stored: greeting, away message, and the auto-reply's wait.

    `previous_inbound`: when the customer last wrote in this conversation before this message.
    `already_waiting`: the customer was waiting for an answer before this message, so the wait (and its one
    holding reply) has begun; no write is needed to know it.
    `new_conversation`: this message opened the conversation."""
    from switchboard import business_hours

    if message.auto_submitted:
        # Mail a machine sent (an out-of-office reply, list or bulk mail, a notification) never gets an automated
        # answer, whatever channel flags it: RFC 3834's rule, and what keeps two responders from mailing each other
        # for ever. A conversation it opens is marked so, which also keeps the survey from it.
        if new_conversation:
            _mark_automated(table, conv, message.auto_submitted)
        return []
    if conv.auto_submitted:
        _mark_automated(table, conv, None)  # a person wrote in it after all
    if optouts.refusal(contact, conv.channel, automated=True):
        return []  # opted out of the channel, or do not contact: no greeting, away message or holding reply
    if (message.authentication or {}).get("dmarc") == "FAIL":
        # The sender's domain disowns this mail: an automated answer could land with someone who never wrote
        # (backscatter). Agents see the warning and answer if it is genuine.
        return []
    config = load_settings(table)
    now = clock.now()
    sent: list[str] = []
    greeting = config.greeting
    quiet_days = greeting.after_inactive_days
    quiet = (clock.parse_iso(message.created_at) - clock.parse_iso(previous_inbound)) if previous_inbound else None
    back_after_a_while = bool(quiet_days and quiet is not None and quiet >= timedelta(days=quiet_days))
    if greeting.enabled and ((first_contact and claims.claim_greeting(table, contact.id))
                             or (back_after_a_while and claims.claim_greeting(table, contact.id, message.id))):
        if send_automated(table, conv, greeting.text, "greeting", contact):
            sent.append("greeting")
    if config.away.enabled and not business_hours.is_open(config.business_hours, now):
        answered_lately = conv.last_agent_reply_at and \
            now - clock.parse_iso(conv.last_agent_reply_at) < timedelta(minutes=config.away.min_minutes_since_agent)
        day = business_hours.local_date(config.business_hours, now).isoformat()
        if not answered_lately and claims.claim_away(table, conv.id, day, int(now.timestamp()) + 3 * 86400):
            if send_automated(table, conv, config.away.text, "away", contact):
                sent.append("away")
    if config.auto_reply.enabled and not already_waiting:
        # The wait starts at the first unanswered message: an existing entry is left as it is, also once the
        # holding reply went out (one per wait). The entry carries what the job needs to reply, so the job reads
        # nothing else; an agent's reply, resolving or parking the conversation deletes it.
        due_at = clock.iso(now + timedelta(minutes=config.auto_reply.after_minutes))
        due.schedule_auto_reply(table, conv.id, due_at, message.created_at,
                                conv.model_dump(mode="json", include=AUTO_REPLY_FIELDS))
    return sent


def _mark_automated(table: Table, conv: Conversation, reason: str | None) -> None:
    """Conversation.auto_submitted: set while every customer message in it is automated mail."""
    conversations.set_auto_submitted(table, conv.id, reason)


AUTO_REPLY_FIELDS = {"id", "channel", "inbox_id", "contact_id", "recipient", "status", "created_at", "updated_at",
                     "last_inbound_at", "blocked"}


def _auto_reply(table: Table, item: dict[str, Any]) -> bool:
    """The entry exists only while the customer waits (see on_inbound): claim it, reply once.

    The claimed entry stays, off the index, until an agent answers, the conversation is resolved or parked: while
    it is there, later messages of the same wait find it and start no new one, so a customer who keeps writing
    without an answer gets one holding reply, not one per message."""
    from switchboard.models import Conversation

    config = load_settings(table)
    if not config.auto_reply.enabled:
        due.take(table, item)  # nothing to send; a wait after auto-replies are turned back on starts afresh
        return False
    if not due.settle(table, item, replied_at=clock.iso(clock.now())):
        return False
    conv = Conversation.model_validate(item["conversation"])
    try:
        return send_automated(table, conv, config.auto_reply.text, "auto_reply") is not None
    except ConditionFailed:
        return False  # the conversation was deleted meanwhile


def run_auto_reply() -> dict[str, int]:
    return jobs.run("auto_reply", _auto_reply)

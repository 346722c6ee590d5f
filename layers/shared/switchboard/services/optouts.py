"""Consent: SMS opt-out keywords (Twilio's STOP and START), Twilio's opt-out error 21610, and what a contact's
`do_not_contact` and `opted_out` refuse.

- A customer's SMS that is exactly one of Twilio's opt-out keywords opts the contact out of SMS; an opt-in keyword
  opts them back in (Twilio itself answers the keyword and blocks sends meanwhile with error 21610, which opts the
  contact out here too). The keyword message is still stored: agents see why.
- `opted_out` channels get nothing: an agent's send is 409 `opted_out`, and no automated message goes there.
- `do_not_contact` gets no automated message of any kind (greeting, away, auto-reply, surveys) and no conversation an
  agent starts; an agent may still answer a conversation the customer opened (they asked for the answer).
Setting either drops the contact's pending holding replies and surveys, so the scheduled jobs (which read only
their due entries) never reach them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from switchboard import clock, observability
from switchboard.errors import Conflict, NotFound
from switchboard.store import contacts, conversations, due, optouts
from switchboard.store.table import Table

if TYPE_CHECKING:
    from switchboard.models import Contact, Conversation, InboundMessage

# Twilio's default opt-out and opt-in keywords (Advanced Opt-Out), matched as the whole message, any case.
STOP_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_KEYWORDS = frozenset({"START", "UNSTOP", "YES"})
KEYWORD_CHANNELS = ("sms",)


def keyword(text: str) -> str | None:
    """'stop', 'start' or None for a message's text (the whole message, trimmed, any case, a final '.' or '!' let
    go, as people type it)."""
    word = " ".join(text.split()).upper().rstrip(".!")
    if word in STOP_KEYWORDS:
        return "stop"
    if word in START_KEYWORDS:
        return "start"
    return None


def on_inbound(table: Table, event: InboundMessage, contact: Contact) -> Contact:
    """Apply an opt-out or opt-in keyword the customer sent by SMS (WhatsApp over Twilio has no keywords). Returns
    the contact as it is now. Idempotent, and a keyword older than the last change is ignored."""
    if event.channel not in KEYWORD_CHANNELS or event.sender_id.startswith("whatsapp:") or event.echo:
        return contact
    found = keyword(event.text)
    if found is None:
        return contact
    at = clock.iso(clock.from_epoch(event.timestamp))
    applied = optouts.set_opted_out(table, contact.id, event.channel, found == "stop", at)
    if applied:
        observability.count_by_reason("OptOuts", event.channel, found)
        if found == "stop":
            _cancel_pending(table, contact.id)
    fresh = contacts.get(table, contact.id)
    return fresh or contact


def after_keyword(table: Table, event: InboundMessage, conv: Conversation) -> Conversation:
    """An opt-in keyword: the conversation that a refused send (21610) marked blocked can be answered again."""
    if conv.blocked and event.channel in KEYWORD_CHANNELS and keyword(event.text) == "start":
        conversations.set_blocked(table, conv.id, False)
        return conv.model_copy(update={"blocked": False})
    return conv


def on_provider_opt_out(table: Table, contact_id: str, channel: str) -> None:
    """The provider refused a send because the customer opted out there (Twilio 21610): record it."""
    if optouts.set_opted_out(table, contact_id, channel, True, clock.iso(clock.now())):
        observability.count_by_reason("OptOuts", channel, "provider")
        _cancel_pending(table, contact_id)


def _cancel_pending(table: Table, contact_id: str) -> None:
    try:
        _, _, conversation_ids = contacts.related(table, contact_id)
    except NotFound:  # the contact is gone: nothing pending either
        return
    due.cancel_all(table, conversation_ids, [due.SURVEY, due.AUTO_REPLY])


def refusal(contact: Contact | None, channel: str, *, automated: bool = False, first_contact: bool = False) -> str | None:
    """Why nothing may be sent to the contact on this channel now, or None."""
    if contact is None:
        return None
    if channel in contact.opted_out:
        return f"the customer opted out of {channel.upper() if channel == 'sms' else channel} messages"
    if contact.do_not_contact and (automated or first_contact):
        return "the customer is marked do not contact"
    return None


def check_send(contact: Contact | None, channel: str, *, first_contact: bool = False) -> None:
    """An agent's send: 409 `opted_out`, saying why, when the contact may not be written to there."""
    reason = refusal(contact, channel, first_contact=first_contact)
    if reason:
        raise Conflict(f"{reason}: nothing was sent", code="opted_out")


def update(table: Table, contact_id: str, do_not_contact: bool | None, opted_out: list[str] | None) -> None:
    """An agent's edit of the consent fields (PATCH /api/contacts/{id}): `opted_out` is the whole new list."""
    now = clock.iso(clock.now())
    if do_not_contact is not None:
        optouts.set_do_not_contact(table, contact_id, do_not_contact)
    if opted_out is not None:
        current = contacts.get(table, contact_id)
        before = set(current.opted_out) if current else set()
        wanted = set(opted_out)
        for channel in sorted(wanted - before):
            optouts.set_opted_out(table, contact_id, channel, True, now)
        for channel in sorted(before - wanted):
            optouts.set_opted_out(table, contact_id, channel, False, now)
    if do_not_contact or opted_out:
        _cancel_pending(table, contact_id)

"""An agent reaches a customer first (POST /api/conversations): a known contact, or a phone number or email address
typed in (the contact is created), on WhatsApp (with an approved template: Meta allows nothing else), SMS, email
(with a subject) or Telegram (only a chat that wrote to the bot before: bots cannot start chats).

Everything is checked before anything is stored: the channel and address, the contact's consent, the template and
its values, the business address to send from. The conversation is the contact's current one in that inbox (one
is created when there is none), assigned to the agent, and the first message is queued like any reply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from switchboard import clock
from switchboard.channel_names import Channel as ChannelName
from switchboard.channels import registry
from switchboard.errors import BadRequest, Conflict, NotFound
from switchboard.services import inbox, inboxes, optouts, replies, templates, workflow
from switchboard.services.automation_config import backstop_expiry
from switchboard.settings import get_settings
from switchboard.store import contacts, conversations
from switchboard.store.table import Table

if TYPE_CHECKING:
    from switchboard.models import Contact, Conversation, Message

CHANNELS = ("whatsapp", "sms", "email", "telegram")
EMAIL_MAX = 254


@dataclass
class Started:
    conversation: Conversation
    message: Message
    created: bool


# -- addresses ------------------------------------------------------------------------------------
def normalize_phone(raw: str, region: str | None = None) -> str:
    """A phone number as typed ('+1 (555) 010-2030', '+44 20 7946 0958', '0044 20 7946 0958') in E.164, or
    BadRequest. Numbers are read by the one normalizer the search index uses too (search_text.e164, Google's
    libphonenumber metadata), strictly: only a number in a range its country has assigned. Without a region, the
    number must be in international form (+ or 00 and country code)."""
    from switchboard.search_text import e164

    number = e164(raw, region, strict=True)
    if number is None:
        raise BadRequest("not a valid phone number: write it in international form, like +15551234567, and check "
                         "the country code and the digits", code="invalid_address")
    return number


def normalize_email(raw: str) -> str:
    from email.utils import parseaddr

    address = parseaddr(raw.strip())[1].strip().lower()
    local, _, domain = address.rpartition("@")
    if (not local or "." not in domain or len(address) > EMAIL_MAX or any(c.isspace() for c in address)
            or domain.startswith(".") or domain.endswith(".") or ".." in domain):
        raise BadRequest("not an email address", code="invalid_address")
    return address


def _typed(channel: str, address: str) -> tuple[str, str]:
    """(identity, the customer's address on the channel) of an address typed in."""
    if channel in ("whatsapp", "sms"):
        e164 = normalize_phone(address)
        return f"phone:{e164}", (e164.lstrip("+") if channel == "whatsapp" else e164)
    if channel == "email":
        email = normalize_email(address)
        return f"email:{email}", email
    chat = address.strip()
    if not chat.lstrip("-").isdigit() or not chat.isascii() or len(chat) > 32:
        raise BadRequest("a Telegram chat id is a number", code="invalid_address")
    return f"telegram:{chat}", chat


def _known_address(table: Table, contact: Contact, channel: str) -> str:
    """Where a known contact is reached on the channel: their identity there, else their phone or email."""
    found = contacts.identities(table, contact.id)
    for ident in found:
        if ident["channel"] == channel:
            return str(ident["address"])
    if channel in ("whatsapp", "sms"):
        phone = contact.phone or next((i["identity"].removeprefix("phone:") for i in found
                                       if i["identity"].startswith("phone:")), None)
        if phone:
            return phone.lstrip("+") if channel == "whatsapp" else phone
        raise BadRequest("the contact has no phone number: add one to their profile first", code="no_address")
    if channel == "email":
        email = contact.email or next((i["identity"].removeprefix("email:") for i in found
                                       if i["identity"].startswith("email:")), None)
        if email:
            return email
        raise BadRequest("the contact has no email address: add one to their profile first", code="no_address")
    raise BadRequest("a Telegram bot can only write to a chat that wrote to it first, and this contact never did",
                     code="telegram_unknown_chat")


def _contact(table: Table, channel: str, contact_id: str | None,
             to: dict[str, Any] | None) -> tuple[Contact | None, str, str | None]:
    """(the contact, or None for an address nobody has yet; their address on the channel; the identity to create
    them under). Nothing is written here."""
    if contact_id:
        contact = contacts.get(table, contact_id)
        if contact is None:
            raise NotFound(f"contact {contact_id} not found")
        return contact, _known_address(table, contact, channel), None
    assert to is not None
    identity, address = _typed(channel, str(to["address"]))
    known = contacts.find(table, identity)
    if channel == "telegram":
        if known is None:
            raise BadRequest("a Telegram bot can only write to a chat that wrote to it first: no such chat is known",
                             code="telegram_unknown_chat")
        return known, _known_address(table, known, channel), None
    return known, address, identity


# -- which business address sends it --------------------------------------------------------------
def configured_inbox(channel: str) -> str | None:
    """The channel's business address from the deployment's settings (the one inbox, when there is one)."""
    settings = get_settings()
    if channel == "whatsapp":
        return settings.whatsapp_phone_number_id or None
    if channel == "sms":
        return settings.sms_from_number or None
    if channel == "email":
        return settings.email_from_address or None
    return None


def choose_inbox(table: Table, channel: str, contact: Contact | None, requested: str | None) -> str:
    """The business address a conversation an agent starts is sent from: the one asked for (among the known ones),
    else the one the customer last wrote to on the channel, else the channel's configured one. The one place this
    is decided (an inbox registry, when there is one, lists the known inboxes here). `contact` None: a new one."""
    known: list[str] = []
    if contact is not None:
        _, _, conversation_ids = contacts.related(table, contact.id)
        theirs = sorted((c for c in conversations.many(table, conversation_ids) if c.channel == channel),
                        key=lambda c: c.updated_at, reverse=True)
        known = [c.inbox_id for c in theirs]
    default = configured_inbox(channel)
    if default:
        known.append(default)
    # the channel's inboxes (issue 14): any of them may start a conversation
    known += [i.address for i in inboxes.directory(table)[0] if i.channel == channel and i.status == "active"]
    if requested:
        if requested not in known:
            raise BadRequest(f"{requested!r} is not one of this business's {channel} addresses", code="unknown_inbox")
        return requested
    if known:
        return known[0]
    if channel == "telegram":
        from switchboard import secrets

        bot = secrets.get("telegram_bot_token").partition(":")[0]
        if bot:
            return bot
    names = {"whatsapp": "WHATSAPP_PHONE_NUMBER_ID", "sms": "SMS_FROM_NUMBER", "email": "EMAIL_FROM_ADDRESS",
             "telegram": "the Telegram bot token"}
    raise Conflict(f"no {channel} business address is configured ({names[channel]})", code="not_configured")


# -- starting -------------------------------------------------------------------------------------
def start(table: Table, agent: str, *, channel: ChannelName, contact_id: str | None, to: dict[str, Any] | None, text: str,
          template: dict[str, Any] | None, subject: str | None, inbox_id: str | None) -> Started:
    if channel not in CHANNELS:
        raise BadRequest(f"conversations can be started on {', '.join(CHANNELS)}", code="channel_not_supported")
    if channel == "whatsapp" and template is None:
        raise BadRequest("WhatsApp lets a business write first only with an approved template: choose one",
                         code="template_required")
    if channel == "email" and not (subject or "").strip():
        raise BadRequest("an email needs a subject", code="subject_required")
    if template is not None:
        templates.prepare(table, channel, template)  # 400 for an unknown template or wrong values, nothing stored
    elif registry.get(channel).text_problem(text):
        raise BadRequest(registry.get(channel).text_problem(text) or "", code="text_too_long")
    found, address, identity = _contact(table, channel, contact_id, to)
    optouts.check_send(found, channel, first_contact=True)
    inbox_address = choose_inbox(table, channel, found, inbox_id)
    if found is None:  # everything checked: the number or address typed in becomes a contact
        assert identity is not None
        found, _created = contacts.resolve(table, identity, channel, address, None)
    contact = found
    existing = conversations.active(table, channel, inbox_address, contact.id)
    conv = existing or conversations.active_for(table, channel, inbox_address, contact, address,
                                                backstop_expiry(table, channel, clock.now().timestamp()))
    if conv.status == "resolved":
        conv = workflow.reopen(table, conv.id)
    if channel == "email" and subject and not conv.subject:
        conversations.set_subject(table, conv.id, " ".join(subject.split()))
    if conv.assignee is None:
        conv = inbox.assign(table, conv.id, agent)
    message = replies.reply(conv.id, text, agent, table, template=template, first_contact=True)
    return Started(conversation=conversations.require(table, conv.id, consistent=True), message=message,
                   created=existing is None)

"""The processor's work for one inbound event: contact, conversation, message, media, receipts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from switchboard import clock, ids, observability
from switchboard.errors import RetryableSendError, SwitchboardError
from switchboard.services import (  # issue 15: live, push
    assignment,
    automation,
    channel_survey,
    events,
    inboxes,
    links,
    live,
    media,
    optouts,
    push,
    quotes,
    search,
    sla,
)
from switchboard.services.automation_config import backstop_expiry
from switchboard.store import contacts, conversations, delivery, markers, messages
from switchboard.store.table import Table

if TYPE_CHECKING:
    from switchboard.models import (
        Contact,
        ContactEvent,
        Conversation,
        InboundEnvelope,
        InboundMessage,
        Message,
        StatusUpdate,
    )

# An event can overtake what it refers to (a receipt before the sender's record, an edit before its
# message): retry it for this long, and on at most this many receives (the inbound queue sends a record to the DLQ
# on its 5th: the limit settles it before), then settle it.
OVERTAKEN_RETRY_SECONDS = 300
OVERTAKEN_MAX_ATTEMPTS = 4


@dataclass
class Outcome:
    result: str
    conversation_id: str | None = None
    inbox: str | None = None  # an ignored event's inbox id (issue 14), for the log line
    # What is left to do once the event is shown (a customer's message: stored and pushed), when deferred.
    follow_up: Callable[[], None] | None = field(default=None, repr=False, compare=False)


def process(envelope: InboundEnvelope, table: Table | None = None, attempt: int = 1, *,
            defer_follow_up: bool = False) -> Outcome:
    """`attempt` is the queue's receive count: some failures are given up on after a few.

    `defer_follow_up`: return once a customer's message is stored and pushed to the apps, with the rest of its work
    as the outcome's `follow_up` (the processor files every message of its batch before any follow-up, so that the
    agents see the batch's last message without waiting for the automated replies, rules, media downloads and
    indexing of all the others). A follow-up may then run after a later message of the same conversation was
    stored: the order concurrent deliveries of a standard queue give anyway. Otherwise all of it is done here."""
    outcome = _process(envelope, table or Table(), attempt)
    return outcome if defer_follow_up else completed(outcome)


def completed(outcome: Outcome) -> Outcome:
    """The outcome once its follow-up (if any) has run."""
    if outcome.follow_up is not None:
        outcome.follow_up()
        outcome.follow_up = None
    return outcome


def _process(envelope: InboundEnvelope, table: Table, attempt: int) -> Outcome:
    from switchboard.models import ContactEvent, StatusUpdate

    event = envelope.event
    if isinstance(event, StatusUpdate):
        return _receipt(table, event, envelope, attempt)
    if not envelope.claimed:  # from a large batch: the webhook left the claim to us
        claimed = _claim(table, event, envelope)
        if claimed is None:
            return Outcome("duplicate")
        event = claimed
    refused = _unknown_owner(table, event)  # issue 11: only the business's own inboxes are filed
    if refused:
        return refused
    if isinstance(event, ContactEvent):
        return _contact_event(table, event)
    if event.deleted:
        return _delete(table, event, envelope, attempt)
    if event.edited:
        return _edit(table, event, envelope, attempt)
    if event.echo:
        return _echo(table, event, attempt)
    if event.channel == "voice":  # issue 17: a call's events share one message (services/voice.py)
        from switchboard.services import voice

        return voice.process(table, event, envelope, attempt)
    return _message(table, event, attempt)


def _claim(table: Table, event: InboundMessage | ContactEvent,
           envelope: InboundEnvelope) -> InboundMessage | ContactEvent | None:
    """Record first sight of an event the webhook did not claim; None when it was processed already."""
    from switchboard.channels import registry
    from switchboard.models import InboundMessage, dedupe_id
    from switchboard.services.ingest import first_seen
    from switchboard.settings import get_settings

    expires_at = clock.epoch() + get_settings().dedupe_ttl_seconds
    existing = markers.claim_inbound(table, event.channel, dedupe_id(event), envelope.received_at, expires_at)
    if existing and existing.get("processed"):
        return None
    if isinstance(event, InboundMessage) and not registry.get(event.channel).provider_timestamps:
        return first_seen(event, existing, envelope.received_at)
    return event


def _unknown_owner(table: Table, event: InboundMessage | ContactEvent) -> Outcome | None:
    """An event for a business address that is not an inbox (nor allowed to become one) is ignored: counted (by
    channel and reason) and remembered for the admins, nothing else stored but its dedupe marker, marked processed
    so that a redelivery is a duplicate."""
    from switchboard.models import dedupe_id

    admission = inboxes.admit(table, event.channel, event.inbox_id)
    if admission.inbox is not None:
        return None
    markers.mark_processed(table, event.channel, dedupe_id(event), None)
    return Outcome(f"ignored:{admission.reason}", inbox=ids.inbox_id(event.channel, event.inbox_id))


def message_id(event: InboundMessage) -> str:
    """The same provider message always maps to the same stored message, whichever delivery brings it."""
    return ids.stable_id("m_", event.channel, event.provider_message_id)


def message_for(event: InboundMessage, conversation_id: str, sender: str | None) -> Message:
    from switchboard.models import EXTERNAL_SENDER, Message

    return Message(
        id=message_id(event), conversation_id=conversation_id,
        direction="outbound" if event.echo else "inbound", channel=event.channel, type=event.type, text=event.text,
        attachments=event.attachments, location=event.location, reply_to=event.reply_to,
        reaction=event.reaction, payload=event.payload, created_at=clock.iso(clock.from_epoch(event.timestamp)),
        status="sent" if event.echo else "received",
        sender=f"{EXTERNAL_SENDER}{event.echo_via or 'provider'}" if event.echo else sender,
        provider_message_id=event.provider_message_id, raw_ref=event.raw_ref, message_ref=event.message_ref,
        summary=event.summary, auto_submitted=event.auto_submitted, authentication=event.authentication,
        story=event.story)  # issue 17: an Instagram story's mention or reply


def _threaded(table: Table, event: InboundMessage, contact: Contact) -> Conversation | None:
    """The conversation this message continues (email: one that its References or In-Reply-To name, or whose reply
    address it was sent to), when that conversation is this contact's. A Message-ID or a reply address is no key to
    someone else's conversation: threading never changes who a conversation's customer is, so a stranger naming
    it starts a conversation of their own, and the agents' replies still go to the customer."""
    for ref in reversed(event.thread_refs):
        if ref.startswith("conversation:"):  # written to a conversation's reply address
            conv = conversations.get(table, ref.removeprefix("conversation:"))
        else:
            conv_id = conversations.by_provider_message(table, event.channel, ref)
            conv = conversations.get(table, conv_id) if conv_id else None
        if conv and conv.channel == event.channel and conv.contact_id == contact.id:
            return conv
    return None


def _contact(table: Table, event: InboundMessage, name: str | None) -> Contact:
    """The contact behind the event's identity, created on first sight."""
    contact, created = contacts.resolve(table, event.identity, event.channel, event.sender_id, name,
                                        message_id(event))
    if created and not contact.name:
        contact = _profile_name(table, event, contact)
    return contact


def _profile_name(table: Table, event: InboundMessage, contact: Contact) -> Contact:
    """A new contact the event did not name: the provider's profile name (Messenger, Instagram), looked up once,
    as the contact is created, so that agents can tell customers apart. A failed look-up is harmless: the channel
    counts it, and the message is stored all the same, without the name."""
    from switchboard.channels import registry

    try:
        name = registry.get(event.channel).fetch_profile(event.sender_id)
        named = contacts.name_if_unnamed(table, contact.id, name) if name else None
    except SwitchboardError:  # fetch_profile does not raise; a failure to store the name must not cost the message
        observability.count_by_reason("ProfileLookupsFailed", event.channel, "error")
        return contact
    return named or contact


def _conversation(table: Table, event: InboundMessage, contact: Contact) -> Conversation:
    """Email follows its thread (a reply to one of our messages); everything else the contact's current one."""
    conv = _threaded(table, event, contact)
    if conv:
        return conv
    if event.comment is not None:  # issue 17: one conversation per public comment thread
        from switchboard.services import comments

        conv = comments.thread(table, event, contact, backstop_expiry(table, event.channel, clock.now().timestamp()))
    else:
        conv = conversations.active_for(table, event.channel, event.inbox_id, contact, event.sender_id,
                                        backstop_expiry(table, event.channel, clock.now().timestamp()))
    if conv.assignee is None and conv.last_inbound_at is None:  # new: round-robin to an available agent
        # (of the inbox's team, when it has one: issue 14)
        conv = assignment.auto_assign(table, conv, inboxes.team_members(table, event.channel, event.inbox_id))
        observability.count_by_channel("ConversationsOpened", conv.channel)
    return conv


def _unanswered(conv: Conversation) -> bool:
    """The customer was already waiting for an answer in this open conversation (so its wait has begun)."""
    inbound, answered = conv.last_inbound_at, conv.last_agent_reply_at
    return conv.status == "open" and bool(inbound) and (not answered or (inbound or "") > answered)


def _message(table: Table, event: InboundMessage, attempt: int = 1) -> Outcome:
    from switchboard.models import AUTO_REPLIED, dedupe_id

    if event.auto_submitted == AUTO_REPLIED:
        return _automatic_reply(table, event, attempt)
    if event.comment is not None and event.comment.mention:  # issue 17: a mention's author and text, looked up
        from switchboard.services import comments

        event = comments.enrich(event)
    contact = _contact(table, event, event.sender_name)
    contact = optouts.on_inbound(table, event, contact)  # templates capability: SMS STOP / START keywords
    conv = _conversation(table, event, contact)
    conv = optouts.after_keyword(table, event, conv)
    answered = channel_survey.on_inbound(table, event, contact, conv)  # rich replies: a survey answer, not a message
    if answered:
        markers.mark_processed(table, event.channel, dedupe_id(event), conv.id)
        return Outcome(answered, conv.id)
    new_conversation = conv.last_inbound_at is None
    if new_conversation:  # growth: the first inbound message names the source (set once; before the message is
        # stored, so that a redelivery after a failure here still finds the conversation new), then it is announced
        source = links.attribute(table, conv, event.referral)
        if source is not None:
            conv = conv.model_copy(update={"source": source})
        events.conversation_created(table, conv, required=True)
    message = message_for(event, conv.id, contact.name)
    message = message.model_copy(update={"expires_at": backstop_expiry(table, event.channel, clock.now().timestamp()),
                                         "search_terms": search.message_terms(event)})
    if event.comment is not None:  # issue 17: the comment's id, and the post's picture on the thread's first one
        from switchboard.services import comments

        message = comments.with_comment(conv, message, event)
    if message.reply_to:  # rich replies: a customer's quoted reply keeps a copy of what it quotes
        message = message.model_copy(update={"quoted": quotes.inbound_quote(table, message)})
    previous_inbound = conv.last_inbound_at if conv.last_inbound_at != message.created_at else None
    status_before = conv.status  # issue 19: a customer's message that reopens is a status change for the rules
    waiting = _unanswered(conv)
    received_at = clock.iso(clock.now())
    also = sla.customer_message(table, conv, received_at)  # issue 14: SLA due times (their timers are put first)
    stored = messages.store_inbound(table, conv, message, received_at, event.sender_id, also=also)
    live.customer_message(table, conv, message)  # issue 15: the apps' push, then the assignee's notification
    follow_up = partial(_after_stored, table, event, attempt, conv, contact, message, stored=stored,
                        new_conversation=new_conversation, previous_inbound=previous_inbound, waiting=waiting,
                        status_before=status_before)
    return Outcome("stored" if stored else "duplicate", conv.id, follow_up=follow_up)


def _after_stored(table: Table, event: InboundMessage, attempt: int, conv: Conversation, contact: Contact,
                  message: Message, *, stored: bool, new_conversation: bool, previous_inbound: str | None,
                  waiting: bool, status_before: str) -> None:
    """A customer's message is stored and shown: the rest of its work (threading, reopening, events for other
    systems, automated replies, rules, its files, the search index), then the mark that it was processed."""
    from switchboard.models import dedupe_id

    if event.message_ref:  # email: replies name this message; the thread continues in this conversation
        conversations.record_thread(table, conv, message, event.message_ref, event.thread_refs, event.subject)
    if stored and conv.status == "resolved":
        assignment.reopened(table, conv)  # the customer wrote again: back on its agent's load
        observability.count_by_channel("ConversationsReopened", conv.channel)
    if stored and conv.status != "open":  # growth: the customer's message reopened it
        events.status_changed(table, conv.model_copy(update={"status": "open"}), conv.status, by="customer",
                              stable=(message.id, "reopened"), required=True)
    if stored:  # what the write just changed, without reading it back
        conv = conv.model_copy(update={"status": "open",
                                       "last_inbound_at": max(message.created_at, conv.last_inbound_at or "")})
    else:
        # A redelivery: finish whatever the earlier attempt left undone (automation, media).
        message = messages.get_message(table, conv.id, message.created_at, message.id) or message
        conv = conversations.get(table, conv.id, consistent=True) or conv
    events.message_created(table, message, required=True)  # growth: the same event id on a redelivery
    # Each automated reply is claimed once, so running this again on a redelivery sends nothing twice.
    automation.on_inbound(table, conv, contact, message, first_contact=contact.first_message_id == message.id,
                          previous_inbound=previous_inbound if stored else None, already_waiting=stored and waiting,
                          new_conversation=stored and new_conversation)
    _rules(table, conv, contact, message, new_conversation=stored and new_conversation,
           reopened_from=status_before if stored and status_before != "open" else None)  # issue 19
    live.files_stored(table, conv, message, media.store_pending(table, message, attempt))  # issue 15: shown stored
    search.on_inbound(table, conv, contact, message, event)  # its new words, the contact's terms and activity
    markers.mark_processed(table, event.channel, dedupe_id(event), conv.id, message.created_at, message.id)


def _automatic_reply(table: Table, event: InboundMessage, attempt: int = 1) -> Outcome:
    """An automatic reply (out of office, vacation) is shown in the conversation it answers and changes nothing
    there: no reopening, no unread count, no wait for an answer, no automated reply. One that answers none of its
    sender's conversations tells agents nothing: dropped and counted, and no contact is made for it."""
    from switchboard.models import dedupe_id
    from switchboard.store.table import ConditionFailed

    contact = contacts.find(table, event.identity)
    conv = _threaded(table, event, contact) if contact else None
    if contact is None or conv is None:
        observability.count_by_reason("EventsDropped", event.channel, "unthreaded_auto_reply")
        markers.mark_processed(table, event.channel, dedupe_id(event), None)
        return Outcome("dropped")
    message = message_for(event, conv.id, contact.name).model_copy(
        update={"expires_at": backstop_expiry(table, event.channel, clock.now().timestamp())})
    try:
        messages.add_note(table, message)  # the message item alone, as for a note: the conversation stays as is
        result = "stored_quietly"
    except ConditionFailed:
        message = messages.get_message(table, conv.id, message.created_at, message.id) or message
        result = "duplicate"
    # Not recorded in the thread either: the agents' next reply answers the customer's last mail, not their robot's.
    media.store_pending(table, message, attempt)
    markers.mark_processed(table, event.channel, dedupe_id(event), conv.id, message.created_at, message.id)
    return Outcome(result, conv.id)


def _overtaken(envelope: InboundEnvelope, what: str, attempt: int = 1) -> None:
    """Retry an event that came before what it refers to, a bounded number of times; returns when it is time to
    settle it (never-seen edits are kept as messages, unsends dropped and counted, receipts let go)."""
    waited = (clock.now() - clock.parse_iso(envelope.received_at)).total_seconds()
    if waited < OVERTAKEN_RETRY_SECONDS and attempt < OVERTAKEN_MAX_ATTEMPTS:
        raise RetryableSendError(f"{what} not recorded yet")


def _edit(table: Table, event: InboundMessage, envelope: InboundEnvelope, attempt: int = 1) -> Outcome:
    from switchboard.models import dedupe_id

    original = markers.get(table, event.channel, event.provider_message_id)
    if not original or not original.get("processed"):
        _overtaken(envelope, "the edited message", attempt)
        # Never seen (sent before we were connected, or its original still on the way): the edited text is kept as
        # the message itself, so that a late original is a duplicate of it and does not undo the edit.
        kept = event.model_copy(update={"edited": False})
        outcome = _echo(table, kept, attempt) if event.echo else _message(table, kept, attempt)
        return Outcome("edit_kept", outcome.conversation_id, follow_up=outcome.follow_up)
    conv_id = original["conversation_id"]
    changed = messages.edit_message(table, conv_id, original["message_created_at"], original["message_id"],
                                         event.text, event.timestamp)
    if changed:
        search.message_changed(table, conv_id, original["message_id"])  # the index shows the words it has now
    markers.mark_processed(table, event.channel, dedupe_id(event), conv_id)
    return Outcome("edited" if changed else "stale", conv_id)


def _delete(table: Table, event: InboundMessage, envelope: InboundEnvelope, attempt: int = 1) -> Outcome:
    """The customer unsent a message: its content is removed (files included), a trace stays."""
    from switchboard.models import dedupe_id
    from switchboard.store import erasure

    original = markers.get(table, event.channel, event.provider_message_id)
    if not original or not original.get("processed"):
        _overtaken(envelope, "the unsent message", attempt)
        observability.count_by_reason("EventsDropped", event.channel, "unsend_of_unknown_message")
        markers.mark_processed(table, event.channel, dedupe_id(event), None)
        return Outcome("dropped")
    conv_id = original["conversation_id"]
    removed = messages.mark_deleted(table, conv_id, original["message_created_at"], original["message_id"],
                                         event.timestamp)
    erasure.delete_objects(removed or [])
    if removed is not None:
        search.message_changed(table, conv_id, original["message_id"])  # its words leave the index
    markers.mark_processed(table, event.channel, dedupe_id(event), conv_id)
    return Outcome("deleted" if removed is not None else "stale", conv_id)


def _echo(table: Table, event: InboundMessage, attempt: int = 1) -> Outcome:
    """A message the business sent outside Switchboard (the WhatsApp Business app on a coexistence number): shown
    to agents as outbound in the customer's conversation, counted as the business's answer, never sent again."""
    from switchboard.models import dedupe_id
    from switchboard.store.table import ConditionFailed

    contact = _contact(table, event, None)
    conv = _conversation(table, event, contact)
    message = message_for(event, conv.id, None).model_copy(
        update={"expires_at": backstop_expiry(table, event.channel, clock.now().timestamp())})
    try:
        messages.add_outbound(table, conv, message, counts_as_response=True)
        result = "echo"
    except ConditionFailed:
        if messages.get_message(table, conv.id, message.created_at, message.id) is None:
            raise
        message = messages.get_message(table, conv.id, message.created_at, message.id) or message
        result = "duplicate"
    delivery.link_provider_message(table, message)
    events.message_created(table, message, required=True)  # growth: the business's message, sent elsewhere
    push.message_created(table, conv, message)  # issue 15
    media.store_pending(table, message, attempt)
    markers.mark_processed(table, event.channel, dedupe_id(event), conv.id, message.created_at, message.id)
    return Outcome(result, conv.id)


def _contact_event(table: Table, event: ContactEvent) -> Outcome:
    from switchboard.models import dedupe_id

    contact = contacts.find(table, event.identity)
    conv = conversations.active(table, event.channel, event.inbox_id, contact.id) if contact else None
    if conv:
        conversations.set_blocked(table, conv.id, event.event == "blocked")
    markers.mark_processed(table, event.channel, dedupe_id(event), conv.id if conv else None)
    return Outcome(event.event if conv else "unknown", conv.id if conv else None)


def _receipt(table: Table, event: StatusUpdate, envelope: InboundEnvelope, attempt: int = 1) -> Outcome:
    if event.watermark is not None:
        contact = contacts.find(table, f"{event.channel}:{event.sender_id}")
        conv = conversations.active(table, event.channel, event.inbox_id or "", contact.id) if contact else None
        if conv is None:
            return Outcome("unknown")
        moved = delivery.apply_watermark(table, conv.id, event.status, event.watermark)
        return Outcome(f"watermark:{moved}", conv.id)
    reason = None
    if event.status == "failed":
        reason = " ".join(filter(None, [event.error_code, event.error_title])) or "failed at the provider"
    result = delivery.apply_receipt(table, event.channel, event.provider_message_id, event.status,
                                         event.timestamp, reason)
    if result == "unknown":
        _overtaken(envelope, "the receipt's message", attempt)
    if result == "applied":  # issue 15: the apps show the new delivery status
        live.receipt(table, event.channel, event.provider_message_id, event.status)
    return Outcome(result)


# -- automation rules (issue 19) ------------------------------------------------------------------------------------
def _rules(table: Table, conv: Conversation, contact: Contact, message: Message, *, new_conversation: bool,
           reopened_from: str | None) -> None:
    """conversation.created, message.received and a reopening's status_changed, in that order. Each rule's run is
    claimed once per event (stable event ids: the conversation's, the message's), so a redelivery runs nothing
    twice; a failure to claim or record raises, and the queue's retry finishes what is left."""
    from switchboard.services import rules

    if new_conversation:
        rules.conversation_created(table, conv, contact, message)
    rules.message_received(table, conv, contact, message)
    if reopened_from:
        rules.status_changed(table, conv, reopened_from, event_id=f"reopened#{message.id}", contact=contact,
                             message=message)

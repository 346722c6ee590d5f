"""The sender's work for one outbound job: send a stored reply through its channel, exactly once."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING

from switchboard import clock, observability
from switchboard.channels import registry
from switchboard.errors import PermanentSendError, RetryableSendError, ServiceUnavailable
from switchboard.services import file_sending
from switchboard.settings import get_settings
from switchboard.store import conversations, delivery, messages
from switchboard.store.table import ConditionFailed, Table

# The longest Retry-After kept on a message: about what the outbound queue retries for (20 receives x 180 s)
# before its DLQ. Shorter waits are spent inside the call (channels/http.py); a longer one is cut to this.
MAX_RETRY_AFTER_SECONDS = 3600
# How long after a job's created_at its message may still be being stored: the job is queued first, and the store
# right after it takes at most one DynamoDB call with the SDK's three attempts (2 s connect + 5 s read each, plus
# backoff). A job that finds no message within this time waits for it; after it, the message never will be.
STORE_GRACE_SECONDS = 30
STORE_WAIT_PAUSES = (0.05, 0.15, 0.3)  # in-call re-reads for a job received before its message is stored
RECORD_SENT_PAUSES = (0.2, 0.5, 1.0)  # in-call retries of recording a send the provider accepted

if TYPE_CHECKING:
    from switchboard.models import Conversation, Message, OutboundJob


def window_closes_at(conv: Conversation, human: bool = True) -> str | None:
    """When free-form replies stop being allowed (None: the channel has no window). `human`: an agent's reply,
    which may have a longer window where the channel has a form for it (HUMAN_AGENT tag, WhatsApp template) and it
    is enabled; automated replies never do."""
    if conv.kind == "comment":  # issue 17: a thread is answered publicly at any time; a private reply has its own
        return None  # 7 days per comment, checked when it is written (services/comments.reply_target)
    channel = registry.get(conv.channel)
    seconds = channel.human_reply_window_seconds() if human else channel.reply_window_seconds
    if seconds is None:
        return None
    if not conv.last_inbound_at:  # the customer never wrote (an agent reached them first): closed from the start
        return conv.created_at
    return clock.iso(clock.parse_iso(conv.last_inbound_at) + timedelta(seconds=seconds))


def window_open(conv: Conversation, human: bool = True) -> bool:
    closes = window_closes_at(conv, human)
    return closes is None or clock.iso(clock.now()) < closes


def past_window(conv: Conversation) -> bool:
    """An agent's reply allowed, but past the standard window: it goes out in the channel's form for that."""
    return window_open(conv, human=True) and not window_open(conv, human=False)


def hand_over(table: Table, conv: Conversation, message: Message, counts_as_response: bool = True) -> None:
    """Give a new outbound message to the sender: its job first, then the message, stored as queued.

    In this order nothing is ever left stored as queued without a job. If the enqueue fails, nothing is stored and
    the caller answers 5xx (the agent sends again). If the store fails after it, the job finds no message and,
    once STORE_GRACE_SECONDS have passed, is dropped: nothing was stored, so nothing is sent."""
    from switchboard import queue
    from switchboard.models import OutboundJob

    queue.send_outbound(OutboundJob(conversation_id=conv.id, message_id=message.id, created_at=message.created_at,
                                    correlation_id=observability.correlation_id()))
    messages.add_outbound(table, conv, message, counts_as_response=counts_as_response)
    from switchboard.services import events  # growth: message.created (outbound), for other systems

    events.message_created(table, message)
    from switchboard.services import push  # issue 15: the apps (and a web chat visitor) see it at once

    push.message_created(table, conv, message)


def _store_pending(job: OutboundJob) -> bool:
    return clock.now().timestamp() < clock.parse_iso(job.created_at).timestamp() + STORE_GRACE_SECONDS


def _stored_message(table: Table, job: OutboundJob) -> Message | None:
    """The job's message. A job can be received before hand_over has stored its message, a few milliseconds
    after the enqueue: then it is read again after short pauses, before the job is put back for a second."""
    for pause in (*STORE_WAIT_PAUSES, None):
        message = messages.get_message(table, job.conversation_id, job.created_at, job.message_id)
        if message is not None or pause is None or not _store_pending(job):
            return message
        time.sleep(pause)
    return None


def send(job: OutboundJob, table: Table | None = None, attempt: int = 1) -> str:
    """Returns what happened; raises RetryableSendError to have the queue try again later.

    `attempt` is the queue's receive count: on the last one the queue allows, a retryable failure is final."""
    from switchboard.models import SendRequest

    table = table or Table()
    observability.set_correlation_id(job.correlation_id)  # this job's log lines go with the request that caused it
    message = _stored_message(table, job)
    if message is None:
        if _store_pending(job):  # its store is taking longer than a moment: the job comes back in a second
            raise RetryableSendError("the message is not stored yet", retry_after=1)
        return "missing"  # never stored (its request failed after queuing it), or erased before it went out
    if job.retry != message.attempt:  # rich replies: an agent's retry (services/retries.py)
        return _retry_not_recorded(job, message)
    if message.status == "sending":
        if clock.epoch() < (message.lease_until or 0):
            raise RetryableSendError("another attempt is in flight")
        # An earlier attempt claimed it and never recorded an outcome: it may have gone out. Never send twice.
        observability.count("SendFailures")
        delivery.record_failed(table, message, "delivery outcome unknown after a timeout; check before resending")
        return "unknown"
    if message.status != "queued":
        return "done"  # sent (or failed) by an earlier delivery of this job
    wait = (message.retry_at or 0) - clock.now().timestamp()
    if wait > 0:
        # The provider asked for a longer pause than a call can wait: every delivery until then leaves it alone.
        raise RetryableSendError("the provider asked to wait before the next send", retry_after=wait)
    conv = conversations.get(table, job.conversation_id)
    if conv is None:
        delivery.record_failed(table, message, "conversation no longer exists")
        return "failed"
    human = not message.automated
    if not message.template and not window_open(conv, human):  # a template goes out whatever the window
        delivery.record_failed(table, message, "reply window closed: the customer's last message is older "
                                    "than the channel allows for free-form replies")
        return "failed"
    refused = _suppressed(table, conv, message)
    if refused:
        delivery.record_failed(table, message, refused)
        return "failed"
    if not delivery.claim_send(table, message, clock.epoch() + get_settings().send_lease_seconds):
        return "done"
    channel = registry.get(conv.channel)
    try:
        request = SendRequest(channel=conv.channel, inbox_id=conv.inbox_id, recipient=conv.recipient,
                              text=message.text, reply_to=message.reply_to, conversation_id=conv.id,
                              message_id=message.id, subject=conv.subject, thread_refs=conv.thread_refs,
                              past_window=human and past_window(conv), automated=not human,
                              template=message.template,
                              choices=message.choices or [], choices_label=message.choices_label,  # rich replies
                              visibility=message.visibility, comment_id=message.comment_id,  # issue 17: comments
                              mention=conv.mention, post_id=conv.post.id if conv.post else None)
        if message.attachments:  # rich replies: each part of the reply sent once, recorded as it goes
            result = file_sending.send_parts(table, message, channel, request)
        else:
            result = channel.send(request)
    except PermanentSendError as exc:
        observability.count("SendFailures")
        delivery.record_failed(table, message, exc.message)
        _private_reply_failed(table, conv, message, exc.outcome_unknown)
        if exc.recipient_blocked:
            conversations.set_blocked(table, conv.id, True)
            if conv.channel == "sms":  # Twilio 21610: the customer replied STOP (templates capability)
                from switchboard.services import optouts

                optouts.on_provider_opt_out(table, conv.contact_id, conv.channel)
        return "failed"
    except RetryableSendError as exc:
        if attempt >= get_settings().send_max_attempts:
            # The queue would move the job to its DLQ next, leaving the reply "queued" for good: say it failed.
            observability.count("SendFailures")
            delivery.record_failed(table, message, f"gave up after {attempt} attempts: {exc.message}")
            _private_reply_failed(table, conv, message)  # none of the attempts reached the provider
            return "failed"
        if exc.retry_after:
            _defer(table, message, exc.retry_after)
        delivery.release_send(table, message)
        raise
    _record_sent(table, message, result.provider_message_id)
    if message.visibility == "private":  # issue 17: the commenter's answer continues in their inbox, same contact
        from switchboard.services import comments

        comments.after_private_reply(table, conv, message, result.recipient_id)
    for alias in result.aliases:  # the provider's other name for it (SES's message id): its receipts find it too
        delivery.link_provider_message(table, message.model_copy(update={"provider_message_id": alias}))
    observability.count("RepliesSent")
    return "sent"


def _private_reply_failed(table: Table, conv: Conversation, message: Message, outcome_unknown: bool = False) -> None:
    """issue 17: a refused private reply gives the comment's one private reply back (recorded failed first)."""
    if message.visibility == "private":
        from switchboard.services import comments

        comments.private_reply_failed(table, conv, message, outcome_unknown)


def _retry_not_recorded(job: OutboundJob, message: Message) -> str:
    """A job of another attempt than the message's. A retry's job is queued before the message is put back in the
    queue (services/retries.py), so it may come first: it waits for that write for a while, then is dropped (the
    write failed, and the agent was told). A job of an earlier attempt has nothing left to do."""
    if job.retry > message.attempt and message.status == "failed" and job.retry_requested_at and \
            clock.now().timestamp() < clock.parse_iso(job.retry_requested_at).timestamp() + STORE_GRACE_SECONDS:
        raise RetryableSendError("the retry is not recorded yet", retry_after=1)
    return "done" if job.retry < message.attempt else "missing"


def _suppressed(table: Table, conv: Conversation, message: Message) -> str | None:
    """Why a mail to a suppressed address is not sent (it bounced for good, or the customer complained), or None.
    Automated mail never goes to it; an agent's reply does once the customer has written to us since, which is
    the customer asking for an answer."""
    from switchboard.services import mail_feedback

    if conv.channel != "email":
        return None
    item = mail_feedback.suppression(table, conv.recipient)
    if item is None:
        return None
    if not message.automated and conv.last_inbound_at and conv.last_inbound_at > str(item.get("at") or ""):
        return None
    return mail_feedback.suppressed_reason(item)


def _record_sent(table: Table, message: Message, provider_message_id: str) -> None:
    """The provider took the message: worth a few more tries to record than one call's. A job that comes back
    with the message still `sending` can only mark it 'delivery outcome unknown'."""
    for attempt, pause in enumerate((*RECORD_SENT_PAUSES, None)):
        try:
            delivery.record_sent(table, message, provider_message_id)
            return
        except ConditionFailed:
            if attempt:  # an earlier try was applied although its answer was lost: recorded
                return
            raise
        except ServiceUnavailable:
            if pause is None:
                raise
            time.sleep(pause)


def _defer(table: Table, message: Message, seconds: float) -> None:
    """Remember the provider's Retry-After on the message, so that deliveries of the job before it passes skip it."""
    # False: no longer ours to send (erased, or settled meanwhile), nothing to wait for
    delivery.defer(table, message, clock.now().timestamp() + min(seconds, MAX_RETRY_AFTER_SECONDS))

"""Conversations: one by id, the contact's current one in an inbox (created on first contact), and the changes
agents and channels make to it (status, assignee, labels, read, blocked, email threading)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeIs

from switchboard import clock, ids
from switchboard.errors import NotFound, RetryableSendError
from switchboard.parallel import parallel
from switchboard.store import due, keys, metrics, queue, reports
from switchboard.store.keys import Key
from switchboard.store.table import ConditionFailed, Table

if TYPE_CHECKING:
    from switchboard.models import Contact, Conversation, Message

# A pointer without its conversation this long after its claim leads to a conversation that is gone (retention,
# expiry): a new one replaces it. A younger one is completed by whoever finds it.
DANGLING_AFTER_SECONDS = 120


def _conversation(item: dict[str, Any]) -> Conversation:
    from switchboard.models import Conversation

    return Conversation.model_validate(item)


def live(item: dict[str, Any] | None) -> TypeIs[dict[str, Any]]:
    """TTL deletion lags by days: an item past its expires_at reads as gone."""
    if not item:
        return False
    return not item.get("expires_at") or item["expires_at"] > clock.epoch()


def get(table: Table, conv_id: str, consistent: bool = False) -> Conversation | None:
    item = table.get(keys.conversation(conv_id), consistent=consistent)
    return _conversation(item) if live(item) and item.get("type") == "conversation" else None


def require(table: Table, conv_id: str, consistent: bool = False) -> Conversation:
    conv = get(table, conv_id, consistent=consistent)
    if conv is None:
        raise NotFound(f"conversation {conv_id} not found")
    return conv


def active(table: Table, channel: str, inbox_id: str, contact_id: str) -> Conversation | None:
    """The contact's current conversation in this inbox, if there is one."""
    pointer = table.get(keys.active_conversation(channel, inbox_id, contact_id))
    return get(table, pointer["conversation_id"]) if pointer else None


def by_provider_message(table: Table, channel: str, provider_message_id: str) -> str | None:
    """The conversation one of our sent messages belongs to (receipts, email threading)."""
    ref = table.get(keys.provider_message(channel, provider_message_id))
    return ref["conversation_id"] if ref else None


MAX_THREAD_REFS = 20


def record_thread(table: Table, conv: Conversation, message: Message, message_ref: str, refs: list[str],
                  subject: str | None) -> None:
    """Email threading: the customer's Message-ID leads back here, and our replies answer the latest message."""
    table.put({**keys.provider_message(message.channel, message_ref), "type": "provider_message",
               "conversation_id": conv.id, "message_id": message.id, "created_at": message.created_at})
    # The thread so far, then what this mail names (Message-IDs only): a mail client that sends no References
    # does not cut our next reply's References down to one id.
    chain = list(dict.fromkeys([*conv.thread_refs, *(r for r in refs if r.startswith("<")), message_ref]))
    chain = chain[:1] + chain[1:][-(MAX_THREAD_REFS - 1):]  # the thread's first message and the latest ones
    table.update(keys.conversation(conv.id), "SET thread_refs = :refs, subject = if_not_exists(subject, :s)",
                 vals={":refs": chain, ":s": subject or ""}, condition="attribute_exists(pk)")


def set_auto_submitted(table: Table, conv_id: str, reason: str | None) -> None:
    """Conversation.auto_submitted: set while every customer message in it is automated mail (None clears it)."""
    if reason:
        table.update(keys.conversation(conv_id), "SET auto_submitted = :r", vals={":r": reason},
                     condition="attribute_exists(pk)")
    else:
        table.update(keys.conversation(conv_id), "REMOVE auto_submitted", condition="attribute_exists(pk)")


def set_blocked(table: Table, conv_id: str, blocked: bool) -> None:
    """The customer blocked (or unblocked) us on the channel: agents see it on the conversation."""
    table.update(keys.conversation(conv_id), "SET blocked = :b, updated_at = updated_at", vals={":b": blocked},
                 condition="attribute_exists(pk)")

def active_for(table: Table, channel: str, inbox_id: str, contact: Contact, recipient: str,
               expires_at: int | None = None) -> Conversation:
    """The contact's current conversation in this inbox, started on first contact.

    The active pointer is the claim: of two first messages at once, one names the conversation. Whoever finds a
    pointer claimed moments ago without its conversation (the other delivery is still writing it, or stopped
    half-way) writes it itself, for the claimed id, so nothing waits and nothing is left half-done. A pointer whose
    conversation is gone for longer (retention, expiry) is replaced by a new conversation, never a live one."""
    pointer_key = keys.active_conversation(channel, inbox_id, contact.id)
    found = table.get(pointer_key)
    return pointed(table, found) or start_for(table, pointer_key, found, channel, inbox_id, contact, recipient,
                                              expires_at)


def pointed(table: Table, found: dict[str, Any] | None) -> Conversation | None:
    """The conversation a pointer item (as read) leads to, if it exists."""
    return get(table, found["conversation_id"], consistent=True) if found else None


def start_for(table: Table, pointer_key: Key, found: dict[str, Any] | None, channel: str, inbox_id: str,
              contact: Contact, recipient: str, expires_at: int | None = None,
              extra: dict[str, Any] | None = None) -> Conversation:
    """active_for's second half, for a caller that has read the pointer (`found`, as read) and found no conversation
    behind it: the one claimed moments ago, written now, or a new one claimed. `extra` (issue 17): what a comment
    thread's conversation item carries (kind comment, the post), under the thread's own pointer."""
    if found and clock.epoch() - int(found.get("claimed_at", 0)) < DANGLING_AFTER_SECONDS:
        return _create(table, found["conversation_id"], channel, inbox_id, contact, recipient, expires_at, extra)
    conv_id = ids.new_id("cv_")
    try:
        table.put({**pointer_key, "type": "active_pointer", "conversation_id": conv_id, "claimed_at": clock.epoch()},
                  condition="attribute_not_exists(pk) OR conversation_id = :old",
                  vals={":old": found["conversation_id"] if found else "-"})
    except ConditionFailed:
        winner = table.get(pointer_key, consistent=True)
        if winner is None:  # claimed and gone again (an erasure in between): the queue retries the message
            raise RetryableSendError("the conversation changed while it was being created: retry shortly") from None
        conv = get(table, winner["conversation_id"], consistent=True)
        return conv or _create(table, winner["conversation_id"], channel, inbox_id, contact, recipient, expires_at,
                               extra)
    return _create(table, conv_id, channel, inbox_id, contact, recipient, expires_at, extra)


def _create(table: Table, conv_id: str, channel: str, inbox_id: str, contact: Contact, recipient: str,
            expires_at: int | None, extra: dict[str, Any] | None = None) -> Conversation:
    """The items of a claimed conversation: plain puts (a transaction would bill each item twice), idempotent, the
    conversation item last and only if absent, so that of two deliveries completing it, one writes it and counts
    it in the day's metrics."""
    now = clock.iso(clock.now())
    item: dict[str, Any] = {
        **keys.conversation(conv_id), **keys.inbox_keys("open", None, now, conv_id),
        "type": "conversation", "id": conv_id, "channel": channel, "inbox_id": inbox_id,
        "contact_id": contact.id, "contact_name": contact.name, "recipient": recipient, "status": "open",
        "labels": [], "created_at": now, "updated_at": now, "expires_at": expires_at,
        "inbox_sk": keys.inbox_scope_sk(ids.inbox_id(channel, inbox_id), now, conv_id),  # InboxIndex (issue 14)
        "priority": "normal", "queue_sk": keys.queue_sort("normal", None, conv_id),  # issue 14: QueueIndex
        **keys.created_keys(now, conv_id),  # reports: CreatedIndex, the conversation export by creation day
        **keys.contact_conversations(contact.id),  # search: ContactIndex, the contact's conversations
        **(extra or {}),  # issue 17: a comment thread's kind, post and thread id
    }
    # The contact's link to it and its retention entry (one request), then the conversation item itself.
    table.batch_put([{**keys.contact_conversation(contact.id, conv_id), "type": "contact_conversation",
                      "conversation_id": conv_id, "channel": channel, "created_at": now},
                     due.retention_entry(conv_id, channel, contact.id, now)])
    try:
        table.put(item, condition="attribute_not_exists(pk)")
    except ConditionFailed:  # the other delivery wrote it first: theirs stands
        existing = get(table, conv_id, consistent=True)
        if existing:
            return existing
        raise RetryableSendError("the conversation changed while it was being created: retry shortly") from None
    created = _conversation(item)
    # Counted once (this call's put made it): the day's metrics, and the reports by channel, inbox and (not yet known)
    # source, side by side (neither raises), not one round trip after another ahead of the customer's message.
    parallel(lambda count: count(), [
        lambda: metrics.record(table, now[:10], {"conversations": 1, f"channel_{channel}": 1, "status_open": 1}),
        lambda: reports.opened(table, created)])
    return created

def _update_conversation(table: Table, conv_id: str, expression: str, vals: dict[str, Any],
                         names: dict[str, str] | None = None) -> Conversation:
    try:
        item = table.update(keys.conversation(conv_id), expression, names=names, vals=vals,
                            condition="attribute_exists(pk)", return_new=True)
    except ConditionFailed:
        raise NotFound(f"conversation {conv_id} not found") from None
    return _conversation(item or {})


def set_status(table: Table, conv_id: str, status: str, by: str | None = None,
               also: queue.Delta | None = None) -> Conversation:
    """open / pending / resolved; resolving records who and when (CSAT is credited to them). `also`: what else the
    write changes (issue 14: a snooze ends, SLA due times); its conditions failing raises ConditionFailed."""
    vals: dict[str, Any] = {":st": status, ":g1": keys.inbox_status_pk(status)}
    expression = "SET #st = :st, gsi1pk = :g1"
    if status == "resolved":
        expression += ", resolved_at = :now, resolved_by = :by"
        vals |= {":now": clock.iso(clock.now()), ":by": by or "-"}
    else:
        expression += " REMOVE resolved_at, resolved_by"
    expression, names, vals, condition = queue.merge(expression, also, {"#st": "status"}, vals, "attribute_exists(pk)")
    try:
        before = table.update(keys.conversation(conv_id), expression, names=names, vals=vals,
                              condition=condition, return_old=True) or {}
    except ConditionFailed:
        if also:
            raise
        raise NotFound(f"conversation {conv_id} not found") from None
    conv = require(table, conv_id, consistent=True)
    metrics.status_moved(table, conv, before.get("status"), status)
    return conv


def mark_resolved(table: Table, conv: Conversation, at: str, by: str, also: list[dict[str, Any]]) -> bool:
    """Resolve, on the condition that the status is still the one `conv` has, in one transaction with the actions
    in `also` (the survey's due entry). False when the conversation changed meanwhile (or is gone)."""
    # Organizing the queue (issue 14): nobody waits any more, the SLA targets are done, a snooze ends.
    expression, names, vals, condition = queue.merge(
        "SET #st = :res, gsi1pk = :g1, resolved_at = :at, resolved_by = :by", queue.resolved(conv),
        {"#st": "status"}, {":res": "resolved", ":g1": keys.inbox_status_pk("resolved"), ":at": at, ":by": by,
                            ":was": conv.status}, "attribute_exists(pk) AND #st = :was")
    try:
        table.transact([
            {"Update": {"Key": keys.conversation(conv.id), "UpdateExpression": expression,
                        "ConditionExpression": condition, "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": vals}},
            *also,
        ])
    except ConditionFailed:
        return False
    return True


def move_to_contact(table: Table, conv: Conversation, contact_id: str, contact_name: str) -> None:
    """A merge: the conversation belongs to `contact_id` from now on, and is among its conversations."""
    table.update(keys.conversation(conv.id), "SET contact_id = :t, contact_name = :n, contact_pk = :cp",
                 vals={":t": contact_id, ":n": contact_name, ":cp": keys.contact_pk(contact_id)})
    table.put({**keys.contact_conversation(contact_id, conv.id), "type": "contact_conversation",
               "conversation_id": conv.id, "channel": conv.channel, "created_at": conv.created_at})


def move_active_pointer(table: Table, conv: Conversation, from_contact: str, to_contact: str) -> None:
    """A merge: if `conv` is `from_contact`'s current conversation in its inbox, it becomes `to_contact`'s, unless
    that contact has a current one there already (which stays current)."""
    old_pointer = keys.active_conversation(conv.channel, conv.inbox_id, from_contact)
    pointer = table.get(old_pointer)
    if not pointer or pointer["conversation_id"] != conv.id:
        return
    try:
        table.put({**keys.active_conversation(conv.channel, conv.inbox_id, to_contact), "type": "active_pointer",
                   "conversation_id": conv.id, "claimed_at": pointer.get("claimed_at", 0)},
                  condition="attribute_not_exists(pk)")
    except ConditionFailed:
        pass
    table.delete(old_pointer)


def many(table: Table, conv_ids: list[str]) -> list[Conversation]:
    """Up to 100 conversations by id (one BatchGetItem), in no particular order; missing ones are left out."""
    return [_conversation(item) for item in table.batch_get([keys.conversation(c) for c in conv_ids[:100]])] \
        if conv_ids else []


def assign(table: Table, conv_id: str, agent: str | None) -> Conversation:
    if agent:
        return _update_conversation(table, conv_id, "SET assignee = :a, gsi2pk = :g2",
                                    {":a": agent.lower(), ":g2": keys.inbox_assignee_pk(agent)})
    return _update_conversation(table, conv_id, "REMOVE assignee, gsi2pk", {})


def set_labels(table: Table, conv_id: str, labels: list[str]) -> Conversation:
    return _update_conversation(table, conv_id, "SET labels = :l", {":l": labels})


def mark_read(table: Table, conv_id: str) -> Conversation:
    return _update_conversation(table, conv_id, "SET unread_count = :z", {":z": 0})


# -- the live workspace (issue 15): indicators shown to the customer, one caller each -----------------------------
def claim_read_receipt(table: Table, conv_id: str, last_inbound_at: str) -> bool:
    """Record that the customer's messages up to `last_inbound_at` (the conversation's, as read) are being marked
    read: True for the one caller (of every agent's tab) that then marks them; False when that or a later customer
    message was marked already, or the conversation is gone."""
    try:
        table.update(keys.conversation(conv_id), "SET indicated_read_at = :li", vals={":li": last_inbound_at},
                     condition="attribute_exists(pk) AND "
                               "(attribute_not_exists(indicated_read_at) OR indicated_read_at < :li)")
    except ConditionFailed:
        return False
    return True


def claim_typing(table: Table, conv_id: str, now: float, every_seconds: float) -> bool:
    """Record that the customer is being shown an agent typing, unless they were within `every_seconds`: True for
    the one caller that then shows it."""
    try:
        table.update(keys.conversation(conv_id), "SET indicated_typing_at = :now",
                     vals={":now": Decimal(str(now)), ":before": Decimal(str(now - every_seconds))},
                     condition="attribute_exists(pk) AND "
                               "(attribute_not_exists(indicated_typing_at) OR indicated_typing_at <= :before)")
    except ConditionFailed:
        return False
    return True


# -- templates capability ------------------------------------------------------------------------------
def set_subject(table: Table, conv_id: str, subject: str) -> None:
    """Email: the subject of a conversation an agent started (kept if the conversation has one already)."""
    table.update(keys.conversation(conv_id), "SET subject = if_not_exists(subject, :s)", vals={":s": subject},
                 condition="attribute_exists(pk)")


# -- public comments (issue 17) ----------------------------------------------------------------------------------
def set_post(table: Table, conv_id: str, post: dict[str, Any]) -> None:
    """The post a comment thread is under, as the Graph API told it (permalink, text, picture)."""
    table.update(keys.conversation(conv_id), "SET post = :p", vals={":p": post}, condition="attribute_exists(pk)")


def claim_private_reply(table: Table, channel: str, comment_id: str, message_id: str) -> bool:
    """Meta allows one private reply per comment: False when another message claimed it already (the same message
    claiming again, an agent's retry of it, holds it)."""
    try:
        table.put({**keys.private_reply(channel, comment_id), "type": "private_reply", "message_id": message_id,
                   "at": clock.iso(clock.now())}, condition="attribute_not_exists(pk) OR message_id = :m",
                  vals={":m": message_id})
    except ConditionFailed:
        return False
    return True


def release_private_reply(table: Table, channel: str, comment_id: str, message_id: str) -> None:
    """A private reply that was never queued, or that the provider refused, gives its claim back (only its own)."""
    try:
        table.delete(keys.private_reply(channel, comment_id), condition="message_id = :m", vals={":m": message_id})
    except ConditionFailed:
        pass

"""Messages in their conversation, in time order: a customer's message stored (and its conversation brought up to
date), a reply or note added, a page of messages, an edit, stored attachments."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from switchboard import clock
from switchboard.store import due, keys, metrics, queue, reports
from switchboard.store.conversations import live
from switchboard.store.table import ConditionFailed, Table, decode_cursor, encode_cursor, start_key

if TYPE_CHECKING:
    from switchboard.models import Conversation, Message

NO_EXPIRY = 4102444800  # 2100-01-01: for a message written without a backstop (none in the code paths)
PREVIEW_CHARS = 200


def _message(item: dict[str, Any]) -> Message:
    from switchboard.models import Message

    return Message.model_validate(item)

def edit_message(table: Table, conv_id: str, created_at: str, msg_id: str, text: str, edited_at: float) -> bool:
    """Apply a customer's edit; an older edit arriving late never overwrites a newer one."""
    try:
        table.update(keys.message(conv_id, created_at, msg_id), "SET #t = :t, edited_at = :e",
                     names={"#t": "text"}, vals={":t": text, ":e": edited_at},
                     condition="attribute_exists(pk) AND (attribute_not_exists(edited_at) OR edited_at < :e)")
    except ConditionFailed:
        return False
    return True

DELETED_PREVIEW = "[message deleted]"


def mark_deleted(table: Table, conv_id: str, created_at: str, msg_id: str, deleted_at: float) -> list[str] | None:
    """The customer unsent a message: its content goes (text, files, location, payload), the trace that something
    was said stays. Returns the S3 keys of its stored files, to delete; None when the message is not there."""
    try:
        old = table.update(keys.message(conv_id, created_at, msg_id),
                           "SET #t = :empty, deleted_at = :d REMOVE attachments, summary, #loc, payload, reaction",
                           names={"#t": "text", "#loc": "location"}, vals={":empty": "", ":d": deleted_at},
                           condition="attribute_exists(pk)", return_old=True)
    except ConditionFailed:
        return None
    try:  # the inbox preview, when it still shows that message
        table.update(keys.conversation(conv_id), "SET last_message.#t = :gone", names={"#t": "text"},
                     vals={":gone": DELETED_PREVIEW, ":at": created_at, ":in": "inbound"},
                     condition="last_message.created_at = :at AND last_message.direction = :in")
    except ConditionFailed:
        pass
    return [a["s3_key"] for a in (old or {}).get("attachments", []) if isinstance(a, dict) and a.get("s3_key")]


def _preview(message: Message) -> dict[str, Any]:
    text = message.text or message.summary or (f"[{message.type}]" if message.type != "text" else "")
    return {"text": text[:PREVIEW_CHARS], "direction": message.direction, "created_at": message.created_at}


def message_item(message: Message) -> dict[str, Any]:
    return {**keys.message(message.conversation_id, message.created_at, message.id), "type": "message",
            **keys.message_index(message.id),  # rich replies: MessageIndex, a message by its id
            **message.model_dump(mode="json", exclude_none=True)}


def store_inbound(table: Table, conv: Conversation, message: Message, received_at: str,
                  sender_address: str | None = None, also: queue.Delta | None = None) -> bool:
    """Store a customer message and bring the conversation up to date. True when this call applied it to the
    conversation, False when an earlier delivery already had.

    Two plain writes, not a transaction (which would bill both items twice): the message, conditional on being
    new, then the conversation. A redelivery after a stop between the two finds the message stored and applies
    the conversation's part only while it is missing (the conversation has not seen a customer message this
    recent), so nothing is counted twice and nothing is left half-done. (Had another message of the same second
    or later been applied in between, the retry leaves the conversation as that one made it: its preview is the
    newer message, and its unread count may be one short, never one over.)

    Inbox order uses our receive time (one clock for every channel); the reply window uses the provider's
    time of the customer's message.
    """
    sort = keys.inbox_sort(received_at, conv.id)
    last_inbound = max(message.created_at, conv.last_inbound_at or "")
    sender_address = sender_address or conv.recipient  # replies go where the customer last wrote from
    reopening = conv.status == "resolved"
    if reopening:  # the customer wrote again: reopened, and no survey for that resolution
        due.cancel(table, conv.id, due.SURVEY)
    condition, vals = "attribute_exists(pk)", {}
    try:
        table.put(message_item(message), condition="attribute_not_exists(pk)")
        redelivery = False
    except ConditionFailed:  # stored before: finish the conversation's part only if that delivery did not
        redelivery = True
        condition += " AND (attribute_not_exists(last_inbound_at) OR last_inbound_at < :created)"
        vals[":created"] = message.created_at
    # Organizing the queue (issue 14): the wait starts, a snooze ends, the sort keys follow; `also`: SLA due times.
    expression, names, vals, condition = queue.merge(
        "SET updated_at = :at, last_message = :lm, last_inbound_at = :li, #st = :open, expires_at = :exp, "
        "recipient = :from, gsi1pk = :g1, gsi1sk = :sort, gsi2sk = :sort, "
        "reopened_count = if_not_exists(reopened_count, :zero) + :reopen, "
        "unread_count = if_not_exists(unread_count, :zero) + :one, inbox_sk = :isk REMOVE resolved_at, resolved_by",
        queue.customer_message(conv, received_at) + (also or queue.Delta()), {"#st": "status"},
        {":at": received_at, ":lm": _preview(message), ":li": last_inbound,
         ":exp": message.expires_at or NO_EXPIRY, ":from": sender_address, ":open": "open",
         ":g1": keys.inbox_status_pk("open"), ":sort": sort, ":zero": 0, ":one": 1,
         ":reopen": 1 if reopening else 0, ":isk": keys.inbox_scope_sk(conv.inbox, received_at, conv.id), **vals},
        condition)
    try:
        before = table.update(keys.conversation(conv.id), expression, names=names, vals=vals, condition=condition,
                              return_old=True) or {}
    except ConditionFailed:
        if redelivery and _applied(table, conv.id, message.created_at):
            return False  # a redelivery of a message already in its conversation
        raise  # gone, or changed meanwhile (its priority): the queue delivers it again, read afresh
    if conv.status == "snoozed":  # a customer message wakes it at once: its wake-up is off
        due.cancel(table, conv.id, queue.SNOOZE)
    if reopening:
        metrics.record(table, received_at[:10], {"reopened": 1})
    metrics.status_moved(table, conv, before.get("status"), "open")  # the status it really had, not as read
    return True


def _applied(table: Table, conv_id: str, created_at: str) -> bool:
    """Has the conversation seen a customer message this recent (a redelivery's part done before)?"""
    item = table.get(keys.conversation(conv_id), consistent=True)
    return item is None or (item.get("last_inbound_at") or "") >= created_at


def add_outbound(table: Table, conv: Conversation, message: Message, counts_as_response: bool = True,
                 _attempt: int = 1) -> None:
    """Store an outbound message (queued) and update the conversation's activity.

    An agent's reply (not an automated one) answers the customer: it is the first response once (counted in
    the day's metrics), clears the unread count and cancels a pending auto-reply.
    """
    sort = keys.inbox_sort(message.created_at, conv.id)
    expression = "SET updated_at = :at, last_message = :lm, gsi1sk = :sort, gsi2sk = :sort, inbox_sk = :isk"
    vals: dict[str, Any] = {":at": message.created_at, ":lm": _preview(message), ":sort": sort,
                            ":isk": keys.inbox_scope_sk(conv.inbox, message.created_at, conv.id)}  # InboxIndex
    if message.expires_at:
        expression += ", expires_at = :exp"
        vals[":exp"] = message.expires_at
    condition = "attribute_exists(pk)"
    if counts_as_response:
        expression += ", last_agent_reply_at = :at, unread_count = :zero"
        vals[":zero"] = 0
        if conv.first_response_at is None:
            expression += ", first_response_at = :at"
            condition += " AND attribute_not_exists(first_response_at)"
    # Organizing the queue (issue 14): an answer ends the wait and meets the response targets; the sort keys follow.
    expression, names, vals, condition = queue.merge(
        expression, queue.answered(conv, message.created_at, counts_as_response), None, vals, condition)
    put = {"Put": {"Item": message_item(message), "ConditionExpression": "attribute_not_exists(pk)"}}
    update: dict[str, Any] = {"Key": keys.conversation(conv.id), "UpdateExpression": expression,
                              "ConditionExpression": condition, "ExpressionAttributeValues": vals}
    if names:
        update["ExpressionAttributeNames"] = names
    try:
        table.transact([put, {"Update": update}])
    except ConditionFailed as exc:
        if (exc.reasons and exc.reasons[0] != "None") or _attempt >= 3:
            raise
        # Changed meanwhile (another reply was first, or its priority moved): read it again and store this reply
        # on what it is now (the first response goes to whoever was first).
        from switchboard.store.conversations import get

        fresh = get(table, conv.id, consistent=True)
        if fresh is None:
            raise
        add_outbound(table, fresh, message, counts_as_response, _attempt + 1)
        return
    if counts_as_response:
        queue.response_met(table, conv, message.created_at, first=conv.first_response_at is None)
        due.cancel(table, conv.id, due.AUTO_REPLY)  # the customer has an answer: no holding reply
        if conv.first_response_at is None:
            waited = (clock.parse_iso(message.created_at) - clock.parse_iso(conv.created_at)).total_seconds()
            metrics.record(table, message.created_at[:10], {f"frt_{metrics.bucket(waited)}": 1})
            reports.first_response(table, conv, message.sender, message.created_at, waited)  # reports


def add_note(table: Table, message: Message) -> None:
    """An internal note: stored in the conversation, never sent, never counted as a response."""
    table.put(message_item(message), condition="attribute_not_exists(pk)")

def get_message(table: Table, conv_id: str, created_at: str, msg_id: str, consistent: bool = True) -> Message | None:
    item = table.get(keys.message(conv_id, created_at, msg_id), consistent=consistent)
    return _message(item) if item else None


def update_attachments(table: Table, message: Message) -> None:
    table.update(keys.message(message.conversation_id, message.created_at, message.id), "SET attachments = :a",
                 vals={":a": [a.model_dump(mode="json", exclude_none=True) for a in message.attachments]})


def page(table: Table, conv_id: str, limit: int = 50, cursor: str | None = None) -> tuple[list[Message], str | None]:
    """One page of the conversation's messages, oldest first, and the cursor of the next."""
    pk = keys.conversation_pk(conv_id)
    # A cursor resumes this conversation's messages only: its own key, of this partition, or invalid_cursor.
    start = start_key(decode_cursor(cursor), ("pk", "sk"), {"pk": pk}, {"sk": keys.MSG_PREFIX}) if cursor else None
    items, last = table.query("pk = :pk AND begins_with(sk, :p)", {":pk": pk, ":p": keys.MSG_PREFIX},
                              limit=limit, start=start)
    return [_message(i) for i in items if live(i)], encode_cursor(last)


def every(table: Table, conv_id: str) -> list[Message]:
    """Every message of the conversation, oldest first (the export)."""
    items = table.query_all("pk = :pk AND begins_with(sk, :p)",
                            {":pk": keys.conversation_pk(conv_id), ":p": keys.MSG_PREFIX}, page_size=200)
    return [_message(i) for i in items if live(i)]


# -- the live workspace (issue 15): what came after the newest message an agent saw -------------------------------------
def newer_than(table: Table, conv_id: str, message_id: str, cap: int = 200) -> tuple[bool, list[Message]]:
    """The messages stored after `message_id`, newest first: (found, newer). Reads back from the newest, a page at
    a time, and stops at that message, so it costs what arrived since (at most `cap` messages)."""
    pk = keys.conversation_pk(conv_id)
    newer: list[Message] = []
    start: dict[str, Any] | None = None
    while len(newer) < cap:
        items, start = table.query("pk = :pk AND begins_with(sk, :p)", {":pk": pk, ":p": keys.MSG_PREFIX},
                                   forward=False, limit=50, start=start, consistent=True)
        for item in items:
            if item.get("id") == message_id:
                return True, newer
            if live(item):
                newer.append(_message(item))
        if not start:
            break
    return False, newer


def latest_inbound(table: Table, conv_id: str, look_back: int = 20) -> Message | None:
    """The customer's newest message with a provider id (what a read receipt or typing indicator names), among the
    conversation's newest `look_back` messages; None when there is none there. One Query."""
    items, _ = table.query("pk = :pk AND begins_with(sk, :p)",
                           {":pk": keys.conversation_pk(conv_id), ":p": keys.MSG_PREFIX}, forward=False,
                           limit=look_back)
    for item in items:
        if item.get("direction") == "inbound" and item.get("provider_message_id") and live(item):
            return _message(item)
    return None


# -- public comments (issue 17) ----------------------------------------------------------------------------------
def set_moderation(table: Table, message: Message, hidden: bool, moderation: dict[str, Any]) -> None:
    """An agent hid, unhid or deleted a comment: recorded on its message."""
    table.update(keys.message(message.conversation_id, message.created_at, message.id),
                 "SET #h = :h, #m = :m", names={"#h": "hidden", "#m": "moderation"},  # HIDDEN is a reserved word
                 vals={":h": hidden, ":m": moderation},
                 condition="attribute_exists(pk)")

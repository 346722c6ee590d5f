"""Conversations and their messages: the inbox, one conversation, its messages in time order."""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Any

from switchboard import clock, ids
from switchboard.errors import NotFound, RetryableSendError
from switchboard.store import keys, metrics
from switchboard.store.table import ConditionFailed, Table, decode_cursor, encode_cursor

if TYPE_CHECKING:
    from switchboard.models import Contact, Conversation, Message

STATUSES = ("open", "pending", "resolved")
# A pointer without its conversation this long after its claim leads to a conversation that is gone (retention,
# expiry): a new one replaces it. A younger one is completed by whoever finds it.
DANGLING_AFTER_SECONDS = 120
NO_EXPIRY = 4102444800  # 2100-01-01: for a message written without a backstop (none in the code paths)
PREVIEW_CHARS = 200


def _conversation(item: dict[str, Any]) -> Conversation:
    from switchboard.models import Conversation

    return Conversation.model_validate(item)


def _message(item: dict[str, Any]) -> Message:
    from switchboard.models import Message

    return Message.model_validate(item)


def live(item: dict[str, Any] | None) -> bool:
    """TTL deletion lags by days: an item past its expires_at reads as gone."""
    return bool(item) and (not item.get("expires_at") or item["expires_at"] > clock.epoch())


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


def set_blocked(table: Table, conv_id: str, blocked: bool) -> None:
    """The customer blocked (or unblocked) us on the channel: agents see it on the conversation."""
    table.update(keys.conversation(conv_id), "SET blocked = :b, updated_at = updated_at", vals={":b": blocked},
                 condition="attribute_exists(pk)")


def edit_message(table: Table, conv_id: str, created_at: str, msg_id: str, text: str, edited_at: float) -> bool:
    """Apply a customer's edit; an older edit arriving late never overwrites a newer one."""
    try:
        table.update(keys.message(conv_id, created_at, msg_id), "SET #t = :t, edited_at = :e",
                     names={"#t": "text"}, vals={":t": text, ":e": edited_at},
                     condition="attribute_exists(pk) AND (attribute_not_exists(edited_at) OR edited_at < :e)")
    except ConditionFailed:
        return False
    return True


def active_for(table: Table, channel: str, inbox_id: str, contact: Contact, recipient: str,
               expires_at: int | None = None) -> Conversation:
    """The contact's current conversation in this inbox, started on first contact.

    The active pointer is the claim: of two first messages at once, one names the conversation. Whoever finds a
    pointer claimed moments ago without its conversation (the other delivery is still writing it, or stopped
    half-way) writes it itself, for the claimed id, so nothing waits and nothing is left half-done. A pointer whose
    conversation is gone for longer (retention, expiry) is replaced by a new conversation, never a live one."""
    pointer_key = keys.active_conversation(channel, inbox_id, contact.id)
    pointer = table.get(pointer_key)
    if pointer:
        conv = get(table, pointer["conversation_id"], consistent=True)
        if conv:
            return conv
        if clock.epoch() - int(pointer.get("claimed_at", 0)) < DANGLING_AFTER_SECONDS:
            return _create(table, pointer["conversation_id"], channel, inbox_id, contact, recipient, expires_at)
    conv_id = ids.new_id("cv_")
    try:
        table.put({**pointer_key, "type": "active_pointer", "conversation_id": conv_id, "claimed_at": clock.epoch()},
                  condition="attribute_not_exists(pk) OR conversation_id = :old",
                  vals={":old": pointer["conversation_id"] if pointer else "-"})
    except ConditionFailed:
        winner = table.get(pointer_key, consistent=True)
        if winner is None:  # claimed and gone again (an erasure in between): the queue retries the message
            raise RetryableSendError("the conversation changed while it was being created: retry shortly") from None
        conv = get(table, winner["conversation_id"], consistent=True)
        return conv or _create(table, winner["conversation_id"], channel, inbox_id, contact, recipient, expires_at)
    return _create(table, conv_id, channel, inbox_id, contact, recipient, expires_at)


def _create(table: Table, conv_id: str, channel: str, inbox_id: str, contact: Contact, recipient: str,
            expires_at: int | None) -> Conversation:
    """The items of a claimed conversation: plain puts (a transaction would bill each item twice), idempotent, the
    conversation item last and only if absent, so that of two deliveries completing it, one writes it and counts
    it in the day's metrics."""
    now = clock.iso(clock.now())
    item: dict[str, Any] = {
        **keys.conversation(conv_id), **keys.inbox_keys("open", None, now, conv_id),
        "type": "conversation", "id": conv_id, "channel": channel, "inbox_id": inbox_id,
        "contact_id": contact.id, "contact_name": contact.name, "recipient": recipient, "status": "open",
        "labels": [], "created_at": now, "updated_at": now, "expires_at": expires_at,
    }
    table.put({**keys.contact_conversation(contact.id, conv_id), "type": "contact_conversation",
               "conversation_id": conv_id, "channel": channel, "created_at": now})
    table.put({**keys.retention_due(conv_id, channel, now), "type": "due", "job": "retention",
               "conversation_id": conv_id, "contact_id": contact.id, "channel": channel})
    try:
        table.put(item, condition="attribute_not_exists(pk)")
    except ConditionFailed:  # the other delivery wrote it first: theirs stands
        existing = get(table, conv_id, consistent=True)
        if existing:
            return existing
        raise RetryableSendError("the conversation changed while it was being created: retry shortly") from None
    metrics.record(table, now[:10], {"conversations": 1, f"channel_{channel}": 1, "status_open": 1})
    return _conversation(item)


def _preview(message: Message) -> dict[str, Any]:
    text = message.text or (f"[{message.type}]" if message.type != "text" else "")
    return {"text": text[:PREVIEW_CHARS], "direction": message.direction, "created_at": message.created_at}


def message_item(message: Message) -> dict[str, Any]:
    return {**keys.message(message.conversation_id, message.created_at, message.id), "type": "message",
            **message.model_dump(mode="json", exclude_none=True)}


def store_inbound(table: Table, conv: Conversation, message: Message, received_at: str,
                  sender_address: str | None = None) -> bool:
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
        table.delete(keys.due(conv.id, "survey"))
    condition, vals = "attribute_exists(pk)", {}
    try:
        table.put(message_item(message), condition="attribute_not_exists(pk)")
        redelivery = False
    except ConditionFailed:  # stored before: finish the conversation's part only if that delivery did not
        redelivery = True
        condition += " AND (attribute_not_exists(last_inbound_at) OR last_inbound_at < :created)"
        vals[":created"] = message.created_at
    try:
        before = table.update(
            keys.conversation(conv.id),
            "SET updated_at = :at, last_message = :lm, last_inbound_at = :li, #st = :open, expires_at = :exp, "
            "recipient = :from, gsi1pk = :g1, gsi1sk = :sort, gsi2sk = :sort, "
            "reopened_count = if_not_exists(reopened_count, :zero) + :reopen, "
            "unread_count = if_not_exists(unread_count, :zero) + :one REMOVE resolved_at, resolved_by",
            names={"#st": "status"},
            vals={":at": received_at, ":lm": _preview(message), ":li": last_inbound,
                  ":exp": message.expires_at or NO_EXPIRY, ":from": sender_address, ":open": "open",
                  ":g1": keys.inbox_status_pk("open"), ":sort": sort, ":zero": 0, ":one": 1,
                  ":reopen": 1 if reopening else 0, **vals},
            condition=condition, return_old=True) or {}
    except ConditionFailed:
        if redelivery:
            return False  # a redelivery of a message already in its conversation
        raise
    if reopening:
        metrics.record(table, received_at[:10], {"reopened": 1})
    metrics.status_moved(table, conv, before.get("status"), "open")  # the status it really had, not as read
    return True


def add_outbound(table: Table, conv: Conversation, message: Message, counts_as_response: bool = True) -> None:
    """Store an outbound message (queued) and update the conversation's activity.

    An agent's reply (not an automated one) answers the customer: it is the first response once (counted in
    the day's metrics), clears the unread count and cancels a pending auto-reply.
    """
    sort = keys.inbox_sort(message.created_at, conv.id)
    expression = "SET updated_at = :at, last_message = :lm, gsi1sk = :sort, gsi2sk = :sort"
    vals: dict[str, Any] = {":at": message.created_at, ":lm": _preview(message), ":sort": sort}
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
    put = {"Put": {"Item": message_item(message), "ConditionExpression": "attribute_not_exists(pk)"}}
    update = {"Update": {"Key": keys.conversation(conv.id), "UpdateExpression": expression,
                         "ConditionExpression": condition, "ExpressionAttributeValues": vals}}
    try:
        table.transact([put, update])
    except ConditionFailed as exc:
        if conv.first_response_at is not None or not counts_as_response or (exc.reasons and exc.reasons[0] != "None"):
            raise
        # Another reply was first meanwhile: store this one as an ordinary reply.
        add_outbound(table, conv.model_copy(update={"first_response_at": message.created_at}), message, counts_as_response)
        return
    if counts_as_response:
        table.delete(keys.due(conv.id, "auto_reply"))  # the customer has an answer: no holding reply
        if conv.first_response_at is None:
            waited = (clock.parse_iso(message.created_at) - clock.parse_iso(conv.created_at)).total_seconds()
            metrics.record(table, message.created_at[:10], {f"frt_{metrics.bucket(waited)}": 1})


def add_note(table: Table, message: Message) -> None:
    """An internal note: stored in the conversation, never sent, never counted as a response."""
    table.put(message_item(message), condition="attribute_not_exists(pk)")


def _update_conversation(table: Table, conv_id: str, expression: str, vals: dict[str, Any],
                         names: dict[str, str] | None = None) -> Conversation:
    try:
        item = table.update(keys.conversation(conv_id), expression, names=names, vals=vals,
                            condition="attribute_exists(pk)", return_new=True)
    except ConditionFailed:
        raise NotFound(f"conversation {conv_id} not found") from None
    return _conversation(item or {})


def set_status(table: Table, conv_id: str, status: str, by: str | None = None) -> Conversation:
    """open / pending / resolved; resolving records who and when (CSAT is credited to them)."""
    vals: dict[str, Any] = {":st": status, ":g1": keys.inbox_status_pk(status)}
    expression = "SET #st = :st, gsi1pk = :g1"
    if status == "resolved":
        expression += ", resolved_at = :now, resolved_by = :by"
        vals |= {":now": clock.iso(clock.now()), ":by": by or "-"}
    else:
        expression += " REMOVE resolved_at, resolved_by"
    try:
        before = table.update(keys.conversation(conv_id), expression, names={"#st": "status"}, vals=vals,
                              condition="attribute_exists(pk)", return_old=True) or {}
    except ConditionFailed:
        raise NotFound(f"conversation {conv_id} not found") from None
    conv = require(table, conv_id, consistent=True)
    metrics.status_moved(table, conv, before.get("status"), status)
    return conv


def assign(table: Table, conv_id: str, agent: str | None) -> Conversation:
    if agent:
        return _update_conversation(table, conv_id, "SET assignee = :a, gsi2pk = :g2",
                                    {":a": agent.lower(), ":g2": keys.inbox_assignee_pk(agent)})
    return _update_conversation(table, conv_id, "REMOVE assignee, gsi2pk", {})


def set_labels(table: Table, conv_id: str, labels: list[str]) -> Conversation:
    return _update_conversation(table, conv_id, "SET labels = :l", {":l": labels})


def mark_read(table: Table, conv_id: str) -> Conversation:
    return _update_conversation(table, conv_id, "SET unread_count = :z", {":z": 0})


def get_message(table: Table, conv_id: str, created_at: str, msg_id: str, consistent: bool = True) -> Message | None:
    item = table.get(keys.message(conv_id, created_at, msg_id), consistent=consistent)
    return _message(item) if item else None


def update_attachments(table: Table, message: Message) -> None:
    table.update(keys.message(message.conversation_id, message.created_at, message.id), "SET attachments = :a",
                 vals={":a": [a.model_dump(mode="json", exclude_none=True) for a in message.attachments]})


def messages(table: Table, conv_id: str, limit: int = 50, cursor: str | None = None) -> tuple[list[Message], str | None]:
    items, last = table.query("pk = :pk AND begins_with(sk, :p)",
                              {":pk": keys.conversation_pk(conv_id), ":p": keys.MSG_PREFIX},
                              limit=limit, start=decode_cursor(cursor))
    return [_message(i) for i in items if live(i)], encode_cursor(last)


def all_messages(table: Table, conv_id: str) -> list[Message]:
    """Every message of the conversation, oldest first (the export)."""
    items = table.query_all("pk = :pk AND begins_with(sk, :p)",
                            {":pk": keys.conversation_pk(conv_id), ":p": keys.MSG_PREFIX}, page_size=200)
    return [_message(i) for i in items if live(i)]


# -- the inbox -------------------------------------------------------------------------------
def inbox(table: Table, *, status: str | None = None, assignee: str | None = None, channel: str | None = None,
          label: str | None = None, limit: int = 25, cursor: str | None = None) -> tuple[list[Conversation], str | None]:
    """Newest activity first: one index Query per partition; the unfiltered view merges the three statuses.

    The cursor maps each partition still to read to the index key to resume after (None: from the top).
    """
    filters, vals, names = [], {}, {}
    if channel:
        filters.append("#ch = :ch")
        vals[":ch"] = channel
        names["#ch"] = "channel"
    if label:
        filters.append("contains(#lb, :lb)")
        vals[":lb"] = label
        names["#lb"] = "labels"
    if assignee and status:
        filters.append("#st = :st")
        vals[":st"] = status
        names["#st"] = "status"
    if assignee:
        partitions = {"assignee": (keys.INBOX_BY_ASSIGNEE, "gsi2pk", "gsi2sk", keys.inbox_assignee_pk(assignee))}
    else:
        partitions = {s: (keys.INBOX_BY_STATUS, "gsi1pk", "gsi1sk", keys.inbox_status_pk(s))
                      for s in ((status,) if status else STATUSES)}
    state = decode_cursor(cursor) if cursor else {name: None for name in partitions}
    pages: dict[str, tuple[list[dict[str, Any]], dict[str, Any] | None]] = {}
    for name, (index, pk_attr, _, pk_value) in partitions.items():
        if name in state:
            pages[name] = _filtered_page(table, index, pk_attr, pk_value, limit, state[name],
                                         " AND ".join(filters) or None, vals, names)
    merged = heapq.merge(*[[(name, item) for item in items] for name, (items, _) in pages.items()],
                         key=lambda pair: pair[1][partitions[pair[0]][2]], reverse=True)
    taken = [pair for _, pair in zip(range(limit), merged, strict=False)]
    next_state: dict[str, Any] = {}
    for name, (items, last) in pages.items():
        used = [item for n, item in taken if n == name]
        if len(used) < len(items):  # this partition has items left over in this page: resume after the last used
            next_state[name] = _index_key(used[-1], partitions[name]) if used else state[name]
        elif last:
            next_state[name] = last
    return [_conversation(item) for _, item in taken if live(item)], (encode_cursor(next_state) if next_state else None)


def _index_key(item: dict[str, Any], partition: tuple[str, str, str, str]) -> dict[str, Any]:
    _, pk_attr, sk_attr, _ = partition
    return {"pk": item["pk"], "sk": item["sk"], pk_attr: item[pk_attr], sk_attr: item[sk_attr]}


def _filtered_page(table: Table, index: str, pk_attr: str, pk_value: str, limit: int, start: dict[str, Any] | None,
                   filter_expression: str | None, vals: dict[str, Any], names: dict[str, str]
                   ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Up to `limit` matching items and where to resume; a filter may need several reads to fill the page."""
    found: list[dict[str, Any]] = []
    last = start
    for items, resume in table.pages(f"{pk_attr} = :pkv", {":pkv": pk_value, **vals}, page_size=limit, start=start,
                                     index=index, names=names or None, forward=False,
                                     filter_expression=filter_expression):
        found.extend(items)
        last = resume
        if len(found) >= limit:
            break
    if len(found) > limit:
        found = found[:limit]
        sk_attr = "gsi2sk" if pk_attr == "gsi2pk" else "gsi1sk"
        last = {"pk": found[-1]["pk"], "sk": found[-1]["sk"], pk_attr: pk_value, sk_attr: found[-1][sk_attr]}
    return found, last


# -- outbound delivery state -----------------------------------------------------------------
def claim_send(table: Table, message: Message, lease_until: float) -> bool:
    """queued -> sending, once. False when another worker has it or it has left the queue."""
    try:
        table.update(keys.message(message.conversation_id, message.created_at, message.id),
                     "SET #st = :sending, lease_until = :lease",
                     names={"#st": "status"}, vals={":sending": "sending", ":queued": "queued", ":lease": lease_until},
                     condition="#st = :queued")
        return True
    except ConditionFailed:
        return False


def release_send(table: Table, message: Message) -> None:
    """sending -> queued after a retryable failure: the provider did not take it."""
    table.update(keys.message(message.conversation_id, message.created_at, message.id),
                 "SET #st = :queued REMOVE lease_until", names={"#st": "status"},
                 vals={":queued": "queued", ":sending": "sending"}, condition="#st = :sending")


def record_sent(table: Table, message: Message, provider_message_id: str) -> None:
    now = clock.epoch()
    table.transact([
        {"Update": {"Key": keys.message(message.conversation_id, message.created_at, message.id),
                    "UpdateExpression": "SET #st = :sent, status_at = :now, provider_message_id = :pid REMOVE lease_until",
                    "ConditionExpression": "#st = :sending",
                    "ExpressionAttributeNames": {"#st": "status"},
                    "ExpressionAttributeValues": {":sent": "sent", ":sending": "sending", ":now": now,
                                                  ":pid": provider_message_id}}},
        {"Put": {"Item": {**keys.provider_message(message.channel, provider_message_id), "type": "provider_message",
                          "conversation_id": message.conversation_id, "message_id": message.id,
                          "created_at": message.created_at}}},
    ])


def record_failed(table: Table, message: Message, reason: str) -> None:
    table.update(keys.message(message.conversation_id, message.created_at, message.id),
                 "SET #st = :failed, failure_reason = :r, status_at = :now REMOVE lease_until",
                 names={"#st": "status"}, vals={":failed": "failed", ":r": reason[:500], ":now": clock.epoch()})


def apply_watermark(table: Table, conv_id: str, status: str, watermark: float, limit: int = 50) -> int:
    """Every outbound message up to the watermark moves forward (Messenger/Instagram receipts). Recent first."""
    from switchboard.models import STATUS_RANK

    upper = f"{keys.MSG_PREFIX}{clock.iso(clock.from_epoch(watermark))}~"
    items, _ = table.query("pk = :pk AND sk BETWEEN :lo AND :hi",
                           {":pk": keys.conversation_pk(conv_id), ":lo": keys.MSG_PREFIX, ":hi": upper},
                           forward=False, limit=limit)
    moved = 0
    for item in items:
        if item.get("direction") == "outbound" and item.get("provider_message_id") and \
                STATUS_RANK.get(item.get("status", ""), 99) < STATUS_RANK[status]:
            moved += apply_receipt(table, item["channel"], item["provider_message_id"], status, watermark) == "applied"
    return moved


def apply_receipt(table: Table, channel: str, provider_message_id: str, status: str, timestamp: float,
                  reason: str | None = None) -> str:
    """Move an outbound message forward on a receipt; never backwards. Returns what happened."""
    from switchboard.models import STATUS_RANK

    ref = table.get(keys.provider_message(channel, provider_message_id))
    if not ref:
        return "unknown"
    key = keys.message(ref["conversation_id"], ref["created_at"], ref["message_id"])
    lower = [s for s, rank in STATUS_RANK.items() if rank < STATUS_RANK[status]]
    expression = "SET #st = :st, status_at = :ts"
    vals: dict[str, Any] = {":st": status, ":ts": timestamp}
    if reason:
        expression += ", failure_reason = :r"
        vals[":r"] = reason[:500]
    vals |= {f":l{i}": s for i, s in enumerate(lower)}
    placeholders = ", ".join(f":l{i}" for i in range(len(lower)))
    try:
        table.update(key, expression, names={"#st": "status"}, vals=vals,
                     condition=f"attribute_exists(pk) AND #st IN ({placeholders})")
    except ConditionFailed:
        return "stale"
    return "applied"

"""The data lifecycle: retention runs, GDPR export and erasure, and their audit records (counts only)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from switchboard import clock, ids
from switchboard.errors import NotFound
from switchboard.services import media
from switchboard.services.automation_config import load as load_settings
from switchboard.store import contacts, conversations, erasure, keys
from switchboard.store.table import Table

RUN_LIMIT = 1000  # conversations per channel per run; the next run takes the rest


def audit(table: Table, kind: str, counts: dict[str, Any], **details: Any) -> None:
    now = clock.now()
    at = clock.iso(now)
    table.put({**keys.audit(at[:7], at, ids.new_id("au_")), "type": "audit", "kind": kind, "at": at,
               "counts": counts, **details})


def run_retention(table: Table | None = None) -> dict[str, int]:
    """Delete every conversation whose last activity is older than its channel's retention."""
    from switchboard.models import CHANNELS

    table = table or Table()
    policy = load_settings(table).retention
    counts = erasure.Counts(extra={"read": 0, "rescheduled": 0})
    now = clock.now()
    for channel in CHANNELS:
        days = policy.channels.get(channel, policy.default_days)
        cutoff = clock.iso(now - timedelta(days=days))
        start = None
        seen = 0
        while seen < RUN_LIMIT:
            items, start = table.query("due_pk = :pk AND due_sk <= :cut",
                                       {":pk": keys.retention_due_pk(channel), ":cut": cutoff + "~"},
                                       index=keys.DUE_INDEX, limit=min(100, RUN_LIMIT - seen), start=start)
            counts.extra["read"] += len(items)
            seen += len(items)
            for due in items:
                _expire(table, due, cutoff, counts)
            if not start:
                break
    result = counts.as_dict()
    audit(table, "retention", result, policy={"default_days": policy.default_days, "channels": dict(policy.channels)})
    return result


def _expire(table: Table, due: dict[str, Any], cutoff: str, counts: erasure.Counts) -> None:
    items = erasure.conversation_items(table, due["conversation_id"])  # one read of what may be deleted
    counts.extra["read"] += len(items)
    meta = next((i for i in items if i["sk"] == keys.META), None)
    if meta is not None and meta["updated_at"] > cutoff:
        # Active since it was scheduled: move its entry to its real last activity.
        table.update({"pk": due["pk"], "sk": due["sk"]}, "SET due_sk = :s",
                     vals={":s": keys.inbox_sort(meta["updated_at"], meta["id"])})
        counts.extra["rescheduled"] += 1
        return
    contact_id = erasure.delete_conversation(table, due["conversation_id"], counts, items) or due.get("contact_id")
    if contact_id and not erasure.contact_has_conversations(table, contact_id):
        erasure.delete_contact(table, contact_id, counts)


def export_contact(table: Table, contact_id: str) -> dict[str, Any]:
    """Everything held about a contact (GDPR Art. 15 and 20), attachments as short-lived links."""
    contact, identities, conversation_ids = contacts.related(table, contact_id)
    exported = []
    for conv_id in conversation_ids:
        conv = conversations.get(table, conv_id)
        if conv is None:
            continue
        items, cursor = [], None
        while True:
            page, cursor = conversations.messages(table, conv_id, limit=200, cursor=cursor)
            items += page
            if not cursor:
                break
        surveys, _ = table.query("pk = :pk AND begins_with(sk, :p)",
                                 {":pk": keys.conversation_pk(conv_id), ":p": keys.SURVEY_PREFIX})
        exported.append({
            "conversation": conv.model_dump(mode="json", exclude_none=True),
            "messages": [{**m.model_dump(mode="json", exclude_none=True, exclude={"lease_until"}),
                          "attachments": [{**a.model_dump(mode="json", exclude_none=True), "url": media.presigned_url(a)}
                                          for a in m.attachments]} for m in items],
            "surveys": [{k: s[k] for k in ("sent_at", "rating", "comment", "answered_at") if k in s} for s in surveys],
        })
    return {"exported_at": clock.iso(clock.now()), "contact": contact.model_dump(mode="json", exclude_none=True),
            "identities": identities, "conversations": exported}


def erase_contact(table: Table, contact_id: str) -> dict[str, int]:
    """GDPR Art. 17: every conversation, message, attachment, identity and survey answer of the contact."""
    if contacts.get(table, contact_id) is None:
        raise NotFound(f"contact {contact_id} not found")
    _, _, conversation_ids = contacts.related(table, contact_id)
    counts = erasure.Counts()
    for conv_id in conversation_ids:
        erasure.delete_conversation(table, conv_id, counts)
    erasure.delete_contact(table, contact_id, counts)
    result = counts.as_dict()
    audit(table, "erasure", result)  # no id, no name: nothing that identifies the person
    return result

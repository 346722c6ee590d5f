"""The data lifecycle: retention runs, GDPR export and erasure, and their audit records (counts only)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from switchboard import clock
from switchboard.channel_names import CHANNELS
from switchboard.errors import NotFound
from switchboard.services import media, uploads
from switchboard.services.automation_config import backstop_after
from switchboard.services.automation_config import load as load_settings
from switchboard.store import audit as store_audit
from switchboard.store import backstops, contacts, conversations, due, erasure, keys, messages, surveys
from switchboard.store.table import Table

if TYPE_CHECKING:
    from switchboard.automation_settings import AutomationSettings

RUN_LIMIT = 1000  # conversations per channel per run; the next run takes the rest


def audit(table: Table, kind: str, counts: dict[str, Any], **details: Any) -> None:
    store_audit.record(table, clock.iso(clock.now()), kind, counts, **details)


def run_retention(table: Table | None = None) -> dict[str, int]:
    """Delete every conversation whose last activity is older than its channel's retention."""

    table = table or Table()
    current = load_settings(table)
    policy = current.retention
    counts = erasure.Counts(extra={"read": 0, "rescheduled": 0, "connections": 0})
    now = clock.now()
    for channel in CHANNELS:
        days = policy.channels.get(channel, policy.default_days)
        cutoff = clock.iso(now - timedelta(days=days))
        for items, _ in due.retention_pages(table, channel, older_than=cutoff, cap=RUN_LIMIT):
            counts.extra["read"] += len(items)
            for entry in items:
                _expire(table, entry, cutoff, counts)
    counts.extra["reviews_scheduled"] = len(schedule_backstop_review(table, current))  # raised by a redeploy
    _review_backstops(table, policy, counts)
    # growth: the audit log kept for retention.audit_days (TTL is the backstop)
    counts.extra["audit_records_deleted"] = store_audit.prune(table, clock.iso(now - timedelta(days=policy.audit_days)))
    result = counts.as_dict()
    audit(table, "retention", result, policy={"default_days": policy.default_days, "channels": dict(policy.channels)})
    return result


def schedule_backstop_review(table: Table, after: AutomationSettings,
                             before: AutomationSettings | None = None) -> list[str]:
    """The channels whose retention is now higher than the policy their TTL backstops were last reviewed for get
    those backstops moved out by the next retention runs (an item written under the old policy would otherwise
    expire, and read as gone, before the new policy says it is due). A lowered retention needs nothing: the job
    deletes on time. Called on a settings change and by every retention run, so that a policy raised through the
    template's defaults (a redeploy) is caught too. `before`: the baseline when none has been recorded yet."""
    from switchboard.automation_settings import retention_days

    wanted: dict[str, int] = {c: retention_days(after, c) for c in CHANNELS}
    reviewed = backstops.reviewed_days(table)
    baseline: dict[str, int]
    if reviewed is not None:
        baseline = {c: int(reviewed.get(c, wanted[c])) for c in CHANNELS}
    else:
        baseline = {c: retention_days(before, c) for c in CHANNELS} if before is not None else wanted
    raised: list[str] = [c for c in CHANNELS if wanted[c] > baseline[c]]
    for channel in raised:  # a newer review replaces an unfinished one: it starts again from the top
        backstops.request_review(table, channel, clock.iso(clock.now()))
    if reviewed is None or baseline != wanted:
        backstops.set_reviewed(table, wanted, clock.iso(clock.now()))
    return raised


def _review_backstops(table: Table, policy: Any, counts: erasure.Counts) -> None:
    """Move out the TTL backstops of each channel under review, RUN_LIMIT conversations per channel per run; what is
    left resumes at the next run. Reads grow with the conversations of the channels whose retention was raised."""
    counts.extra.setdefault("backstops_moved", 0)
    for review in backstops.reviews(table):
        channel = review["channel"]
        days = policy.channels.get(channel, policy.default_days)  # the policy now, raised or changed again since
        start = None  # where the next run resumes (None: this run reached the end)
        for items, last in due.retention_pages(table, channel, cap=RUN_LIMIT, start=review.get("cursor")):
            start = last
            counts.extra["read"] += len(items)
            for entry in items:
                counts.extra["backstops_moved"] += _move_backstops(table, entry["conversation_id"], days, counts)
        backstops.save_progress(table, review, start)  # False: raised again meanwhile, the newer review goes on


def _move_backstops(table: Table, conv_id: str, days: int, counts: erasure.Counts) -> int:
    """Each live item of the conversation that carries a backstop gets the one the policy now gives it (never an
    earlier one, and nothing for what has expired already: that is gone)."""
    items = erasure.conversation_items(table, conv_id)
    counts.extra["read"] += len(items)
    now, moved = clock.epoch(), 0
    for item in items:
        expires = int(item.get("expires_at") or 0)
        written = item.get("updated_at") if item["sk"] == keys.META else item.get("created_at")
        if not expires or expires <= now or not written:
            continue
        wanted = backstop_after(days, clock.parse_iso(written).timestamp())
        if wanted > expires and backstops.move_expiry(table, item, expires, wanted):
            moved += 1
    return moved


def _expire(table: Table, entry: dict[str, Any], cutoff: str, counts: erasure.Counts) -> None:
    items = erasure.conversation_items(table, entry["conversation_id"])  # one read of what may be deleted
    counts.extra["read"] += len(items)
    meta = next((i for i in items if i["sk"] == keys.META), None)
    if meta is not None and meta["updated_at"] > cutoff:
        # Active since it was scheduled: move its entry to its real last activity.
        due.reschedule_retention(table, entry, meta["updated_at"], meta["id"])
        counts.extra["rescheduled"] += 1
        return
    contact_id = erasure.delete_conversation(table, entry["conversation_id"], counts, items) or entry.get("contact_id")
    if contact_id and not erasure.contact_has_conversations(table, contact_id):
        identities = erasure.delete_contact(table, contact_id, counts)
        # The contact is gone: so are their web chat visitors' connections (a widget still open reconnects afresh).
        counts.extra["connections"] += _disconnect(table, _visitors(identities), [items])


def _visitors(identities: list[dict[str, Any]]) -> list[str]:
    """A contact's web chat visitor ids, as their identities name them."""
    return [str(i["address"]) for i in identities if i.get("channel") == "webchat" and i.get("address")]


def _disconnect(table: Table, visitors: list[str], partitions: Iterable[list[dict[str, Any]]]) -> int:
    """Forget and close the connections of these visitors and of every visitor the conversations name."""
    from switchboard.services import push, webchat

    named = [v for items in partitions for v in webchat.visitors_in(items)]
    return push.disconnect_visitors(table, [*visitors, *named])


def export_contact(table: Table, contact_id: str) -> dict[str, Any]:
    """Everything held about a contact (GDPR Art. 15 and 20), attachments as short-lived links."""
    contact, identities, conversation_ids = contacts.related(table, contact_id)
    exported = []
    for conv_id in conversation_ids:
        conv = conversations.get(table, conv_id)
        if conv is None:
            continue
        items = messages.every(table, conv_id)
        answers = surveys.of_conversation(table, conv_id)
        exported.append({
            "conversation": conv.model_dump(mode="json", exclude_none=True),
            "messages": [{**m.model_dump(mode="json", exclude_none=True, exclude={"lease_until", "search_terms"}),
                          "attachments": [{**a.model_dump(mode="json", exclude_none=True), "url": media.presigned_url(a)}
                                          for a in m.attachments]} for m in items],
            "surveys": [{k: s[k] for k in ("sent_at", "rating", "provisional", "comment", "answered_at") if k in s}
                        for s in answers],
        })
    # The search index's items are derived from what is exported here (words, name, phone, email): not repeated.
    index_fields = {"search_terms", "search_name", "search_handle"}
    return {"exported_at": clock.iso(clock.now()),
            "contact": contact.model_dump(mode="json", exclude_none=True, exclude=index_fields),
            "identities": identities, "conversations": exported}


def erase_contact(table: Table, contact_id: str) -> dict[str, int]:
    """GDPR Art. 17: every conversation, message, attachment, identity and survey answer of the contact."""
    if contacts.get(table, contact_id) is None:
        raise NotFound(f"contact {contact_id} not found")
    _, identities, conversation_ids = contacts.related(table, contact_id)
    counts = erasure.Counts()
    partitions = {conv_id: erasure.conversation_items(table, conv_id) for conv_id in conversation_ids}
    visitors = _visitors(identities)
    # Their web chat widgets first, so that nothing this erasure does (or work still in flight) reaches them.
    counts.extra["connections"] = _disconnect(table, visitors, partitions.values())
    # Rich replies: files uploaded for their conversations (or by them in web chat) that no message used yet.
    counts.objects += uploads.erase_unused(conversation_ids, visitors)
    for conv_id, items in partitions.items():
        erasure.delete_conversation(table, conv_id, counts, items)
    erasure.delete_contact(table, contact_id, counts)
    result = counts.as_dict()
    audit(table, "erasure", result)  # no id, no name: nothing that identifies the person
    from switchboard.services import events  # growth: the last event about them; queued ones are dropped

    events.contact_erased(table, contact_id)
    return result

"""Merging two contacts an agent knows are one person: identities, conversations and profile move to one."""

from __future__ import annotations

from switchboard import clock
from switchboard.errors import BadRequest, NotFound
from switchboard.models import Contact
from switchboard.services import search
from switchboard.store import audit, contacts, conversations, due, erasure, optouts
from switchboard.store.table import Table

PROFILE_FIELDS = ("name", "email", "phone")


def merge(table: Table, target_id: str, other_id: str, actor: str = "-") -> Contact:
    """Everything of `other` becomes `target`'s; `other` is gone afterwards. Safe to rerun after a failure. The
    merge is audited (who, when, the two contact ids) before `other` goes: a merge is never unrecorded."""
    if target_id == other_id:
        raise BadRequest("a contact cannot be merged into itself", code="same_contact")
    target, _, _ = contacts.related(table, target_id)
    try:
        other, identities, conversation_ids = contacts.related(table, other_id)
    except NotFound:
        raise NotFound(f"contact {other_id} not found") from None
    for identity in identities:  # the customer is recognized as the target on every channel from now on
        contacts.move_identity(table, identity, target_id)
    for conv_id in conversation_ids:
        conv = conversations.get(table, conv_id, consistent=True)
        if conv is None:
            continue
        conversations.move_to_contact(table, conv, target_id, target.name or other.name or "-")
        due.move_retention(table, conv_id, target_id)
        # the target's own current conversation in that inbox, if it has one, stays the current one
        conversations.move_active_pointer(table, conv, other_id, target_id)
    fill = {f: getattr(other, f) for f in PROFILE_FIELDS if not getattr(target, f) and getattr(other, f)}
    if other.surveys_opt_out and not target.surveys_opt_out:
        fill["surveys_opt_out"] = True
    if other.email_suppressed:
        fill["email_suppressed"] = True
    if other.do_not_contact and not target.do_not_contact:  # templates capability: consent carries over
        fill["do_not_contact"] = True
    contacts.fill(table, target_id, fill)
    for channel in sorted(set(other.opted_out) - set(target.opted_out)):
        optouts.set_opted_out(table, target_id, channel, True, clock.iso(clock.now()))
    # Recorded before the one step that cannot be undone (a rerun after a failure past it may record it twice,
    # never not at all). No names, no addresses: the ids and counts only.
    audit.record(table, clock.iso(clock.now()), "contact_merge",
                 {"identities": len(identities), "conversations": len(conversation_ids)},
                 actor=actor, target=target_id, merged=other_id)
    # What is left of `other` (its profile and references) goes; its identities now point at the target and stay.
    erasure.delete_contact(table, other_id, erasure.Counts())
    search.index_contact(table, target_id)  # found by the other's phone, email and handles from now on
    merged = contacts.get(table, target_id)
    assert merged is not None
    return merged

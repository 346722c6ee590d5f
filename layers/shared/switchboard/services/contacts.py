"""Contacts as agents see them: the profile with identities across channels and conversations, edits, merges."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from switchboard.errors import BadRequest
from switchboard.services import contact_merge, events, survey
from switchboard.store import contacts, conversations
from switchboard.store.table import Table

if TYPE_CHECKING:
    from switchboard.models import Contact, Conversation


def view(table: Table, contact_id: str) -> tuple[Contact, list[dict[str, Any]], list[Conversation]]:
    """(profile, identities, conversations newest activity first (up to 100))."""
    contact, identities, conversation_ids = contacts.related(table, contact_id)
    convs = sorted(conversations.many(table, conversation_ids), key=lambda c: c.updated_at, reverse=True)
    return contact, identities, convs


def update(table: Table, contact_id: str, changes: dict[str, Any]) -> Contact:
    """Edit the profile (None removes a field; surveys_opt_out None is False). A new email or phone becomes an
    identity; opting out or a changed email drops pending surveys, which must not reach an opted-out or old
    address."""
    if not changes:
        raise BadRequest("nothing to change", code="empty_patch")
    if "surveys_opt_out" in changes and changes["surveys_opt_out"] is None:
        changes = {**changes, "surveys_opt_out": False}
    contact = contacts.update(table, contact_id, changes)
    if changes.get("surveys_opt_out") or "email" in changes:
        survey.cancel_for_contact(table, contact_id)
    events.contact_updated(table, contact_id, list(changes))
    return contact


def merge(table: Table, target_id: str, other_id: str) -> Contact:
    """`other` becomes part of `target` (an agent knows they are one person)."""
    merged = contact_merge.merge(table, target_id, other_id)
    events.contact_merged(table, target_id, other_id)
    return merged

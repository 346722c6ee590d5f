"""Contacts as agents see them: the profile with identities across channels and conversations, edits, merges."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from switchboard.errors import BadRequest, NotFound
from switchboard.services import contact_merge, events, optouts, search, survey
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
    values = changes.pop("attributes", None)
    if not changes and values is None:
        raise BadRequest("nothing to change", code="empty_patch")
    if values is not None:  # custom attributes (issue 14): checked against their definitions before anything is written
        from switchboard.services import attributes

        checked = attributes.validate(table, values, "contact")
        current = contacts.get(table, contact_id)
        if current is None:
            raise NotFound(f"contact {contact_id} not found")
        if changes:
            current = update(table, contact_id, changes)
        attributes.set_on_contact(table, current, checked)
        return contacts.get(table, contact_id) or current
    if "surveys_opt_out" in changes and changes["surveys_opt_out"] is None:
        changes = {**changes, "surveys_opt_out": False}
    # templates capability: consent (do_not_contact, opted_out) has its own writes
    consent = {k: changes[k] for k in ("do_not_contact", "opted_out") if k in changes}
    changes = {k: v for k, v in changes.items() if k not in consent}
    if consent:
        if contacts.get(table, contact_id) is None:
            raise NotFound(f"contact {contact_id} not found")
        optouts.update(table, contact_id, consent.get("do_not_contact"), consent.get("opted_out"))
        if not changes:
            updated = contacts.get(table, contact_id)
            if updated is None:
                raise NotFound(f"contact {contact_id} not found")
            return updated
    contact = contacts.update(table, contact_id, changes)
    if changes.get("surveys_opt_out") or "email" in changes:
        survey.cancel_for_contact(table, contact_id)
    if changes.keys() & {"name", "email", "phone"}:
        search.index_contact(table, contact_id)  # found by its new name, email or phone, not by the old ones
    events.contact_updated(table, contact_id, list(changes))
    return contact


def merge(table: Table, target_id: str, other_id: str, actor: str = "-") -> Contact:
    """`other` becomes part of `target` (an agent knows they are one person); audited with the agent's name."""
    merged = contact_merge.merge(table, target_id, other_id, actor)
    events.contact_merged(table, target_id, other_id)
    return merged

"""Merging two contacts an agent knows are one person: identities, conversations and profile move to one."""

from __future__ import annotations

from switchboard.errors import BadRequest, NotFound
from switchboard.models import Contact
from switchboard.store import contacts, conversations, due, erasure, keys
from switchboard.store.table import ConditionFailed, Table

PROFILE_FIELDS = ("name", "email", "phone")


def merge(table: Table, target_id: str, other_id: str) -> Contact:
    """Everything of `other` becomes `target`'s; `other` is gone afterwards. Safe to rerun after a failure."""
    if target_id == other_id:
        raise BadRequest("a contact cannot be merged into itself", code="same_contact")
    target, _, _ = contacts.related(table, target_id)
    try:
        other, identities, conversation_ids = contacts.related(table, other_id)
    except NotFound:
        raise NotFound(f"contact {other_id} not found") from None
    for identity in identities:  # the customer is recognized as the target on every channel from now on
        table.update(keys.identity(identity["identity"]), "SET contact_id = :t", vals={":t": target_id})
        table.put({**keys.contact_identity(target_id, identity["identity"], identity["channel"]), "type": "contact_identity",
                   **identity})
    for conv_id in conversation_ids:
        conv = conversations.get(table, conv_id, consistent=True)
        if conv is None:
            continue
        table.update(keys.conversation(conv_id), "SET contact_id = :t, contact_name = :n",
                     vals={":t": target_id, ":n": target.name or other.name or "-"})
        table.put({**keys.contact_conversation(target_id, conv_id), "type": "contact_conversation",
                   "conversation_id": conv_id, "channel": conv.channel, "created_at": conv.created_at})
        due.move_retention(table, conv_id, target_id)
        old_pointer = keys.active_conversation(conv.channel, conv.inbox_id, other_id)
        pointer = table.get(old_pointer)
        if pointer and pointer["conversation_id"] == conv_id:
            try:  # the target's own current conversation in that inbox, if it has one, stays the current one
                table.put({**keys.active_conversation(conv.channel, conv.inbox_id, target_id), "type": "active_pointer",
                           "conversation_id": conv_id, "claimed_at": pointer.get("claimed_at", 0)},
                          condition="attribute_not_exists(pk)")
            except ConditionFailed:
                pass
            table.delete(old_pointer)
    fill = {f: getattr(other, f) for f in PROFILE_FIELDS if not getattr(target, f) and getattr(other, f)}
    if other.surveys_opt_out and not target.surveys_opt_out:
        fill["surveys_opt_out"] = True
    if other.email_suppressed:
        fill["email_suppressed"] = True
    if fill:
        names = {f"#{k}": k for k in fill}
        table.update(keys.contact(target_id), "SET " + ", ".join(f"#{k} = :{k}" for k in fill), names=names,
                     vals={f":{k}": v for k, v in fill.items()})
    # What is left of `other` (its profile and references) goes; its identities now point at the target and stay.
    erasure.delete_contact(table, other_id, erasure.Counts())
    merged = contacts.get(table, target_id)
    assert merged is not None
    return merged

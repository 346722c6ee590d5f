"""Contacts and their channel identities: one contact across channels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from switchboard import clock, ids
from switchboard.errors import Conflict, NotFound, RetryableSendError
from switchboard.store import keys
from switchboard.store.table import ConditionFailed, Table

if TYPE_CHECKING:
    from switchboard.models import Contact


def _contact(item: dict[str, Any]) -> Contact:
    from switchboard.models import Contact

    return Contact.model_validate(item)


def get(table: Table, contact_id: str) -> Contact | None:
    item = table.get(keys.contact(contact_id))
    return _contact(item) if item else None


def find(table: Table, identity: str) -> Contact | None:
    """The contact behind an identity, without creating one."""
    found = table.get(keys.identity(identity))
    return get(table, found["contact_id"]) if found else None


def resolve(table: Table, identity: str, channel: str, address: str, name: str | None,
            first_message_id: str | None = None) -> tuple[Contact, bool]:
    """The contact behind an identity, created with it on first sight (safe under concurrent first messages).

    Returns (contact, created). Creation is plain writes, not a transaction (which bills each item twice): the
    identity first, as the claim (of two first messages at once, one names the contact), then the profile and the
    contact's link to the identity. Whoever finds a claim without its profile (the other delivery is still
    writing it, or stopped half-way) writes them itself, for the claimed contact: nothing waits, nothing is
    left half-done, and both end with the same contact."""
    found = table.get(keys.identity(identity))
    if found:
        contact = get(table, found["contact_id"])
        if contact is not None:
            return _seen_again(table, contact, found, identity, channel, address, name), False
        return _complete(table, found, identity, name, first_message_id), False
    claim = {**keys.identity(identity), "type": "identity", "contact_id": ids.new_id("ct_"), "channel": channel,
             "address": address, "created_at": clock.iso(clock.now())}
    try:
        table.put(claim, condition="attribute_not_exists(pk)")
    except ConditionFailed:
        winner = table.get(keys.identity(identity), consistent=True)
        if winner is None:  # claimed and gone again (an erasure in between): the queue retries the message
            raise RetryableSendError("the contact changed while it was being created: retry shortly") from None
        contact = get(table, winner["contact_id"])
        return (contact, False) if contact else (_complete(table, winner, identity, name, first_message_id), False)
    return _complete(table, claim, identity, name, first_message_id), True


def _complete(table: Table, claim: dict[str, Any], identity: str, name: str | None,
              first_message_id: str | None) -> Contact:
    """The profile and link of a claimed identity, written once whoever gets there first (both are idempotent)."""
    contact_id = claim["contact_id"]
    profile: dict[str, Any] = {**keys.contact(contact_id), "type": "contact", "id": contact_id, "name": name,
                               "created_at": claim.get("created_at") or clock.iso(clock.now()),
                               "first_message_id": first_message_id}
    if identity.startswith("phone:"):
        profile["phone"] = identity.removeprefix("phone:")
    elif identity.startswith("email:"):
        profile["email"] = identity.removeprefix("email:")
    table.put({**keys.contact_identity(contact_id, identity), "type": "contact_identity", "identity": identity,
               "channel": claim["channel"], "address": claim["address"], "created_at": profile["created_at"]})
    try:
        table.put(profile, condition="attribute_not_exists(pk)")
    except ConditionFailed:  # the other delivery wrote it first: theirs stands
        existing = table.get(keys.contact(contact_id), consistent=True)
        if existing:
            return _contact(existing)
    return _contact(profile)


def _seen_again(table: Table, contact: Contact, found: dict[str, Any], identity: str, channel: str, address: str,
                name: str | None) -> Contact:
    """A known customer: their latest name, and, the first time they write on another channel under the same
    identity (one phone number on WhatsApp and SMS), that channel among their identities. Nothing is written
    otherwise."""
    sets: list[str] = []
    vals: dict[str, Any] = {}
    names: dict[str, str] = {}
    if name and contact.name != name:
        sets.append("SET #n = :n")
        vals[":n"], names["#n"] = name, "name"
    new_channel = channel != found.get("channel") and channel not in contact.channels
    if new_channel:
        table.put({**keys.contact_identity(contact.id, identity, channel), "type": "contact_identity",
                   "identity": identity, "channel": channel, "address": address, "created_at": clock.iso(clock.now())})
        sets.append("ADD channels :c")
        vals[":c"] = {channel}
    if sets:
        table.update(keys.contact(contact.id), " ".join(sets), names=names or None, vals=vals)
        contact = contact.model_copy(update={"name": name or contact.name,
                                             "channels": [*contact.channels, channel] if new_channel else contact.channels})
    return contact


def name_if_unnamed(table: Table, contact_id: str, name: str) -> Contact | None:
    """Give a contact without a name this one (from the provider's profile). A name that came meanwhile (an agent's
    edit, a later message's) stands. Returns the contact as it is now, None if it is gone."""
    try:
        item = table.update(keys.contact(contact_id), "SET #n = :n", names={"#n": "name"}, vals={":n": name},
                            condition="attribute_exists(pk) AND attribute_not_exists(#n)", return_new=True)
    except ConditionFailed:
        current = table.get(keys.contact(contact_id), consistent=True)
        return _contact(current) if current else None
    return _contact(item) if item else None


def identities(table: Table, contact_id: str) -> list[dict[str, Any]]:
    items, _ = table.query("pk = :pk AND begins_with(sk, :p)",
                           {":pk": keys.contact(contact_id)["pk"], ":p": "IDENTITY#"})
    return [{"identity": i["identity"], "channel": i["channel"], "address": i["address"]} for i in items]


def related(table: Table, contact_id: str) -> tuple[Contact, list[dict[str, Any]], list[str]]:
    """The profile, identities and conversation ids: one Query over the contact's partition."""
    items = table.query_all("pk = :pk", {":pk": keys.contact_pk(contact_id)})
    profile = next((i for i in items if i["sk"] == "PROFILE"), None)
    if profile is None:
        raise NotFound(f"contact {contact_id} not found")
    identities_ = [{"identity": i["identity"], "channel": i["channel"], "address": i["address"]}
                   for i in items if i["sk"].startswith("IDENTITY#")]
    conversation_ids = [i["conversation_id"] for i in items if i["sk"].startswith("CONV#")]
    return _contact(profile), identities_, conversation_ids


def set_email_suppressed(table: Table, contact_id: str) -> None:
    """Mail to the contact's address bounced or drew a complaint."""
    table.update(keys.contact(contact_id), "SET email_suppressed = :t", vals={":t": True})


def move_identity(table: Table, identity: dict[str, Any], target_id: str) -> None:
    """A merge: the identity (as `related` lists it) names `target_id` from now on, and is among its identities."""
    table.update(keys.identity(identity["identity"]), "SET contact_id = :t", vals={":t": target_id})
    table.put({**keys.contact_identity(target_id, identity["identity"], identity["channel"]), "type": "contact_identity",
               **identity})


def fill(table: Table, contact_id: str, fields: dict[str, Any]) -> None:
    """Set profile fields (a merge fills what the target lacks)."""
    if fields:
        table.update(keys.contact(contact_id), "SET " + ", ".join(f"#{k} = :{k}" for k in fields),
                     names={f"#{k}": k for k in fields}, vals={f":{k}": v for k, v in fields.items()})


def add_identity(table: Table, contact_id: str, identity: str, channel: str, address: str) -> None:
    """Link one more identity to a contact; one owned by someone else is a conflict (merge them instead)."""
    now = clock.iso(clock.now())
    try:
        table.transact([
            {"Put": {"Item": {**keys.identity(identity), "type": "identity", "contact_id": contact_id,
                              "channel": channel, "address": address, "created_at": now},
                     "ConditionExpression": "attribute_not_exists(pk) OR contact_id = :me",
                     "ExpressionAttributeValues": {":me": contact_id}}},
            {"Put": {"Item": {**keys.contact_identity(contact_id, identity), "type": "contact_identity",
                              "identity": identity, "channel": channel, "address": address, "created_at": now}}},
        ])
    except ConditionFailed:
        raise Conflict(f"{identity.split(':', 1)[0]} belongs to another contact", code="identity_taken") from None


def update(table: Table, contact_id: str, changes: dict[str, Any]) -> Contact:
    """Edit the profile; a new email or phone becomes an identity, so the customer is recognized there too."""
    if changes.get("email"):
        add_identity(table, contact_id, f"email:{changes['email'].lower()}", "email", changes["email"].lower())
    if changes.get("phone"):
        add_identity(table, contact_id, f"phone:{changes['phone']}", "sms", changes["phone"])
    sets = {k: v for k, v in changes.items() if v is not None}
    removes = [k for k, v in changes.items() if v is None]
    names = {f"#{k}": k for k in changes}
    expression = ("SET " + ", ".join(f"#{k} = :{k}" for k in sets) if sets else "") + \
                 (" REMOVE " + ", ".join(f"#{k}" for k in removes) if removes else "")
    try:
        item = table.update(keys.contact(contact_id), expression.strip(), names=names,
                            vals={f":{k}": v for k, v in sets.items()} or None,
                            condition="attribute_exists(pk)", return_new=True)
    except ConditionFailed:
        raise NotFound(f"contact {contact_id} not found") from None
    return _contact(item or {})

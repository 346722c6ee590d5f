"""Contacts and their channel identities: one contact across channels."""

from __future__ import annotations

from typing import Any

from switchboard import clock, ids
from switchboard.models import Contact
from switchboard.store import keys
from switchboard.store.table import ConditionFailed, Table


def _contact(item: dict[str, Any]) -> Contact:
    return Contact.model_validate(item)


def get(table: Table, contact_id: str) -> Contact | None:
    item = table.get(keys.contact(contact_id))
    return _contact(item) if item else None


def find(table: Table, identity: str) -> Contact | None:
    """The contact behind an identity, without creating one."""
    found = table.get(keys.identity(identity))
    return get(table, found["contact_id"]) if found else None


def resolve(table: Table, identity: str, channel: str, address: str, name: str | None) -> Contact:
    """The contact behind an identity, created with it on first sight (safe under concurrent first messages)."""
    found = table.get(keys.identity(identity))
    if found:
        contact = get(table, found["contact_id"])
        if contact is not None:
            if name and contact.name != name:
                table.update(keys.contact(contact.id), "SET #n = :n", names={"#n": "name"}, vals={":n": name})
                contact = contact.model_copy(update={"name": name})
            return contact
    now = clock.iso(clock.now())
    contact_id = ids.new_id("ct_")
    profile: dict[str, Any] = {**keys.contact(contact_id), "type": "contact", "id": contact_id, "name": name,
                               "created_at": now}
    if identity.startswith("phone:"):
        profile["phone"] = identity.removeprefix("phone:")
    elif identity.startswith("email:"):
        profile["email"] = identity.removeprefix("email:")
    try:
        table.transact([
            {"Put": {"Item": {**keys.identity(identity), "type": "identity", "contact_id": contact_id,
                              "channel": channel, "address": address, "created_at": now},
                     "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Put": {"Item": profile}},
            {"Put": {"Item": {**keys.contact_identity(contact_id, identity), "type": "contact_identity",
                              "identity": identity, "channel": channel, "address": address, "created_at": now}}},
        ])
    except ConditionFailed:
        # Another delivery created it first: use theirs.
        winner = table.get(keys.identity(identity), consistent=True)
        if winner:
            contact = get(table, winner["contact_id"])
            if contact:
                return contact
        raise
    return _contact(profile)


def identities(table: Table, contact_id: str) -> list[dict[str, Any]]:
    items, _ = table.query("pk = :pk AND begins_with(sk, :p)",
                           {":pk": keys.contact(contact_id)["pk"], ":p": "IDENTITY#"})
    return [{"identity": i["identity"], "channel": i["channel"], "address": i["address"]} for i in items]

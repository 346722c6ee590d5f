"""The search index's items: a conversation's words and labels (TERM#, LABEL#), a contact's terms (CTERM#), and the
contact directory by last activity (the profile's GSI2 keys). Every read a Query or a GetItem / BatchGetItem; the
items are derived from the conversation and the contact, and go with them (store/erasure.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from switchboard.store import keys
from switchboard.store.conversations import live
from switchboard.store.table import ConditionFailed, Table

if TYPE_CHECKING:
    from switchboard.models import ConversationCard


Key = dict[str, str]


# -- a conversation's words and labels -------------------------------------------------------------------
def known_terms(table: Table, conv_id: str, terms: list[str]) -> dict[str, dict[str, Any]]:
    """The conversation's index items of these terms that exist already (one BatchGetItem, eventually consistent:
    a term missed by it is written again, to the same key)."""
    if not terms:
        return {}
    found = table.batch_get([keys.search_term(t, conv_id) for t in terms])
    return {item["pk"].removeprefix(keys.SEARCH_TERM_PREFIX): item for item in found}


def term_item(term: str, conv_id: str, message_id: str, snippet: str, field: str,
              expires_at: int | None) -> dict[str, Any]:
    return {**keys.search_term(term, conv_id), "type": "search_term", "message_id": message_id, "snippet": snippet,
            "field": field, "expires_at": expires_at}


def put_items(table: Table, items: list[dict[str, Any]]) -> int:
    """Index items, written as they are (each key is the same on every write: a rewrite is harmless)."""
    return table.batch_put(items) if items else 0


def delete_items(table: Table, item_keys: list[Key]) -> int:
    return table.batch_delete(item_keys) if item_keys else 0


def term_page(table: Table, term: str, limit: int, start: dict[str, Any] | None = None
              ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The conversations with this word, newest first (a Query of its partition)."""
    items, last = table.query("pk = :pk", {":pk": keys.search_term_pk(term)}, forward=False, limit=limit, start=start,
                              attributes=["pk", "sk", "snippet", "field", "expires_at"])
    return [i for i in items if live(i)], last


def label_page(table: Table, label: str, limit: int) -> list[dict[str, Any]]:
    items, _ = table.query("pk = :pk", {":pk": keys.search_label_pk(label)}, forward=False, limit=limit)
    return items


def label_item(label: str, conv_id: str, expires_at: int | None) -> dict[str, Any]:
    return {**keys.search_label(label, conv_id), "type": "search_label", "expires_at": expires_at}


def message_terms(table: Table, conv_id: str) -> list[dict[str, Any]]:
    """Every message of the conversation with the words it gave the index, oldest first (edits and unsends: rare)."""
    items = table.query_all("pk = :pk AND begins_with(sk, :p)",
                            {":pk": keys.conversation_pk(conv_id), ":p": keys.MSG_PREFIX}, page_size=200,
                            consistent=True)
    return [i for i in items if live(i)]


def set_message_terms(table: Table, conv_id: str, created_at: str, msg_id: str, terms: list[str]) -> None:
    try:
        table.update(keys.message(conv_id, created_at, msg_id), "SET search_terms = :t", vals={":t": terms},
                     condition="attribute_exists(pk)")
    except ConditionFailed:
        pass  # the message is gone (erased meanwhile): nothing to record


CARD = ["id", "channel", "inbox_id", "contact_id", "contact_name", "recipient", "status", "labels", "last_message",
        "created_at", "updated_at", "subject", "expires_at"]


def conversation_cards(table: Table, conv_ids: list[str]) -> list[ConversationCard]:
    """What a search result shows of each conversation, as it is now (one BatchGetItem of the META items, only the
    attributes a result needs); gone and expired ones are left out."""
    if not conv_ids:
        return []
    return _cards(table.batch_get([keys.conversation(c) for c in conv_ids[:100]], attributes=CARD))


def contact_conversation_cards(table: Table, contact_id: str, limit: int) -> list[ConversationCard]:
    """The contact's newest conversations, each as a result shows it (status, labels, channel as they are now):
    one Query of ContactIndex, reading one entry per conversation and no conversation item."""
    items, _ = table.query("contact_pk = :pk", {":pk": keys.contact_pk(contact_id)},
                           index=keys.CONTACT_CONVERSATIONS, forward=False, limit=limit)
    return _cards(items)


def _cards(items: list[dict[str, Any]]) -> list[ConversationCard]:
    """Conversation items (or index entries) as results show them; gone and expired ones left out."""
    from switchboard.models import ConversationCard

    return [ConversationCard.model_validate(i) for i in items if live(i) and i.get("id")]


# -- a contact's terms ---------------------------------------------------------------------------------------
def contact_term_item(term: str, contact_id: str, shown: dict[str, Any], terms: list[str]) -> dict[str, Any]:
    """`shown`: what a result shows (name, email, phone, handle), so that a match needs no second read; `terms`:
    all of the contact's terms, so that a prefix that several of them have lists the contact once."""
    return {**keys.contact_term(term, contact_id), "type": "contact_term", "contact_id": contact_id, "term": term,
            "terms": terms, **{k: v for k, v in shown.items() if v}}


def first_match(item: dict[str, Any], prefix: str) -> bool:
    """Whether this item is where its contact first appears among the terms starting with `prefix` (in key order):
    a contact found by several of its terms is listed there only, on whichever page that falls."""
    mine = f"{item.get('term', '')}#"
    return not any(f"{t}#" < mine for t in item.get("terms") or [] if t.startswith(prefix))


def contact_matches(table: Table, prefix: str, limit: int, start: dict[str, Any] | None = None
                    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Contacts with a term starting with `prefix` (two characters or more): the exact term first, then longer
    ones in order, newest contact first among the same term. One Query, reading only matches."""
    return table.query("pk = :pk AND begins_with(sk, :p)", {":pk": keys.contact_term_pk(prefix), ":p": prefix},
                       limit=limit, start=start)


def set_contact_index(table: Table, contact_id: str, terms: list[str], name: str | None, handle: str | None,
                      activity_at: str | None = None) -> bool:
    """Record on the profile what its index items hold; `activity_at`: also put it in the directory. False when the
    profile is gone."""
    expression = "SET search_terms = :t, search_name = :n, search_handle = :h"
    vals: dict[str, Any] = {":t": terms, ":n": name or "", ":h": handle or ""}
    if activity_at:
        expression += ", last_activity_at = :at, gsi2pk = :g2, gsi2sk = :s2"
        directory = keys.contact_activity(activity_at, contact_id)
        vals |= {":at": activity_at, ":g2": directory["gsi2pk"], ":s2": directory["gsi2sk"]}
    try:
        table.update(keys.contact(contact_id), expression, vals=vals, condition="attribute_exists(pk)")
    except ConditionFailed:
        return False
    return True


def touch_activity(table: Table, contact_id: str, at: str) -> bool:
    """The contact wrote at `at`: it moves up the directory (never back)."""
    directory = keys.contact_activity(at, contact_id)
    try:
        table.update(keys.contact(contact_id), "SET last_activity_at = :at, gsi2pk = :g2, gsi2sk = :s2",
                     vals={":at": at, ":g2": directory["gsi2pk"], ":s2": directory["gsi2sk"]},
                     condition="attribute_exists(pk) AND (attribute_not_exists(last_activity_at) OR "
                               "last_activity_at < :at)")
    except ConditionFailed:
        return False
    return True


def directory_page(table: Table, limit: int, start: dict[str, Any] | None = None
                   ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Contacts, newest activity first: one Query of the directory's index partition."""
    return table.query("gsi2pk = :pk", {":pk": keys.CONTACTS_PK}, index=keys.CONTACTS_BY_ACTIVITY, forward=False,
                       limit=limit, start=start)


# -- what deleting a conversation or a contact deletes from the index --------------------------------------------
def conversation_index_keys(items: list[dict[str, Any]]) -> list[Key]:
    """The index items of a conversation, from its partition (`items`): each message's words, the labels."""
    found: dict[str, Key] = {}
    for item in items:
        conv_id = item.get("conversation_id") or item.get("id")
        if item["sk"].startswith(keys.MSG_PREFIX):
            for term in item.get("search_terms") or []:
                found.setdefault(f"t{term}", keys.search_term(term, item["conversation_id"]))
        elif item["sk"] == keys.META and conv_id:
            for label in item.get("labels") or []:
                found.setdefault(f"l{label}", keys.search_label(label, conv_id))
    return list(found.values())


def contact_index_keys(items: list[dict[str, Any]]) -> list[Key]:
    """The index items of a contact, from its partition (`items`): the terms its profile records."""
    profile = next((i for i in items if i["sk"] == "PROFILE"), None)
    if not profile:
        return []
    return [keys.contact_term(t, profile["id"]) for t in profile.get("search_terms") or []]


# -- contacts agents create (services/search.create_contact) --------------------------------------------------------
def contact_partition(table: Table, contact_id: str) -> list[dict[str, Any]]:
    """Everything under CONTACT#<id> (the profile, identities, conversation links), read consistently."""
    return table.query_all("pk = :pk", {":pk": keys.contact_pk(contact_id)}, consistent=True)


def profile(table: Table, contact_id: str) -> dict[str, Any] | None:
    return table.get(keys.contact(contact_id))


def create_contact(table: Table, contact_id: str, name: str | None, email: str | None, phone: str | None,
                   owned: list[tuple[str, str, str]], now: str) -> tuple[str, str] | None:
    """One transaction: each identity (conditional on being free), its link, and the profile with its directory
    keys. None when created; (identity, its contact id) when an identity belongs to someone already."""
    actions: list[dict[str, Any]] = []
    for identity, channel, address in owned:
        actions.append({"Put": {"Item": {**keys.identity(identity), "type": "identity", "contact_id": contact_id,
                                         "channel": channel, "address": address, "created_at": now},
                                "ConditionExpression": "attribute_not_exists(pk)"}})
        actions.append({"Put": {"Item": {**keys.contact_identity(contact_id, identity), "type": "contact_identity",
                                         "identity": identity, "channel": channel, "address": address,
                                         "created_at": now}}})
    actions.append({"Put": {"Item": {**keys.contact(contact_id), **keys.contact_activity(now, contact_id),
                                     "type": "contact", "id": contact_id, "name": name, "email": email,
                                     "phone": phone, "created_at": now, "last_activity_at": now,
                                     "created_by_agent": True},
                            "ConditionExpression": "attribute_not_exists(pk)"}})
    try:
        table.transact(actions)
    except ConditionFailed:
        owners = {identity: str(found["contact_id"]) for identity, _, _ in owned
                  if (found := table.get(keys.identity(identity), consistent=True))}
        taken = next(((identity, owner) for identity, owner in owners.items() if owner != contact_id), None)
        if taken:
            return taken
        if len(owners) == len(owned):
            return None  # a retried transaction whose first try landed (its answer lost): all of them are its own
        raise
    return None

"""Finding customers and conversations: the search index kept as messages arrive and contacts change, the contact
directory, agents' queries, and contacts that agents create.

The index is DynamoDB items (store/search.py), written once per conversation and word, not once per message: a
customer message's words (its first MAX_MESSAGE_TERMS that matter) are looked up in one BatchGetItem and only the
new ones are written. A contact is indexed under each word of its name, its email address, its phone number's digit
forms and its channel handles, and found by any prefix of them. Queries never reach the logs: only counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from switchboard import clock, ids, observability, search_text
from switchboard.errors import BadRequest, Conflict
from switchboard.settings import get_settings
from switchboard.store import keys
from switchboard.store import search as index
from switchboard.store.table import Table, decode_cursor, encode_cursor

if TYPE_CHECKING:
    from switchboard.models import Contact, Conversation, ConversationCard, InboundMessage, Message

ACTIVITY_STEP = timedelta(minutes=15)  # the directory's order is exact to this: a chat does not move it per message
RESULTS = 10  # conversations a search returns (the newest matches: the search box shows them as you type)
CONTACT_RESULTS = 6  # contacts a search returns (the Contacts page pages through all of them)
CONTACTS_WITH_CONVERSATIONS = 3  # the best matching contacts whose newest conversations a search returns
CONVERSATIONS_PER_CONTACT = 5
MAX_CONTACT_PAGES = 4
WORD_CANDIDATES = 50  # per word, when several words must all appear
REFRESH_EXPIRY_AFTER = 30 * 86400  # an index item's TTL backstop is moved out when a message repeats its word later


# -- indexing, as customer messages arrive ------------------------------------------------------------------
def message_terms(event: InboundMessage) -> list[str]:
    """The words a customer message gives the index (recorded on the message item, so that deleting it finds them)."""
    return search_text.message_terms(event.text or "", event.subject)


def on_inbound(table: Table, conv: Conversation, contact: Contact, message: Message, event: InboundMessage) -> None:
    """After a customer message is stored: its new words, the contact's index entries when they changed, and the
    contact's place in the directory. Safe to repeat (a redelivery writes the same keys)."""
    _index_words(table, conv.id, message, event.subject)
    _index_contact(table, contact, event.identity)


def _index_words(table: Table, conv_id: str, message: Message, subject: str | None) -> None:
    terms = message.search_terms
    if not terms:
        return
    known = index.known_terms(table, conv_id, terms)
    text_words = set(search_text.words(message.text or ""))
    fresh = []
    for term in terms:
        existing = known.get(term)
        if existing and int(existing.get("expires_at") or 0) + REFRESH_EXPIRY_AFTER >= int(message.expires_at or 0):
            continue
        source, field = (message.text, "text") if term in text_words or not subject else (subject, "subject")
        fresh.append(index.term_item(term, conv_id, existing["message_id"] if existing else message.id,
                                     existing["snippet"] if existing else search_text.snippet(source or "", term),
                                     existing.get("field", field) if existing else field, message.expires_at))
    index.put_items(table, fresh)


def _index_contact(table: Table, contact: Contact, identity: str) -> None:
    now = clock.now()
    stale = not contact.last_activity_at or clock.parse_iso(contact.last_activity_at) <= now - ACTIVITY_STEP
    # What a message can change: the name (the provider's profile) and the identity it came from. Edits of the
    # email address or phone number go through the API, which reindexes the contact itself.
    wanted = search_text.contact_terms(contact.name, *search_text.identity_terms(identity))
    if (contact.search_name or None) != (contact.name or None) or not set(wanted) <= set(contact.search_terms):
        index_contact(table, contact.id, activity_at=clock.iso(now) if stale else None)
    elif stale:
        index.touch_activity(table, contact.id, clock.iso(now))


def index_contact(table: Table, contact_id: str, activity_at: str | None = None) -> bool:
    """(Re)write a contact's index entries from its profile and identities (new contacts, new names, edits,
    merges); False when the contact is gone."""
    items = index.contact_partition(table, contact_id)
    profile = next((i for i in items if i["sk"] == "PROFILE"), None)
    if profile is None:
        return False
    identities = [i for i in items if i["sk"].startswith("IDENTITY#")]
    emails, phones = [profile["email"]] if profile.get("email") else [], [profile["phone"]] if profile.get("phone") else []
    handles: list[tuple[str, str]] = []
    for identity in identities:
        more_emails, more_phones, more_handles = search_text.identity_terms(identity["identity"])
        emails, phones = emails + more_emails, phones + more_phones
        handles += [(identity["channel"], h) for h in more_handles]
    terms = search_text.contact_terms(profile.get("name"), emails, phones, [address for _, address in handles])
    handle = f"{handles[0][0]}:{handles[0][1]}" if handles else None
    shown = {"name": profile.get("name"), "email": profile.get("email"), "phone": profile.get("phone"),
             "handle": handle}
    index.put_items(table, [index.contact_term_item(t, contact_id, shown, terms) for t in terms])
    gone = [t for t in profile.get("search_terms") or [] if t not in terms]
    index.delete_items(table, [keys.contact_term(t, contact_id) for t in gone])
    if activity_at is None and not profile.get("last_activity_at"):
        activity_at = profile.get("created_at") or clock.iso(clock.now())
    return index.set_contact_index(table, contact_id, terms, profile.get("name"), handle, activity_at)


def labels_changed(table: Table, conv: Conversation, before: list[str], after: list[str]) -> None:
    """A conversation is found by each of its labels."""
    added = [label for label in after if label not in before]
    removed = [label for label in before if label not in after]
    index.put_items(table, [index.label_item(label, conv.id, conv.expires_at) for label in added])
    index.delete_items(table, [keys.search_label(label, conv.id) for label in removed])


def message_changed(table: Table, conv_id: str, msg_id: str) -> None:
    """A customer edited or unsent a message: the index shows its words as they are now. A word only it had goes;
    a snippet taken from it is taken from another message that has the word, or goes."""
    messages = index.message_terms(table, conv_id)
    target = next((m for m in messages if m.get("id") == msg_id), None)
    if target is None or target.get("direction") != "inbound":
        return
    now_terms = [] if target.get("deleted_at") else search_text.message_terms(target.get("text") or "")
    affected = list(dict.fromkeys([*(target.get("search_terms") or []), *now_terms]))
    current = index.known_terms(table, conv_id, affected)
    puts, deletes = [], []
    for term in affected:
        posting = current.get(term)
        if posting and posting.get("message_id") != msg_id:
            continue  # its snippet comes from another message, which still has the word
        source = target if term in now_terms else next(
            (m for m in messages if m.get("id") != msg_id and term in (m.get("search_terms") or [])), None)
        if source is None:
            deletes.append(keys.search_term(term, conv_id))
        else:
            puts.append(index.term_item(term, conv_id, source["id"], search_text.snippet(source.get("text") or "", term),
                                        "text", source.get("expires_at")))
    index.set_message_terms(table, conv_id, target["created_at"], msg_id, now_terms)
    index.put_items(table, puts)
    index.delete_items(table, deletes)


# -- contacts agents create ------------------------------------------------------------------------------------
def create_contact(table: Table, name: str | None, email: str | None, phone: str | None) -> str:
    """A contact an agent writes to first: its email address and phone number become identities at once, so that
    the customer's own messages find it. An address that belongs to a contact already is a conflict naming it."""
    email = email.strip().lower() if email else None
    number = None
    if phone:
        number = search_text.e164(phone, get_settings().phone_region)
        if number is None:
            raise BadRequest("not a phone number: write it with its country code, like +371 2000 0000",
                             code="invalid_phone")
    if not email and not number:
        raise BadRequest("a contact needs an email address or a phone number", code="address_required")
    contact_id, now = ids.new_id("ct_"), clock.iso(clock.now())
    owned = [(f"email:{email}", "email", email)] if email else []
    owned += [(f"phone:{number}", "sms", number)] if number else []
    taken = index.create_contact(table, contact_id, name, email, number, owned, now)
    if taken:
        identity, owner = taken
        raise Conflict(f"that {identity.split(':', 1)[0]} belongs to contact {owner}", code="identity_taken")
    index_contact(table, contact_id)
    return contact_id


# -- queries -------------------------------------------------------------------------------------------------
@dataclass
class ContactHit:
    id: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    handle: str | None = None
    last_activity_at: str | None = None
    created_at: str | None = None


@dataclass
class ConversationHit:
    conversation: ConversationCard
    snippet: str
    matched: str


def _parse(q: str) -> search_text.Query:
    try:
        return search_text.parse_query(q, get_settings().phone_region)
    except search_text.QueryTooShort:
        raise BadRequest("type at least two letters or digits", code="query_too_short") from None


def _hit_of_term(item: dict[str, Any]) -> ContactHit:
    return ContactHit(id=item["contact_id"], name=item.get("name"), email=item.get("email"), phone=item.get("phone"),
                      handle=item.get("handle"))


def _hit_of_profile(item: dict[str, Any]) -> ContactHit:
    return ContactHit(id=item["id"], name=item.get("name"), email=item.get("email"), phone=item.get("phone"),
                      handle=item.get("search_handle") or None, last_activity_at=item.get("last_activity_at"),
                      created_at=item.get("created_at"))


def _contact_hits(table: Table, query: search_text.Query, limit: int, cursor: str | None = None
                  ) -> tuple[list[ContactHit], str | None]:
    """Contacts matching the query, a page of them; the cursor resumes the Query."""
    if query.contact_id:
        profile = index.profile(table, query.contact_id)
        return ([_hit_of_profile(profile)] if profile else []), None
    if not query.contact_term:
        return [], None
    prefix, filters = query.contact_term, query.contact_filters
    if query.contact_phrase:  # several words: the start of a whole name first, each word only if none starts so
        state = decode_cursor(cursor) or {}
        if state.get("by") != "word":
            hits, next_cursor = _contact_pages(table, query.contact_phrase, [], limit, state.get("at"))
            if hits or state.get("at"):
                return hits, _phrase_cursor(next_cursor, "phrase")
        hits, next_cursor = _contact_pages(table, prefix, filters, limit, state.get("at") if state else None)
        return hits, _phrase_cursor(next_cursor, "word")
    return _contact_pages(table, prefix, filters, limit, decode_cursor(cursor))


def _phrase_cursor(key: str | None, by: str) -> str | None:
    return encode_cursor({"by": by, "at": decode_cursor(key)}) if key else None


def _contact_pages(table: Table, prefix: str, filters: list[str], limit: int, start: dict[str, Any] | None
                   ) -> tuple[list[ContactHit], str | None]:
    """A page of contacts with a term starting with `prefix` that have every one of `filters` too."""
    hits: dict[str, ContactHit] = {}
    last = None
    for _ in range(MAX_CONTACT_PAGES):  # further words, or a contact found twice, may leave a page short
        items, last = index.contact_matches(table, prefix, limit, start)
        for item in items:
            hit = _hit_of_term(item)
            if hit.id in hits or not index.first_match(item, prefix) or \
                    not search_text.matches_all(filters, hit.name, hit.email, hit.phone, hit.handle):
                continue
            hits[hit.id] = hit
            if len(hits) == limit:  # the page is full: the next one resumes after this match
                more = item is not items[-1] or last is not None
                return list(hits.values()), encode_cursor({"pk": item["pk"], "sk": item["sk"]} if more else None)
        if not last:
            break
        start = last
    return list(hits.values()), encode_cursor(last)


def contacts_page(table: Table, q: str | None, limit: int = 25, cursor: str | None = None
                  ) -> tuple[list[ContactHit], str | None]:
    """The directory (newest activity first), or the contacts a query finds."""
    if q and q.strip():
        query = _parse(q)
        hits, next_cursor = _contact_hits(table, query, limit, cursor)
        observability.count("ContactSearches")
        return hits, next_cursor
    items, last = index.directory_page(table, limit, decode_cursor(cursor))
    return [_hit_of_profile(i) for i in items], encode_cursor(last)


def search(table: Table, q: str) -> tuple[list[ContactHit], list[ConversationHit]]:
    """Contacts and conversations a query finds: contacts by name, phone, email or handle; conversations by words of
    their customer messages (all words required), email subject, label or id, newest activity first; then the
    best matching contacts' conversations, newest first, as far as the page has room."""
    query = _parse(q)
    contacts, _ = _contact_hits(table, query, CONTACT_RESULTS)
    found: dict[str, tuple[str | None, str]] = {}  # conversation id -> (snippet, what matched)
    if query.conversation_id:
        found[query.conversation_id] = (None, "id")
    for conv_id, snippet, field in _word_hits(table, query.words):
        found.setdefault(conv_id, (snippet, "subject" if field == "subject" else "message"))
    if query.label:
        for item in index.label_page(table, query.label, RESULTS):
            found.setdefault(item["sk"], (None, "label"))
    hits = []
    for card in index.conversation_cards(table, list(found)):  # status, contact, channel now; gone ones left out
        around, matched = found[card.id]
        snippet = around if around is not None else (card.last_message or {}).get("text") or card.subject or ""
        hits.append(ConversationHit(card, snippet, matched))
    hits.sort(key=lambda h: h.conversation.updated_at or h.conversation.created_at, reverse=True)
    hits = hits[:RESULTS]
    # A found contact's conversations come from ContactIndex, as they are now, without reading them one by one: what
    # a result shows but the latest activity (they are listed by when they began, their subject as the snippet).
    for contact in contacts[:CONTACTS_WITH_CONVERSATIONS]:
        room = min(CONVERSATIONS_PER_CONTACT, RESULTS - len(hits))
        if room <= 0:
            break
        for card in index.contact_conversation_cards(table, contact.id, room):
            if card.id not in found:
                found[card.id] = (None, "contact")
                hits.append(ConversationHit(card, card.subject or "", "contact"))
    observability.count("Searches")
    observability.count("SearchResults", len(contacts) + len(hits))
    return contacts, hits


def _word_hits(table: Table, terms: list[str]) -> list[tuple[str, str, str]]:
    """(conversation id, snippet, field) of the newest conversations whose customer messages have every word."""
    if not terms:
        return []
    if len(terms) == 1:
        items, _ = index.term_page(table, terms[0], RESULTS)
        return [(i["sk"], i.get("snippet", ""), i.get("field", "text")) for i in items]
    pages = [index.term_page(table, term, WORD_CANDIDATES)[0] for term in terms]
    rest = [{i["sk"] for i in page} for page in pages[1:]]
    return [(i["sk"], i.get("snippet", ""), i.get("field", "text")) for i in pages[0]
            if all(i["sk"] in ids_ for ids_ in rest)][:RESULTS]

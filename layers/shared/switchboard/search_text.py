"""What the search index holds, in words: names and text folded for matching (case and accents ignored), phone
numbers in E.164 digits, the terms a message contributes, the snippet around a match, and an agent's query read
as a name, a phone number, an email address, an id or words. Pure functions: no AWS, no clock."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from typing import Any

MIN_TERM = 3  # message words shorter than this are not indexed ("ok", "hi")
MAX_TERM = 32  # longer tokens (hashes, URLs run together, base64) are not words anyone types
MAX_MESSAGE_TERMS = 12  # a long message indexes its first 12 distinct words that matter: its gist, at a bounded cost
MAX_SUBJECT_TERMS = 6
MIN_PREFIX = 2  # a contact is found by two letters or digits of a word at least
MAX_QUERY = 200
SNIPPET_CHARS = 120

# Letters that NFKD does not decompose into a base letter and a mark.
_LETTERS = str.maketrans({"ł": "l", "Ł": "l", "ø": "o", "Ø": "o", "đ": "d", "Đ": "d", "ð": "d", "Ð": "d",
                          "þ": "th", "Þ": "th", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "\u0131": "i", "ħ": "h",
                          "Ħ": "h", "ŧ": "t", "Ŧ": "t"})
_WORD = re.compile(r"[^\W_]+")
_PHONE_CHARS = re.compile(r"^[\d\s().\-/]*\+?[\d\s().\-/]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]*$")
_ID = re.compile(r"^(cv|ct)_[0-9a-z]{6,40}$")

# Words too common in support conversations to find anything by (English and the most frequent function words of
# a few other languages); a query made of them alone finds contacts by name, never messages.
STOPWORDS = frozenset("""
a about above after again against all also am an and any are aren as at be because been before being below between
both but by can cannot could couldn did didn do does doesn doing don down during each few for from further get got
had hadn has hasn have haven having he her here hers herself him himself his how i if in into is isn it its itself
just let me more most my myself no nor not now of off on once only or other our ours ourselves out over own same
she should so some such than that the their theirs them themselves then there these they this those through to too
under until up very was wasn we were weren what when where which while who whom why will with won would wouldn you
your yours yourself yourselves
hello hi hey dear thanks thank thx please pls ok okay yes yeah yep sure regards best kind cheers morning evening
afternoon good great fine still just would like want need know one two
re fw fwd aw sv wg tr rv
der die das und ist nicht ein eine ich sie wir mit von den dem für auf bitte danke hallo
el la los las de del que y en un una por para con es no se lo hola gracias favor
le les des du et est une pour pas que qui dans avec sur bonjour merci
il di che non per con sono una ciao grazie
o os um uma do da em com não obrigado ola
un ir ar ka par es no uz lai kas labdien paldies sveiki
""".split())


def fold(text: str) -> str:
    """Case and accents ignored: NFKD, combining marks dropped, case folded ("Bērziņš" -> "berzins")."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LETTERS))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words(text: str) -> list[str]:
    """The folded words of a text, in order (letters and digits; everything else separates)."""
    return _WORD.findall(fold(text))


def _indexable(word: str) -> bool:
    return MIN_TERM <= len(word) <= MAX_TERM and word not in STOPWORDS


def distinct_terms(text: str, limit: int) -> list[str]:
    """The first `limit` distinct words of a text that are worth indexing."""
    found: dict[str, None] = {}
    for word in words(text):
        if _indexable(word):
            found.setdefault(word, None)
            if len(found) >= limit:
                break
    return list(found)


def message_terms(text: str, subject: str | None = None) -> list[str]:
    """What a customer message contributes to the index: its subject's words (email) and its text's first words."""
    terms = dict.fromkeys(distinct_terms(subject or "", MAX_SUBJECT_TERMS))
    terms.update(dict.fromkeys(distinct_terms(text, MAX_MESSAGE_TERMS)))
    return list(terms)


def snippet(text: str, term: str, width: int = SNIPPET_CHARS) -> str:
    """About `width` characters of `text` around the first word that folds to `term` (the start if none does)."""
    flat = " ".join(text.split())
    start = 0
    for match in _WORD.finditer(flat):
        if fold(match.group()) == term:
            start = match.start()
            break
    begin = max(0, start - width // 3)
    if begin:  # start at a word boundary
        space = flat.rfind(" ", 0, begin)
        begin = space + 1 if space >= 0 and begin - space < 20 else begin
    end = min(len(flat), begin + width)
    if end < len(flat):
        space = flat.rfind(" ", begin, end)
        end = space if space > begin + width // 2 else end
    return ("…" if begin else "") + flat[begin:end] + ("…" if end < len(flat) else "")


# -- phone numbers ---------------------------------------------------------------------------------
@cache
def _phonenumbers() -> Any:
    import phonenumbers  # loaded on first use: most calls never see a phone number

    return phonenumbers


def e164(raw: str, region: str | None = None, strict: bool = False) -> str | None:
    """A phone number in any common format as E.164 ("+37120000000"), None when it cannot be one. International
    forms ("+371 2000 0000", "0037120000000") need no region; a national form ("(555) 123-4567") is read as a number
    of `region`. `strict`: only a number in a range its country has assigned."""
    pn = _phonenumbers()
    text = raw.strip()
    if not text or not _PHONE_CHARS.match(text):
        return None
    compact = re.sub(r"[\s().\-/]", "", text)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    try:
        number = pn.parse(compact, None if compact.startswith("+") else region)
    except pn.NumberParseException:
        return None
    if pn.is_possible_number_with_reason(number) != pn.ValidationResult.IS_POSSIBLE:
        return None  # too short or too long for its country (a local-only form is not a whole number either)
    if strict and not pn.is_valid_number(number):
        return None
    return pn.format_number(number, pn.PhoneNumberFormat.E164)


def phone_terms(number: str) -> list[str]:
    """The digits a number is found by: its E.164 digits, and its national number (without country code or trunk
    prefix), so that "+371 2000 0000" and "2000 0000" both find it."""
    pn = _phonenumbers()
    digits = number.lstrip("+")
    terms = [digits]
    try:
        national = str(pn.parse(number if number.startswith("+") else "+" + digits, None).national_number)
    except pn.NumberParseException:
        national = ""
    if national and national != digits:
        terms.append(national)
    return terms


def digits_of(text: str) -> str:
    return re.sub(r"\D", "", text)


# -- contacts ----------------------------------------------------------------------------------------------
def identity_terms(identity: str) -> tuple[list[str], list[str], list[str]]:
    """(emails, phone numbers, handles) an identity gives ("phone:+371...", "email:...", "telegram:123")."""
    kind, _, address = identity.partition(":")
    if kind == "phone":
        return [], [address], []
    if kind == "email":
        return [address], [], []
    return [], [], [address] if address else []


def contact_terms(name: str | None, emails: list[str], phones: list[str], handles: list[str]) -> list[str]:
    """Every term a contact is found by (by prefix): each word of the name, each email address, each phone
    number's digit forms, each handle."""
    terms: dict[str, None] = {}
    name_words = words(name or "")
    for word in name_words:
        if MIN_PREFIX <= len(word) <= MAX_TERM:
            terms.setdefault(word, None)
    if len(name_words) > 1:  # the whole name: "janis b" finds Jānis Bērziņš among every Jānis in one read
        terms.setdefault(" ".join(name_words)[:100], None)
    for email in emails:
        terms.setdefault(fold(email.strip())[:100], None)
        for word in words(email.split("@")[0]):  # "ana.berzi" finds ana.berzina7@example.lv
            if MIN_PREFIX <= len(word) <= MAX_TERM:
                terms.setdefault(word, None)
    for phone in phones:
        for term in phone_terms(phone):
            terms.setdefault(term, None)
    for handle in handles:
        folded = fold(handle.strip().lstrip("@"))[:100]
        if len(folded) >= MIN_PREFIX:
            terms.setdefault(folded, None)
    return list(terms)


# -- queries ---------------------------------------------------------------------------------------------
@dataclass
class Query:
    """An agent's query, read every way it can mean something."""

    contact_term: str | None = None  # the prefix the contacts are looked up by (the longest word; an email; digits)
    contact_filters: list[str] = field(default_factory=list)  # further prefixes a matched contact must also have
    contact_phrase: str | None = None  # several words: the start of a whole name, looked up first
    words: list[str] = field(default_factory=list)  # message words, each required
    label: str | None = None
    conversation_id: str | None = None
    contact_id: str | None = None


class QueryTooShort(ValueError):
    pass


def parse_query(q: str, region: str | None = None) -> Query:
    """Raises QueryTooShort when the query has fewer than two letters or digits to look for."""
    text = " ".join(q.split())[:MAX_QUERY]
    lowered = text.lower()
    if _ID.match(lowered):
        kind = lowered[:2]
        return Query(conversation_id=lowered if kind == "cv" else None, contact_id=lowered if kind == "ct" else None)
    query = Query()
    digits = digits_of(text)
    if _PHONE_CHARS.match(text) and len(digits) >= 3:
        # International forms are E.164 digits already (a prefix of them, while typing); a whole national number
        # of the business's region becomes E.164; any other fragment is matched as the start of the national
        # number (without its trunk 0).
        if re.sub(r"[\s().\-/]", "", text).startswith("+"):
            query.contact_term = digits
        elif digits.startswith("00"):
            query.contact_term = digits[2:]
        else:
            number = e164(text, region, strict=True)
            query.contact_term = number.lstrip("+") if number else digits.removeprefix("0") if len(digits) > 3 \
                else digits
        if len(query.contact_term) < MIN_PREFIX:
            query.contact_term = digits
        query.words = [digits] if len(digits) >= MIN_TERM and " " not in text else []
        return query
    stripped = text.strip().lstrip("@")
    if _EMAIL.match(stripped) and "@" in stripped:
        query.contact_term = fold(stripped)[:100]
        return query
    query.label = lowered if MIN_PREFIX <= len(lowered) <= 40 else None  # labels are stored lower-cased
    folded = [w for w in words(text) if len(w) <= MAX_TERM]
    if not folded or max(len(w) for w in folded) < MIN_PREFIX:
        raise QueryTooShort("type at least two letters or digits")
    ordered = sorted(dict.fromkeys(folded), key=len, reverse=True)
    query.contact_term, query.contact_filters = ordered[0], [w for w in ordered[1:] if len(w) >= 1]
    if len(folded) > 1:
        query.contact_phrase = " ".join(folded)[:100]
    query.words = [w for w in dict.fromkeys(folded) if _indexable(w)][:4]
    return query


def matches_all(filters: list[str], name: str | None, email: str | None, phone: str | None,
                handle: str | None) -> bool:
    """A contact found by one prefix has a word starting with each of the others too."""
    if not filters:
        return True
    have = words(name or "") + ([fold(email)] if email else []) + words(email or "") + \
        ([digits_of(phone)] if phone else []) + ([fold(handle), *words(handle)] if handle else [])
    return all(any(w.startswith(f) for w in have) for f in filters)

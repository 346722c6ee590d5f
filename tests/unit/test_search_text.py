"""The search index's words: name folding, phone numbers, message terms, snippets and queries (with Hypothesis)."""

from __future__ import annotations

import string
import unicodedata

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from switchboard import search_text as st_
from switchboard.search_text import (
    MAX_MESSAGE_TERMS,
    QueryTooShort,
    contact_terms,
    e164,
    fold,
    message_terms,
    parse_query,
    phone_terms,
    snippet,
    words,
)

LETTERS = st.characters(categories=("Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Nd"))
NAMES = st.text(LETTERS | st.sampled_from(" -'.ĀāĒēĪīŌōŪūČčŠšŽžĶķĻļŅņĢģ"), min_size=1, max_size=40)


# -- names ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw, folded", [
    ("Jānis Bērziņš", "janis berzins"), ("ZOË", "zoe"), ("Straße", "strasse"), ("Łódź", "lodz"),
    ("Ørsted", "orsted"), ("İstanbul", "istanbul"), ("Ångström", "angstrom"), ("Đorđe", "dorde"),
    ("\uff21\uff4e\uff4e\uff41", "anna"), ("ﬁnn", "finn"),
])
def test_fold_drops_case_and_accents(raw, folded):
    assert fold(raw) == folded


@given(NAMES)
@settings(deadline=None)  # a shared machine: time is not what these check
def test_fold_is_idempotent_and_leaves_no_marks_or_capitals(name):
    once = fold(name)
    assert fold(once) == once
    assert not any(unicodedata.combining(c) for c in once)
    assert once == once.casefold()


@given(NAMES)
@settings(deadline=None)  # a shared machine: time is not what these check
def test_every_prefix_of_every_name_word_finds_it(name):
    terms = contact_terms(name, [], [], [])
    for word in words(name):
        assume(2 <= len(word) <= st_.MAX_TERM)
        for end in range(2, len(word) + 1):
            query = parse_query(word[:end])
            assert any(t.startswith(query.contact_term) for t in terms), (word, end)


@given(NAMES, st.booleans())
@settings(deadline=None)  # a shared machine: time is not what these check
def test_a_name_is_found_whatever_the_case_the_accents_or_the_unicode_form(name, upper):
    variant = unicodedata.normalize("NFD" if upper else "NFC", name.upper() if upper else name.lower())
    assert fold(variant) == fold(name) or fold(name.upper()) != fold(name)  # upper() may change letters (ß)


# -- phone numbers ---------------------------------------------------------------------------------------------
# (region, E.164) pairs that phonenumbers knows as possible numbers
NUMBERS = st.sampled_from([
    ("LV", "+37120000000"), ("LV", "+37167123456"), ("US", "+15417543010"), ("GB", "+447911123456"),
    ("DE", "+4915123456789"), ("FR", "+33612345678"), ("IN", "+919812345678"), ("BR", "+5511912345678"),
    ("SE", "+46701234567"), ("ES", "+34612345678"),
])
SEPARATORS = st.sampled_from(["", " ", "-", ".", " - "])


def national_format(number: str, region: str) -> str:
    import phonenumbers

    return phonenumbers.format_number(phonenumbers.parse(number), phonenumbers.PhoneNumberFormat.NATIONAL)


@given(NUMBERS, SEPARATORS, st.sampled_from(["+", "00", "(+", "+ "]))
@settings(deadline=None)  # a shared machine: time is not what these check
def test_an_international_number_in_any_layout_is_its_e164(pair, sep, lead):
    _, number = pair
    digits = number[1:]
    spaced = sep.join([digits[:3], digits[3:6], digits[6:]])
    written = f"{lead}{spaced}" if lead != "(+" else f"(+{digits[:3]}) {sep.join([digits[3:6], digits[6:]])}"
    assert e164(written) == number
    assert e164(written, "US") == number  # an international form ignores the region
    assert parse_query(written).contact_term == digits  # and a query for it looks up its digits


@given(NUMBERS)
@settings(deadline=None)  # a shared machine: time is not what these check
def test_a_national_number_is_e164_in_its_region_and_found_by_its_national_digits(pair):
    region, number = pair
    written = national_format(number, region)
    assert e164(written, region) == number
    national = phone_terms(number)[-1]
    query = parse_query(written, region)
    assert query.contact_term in (number[1:], national) or national.startswith(query.contact_term)


@given(NUMBERS, st.integers(min_value=3, max_value=6))
@settings(deadline=None)  # a shared machine: time is not what these check
def test_the_start_of_a_national_number_finds_it(pair, length):
    _, number = pair
    national = phone_terms(number)[-1]
    assert any(t.startswith(parse_query(national[:length], "US").contact_term) for t in phone_terms(number))


@given(st.text(max_size=30))
@settings(deadline=None)  # a shared machine: time is not what these check
def test_e164_never_raises_and_returns_a_plus_and_digits(text):
    found = e164(text, "US")
    assert found is None or (found.startswith("+") and found[1:].isdigit() and 8 <= len(found) <= 16)


@pytest.mark.parametrize("raw", ["", "abc", "12", "+", "+999 1234", "++371 2000 0000", "2000 0000 0000 0000 0"])
def test_what_cannot_be_a_phone_number_is_none(raw):
    assert e164(raw, "US") is None


# -- message words -------------------------------------------------------------------------------------------
def test_message_terms_skip_stopwords_short_and_long_words_and_keep_order_numbers():
    terms = message_terms("Hello! My order #1234 has NOT arrived, please check " + "x" * 40, "Re: Order 1234")
    assert terms == ["order", "1234", "arrived", "check"]


@given(st.text(max_size=2000), st.one_of(st.none(), st.text(max_size=200)))
@settings(max_examples=200, deadline=None)
def test_a_message_gives_a_bounded_set_of_folded_terms(text, subject):
    terms = message_terms(text, subject)
    assert len(terms) == len(set(terms)) <= MAX_MESSAGE_TERMS + st_.MAX_SUBJECT_TERMS
    for term in terms:
        assert st_.MIN_TERM <= len(term) <= st_.MAX_TERM and term == fold(term) and term not in st_.STOPWORDS
        assert term in words(text) or term in words(subject or "")


@given(st.text(alphabet=string.ascii_letters + " .,!?", min_size=1, max_size=600))
@settings(deadline=None)  # a shared machine: time is not what these check
def test_a_snippet_is_short_and_shows_the_word(text):
    found = [w for w in words(text) if len(w) >= 3]
    assume(found)
    term = found[-1]
    around = snippet(text, term)
    assert len(around) <= st_.SNIPPET_CHARS + 2
    assert term in fold(around)


# -- queries ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("q", ["", " ", "a", "-", "!!", "é"])
def test_a_query_without_two_letters_or_digits_is_too_short(q):
    with pytest.raises(QueryTooShort):
        parse_query(q)


def test_queries_are_read_as_what_they_look_like():
    assert parse_query("cv_01a23e2c0d1c7d").conversation_id == "cv_01a23e2c0d1c7d"
    assert parse_query("CT_01a23e2c0d1c7d").contact_id == "ct_01a23e2c0d1c7d"
    assert parse_query("Ann@Example.COM").contact_term == "ann@example.com"
    handle = parse_query("@ann_lee")
    assert (handle.contact_term, handle.contact_filters) == ("ann", ["lee"])
    named = parse_query("Jānis Bērz")
    assert named.contact_term == "janis" and named.contact_filters == ["berz"] and named.words == ["janis", "berz"]
    assert parse_query("VIP").label == "vip"


@given(st.text(max_size=300))
@settings(deadline=None)  # a shared machine: time is not what these check
def test_any_query_is_read_or_refused_cleanly(q):
    try:
        query = parse_query(q, "LV")
    except QueryTooShort:
        return
    assert query.contact_term or query.words or query.label or query.conversation_id or query.contact_id
    for term in [query.contact_term or "", *query.words]:
        assert len(term) <= 200


def test_a_contact_is_indexed_by_its_words_its_whole_name_its_email_and_its_phone_forms():
    terms = contact_terms("Jānis Bērziņš", ["Janis.B@Example.lv"], ["+37120000000"], ["@jb_77"])
    assert terms == ["janis", "berzins", "janis berzins", "janis.b@example.lv", "37120000000", "20000000", "jb_77"]
    assert "b" not in terms  # a one-letter word of the email is no term (two letters at least)
    whole = parse_query("Jānis B")
    assert whole.contact_phrase == "janis b" and "janis berzins".startswith(whole.contact_phrase)

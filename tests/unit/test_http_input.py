"""http_input.py: bodies every entry point refuses before a parser could fail on them (4xx, never an exception)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.errors import BadRequest, MalformedPayload, SwitchboardError
from switchboard.http_input import (
    FORM_TYPES,
    JSON_TYPES,
    MAX_JSON_DEPTH,
    UnsupportedMediaType,
    check_body_headers,
    depth,
    load_json,
    media_type,
)


@pytest.mark.parametrize("body", [
    b"[" * 100_000,  # json's own RecursionError
    b'{"a":' * 5000 + b"1" + b"}" * 5000,
    b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1),  # parses, but deeper than anything we take
    b'{"n": NaN}', b'{"n": Infinity}', b'{"n": -Infinity}', b'{"n": 1e999}', b'{"n": ' + b"9" * 5000 + b"}",
    b"\xff\xfe\xfd", b"", b"{",
])
def test_what_json_cannot_read_or_we_would_not_store_is_malformed(body):
    with pytest.raises(MalformedPayload) as refused:
        load_json(body, code="bad_json")
    assert refused.value.status == 400 and refused.value.code == "bad_json"


def test_a_webhook_keeps_what_python_reads_for_its_channel_to_skip():
    assert load_json(b'{"n": NaN, "m": 1e999}', strict=False)["m"] == float("inf")
    assert depth(load_json(b"[" * 500 + b"]" * 500, strict=False)) > MAX_JSON_DEPTH  # read; the channel drops it
    with pytest.raises(MalformedPayload):
        load_json(b"[" * 100_000, strict=False)


def test_ordinary_json_reads_as_before():
    doc = {"a": [1, 2.5, -3e10, None, True, "é\u2028"], "b": {"c": [[{"d": []}]]}}
    assert load_json(json.dumps(doc).encode()) == doc
    assert load_json(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH) is not None  # the limit itself is fine
    # A lone surrogate (an emoji cut in half by a client) is JSON: the channels make such text storable, and a
    # customer's message is never refused for it.
    assert load_json(b'{"a": "\\ud83d"}') == {"a": "\ud83d"}


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=0, max_value=3000))
def test_depth_is_counted_without_recursion(n):
    value: list | dict = []
    for i in range(n):
        value = [value] if i % 2 else {"k": value}
    assert depth(value) == min(n + 1, MAX_JSON_DEPTH + 1) if n <= MAX_JSON_DEPTH else depth(value) > MAX_JSON_DEPTH


@pytest.mark.parametrize(("header", "expected"), [
    ("application/json", ("application/json", {})),
    ("Application/JSON; Charset=UTF-8", ("application/json", {"charset": "UTF-8"})),
    ('multipart/form-data; boundary="a b"', ("multipart/form-data", {"boundary": "a b"})),
    ("", ("", {})), (None, ("", {})),
])
def test_media_types_parse(header, expected):
    assert media_type(header) == expected


@pytest.mark.parametrize("header", ["multipart/form-data", "multipart/form-data; boundary=", "multipart/mixed",
                                    "multipart/form-data; boundary=" + "x" * 71, "json", "é/é", "\x00", "a/b/c",
                                    "/json", "text/"])
def test_a_content_type_that_is_not_one_or_a_multipart_without_boundary_is_a_400(header):
    with pytest.raises(BadRequest) as refused:
        media_type(header)
    assert refused.value.status == 400 and refused.value.code == "invalid_content_type"


@pytest.mark.parametrize(("headers", "code"), [
    ({"content-encoding": "gzip"}, "unsupported_encoding"),
    ({"content-encoding": "identity, br"}, "unsupported_encoding"),
    ({"content-type": "application/json; charset=utf-16"}, "unsupported_charset"),
    ({"content-type": "text/html; charset=ebcdic"}, "unsupported_charset"),
    ({"content-type": "text/plain"}, "unsupported_media_type"),
    ({"content-type": "application/x-www-form-urlencoded"}, "unsupported_media_type"),
])
def test_bodies_no_handler_can_read_are_a_415(headers, code):
    with pytest.raises(UnsupportedMediaType) as refused:
        check_body_headers(headers, accept=JSON_TYPES)
    assert refused.value.status == 415 and refused.value.code == code


@pytest.mark.parametrize("headers", [{}, {"content-type": "application/json"},
                                     {"content-type": "application/json; charset=utf-8"},
                                     {"content-type": "application/problem+json"}, {"content-encoding": "identity"}])
def test_json_as_clients_send_it_passes(headers):
    check_body_headers(headers, accept=JSON_TYPES)


def test_without_an_accept_list_only_the_transfer_form_and_charset_are_checked():
    assert check_body_headers({"content-type": "text/plain"}) == "text/plain"  # a webhook reads what it verified
    assert check_body_headers({"content-type": "application/x-www-form-urlencoded"}, accept=FORM_TYPES)
    with pytest.raises(SwitchboardError):
        check_body_headers({"content-type": "application/json"}, accept=FORM_TYPES)

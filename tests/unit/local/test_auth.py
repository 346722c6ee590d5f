"""The local stack's JWT authorizer (infra/local/auth.py): a token it issued passes, anything else is None (a 401),
whatever is wrong with it, and never an exception (a 500)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infra.local import auth


def signed(claims: Any, header: bytes = b'{"alg": "HS256", "typ": "JWT"}') -> str:
    """A token with these claims (any JSON, or raw bytes), signed with the stack's key: only the claims are wrong."""
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    body = claims if isinstance(claims, bytes) else json.dumps(claims).encode()
    head, payload = b64(header), b64(body)
    signature = b64(hmac.new(auth._KEY, f"{head}.{payload}".encode(), hashlib.sha256).digest())
    return f"Bearer {head}.{payload}.{signature}"


json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=12)
claims = st.dictionaries(st.sampled_from(["exp", "email", "sub", "cognito:groups", "iat"]) | st.text(max_size=5),
                         json_value, max_size=5)


def test_a_token_it_issued_passes_and_carries_the_role():
    found = auth.verify(f"Bearer {auth.issue('ann@example.com', 'admin')}")
    assert found and found["email"] == "ann@example.com" and found["cognito:groups"] == ["admin"]


@pytest.mark.parametrize("authorization", [
    None, "", "Bearer", "Bearer ", "Basic abc", "bearer x.y.z",
    "Bearer a.b", "Bearer a.b.c.d", "Bearer ...", "Bearer a..c",  # segment counts
    "Bearer %%%.%%%.%%%", "Bearer a=b.c=d.e=f", "Bearer \x00.\x00.\x00",  # not base64
    "Bearer ä.ö.ü", "Bearer 🙂.🙂.🙂", "Bearer \ud800.a.b",  # outside ASCII
])
def test_malformed_tokens_are_refused(authorization):
    assert auth.verify(authorization) is None


@pytest.mark.parametrize("claims", [
    [], "text", 42, None, True,  # JSON that is not an object
    {"exp": "2999-01-01"}, {"exp": None}, {"exp": True}, {"exp": [1]}, {"exp": {"at": 1}},  # exp of another type
    {"email": "a@b.c"},  # no expiry at all
    {"exp": 1},  # expired
])
def test_signed_tokens_with_bad_claims_are_refused(claims):
    assert auth.verify(signed(claims)) is None


@pytest.mark.parametrize("body", [b"not json", b"\xff\xfe", b'{"exp": NaN}', b'{"exp": Infinity}'])
def test_signed_tokens_whose_body_is_not_plain_json_are_refused(body):
    assert auth.verify(signed(body)) is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_a_token_or_a_refusal_never_an_error(text):
    for authorization in (text, f"Bearer {text}"):
        assert auth.verify(authorization) is None or isinstance(auth.verify(authorization), dict)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(codec="latin-1"), max_size=30), min_size=1, max_size=5))
def test_any_dotted_latin1_header_value_is_refused(parts):
    # What an HTTP header can carry (http.server decodes headers as Latin-1), dotted like a JWT.
    assert auth.verify("Bearer " + ".".join(parts)) is None


@settings(max_examples=300, deadline=None)
@given(json_value | claims)
def test_signed_claims_pass_only_as_an_object_with_a_future_numeric_expiry(value):
    found = auth.verify(signed(value))
    if found is not None:
        assert isinstance(found, dict)
        assert isinstance(found["exp"], int | float) and not isinstance(found["exp"], bool)
        assert math.isfinite(found["exp"]) and found["exp"] > time.time()

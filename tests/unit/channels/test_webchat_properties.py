"""Hostile input to the web chat widget's API, through its function: any session body and Origin, any message body
with a valid visitor token, any Authorization header, tokens signed over any claims. The answer is a 2xx or a 4xx
(never a 5xx, never an exception), and what is accepted can be enqueued.

The store and the queue are replaced by a recorder that checks each event would serialize for the queue."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from switchboard.channels import webchat as channel
from switchboard.errors import Unauthorized
from switchboard.models import InboundEnvelope
from tests.conftest import TEST_SECRETS
from tests.support.handlers import context, handler, http_event

EXAMPLES = 80
SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
odd_text = st.text(max_size=30) | st.sampled_from(["\ud800", "a\udfffb", "\x00", "", " ", "x" * 70,
                                                   "v_" + "0" * 32, "v_" + "é" * 32, "a@b", "ANN@Example.COM"]) \
    | st.just(10_001).map(lambda n: "é" * n)  # over the text limit, built lazily (a literal makes reprs huge)
leaf = st.none() | st.booleans() | st.integers() | st.floats() | odd_text
json_value = st.recursive(leaf, lambda children: st.lists(children, max_size=3)
                          | st.dictionaries(odd_text, children, max_size=4), max_leaves=15)
SESSION_KEYS = ["visitor_id", "widget_id", "name", "email", "identity_hash"]
MESSAGE_KEYS = ["client_message_id", "text"]


def objects(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(keys) | st.text(max_size=8), json_value | odd_text, max_size=6)


def encoded(value: Any) -> st.SearchStrategy[bytes]:
    return st.sampled_from([
        json.dumps(value).encode(),
        json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass"),  # invalid UTF-8 where surrogates are
    ])


texts = st.one_of(st.text(min_size=1, max_size=40).filter(str.strip), st.sampled_from(["\ud800", "a\udfffb", "\x00x"]),
                  odd_text)
valid_ids = st.from_regex(r"[A-Za-z0-9_-]{8,64}", fullmatch=True)
client_ids = st.one_of(valid_ids, valid_ids, st.text(min_size=8, max_size=64), odd_text)
raw_bodies = st.one_of(st.binary(max_size=200), st.sampled_from([b"", b"null", b"[]", b'"x"', b"\xff", b"{"]),
                       st.integers(min_value=1, max_value=400).map(lambda n: b"[" * n))


@pytest.fixture(autouse=True)
def counters(monkeypatch) -> dict[tuple[str, ...], int]:
    """The rate limits' counters in memory (store/ratelimit.py's one UpdateItem, as DynamoDB would answer it). The
    examples come from one address, so some are over its limits: a 429 is a 4xx like any other, and its metric
    needs the namespace the template gives every function."""
    from switchboard import observability
    from switchboard.store import ratelimit

    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Switchboard/test")
    observability.forget()

    counts: dict[tuple[str, ...], int] = {}

    def add_one(table, scope, subject, hour_start, names, expires_at):
        for name in names:
            counts[(scope, subject, str(hour_start), name)] = counts.get((scope, subject, str(hour_start), name), 0) + 1
        return {name: counts[(scope, subject, str(hour_start), name)] for name in names}

    monkeypatch.setattr(ratelimit, "add_one", add_one)
    return counts


@pytest.fixture
def recorded(monkeypatch) -> list[Any]:
    from switchboard.services import ingest

    events: list[Any] = []

    def fake_ingest(batch):
        for item in batch:
            envelope = InboundEnvelope(event=item, received_at="2026-01-01T00:00:00.000Z")
            assert InboundEnvelope.model_validate_json(envelope.model_dump_json()) == envelope
        events.extend(batch)
        return {"messages": len(batch), "duplicates": 0, "statuses": 0}

    monkeypatch.setattr(ingest, "ingest", fake_ingest)
    return events


def call(method: str, path: str, body: bytes | None, headers: dict[str, str] | None = None,
         base64_body: bool = False) -> dict[str, Any]:
    return handler("webchat")(http_event(method, path, body, headers, base64_body=base64_body), context("Webchat"))


def assert_2xx_or_4xx(result: dict[str, Any]) -> int:
    status = result["statusCode"]
    event(f"status {status}")
    assert 200 <= status < 300 or 400 <= status < 500, (status, result.get("body"))
    if status >= 400:
        assert json.loads(result["body"])["error"]["code"]
    return status


def token() -> str:
    return channel.issue_token(channel.Visitor(visitor_id="v_" + "1" * 32, widget_id="default"))[0]


@pytest.mark.parametrize("allowed", ["", "https://shop.example.com"])
@SETTINGS
@given(data=st.data(), origin=st.none() | odd_text | st.just("https://shop.example.com"),
       base64_body=st.booleans())
def test_any_session_request_is_2xx_or_4xx(recorded, settings_env, allowed, data, origin, base64_body):
    settings_env(WEBCHAT_ALLOWED_ORIGINS=allowed)
    body = data.draw(st.one_of(objects(SESSION_KEYS).flatmap(encoded), json_value.flatmap(encoded), raw_bodies))
    headers = {"Content-Type": "application/json", **({"Origin": origin} if origin is not None else {})}
    answer = call("POST", "/webchat/sessions", body, headers, base64_body)
    if assert_2xx_or_4xx(answer) == 201:  # the answer's own token (asking again may be over the address's limit)
        issued = json.loads(answer["body"])["token"]
        assert channel.read_token(f"Bearer {issued}").visitor_id.startswith("v_")  # a usable token


@SETTINGS
@given(name=odd_text, widget=odd_text | st.none(), text=texts, client_id=client_ids)
def test_whatever_a_session_was_opened_with_its_messages_are_2xx_or_4xx_and_can_be_enqueued(recorded, name, widget,
                                                                                          text, client_id):
    recorded.clear()
    opened = call("POST", "/webchat/sessions", json.dumps({"name": name, "widget_id": widget}).encode(),
                  {"Content-Type": "application/json"})
    if assert_2xx_or_4xx(opened) != 201:
        return
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {json.loads(opened['body'])['token']}"}
    status = assert_2xx_or_4xx(call("POST", "/webchat/messages",
                                    json.dumps({"client_message_id": client_id, "text": text}).encode(), headers))
    assert (status in (200, 201)) == bool(recorded)


@SETTINGS
@given(data=st.data(), base64_body=st.booleans())
def test_any_message_from_a_visitor_is_2xx_or_4xx_and_accepted_ones_can_be_enqueued(recorded, data, base64_body):
    recorded.clear()
    shaped = st.builds(lambda c, t: json.dumps({"client_message_id": c, "text": t}).encode(), client_ids, texts)
    body = data.draw(st.one_of(shaped, shaped, objects(MESSAGE_KEYS).flatmap(encoded), json_value.flatmap(encoded),
                               raw_bodies))
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token()}"}
    status = assert_2xx_or_4xx(call("POST", "/webchat/messages", body, headers, base64_body))
    assert (status in (200, 201)) == bool(recorded)


@SETTINGS
@given(authorization=st.none() | odd_text | st.builds(lambda t: f"Bearer {t}", odd_text), method=st.sampled_from(
    ["GET", "POST"]))
def test_any_authorization_but_a_valid_token_is_401(recorded, authorization, method):
    headers = {"Content-Type": "application/json", **({"Authorization": authorization} if authorization else {})}
    result = call(method, "/webchat/messages", b'{"client_message_id": "abcdefgh", "text": "hi"}', headers)
    assert assert_2xx_or_4xx(result) == 401 and recorded == []


def signed_claims(claims: Any) -> str:
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    key = hmac.new(TEST_SECRETS["WEBCHAT_TOKEN_SECRET"].encode(), b"switchboard visitor token", hashlib.sha256).digest()
    signature = base64.urlsafe_b64encode(hmac.new(key, body.encode(), hashlib.sha256).digest()).decode().rstrip("=")
    return f"{body}.{signature}"


@SETTINGS
@given(claims=json_value | st.dictionaries(st.sampled_from(["v", "w", "n", "e", "x"]), json_value | st.floats(),
                                           max_size=5))
def test_a_token_signed_over_any_claims_reads_as_a_visitor_or_is_refused(claims):
    # Only our own key signs tokens; even so, whatever its claims hold, reading one never fails otherwise.
    try:
        visitor = channel.read_token(f"Bearer {signed_claims(claims)}")
    except Unauthorized:
        return
    assert isinstance(visitor.visitor_id, str) and isinstance(visitor.widget_id, str)


@pytest.mark.parametrize("path", ["/webchat/sessions", "/webchat/messages"])
def test_a_deeply_nested_body_is_a_400(recorded, path):
    result = call("POST", path, b"[" * 100_000, {"Content-Type": "application/json",
                                                  "Authorization": f"Bearer {token()}"})
    assert result["statusCode"] == 400

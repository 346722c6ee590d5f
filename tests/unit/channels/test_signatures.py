"""Signature and token checks of every channel: the verdict is hmac.compare_digest's (a timing-safe comparison of
bytes, never ==), empty and repeated headers (API Gateway joins repeats with commas) are refused, and a body that
API Gateway base64-encodes is verified on its decoded bytes, with the same events as the plain one."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from infra.local.events import http_event as gateway_event
from switchboard.channels import registry
from switchboard.channels import webchat as webchat_channel
from switchboard.channels.base import WebhookRequest
from switchboard.channels.sms import twilio_signature
from switchboard.errors import Forbidden, SignatureError, SwitchboardError, Unauthorized
from switchboard.lambda_events import webhook_request
from switchboard.services import survey
from tests.conftest import TEST_SECRETS
from tests.support.handlers import context, handler
from tests.support.signing import meta_signature

META_SECRET = TEST_SECRETS["META_APP_SECRET"].encode()
TELEGRAM_SECRET = TEST_SECRETS["TELEGRAM_SECRET_TOKEN"]
TWILIO_TOKEN = TEST_SECRETS["TWILIO_AUTH_TOKEN"]
BASE = TEST_SECRETS["PUBLIC_BASE_URL"]
NOW = str(int(time.time()))

WA = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "W", "changes": [{"field": "messages", "value": {
    "messaging_product": "whatsapp", "metadata": {"phone_number_id": "200000000000002"},
    "contacts": [{"profile": {"name": "J\u00fcrgen"}, "wa_id": "4915112345678"}],
    "messages": [{"from": "4915112345678", "id": "wamid.sig1", "timestamp": NOW, "type": "text",
                  "text": {"body": "Gr\u00fc\u00dfe \ud83d\udce6"}}]}}]}]}).encode()  # escaped, as Meta sends it
FB = json.dumps({"object": "page", "entry": [{"id": "PAGE1", "time": 1, "messaging": [
    {"sender": {"id": "PSID1"}, "recipient": {"id": "PAGE1"}, "timestamp": int(NOW) * 1000,
     "message": {"mid": "m_sig1", "text": "hallo"}}]}]}).encode()
IG = json.dumps({"object": "instagram", "entry": [{"id": "IG1", "time": 1, "messaging": [
    {"sender": {"id": "IGSID1"}, "recipient": {"id": "IG1"}, "timestamp": int(NOW) * 1000,
     "message": {"mid": "aWdf1", "text": "hei"}}]}]}).encode()
TG = json.dumps({"update_id": 9001, "message": {"message_id": 5, "date": int(NOW), "text": "привет",
                                                "chat": {"id": 42, "type": "private"},
                                                "from": {"id": 42, "is_bot": False, "first_name": "Иван"}}},
                ensure_ascii=False).encode()  # raw UTF-8
SMS_PARAMS = [("MessageSid", "SMsig1"), ("From", "+15551234567"), ("To", "+15550001111"), ("Body", "caf\u00e9 ok"),
              ("SmsStatus", "received"), ("NumMedia", "0")]


@dataclass(frozen=True)
class Case:
    channel: str
    body: bytes
    content_type: str
    header: str
    sign: Callable[[bytes], str]


def meta_sig(body: bytes) -> str:
    return meta_signature(body, META_SECRET)


def twilio_sig(body: bytes) -> str:
    from urllib.parse import parse_qs

    return twilio_signature(TWILIO_TOKEN, f"{BASE}/webhooks/sms", parse_qs(body.decode(), keep_blank_values=True))


CASES = {
    "whatsapp": Case("whatsapp", WA, "application/json", "X-Hub-Signature-256", meta_sig),
    "messenger": Case("messenger", FB, "application/json", "X-Hub-Signature-256", meta_sig),
    "instagram": Case("instagram", IG, "application/json", "X-Hub-Signature-256", meta_sig),
    "telegram": Case("telegram", TG, "application/json", "X-Telegram-Bot-Api-Secret-Token", lambda _b: TELEGRAM_SECRET),
    "sms": Case("sms", urlencode(SMS_PARAMS).encode(), "application/x-www-form-urlencoded", "X-Twilio-Signature",
                twilio_sig),
}


def request(case: Case, signature: str | None, body: bytes | None = None) -> WebhookRequest:
    headers = {"Content-Type": case.content_type, **({case.header: signature} if signature is not None else {})}
    event = gateway_event("POST", f"/webhooks/{case.channel}", "", headers, case.body if body is None else body,
                          f"POST /webhooks/{case.channel}", {}, None, "127.0.0.1")
    return webhook_request(event)


class DigestSpy:
    """hmac.compare_digest, recorded, and optionally forced to a verdict."""

    def __init__(self, forced: bool | None = None):
        self.calls: list[tuple[Any, Any]] = []
        self.forced = forced
        self.real = hmac.compare_digest

    def __call__(self, a: Any, b: Any) -> bool:
        self.calls.append((a, b))
        verdict = self.real(a, b)
        return verdict if self.forced is None else self.forced


@pytest.fixture
def spy(monkeypatch) -> Callable[[bool | None], DigestSpy]:
    def install(forced: bool | None = None) -> DigestSpy:
        s = DigestSpy(forced)
        monkeypatch.setattr(hmac, "compare_digest", s)
        return s

    return install


def refused(check: Callable[[], Any], error: type[SwitchboardError]) -> bool:
    try:
        check()
    except error:
        return True
    return False


# -- timing-safe comparison: the verdict is compare_digest's ------------------------------------------------------
VERIFIERS: dict[str, tuple[Callable[[], Any], Callable[[], Any], type[SwitchboardError]]] = {}


def tamper(value: str) -> str:
    # A different character even to a case-insensitive reading (hex digests may be compared lower-cased)
    return value[:-1] + ("0" if value[-1].lower() != "0" else "1")


def _webhook(name: str) -> None:
    case = CASES[name]
    good = lambda: registry.get(name).verify(request(case, case.sign(case.body)))  # noqa: E731
    bad = lambda: registry.get(name).verify(request(case, tamper(case.sign(case.body))))  # noqa: E731
    VERIFIERS[f"{name} signature"] = (good, bad, SignatureError)


for _name in CASES:
    _webhook(_name)


def _handshake(token: str) -> Callable[[], Any]:
    query = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "42"}
    return lambda: registry.get("whatsapp").handshake(WebhookRequest("GET", "/webhooks/whatsapp", {}, query, b""))


VERIFIERS["meta handshake"] = (_handshake(TEST_SECRETS["META_VERIFY_TOKEN"]), _handshake("not-it"), Forbidden)


def _sms_json_body(tamper: bool) -> Callable[[], Any]:
    body = b'{"MessageSid": "SMjson1"}'
    digest = hashlib.sha256(body + (b" " if tamper else b"")).hexdigest()
    query = f"bodySHA256={digest}"
    url = f"{BASE}/webhooks/sms?{query}"

    def check() -> None:
        headers = {"content-type": "application/json", "x-twilio-signature": twilio_signature(TWILIO_TOKEN, url, {})}
        registry.get("sms").verify(WebhookRequest("POST", "/webhooks/sms", headers, {}, body, raw_query=query))

    return check


VERIFIERS["sms json body hash"] = (_sms_json_body(False), _sms_json_body(True), SignatureError)


def tampered(token: str) -> str:
    """The token with its signature's last characters changed."""
    return token[:-2] + ("AA" if token[-2:] != "AA" else "BB")


def _visitor_token(tamper: bool) -> Callable[[], Any]:
    def check() -> None:
        token = webchat_channel.issue_token(webchat_channel.Visitor(visitor_id="v_" + "a" * 32, widget_id="w"))[0]
        webchat_channel.read_token(f"Bearer {tampered(token) if tamper else token}")

    return check


VERIFIERS["webchat visitor token"] = (_visitor_token(False), _visitor_token(True), Unauthorized)


def _identity_hash(tamper: bool) -> Callable[[], Any]:
    def check() -> None:
        given = webchat_channel.identity_hash("ann@example.com")
        if not webchat_channel.identity_vouched("ann@example.com", given[:-1] + ("0" if given[-1] != "0" else "1")
                                                if tamper else given):  # hex: the tampered one is still hex
            raise Forbidden("not vouched")

    return check


VERIFIERS["webchat identity hash"] = (_identity_hash(False), _identity_hash(True), Forbidden)


def _survey_token(tamper: bool) -> Callable[[], Any]:
    def check() -> None:
        token = survey.make_token("cv_1", "r1", int(time.time()) + 3600)
        survey.read_token(tampered(token) if tamper else token)

    return check


VERIFIERS["survey link"] = (_survey_token(False), _survey_token(True), Forbidden)


@pytest.fixture(autouse=True)
def survey_key(settings_env):
    settings_env(SURVEY_SIGNING_KEY="test-survey-key")


@pytest.mark.parametrize("name", sorted(VERIFIERS))
def test_the_verdict_is_a_timing_safe_comparison_of_bytes(spy, name):
    good, bad, error = VERIFIERS[name]
    # As they are: the genuine one passes, the tampered one is refused, and both went through compare_digest
    recorder = spy()
    good()
    assert refused(bad, error)
    assert recorder.calls and all(isinstance(a, bytes) and isinstance(b, bytes) for a, b in recorder.calls)
    # compare_digest alone decides: overruled to False the genuine one is refused, to True the tampered one passes
    spy(False)
    assert refused(good, error)
    spy(True)
    assert not refused(bad, error)


# -- empty and repeated headers ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(CASES))
def test_an_empty_signature_header_is_refused(name):
    case = CASES[name]
    for value in ("", " ", ","):
        with pytest.raises(SignatureError):
            registry.get(name).verify(request(case, value))


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_repeated_signature_header_joined_by_the_gateway_is_refused(name):
    # API Gateway (and the local stack) joins a repeated header's values with commas: "good,good" is not a signature.
    case = CASES[name]
    good = case.sign(case.body)
    headers = {"Content-Type": case.content_type, case.header: good, case.header.lower(): good}
    event = gateway_event("POST", f"/webhooks/{name}", "", headers, case.body, f"POST /webhooks/{name}", {}, None,
                          "127.0.0.1")
    assert event["headers"][case.header.lower()] == f"{good},{good}"
    with pytest.raises(SignatureError):
        registry.get(name).verify(webhook_request(event))
    for joined in (f"{good},{case.sign(b'other')}", f"{case.sign(b'other')},{good}", f"{good}, {good}"):
        with pytest.raises(SignatureError):
            registry.get(name).verify(request(case, joined))
    registry.get(name).verify(request(case, good))  # the single header still verifies


# -- base64 bodies --------------------------------------------------------------------------------------------------
@pytest.fixture
def recorded(monkeypatch) -> list[Any]:
    from switchboard.services import ingest

    events: list[Any] = []

    def fake_ingest(batch):
        events.extend(batch)
        return {"messages": len(batch), "duplicates": 0, "statuses": 0}

    monkeypatch.setattr(ingest, "ingest", fake_ingest)
    return events


def deliver(case: Case, base64_body: bool, signature: str) -> dict[str, Any]:
    from tests.support.handlers import http_event

    headers = {"Content-Type": case.content_type, case.header: signature}
    event = http_event("POST", f"/webhooks/{case.channel}", case.body, headers, base64_body=base64_body)
    assert event["isBase64Encoded"] is base64_body
    return handler("webhook")(event, context())


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_base64_encoded_body_is_verified_on_its_decoded_bytes_with_the_same_events(recorded, name):
    case = CASES[name]
    assert deliver(case, False, case.sign(case.body))["statusCode"] == 200
    as_text = list(recorded)
    recorded.clear()
    assert deliver(case, True, case.sign(case.body))["statusCode"] == 200
    # the same events (a channel without provider timestamps stamps each delivery with the time it saw it)
    assert [e.model_dump(exclude={"timestamp"}) for e in recorded] == [e.model_dump(exclude={"timestamp"})
                                                                       for e in as_text] and len(as_text) == 1
    if name != "telegram":  # a secret token, not a signature over the body
        # A signature over the base64 text (what the gateway hands over) is not the provider's: refused
        import base64

        assert deliver(case, True, case.sign(base64.b64encode(case.body)))["statusCode"] == 401


@pytest.mark.parametrize("name", ["whatsapp", "messenger", "telegram"])
def test_bytes_that_are_not_utf8_are_verified_as_sent_then_refused_as_malformed(recorded, name):
    # A stray byte that is not UTF-8: base64 keeps it exact, so the signature matches; the parser then refuses it
    case = CASES[name]
    odd = case.body.replace(b"}", b" \xff}", 1)
    result = deliver(Case(case.channel, odd, case.content_type, case.header, case.sign), True, case.sign(odd))
    assert result["statusCode"] == 400 and json.loads(result["body"])["error"]["code"] == "malformed_payload"
    assert recorded == []


# -- the handshake never fails on odd input -------------------------------------------------------------------------
TOKENS = st.text(max_size=20) | st.sampled_from(["\ud800", "a\udfffb", TEST_SECRETS["META_VERIFY_TOKEN"]])
QUERIES = st.one_of(
    st.fixed_dictionaries({"hub.mode": st.sampled_from(["subscribe", "unsubscribe", ""]) | st.text(max_size=5),
                           "hub.verify_token": TOKENS, "hub.challenge": st.text(max_size=20)}),
    st.dictionaries(st.sampled_from(["hub.mode", "hub.verify_token", "hub.challenge"]) | st.text(max_size=5),
                    TOKENS | st.just("subscribe"), max_size=4))


@settings(max_examples=100, deadline=None)
@given(query=QUERIES)
@example(query={"hub.mode": "subscribe", "hub.verify_token": "\ud800", "hub.challenge": "42"})
def test_the_meta_handshake_answers_the_challenge_or_403(query):
    try:
        reply = registry.get("whatsapp").handshake(WebhookRequest("GET", "/webhooks/whatsapp", {}, query, b""))
    except Forbidden:
        return
    assert reply.status == 200 and reply.body == query["hub.challenge"]
    assert query["hub.mode"] == "subscribe" and query["hub.verify_token"] == TEST_SECRETS["META_VERIFY_TOKEN"]

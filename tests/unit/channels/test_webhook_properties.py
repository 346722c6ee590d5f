"""Hostile requests through the webhook function itself, for every channel: arbitrary JSON and forms, wrong types,
missing fields, deep nesting, huge strings, invalid UTF-8, text or base64 bodies, signed correctly or not. The
answer is a 2xx (events stored, or nothing to store) or a 4xx, never a 5xx and never an exception.

The store and the queue are replaced by a recorder that checks each event would serialize for the queue."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from switchboard.channels.sms import SmsChannel, twilio_signature
from switchboard.lambda_events import webhook_request
from switchboard.models import IgnoredEvent, InboundEnvelope
from tests.conftest import TEST_SECRETS
from tests.support.handlers import context, handler, http_event
from tests.support.signing import meta_signature

WEBHOOK_CHANNELS = ["whatsapp", "messenger", "instagram", "telegram", "sms"]
EXAMPLES = 60

VOCABULARY = ["object", "entry", "changes", "field", "value", "messaging", "messages", "statuses", "contacts",
              "metadata", "phone_number_id", "from", "id", "timestamp", "type", "text", "body", "sender", "recipient",
              "message", "mid", "attachments", "payload", "url", "update_id", "chat", "edited_message",
              "callback_query", "my_chat_member", "MessageSid", "From", "To", "Body", "NumMedia", "MessageStatus"]
leaf = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
        | st.sampled_from(["\ud800", "a\udfffb", "\x00", "", "1" * 30, "whatsapp_business_account", "page",
                           "instagram", "messages", "text", "15551234567"]))
json_value = st.recursive(
    leaf, lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(VOCABULARY) | st.text(max_size=6), children, max_size=6),
    max_leaves=30)
# Shapes each channel's parser walks, with anything at each level.
shaped = st.one_of(
    json_value,
    st.builds(lambda o, e: {"object": o, "entry": e},
              st.sampled_from(["whatsapp_business_account", "page", "instagram"]), st.lists(json_value, max_size=3)),
    st.builds(lambda c: {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": c}]},
              st.lists(st.builds(lambda v: {"field": "messages", "value": v}, json_value), max_size=3)),
    st.builds(lambda m: {"object": "page", "entry": [{"id": "1", "time": 1, "messaging": m}]},
              st.lists(json_value, max_size=3)),
    st.builds(lambda u, k, v: {"update_id": u, k: v}, st.integers() | st.text(max_size=5),
              st.sampled_from(["message", "edited_message", "callback_query", "my_chat_member"]), json_value),
)


def form(params: dict[str, list[str]]) -> bytes:
    from urllib.parse import urlencode

    return urlencode([(k, v) for k, vs in params.items() for v in vs], errors="surrogatepass").encode()


forms = st.dictionaries(st.sampled_from(VOCABULARY) | st.text(max_size=8),
                        st.lists(st.text(max_size=20) | st.sampled_from(["SM1", "+15551234567", "received", ""]),
                                 min_size=1, max_size=2), max_size=8).map(form)
bodies = st.one_of(
    shaped.map(lambda v: json.dumps(v).encode()),
    shaped.map(lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass")),  # invalid UTF-8
    forms,
    st.binary(max_size=300),
    st.integers(min_value=1, max_value=60_000).map(lambda n: b"[" * n),  # deep nesting
    st.integers(min_value=1, max_value=20_000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    st.sampled_from([b"", b"{}", b"[]", b"null", b'"x"', b"\xff\xfe", b"{" * 30_000]),
    st.just(900_000).map(lambda n: json.dumps({"object": "whatsapp_business_account", "entry": [{"changes": [{
        "field": "messages", "value": {"metadata": {"phone_number_id": "1"}, "messages": [
            {"from": "1", "id": "w", "type": "text", "text": {"body": "x" * n}}]}}]}]}).encode()),  # a huge string
    st.just(1_100_000).map(lambda n: b"x" * n),  # over the size limit
)
# Well-formed events whose free fields (text, names, ids) are anything: they must come out storable.
free = st.text(max_size=40) | st.sampled_from(["\ud800", "a\udfffb", "\x00\x1b", "1" * 300]) | st.just(5000).map(
    lambda n: "é" * n)


def realistic(channel: str) -> st.SearchStrategy[bytes]:
    if channel == "whatsapp":
        return st.builds(lambda text, name, wamid, sender: json.dumps({
            "object": "whatsapp_business_account", "entry": [{"id": "W", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp", "metadata": {"phone_number_id": "200000000000002"},
                "contacts": [{"profile": {"name": name}, "wa_id": sender}],
                "messages": [{"from": sender, "id": wamid, "timestamp": "1760000000", "type": "text",
                              "text": {"body": text}}]}}]}]}).encode(), free, free, free, free | st.just("15551234567"))
    if channel in ("messenger", "instagram"):
        return st.builds(lambda text, mid, psid: json.dumps({
            "object": "page" if channel == "messenger" else "instagram", "entry": [{"id": "P1", "time": 1, "messaging": [
                {"sender": {"id": psid}, "recipient": {"id": "P1"}, "timestamp": 1760000000000,
                 "message": {"mid": mid, "text": text}}]}]}).encode(), free, free, free | st.just("24000001"))
    if channel == "telegram":
        return st.builds(lambda text, name, update: json.dumps({"update_id": update, "message": {
            "message_id": 5, "date": 1760000000, "text": text, "chat": {"id": 42, "type": "private"},
            "from": {"id": 42, "is_bot": False, "first_name": name}}}).encode(), free, free, st.integers(1, 2**40))
    return st.builds(lambda body, sid, sender: form({"MessageSid": [sid], "From": [sender], "To": ["+15550001111"],
                                                     "Body": [body], "SmsStatus": ["received"], "NumMedia": ["0"]}),
                     free, free | st.just("SM0123"), free | st.just("+15551234567"))


SIGNING = st.sampled_from(["valid", "valid", "valid", "none", "empty", "wrong", "repeated", "garbage"])
ENCODING = st.sampled_from(["text", "base64", "broken-base64"])
CONTENT_TYPES = st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain", ""])


def sign(channel: str, body: bytes, content_type: str, how: str) -> dict[str, str]:
    """Headers as the provider would send them ("valid"), or missing, empty, wrong, repeated or garbage."""
    headers = {"Content-Type": content_type} if content_type else {}
    if channel in ("whatsapp", "messenger", "instagram"):
        name = "X-Hub-Signature-256"
        good = meta_signature(body, TEST_SECRETS["META_APP_SECRET"])
    elif channel == "telegram":
        name, good = "X-Telegram-Bot-Api-Secret-Token", TEST_SECRETS["TELEGRAM_SECRET_TOKEN"]
    else:
        name = "X-Twilio-Signature"
        request = webhook_request(http_event("POST", "/webhooks/sms", body, headers, base64_body=True))
        good = twilio_signature(TEST_SECRETS["TWILIO_AUTH_TOKEN"], TEST_SECRETS["PUBLIC_BASE_URL"] + "/webhooks/sms",
                                SmsChannel.params(request))
    value = {"valid": good, "empty": "", "wrong": good[:-2] + ("00" if not good.endswith("00") else "11"),
             "repeated": f"{good},{good}", "garbage": "\x00é\u2028" * 3}.get(how)
    if value is not None:
        headers[name] = value
    return headers


@pytest.fixture
def recorded(monkeypatch) -> list[Any]:
    from switchboard.services import ingest

    events: list[Any] = []

    def fake_ingest(batch):
        for item in batch:  # what queue.send_inbound would send: it must serialize and read back
            if isinstance(item, IgnoredEvent):  # counted by ingest, never queued
                continue
            envelope = InboundEnvelope(event=item, received_at="2026-01-01T00:00:00.000Z")
            assert InboundEnvelope.model_validate_json(envelope.model_dump_json()) == envelope
        events.extend(batch)
        return {"messages": len(batch), "duplicates": 0, "statuses": 0}

    monkeypatch.setattr(ingest, "ingest", fake_ingest)
    return events


def answer(channel: str, body: bytes, content_type: str, signing: str, encoding: str) -> dict[str, Any]:
    headers = sign(channel, body, content_type, signing)
    if encoding == "text":
        event = http_event("POST", f"/webhooks/{channel}", body, headers, base64_body=False)
    else:
        event = http_event("POST", f"/webhooks/{channel}", body, headers, base64_body=True)
        if encoding == "broken-base64":
            event["body"] = event["body"][:-1] + "*"
    return handler("webhook")(event, context(f"{channel}Webhook"))


@pytest.mark.parametrize("channel", WEBHOOK_CHANNELS)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                       HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.data_too_large])
@given(data=st.data(), content_type=CONTENT_TYPES, signing=SIGNING, encoding=ENCODING)
def test_any_request_is_answered_2xx_or_4xx(recorded, channel, data, content_type, signing, encoding):
    recorded.clear()
    body = data.draw(realistic(channel) if data.draw(st.booleans(), label="well-formed") else bodies, label="body")
    if data.draw(st.booleans(), label="as the provider sends it"):  # content type and encoding the provider uses
        content_type = "application/x-www-form-urlencoded" if channel == "sms" else "application/json"
        encoding = "text"
    result = answer(channel, body, content_type, signing, encoding)
    status = result["statusCode"]
    event(f"{signing} signature: {status}" + (" with events" if recorded else ""))
    assert 200 <= status < 300 or 400 <= status < 500, (status, result.get("body"))
    if status >= 400:
        assert json.loads(result["body"])["error"]["code"]
        assert recorded == []  # nothing refused was stored
    if signing != "valid" and status < 300:
        raise AssertionError("an unsigned or mis-signed request was accepted")


@pytest.mark.parametrize("channel", ["email", "webchat", "nope", ""])
def test_a_webhook_path_of_a_channel_without_webhooks_is_a_4xx(recorded, channel):
    body = b'{"object": "page", "entry": []}'
    for signing in ("valid", "none"):
        event = http_event("POST", f"/webhooks/{channel}", body, sign("whatsapp", body, "application/json", signing))
        result = handler("webhook")(event, context())
        assert 400 <= result["statusCode"] < 500 and recorded == []


@pytest.mark.parametrize("channel", WEBHOOK_CHANNELS)
def test_a_body_over_the_limit_is_413_before_anything_else(recorded, channel):
    body = b"x" * 1_100_000
    for signing in ("valid", "none"):
        assert answer(channel, body, "application/json", signing, "base64")["statusCode"] == 413


@pytest.mark.parametrize("channel", WEBHOOK_CHANNELS)
def test_a_body_that_is_not_base64_when_the_gateway_says_so_is_a_400(recorded, channel):
    event = http_event("POST", f"/webhooks/{channel}", "not*base64", {"Content-Type": "application/json"},
                       base64_body=True)
    result = handler("webhook")(event, context())
    assert result["statusCode"] == 400 and json.loads(result["body"])["error"]["code"] == "malformed_payload"

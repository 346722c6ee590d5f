"""Twilio SMS/MMS/WhatsApp: signature vectors, form parsing, status callbacks, TwiML, Messages API, hostile forms."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard import clock
from switchboard.channels import http
from switchboard.channels.base import WebhookRequest
from switchboard.channels.sms import SmsChannel, twilio_signature, url_variants
from switchboard.errors import MalformedPayload, MediaError, PermanentSendError, RetryableSendError, SignatureError
from switchboard.lambda_events import webhook_request
from switchboard.models import Attachment, IgnoredEvent, InboundMessage, SendRequest, StatusUpdate
from tests.unit.channels.media_server import media_server_fixture  # noqa: F401 (a fixture)

TOKEN = "test-twilio-token"
SID = "AC00000000000000000000000000000001"
PUBLIC = "https://hooks.example.com"
PATH = "/webhooks/sms"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

# -- the vectors of channels.md §6 (twilio-python's tests) -------------------------------------------------

VECTOR_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
VECTOR_PARAMS = {"CallSid": ["CA1234567890ABCDE"], "Caller": ["+14158675309"], "Digits": ["1234"],
                 "From": ["+14158675309"], "To": ["+18005551212"]}


def test_the_documented_vector():
    assert twilio_signature("12345", VECTOR_URL, VECTOR_PARAMS) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_the_vector_with_explicit_ports():
    assert twilio_signature("12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2",
                            VECTOR_PARAMS) == "kvajT1Ptam85bY51eRf/AJRuM3w="
    assert twilio_signature("12345", "http://mycompany.com:80/myapp.php?foo=1&bar=2",
                            VECTOR_PARAMS) == "0ZXoZLH/DfblKGATFgpif+LLRf4="


def test_the_repeated_keys_vector():
    params = {"Sid": ["CA123"], "SidAccount": ["AC123"], "Digits": ["5678", "1234"]}
    assert twilio_signature("12345", VECTOR_URL, params) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


def test_the_json_body_vector():
    body = b'{"property": "value", "boolean": true}'
    digest = hashlib.sha256(body).hexdigest()
    assert digest == "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
    assert twilio_signature("12345", f"{VECTOR_URL}&bodySHA256={digest}", {}) == "a9nBmqA0ju/hNViExpshrM61xv4="


def test_url_variants_add_or_remove_the_port():
    assert url_variants(VECTOR_URL) == [VECTOR_URL, "https://mycompany.com:443/myapp.php?foo=1&bar=2"]
    assert url_variants("http://mycompany.com/a") == ["http://mycompany.com/a", "http://mycompany.com:80/a"]
    assert url_variants("https://mycompany.com:443/a?b=1") == ["https://mycompany.com:443/a?b=1",
                                                               "https://mycompany.com/a?b=1"]
    assert url_variants("https://mycompany.com:99999/a") == ["https://mycompany.com:99999/a"]  # no valid port


@pytest.mark.parametrize(("signed_url", "request_path"), [
    ("https://mycompany.com/myapp.php?foo=1&bar=2", "/myapp.php"),
    ("https://mycompany.com:443/myapp.php?foo=1&bar=2", "/myapp.php"),
])
def test_the_vectors_verify_through_the_channel(settings_env, signed_url, request_path):
    settings_env(TWILIO_AUTH_TOKEN="12345", PUBLIC_BASE_URL="https://mycompany.com")
    signature = twilio_signature("12345", signed_url, VECTOR_PARAMS)
    SmsChannel().verify(WebhookRequest(method="POST", path=request_path, headers={"x-twilio-signature": signature},
                                       query={"foo": "1", "bar": "2"}, body=urlencode(VECTOR_PARAMS, doseq=True).encode(),
                                       raw_query="foo=1&bar=2", form=VECTOR_PARAMS))


def test_the_http_port_80_vector_verifies_through_the_channel(settings_env):
    settings_env(TWILIO_AUTH_TOKEN="12345", PUBLIC_BASE_URL="http://mycompany.com")
    SmsChannel().verify(WebhookRequest(method="POST", path="/myapp.php", headers={"x-twilio-signature":
                                       "0ZXoZLH/DfblKGATFgpif+LLRf4="}, query={}, body=b"", raw_query="foo=1&bar=2",
                                       form=VECTOR_PARAMS))


def test_the_json_body_vector_verifies_through_the_channel(settings_env):
    settings_env(TWILIO_AUTH_TOKEN="12345", PUBLIC_BASE_URL="https://mycompany.com")
    body = b'{"property": "value", "boolean": true}'
    raw_query = f"foo=1&bar=2&bodySHA256={hashlib.sha256(body).hexdigest()}"
    good = WebhookRequest(method="POST", path="/myapp.php", headers={"x-twilio-signature": "a9nBmqA0ju/hNViExpshrM61xv4=",
                                                                    "content-type": "application/json"},
                          query={}, body=body, raw_query=raw_query)
    SmsChannel().verify(good)
    tampered = WebhookRequest(method="POST", path=good.path, headers=good.headers, query={},
                              body=b'{"property": "other", "boolean": true}', raw_query=raw_query)
    with pytest.raises(SignatureError):
        SmsChannel().verify(tampered)


# -- verify our own webhook -----------------------------------------------------------------------------------

INBOUND = {"ToCountry": "US", "ToState": "CA", "SmsMessageSid": "SM1f0e8ae6ade43cb3c0ce4525424e404f", "NumMedia": "0",
           "ToCity": "", "FromZip": "", "SmsSid": "SM1f0e8ae6ade43cb3c0ce4525424e404f", "FromState": "NY",
           "SmsStatus": "received", "FromCity": "NEW YORK", "Body": "Where is my order?", "FromCountry": "US",
           "To": "+15550001111", "ToZip": "", "NumSegments": "1", "MessageSid": "SM1f0e8ae6ade43cb3c0ce4525424e404f",
           "AccountSid": SID, "From": "+15551234567", "ApiVersion": "2010-04-01"}


def form_of(params: dict[str, Any]) -> dict[str, list[str]]:
    return {k: list(v) if isinstance(v, list) else [v] for k, v in params.items()}


def signed(params: dict[str, Any], *, url: str | None = None, raw_query: str = "", token: str = TOKEN,
           headers: dict[str, str] | None = None, parsed: bool = True) -> WebhookRequest:
    form = form_of(params)
    sign_url = url or PUBLIC + PATH + (f"?{raw_query}" if raw_query else "")
    all_headers = {"content-type": "application/x-www-form-urlencoded",
                   "x-twilio-signature": twilio_signature(token, sign_url, form), **(headers or {})}
    return WebhookRequest(method="POST", path=PATH, headers=all_headers, query={}, body=urlencode(form, doseq=True).encode(),
                          raw_query=raw_query, form=form if parsed else {})


def test_a_signed_request_is_accepted():
    SmsChannel().verify(signed(INBOUND))


def test_the_query_string_is_part_of_the_signed_url():
    SmsChannel().verify(signed(INBOUND, raw_query="tenant=acme&x="))
    request = signed(INBOUND, url=PUBLIC + PATH)
    with pytest.raises(SignatureError):
        SmsChannel().verify(WebhookRequest(method="POST", path=PATH, headers=request.headers, query={},
                                           body=request.body, raw_query="tenant=acme", form=request.form))


def test_the_default_port_is_accepted_added_or_removed(settings_env):
    SmsChannel().verify(signed(INBOUND, url="https://hooks.example.com:443/webhooks/sms"))
    settings_env(PUBLIC_BASE_URL="https://hooks.example.com:443/")
    SmsChannel().verify(signed(INBOUND, url="https://hooks.example.com/webhooks/sms"))


def test_the_url_comes_from_configuration_not_from_host_headers():
    forged = signed(INBOUND, url="https://evil.example.net/webhooks/sms",
                    headers={"host": "evil.example.net", "x-forwarded-host": "evil.example.net"})
    with pytest.raises(SignatureError):
        SmsChannel().verify(forged)
    with pytest.raises(SignatureError):
        SmsChannel().verify(signed(INBOUND, url="http://hooks.example.com/webhooks/sms"))  # another scheme


def test_a_tampered_parameter_is_refused():
    request = signed(INBOUND)
    form = dict(request.form) | {"Body": ["Send me your password"]}
    with pytest.raises(SignatureError):
        SmsChannel().verify(WebhookRequest(method="POST", path=PATH, headers=request.headers, query={},
                                           body=request.body, form=form))


def test_blank_values_are_signed():
    params = INBOUND | {"Body": "", "ToCity": ""}
    SmsChannel().verify(signed(params))
    without_blanks = {k: v for k, v in params.items() if v}
    request = signed(params)
    forged = request.headers | {"x-twilio-signature": twilio_signature(TOKEN, PUBLIC + PATH, form_of(without_blanks))}
    with pytest.raises(SignatureError):
        SmsChannel().verify(WebhookRequest(method="POST", path=PATH, headers=forged, query={}, body=request.body,
                                           form=request.form))


def test_repeated_keys_are_signed_in_value_order():
    SmsChannel().verify(signed(INBOUND | {"Tag": ["b", "a", "c"]}))
    # Identical repeated values: twilio-python signs them once, other SDKs each time; both are Twilio's.
    params = INBOUND | {"Tag": ["a", "a"]}
    request = signed(params)
    SmsChannel().verify(request)
    once = request.headers | {"x-twilio-signature": twilio_signature(TOKEN, PUBLIC + PATH, form_of(INBOUND | {"Tag": "a"}))}
    SmsChannel().verify(WebhookRequest(method="POST", path=PATH, headers=once, query={}, body=request.body,
                                       form=request.form))


def test_the_body_is_parsed_when_the_adapter_did_not():
    SmsChannel().verify(signed(INBOUND, parsed=False))


def test_the_real_adapter_keeps_blank_values_for_the_check():
    form = form_of(INBOUND | {"Body": "hello & welcome", "ToCity": ""})
    body = urlencode(form, doseq=True)
    event = {"rawPath": PATH, "rawQueryString": "", "body": base64.b64encode(body.encode()).decode(),
             "isBase64Encoded": True, "requestContext": {"http": {"method": "POST"}},
             "headers": {"Content-Type": "application/x-www-form-urlencoded",
                         "X-Twilio-Signature": twilio_signature(TOKEN, PUBLIC + PATH, form)}}
    request = webhook_request(event)
    SmsChannel().verify(request)
    [message] = SmsChannel().parse(request)
    assert message.text == "hello & welcome"


@pytest.mark.parametrize("signature", [None, "", "RSOYDt4T1cUTdK1PDd93/VVr8B8=", "not base64 at all", "é"])
def test_a_missing_or_wrong_signature_is_refused(signature):
    request = signed(INBOUND)
    headers = {k: v for k, v in request.headers.items() if k != "x-twilio-signature"}
    if signature is not None:
        headers["x-twilio-signature"] = signature
    with pytest.raises(SignatureError):
        SmsChannel().verify(WebhookRequest(method="POST", path=PATH, headers=headers, query={}, body=request.body,
                                           form=request.form))


def test_a_signature_made_with_another_token_is_refused():
    with pytest.raises(SignatureError):
        SmsChannel().verify(signed(INBOUND, token="someone-elses-token"))


@pytest.mark.parametrize("setting", ["TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL"])
def test_without_configuration_every_request_is_refused(settings_env, setting):
    request = signed(INBOUND)
    settings_env(**{setting: ""})
    with pytest.raises(SignatureError):
        SmsChannel().verify(request)


# -- parse --------------------------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


def parse(params: dict[str, Any]) -> list[Any]:
    return SmsChannel().parse(signed(params))


def test_an_inbound_sms_is_normalized():
    [msg] = parse(INBOUND)
    assert isinstance(msg, InboundMessage)
    assert (msg.channel, msg.provider_message_id) == ("sms", "SM1f0e8ae6ade43cb3c0ce4525424e404f")
    assert (msg.inbox_id, msg.sender_id, msg.identity) == ("+15550001111", "+15551234567", "phone:+15551234567")
    assert (msg.type, msg.text, msg.attachments, msg.sender_name) == ("text", "Where is my order?", [], None)
    assert msg.timestamp == NOW.timestamp()  # Twilio sends no time: when it reached us


def test_an_mms_lists_its_media_for_download():
    base = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages/MM800f449d0399ed014aae2bcc0cc2f2ec/Media"
    params = INBOUND | {"MessageSid": "MM800f449d0399ed014aae2bcc0cc2f2ec", "Body": "", "NumMedia": "2",
                        "MediaUrl0": f"{base}/ME1", "MediaContentType0": "image/jpeg",
                        "MediaUrl1": f"{base}/ME2", "MediaContentType1": "text/vcard"}
    [msg] = parse(params)
    assert (msg.type, msg.text) == ("image", "")
    assert [(a.kind, a.url, a.mime_type, a.status) for a in msg.attachments] == [
        ("image", f"{base}/ME1", "image/jpeg", "pending"), ("document", f"{base}/ME2", "text/vcard", "pending")]


def test_whatsapp_over_twilio_keeps_the_addresses_but_identifies_the_phone():
    params = {"SmsMessageSid": "SMw1", "NumMedia": "0", "ProfileName": "Ann", "MessageType": "text",
              "SmsSid": "SMw1", "WaId": "15551234567", "SmsStatus": "received", "Body": "hola",
              "To": "whatsapp:+15550001111",
              "NumSegments": "1", "ReferralNumMedia": "0", "MessageSid": "SMw1", "AccountSid": SID,
              "From": "whatsapp:+15551234567", "ApiVersion": "2010-04-01", "OriginalRepliedMessageSid": "SMout1"}
    [msg] = parse(params)
    assert (msg.sender_id, msg.inbox_id) == ("whatsapp:+15551234567", "whatsapp:+15550001111")  # replies go here
    assert msg.identity == "phone:+15551234567"
    assert (msg.sender_name, msg.reply_to) == ("Ann", "SMout1")


def test_a_whatsapp_quick_reply_and_location():
    common = INBOUND | {"From": "whatsapp:+15551234567", "To": "whatsapp:+15550001111"}
    [button] = parse(common | {"Body": "Yes", "ButtonText": "Yes", "ButtonPayload": "confirm:yes", "MessageType": "button"})
    assert (button.type, button.text, button.payload) == ("button", "Yes", "confirm:yes")
    [place] = parse(common | {"Body": "", "Latitude": "52.52", "Longitude": "13.405", "Label": "Office",
                              "Address": "Alexanderplatz", "MessageType": "location"})
    assert place.type == "location"
    assert (place.location.latitude, place.location.longitude, place.location.name) == (52.52, 13.405, "Office")
    assert place.text == "Office, Alexanderplatz"
    [bad] = parse(common | {"Latitude": "nan", "Longitude": "13"})
    assert (bad.type, bad.location) == ("text", None)


def test_a_sender_without_a_phone_number_gets_a_channel_identity():
    [msg] = parse(INBOUND | {"From": "ACME"})
    assert msg.identity == "sms:ACME"


@pytest.mark.parametrize(("twilio_status", "status"), [("sent", "sent"), ("delivered", "delivered"), ("read", "read")])
def test_status_callbacks_are_receipts(twilio_status, status):
    params = {"SmsSid": "SMout1", "SmsStatus": twilio_status, "MessageStatus": twilio_status, "To": "+15551234567",
              "MessageSid": "SMout1", "AccountSid": SID, "From": "+15550001111", "ApiVersion": "2010-04-01"}
    [receipt] = parse(params)
    assert isinstance(receipt, StatusUpdate)
    assert (receipt.provider_message_id, receipt.status, receipt.error_code) == ("SMout1", status, None)
    assert receipt.timestamp == NOW.timestamp()


@pytest.mark.parametrize("twilio_status", ["undelivered", "failed"])
def test_undelivered_and_failed_are_failures_with_the_error(twilio_status):
    params = {"MessageSid": "SMout2", "MessageStatus": twilio_status, "ErrorCode": "30003", "From": "+15550001111",
              "To": "+15551234567", "AccountSid": SID}
    [receipt] = parse(params)
    assert (receipt.status, receipt.error_code) == ("failed", "30003")
    assert receipt.error_title == "unreachable destination handset"
    [explained] = parse(params | {"ErrorCode": "30450", "ErrorMessage": "Message delivery blocked"})
    assert (explained.error_code, explained.error_title) == ("30450", "Message delivery blocked")


def test_a_status_callback_with_only_the_legacy_sms_status():
    [receipt] = parse({"SmsSid": "SMout3", "SmsStatus": "delivered", "From": "+15550001111", "To": "+15551234567"})
    assert (receipt.provider_message_id, receipt.status) == ("SMout3", "delivered")


# Every status Twilio documents for a Message, and what a callback with it becomes.
DOCUMENTED_STATUSES = {
    "accepted": "interim_status", "scheduled": "interim_status", "canceled": "interim_status",
    "queued": "interim_status", "sending": "interim_status", "partially_delivered": "interim_status",
    "sent": "sent", "delivered": "delivered", "read": "read", "undelivered": "failed", "failed": "failed",
    "receiving": "inbound_status", "received": "inbound_status",
}


def callback(status: str, *, legacy: bool = False, **extra: str) -> dict[str, str]:
    """A status callback as Twilio posts it: about a message, without what a customer sends."""
    params = {"SmsSid": "SMout4", "SmsStatus": status, "MessageSid": "SMout4", "AccountSid": SID,
              "From": "+15550001111", "To": "+15551234567", "ApiVersion": "2010-04-01", "MessageStatus": status}
    if legacy:
        del params["MessageStatus"]
    return params | extra


@pytest.mark.parametrize("legacy", [False, True])
@pytest.mark.parametrize(("twilio_status", "outcome"), sorted(DOCUMENTED_STATUSES.items()))
def test_every_documented_status_is_classified(twilio_status, outcome, legacy):
    [event] = parse(callback(twilio_status, legacy=legacy))
    if outcome.endswith("_status"):
        assert isinstance(event, IgnoredEvent) and (event.channel, event.reason) == ("sms", outcome)
    else:
        assert isinstance(event, StatusUpdate) and (event.provider_message_id, event.status) == ("SMout4", outcome)


@pytest.mark.parametrize("twilio_status", ["QUEUED", "Delivered ", "expired", "deleted", "sent_to_carrier", "x" * 300,
                                           "\u00e9t\u00e9", "0"])
@pytest.mark.parametrize("without", [(), ("From",), ("From", "To")])
def test_an_unknown_status_is_harmless(twilio_status, without):
    # Before: a status we did not know fell through to the inbound path, and was refused as "an inbound message
    # without From" (a 400 Twilio would log and retry), or stored as an empty customer message when From was there.
    params = {k: v for k, v in callback(twilio_status).items() if k not in without}
    [event] = parse(params)
    known = twilio_status.strip().lower()
    if known in DOCUMENTED_STATUSES:
        assert not isinstance(event, InboundMessage)
    else:
        assert isinstance(event, IgnoredEvent) and event.reason == "unknown_status"


def test_an_unknown_status_is_answered_200_with_twiml_and_counted(monkeypatch, capsys):
    from switchboard import observability
    from tests.support.handlers import context, handler, http_event

    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Switchboard")
    observability.forget()
    request = signed(callback("sent_to_carrier"))
    event = http_event("POST", PATH, request.body, dict(request.headers))
    result = handler("webhook")(event, context("SmsWebhook"))  # nothing stored or queued: no AWS call is made
    assert result["statusCode"] == 200 and "<Response/>" in result["body"]
    assert '"reason":"unknown_status"' in capsys.readouterr().out


@pytest.mark.parametrize("twilio_status", ["sent", "delivered", "read", "queued"])
def test_an_error_code_on_a_status_that_is_not_a_failure_is_not_a_failure(twilio_status):
    [event] = parse(callback(twilio_status, ErrorCode="30032", ErrorMessage="warning"))
    assert not isinstance(event, StatusUpdate) or (event.status, event.error_code) == (twilio_status, None)


@pytest.mark.parametrize(("code", "message", "title"), [
    ("30003", "", "unreachable destination handset"), ("30008", "", "unknown delivery error"),
    ("63016", "", "outside the WhatsApp 24-hour window: only an approved template can be sent"),
    ("30450", "Message delivery blocked", "Message delivery blocked"), ("99999", "", None), ("", "", None),
])
def test_the_error_code_of_a_failure_is_kept_with_what_it_means(code, message, title):
    [event] = parse(callback("undelivered", ErrorCode=code, ErrorMessage=message))
    assert (event.status, event.error_code, event.error_title) == ("failed", code or None, title)


def test_an_inbound_message_is_told_apart_by_its_fields_not_its_status():
    # Twilio's inbound form: SmsStatus=received with Body; the same with MessageStatus=received is still a message
    [plain] = parse(INBOUND)
    [with_status] = parse(INBOUND | {"MessageStatus": "received"})
    assert isinstance(plain, InboundMessage) and isinstance(with_status, InboundMessage)
    assert plain.text == with_status.text == "Where is my order?"
    # a callback that repeats a Body is still a callback
    [receipt] = parse(callback("delivered", Body="Your order shipped."))
    assert isinstance(receipt, StatusUpdate) and receipt.status == "delivered"


@pytest.mark.parametrize("params", [INBOUND | {"Body": ""}, INBOUND | {"Body": "   "},
                                    INBOUND | {"Body": "", "MessageType": "reaction"}])
def test_an_inbound_message_with_nothing_to_show_says_so(params):
    [msg] = parse(params)
    assert msg.summary and msg.summary.startswith("Message without text")
    assert ("reaction" in msg.summary) is (params.get("MessageType") == "reaction")


@pytest.mark.parametrize("params", [{}, {"Body": "hi", "From": "+15551234567", "To": "+15550001111"},
                                    {"MessageSid": "SM1", "Body": "hi", "To": "+15550001111"},
                                    {"MessageSid": "SM1", "Body": "hi", "From": "+15551234567"},
                                    {"MessageSid": "", "MessageStatus": "delivered"}])
def test_malformed_forms_are_refused(params):
    with pytest.raises(MalformedPayload):
        parse(params)


def test_the_acknowledgement_is_empty_twiml():
    reply = SmsChannel().acknowledge()
    assert (reply.status, reply.content_type) == (200, "text/xml")
    assert reply.body == '<?xml version="1.0" encoding="UTF-8"?><Response/>'


# -- hostile input -------------------------------------------------------------------------------------------

twilio_names = st.sampled_from(["MessageSid", "SmsSid", "SmsMessageSid", "MessageStatus", "SmsStatus", "From", "To",
                                "Body", "NumMedia", "MediaUrl0", "MediaContentType0", "MediaUrl9", "Latitude",
                                "Longitude", "ButtonPayload", "ErrorCode", "ProfileName"]) | st.text(max_size=12)
twilio_values = st.sampled_from(["", "received", "delivered", "undelivered", "queued", "nan", "inf", "-91", "1e999",
                                 "whatsapp:", "whatsapp:+15551234567", "+15551234567", "SM1", "image/jpeg"]) | st.text()
hostile_forms = st.dictionaries(twilio_names, st.lists(twilio_values, min_size=1, max_size=3), max_size=10)


def assert_contained(request: WebhookRequest) -> None:
    try:
        events = SmsChannel().parse(request)
    except MalformedPayload:
        return
    for event in events:
        event.model_dump_json()


@settings(max_examples=150, deadline=None)
@given(hostile_forms)
def test_arbitrary_forms_never_escape(form):
    assert_contained(WebhookRequest(method="POST", path=PATH, headers={}, query={}, body=b"x", form=form))


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["application/x-www-form-urlencoded", "application/json", "", "text/xml"]))
def test_arbitrary_bodies_never_escape(body, content_type):
    request = WebhookRequest(method="POST", path=PATH, headers={"content-type": content_type}, query={}, body=body)
    assert_contained(request)
    with pytest.raises(SignatureError):
        SmsChannel().verify(request)


@settings(max_examples=150, deadline=None)
@given(hostile_forms, st.text(max_size=40), st.text(max_size=40), st.text(max_size=40) | st.none())
def test_verify_only_ever_refuses(form, path, raw_query, signature):
    headers = {} if signature is None else {"x-twilio-signature": signature}
    request = WebhookRequest(method="POST", path=path, headers=headers, query={}, body=b"", raw_query=raw_query, form=form)
    with pytest.raises(SignatureError):
        SmsChannel().verify(request)


def test_a_valid_signature_over_hostile_values_still_verifies():
    SmsChannel().verify(signed({"MessageSid": "SM1", "Body": "\u0000\ud7ff\U0001f600 & = % +", "From": "+1", "To": "+2"}))


# -- send -------------------------------------------------------------------------------------------------------

class Response:
    def __init__(self, status: int, payload: Any = None, headers: dict[str, str] | None = None, content: bytes = b""):
        self.status_code = status
        self._payload = payload
        self.headers = headers or {}
        self._content = content

    def json(self) -> Any:
        if isinstance(self._payload, bytes):
            raise ValueError("not JSON")
        return self._payload

    def iter_content(self, size: int):
        for start in range(0, len(self._content), 4):
            yield self._content[start:start + 4]


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch):
    recorder: dict[str, list[Any]] = {"made": [], "answers": []}

    def fake(method: str, url: str, **kwargs: Any) -> Any:
        recorder["made"].append((method, url, kwargs))
        answer = recorder["answers"].pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(http, "request", fake)
    return recorder


def send_request(**extra: Any) -> SendRequest:
    fields: dict[str, Any] = {"channel": "sms", "inbox_id": "+15550001111", "recipient": "+15551234567",
                              "text": "Your order shipped."}
    return SendRequest(**(fields | extra))


def created(sid: str = "SMout9") -> Response:
    return Response(201, {"sid": sid, "status": "queued", "to": "+15551234567", "from": "+15550001111",
                          "body": "Your order shipped.", "error_code": None})


def test_send_posts_the_form_with_basic_auth(calls):
    calls["answers"].append(created())
    result = SmsChannel().send(send_request())
    assert result.provider_message_id == "SMout9"
    [(method, url, kwargs)] = calls["made"]
    assert (method, url) == ("POST", f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json")
    assert kwargs["data"] == {"To": "+15551234567", "From": "+15550001111", "Body": "Your order shipped.",
                              "StatusCallback": "https://hooks.example.com/webhooks/sms"}
    assert kwargs["auth"] == (SID, TOKEN)
    assert "json" not in kwargs


def test_send_over_whatsapp_and_from_a_messaging_service(calls):
    calls["answers"] += [created(), created()]
    SmsChannel().send(send_request(inbox_id="whatsapp:+15550001111", recipient="whatsapp:+15551234567"))
    SmsChannel().send(send_request(inbox_id="MG00000000000000000000000000000001"))
    first, second = (kwargs["data"] for _, _, kwargs in calls["made"])
    assert (first["To"], first["From"]) == ("whatsapp:+15551234567", "whatsapp:+15550001111")
    assert second["MessagingServiceSid"] == "MG00000000000000000000000000000001" and "From" not in second


@pytest.mark.parametrize("text", ["x" * 1601, "", "  "])
def test_text_twilio_would_refuse_is_not_sent(calls, text):
    with pytest.raises(PermanentSendError):
        SmsChannel().send(send_request(text=text))
    assert calls["made"] == []


def test_1600_characters_are_sent(calls):
    calls["answers"].append(created())
    SmsChannel().send(send_request(text="ü" * 1600))
    assert len(calls["made"]) == 1


def twilio_error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(status, {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                             "status": status}, headers)


@pytest.mark.parametrize("answer", [
    twilio_error(429, 20429, "Too Many Requests", {"Retry-After": "3"}),
    twilio_error(400, 20429, "Too Many Requests", {"Retry-After": "3"}),
    twilio_error(429, 63018, "Rate limit exceeded for Channel", {"Retry-After": "3"}),
])
def test_throttling_is_retried(calls, answer):
    calls["answers"].append(answer)
    with pytest.raises(RetryableSendError) as caught:
        SmsChannel().send(send_request())
    assert caught.value.retry_after == 3


@pytest.mark.parametrize("answer", [Response(503, b"<html>unavailable</html>"), twilio_error(500, 20500, "Internal")])
def test_provider_trouble_is_retried(calls, answer):
    calls["answers"].append(answer)
    with pytest.raises(RetryableSendError):
        SmsChannel().send(send_request())


@pytest.mark.parametrize("answer", [Response(201, {"status": "queued"}), Response(201, b"garbage")])
def test_an_accepted_send_without_a_sid_is_never_sent_again(calls, answer):
    # Twilio took it (2xx): a retry could text the customer twice, so the agent is told the outcome is unknown
    calls["answers"].append(answer)
    with pytest.raises(PermanentSendError) as caught:
        SmsChannel().send(send_request())
    assert "delivery unknown" in caught.value.message


@pytest.mark.parametrize(("code", "expected"), [
    (21211, "invalid 'To' phone number"),
    (21610, "opted out"),
    (21408, "region"),
    (21612, "cannot be reached"),
    (21614, "not a mobile number"),
    (63016, "24-hour window"),
])
def test_refusals_are_permanent_with_code_and_reason(calls, code, expected):
    calls["answers"].append(twilio_error(400, code, "The 'To' number +15551234567 is not valid."))
    with pytest.raises(PermanentSendError) as caught:
        SmsChannel().send(send_request())
    assert f"Twilio error {code}" in caught.value.message and expected in caught.value.message
    assert "+15551234567" not in caught.value.message  # the reason we know, not Twilio's text with the number
    assert caught.value.recipient_blocked is (code == 21610)


def test_an_unknown_refusal_keeps_twilio_s_words(calls):
    calls["answers"].append(twilio_error(400, 21602, "Message body is required."))
    with pytest.raises(PermanentSendError) as caught:
        SmsChannel().send(send_request())
    assert caught.value.message == "Twilio error 21602: Message body is required."


def test_sending_without_credentials_is_permanent(calls, settings_env):
    settings_env(TWILIO_ACCOUNT_SID="")
    with pytest.raises(PermanentSendError):
        SmsChannel().send(send_request())
    assert calls["made"] == []


# -- media -------------------------------------------------------------------------------------------------------

MEDIA_URL = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages/MM1/Media/ME1"
BASIC = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """http.download replaced: what fetch_media asks of it."""
    made: list[tuple[str, dict[str, Any]]] = []

    def fake(url: str, **kwargs: Any) -> http.Download:
        made.append((url, kwargs))
        return http.Download(b"\x89PNG....", "image/png")

    monkeypatch.setattr(http, "download", fake)
    return made


def test_fetch_media_goes_through_the_guarded_download(downloads):
    content = SmsChannel().fetch_media(Attachment(kind="image", url=MEDIA_URL))
    assert content.data == b"\x89PNG...." and content.mime_type == "image/png"
    assert content.sha256 == hashlib.sha256(b"\x89PNG....").hexdigest()
    [(url, kwargs)] = downloads
    assert url == MEDIA_URL
    assert kwargs["allowed_hosts"] == http.TWILIO_MEDIA_HOSTS
    assert kwargs["headers"] == {"Authorization": BASIC} and tuple(kwargs["credential_hosts"]) == ("api.twilio.com",)
    assert kwargs["api_base_url"] == "https://api.twilio.com"


def test_the_type_twilio_announced_wins(downloads):
    content = SmsChannel().fetch_media(Attachment(kind="image", url=MEDIA_URL, mime_type="image/jpeg"))
    assert content.mime_type == "image/jpeg"


def test_an_attachment_without_url_cannot_be_fetched(downloads):
    with pytest.raises(MediaError):
        SmsChannel().fetch_media(Attachment(kind="image"))
    assert downloads == []


def test_without_credentials_media_is_a_media_error(downloads, settings_env):
    settings_env(TWILIO_AUTH_TOKEN="")
    with pytest.raises(MediaError):
        SmsChannel().fetch_media(Attachment(kind="image", url=MEDIA_URL))
    assert downloads == []


# Through the real download, against a local TLS server that passes for Twilio's hosts (media_server.py).

@pytest.mark.parametrize("url", [
    "https://evil.example\\@api.twilio.com/2010-04-01/x",  # the backslash trick
    "https://evil.example\\.api.twilio.com/x",
    "https://api.twilio.com@evil.example/2010-04-01/x",  # user info: the host is evil.example
    "https://AC1:pw@api.twilio.com/x",
    "https://api.twilio.com%40evil.example/x",
    "https://api\u3002twilio\u3002com/x",  # unicode dots
    "https://api\uff0etwilio\uff0ecom/x",
    "https://54.172.60.1/2010-04-01/x",  # an IP literal
    "https://[::ffff:36ac:3c01]/x",
    "http://api.twilio.com/2010-04-01/x",  # no TLS: the credentials in clear
    "https://api.twilio.com.evil.example/x",
    "https://evil.example/x",
    "https://media.example.net/ME1",
    "https://twilio.com.evil.net/x",
    "http://127.0.0.1:9000/_sandbox/twilio/media/ME1/x",  # loopback, not the configured API
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
])
def test_a_crafted_media_url_never_gets_the_credentials_or_a_connection(media_server, url):
    with pytest.raises(http.UnsafeUrl):
        SmsChannel().fetch_media(Attachment(kind="image", url=url))
    assert media_server.seen == [] and media_server.connected == []


def test_the_credentials_go_to_twilio_only_and_not_on_to_the_cdn(media_server):
    path = MEDIA_URL.removeprefix("https://api.twilio.com")
    media_server.answer(path, 307, {"Location": "https://mms.twiliocdn.com/AC1/e7c2?Expires=1&Signature=s"})
    media_server.answer("/AC1/e7c2?Expires=1&Signature=s", 200, {"Content-Type": "image/jpeg"}, b"jpeg bytes")
    content = SmsChannel().fetch_media(Attachment(kind="image", url=MEDIA_URL))
    assert (content.data, content.mime_type) == (b"jpeg bytes", "image/jpeg")
    api, cdn = media_server.seen
    assert (api.host, api.authorization) == ("api.twilio.com", BASIC)
    assert (cdn.host, cdn.authorization) == ("mms.twiliocdn.com", None)


def test_a_redirect_to_another_host_is_refused_before_the_credentials_could_follow(media_server):
    path = MEDIA_URL.removeprefix("https://api.twilio.com")
    media_server.answer(path, 302, {"Location": "https://evil.example/collect"})
    with pytest.raises(http.UnsafeUrl):
        SmsChannel().fetch_media(Attachment(kind="image", url=MEDIA_URL))
    assert [s.host for s in media_server.seen] == ["api.twilio.com"]


def test_media_from_the_configured_sandbox_is_fetched_as_configured(settings_env, monkeypatch):
    # The local stack points TWILIO_API_BASE_URL at its sandbox on loopback: configuration is trusted
    settings_env(TWILIO_API_BASE_URL="http://127.0.0.1:9000/_sandbox/twilio")
    seen: list[tuple[Any, str]] = []

    class Pool:
        def urlopen(self, method, target, **kwargs):
            seen.append((target, kwargs["headers"].get("Authorization")))
            raise OSError("no server in this test")

        def close(self):
            pass

    monkeypatch.setattr(http, "_pool", lambda hop, address: Pool())
    with pytest.raises(MediaError) as caught:
        SmsChannel().fetch_media(Attachment(kind="image", url="http://127.0.0.1:9000/_sandbox/twilio/media/ME1/x"))
    assert not isinstance(caught.value, http.UnsafeUrl)
    assert seen == [("/_sandbox/twilio/media/ME1/x", BASIC)]


def test_media_over_the_limit_is_refused(media_server, settings_env):
    settings_env(MEDIA_MAX_BYTES="10")
    media_server.answer(MEDIA_URL.removeprefix("https://api.twilio.com"), 200, {}, b"x" * 11)
    with pytest.raises(MediaError, match="larger than"):
        SmsChannel().fetch_media(Attachment(kind="image", url=MEDIA_URL))


@pytest.mark.parametrize("status", [404, 401])
def test_failed_downloads_are_media_errors(media_server, status):
    media_server.answer(MEDIA_URL.removeprefix("https://api.twilio.com"), status, {}, json.dumps({"code": 20404}).encode())
    with pytest.raises(MediaError) as caught:
        SmsChannel().fetch_media(Attachment(kind="image", url=MEDIA_URL))
    assert TOKEN not in caught.value.message


# -- ids in URLs ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sid", ["AC1/../../Accounts/ACother", "AC1?x=1", "AC1#frag", "AC1%2F..", "AC 1"])
def test_the_account_sid_is_escaped_in_the_send_url(calls, settings_env, sid):
    settings_env(TWILIO_ACCOUNT_SID=sid)
    calls["answers"].append(created())
    SmsChannel().send(send_request())
    [(_, url, kwargs)] = calls["made"]
    path = url.removeprefix("https://api.twilio.com/2010-04-01/Accounts/")
    assert path.endswith("/Messages.json") and path.count("/") == 1 and not set(path) & set("?# ")
    assert kwargs["auth"][0] == sid

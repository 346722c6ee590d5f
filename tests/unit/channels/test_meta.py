"""MetaChannel: the GET handshake, X-Hub-Signature-256 on the raw bytes, JSON loading and Graph error mapping."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
import requests

from switchboard.channels.meta import MetaChannel
from switchboard.errors import Forbidden, MalformedPayload, PermanentSendError, RetryableSendError, SignatureError
from tests.support import whatsapp_payloads as wa
from tests.unit.channels import test_messenger

SDK_VECTOR = "0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914"  # key "secret", msg "test"


class Meta(MetaChannel):
    """The Meta family's shared part alone (verify, handshake, Graph errors); the rest is each channel's."""

    name = "meta"

    def parse(self, request):
        raise NotImplementedError

    def send(self, request):
        raise NotImplementedError

    def fetch_media(self, attachment):
        raise NotImplementedError

    def _auth(self):
        return {"Authorization": "Bearer t"}


@pytest.fixture
def channel() -> Meta:
    return Meta()


def graph_response(status: int, payload: Any = None, *, raw: bytes | None = None,
                   headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = raw if raw is not None else json.dumps(payload).encode()
    response.headers.update(headers or {})
    return response


def graph_failure(code: Any, status: int = 400, message: str = "Some Graph message", **extra: Any) -> requests.Response:
    return graph_response(status, {"error": {"message": message, "type": "OAuthException", "code": code,
                                             "fbtrace_id": "AbCdEf", **extra}})


# -- handshake ----------------------------------------------------------------------------------


@pytest.mark.parametrize("challenge", ["1158201444", "a-b_c.~ 0", "ä€"])
def test_handshake_echoes_the_challenge_exactly(channel: Meta, challenge: str) -> None:
    reply = channel.handshake(wa.handshake(wa.subscribe_query(challenge=challenge)))

    assert (reply.status, reply.body, reply.content_type) == (200, challenge, "text/plain")


@pytest.mark.parametrize("query", [
    pytest.param(wa.subscribe_query(token="wrong-token"), id="wrong token"),
    pytest.param(wa.subscribe_query(token="test-verify-token "), id="token with trailing space"),
    pytest.param(wa.subscribe_query(token=""), id="empty token"),
    pytest.param({"hub.challenge": "1", "hub.verify_token": "test-verify-token"}, id="missing mode"),
    pytest.param({**wa.subscribe_query(), "hub.mode": "unsubscribe"}, id="other mode"),
    pytest.param({"hub.mode": "subscribe", "hub.verify_token": "test-verify-token"}, id="missing challenge"),
    pytest.param({**wa.subscribe_query(), "hub.challenge": ""}, id="empty challenge"),
    pytest.param({"hub.mode": "subscribe", "hub.challenge": "1"}, id="missing token"),
    pytest.param({}, id="no query"),
])
def test_handshake_refuses_anything_else_with_403(channel: Meta, query: dict[str, str]) -> None:
    with pytest.raises(Forbidden) as refused:
        channel.handshake(wa.handshake(query))

    assert refused.value.status == 403


def test_handshake_is_refused_when_no_verify_token_is_configured(channel: Meta, settings_env) -> None:
    settings_env(META_VERIFY_TOKEN="")

    with pytest.raises(Forbidden):
        channel.handshake(wa.handshake(wa.subscribe_query(token="")))


# -- verify ---------------------------------------------------------------------------------------


def test_verify_accepts_a_correct_signature(channel: Meta) -> None:
    channel.verify(wa.webhook(wa.inbound(wa.text())))  # no exception


def test_verify_checks_the_documented_self_check_vector(channel: Meta, settings_env) -> None:
    assert hmac.new(b"secret", b"test", hashlib.sha256).hexdigest() == SDK_VECTOR
    settings_env(META_APP_SECRET="secret")

    channel.verify(wa.webhook(raw=b"test", signature=f"sha256={SDK_VECTOR}"))
    with pytest.raises(SignatureError):
        channel.verify(wa.webhook(raw=b"test ", signature=f"sha256={SDK_VECTOR}"))


def test_verify_accepts_upper_case_hex(channel: Meta) -> None:
    # Hex is case-insensitive; Meta sends lower case, and accepting either weakens nothing.
    raw = wa.body(wa.inbound(wa.text()))
    digest = wa.sign(raw).removeprefix("sha256=")

    channel.verify(wa.webhook(raw=raw, signature=f"sha256={digest.upper()}"))


def test_verify_refuses_a_signature_made_with_another_secret(channel: Meta) -> None:
    raw = wa.body(wa.inbound(wa.text()))

    with pytest.raises(SignatureError) as refused:
        channel.verify(wa.webhook(raw=raw, signature=wa.sign(raw, "another-app-secret")))

    assert refused.value.status == 401


def test_verify_refuses_a_tampered_body(channel: Meta) -> None:
    signed = wa.body(wa.inbound(wa.text("pay 10")))
    tampered = wa.body(wa.inbound(wa.text("pay 99")))

    with pytest.raises(SignatureError):
        channel.verify(wa.webhook(raw=tampered, signature=wa.sign(signed)))


@pytest.mark.parametrize("headers", [
    pytest.param({}, id="no header"),
    pytest.param({"x-hub-signature-256": ""}, id="empty header"),
    pytest.param({"x-hub-signature-256": "sha256="}, id="prefix only"),
    pytest.param({"x-hub-signature-256": "garbage"}, id="garbage"),
])
def test_verify_refuses_a_missing_or_empty_signature(channel: Meta, headers: dict[str, str]) -> None:
    request = wa.webhook(wa.inbound(wa.text()), signature=None, headers=headers)

    with pytest.raises(SignatureError):
        channel.verify(request)


def test_verify_refuses_a_correct_digest_without_the_sha256_prefix(channel: Meta) -> None:
    raw = wa.body(wa.inbound(wa.text()))

    with pytest.raises(SignatureError):
        channel.verify(wa.webhook(raw=raw, signature=wa.sign(raw).removeprefix("sha256=")))


def test_verify_ignores_the_legacy_sha1_header(channel: Meta) -> None:
    raw = wa.body(wa.inbound(wa.text()))
    sha1 = "sha1=" + hmac.new(wa.APP_SECRET.encode(), raw, hashlib.sha1).hexdigest()

    with pytest.raises(SignatureError):
        channel.verify(wa.webhook(raw=raw, signature=None, headers={"x-hub-signature": sha1}))


def test_verify_refuses_a_sha256_digest_sent_in_the_sha1_header(channel: Meta) -> None:
    raw = wa.body(wa.inbound(wa.text()))

    with pytest.raises(SignatureError):
        channel.verify(wa.webhook(raw=raw, signature=None, headers={"x-hub-signature": wa.sign(raw)}))


def test_verify_handles_an_empty_body(channel: Meta) -> None:
    channel.verify(wa.webhook(raw=b""))
    with pytest.raises(SignatureError):
        channel.verify(wa.webhook(raw=b"", signature=wa.sign(b"{}")))


def test_verify_uses_the_raw_bytes_with_their_unicode_escapes(channel: Meta) -> None:
    # Given the bytes Meta sent, with "ä" escaped as \u00e4, signed as sent
    raw = b'{"object":"whatsapp_business_account","entry":[],"name":"J\\u00e4rvi"}'
    signature = wa.sign(raw)
    # and the same JSON as a re-serialization would produce it
    decoded = json.dumps(json.loads(raw), ensure_ascii=False, separators=(",", ":")).encode()
    assert json.loads(decoded) == json.loads(raw) and decoded != raw

    channel.verify(wa.webhook(raw=raw, signature=signature))
    with pytest.raises(SignatureError):
        channel.verify(wa.webhook(raw=decoded, signature=signature))
    with pytest.raises(SignatureError):
        channel.verify(wa.webhook(raw=raw, signature=wa.sign(decoded)))


def test_verify_refuses_everything_when_no_app_secret_is_configured(channel: Meta, settings_env) -> None:
    settings_env(META_APP_SECRET="")
    raw = wa.body(wa.inbound(wa.text()))

    for signature in (wa.sign(raw, ""), wa.sign(raw, wa.APP_SECRET)):
        with pytest.raises(SignatureError):
            channel.verify(wa.webhook(raw=raw, signature=signature))


def test_verify_reads_a_secret_changed_in_settings(channel: Meta, settings_env) -> None:
    settings_env(META_APP_SECRET="rotated-secret")
    raw = wa.body(wa.inbound(wa.text()))

    channel.verify(wa.webhook(raw=raw, signature=wa.sign(raw, "rotated-secret")))
    with pytest.raises(SignatureError):
        channel.verify(wa.webhook(raw=raw, signature=wa.sign(raw, wa.APP_SECRET)))


def test_verify_survives_a_non_ascii_signature_header(channel: Meta) -> None:
    with pytest.raises(SignatureError):
        channel.verify(wa.webhook(raw=b"{}", signature="sha256=\u00e4\u00e4"))


# -- load_json ----------------------------------------------------------------------------------


def test_load_json_returns_the_object(channel: Meta) -> None:
    assert channel.load_json(b'{"object":"page","entry":[]}') == {"object": "page", "entry": []}


@pytest.mark.parametrize("raw", [
    pytest.param(b"", id="empty"),
    pytest.param(b"not json", id="not json"),
    pytest.param(b"[]", id="array"),
    pytest.param(b'"a string"', id="string"),
    pytest.param(b"null", id="null"),
    pytest.param(b"42", id="number"),
    pytest.param(b'{"a": "\xff\xfe\xfa"}', id="invalid utf-8"),
    pytest.param(b"[" * 200_000 + b"]" * 200_000, id="deeply nested"),
    pytest.param(b'{"a":' * 200_000 + b"1" + b"}" * 200_000, id="deeply nested objects"),
    pytest.param(b'{"n": ' + b"9" * 5000 + b"}", id="integer over the digit limit"),
])
def test_load_json_refuses_what_is_not_a_json_object(channel: Meta, raw: bytes) -> None:
    with pytest.raises(MalformedPayload):
        channel.load_json(raw)


# -- graph_error --------------------------------------------------------------------------------


@pytest.mark.parametrize(("response", "expected"), [
    pytest.param(graph_failure(131047), PermanentSendError, id="131047 outside the window"),
    pytest.param(graph_failure(131026), PermanentSendError, id="131026 undeliverable"),
    pytest.param(graph_failure(190, status=401), PermanentSendError, id="190 token expired"),
    pytest.param(graph_failure(100), PermanentSendError, id="100 invalid parameter"),
    pytest.param(graph_failure(130429), RetryableSendError, id="130429 throughput"),
    pytest.param(graph_failure(131056), RetryableSendError, id="131056 pair rate limit"),
    pytest.param(graph_failure(131057), RetryableSendError, id="131057 maintenance"),
    pytest.param(graph_failure(4, status=403), RetryableSendError, id="4 app rate limit"),
    pytest.param(graph_failure(80007), RetryableSendError, id="80007 account rate limit"),
    pytest.param(graph_failure(100, status=429), RetryableSendError, id="HTTP 429"),
    pytest.param(graph_failure(1, status=500), RetryableSendError, id="HTTP 500"),
    pytest.param(graph_response(502, raw=b"<html>Bad Gateway</html>"), RetryableSendError, id="HTML 502"),
    pytest.param(graph_response(404, raw=b"Not found"), PermanentSendError, id="plain-text 404"),
])
def test_graph_error_maps_codes_and_statuses(channel: Meta, response: requests.Response, expected: type) -> None:
    with pytest.raises(expected):
        channel.graph_error(response)


@pytest.mark.parametrize("code", [131047, 131026, 130429])
def test_graph_error_names_the_code_and_the_message(channel: Meta, code: int) -> None:
    with pytest.raises((PermanentSendError, RetryableSendError)) as failed:
        channel.graph_error(graph_failure(code, message=f"(#{code}) Something went wrong"))

    assert str(code) in failed.value.message
    assert failed.value.message.startswith(f"meta error {code}: ")


def test_graph_error_without_a_code_names_the_http_status(channel: Meta) -> None:
    with pytest.raises(PermanentSendError) as failed:
        channel.graph_error(graph_response(400, {"unexpected": True}))

    assert failed.value.message == "meta HTTP 400"


def test_graph_error_accepts_a_code_given_as_a_string(channel: Meta) -> None:
    with pytest.raises(RetryableSendError):
        channel.graph_error(graph_failure("130429"))


@pytest.mark.parametrize("payload", [
    pytest.param([1, 2], id="array"),
    pytest.param("error", id="string"),
    pytest.param(None, id="null"),
    pytest.param({"error": "boom"}, id="error is a string"),
    pytest.param({"error": {"code": [130429], "message": {"x": 1}}}, id="code is a list"),
    pytest.param({"error": {"code": True}}, id="code is a boolean"),
    pytest.param({"error": {"code": 1.5}}, id="code is a float"),
])
def test_graph_error_survives_odd_error_bodies(channel: Meta, payload: Any) -> None:
    with pytest.raises(PermanentSendError) as failed:
        channel.graph_error(graph_response(400, payload))

    assert failed.value.message == "meta HTTP 400"


@pytest.mark.parametrize(("header", "expected"), [("30", 30.0), ("2.5", 2.5), ("soon", None), (None, None)])
def test_graph_error_passes_retry_after_on(channel: Meta, header: str | None, expected: float | None) -> None:
    headers = {"Retry-After": header} if header else {}

    with pytest.raises(RetryableSendError) as failed:
        channel.graph_error(graph_response(429, {"error": {"code": 4}}, headers=headers))

    assert failed.value.retry_after == expected


# -- Graph sends and uploads (graph_send, graph_upload: what WhatsApp and Messenger share) --------------------------
calls = test_messenger.calls  # a fixture: the HTTP session replaced, each call recorded, answered with calls.answer


def upload(channel: Meta, id_key: str = "id") -> str:
    return channel.graph_upload("https://graph.test/1/media", {"type": "image/png"},
                                {"file": ("a.png", b"png", "image/png")}, id_key=id_key, what="media upload",
                                id_name="a media id")


def test_graph_send_posts_the_body_and_returns_the_id_at_its_path(channel: Meta, calls: Any) -> None:
    calls.answer = graph_response(200, {"messages": [{"id": "wamid.1"}]})

    result = channel.graph_send("https://graph.test/1/messages", {"a": 1}, "messages", 0, "id")

    assert result.provider_message_id == "wamid.1"
    assert calls == [{"method": "POST", "url": "https://graph.test/1/messages", "json": {"a": 1},
                      "headers": {"Authorization": "Bearer t"}}]


@pytest.mark.parametrize("payload", [{}, {"messages": []}, {"messages": [{"id": ""}]}, ["wamid.1"], "x"])
def test_graph_send_accepted_without_an_id_is_permanent_not_retried(channel: Meta, calls: Any,
                                                                    payload: Any) -> None:
    calls.answer = graph_response(200, payload)

    with pytest.raises(PermanentSendError, match="delivery unknown"):
        channel.graph_send("https://graph.test/1/messages", {}, "messages", 0, "id")


def test_graph_send_and_upload_raise_what_the_graph_error_means(channel: Meta, calls: Any) -> None:
    calls.answer = graph_failure(130429)

    with pytest.raises(RetryableSendError, match="130429"):
        channel.graph_send("https://graph.test/1/messages", {}, "message_id")
    with pytest.raises(RetryableSendError, match="130429"):
        upload(channel)


def test_graph_upload_posts_the_form_and_returns_the_id(channel: Meta, calls: Any) -> None:
    calls.answer = graph_response(200, {"id": "77"})

    assert upload(channel) == "77"
    assert calls[0]["data"] == {"type": "image/png"} and calls[0]["files"] == {"file": ("a.png", b"png", "image/png")}


def test_graph_upload_without_an_id_is_tried_again(channel: Meta, calls: Any) -> None:
    calls.answer = graph_response(200, {"attachment": "no id"})

    with pytest.raises(RetryableSendError) as failed:
        upload(channel)

    assert failed.value.message == "the Graph API took the media upload without a media id"


def test_graph_upload_refused_before_an_answer_is_tried_again(channel: Meta, calls: Any) -> None:
    # An upload sends nothing to the customer: even a permanent failure of the call itself is retried.
    calls.answer = PermanentSendError("the provider refused the request")

    with pytest.raises(RetryableSendError) as failed:
        upload(channel)

    assert failed.value.message == "media upload: the provider refused the request"

"""Hostile input to the email channel: SES receipt events of any shape, and raw MIME of any shape (headers, encodings,
charsets, nesting, invalid UTF-8, huge values). An event is counted, never an exception; a message is parsed into
a storable one, refused as malformed, or ignored (None), never anything else."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from switchboard.channels.email import EmailChannel
from switchboard.errors import MalformedPayload
from switchboard.models import InboundEnvelope, InboundMessage
from switchboard.services import email_inbound

SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])
OUTCOMES = email_inbound.OUTCOMES  # quarantined, refused, malformed, dropped, ignored, and the later ones

# -- raw MIME ------------------------------------------------------------------------------------------------------
header_text = st.one_of(
    st.text(max_size=40).map(lambda t: t.replace("\r", " ").replace("\n", " ")),
    st.sampled_from(["=?utf-8?B?SGVsbG8=?=", "=?bogus-charset?Q?x=41?=", "=?utf-8?B?!!!?=", "=?utf-8?Q?=FF=FE?=",
                     "=?iso-8859-1?q?caf=E9?=", "(comment (nested) ", "\"unterminated", "<>", ";;;"]),
    st.just(5000).map(lambda n: "a" * n),  # built lazily: a literal this size would make Hypothesis reprs huge
)
addresses = st.one_of(
    st.builds(lambda name, local, domain: f"{name} <{local}@{domain}>", header_text, st.text(max_size=12),
              st.text(max_size=12)),
    st.sampled_from(["ann@example.com", "Ann <ann@example.com>", "<>", "@", "a@", "@b", "undisclosed-recipients:;",
                     "=?utf-8?B?QW5u?= <ann@example.com>", "ann@example.com, bob@example.com", "\"\\\" <x@y>"]),
    header_text)
charsets = st.sampled_from(["utf-8", "us-ascii", "iso-8859-1", "windows-1252", "koi8-r", "shift_jis", "utf-16",
                            "base64", "x-unknown", "", "\"utf-8\""])
encodings = st.sampled_from(["7bit", "8bit", "binary", "base64", "quoted-printable", "x-uuencode", "garbage", ""])
bodies = st.one_of(st.binary(max_size=200), st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
                   st.sampled_from([b"SGVsbG8gd29ybGQ=", b"!!!not*base64===", b"caf=E9=\r\n", b"<p>hi<br>there",
                                    b"<!--" * 50, b"\x00\x1b\xff\xfe"]),
                   st.just(60_000).map(lambda n: b"x" * n))


def leaf_part(content_type: str, charset: str, encoding: str, body: bytes, filename: str | None) -> bytes:
    headers = [f"Content-Type: {content_type}" + (f"; charset={charset}" if charset else "")]
    if encoding:
        headers.append(f"Content-Transfer-Encoding: {encoding}")
    if filename is not None:
        headers.append(f"Content-Disposition: attachment; filename=\"{filename}\"")
    return "\r\n".join(headers).encode("utf-8", "surrogatepass") + b"\r\n\r\n" + body


leaves = st.builds(leaf_part, st.sampled_from(["text/plain", "text/html", "application/pdf", "image/png",
                                               "message/rfc822", "text/x-unknown", "", "multipart/mixed"]),
                   charsets, encodings, bodies, st.none() | header_text)


def multipart(subtype: str, boundary: str, parts: list[bytes]) -> bytes:
    b = boundary.encode("utf-8", "surrogatepass")
    out = f"Content-Type: multipart/{subtype}; boundary=\"{boundary}\"".encode("utf-8", "surrogatepass") + b"\r\n\r\n"
    for part in parts:
        out += b"--" + b + b"\r\n" + part + b"\r\n"
    return out + b"--" + b + b"--\r\n"


parts = st.recursive(leaves, lambda children: st.builds(
    multipart, st.sampled_from(["mixed", "alternative", "related", "signed", "report"]),
    st.sampled_from(["b1", "=_x", "", "a" * 80, "é"]) | st.text(max_size=10), st.lists(children, max_size=3)),
    max_leaves=6)


def message(headers: list[tuple[str, str]], content: bytes) -> bytes:
    lines = b"".join(f"{name}: {value}".encode("utf-8", "surrogatepass") + b"\r\n" for name, value in headers)
    return lines + content  # the first part's own headers continue the message's header block


header_names = st.sampled_from(["From", "To", "Subject", "Message-ID", "In-Reply-To", "References", "Date",
                                "Reply-To", "Sender", "MIME-Version"]) | st.from_regex(r"X-[A-Za-z0-9-]{1,8}",
                                                                                        fullmatch=True)
raw_mime = st.one_of(
    st.builds(message, st.lists(st.tuples(header_names, header_text | addresses), max_size=8).map(
        lambda hs: [("From", "Ann <ann@example.com>"), *hs]), parts),
    st.builds(message, st.lists(st.tuples(header_names, header_text | addresses), max_size=8), parts),
    st.binary(max_size=300),
)
ours = st.just(["support@acme.test"])
recipients = st.one_of(ours, ours, ours, st.lists(st.text(max_size=20) | st.sampled_from(
    ["support@acme.test", "SUPPORT@ACME.TEST", "support+cv_0123abcd@acme.test", "a@b@c", ""]), max_size=3),
    st.none(), st.integers(), st.text(max_size=10))


@SETTINGS
@given(raw=raw_mime, to=recipients, ses_id=st.one_of(st.just("ses-0001"), st.just("ses-0001"), st.just(""),
                                                    st.text(max_size=20)))
def test_any_raw_message_is_a_storable_message_none_or_malformed(raw, to, ses_id):
    try:
        parsed = EmailChannel().parse_mime(raw, ses_message_id=ses_id, recipients=to, bucket="media-test")
    except MalformedPayload:
        event("malformed")
        return
    event("none" if parsed is None else "message")
    if parsed is None:
        return
    assert isinstance(parsed, InboundMessage) and parsed.channel == "email"
    envelope = InboundEnvelope(event=parsed, received_at="2026-01-01T00:00:00.000Z")
    assert InboundEnvelope.model_validate_json(envelope.model_dump_json()) == envelope  # it can be enqueued
    assert not any(c in parsed.text for c in "\x00\x1b") and len(parsed.text) <= 40_000
    assert parsed.identity == f"email:{parsed.sender_id}" and "@" in parsed.sender_id


# -- SES receipt events ----------------------------------------------------------------------------------------------
VOCABULARY = ["Records", "eventSource", "eventVersion", "ses", "mail", "receipt", "messageId", "destination",
              "recipients", "action", "objectKey", "bucketName", "spamVerdict", "virusVerdict", "status",
              "commonHeaders", "source", "timestamp"]
leaf = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
        | st.sampled_from(["aws:ses", "PASS", "FAIL", "GRAY", "fail", "support@acme.test", "ses-0001", "../../x",
                           "inbound-email/ses-0001", "\ud800"]))
json_value = st.recursive(leaf, lambda children: st.lists(children, max_size=3)
                          | st.dictionaries(st.sampled_from(VOCABULARY) | st.text(max_size=5), children, max_size=5),
                          max_leaves=25)


def ses_record(message_id: Any, recipients: Any, spam: Any, virus: Any, key: Any, source: Any) -> dict[str, Any]:
    return {"eventSource": source, "eventVersion": "1.0", "ses": {
        "mail": {"messageId": message_id, "destination": recipients, "source": "ann@example.com"},
        "receipt": {"recipients": recipients, "spamVerdict": {"status": spam}, "virusVerdict": {"status": virus},
                    "action": {"type": "Lambda", "objectKey": key}}}}


records = st.builds(ses_record, st.sampled_from(["ses-0001", "ses.0002"]) | json_value, recipients | json_value,
                    st.sampled_from(["PASS", "FAIL", "GRAY"]) | json_value, st.sampled_from(["PASS", "FAIL"]) | json_value,
                    st.none() | st.sampled_from(["inbound-email/ses-0001", "../etc/passwd", ""]) | json_value,
                    st.sampled_from(["aws:ses", "aws:ses", "aws:sns"]) | json_value)
good_records = st.builds(ses_record, st.just("ses-0001"), ours, st.sampled_from(["PASS", "GRAY"]), st.just("PASS"),
                         st.just("inbound-email/ses-0001"), st.just("aws:ses"))
events = st.one_of(st.builds(lambda rs: {"Records": rs}, st.lists(st.one_of(good_records, records, json_value),
                                                                      max_size=4)), json_value)


@pytest.fixture
def stubbed(monkeypatch):
    """S3, DynamoDB and the queue stand-ins: the raw object read is the drawn MIME; set-asides and ingests recorded."""
    seen: dict[str, list[Any]] = {"set_aside": [], "ingested": [], "raw": [b""]}
    monkeypatch.setattr(email_inbound, "_read", lambda bucket, key: seen["raw"][0])
    monkeypatch.setattr(email_inbound, "_set_aside", lambda bucket, key, target: seen["set_aside"].append(target))
    monkeypatch.setattr(email_inbound, "_first_delivery", lambda message: True)  # its claim is DynamoDB's
    monkeypatch.setattr("switchboard.services.mail_feedback.apply_report", lambda table, report: "backscatter")

    def fake_ingest(batch):
        for item in batch:
            json.loads(InboundEnvelope(event=item, received_at="2026-01-01T00:00:00.000Z").model_dump_json())
        seen["ingested"].extend(batch)
        return {"messages": len(batch), "duplicates": 0, "statuses": 0}

    monkeypatch.setattr("switchboard.services.ingest.ingest", fake_ingest)
    return seen


@SETTINGS
@given(ses_event=events, raw=raw_mime)
def test_any_ses_event_is_counted_never_raised(stubbed, ses_event, raw):
    stubbed["raw"][0], stubbed["set_aside"][:], stubbed["ingested"][:] = raw, [], []
    counts = email_inbound.handle_ses_event(ses_event)
    assert all(isinstance(v, int) and v >= 0 for v in counts.values())
    listed = ses_event.get("Records") if isinstance(ses_event, dict) else None
    assert counts["records"] == (len(listed) if isinstance(listed, list) else 0)
    # every record has exactly one outcome: handed to ingest, or set aside / ignored with its reason counted
    assert counts["records"] == sum(counts.get(o, 0) for o in OUTCOMES) + len(stubbed["ingested"])
    assert len(stubbed["set_aside"]) == sum(counts.get(o, 0) for o in email_inbound.SET_ASIDE)
    assert all(t.startswith(("quarantine/", "rejected/")) for t in stubbed["set_aside"])
    event(", ".join(f"{k} {v}" for k, v in counts.items() if v and k != "records") or "nothing")

"""What an agent reads of a mail: the best non-empty body, every header decoded whatever bytes it holds, and the
receiving server's authentication verdicts kept with it."""

from __future__ import annotations

import json
from email.message import EmailMessage

import pytest

from switchboard.channels.email import MAX_ENVELOPE_BYTES, EmailChannel
from switchboard.models import InboundEnvelope
from tests.unit.channels import mail_samples as samples

INBOX = samples.INBOX
SQS_FORBIDDEN = ("\ufffe", "\uffff")


def parse(raw: bytes, **kwargs):
    return EmailChannel().parse_mime(raw, ses_message_id="ses-0001", recipients=[INBOX], bucket="media-test", **kwargs)


def queued(message) -> str:
    """The inbound queue's message body, checked as SQS checks it."""
    body = InboundEnvelope(event=message, received_at="2026-01-01T00:00:00.000Z").model_dump_json(exclude_none=True)
    assert not any(c in body for c in SQS_FORBIDDEN) and len(body.encode()) <= 256 * 1024
    json.loads(body)
    return body


# -- the best non-empty body -----------------------------------------------------------------------------------------
def test_a_blank_text_part_gives_way_to_the_html_part():
    message = parse(samples.outlook_html_with_blank_text())

    assert message.text == "My charger stopped working after two days.\n\nOrder 42."
    assert message.attachments == []  # neither alternative is an attachment


@pytest.mark.parametrize("blank", ["", "   \n\t\n", "\u00a0\n", "\u200b", "\ufeff \r\n"])
def test_any_blank_text_part_gives_way(blank):
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@example.com", INBOX, "x"
    msg.set_content(blank or "\n")
    msg.add_alternative("<p>The words</p>", subtype="html")

    assert parse(msg.as_bytes()).text == "The words"


def test_a_non_empty_text_part_is_still_preferred():
    msg = EmailMessage()
    msg["From"], msg["To"] = "a@example.com", INBOX
    msg.set_content("Plain words")
    msg.add_alternative("<p>HTML words</p>", subtype="html")

    assert parse(msg.as_bytes()).text == "Plain words"


def test_without_plain_or_html_words_another_inline_text_part_is_read():
    raw = (b"From: a@example.com\r\nTo: support@acme.test\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n"
           b"--m\r\nContent-Type: text/plain\r\n\r\n \r\n--m\r\nContent-Type: text/html\r\n\r\n<p> </p>\r\n"
           b"--m\r\nContent-Type: text/enriched\r\n\r\n<bold>Please</bold> call me.\r\n"
           b"--m\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=log.txt\r\n\r\nnot this\r\n"
           b"--m--\r\n")
    message = parse(raw)

    assert message.text == "Please call me."
    assert [a.filename for a in message.attachments] == ["log.txt"]


def test_an_empty_message_is_stored_empty_not_refused():
    message = parse(b"From: a@example.com\r\nTo: support@acme.test\r\nSubject: (no words)\r\n\r\n\r\n")

    assert message is not None and message.text == "" and message.subject == "(no words)"


# -- 8-bit headers: one defensive path -------------------------------------------------------------------------------
def test_raw_8bit_headers_are_decoded_and_storable():
    message = parse(samples.eight_bit_headers())

    assert message.sender_name == "Jürgen Müller"
    assert message.subject.startswith("Rückerstattung für Bestellung")
    assert "\x00" not in message.subject
    assert message.message_ref == "<id-8bit@example.de>"  # the non-character SQS refuses is gone
    assert message.text == "Bitte erstatten Sie den Betrag."
    assert [a.filename for a in message.attachments] == ["Rechnung €.pdf"]
    queued(message)


@pytest.mark.parametrize("header", [
    b"Subject: \xef\xbf\xbf\xef\xbf\xbe",  # U+FFFF, U+FFFE: valid UTF-8 that SQS refuses
    b"Subject: \xed\xa0\x80 lone surrogate",
    b"From: \xff\xfe <a@example.com>",
    b"From: =?x-bogus?B?QW5u?= <a@example.com>",
    b"Subject: =?utf-8?B?77+/?=",  # an encoded U+FFFF
    b"Message-ID: <\x00\x01@x>",
    b"References: <\xc3\xa9@x> <\xff@y>",
    b"Content-Type: text/plain; charset=\"\xff\xfe\"",
    b"Content-Type: text/plain; charset*=utf-8''%ff%fe",
    b"Content-Disposition: attachment; filename*=bogus''%ff.pdf",
    b"Date: Tue, 01 Oct 2024 \xff",
    b"Auto-Submitted: \xff\xfe",
    b"List-Id: \xe9\x00",
])
def test_no_header_bytes_can_make_a_message_unstorable(header):
    raw = b"From: a@example.com\r\nTo: support@acme.test\r\n" + header + b"\r\n\r\nbody \xef\xbf\xbf text"
    message = parse(raw)

    assert message is not None
    body = queued(message)
    assert "\\ud8" not in body and "\\udc" not in body  # no lone surrogates escaped into the JSON either


def test_a_recipient_with_raw_bytes_is_not_an_inbox():
    assert EmailChannel().parse_mime(samples.plain(), ses_message_id="s", recipients=["sup\udcffport@acme.test"]) is None


def test_a_message_too_big_for_the_queue_has_its_text_cut_not_dropped():
    # 40,000 characters of 4-byte text and 100 attachments named in 3-byte characters: over SQS's 256 KiB as JSON
    parts = [b"--m\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + "😀".encode() * 40_000 + b"\r\n"]
    parts += [b"--m\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\""
              + ("€" * 250 + f"{i}.bin").encode() + b"\"\r\n\r\nx\r\n" for i in range(100)]
    raw = b"From: a@example.com\r\nTo: support@acme.test\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n"
    message = parse(raw + b"".join(parts) + b"--m--\r\n")

    assert len(queued(message).encode()) <= MAX_ENVELOPE_BYTES
    assert message.text.startswith("😀") and 20_000 < len(message.text) < 40_000
    assert len(message.attachments) == 100


# -- authentication verdicts -------------------------------------------------------------------------------------
def test_the_receipt_s_verdicts_are_kept_on_the_message():
    message = parse(samples.plain(), authentication={"spf": "FAIL", "dkim": "gray", "dmarc": "FAIL",
                                                     "dmarc_policy": "reject"})

    assert message.authentication == {"spf": "FAIL", "dkim": "GRAY", "dmarc": "FAIL", "dmarc_policy": "reject"}


def test_unknown_verdicts_are_left_out():
    assert parse(samples.plain(), authentication={"spf": "MAYBE", "dkim": None}).authentication is None
    assert parse(samples.plain()).authentication is None

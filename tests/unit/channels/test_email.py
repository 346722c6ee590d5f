"""Email channel: real MIME in (built with the email package, or by hand where the package would tidy it), SES v2 out."""

from __future__ import annotations

import email
import email.policy
import time
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber
from moto import mock_aws

from switchboard import aws, clock
from switchboard.channels import registry
from switchboard.channels.base import WebhookRequest
from switchboard.channels.email import EmailChannel, html_to_text, reply_subject
from switchboard.errors import MalformedPayload, MediaError, NotFound, PermanentSendError, RetryableSendError
from switchboard.models import Attachment, SendRequest

INBOX = "support@acme.test"
BUCKET = "media-test"


def mail(text: str | None = "Hello, my order is late.", *, html: str | None = None, subject: str = "Order 42",
         sender: str = "Ann Smith <Ann.Smith@Example.com>", to: str = INBOX, **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = "<cust-1@example.com>"
    msg["Date"] = "Tue, 01 Oct 2024 10:00:00 +0200"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    if text is not None:
        msg.set_content(text)
        if html is not None:
            msg.add_alternative(html, subtype="html")
    elif html is not None:
        msg.set_content(html, subtype="html")
    return msg


def parse(raw: bytes | EmailMessage, recipients: list[str] | None = None, ses_id: str = "ses-0001"):
    data = raw.as_bytes() if isinstance(raw, EmailMessage) else raw
    return EmailChannel().parse_mime(data, ses_message_id=ses_id, recipients=[INBOX] if recipients is None else recipients)


def by_hand(headers: str, body: bytes) -> bytes:
    return headers.strip().replace("\n", "\r\n").encode() + b"\r\n\r\n" + body


# -- parsing ---------------------------------------------------------------------------------------------------
def test_a_plain_text_message_is_normalized():
    message = parse(mail())

    assert message is not None
    assert message.channel == "email"
    assert message.provider_message_id == "ses-0001"
    assert message.inbox_id == INBOX
    assert message.sender_id == "ann.smith@example.com"
    assert message.identity == "email:ann.smith@example.com"
    assert message.sender_name == "Ann Smith"
    assert message.subject == "Order 42"
    assert message.text == "Hello, my order is late."
    assert message.type == "text"
    assert message.attachments == []
    assert message.raw_ref == "inbound-email/ses-0001"
    assert message.timestamp == datetime(2024, 10, 1, 8, 0, tzinfo=UTC).timestamp()


def test_html_only_becomes_readable_text():
    body = ("<html><head><title>Ignored</title><style>p {color: red}</style></head><body>"
            "<p>Hello&nbsp;<b>there</b> &amp; welcome</p><div>Items:</div><ul><li>one</li><li>two</li></ul>"
            "line one<br>line two<script>alert('x')</script><!-- hidden --> &lt;3 &eacute;t&#233;</body></html>")
    message = parse(mail(None, html=body))

    assert message.text == "Hello there & welcome\n\nItems:\n\n- one\n- two\nline one\nline two <3 été"


def test_multipart_alternative_prefers_the_plain_part():
    message = parse(mail("The plain words", html="<p>The <i>HTML</i> words</p>"))

    assert message.text == "The plain words"
    assert message.attachments == []  # the HTML alternative is not an attachment


def test_a_latin1_8bit_body_is_decoded():
    raw = by_hand("""
From: a@example.com
To: support@acme.test
Subject: Gruss
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: 8bit
""", "Grüße aus Köln \N{EN DASH} 5 € bitte".encode("cp1252"))

    assert parse(raw).text == "Grüße aus Köln \N{EN DASH} 5 € bitte"


def test_quoted_printable_and_base64_bodies_are_decoded():
    qp = by_hand("""
From: a@example.com
To: support@acme.test
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable
""", b"Caf=C3=A9 cr=C3=A8me, a very long line that was soft=\r\n-wrapped.")
    b64 = by_hand("""
From: a@example.com
To: support@acme.test
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: base64
""", b"0J/RgNC40LLQtdGC")

    assert parse(qp).text == "Café crème, a very long line that was soft-wrapped."
    assert parse(b64).text == "Привет"


def test_an_undeclared_or_unknown_charset_is_guessed():
    raw = by_hand("""
From: a@example.com
To: support@acme.test
Content-Type: text/plain; charset=x-no-such-charset
""", "naïve".encode())
    legacy = by_hand("""
From: a@example.com
To: support@acme.test
""", "naïve".encode("cp1252"))

    assert parse(raw).text == "naïve"
    assert parse(legacy).text == "naïve"


def test_encoded_word_subject_and_name_are_decoded():
    raw = by_hand("""
From: =?utf-8?b?SsO8cmdlbiBNw7xsbGVy?= <juergen@example.de>
To: support@acme.test
Subject: =?utf-8?b?UsO8Y2tlcnN0YXR0dW5n?= =?iso-8859-1?q?f=FCr?= Bestellung
""", b"Hallo")
    message = parse(raw)

    assert message.sender_name == "Jürgen Müller"
    assert message.subject == "Rückerstattungfür Bestellung"  # adjacent encoded words join without the space


def test_raw_utf8_headers_are_decoded():
    raw = "From: Zoë Ä <zoe@example.com>\r\nTo: support@acme.test\r\nSubject: Ça marche\r\n\r\nok".encode()
    message = parse(raw)

    assert message.sender_name == "Zoë Ä"
    assert message.subject == "Ça marche"


def test_attachments_are_referenced_not_copied():
    msg = mail("See the invoice and the photo.", html='<p>See <img src="cid:logo"></p>')
    msg.get_payload()[1].add_related(b"\x89PNG fake", maintype="image", subtype="png", cid="<logo>")
    msg.add_attachment(b"%PDF-1.4 invoice", maintype="application", subtype="pdf", filename="invoice.pdf")
    msg.add_attachment(b"sig", maintype="application", subtype="pgp-signature", filename="signature.asc")
    message = EmailChannel().parse_mime(msg.as_bytes(), ses_message_id="ses-9", recipients=[INBOX],
                                        raw_ref="mail/ses-9", bucket=BUCKET)

    image, pdf = message.attachments
    assert message.text == "See the invoice and the photo."
    assert (image.kind, image.mime_type, image.size, image.status) == ("image", "image/png", 9, "pending")
    assert (pdf.kind, pdf.mime_type, pdf.filename, pdf.size) == ("file", "application/pdf", "invoice.pdf", 16)
    assert pdf.provider_media_id.startswith("part:")
    assert pdf.url == f"s3://{BUCKET}/mail/ses-9#{pdf.provider_media_id}"
    assert message.raw_ref == "mail/ses-9"


def test_attachment_filenames_are_decoded_and_stripped_of_paths():
    msg = mail("x")
    msg.add_attachment(b"data", maintype="application", subtype="octet-stream", filename="../../etc/Übersicht.xlsx")

    assert parse(msg).attachments[0].filename == "Übersicht.xlsx"


@mock_aws
def test_fetch_media_cuts_the_part_from_the_raw_object(settings_env):
    settings_env(MEDIA_BUCKET=BUCKET)
    aws.s3().create_bucket(Bucket=BUCKET)
    inner = mail("Forwarded words", subject="Carrier notice")
    msg = mail("Two files")
    msg.add_attachment(b"%PDF-1.4 " + bytes(range(256)), maintype="application", subtype="pdf", filename="a.pdf")
    msg.add_attachment(inner)
    raw = msg.as_bytes()
    aws.s3().put_object(Bucket=BUCKET, Key="inbound-email/ses-7", Body=raw)
    message = EmailChannel().parse_mime(raw, ses_message_id="ses-7", recipients=[INBOX])

    pdf, forwarded = message.attachments
    content = EmailChannel().fetch_media(pdf)
    eml = EmailChannel().fetch_media(forwarded)

    assert content.data == b"%PDF-1.4 " + bytes(range(256)) and content.mime_type == "application/pdf"
    assert (forwarded.kind, forwarded.filename, forwarded.mime_type) == ("file", "forwarded.eml", "message/rfc822")
    assert eml.mime_type == "message/rfc822"
    assert email.message_from_bytes(eml.data, policy=email.policy.default)["Subject"] == "Carrier notice"
    assert len(message.attachments) == 2  # the forwarded message's own body is inside the .eml


def test_a_message_with_many_attachments_keeps_the_first_hundred():
    msg = mail("Scans attached")
    for i in range(150):
        name = f"Scan {i:03d} \N{EN DASH} Überweisung.pdf"
        msg.add_attachment(b"%PDF", maintype="application", subtype="pdf", filename=name)

    attachments = parse(msg).attachments

    assert len(attachments) == 100
    assert attachments[0].filename == "Scan 000 \N{EN DASH} Überweisung.pdf"


@mock_aws
def test_fetch_media_downloads_the_raw_message_once_for_all_its_attachments(settings_env, monkeypatch):
    settings_env(MEDIA_BUCKET=BUCKET)
    s3 = aws.s3()
    s3.create_bucket(Bucket=BUCKET)
    msg = mail("Three files")
    for i in range(3):
        msg.add_attachment(f"file {i}".encode(), maintype="application", subtype="octet-stream", filename=f"{i}.bin")
    raw = msg.as_bytes()
    s3.put_object(Bucket=BUCKET, Key="inbound-email/ses-3", Body=raw)
    message = EmailChannel().parse_mime(raw, ses_message_id="ses-3", recipients=[INBOX])
    downloads = []
    real_get = s3.get_object
    monkeypatch.setattr(s3, "get_object", lambda **kw: downloads.append(kw["Key"]) or real_get(**kw))

    contents = [EmailChannel().fetch_media(a).data for a in message.attachments]

    assert contents == [b"file 0", b"file 1", b"file 2"]
    assert downloads == ["inbound-email/ses-3"]


@mock_aws
def test_fetch_media_failures_are_media_errors(settings_env):
    settings_env(MEDIA_BUCKET=BUCKET)
    aws.s3().create_bucket(Bucket=BUCKET)
    aws.s3().put_object(Bucket=BUCKET, Key="inbound-email/ses-1", Body=mail().as_bytes())
    channel = EmailChannel()

    with pytest.raises(MediaError):
        channel.fetch_media(Attachment(kind="file", url=f"s3://{BUCKET}/inbound-email/missing#part:1"))
    with pytest.raises(MediaError):
        channel.fetch_media(Attachment(kind="file", url=f"s3://{BUCKET}/inbound-email/ses-1#part:99"))
    with pytest.raises(MediaError):
        channel.fetch_media(Attachment(kind="file", url="https://example.com/x", provider_media_id="part:1"))


def test_thread_refs_come_from_references_then_in_reply_to():
    raw = by_hand("""
From: a@example.com
To: support@acme.test
References: <root@a.example>
 <second@b.example> <root@a.example>
In-Reply-To: <parent@c.example> (comment)
""", b"reply")
    message = parse(raw)

    assert message.thread_refs == ["<root@a.example>", "<second@b.example>", "<parent@c.example>"]


def test_a_reply_whose_in_reply_to_is_its_last_reference_is_not_repeated():
    message = parse(mail(References="<r1@x> <r2@x>", In_Reply_To="<r2@x>"))

    assert message.thread_refs == ["<r1@x>", "<r2@x>"]


def test_a_huge_references_header_keeps_the_root_and_the_latest():
    refs = " ".join(f"<r{i}@x>" for i in range(500))
    message = parse(mail(References=refs))

    assert len(message.thread_refs) == 50
    assert message.thread_refs[0] == "<r0@x>" and message.thread_refs[-1] == "<r499@x>"


def test_a_new_message_has_no_thread_refs():
    assert parse(mail()).thread_refs == []


def test_a_missing_or_unreadable_date_falls_back_to_the_clock():
    clock.advance(1000)
    no_date = by_hand("From: a@example.com\nTo: support@acme.test", b"x")
    bad_date = by_hand("From: a@example.com\nTo: support@acme.test\nDate: yesterday-ish", b"x")
    future = by_hand("From: a@example.com\nTo: support@acme.test\nDate: Fri, 01 Jan 2100 00:00:00 +0000", b"x")

    for raw in (no_date, bad_date, future):
        assert abs(parse(raw).timestamp - clock.now().timestamp()) < 5


def test_only_recipients_of_our_domains_are_accepted(settings_env):
    settings_env(EMAIL_RECIPIENT_DOMAINS="acme.test, other.test")

    assert parse(mail(), recipients=["x@elsewhere.test", "Help@Other.test", INBOX]).inbox_id == "help@other.test"
    assert parse(mail(), recipients=["x@elsewhere.test"]) is None
    assert parse(mail(), recipients=[]) is None


def test_our_own_mail_coming_back_is_not_a_conversation(settings_env):
    settings_env(EMAIL_FROM_ADDRESS="Acme Support <replies@acme.test>")

    assert parse(mail(sender=INBOX)) is None
    assert parse(mail(sender="replies@acme.test")) is None


def test_huge_bodies_are_truncated_for_the_store():
    assert len(parse(mail("word " * 50_000)).text) == 40_000


HOSTILE = {
    "garbage bytes": bytes(range(256)) * 50,
    "empty": b"",
    "whitespace": b"\r\n\r\n  ",
    "no From": by_hand("To: support@acme.test\nSubject: hi", b"body"),
    "From without address": by_hand("From: undisclosed-recipients:;\nTo: support@acme.test", b"body"),
    "empty From": by_hand("From: <>\nTo: support@acme.test", b"body"),
    "binary From": b"From: \x00\xff\xfe <\xff@\xfe>\r\nTo: support@acme.test\r\n\r\nx",
    "huge Subject": b"From: a@example.com\r\nSubject: " + b"a " * 500_000 + b"\r\n\r\nx",
    "huge From": b"From: " + b"\"a\" <b@c.example>, " * 50_000 + b"\r\n\r\nx",
    "huge References": b"From: a@example.com\r\nReferences: " + b"<a@b> " * 200_000 + b"\r\n\r\nx",
    "huge Content-Type": b"From: a@example.com\r\nContent-Type: text/plain; " + b"a=b; " * 100_000 + b"\r\n\r\nx",
    "huge filename": (b"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\n"
                      b"Content-Disposition: attachment; filename=\"" + b"=?utf-8?q?a?= " * 50_000
                      + b"\"\r\n\r\nx\r\n--zz--"),
    "many parts": (b"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n"
                   + b"--zz\r\nContent-Type: text/plain\r\n\r\nx\r\n" * 50_000 + b"--zz--\r\n"),
    "deep nesting": b"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n" + b"".join(
        b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i - 1, i) for i in range(1, 1500)),
    "many costly Content-Types": b"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n" + b"".join(
        b"--zz\r\nContent-Type: text/plain; n=%d; %s\r\n\r\nx\r\n" % (i, b"(a)" * 600) for i in range(4000)),
    "bad base64": by_hand("From: a@example.com\nContent-Transfer-Encoding: base64", b"!!!not*base64==="),
    "bad charset names": by_hand("From: a@example.com\nContent-Type: text/plain; charset=base64", b"x"),
    "unterminated html": by_hand("From: a@example.com\nContent-Type: text/html", b"<a x='" * 200_000),
    "unclosed comments": by_hand("From: a@example.com\nContent-Type: text/html", b"<!--" * 250_000),
    "NUL in body": by_hand("From: a@example.com", b"a\x00b\x1bc"),
}


# Refused outright (None or MalformedPayload); the others may yield a message, as long as it is storable.
MUST_REFUSE = {"garbage bytes", "empty", "whitespace", "no From", "From without address", "empty From",
               "huge Content-Type", "huge filename", "many costly Content-Types", "many parts", "deep nesting"}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_mime_is_none_or_malformed_quickly(name):
    started = time.monotonic()
    try:
        message = parse(HOSTILE[name])
    except MalformedPayload:
        message = None
    assert time.monotonic() - started < 10  # unguarded, several of these take minutes
    if name in MUST_REFUSE:
        assert message is None
    elif message is not None:
        message.model_dump_json()  # storable: no lone surrogates or control characters
        assert "\x00" not in message.text and "\x1b" not in message.text


def test_oversized_or_too_complex_mime_is_malformed_not_none():
    for name in ("huge Content-Type", "many parts", "deep nesting", "empty"):
        with pytest.raises(MalformedPayload):
            parse(HOSTILE[name])


def test_html_to_text_is_linear_on_unterminated_markup():
    for source in ("<!--" * 250_000, "<a x='" * 200_000, "<?" * 500_000, "</" * 500_000, "<" * 1_000_000):
        started = time.monotonic()
        html_to_text(source)
        assert time.monotonic() - started < 2


# -- no webhook --------------------------------------------------------------------------------------------------
def test_email_has_no_webhook_and_no_reply_window():
    channel = registry.get("email")
    request = WebhookRequest(method="POST", path="/webhooks/email", headers={}, query={}, body=b"{}")

    assert isinstance(channel, EmailChannel) and channel.reply_window_seconds is None
    with pytest.raises(NotFound):
        channel.verify(request)
    with pytest.raises(NotFound):
        channel.parse(request)


# -- sending -----------------------------------------------------------------------------------------------------
def request(**overrides) -> SendRequest:
    values = {"channel": "email", "inbox_id": INBOX, "recipient": "ann.smith@example.com",
              "text": "Your order ships today \N{EN DASH} sorry for the wait.", "subject": "Order 42",
              "thread_refs": ["<cust-0@example.com>", "<cust-1@example.com>"], "conversation_id": "c_1",
              "message_id": "m_01HXYZ"}
    return SendRequest(**(values | overrides))


def sent_raw() -> list[EmailMessage]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    messages = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    return [email.message_from_string(m.raw_data, policy=email.policy.default) for m in messages]


@mock_aws
def test_send_builds_a_threaded_raw_reply():
    aws.client("sesv2").create_email_identity(EmailIdentity="acme.test")

    result = EmailChannel().send(request())

    (sent,) = sent_raw()
    assert result.provider_message_id == "<m_01HXYZ@acme.test>"
    assert sent["Message-ID"] == "<m_01HXYZ@acme.test>"
    assert sent["From"] == INBOX
    assert sent["To"] == "ann.smith@example.com"
    assert sent["Subject"] == "Re: Order 42"
    assert sent["In-Reply-To"] == "<cust-1@example.com>"
    assert sent["References"] == "<cust-0@example.com> <cust-1@example.com>"
    assert sent["Date"]
    assert sent.get_content_type() == "text/plain" and sent.get_content_charset() == "utf-8"
    assert sent.get_content().strip() == "Your order ships today \N{EN DASH} sorry for the wait."


@mock_aws
def test_send_uses_the_configured_from_address_and_keeps_an_existing_re(settings_env):
    settings_env(EMAIL_FROM_ADDRESS="Acme Support <replies@acme.test>")
    aws.client("sesv2").create_email_identity(EmailIdentity="replies@acme.test")

    result = EmailChannel().send(request(subject="RE: Order 42", thread_refs=[], message_id=None))

    (sent,) = sent_raw()
    assert str(sent["From"]) == "Acme Support <replies@acme.test>"
    assert sent["Subject"] == "RE: Order 42"
    assert "In-Reply-To" not in sent and "References" not in sent
    assert result.provider_message_id == sent["Message-ID"] and result.provider_message_id.endswith("@acme.test>")


def test_reply_subjects():
    assert reply_subject("Order 42") == "Re: Order 42"
    assert reply_subject("re: Order 42") == "re: Order 42"
    assert reply_subject("Re:Order") == "Re:Order"
    assert reply_subject("Regarding\r\n order") == "Re: Regarding order"
    assert reply_subject(None) == "Re:"


def test_invalid_addresses_fail_permanently_without_calling_ses(monkeypatch):
    monkeypatch.setattr(aws, "client", lambda name: pytest.fail("SES must not be called"))

    with pytest.raises(PermanentSendError):
        EmailChannel().send(request(recipient="not an address"))
    with pytest.raises(PermanentSendError):
        EmailChannel().send(request(recipient="a@example.com\r\nBcc: victim@example.com"))
    with pytest.raises(PermanentSendError):
        EmailChannel().send(request(inbox_id="no-address"))


@pytest.mark.parametrize(("code", "status", "expected"), [
    ("Throttling", 400, RetryableSendError),
    ("TooManyRequestsException", 429, RetryableSendError),
    ("LimitExceededException", 400, RetryableSendError),
    ("InternalFailure", 500, RetryableSendError),
    ("MessageRejected", 400, PermanentSendError),
    ("MailFromDomainNotVerifiedException", 400, PermanentSendError),
    ("AccountSuspendedException", 400, PermanentSendError),
    ("SendingPausedException", 400, PermanentSendError),
    ("BadRequestException", 400, PermanentSendError),
])
def test_ses_errors_are_mapped(code, status, expected):
    client = aws.client("sesv2")
    with Stubber(client) as stub:
        stub.add_client_error("send_email", service_error_code=code, http_status_code=status,
                              service_message="Email address is not verified: ann.smith@example.com")
        with pytest.raises(expected) as caught:
            EmailChannel().send(request())
    if expected is PermanentSendError:
        assert "not verified" in caught.value.message
        assert "ann.smith@example.com" not in caught.value.message  # reasons are shown and logged: no addresses


@pytest.mark.parametrize("error", [EndpointConnectionError(endpoint_url="https://email.us-east-1.amazonaws.com"),
                                   ReadTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com")])
def test_connection_errors_are_retryable(monkeypatch, error):
    client = aws.client("sesv2")

    def fail(**kwargs):
        raise error

    monkeypatch.setattr(client, "send_email", fail)
    with pytest.raises(RetryableSendError):
        EmailChannel().send(request())

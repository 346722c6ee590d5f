"""Automatic mail, as real mail systems send it: delivery reports about our own mail (bounces, complaints, read
receipts) are reports, never messages; out-of-office replies, list and bulk mail are messages marked automated;
our own mail coming back is neither. And what we send ourselves says it is automatic (RFC 3834 section 5)."""

from __future__ import annotations

import email
import email.policy

import pytest
from moto import mock_aws

from switchboard import aws
from switchboard.channels.email import EmailChannel, MailReport
from switchboard.models import AUTO_REPLIED, SendRequest
from tests.unit.channels import mail_samples as samples

INBOX = samples.INBOX
OURS = "<m_01J9ABCDEF@acme.test>"


def read(raw: bytes, envelope_sender: str | None = None):
    return EmailChannel().read(raw, ses_message_id="ses-0001", recipients=[INBOX], bucket="media-test",
                               envelope_sender=envelope_sender)


# -- bounces (RFC 3464) ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("sample", "status"), [(samples.gmail_dsn, "5.1.1"), (samples.exchange_ndr, "5.1.10"),
                                                (samples.qmail_failure, "5.1.1")])
def test_a_bounce_is_a_report_naming_our_reply_with_its_status_and_reason(sample, status):
    report = read(sample(OURS))

    assert isinstance(report, MailReport)
    assert report.kind == "bounce" and report.status == "failed"
    assert OURS in report.refs
    assert report.reason.startswith(f"bounced ({status}): ")
    assert samples.CUSTOMER not in report.reason  # reasons are shown and logged: addresses redacted
    assert report.suppress  # 5.1.x: the mailbox does not exist, so it is not mailed again


def test_a_bounce_forwarded_by_ses_names_the_id_ses_gave_our_reply():
    # SES replaces our Message-ID with <its id@email.amazonses.com>: the reply is recorded under "ses:<its id>" too
    report = read(samples.ses_forwarded_bounce("0100019251e1b5a1-4c1d-000000"))

    assert report.kind == "bounce" and report.status == "failed"
    assert "ses:0100019251e1b5a1-4c1d-000000" in report.refs


def test_a_policy_rejection_fails_the_reply_but_keeps_the_address():
    raw = samples.gmail_dsn(OURS).replace(b"Status: 5.1.1", b"Status: 5.7.1").replace(
        b"550-5.1.1 The email account", b"550-5.7.1 Message rejected as spam. The email account")

    report = read(raw)

    assert report.status == "failed" and report.reason.startswith("bounced (5.7.1)")
    assert not report.suppress


def test_a_delay_notice_changes_nothing_and_a_success_notice_says_delivered():
    delayed = samples.gmail_dsn(OURS).replace(b"Action: failed", b"Action: delayed").replace(b"Status: 5.1.1",
                                                                                            b"Status: 4.4.7")
    relayed = samples.gmail_dsn(OURS).replace(b"Action: failed", b"Action: relayed").replace(b"Status: 5.1.1",
                                                                                            b"Status: 2.0.0")

    assert (read(delayed).status, read(delayed).suppress) == (None, False)
    assert read(relayed).status == "delivered"


def test_a_null_sender_mailer_daemon_without_a_report_part_is_still_a_bounce():
    report = read(samples.qmail_failure(OURS), envelope_sender="")

    assert isinstance(report, MailReport) and OURS in report.refs


# -- complaints (RFC 5965) and read receipts (RFC 8098) ---------------------------------------------------------------
def test_a_complaint_report_names_our_reply_and_asks_for_suppression():
    report = read(samples.arf_complaint(OURS))

    assert isinstance(report, MailReport)
    assert (report.kind, report.status, report.suppress) == ("complaint", None, True)
    assert report.refs == (OURS,)


def test_a_not_spam_feedback_report_suppresses_nothing():
    report = read(samples.arf_complaint(OURS).replace(b"Feedback-Type: abuse", b"Feedback-Type: not-spam"))

    assert report.kind == "complaint" and not report.suppress


def test_a_read_receipt_says_our_reply_was_read():
    report = read(samples.read_receipt(OURS))

    assert isinstance(report, MailReport)
    assert (report.kind, report.status, report.suppress) == ("read_receipt", "read", False)
    assert report.refs[0] == OURS


def test_a_deleted_unread_disposition_is_no_read():
    raw = samples.read_receipt(OURS).replace(b"MDN-sent-manually; displayed", b"MDN-sent-automatically; deleted")

    assert read(raw).status is None


def test_parse_mime_never_returns_a_report_as_a_message():
    assert EmailChannel().parse_mime(samples.gmail_dsn(OURS), ses_message_id="s", recipients=[INBOX]) is None


# -- automated messages ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "reason"), [
    (samples.outlook_auto_reply(OURS), AUTO_REPLIED),  # auto-generated, but answering a message: an automatic reply
    (samples.vacation_reply(OURS), AUTO_REPLIED),
    (samples.vacation_reply(None), AUTO_REPLIED),
    (samples.mailman_list_mail(), "list"),
    (samples.newsletter(), "bulk"),
    (samples.plain(extra="Auto-Submitted: auto-generated\n"), "auto_generated"),
    (samples.plain(extra="Auto-Submitted: auto-notified\n"), "auto_generated"),
    (samples.plain(extra="Precedence: junk\n"), "bulk"),
    (samples.plain(extra="X-Autorespond: Thank you for your message\n"), AUTO_REPLIED),
    (samples.plain(extra="Return-Path: <>\n"), "auto_generated"),
])
def test_automated_mail_is_a_message_marked_with_why(raw, reason):
    message = read(raw)

    assert message is not None and not isinstance(message, MailReport)
    assert message.auto_submitted == reason
    assert message.text  # still shown: it is mail someone may need to read


@pytest.mark.parametrize("extra", ["", "Auto-Submitted: no\n", "X-Autoreply: no\n", "Precedence: first-class\n"])
def test_a_person_s_mail_is_not_automated(extra):
    assert read(samples.plain(extra=extra)).auto_submitted is None


def test_a_null_envelope_sender_makes_mail_automated():
    assert read(samples.plain(), envelope_sender="").auto_submitted == "auto_generated"
    assert read(samples.plain(), envelope_sender="ann.smith@example.com").auto_submitted is None


# -- loops ------------------------------------------------------------------------------------------------------------
def test_our_own_automatic_reply_coming_back_is_dropped():
    # forwarded back by the customer's server, From rewritten: our X-Loop marker gives it away
    assert read(samples.our_auto_reply_come_back()) is None


def test_an_automatic_reply_from_our_own_domain_is_a_loop_but_a_colleague_is_not():
    auto = samples.vacation_reply(OURS, customer="billing@acme.test")
    colleague = samples.plain(sender="Bea <bea@acme.test>")

    assert read(auto) is None
    assert read(colleague).sender_id == "bea@acme.test"


# -- what we send --------------------------------------------------------------------------------------------------
def sent() -> list[email.message.EmailMessage]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return [email.message_from_string(m.raw_data, policy=email.policy.default)
            for m in ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages]


def request(**overrides) -> SendRequest:
    return SendRequest(**({"channel": "email", "inbox_id": INBOX, "recipient": samples.CUSTOMER, "text": "Hello",
                           "subject": "Order 42", "conversation_id": "cv_0a1b", "message_id": "m_01J9ZZ"} | overrides))


@mock_aws
def test_automated_replies_say_auto_replied_and_every_mail_carries_our_loop_marker():
    aws.client("sesv2").create_email_identity(EmailIdentity="acme.test")

    EmailChannel().send(request(automated=True))
    EmailChannel().send(request(message_id="m_01J9YY"))

    greeting, agent = sent()
    assert greeting["Auto-Submitted"] == "auto-replied"
    assert "Auto-Submitted" not in agent  # a person's reply is not automatic
    assert greeting["X-Loop"] == agent["X-Loop"] == INBOX
    assert read(greeting.as_bytes()) is None  # and it never comes back in as a conversation


@mock_aws
def test_a_reply_is_recorded_under_ses_s_own_message_id_as_well(settings_env):
    settings_env(SES_CONFIGURATION_SET="switchboard-test")
    aws.client("sesv2").create_email_identity(EmailIdentity="acme.test")

    result = EmailChannel().send(request())

    assert result.provider_message_id == "<m_01J9ZZ@acme.test>"
    (alias,) = result.aliases
    assert alias.startswith("ses:") and len(alias) > 14

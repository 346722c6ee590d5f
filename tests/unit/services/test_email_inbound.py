"""SES receipt events on moto S3: verdicts, recipient domains, raw MIME read and handed to ingest."""

from __future__ import annotations

import copy
from email.message import EmailMessage

import pytest
from moto import mock_aws

from infra.local.events import ses_event
from switchboard import aws
from switchboard.errors import ServiceUnavailable
from switchboard.services import email_inbound

BUCKET = "media-test"
TABLE = "table-test"


def raw_mail(to: str = "support@acme.test", text: str = "Where is my parcel?", sender: str = "Ann <ann@example.com>",
             message_id: str | None = "<c1@example.com>") -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = "Parcel"
    if message_id:
        msg["Message-ID"] = message_id
    msg["In-Reply-To"] = "<ours-1@acme.test>"
    msg.set_content(text)
    msg.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="label.pdf")
    return msg.as_bytes()


@pytest.fixture
def s3(settings_env):
    settings_env(MEDIA_BUCKET=BUCKET, TABLE_NAME=TABLE, POWERTOOLS_METRICS_NAMESPACE="Switchboard/test")
    with mock_aws():
        client = aws.s3()
        client.create_bucket(Bucket=BUCKET)
        # The table, for the dedupe marker of a message's Message-ID (only its key schema matters here)
        aws.dynamodb().create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                          {"AttributeName": "sk", "AttributeType": "S"}],
                                    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                               {"AttributeName": "sk", "KeyType": "RANGE"}])
        yield client


@pytest.fixture
def ingested(monkeypatch):
    captured: list = []

    def fake_ingest(events):
        captured.extend(events)
        return {"messages": len(events), "duplicates": 0, "statuses": 0}

    monkeypatch.setattr("switchboard.services.ingest.ingest", fake_ingest)
    return captured


def deliver(s3, raw: bytes, message_id: str = "ses0001", store: bool = True) -> dict:
    """As the receipt rule does: the S3 action stores the message, then the Lambda action gets the event."""
    if store:
        s3.put_object(Bucket=BUCKET, Key=f"inbound-email/{message_id}", Body=raw)
    event = ses_event(raw, message_id, BUCKET)
    event.pop("_local", None)  # the local stack's hint; the real event has no such key
    return event


def keys(s3) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def test_good_mail_is_handed_to_ingest(s3, ingested):
    counts = email_inbound.handle_ses_event(deliver(s3, raw_mail()))

    (message,) = ingested
    assert counts["messages"] == 1 and counts["records"] == 1
    assert counts["quarantined"] == counts["refused"] == counts["malformed"] == 0
    assert message.provider_message_id == "ses0001"
    assert message.inbox_id == "support@acme.test"
    assert message.identity == "email:ann@example.com"
    assert message.text == "Where is my parcel?"
    assert message.thread_refs == ["<ours-1@acme.test>"]
    assert message.raw_ref == "inbound-email/ses0001"
    assert message.attachments[0].url.startswith(f"s3://{BUCKET}/inbound-email/ses0001#part:")
    assert keys(s3) == ["inbound-email/ses0001"]  # kept: the message refers to it


@pytest.mark.parametrize("verdict", ["spamVerdict", "virusVerdict"])
def test_a_failed_spam_or_virus_verdict_is_quarantined(s3, ingested, verdict):
    event = deliver(s3, raw_mail())
    event["Records"][0]["ses"]["receipt"][verdict] = {"status": "FAIL"}

    counts = email_inbound.handle_ses_event(event)
    again = email_inbound.handle_ses_event(copy.deepcopy(event))  # SES retries the invocation

    assert counts["quarantined"] == again["quarantined"] == 1
    assert ingested == []
    assert keys(s3) == ["quarantine/ses0001"]


@pytest.mark.parametrize("header", ["X-SES-Spam-Verdict", "X-SES-Virus-Verdict"])
def test_the_local_stack_takes_a_verdict_from_the_header_ses_writes_into_the_message(s3, ingested, header):
    # So that POST /_local/email can try quarantine: SES records its scan in these headers of the stored message
    raw = raw_mail().replace(b"Subject: Parcel", f"{header}: FAIL\nSubject: Parcel".encode())

    counts = email_inbound.handle_ses_event(deliver(s3, raw))

    assert counts["quarantined"] == 1 and ingested == []
    assert keys(s3) == ["quarantine/ses0001"]


def test_the_local_stacks_event_names_bare_envelope_recipients_as_ses_does(s3, ingested):
    raw = raw_mail(to="Acme Support <Support@acme.test>")
    raw = raw.replace(b"Subject: Parcel", b"Cc: sales@acme.test\nSubject: Parcel")

    receipt = deliver(s3, raw)["Records"][0]["ses"]["receipt"]
    email_inbound.handle_ses_event(deliver(s3, raw))

    assert receipt["recipients"] == ["Support@acme.test", "sales@acme.test"]
    assert ingested[0].inbox_id == "support@acme.test"


def test_gray_or_failed_authentication_verdicts_are_still_delivered(s3, ingested):
    event = deliver(s3, raw_mail())
    receipt = event["Records"][0]["ses"]["receipt"]
    receipt["spamVerdict"] = {"status": "GRAY"}
    receipt["dkimVerdict"] = {"status": "FAIL"}

    assert email_inbound.handle_ses_event(event)["messages"] == 1


def test_mail_for_other_domains_is_refused(s3, ingested, settings_env):
    settings_env(EMAIL_RECIPIENT_DOMAINS="acme.test", MEDIA_BUCKET=BUCKET)

    counts = email_inbound.handle_ses_event(deliver(s3, raw_mail(to="someone@elsewhere.test")))

    assert counts["refused"] == 1
    assert ingested == []
    assert keys(s3) == ["rejected/ses0001"]


def test_only_allowed_recipients_are_used(s3, ingested, settings_env):
    settings_env(EMAIL_RECIPIENT_DOMAINS="acme.test", MEDIA_BUCKET=BUCKET)
    event = deliver(s3, raw_mail())
    event["Records"][0]["ses"]["receipt"]["recipients"] = ["x@elsewhere.test", "Billing@ACME.test"]

    email_inbound.handle_ses_event(event)

    assert ingested[0].inbox_id == "billing@acme.test"


def test_the_s3_actions_object_key_is_honored(s3, ingested):
    raw = raw_mail()
    s3.put_object(Bucket=BUCKET, Key="mail/custom-key", Body=raw)
    event = deliver(s3, raw, store=False)
    event["Records"][0]["ses"]["receipt"]["action"] = {"type": "S3", "bucketName": BUCKET, "objectKey": "mail/custom-key"}

    email_inbound.handle_ses_event(event)

    assert ingested[0].raw_ref == "mail/custom-key"


def test_unreadable_or_senderless_mail_is_set_aside(s3, ingested):
    events = [deliver(s3, b"\r\n\r\n", message_id="ses-garbage"),
              deliver(s3, b"To: support@acme.test\r\n\r\nhi", message_id="ses-nofrom")]
    for event in events:
        event["Records"][0]["ses"]["receipt"]["recipients"] = ["support@acme.test"]

    garbage, senderless = (email_inbound.handle_ses_event(event) for event in events)

    assert garbage["malformed"] == 1 and senderless["dropped"] == 1
    assert ingested == []
    assert keys(s3) == ["rejected/ses-garbage", "rejected/ses-nofrom"]


def test_records_that_are_not_ses_mail_are_ignored(s3, ingested):
    event = {"Records": [{"eventSource": "aws:sqs", "body": "{}"}, "junk",
                         {"eventSource": "aws:ses", "ses": {"mail": {"messageId": "../../etc"}}}]}

    counts = email_inbound.handle_ses_event(event)

    assert counts["ignored"] == 3 and ingested == []
    assert email_inbound.handle_ses_event({})["records"] == 0


def test_a_missing_raw_object_is_retried_not_dropped(s3, ingested):
    with pytest.raises(ServiceUnavailable):
        email_inbound.handle_ses_event(deliver(s3, raw_mail(), store=False))
    assert ingested == []


def test_an_s3_failure_is_service_unavailable(settings_env, ingested):
    settings_env(MEDIA_BUCKET="no-such-bucket")
    with mock_aws():
        event = ses_event(raw_mail(), "ses0001", "no-such-bucket")

        with pytest.raises(ServiceUnavailable):
            email_inbound.handle_ses_event(event)


def test_an_ingest_failure_propagates_so_the_invocation_is_retried(s3, monkeypatch):
    def failing(events):
        raise ServiceUnavailable("SQS send_message_batch failed")

    monkeypatch.setattr("switchboard.services.ingest.ingest", failing)

    with pytest.raises(ServiceUnavailable):
        email_inbound.handle_ses_event(deliver(s3, raw_mail()))
    assert keys(s3) == ["inbound-email/ses0001"]  # untouched for the retry


def test_the_same_mail_delivered_again_under_a_new_ses_id_is_stored_once(s3, ingested):
    # Given a message received once
    first = email_inbound.handle_ses_event(deliver(s3, raw_mail(), message_id="ses-first"))
    # When the sender's server delivers it again: SES gives it a new message id and stores it again
    again = email_inbound.handle_ses_event(deliver(s3, raw_mail(), message_id="ses-again"))
    # Then it is not ingested twice, and its second copy is set aside (it expires there) rather than kept forever
    assert first["messages"] == 1 and again["duplicates"] == 1 and again.get("messages", 0) == 0
    assert [m.provider_message_id for m in ingested] == ["ses-first"]
    assert keys(s3) == ["inbound-email/ses-first", "rejected/ses-again"]


def test_a_retried_ses_event_is_still_ingested_and_its_raw_message_kept(s3, ingested):
    # The same SES message id again is Lambda retrying the invocation: ingest's own marker dedupes it
    event = deliver(s3, raw_mail(), message_id="ses-retry")
    email_inbound.handle_ses_event(event)
    email_inbound.handle_ses_event(copy.deepcopy(event))

    assert [m.provider_message_id for m in ingested] == ["ses-retry", "ses-retry"]
    assert keys(s3) == ["inbound-email/ses-retry"]


def test_a_message_id_hides_nothing_from_another_sender_or_for_another_inbox(s3, ingested):
    email_inbound.handle_ses_event(deliver(s3, raw_mail(), message_id="ses-ann"))
    email_inbound.handle_ses_event(deliver(s3, raw_mail(sender="Eve <eve@example.net>"), message_id="ses-eve"))
    email_inbound.handle_ses_event(deliver(s3, raw_mail(to="billing@acme.test"), message_id="ses-billing"))
    email_inbound.handle_ses_event(deliver(s3, raw_mail(message_id=None), message_id="ses-noid-1"))
    email_inbound.handle_ses_event(deliver(s3, raw_mail(message_id=None), message_id="ses-noid-2"))

    assert [m.provider_message_id for m in ingested] == ["ses-ann", "ses-eve", "ses-billing", "ses-noid-1",
                                                         "ses-noid-2"]


# -- reports about our own mail, automated mail, verdicts, malformed mail ----------------------------------------------
OURS = "<m_01J9REPLY@acme.test>"


def our_reply(status: str = "sent", recipient: str = "ann.smith@example.com", ref: str = OURS) -> tuple[str, str, str]:
    """A conversation with one reply of ours, recorded as the sender records it: (conversation id, created, message id)."""
    from switchboard.models import Message
    from switchboard.store import delivery, keys, messages
    from switchboard.store.table import Table

    table = Table()
    conv_id, msg_id, created = "cv_0001", "m_01J9REPLY", "2026-01-01T10:00:00.000Z"
    table.put({**keys.conversation(conv_id), "type": "conversation", "id": conv_id, "channel": "email",
               "inbox_id": "support@acme.test", "contact_id": "ct_1", "recipient": recipient, "status": "open",
               "created_at": created, "updated_at": created})
    reply = Message(id=msg_id, conversation_id=conv_id, direction="outbound", channel="email", text="Ships today",
                    created_at=created, status=status, provider_message_id=ref)
    table.put(messages.message_item(reply))
    delivery.link_provider_message(table, reply)
    return conv_id, created, msg_id


def stored_reply(conv_id: str, created: str, msg_id: str):
    from switchboard.store import messages
    from switchboard.store.table import Table

    return messages.get_message(Table(), conv_id, created, msg_id)


def suppressed(address: str) -> bool:
    from switchboard.store import keys
    from switchboard.store.table import Table

    return Table().get(keys.suppression(address)) is not None


def test_a_bounce_of_our_reply_marks_it_failed_and_opens_no_conversation(s3, ingested):
    from tests.unit.channels import mail_samples

    reply = our_reply()

    counts = email_inbound.handle_ses_event(deliver(s3, mail_samples.gmail_dsn(OURS)))

    assert counts["bounces"] == 1 and ingested == []
    failed = stored_reply(*reply)
    assert failed.status == "failed" and failed.failure_reason.startswith("bounced (5.1.1): smtp; 550-5.1.1")
    assert suppressed("ann.smith@example.com")  # no such mailbox: no automated mail to it again
    assert keys(s3) == ["rejected/ses0001"]  # set aside: inbound-email/ holds only what messages refer to


def test_a_bounce_about_mail_we_never_sent_is_backscatter(s3, ingested):
    from tests.unit.channels import mail_samples

    counts = email_inbound.handle_ses_event(deliver(s3, mail_samples.exchange_ndr("<forged-by-a-spammer@acme.test>")))

    assert counts["backscatter"] == 1 and ingested == []
    assert not suppressed("ann.smith@example.com")


def test_a_complaint_suppresses_the_address_our_reply_went_to_not_one_the_report_names(s3, ingested):
    from tests.unit.channels import mail_samples

    our_reply(recipient="ann.smith@example.com")
    report = mail_samples.arf_complaint(OURS, customer="victim@example.com")  # what the report claims

    counts = email_inbound.handle_ses_event(deliver(s3, report))

    assert counts["complaints"] == 1 and ingested == []
    assert suppressed("ann.smith@example.com") and not suppressed("victim@example.com")


def test_a_read_receipt_marks_our_reply_read(s3, ingested):
    from tests.unit.channels import mail_samples

    reply = our_reply(status="delivered")

    counts = email_inbound.handle_ses_event(deliver(s3, mail_samples.read_receipt(OURS)))

    assert counts["receipts"] == 1 and ingested == []
    assert stored_reply(*reply).status == "read"


def test_a_report_naming_a_customer_s_message_changes_nothing(s3, ingested):
    from switchboard.models import Message
    from switchboard.store import delivery
    from switchboard.store.table import Table
    from tests.unit.channels import mail_samples

    inbound = Message(id="m_in", conversation_id="cv_0001", direction="inbound", channel="email", text="hi",
                      created_at="2026-01-01T09:00:00.000Z", status="received", provider_message_id="<cust@x>")
    delivery.link_provider_message(Table(), inbound)

    counts = email_inbound.handle_ses_event(deliver(s3, mail_samples.arf_complaint("<cust@x>")))

    assert counts["backscatter"] == 1 and not suppressed("ann.smith@example.com")


def test_automated_mail_is_handed_on_marked_and_the_verdicts_with_it(s3, ingested):
    from tests.unit.channels import mail_samples

    event = deliver(s3, mail_samples.newsletter())
    event["Records"][0]["ses"]["receipt"] |= {"spfVerdict": {"status": "FAIL"}, "dkimVerdict": {"status": "GRAY"},
                                              "dmarcVerdict": {"status": "FAIL"}, "dmarcPolicy": "reject"}

    counts = email_inbound.handle_ses_event(event)

    (message,) = ingested
    assert counts["messages"] == 1
    assert message.auto_submitted == "bulk"
    assert message.authentication == {"spf": "FAIL", "dkim": "GRAY", "dmarc": "FAIL", "dmarc_policy": "reject"}


def test_the_envelope_sender_of_the_receipt_is_used(s3, ingested):
    from tests.unit.channels import mail_samples

    event = deliver(s3, mail_samples.plain())
    event["Records"][0]["ses"]["mail"]["source"] = ""  # the null reverse path: MAIL FROM:<>

    email_inbound.handle_ses_event(event)

    assert ingested[0].auto_submitted == "auto_generated"


def test_mail_with_raw_8bit_headers_is_ingested_not_a_crash(s3, ingested):
    from tests.unit.channels import mail_samples

    counts = email_inbound.handle_ses_event(deliver(s3, mail_samples.eight_bit_headers()))

    assert counts["messages"] == 1 and ingested[0].sender_name == "Jürgen Müller"


def test_whatever_the_parser_raises_the_mail_is_set_aside_as_malformed(s3, ingested, monkeypatch):
    from switchboard.channels.email import EmailChannel

    def broken(self, *args, **kwargs):
        raise KeyError("a parser bug")

    monkeypatch.setattr(EmailChannel, "read", broken)

    counts = email_inbound.handle_ses_event(deliver(s3, raw_mail()))

    assert counts["malformed"] == 1 and ingested == []
    assert keys(s3) == ["rejected/ses0001"]

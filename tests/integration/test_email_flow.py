"""Email end to end on moto, through the template's functions: threading that never changes a conversation's customer,
automatic mail that is never answered automatically, bounces and complaints of our replies, and the sender's
authentication shown to agents."""

from __future__ import annotations

import email
import email.policy
import os
import uuid

import boto3
import pytest

from infra.local.events import ses_event
from switchboard import clock
from tests.integration.test_automation import NEVER_OPEN, settings
from tests.integration.test_whatsapp_flow import conversations, messages
from tests.unit.channels import mail_samples as samples

INBOX = "help@switchboard.local"
ANN = "ann.smith@example.com"


def mail_in(stack, raw: bytes, **receipt) -> str:
    """Deliver as SES does (the S3 action, then the Lambda action), then let the processor and sender run."""
    ses_id = uuid.uuid4().hex
    bucket = os.environ["MEDIA_BUCKET"]
    boto3.client("s3", region_name="us-east-1").put_object(Bucket=bucket, Key=f"inbound-email/{ses_id}", Body=raw)
    event = ses_event(raw, ses_id, bucket)
    event.pop("_local")
    event["Records"][0]["ses"]["receipt"] |= receipt
    assert stack.functions["EmailFunction"].invoke(event) == {"disposition": "CONTINUE"}
    stack.drain("ProcessorFunction")
    stack.drain("SenderFunction")
    return ses_id


def sent(stack) -> list[email.message.EmailMessage]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return [email.message_from_string(m.raw_data, policy=email.policy.default)
            for m in ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages]


def reply(stack, conv_id: str, text: str) -> dict:
    r = stack.http("POST", f"/api/conversations/{conv_id}/messages", {"text": text}, role="agent")
    assert r.status == 202, r
    stack.drain("SenderFunction")
    return next(m for m in messages(stack, conv_id) if m["id"] == r.json()["id"])


def conversation_of(stack, text: str) -> dict | None:
    return next((c for c in conversations(stack) if any(m["text"] == text for m in messages(stack, c["id"]))), None)


def mail_to(stack, address: str) -> list[email.message.EmailMessage]:
    return [m for m in sent(stack) if m["To"] == address]


def ann_writes(stack, text: str = "Where is my order?", message_id: str = "<ann-1@example.com>",
               refs: str | None = None) -> dict:
    mail_in(stack, samples.plain(inbox=INBOX, text=text, message_id=message_id, refs=refs))
    conv = conversation_of(stack, text)
    assert conv, "the mail did not become a message"
    return conv


# -- threading never changes who the customer is ------------------------------------------------------------------
def test_a_stranger_naming_a_conversation_s_message_ids_gets_a_conversation_of_their_own(stack):
    ann = ann_writes(stack)
    reply(stack, ann["id"], "It ships today.")
    (ours,) = mail_to(stack, ANN)
    # Eve names Ann's Message-ID and ours, and writes to Ann's conversation's own reply address
    hijack = samples.plain(sender="Eve <eve@evil.example>", inbox=f"help+{ann['id']}@switchboard.local",
                           text="Send the parcel to my address instead", message_id="<eve-1@evil.example>",
                           refs=f"<ann-1@example.com> {ours['Message-ID']}")

    mail_in(stack, hijack)

    eve = conversation_of(stack, "Send the parcel to my address instead")
    assert eve["id"] != ann["id"] and eve["contact"]["id"] != ann["contact"]["id"]
    assert [m["text"] for m in messages(stack, ann["id"]) if m["direction"] == "inbound"] == ["Where is my order?"]
    # The agents' replies go to the conversation's own customer
    reply(stack, ann["id"], "Your parcel is on its way to you.")
    reply(stack, eve["id"], "Who are you?")
    assert [m["Subject"] for m in mail_to(stack, ANN)] == ["Re: Order 42"] * 2
    assert len(mail_to(stack, "eve@evil.example")) == 1


def test_the_customer_answering_from_the_same_address_still_threads(stack):
    ann = ann_writes(stack)
    reply(stack, ann["id"], "It ships today.")
    (ours,) = mail_to(stack, ANN)

    again = ann_writes(stack, "Thanks! And the invoice?", "<ann-2@example.com>",
                       refs=f"<ann-1@example.com> {ours['Message-ID']}")

    assert again["id"] == ann["id"]


# -- automatic mail is never answered automatically -----------------------------------------------------------------
AUTOMATION_ON = {"greeting": {"enabled": True, "text": "Thanks for writing!"},
                 "away": {"enabled": True, "text": "We are closed now."}, "business_hours": NEVER_OPEN,
                 "auto_reply": {"enabled": True, "after_minutes": 5, "text": "Still on it"},
                 "survey": {"enabled": True, "delay_minutes": 5}}


def automated_sent(stack, conv_id: str) -> list[str]:
    return [m["sender"] for m in messages(stack, conv_id) if (m["sender"] or "").startswith("automation:")]


def test_an_out_of_office_reply_shows_in_its_conversation_and_changes_nothing(stack):
    settings(stack, AUTOMATION_ON)
    ann = ann_writes(stack)
    assert automated_sent(stack, ann["id"]) == ["automation:greeting", "automation:away"]
    reply(stack, ann["id"], "It ships today.")
    stack.http("POST", f"/api/conversations/{ann['id']}/resolve", role="agent")
    ours = mail_to(stack, ANN)[-1]["Message-ID"]
    before = len(sent(stack))

    mail_in(stack, samples.outlook_auto_reply(ours, inbox=INBOX))
    clock.advance(86400)  # a new day for the away message, the auto-reply's wait long over
    stack.functions["AutoReplyFunction"].invoke({"source": "aws.scheduler"})
    stack.drain("SenderFunction")

    shown = [m for m in messages(stack, ann["id"]) if m["auto_submitted"]]
    assert [(m["auto_submitted"], m["text"][:20]) for m in shown] == [("auto_replied", "I am out of the offi")]
    detail = stack.http("GET", f"/api/conversations/{ann['id']}", role="agent").json()
    assert detail["status"] == "resolved" and detail["unread_count"] == 0  # it reopened nothing
    assert len(sent(stack)) == before  # and nothing answered it
    assert len(conversations(stack)) == 1


def test_an_automatic_reply_to_nothing_of_ours_opens_no_conversation(stack):
    settings(stack, AUTOMATION_ON)

    mail_in(stack, samples.vacation_reply(None, inbox=INBOX))  # a stranger's robot
    ann_writes(stack)
    mail_in(stack, samples.vacation_reply("<someone-else@example.org>", inbox=INBOX))  # Ann's, answering not us

    assert len(conversations(stack)) == 1
    assert stack.items("CONTACT#") and len({i["pk"] for i in stack.items("CONTACT#")}) == 1  # no contact made for it


@pytest.mark.parametrize("sample", [samples.newsletter, samples.mailman_list_mail])
def test_list_and_bulk_mail_is_shown_but_gets_no_automated_mail_and_no_survey(stack, sample):
    settings(stack, AUTOMATION_ON)

    mail_in(stack, sample(inbox=INBOX))
    (conv,) = conversations(stack)
    clock.advance(600)
    stack.functions["AutoReplyFunction"].invoke({"source": "aws.scheduler"})
    stack.http("POST", f"/api/conversations/{conv['id']}/resolve", role="agent")
    clock.advance(600)
    stack.functions["SurveyFunction"].invoke({"source": "aws.scheduler"})
    stack.drain("SenderFunction")

    assert messages(stack, conv["id"])[0]["auto_submitted"] in ("bulk", "list")
    assert automated_sent(stack, conv["id"]) == [] and sent(stack) == []


def test_what_automation_sends_says_so_and_never_comes_back_as_a_conversation(stack):
    settings(stack, AUTOMATION_ON)
    ann = ann_writes(stack)
    greeting, away = mail_to(stack, ANN)

    assert greeting["Auto-Submitted"] == away["Auto-Submitted"] == "auto-replied"
    assert greeting["X-Loop"]
    # the customer's server forwards it back to us, From rewritten
    bounced_back = greeting.as_bytes().replace(b"From: support@switchboard.local", f"From: <{ANN}>".encode())
    bounced_back = bounced_back.replace(f"To: {ANN}".encode(), f"To: {INBOX}".encode())
    mail_in(stack, bounced_back)

    assert [m["text"] for m in messages(stack, ann["id"]) if m["direction"] == "inbound"] == ["Where is my order?"]
    assert len(conversations(stack)) == 1


# -- bounces and complaints of our replies ---------------------------------------------------------------------------
def test_a_bounce_mailed_back_marks_the_reply_failed_and_no_conversation_opens(stack):
    ann = ann_writes(stack)
    first = reply(stack, ann["id"], "It ships today.")
    ours = mail_to(stack, ANN)[-1]["Message-ID"]

    mail_in(stack, samples.gmail_dsn(ours, inbox=INBOX))

    failed = next(m for m in messages(stack, ann["id"]) if m["id"] == first["id"])
    assert failed["status"] == "failed"
    assert failed["failure_reason"].startswith("bounced (5.1.1): smtp; 550-5.1.1 The email account")
    assert len(conversations(stack)) == 1
    (profile,) = [i for i in stack.items(f"CONTACT#{ann['contact']['id']}") if i["sk"] == "PROFILE"]
    assert profile["email_suppressed"] is True  # no such mailbox: no automated mail to it again


def test_ses_s_bounce_event_of_a_reply_marks_it_failed(stack):
    import json

    ann = ann_writes(stack)
    first = reply(stack, ann["id"], "It ships today.")
    (alias,) = [i["pk"].removeprefix("PROVIDERMSG#email#ses:") for i in stack.items("PROVIDERMSG#email#ses:")]
    bounce = {"eventType": "Bounce", "mail": {"messageId": alias},
              "bounce": {"bounceType": "Transient", "bounceSubType": "MailboxFull",
                         "bouncedRecipients": [{"emailAddress": ANN, "status": "4.2.2",
                                                "diagnosticCode": f"smtp; 452 4.2.2 <{ANN}> mailbox full"}]}}

    counts = stack.functions["SesEventsFunction"].invoke({"Records": [{"Sns": {"Message": json.dumps(bounce)}}]})

    assert counts == {"records": 1, "suppressed": 0, "ignored": 0, "replies_failed": 1}
    failed = next(m for m in messages(stack, ann["id"]) if m["id"] == first["id"])
    assert failed["status"] == "failed"
    assert failed["failure_reason"] == "bounced (4.2.2): smtp; 452 4.2.2 <address> mailbox full"


def test_a_complaint_stops_automated_mail_and_an_agent_s_reply_says_why_until_the_customer_writes(stack):
    settings(stack, AUTOMATION_ON)
    ann = ann_writes(stack)
    reply(stack, ann["id"], "It ships today.")
    ours = mail_to(stack, ANN)[-1]["Message-ID"]
    mail_in(stack, samples.arf_complaint(ours, inbox=INBOX))
    before = len(sent(stack))

    refused = reply(stack, ann["id"], "Anything else?")
    clock.advance(86400)  # a new day: the away message would go again
    again = ann_writes(stack, "Sorry, I clicked spam by mistake. Where is it?", "<ann-3@example.com>")
    answered = reply(stack, ann["id"], "Here is the tracking link.")

    assert refused["status"] == "failed" and "complaint" in refused["failure_reason"]
    assert again["id"] == ann["id"]
    assert automated_sent(stack, ann["id"]) == ["automation:greeting", "automation:away"]  # none after the complaint
    assert answered["status"] == "sent"  # the customer wrote to us since: a person's answer goes
    assert len(sent(stack)) == before + 1


# -- what agents see ----------------------------------------------------------------------------------------------------
def test_failed_sender_authentication_is_a_warning_and_gets_no_automated_answer(stack):
    settings(stack, AUTOMATION_ON)
    mail_in(stack, samples.plain(sender="CEO <ceo@example.org>", inbox=INBOX, text="Please pay the new IBAN"),
            spfVerdict={"status": "FAIL"}, dkimVerdict={"status": "GRAY"}, dmarcVerdict={"status": "FAIL"},
            dmarcPolicy="reject")
    ann_writes(stack, "A genuine one", "<ann-9@example.com>")

    forged, genuine = (conversation_of(stack, text) for text in ("Please pay the new IBAN", "A genuine one"))
    (forged_mail,), (genuine_mail, *_) = messages(stack, forged["id"]), messages(stack, genuine["id"])
    assert forged_mail["warnings"] == ["dmarc_fail", "spf_fail"]
    assert forged_mail["authentication"] == {"spf": "FAIL", "dkim": "GRAY", "dmarc": "FAIL", "dmarc_policy": "reject"}
    assert genuine_mail["warnings"] == []
    assert genuine_mail["authentication"] == {"spf": "PASS", "dkim": "PASS", "dmarc": "PASS"}
    # no greeting or away message to an address that may never have written (backscatter)
    assert mail_to(stack, "ceo@example.org") == [] and len(mail_to(stack, ANN)) == 2


def test_html_words_show_when_the_text_part_is_blank_and_8bit_headers_are_read(stack):
    mail_in(stack, samples.outlook_html_with_blank_text(inbox=INBOX))
    mail_in(stack, samples.eight_bit_headers(inbox=INBOX))

    texts = {m["text"] for c in conversations(stack) for m in messages(stack, c["id"])}
    assert texts == {"My charger stopped working after two days.\n\nOrder 42.", "Bitte erstatten Sie den Betrag."}
    names = {c["contact"]["name"] for c in conversations(stack)}
    assert "Jürgen Müller" in names

"""What is not a new customer message: unsends, edits of messages never seen, the business's own messages sent
elsewhere (echoes), and events that are ignored. Channel-independent: normalized events through the processor."""

from __future__ import annotations

import pytest

from switchboard import aws, clock
from switchboard.errors import RetryableSendError
from switchboard.models import IgnoredEvent, InboundEnvelope, InboundMessage
from switchboard.services import ingest, processing
from switchboard.store import markers
from switchboard.store.table import Table
from tests.integration.test_whatsapp_flow import PNID, conversations, messages, post, wa_message, wa_payload


def event(pid: str, **fields) -> InboundMessage:
    return InboundMessage(channel="whatsapp", provider_message_id=pid, inbox_id=PNID, sender_id="15551234567",
                          identity="phone:+15551234567", timestamp=clock.now().timestamp(), **fields)


def process(ev: InboundMessage, attempt: int = 1) -> processing.Outcome:
    """As the processor would, after the webhook's claim."""
    from switchboard.models import dedupe_id

    markers.claim_inbound(Table(), ev.channel, dedupe_id(ev), clock.iso(clock.now()), clock.epoch() + 3600)
    envelope = InboundEnvelope(event=ev, received_at=clock.iso(clock.now()))
    return processing.process(envelope, attempt=attempt)


def test_an_unsend_removes_the_content_and_files_and_leaves_a_trace(stack):
    # Given a stored customer image with a caption
    post(stack, wa_payload(wa_message("wamid.img", kind="image", body={"id": "MEDIA1", "caption": "my card"})))
    stack.drain("ProcessorFunction")
    (conv,) = conversations(stack)
    (msg,) = messages(stack, conv["id"])
    (item,) = [i for i in stack.items("CONV#") if i.get("text") == "my card"]
    key = item["attachments"][0]["s3_key"]
    # When the customer unsends it
    outcome = process(event("wamid.img", deleted=True))
    # Then its text and file are gone, the message stays as a trace, and the preview says so
    assert outcome.result == "deleted"
    (after,) = messages(stack, conv["id"])
    assert after["id"] == msg["id"] and after["deleted"] is True and after["text"] == "" and after["attachments"] == []
    bucket = stack.resolver.refs["MediaBucket"]
    assert aws.s3().list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount") == 0
    assert conversations(stack)[0]["last_message"]["text"] == "[message deleted]"
    # And a redelivery of the unsend changes nothing more
    assert process(event("wamid.img", deleted=True)).result in ("deleted", "stale")


def test_an_unsend_of_a_message_never_seen_settles_before_the_dlq(stack):
    # The inbound queue dead-letters on the 5th receive: the unsend is retried a few times, then dropped
    ev = event("wamid.unknown", deleted=True)
    for attempt in range(1, processing.OVERTAKEN_MAX_ATTEMPTS):
        with pytest.raises(RetryableSendError):
            process(ev, attempt=attempt)
    assert process(ev, attempt=processing.OVERTAKEN_MAX_ATTEMPTS).result == "dropped"
    assert conversations(stack) == []


def test_an_edit_of_a_message_never_seen_is_kept_as_the_message_before_the_dlq(stack):
    ev = event("wamid.late", edited=True, text="fixed text")
    with pytest.raises(RetryableSendError):
        process(ev, attempt=1)
    assert process(ev, attempt=processing.OVERTAKEN_MAX_ATTEMPTS).result == "edit_kept"
    (conv,) = conversations(stack)
    assert [m["text"] for m in messages(stack, conv["id"])] == ["fixed text"]
    # The original arriving after all is the same message, not a second one that undoes the edit
    post(stack, wa_payload(wa_message("wamid.late", text="fixd txt")))
    stack.drain("ProcessorFunction")
    assert [m["text"] for m in messages(stack, conv["id"])] == ["fixed text"]


def test_an_echo_is_the_business_answer_shown_as_outbound_once(stack):
    # Given a customer waiting
    post(stack, wa_payload(wa_message("wamid.q", text="is it in stock?")))
    stack.drain("ProcessorFunction")
    (conv,) = conversations(stack)
    # When the business answers from the WhatsApp Business app (a coexistence number), delivered twice
    echo = event("wamid.echo", echo=True, echo_via="whatsapp_business_app", text="Yes, two left")
    assert process(echo).result == "echo"
    assert process(echo).result == "duplicate"
    # Then agents see it once, as outbound, sent, from the app; it answered the customer; nothing was sent by us
    outbound = [m for m in messages(stack, conv["id"]) if m["direction"] == "outbound"]
    assert [(m["text"], m["status"], m["sender"]) for m in outbound] == [
        ("Yes, two left", "sent", "external:whatsapp_business_app")]
    detail = stack.http("GET", f"/api/conversations/{conv['id']}", role="agent").json()
    assert detail["first_response_at"] and detail["unread_count"] == 0
    assert stack.queue_count("OutboundQueue") == 0 and stack.sandbox.outbox == []
    # And its delivery receipt finds it
    receipt = {"id": "wamid.echo", "status": "read", "timestamp": str(clock.epoch() + 5), "recipient_id": "15551234567"}
    post(stack, wa_payload(statuses=[receipt]))
    stack.drain("ProcessorFunction")
    (echoed,) = [m for m in messages(stack, conv["id"]) if m["direction"] == "outbound"]
    assert echoed["status"] == "read"


def test_ignored_events_are_counted_never_stored_or_queued(stack, capsys):
    counts = ingest.ingest([IgnoredEvent(channel="telegram", reason="service_message"),
                            IgnoredEvent(channel="telegram", reason="service_message")])
    assert counts["ignored"] == 2 and counts["messages"] == 0
    assert stack.queue_count("InboundQueue") == 0 and stack.items("INBOUND#") == []
    emf = capsys.readouterr().out
    assert '"reason":"service_message"' in emf and '"EventsIgnored":[2.0]' in emf  # one metric record, by reason


def test_an_echoed_edit_of_a_message_never_seen_is_kept_as_the_business_message(stack):
    ev = event("wamid.echo-late", edited=True, echo=True, echo_via="whatsapp_business_app", text="corrected")
    assert process(ev, attempt=processing.OVERTAKEN_MAX_ATTEMPTS).result == "edit_kept"
    (conv,) = conversations(stack)
    assert [(m["direction"], m["text"], m["sender"]) for m in messages(stack, conv["id"])] == [
        ("outbound", "corrected", "external:whatsapp_business_app")]


def test_a_media_url_refused_as_unsafe_fails_the_attachment_at_once(stack, monkeypatch):
    from switchboard.channels import http, registry
    from switchboard.models import Attachment
    from switchboard.services import media

    channel = registry.get("whatsapp")
    monkeypatch.setattr(type(channel), "fetch_media", lambda self, a: (_ for _ in ()).throw(http.UnsafeUrl("no")))
    outcome = process(event("wamid.unsafe", type="image", attachments=[Attachment(kind="image", provider_media_id="1")]))
    (msg,) = messages(stack, outcome.conversation_id)
    assert [a["status"] for a in msg["attachments"]] == ["failed"]  # not retried four times: it cannot succeed
    assert media.MAX_ATTEMPTS > 1

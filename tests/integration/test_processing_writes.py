"""The processor's writes without transactions: a stop between two writes is finished by the retry, exactly once."""

from __future__ import annotations

import pytest

from switchboard import clock
from switchboard.errors import ServiceUnavailable
from switchboard.store import contacts, keys
from switchboard.store.table import Table
from tests.integration.test_automation import ALWAYS_OPEN, automated, customer_writes, run, settings
from tests.integration.test_whatsapp_flow import conversations, messages, post, wa_message, wa_payload


def fail_once(monkeypatch: pytest.MonkeyPatch, operation: str, sk: str) -> list[int]:
    """Make the store's next `operation` on an item whose sort key is `sk` fail as DynamoDB would."""
    real, failures = getattr(Table, operation), []

    def flaky(self, key, *args, **kwargs):
        if not failures and key.get("sk") == sk:
            failures.append(1)
            raise ServiceUnavailable(f"DynamoDB {operation} failed: InternalServerError")
        return real(self, key, *args, **kwargs)

    monkeypatch.setattr(Table, operation, flaky)
    return failures


def record_writes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    writes: list[str] = []
    for op in ("put", "update", "transact"):
        real = getattr(Table, op)

        def recording(self, *args, _real=real, _op=op, **kwargs):
            writes.append(_op)
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(Table, op, recording)
    return writes


def conversation_item(stack, conv_id: str) -> dict:
    (item,) = [i for i in stack.items(f"CONV#{conv_id}") if i["sk"] == keys.META]
    return item


def test_a_stop_between_the_message_and_its_conversation_is_finished_by_the_retry_once(stack, monkeypatch):
    post(stack, wa_payload(wa_message("wamid.w1", text="first")))
    stack.drain("ProcessorFunction")
    (conv,) = conversations(stack)
    # The second message is stored, then updating its conversation fails: the record goes back to the queue.
    failures = fail_once(monkeypatch, "update", keys.META)
    clock.advance(1)
    post(stack, wa_payload(wa_message("wamid.w2", text="second")))
    stack.drain("ProcessorFunction")
    assert failures == [1]
    item = conversation_item(stack, conv["id"])
    assert item["last_message"]["text"] == "second" and item["unread_count"] == 2  # finished by the redelivery
    # A provider's redelivery of either message changes nothing more.
    post(stack, wa_payload(wa_message("wamid.w2", text="second")))
    post(stack, wa_payload(wa_message("wamid.w1", text="first")))
    stack.drain("ProcessorFunction")
    item = conversation_item(stack, conv["id"])
    assert item["unread_count"] == 2 and item["last_message"]["text"] == "second"
    assert [m["text"] for m in messages(stack, conv["id"])] == ["first", "second"]


def test_an_identity_claim_left_without_its_profile_is_completed_by_the_next_delivery(stack):
    table = Table()
    identity = "phone:+15551234567"
    # A first delivery claimed the identity for its new contact, then stopped before writing the profile
    table.put({**keys.identity(identity), "type": "identity", "contact_id": "ct_halfway", "channel": "whatsapp",
               "address": "15551234567", "created_at": clock.iso(clock.now())})
    post(stack, wa_payload(wa_message("wamid.d1", text="hello?")))
    stack.drain("ProcessorFunction")
    # The next one finishes it at once, for the claimed contact: nothing waits for a timeout, nothing is lost
    (conv,) = conversations(stack)
    assert conv["contact"]["id"] == "ct_halfway" and conv["contact"]["name"] == "Ann"
    assert table.get(keys.identity(identity))["contact_id"] == "ct_halfway"
    assert [m["text"] for m in messages(stack, conv["id"])] == ["hello?"]
    assert {i["channel"] for i in contacts.identities(table, "ct_halfway")} == {"whatsapp"}


def test_one_holding_reply_per_unanswered_wait_and_a_new_wait_after_an_answer(stack):
    settings(stack, {"auto_reply": {"enabled": True, "after_minutes": 10, "text": "Hold on"},
                     "business_hours": ALWAYS_OPEN})
    conv = customer_writes(stack, "h.1", "anyone?")
    due = [i for i in stack.items(f"CONV#{conv['id']}") if i["sk"] == "DUE#auto_reply"]
    customer_writes(stack, "h.2", "hello??")  # still the same wait: its entry is left as it was
    assert [i for i in stack.items(f"CONV#{conv['id']}") if i["sk"] == "DUE#auto_reply"] == due
    clock.advance(11 * 60)
    assert run(stack, "AutoReplyFunction")["done"] == 1
    customer_writes(stack, "h.3", "still there?")  # waiting on: the holding reply is not repeated
    clock.advance(11 * 60)
    assert run(stack, "AutoReplyFunction")["due"] == 0
    stack.http("POST", f"/api/conversations/{conv['id']}/messages", {"text": "Here!"}, role="agent")
    customer_writes(stack, "h.4", "one more thing")  # answered, then a new question: a new wait
    clock.advance(11 * 60)
    assert run(stack, "AutoReplyFunction")["done"] == 1
    assert automated(stack, conv["id"]) == ["automation:auto_reply", "automation:auto_reply"]


def test_one_phone_number_on_two_channels_is_one_contact_listing_both(stack, monkeypatch):
    table = Table()
    first, created = contacts.resolve(table, "phone:+15557770009", "whatsapp", "15557770009", "Ann")
    again, created_again = contacts.resolve(table, "phone:+15557770009", "sms", "+15557770009", None)
    assert created and not created_again and again.id == first.id and again.name == "Ann"
    assert {(i["channel"], i["address"]) for i in contacts.identities(table, first.id)} == \
        {("whatsapp", "15557770009"), ("sms", "+15557770009")}
    writes = record_writes(monkeypatch)  # later messages on either channel write nothing more
    contacts.resolve(table, "phone:+15557770009", "sms", "+15557770009", None)
    contacts.resolve(table, "phone:+15557770009", "whatsapp", "15557770009", "Ann")
    assert writes == []
    monkeypatch.undo()
    r = stack.http("GET", f"/api/contacts/{first.id}", role="agent")
    assert {i["channel"] for i in r.json()["identities"]} == {"whatsapp", "sms"}


def test_conversations_opened_and_reopened_are_emf_metrics_by_channel(stack, capsys):
    import json

    post(stack, wa_payload(wa_message("wamid.m1", text="hello")))
    stack.drain("ProcessorFunction")
    (conv,) = conversations(stack)
    stack.http("POST", f"/api/conversations/{conv['id']}/resolve", role="agent")
    post(stack, wa_payload(wa_message("wamid.m2", text="again")))
    stack.drain("ProcessorFunction")
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    by_channel = [(name, r.get("channel"), r[name]) for r in records
                  for name in ("ConversationsOpened", "ConversationsReopened") if name in r]
    assert by_channel == [("ConversationsOpened", "whatsapp", [1.0]), ("ConversationsReopened", "whatsapp", [1.0])]
    assert all(["channel"] in m["Dimensions"] or ["channel", "service"] in m["Dimensions"]
               for r in records if "ConversationsOpened" in r or "ConversationsReopened" in r
               for m in r["_aws"]["CloudWatchMetrics"])


def test_a_conversation_claimed_but_not_written_is_completed_by_the_next_delivery(stack):
    post(stack, wa_payload(wa_message("wamid.h1", text="first")))
    stack.drain("ProcessorFunction")
    (conv,) = conversations(stack)
    # As if the first delivery had stopped after claiming the pointer, before writing the conversation item
    stack.clients["dynamodb"].delete_item(TableName=stack.resolver.refs["Table"],
                                          Key={"pk": {"S": f"CONV#{conv['id']}"}, "sk": {"S": keys.META}})
    assert conversations(stack) == []
    clock.advance(1)
    post(stack, wa_payload(wa_message("wamid.h2", text="second")))
    stack.drain("ProcessorFunction")
    (again,) = conversations(stack)
    assert again["id"] == conv["id"]  # the claimed conversation, written at once, not a second one
    assert [m["text"] for m in messages(stack, again["id"])] == ["first", "second"]


# -- the processor files a whole batch before any message's follow-up (issue 15: push latency) -----------------------
def test_a_batch_is_shown_before_its_follow_ups_and_a_failed_follow_up_fails_only_its_record(stack, monkeypatch):
    from switchboard.services import push, search

    order: list[str] = []
    shown, indexed = push.message_created, search.on_inbound
    monkeypatch.setattr(push, "message_created", lambda table, conv, message: (
        order.append(f"shown {message.text}"), shown(table, conv, message))[-1])

    failures = [1]

    def index(table, conv, contact, message, event):
        order.append(f"followed {message.text}")
        if message.text == "second" and failures:
            failures.pop()
            raise ServiceUnavailable("DynamoDB failed")  # once: this record comes back, the others are done
        return indexed(table, conv, contact, message, event)

    monkeypatch.setattr(search, "on_inbound", index)
    for n, text in enumerate(("first", "second", "third")):
        sender = f"1555000270{n}"
        post(stack, wa_payload(wa_message(f"wamid.batch.{n}", sender=sender, text=text), sender=sender))
    source = stack.source("ProcessorFunction")
    assert source.poll_once() == 3  # one batch of three
    # every message was shown before the slower work of any of them, and that work ran in the batch's order
    assert order == ["shown first", "shown second", "shown third", "followed first", "followed second",
                     "followed third"]
    # the failed follow-up's record came back (and only it): its redelivery finishes its work, shown again
    order.clear()
    clock.advance(5)
    assert stack.drain("ProcessorFunction") == 1
    assert order == ["shown second", "followed second"]
    assert sorted(m["text"] for c in conversations(stack) for m in messages(stack, c["id"])) == \
        ["first", "second", "third"]

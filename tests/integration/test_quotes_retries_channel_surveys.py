"""Rich replies (issue 13), the rest: quoted replies, retrying a failed reply, and the satisfaction survey asked in
the customer's own channel, through the real handlers on moto and the provider sandbox."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import pytest

from infra.local.sandbox import Fault
from switchboard import clock
from tests.integration.test_automation import run, settings
from tests.integration.test_telegram_sms_flow import sms, telegram, tg_message
from tests.integration.test_whatsapp_flow import messages, post, wa_message, wa_payload

UNDELIVERABLE = {"error": {"message": "(#131026) Message undeliverable", "code": 131026, "type": "OAuthException"}}


def api(stack, method: str, path: str, body: dict | None = None, role: str = "agent", query: str = ""):
    return stack.http(method, path, body, role=role, query=query)


def sent(stack, channel: str, path_end: str = "/messages") -> list[dict[str, Any]]:
    return [i for i in stack.sandbox.outbox if i["channel"] == channel and i["url"].split("?")[0].endswith(path_end)]


def wa_customer(stack, wamid: str, text: str = "hello", sender: str = "15552220001", **extra: Any) -> dict:
    post(stack, wa_payload(wa_message(wamid, sender=sender, text=text, **extra), sender=sender))
    stack.drain("ProcessorFunction")
    stack.drain("SenderFunction")
    convs = api(stack, "GET", "/api/conversations", query="channel=whatsapp").json()["items"]
    return next(c for c in convs if any(m.get("text") == text for m in messages(stack, c["id"])))


def detail(stack, conv_id: str) -> dict:
    return api(stack, "GET", f"/api/conversations/{conv_id}").json()


def by_text(stack, conv_id: str, text: str) -> dict:
    return next(m for m in messages(stack, conv_id) if m["text"] == text)


def reply(stack, conv_id: str, text: str, **more: Any):
    return api(stack, "POST", f"/api/conversations/{conv_id}/messages", {"text": text, **more})


# -- quoted replies ----------------------------------------------------------------------------------------------------
def test_a_quoted_whatsapp_reply_goes_out_with_its_context_and_shows_the_quote(stack):
    # Given a customer's message
    conv = wa_customer(stack, "wamid.q1", "Where is order 10432?")
    asked = by_text(stack, conv["id"], "Where is order 10432?")
    # When an agent answers it, quoting it
    answer = reply(stack, conv["id"], "It ships Friday", reply_to=asked["id"])
    assert answer.status == 202, answer.body
    assert answer.json()["quoted"]["id"] == asked["id"]
    stack.drain("SenderFunction")
    # Then WhatsApp gets the reply in the context of that message, and the app shows the quote
    (body,) = [i["body"] for i in sent(stack, "whatsapp") if i["body"].get("text", {}).get("body") == "It ships Friday"]
    assert body["context"] == {"message_id": "wamid.q1"}
    shown = by_text(stack, conv["id"], "It ships Friday")
    assert shown["status"] == "sent"
    assert shown["quoted"] == {"id": asked["id"], "direction": "inbound", "text": "Where is order 10432?",
                               "sender": asked["sender"], "created_at": asked["created_at"]}


def test_a_customer_quoting_our_reply_shows_what_they_quote(stack):
    conv = wa_customer(stack, "wamid.q2", "hello")
    reply(stack, conv["id"], "Which size do you need?")
    stack.drain("SenderFunction")
    ours = by_text(stack, conv["id"], "Which size do you need?")
    (wamid,) = [i for i in stack.sandbox.outbox if i["channel"] == "whatsapp"][-1:]  # the reply's send
    provider_id = stack.items("PROVIDERMSG#whatsapp#")[0]["pk"].split("#", 2)[2]
    assert wamid
    # When the customer answers it with WhatsApp's reply (context.id: our message's wamid)
    wa_customer(stack, "wamid.q3", "Large", context={"from": "15552220001", "id": provider_id})
    quoting = by_text(stack, conv["id"], "Large")
    assert quoting["quoted"]["id"] == ours["id"] and quoting["quoted"]["text"] == "Which size do you need?"
    assert quoting["quoted"]["direction"] == "outbound"


def test_a_quote_must_be_a_message_the_customer_saw_in_this_conversation(stack):
    conv = wa_customer(stack, "wamid.q4", "first customer", sender="15552220002")
    other = wa_customer(stack, "wamid.q5", "second customer", sender="15552220003")
    theirs = by_text(stack, other["id"], "second customer")
    note = api(stack, "POST", f"/api/conversations/{conv['id']}/notes", {"text": "internal"}).json()
    before = len(stack.sandbox.outbox)
    for target, code in ((theirs["id"], "unknown_message"), ("m_nope", "unknown_message"), (note["id"], "quote_of_note")):
        refused = reply(stack, conv["id"], "hello", reply_to=target)
        assert refused.status == 400 and refused.json()["error"]["code"] == code, refused.body
    stack.drain("SenderFunction")
    assert len(stack.sandbox.outbox) == before  # nothing queued, nothing sent
    assert [m["text"] for m in messages(stack, conv["id"])] == ["first customer", "internal"]


def test_a_quoted_telegram_reply_uses_reply_parameters(stack):
    assert telegram(stack, {"update_id": 9001, "message": tg_message(77, chat=4242, text="Is it in stock?")}).status == 200
    stack.drain("ProcessorFunction")
    (conv,) = api(stack, "GET", "/api/conversations", query="channel=telegram").json()["items"]
    asked = by_text(stack, conv["id"], "Is it in stock?")
    assert reply(stack, conv["id"], "Yes, 3 left", reply_to=asked["id"]).status == 202
    stack.drain("SenderFunction")
    (body,) = [i["body"] for i in sent(stack, "telegram", "/sendMessage") if i["body"].get("text") == "Yes, 3 left"]
    assert body["reply_parameters"] == {"message_id": 77, "allow_sending_without_reply": True}


def test_a_quoted_email_reply_answers_that_mail(stack):
    from tests.integration.test_email_flow import ann_writes, sent

    conv = ann_writes(stack, "one?", message_id="<first@customer.example>")
    ann_writes(stack, "two?", message_id="<second@customer.example>", refs="<first@customer.example>")
    first = by_text(stack, conv["id"], "one?")
    assert reply(stack, conv["id"], "About your first question", reply_to=first["id"]).status == 202
    stack.drain("SenderFunction")
    mail = sent(stack)[-1]
    assert mail["In-Reply-To"] == "<first@customer.example>"
    assert "<first@customer.example>" in mail["References"] and "<second@customer.example>" in mail["References"]


# -- retrying a failed reply -------------------------------------------------------------------------------------------
def test_a_failed_reply_is_retried_once_as_a_new_attempt(stack):
    conv = wa_customer(stack, "wamid.r1", "hello", sender="15552220004")
    stack.sandbox.add_fault("whatsapp", Fault(status=400, count=1, body=UNDELIVERABLE))
    reply(stack, conv["id"], "Your refund is on its way")
    stack.drain("SenderFunction")
    failed = by_text(stack, conv["id"], "Your refund is on its way")
    assert failed["status"] == "failed" and "131026" in failed["failure_reason"]
    path = f"/api/conversations/{conv['id']}/messages/{failed['id']}/retry"
    # When the agent clicks Retry twice
    first, second = api(stack, "POST", path), api(stack, "POST", path)
    # Then the first queues it again as attempt 1, the second is refused, and it is sent once
    assert first.status == 202 and first.json()["status"] == "queued" and first.json()["attempt"] == 1
    assert second.status == 409 and second.json()["error"]["code"] == "not_failed"
    stack.drain("SenderFunction")
    sends = [i for i in sent(stack, "whatsapp") if i["body"].get("text", {}).get("body") == "Your refund is on its way"]
    assert [i["answered"] for i in sends] == [400, 200]
    again = by_text(stack, conv["id"], "Your refund is on its way")
    assert again["status"] == "sent" and again["attempt"] == 1 and again["failure_reason"] is None
    # A sent reply, a customer's message, and a message of another conversation are not retried
    assert api(stack, "POST", path).status == 409
    inbound = by_text(stack, conv["id"], "hello")
    assert api(stack, "POST", f"/api/conversations/{conv['id']}/messages/{inbound['id']}/retry").status == 409
    assert api(stack, "POST", f"/api/conversations/{conv['id']}/messages/m_nope/retry").status == 404
    assert api(stack, "POST", f"/api/conversations/cv_nope/messages/{failed['id']}/retry").status == 404


def test_a_retry_job_that_overtakes_its_write_waits_for_it_and_an_old_job_sends_nothing(stack):
    from switchboard.errors import RetryableSendError
    from switchboard.models import OutboundJob
    from switchboard.services import sending
    from switchboard.store import rich_replies
    from switchboard.store.table import Table

    conv = wa_customer(stack, "wamid.r2", "hello", sender="15552220005")
    stack.sandbox.add_fault("whatsapp", Fault(status=400, count=1, body=UNDELIVERABLE))
    reply(stack, conv["id"], "try me")
    stack.drain("SenderFunction")
    table = Table()
    message = rich_replies.find_message(table, conv["id"], by_text(stack, conv["id"], "try me")["id"])
    assert message is not None and message.status == "failed"
    job = OutboundJob(conversation_id=conv["id"], message_id=message.id, created_at=message.created_at, retry=1,
                      retry_requested_at=clock.iso(clock.now()))
    with pytest.raises(RetryableSendError):  # the retry's write is not there yet: the job comes back in a second
        sending.send(job, table)
    clock.advance(sending.STORE_GRACE_SECONDS + 1)
    assert sending.send(job, table) == "missing"  # it never came (the agent was answered 5xx): nothing sent
    assert rich_replies.requeue_failed(table, message, 1, fresh=False)
    original = OutboundJob(conversation_id=conv["id"], message_id=message.id, created_at=message.created_at)
    assert sending.send(original, table) == "done"  # a redelivery of the first attempt's job: not this attempt's
    assert sending.send(job, table) == "sent"
    assert sending.send(job, table) == "done"


def test_retry_refuses_past_the_window_and_for_an_opted_out_contact(stack):
    conv = wa_customer(stack, "wamid.r3", "hello", sender="15552220006")
    stack.sandbox.add_fault("whatsapp", Fault(status=400, count=1, body=UNDELIVERABLE))
    reply(stack, conv["id"], "later")
    stack.drain("SenderFunction")
    failed = by_text(stack, conv["id"], "later")
    path = f"/api/conversations/{conv['id']}/messages/{failed['id']}/retry"
    clock.advance(25 * 3600)
    closed = api(stack, "POST", path)
    assert closed.status == 409 and closed.json()["error"]["code"] == "reply_window_closed"
    assert by_text(stack, conv["id"], "later")["status"] == "failed"


# -- the survey in the customer's own channel --------------------------------------------------------------------------
def in_channel(stack, **more: Any) -> None:
    settings(stack, {"survey": {"enabled": True, "in_channel": True, "delay_minutes": 0, **more}})


def resolved(stack, conv_id: str) -> None:
    assert reply(stack, conv_id, "All done").status == 202
    stack.drain("SenderFunction")
    assert api(stack, "POST", f"/api/conversations/{conv_id}/resolve").status == 200


def metrics(stack) -> dict:
    today = clock.iso(clock.now())[:10]
    return api(stack, "GET", "/api/metrics", query=f"from={today}&to={today}").json()


def test_a_whatsapp_customer_rates_with_the_list_once_and_adds_a_comment(stack):
    in_channel(stack)
    conv = wa_customer(stack, "wamid.s1", "my parcel is late", sender="15552220010")
    resolved(stack, conv["id"])
    # When the survey job runs
    assert run(stack, "SurveyFunction")["done"] == 1
    assert run(stack, "SurveyFunction")["due"] == 0  # once per resolution
    # Then WhatsApp gets an interactive list of five ratings
    (question,) = [i["body"] for i in sent(stack, "whatsapp") if i["body"].get("type") == "interactive"]
    rows = question["interactive"]["action"]["sections"][0]["rows"]
    assert question["interactive"]["type"] == "list" and rows[0]["title"] == "1 Poor" and len(rows) == 5
    shown = next(m for m in messages(stack, conv["id"]) if m["type"] == "survey")
    assert shown["sender"] == "automation:survey" and len(shown["choices"]) == 5
    # When the customer picks 5 (the webhook comes twice)
    answer = wa_message("wamid.s2", sender="15552220010", kind="interactive",
                        body={"type": "list_reply", "list_reply": {"id": rows[4]["id"], "title": rows[4]["title"]}})
    for _ in range(2):
        post(stack, wa_payload(answer, sender="15552220010"))
        stack.drain("ProcessorFunction")
    stack.drain("SenderFunction")
    # Then it is the rating, counted once, credited to the agent; not a message; the conversation stays resolved
    after = detail(stack, conv["id"])
    assert after["status"] == "resolved" and after["rating"] == 5
    csat = metrics(stack)["csat"]
    assert csat["average"] == 5 and csat["responses"] == 1
    texts = [m["text"] for m in messages(stack, conv["id"])]
    assert rows[4]["title"] not in texts
    assert texts[-1].startswith("Thank you for your rating")  # thanked once, in the window
    # And what the customer writes next is the rating's comment, not a message that reopens
    wa_customer_comment = wa_message("wamid.s3", sender="15552220010", text="Quick and friendly, thanks")
    for _ in range(2):
        post(stack, wa_payload(wa_customer_comment, sender="15552220010"))
        stack.drain("ProcessorFunction")
    after = detail(stack, conv["id"])
    assert after["status"] == "resolved" and after["rating_comment"] == "Quick and friendly, thanks"
    assert "Quick and friendly, thanks" not in [m["text"] for m in messages(stack, conv["id"])]
    # A later message is the customer writing again: stored, and it reopens
    post(stack, wa_payload(wa_message("wamid.s4", sender="15552220010", text="one more thing"), sender="15552220010"))
    stack.drain("ProcessorFunction")
    assert detail(stack, conv["id"])["status"] == "open"
    assert metrics(stack)["csat"]["responses"] == 1


def sms_in(stack, sid: str, body: str, sender: str = "+14155550177") -> None:
    params = {"MessageSid": sid, "AccountSid": "AC00000000000000000000000000000001", "From": sender,
              "To": "+15550001111", "Body": body, "NumMedia": "0", "SmsStatus": "received"}
    assert sms(stack, params).status == 200
    stack.drain("ProcessorFunction")


def sms_conversation(stack, sender: str) -> dict:
    convs = api(stack, "GET", "/api/conversations", query="channel=sms").json()["items"]
    return next(c for c in convs if any(m["text"] for m in messages(stack, c["id"])))


def test_an_sms_customer_rates_with_a_digit_within_the_survey_only(stack):
    in_channel(stack)
    sms_in(stack, "SM" + "1" * 32, "my bill is wrong")
    conv = sms_conversation(stack, "+14155550177")
    resolved(stack, conv["id"])
    assert run(stack, "SurveyFunction")["done"] == 1
    bodies = [parse_qs(i["body"])["Body"][0] for i in sent(stack, "twilio", "/Messages.json")]
    (question,) = [b for b in bodies if "Reply with a number" in b]
    assert question.splitlines()[1:] == ["1 Poor", "2 Fair", "3 Good", "4 Very good", "5 Excellent"]
    sms_in(stack, "SM" + "2" * 32, " 4 ")
    after = detail(stack, conv["id"])
    assert after["status"] == "resolved" and after["rating"] == 4
    assert "4" not in [m["text"].strip() for m in messages(stack, conv["id"])]
    # The next message is the rating's comment; the one after it is the customer writing again
    sms_in(stack, "SM" + "5" * 32, "quick and kind")
    assert detail(stack, conv["id"])["rating_comment"] == "quick and kind"
    sms_in(stack, "SM" + "3" * 32, "I need help again")
    assert detail(stack, conv["id"])["status"] == "open"
    # A digit once the conversation is open again is just a message
    sms_in(stack, "SM" + "4" * 32, "2")
    assert detail(stack, conv["id"])["rating"] == 4
    assert "2" in [m["text"] for m in messages(stack, conv["id"])]


def test_a_telegram_customer_rates_with_the_inline_keyboard(stack):
    in_channel(stack)
    assert telegram(stack, {"update_id": 9101, "message": tg_message(5, chat=5151, text="bot question")}).status == 200
    stack.drain("ProcessorFunction")
    (conv,) = api(stack, "GET", "/api/conversations", query="channel=telegram").json()["items"]
    resolved(stack, conv["id"])
    assert run(stack, "SurveyFunction")["done"] == 1
    (question,) = [i["body"] for i in sent(stack, "telegram", "/sendMessage") if "reply_markup" in i["body"]]
    buttons = [b for row in question["reply_markup"]["inline_keyboard"] for b in row]
    assert [b["text"] for b in buttons] == ["1 Poor", "2 Fair", "3 Good", "4 Very good", "5 Excellent"]
    press = {"update_id": 9102, "callback_query": {"id": "cbq-1", "from": {"id": 5151, "is_bot": False, "first_name": "A"},
                                                   "message": tg_message(6, chat=5151, text="rate",
                                                                         reply_markup=question["reply_markup"]),
                                                   "data": buttons[2]["callback_data"]}}
    answered = telegram(stack, press)
    assert answered.status == 200 and "answerCallbackQuery" in answered.body  # the button's spinner stops
    stack.drain("ProcessorFunction")
    assert detail(stack, conv["id"])["rating"] == 3 and detail(stack, conv["id"])["status"] == "resolved"


def test_the_in_channel_survey_respects_consent_email_and_the_window(stack):
    in_channel(stack)
    # A contact with an email gets the email survey instead
    conv = wa_customer(stack, "wamid.c1", "hello", sender="15552220020")
    api(stack, "PATCH", f"/api/contacts/{conv['contact']['id']}", {"email": "ann@example.com"})
    resolved(stack, conv["id"])
    # A contact marked do not contact gets nothing
    other = wa_customer(stack, "wamid.c2", "hello too", sender="15552220021")
    api(stack, "PATCH", f"/api/contacts/{other['contact']['id']}", {"do_not_contact": True})
    resolved(stack, other["id"])
    # One whose window closes before the survey is due gets nothing either
    late = wa_customer(stack, "wamid.c3", "and me", sender="15552220022")
    resolved(stack, late["id"])
    clock.advance(25 * 3600)
    result = run(stack, "SurveyFunction")
    assert result["due"] == 2  # the email survey and the late one; nothing was scheduled for do-not-contact
    assert not [i for i in sent(stack, "whatsapp") if i["body"].get("type") == "interactive"]
    assert detail(stack, late["id"])["status"] == "resolved"


def test_past_the_window_a_whatsapp_customer_rates_with_the_configured_templates_button(stack):
    in_channel(stack, whatsapp_template="rate_us:en_US")
    assert api(stack, "POST", "/api/templates/sync", role="admin").status == 200
    conv = wa_customer(stack, "wamid.t1", "where is my order", sender="15552220030")
    resolved(stack, conv["id"])
    # When the survey is due after the 24-hour window closed
    clock.advance(25 * 3600)
    assert run(stack, "SurveyFunction")["done"] == 1
    stack.drain("SenderFunction")
    # Then the question goes out as the approved template, each quick-reply button carrying its rating
    (body,) = [i["body"] for i in sent(stack, "whatsapp") if i["body"].get("type") == "template"]
    assert body["template"]["name"] == "rate_us" and body["template"]["language"] == {"code": "en_US"}
    buttons = body["template"]["components"]
    assert [b["index"] for b in buttons] == ["0", "1", "2", "3", "4"]
    assert all(b["sub_type"] == "quick_reply" for b in buttons)
    shown = next(m for m in messages(stack, conv["id"]) if m["type"] == "survey")
    assert shown["status"] == "sent" and shown["text"].startswith("Thanks for contacting us")
    # When the customer presses "4 Very good" (the template's button comes back with its payload)
    payload = buttons[3]["parameters"][0]["payload"]
    press = wa_message("wamid.t2", sender="15552220030", kind="button", body={"payload": payload, "text": "4 Very good"})
    for _ in range(2):
        post(stack, wa_payload(press, sender="15552220030"))
        stack.drain("ProcessorFunction")
    after = detail(stack, conv["id"])
    assert after["status"] == "resolved" and after["rating"] == 4
    assert metrics(stack)["csat"]["responses"] == 1


def test_without_a_usable_survey_template_nothing_goes_past_the_window(stack):
    in_channel(stack, whatsapp_template="support_reply:en_US")  # its body takes a value: not usable for the survey
    assert api(stack, "POST", "/api/templates/sync", role="admin").status == 200
    conv = wa_customer(stack, "wamid.t3", "hello", sender="15552220031")
    resolved(stack, conv["id"])
    clock.advance(25 * 3600)
    assert run(stack, "SurveyFunction")["done"] == 0
    assert not [i for i in sent(stack, "whatsapp") if i["body"].get("type") == "template"]
    bad = api(stack, "PUT", "/api/settings", {"survey": {"whatsapp_template": "Rate Us!"}}, role="admin")
    assert bad.status == 400


def test_a_button_pressed_after_the_survey_expired_records_nothing(stack):
    in_channel(stack, expires_days=1)
    conv = wa_customer(stack, "wamid.e1", "hello", sender="15552220030")
    resolved(stack, conv["id"])
    assert run(stack, "SurveyFunction")["done"] == 1
    (question,) = [i["body"] for i in sent(stack, "whatsapp") if i["body"].get("type") == "interactive"]
    row = question["interactive"]["action"]["sections"][0]["rows"][0]
    clock.advance(2 * 86400)
    post(stack, wa_payload(wa_message("wamid.e2", sender="15552220030", kind="interactive",
                                      body={"type": "list_reply", "list_reply": row}), sender="15552220030"))
    stack.drain("ProcessorFunction")
    after = detail(stack, conv["id"])
    assert after["rating"] is None and after["status"] == "resolved"
    assert metrics(stack)["csat"]["responses"] == 0


def test_a_web_chat_visitor_rates_with_the_buttons(stack):
    from switchboard.errors import BadRequest
    from switchboard.services import webchat
    from tests.integration.test_webchat import visitor

    in_channel(stack)
    _, me = visitor(name="Eve")
    webchat.post_message(me, {"client_message_id": "c-00000001", "text": "hi there"})
    stack.drain("ProcessorFunction")
    (conv,) = api(stack, "GET", "/api/conversations", query="channel=webchat").json()["items"]
    resolved(stack, conv["id"])
    assert run(stack, "SurveyFunction")["done"] == 1
    (asked,) = [m for m in webchat.list_messages(me)["items"] if m.get("choices")]
    choice = asked["choices"][3]
    webchat.post_message(me, {"client_message_id": "c-00000002", "text": choice["title"], "payload": choice["id"]})
    stack.drain("ProcessorFunction")
    assert detail(stack, conv["id"])["rating"] == 4 and detail(stack, conv["id"])["status"] == "resolved"
    with pytest.raises(BadRequest):
        webchat.post_message(me, {"client_message_id": "c-00000003", "text": "x", "payload": "\u00e9" * 3})


@pytest.mark.parametrize("channel", ["messenger", "instagram"])
def test_a_messenger_or_instagram_customer_rates_with_a_quick_reply_and_quotes_go_as_reply_to(stack, channel):
    from tests.integration.test_meta_messaging import conversation_of, post

    page, psid = "1122334455", f"PSID{channel}"

    def customer(mid: str, **message: Any) -> None:
        post(stack, channel, {"id": page, "time": clock.epoch() * 1000, "messaging": [
            {"sender": {"id": psid}, "recipient": {"id": page}, "timestamp": clock.epoch() * 1000,
             "message": {"mid": mid, **message}}]})

    in_channel(stack)
    customer("m_in_1", text="Do you have it in blue?")
    conv = conversation_of(stack, psid)
    asked = by_text(stack, conv["id"], "Do you have it in blue?")
    assert reply(stack, conv["id"], "Yes, in blue too", reply_to=asked["id"]).status == 202
    stack.drain("SenderFunction")
    (quoted,) = [i["body"] for i in sent(stack, channel) if i["body"].get("message", {}).get("text") == "Yes, in blue too"]
    assert quoted["reply_to"] == {"mid": "m_in_1"}
    assert api(stack, "POST", f"/api/conversations/{conv['id']}/resolve").status == 200
    assert run(stack, "SurveyFunction")["done"] == 1
    (question,) = [i["body"] for i in sent(stack, channel) if i["body"].get("message", {}).get("quick_replies")]
    quick = question["message"]["quick_replies"]
    assert [q["title"] for q in quick] == ["1 Poor", "2 Fair", "3 Good", "4 Very good", "5 Excellent"]
    customer("m_in_2", text=quick[1]["title"], quick_reply={"payload": quick[1]["payload"]})
    after = detail(stack, conv["id"])
    assert after["rating"] == 2 and after["status"] == "resolved"

"""Rich replies (issue 13) in a real browser: an agent quotes a customer's message with "Reply" and sees the quote in
the composer, in the sent message and in WhatsApp's context; a reply that failed gets a Retry button, which sends it
again once however often it is clicked. Screenshots in screenshots/."""

from __future__ import annotations

import uuid

import pytest

from tests.browser.test_frontend import expect, shot, sign_in
from tests.integration.test_whatsapp_flow import wa_message, wa_payload


@pytest.fixture
def customer(local_stack):
    """A WhatsApp customer who just wrote two messages, by the stack's clock (other tests move it)."""
    s, tag = local_stack, uuid.uuid4().hex[:8]
    sender, name, now = "1555" + str(uuid.uuid4().int)[:7], f"Quinn {tag}", s.request("GET", "/_local/clock").json()["epoch"]
    texts = ["Hello, where is my order #1234?", "Also, can I change the delivery address to Elm Street 5?"]
    messages = [wa_message(f"wamid.quote.{tag}.{i}", sender=sender, text=t) | {"timestamp": str(now)}
                for i, t in enumerate(texts)]
    assert s.post_meta("whatsapp", wa_payload(*messages, sender=sender, name=name)).status == 200
    conv = s.wait_for(lambda: next((c for c in s.conversations(status="open", limit="100") if c["contact"]["name"] == name
                                    and len([m for m in s.messages(c["id"]) if m["direction"] == "inbound"]) == 2),
                                   None), 20)
    assert conv, f"the conversation of {name} did not land"
    # Whatever automation sends first (a greeting, by the stack's settings) has gone out before a test's fault is set
    assert s.wait_for(lambda: all(m["status"] not in ("queued", "sending") for m in s.messages(conv["id"])), 20)
    return conv | {"sender": sender, "tag": tag}


def open_conversation(page, customer: dict) -> None:
    page.get_by_test_id("conversation").filter(has_text=customer["contact"]["name"]).click()
    expect(page.locator("#conv-title")).to_have_text(customer["contact"]["name"])
    expect(page.get_by_test_id("reply-input")).to_be_enabled()


def whatsapp_sends(stack, recipient: str) -> list[dict]:
    return [i["body"] for i in stack.request("GET", "/_local/outbox").json()["items"]
            if i["channel"] == "whatsapp" and isinstance(i["body"], dict) and i["body"].get("to") == recipient]


def test_an_agent_quotes_a_customer_message_and_the_quote_goes_out_in_its_context(page, customer, local_stack):
    sign_in(page)
    open_conversation(page, customer)
    address = page.get_by_test_id("message").filter(has_text="Elm Street 5")
    # When the agent clicks Reply on the second message
    address.hover()
    address.get_by_test_id("message-reply").click()
    bar = page.get_by_test_id("reply-quote")
    expect(bar).to_be_visible()
    expect(bar).to_contain_text("Elm Street 5")
    expect(page.get_by_test_id("reply-input")).to_be_focused()
    page.get_by_test_id("reply-input").fill("Yes, I changed it to Elm Street 5.")
    shot(page, "rich-replies-quote-composer")
    page.get_by_test_id("reply-send").click()
    # Then the quote bar goes away, and the sent reply shows the quoted message above its text
    expect(bar).to_be_hidden()
    sent = page.get_by_test_id("message").filter(has_text="Yes, I changed it")
    quote = sent.get_by_test_id("message-quote")
    expect(quote).to_contain_text("Elm Street 5")
    expect(quote).to_contain_text(customer["contact"]["name"])
    expect(sent.get_by_test_id("delivery-status")).to_contain_text("sent", timeout=15_000)
    shot(page, "rich-replies-quote-sent")
    # And WhatsApp got it as a reply to that message (context.message_id)
    (body,) = [b for b in whatsapp_sends(local_stack, customer["sender"])
               if b.get("text", {}).get("body") == "Yes, I changed it to Elm Street 5."]
    assert body["context"] == {"message_id": f"wamid.quote.{customer['tag']}.1"}
    # A quote can be dropped before sending
    first = page.get_by_test_id("message").filter(has_text="where is my order")
    first.hover()
    first.get_by_test_id("message-reply").click()
    expect(bar).to_contain_text("where is my order")
    page.get_by_test_id("reply-quote-cancel").click()
    expect(bar).to_be_hidden()


def test_a_failed_reply_is_retried_with_its_button_once(page, customer, local_stack):
    sign_in(page)
    open_conversation(page, customer)
    fault = {"channel": "whatsapp", "status": 400, "count": 1,
             "body": {"error": {"message": "(#131026) Message undeliverable", "code": 131026}}}
    assert local_stack.request("POST", "/_local/sandbox/faults", fault).status == 200
    page.get_by_test_id("reply-input").fill("Your refund of 20 EUR is on its way.")
    page.get_by_test_id("reply-send").click()
    reply = page.get_by_test_id("message").filter(has_text="Your refund of 20 EUR")
    expect(reply.get_by_test_id("delivery-status")).to_contain_text("failed", timeout=15_000)
    retry = reply.get_by_test_id("message-retry")
    expect(retry).to_be_visible()
    shot(page, "rich-replies-retry-failed")
    # When the agent double-clicks Retry
    retry.dblclick()
    # Then it goes out once, and the button is gone
    expect(reply.get_by_test_id("delivery-status")).to_contain_text("sent", timeout=15_000)
    expect(reply.get_by_test_id("message-retry")).to_have_count(0)
    shot(page, "rich-replies-retry-sent")
    sends = [b for b in whatsapp_sends(local_stack, customer["sender"])
             if b.get("text", {}).get("body") == "Your refund of 20 EUR is on its way."]
    assert len(sends) == 2  # the failed attempt and the retry: never a third
    (conv,) = [c for c in local_stack.conversations(status="open", limit="100")
               if c["contact"]["name"] == customer["contact"]["name"]]
    (message,) = [m for m in local_stack.messages(conv["id"]) if m["text"] == "Your refund of 20 EUR is on its way."]
    assert message["attempt"] == 1 and message["status"] in ("sent", "delivered", "read")


def test_a_web_chat_visitor_rates_with_the_survey_buttons_in_the_widget(page, local_stack):
    import json

    s, tag = local_stack, uuid.uuid4().hex[:8]
    before = s.api("GET", "/api/settings", role="admin").json()["survey"]
    assert s.api("PUT", "/api/settings", {"survey": {"enabled": True, "in_channel": True, "delay_minutes": 0}},
                 role="admin").status == 200
    try:
        # Given a visitor's chat, answered and resolved, and the survey job run
        session = s.request("POST", "/webchat/sessions", {"name": f"Vera {tag}"}, {"Origin": s.base}).json()
        auth = {"Authorization": f"Bearer {session['token']}"}
        assert s.request("POST", "/webchat/messages", {"client_message_id": f"rate-{tag}", "text": f"hi {tag}"},
                         auth).status == 201
        conv = s.wait_for(lambda: next((c for c in s.conversations(channel="webchat", limit="100")
                                        if c["contact"]["name"] == f"Vera {tag}"), None), 30)
        assert conv, "the chat did not land"
        assert s.api("POST", f"/api/conversations/{conv['id']}/messages", {"text": f"Done {tag}"}).status == 202
        assert s.api("POST", f"/api/conversations/{conv['id']}/resolve").status == 200
        assert s.request("POST", "/_local/run/SurveyFunction", b"").status == 200
        # When the visitor opens the widget, sees the question with its buttons and picks 5
        saved = json.dumps(json.dumps({"visitor_id": session["visitor_id"]}))
        page.add_init_script(f"localStorage.setItem('switchboard:default', {saved})")
        page.goto("/widget-demo.html")
        page.locator(".launcher").click()
        buttons = page.locator(".msg.agent .choices button")
        expect(buttons).to_have_count(5, timeout=20_000)
        shot(page, "rich-replies-widget-survey")
        buttons.filter(has_text="5 Excellent").click()
        expect(buttons.first).to_be_disabled()
        # Then the rating is recorded, and the conversation stays resolved
        rated = s.wait_for(lambda: (d := s.api("GET", f"/api/conversations/{conv['id']}").json())["rating"] and d, 20)
        assert rated and rated["rating"] == 5 and rated["status"] == "resolved"
        expect(page.locator(".msg.agent", has_text="Thank you for your rating")).to_be_visible(timeout=20_000)
        shot(page, "rich-replies-widget-rated")
    finally:
        s.api("PUT", "/api/settings", {"survey": before}, role="admin")

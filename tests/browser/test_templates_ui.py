"""The agents' app, templates capability: a WhatsApp template picked past the 24-hour window (variables, live
preview, media header, buttons), a conversation started with a new phone number (WhatsApp template, SMS), and
canned responses whose variables are filled when inserted. Screenshots land in tests/browser/screenshots/."""

from __future__ import annotations

import uuid

from tests.browser.test_frontend import browser, expect, open_conversation, page, shot, sign_in  # noqa: F401  (fixtures)


def sandbox_sends(stack, channel: str) -> list[dict]:
    return [i for i in stack.request("GET", "/_local/outbox").json()["items"] if i["channel"] == channel]


def synced(stack) -> None:
    assert stack.api("POST", "/api/templates/sync", role="admin").status == 200


def test_an_agent_picks_a_template_past_the_window_and_it_is_sent(page, customer, local_stack):  # noqa: F811
    synced(local_stack)
    assert local_stack.request("POST", "/_local/clock", {"advance_seconds": 25 * 3600}).status == 200
    sign_in(page)
    open_conversation(page, customer)
    expect(page.get_by_test_id("reply-window")).to_contain_text("or send an approved template")
    page.get_by_test_id("open-template").click()
    picker = page.get_by_test_id("template-picker")
    expect(picker).to_be_visible()
    page.get_by_test_id("template-select").select_option(label="order_update (en_US) · utility")
    inputs = picker.get_by_test_id("template-var")
    expect(inputs).to_have_count(4)  # the media header's link, the three body values, the button's link
    expect(page.get_by_test_id("template-header")).to_have_value("https://shop.example.com/images/parcel.png")
    first_name = customer["contact"]["name"].split()[0]
    expect(page.locator("#tpl-body-0")).to_have_value(first_name)  # the customer's first name, prefilled
    page.locator("#tpl-body-1").fill("#1234")
    page.locator("#tpl-body-2").fill("Friday")
    expect(page.get_by_test_id("template-send")).to_be_disabled()  # the button's value is still missing
    page.locator("#tpl-button-0").fill("1234")
    preview = page.get_by_test_id("template-preview")
    expect(preview).to_contain_text(f"Hi {first_name}, your order #1234 has shipped and should arrive by Friday.")
    expect(preview).to_contain_text("Track order")
    expect(preview).to_contain_text("Example Shop")
    shot(page, "20-template-picker")
    page.get_by_test_id("template-send").click()
    sent = page.get_by_test_id("message").filter(has_text="your order #1234 has shipped")
    expect(sent).to_be_visible()
    expect(sent.get_by_test_id("delivery-status")).to_contain_text("sent", timeout=15_000)
    shot(page, "21-template-sent")
    call = local_stack.wait_for(lambda: next((c for c in sandbox_sends(local_stack, "whatsapp")
                                              if c["body"].get("to") == customer["sender"]
                                              and c["body"].get("type") == "template"), None))
    assert call and call["body"]["template"]["name"] == "order_update"
    assert call["body"]["template"]["components"][1]["parameters"][0]["text"] == first_name


def test_a_text_reply_past_the_window_points_to_the_picker(page, customer, local_stack):  # noqa: F811
    synced(local_stack)
    assert local_stack.request("POST", "/_local/clock", {"advance_seconds": 25 * 3600}).status == 200
    sign_in(page)
    open_conversation(page, customer)
    expect(page.get_by_test_id("use-template")).to_be_visible()
    page.get_by_test_id("use-template").click()
    expect(page.get_by_test_id("template-picker")).to_be_visible()


def test_an_agent_starts_a_whatsapp_conversation_with_a_new_number(page, local_stack):  # noqa: F811
    synced(local_stack)
    number = f"+44 20 7946 {uuid.uuid4().int % 10000:04d}"
    sign_in(page)
    page.get_by_test_id("new-conversation").click()
    dialog = page.get_by_test_id("newconv-dialog")
    expect(dialog).to_be_visible()
    page.get_by_test_id("newconv-channel").select_option("whatsapp")
    page.get_by_test_id("newconv-address").fill(number)
    page.get_by_test_id("template-select").select_option(label="support_followup (en_US) · utility")
    page.get_by_test_id("template-header").fill("#5521")
    page.locator("#tpl-body-0").fill("Bea")
    expect(page.get_by_test_id("template-preview")).to_contain_text("About your request #5521")
    expect(page.get_by_test_id("template-preview")).to_contain_text("Hello Bea, we are getting back to you")
    shot(page, "22-new-conversation-whatsapp")
    page.get_by_test_id("newconv-submit").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("message").filter(has_text="Hello Bea, we are getting back")).to_be_visible()
    expect(page.locator("#conv-title")).to_have_text("+" + "".join(c for c in number if c.isdigit()))
    expect(page.get_by_test_id("reply-window")).to_contain_text("or send an approved template")
    expect(page.get_by_test_id("assignee")).to_have_text("Assigned to me")
    shot(page, "23-new-conversation-started")


def test_an_agent_starts_an_sms_conversation_with_a_typed_number(page, local_stack):  # noqa: F811
    number = f"+1 415 555 {uuid.uuid4().int % 100:04d}"
    sign_in(page)
    page.get_by_test_id("new-conversation").click()
    page.get_by_test_id("newconv-channel").select_option("sms")
    page.get_by_test_id("newconv-address").fill("not a number")
    page.get_by_test_id("newconv-text").fill("Your repair is ready for pick-up.")
    page.get_by_test_id("newconv-submit").click()
    expect(page.get_by_test_id("newconv-error")).to_contain_text("international form")
    page.get_by_test_id("newconv-address").fill(number)
    shot(page, "24-new-conversation-sms")
    page.get_by_test_id("newconv-submit").click()
    expect(page.get_by_test_id("message").filter(has_text="ready for pick-up")).to_be_visible()
    e164 = "+" + "".join(c for c in number if c.isdigit())
    assert local_stack.wait_for(lambda: any(f"To={e164.replace('+', '%2B')}" in c["body"]
                                            for c in sandbox_sends(local_stack, "twilio")))


def test_canned_variables_are_filled_when_inserted(page, customer, local_stack):  # noqa: F811
    shortcut = f"hi{uuid.uuid4().hex[:6]}"
    created = local_stack.api("POST", "/api/canned-responses", {
        "shortcut": shortcut, "text": "Hello {{contact.first_name}}, {{agent.name}} here about {{conversation.id}}."})
    assert created.status == 201
    sign_in(page, email="ann.lee@example.com")
    open_conversation(page, customer)
    page.get_by_test_id("mode-note").check()  # canned responses work in notes too; the window may have closed
    page.get_by_test_id("reply-input").fill(f"/{shortcut}")
    page.keyboard.press("Tab")
    first = customer["contact"]["name"].split()[0]
    expect(page.get_by_test_id("reply-input")).to_have_value(
        f"Hello {first}, Ann Lee here about {customer['id']}.")
    shot(page, "25-canned-variables")


def test_an_sms_stop_shows_in_the_conversation_and_the_panel_and_a_reply_says_why_it_is_not_sent(page, local_stack):  # noqa: F811
    import urllib.parse

    from tests.e2e.conftest import SECRETS
    from tests.support.signing import twilio_signature

    number = f"+1415555{uuid.uuid4().int % 10000:04d}"

    def customer_texts(body: str) -> None:
        params = {"MessageSid": f"SM{uuid.uuid4().hex}", "AccountSid": "AC1", "From": number, "To": "+15550001111",
                  "Body": body, "NumMedia": "0", "SmsStatus": "received"}
        signature = twilio_signature(SECRETS["TWILIO_AUTH_TOKEN"], local_stack.base + "/webhooks/sms", params)
        assert local_stack.request("POST", "/webhooks/sms", urllib.parse.urlencode(params).encode(),
                                   {"Content-Type": "application/x-www-form-urlencoded",
                                    "X-Twilio-Signature": signature}).status == 200

    customer_texts("Is my repair done?")
    conv = local_stack.wait_for(lambda: next((c for c in local_stack.conversations(status="open", limit="100")
                                              if c["contact"]["display"] == number), None))
    assert conv
    assert local_stack.api("POST", f"/api/conversations/{conv['id']}/reopen").status == 200  # the clock may be late
    customer_texts("STOP")
    assert local_stack.wait_for(lambda: local_stack.api("GET", f"/api/contacts/{conv['contact']['id']}").json()
                                .get("opted_out") == ["sms"])
    sign_in(page)
    page.goto(f"/#/c/{conv['id']}")
    expect(page.get_by_test_id("opted-out-notice")).to_contain_text("opted out of SMS")
    if page.get_by_test_id("contact-panel").count() == 0:
        page.get_by_test_id("contact-toggle").click()
    expect(page.get_by_test_id("contact-opted-out")).to_contain_text("Opted out of SMS")
    page.get_by_test_id("reply-input").fill("Sorry to see you go")
    page.get_by_test_id("reply-send").click()
    expect(page.locator(".composer .form-error")).to_contain_text("Not sent: the customer opted out of SMS messages")
    shot(page, "26-opted-out")

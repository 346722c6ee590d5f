"""The live workspace (issue 15) in the browser: two agents see a new message at once with polling off, see each
other viewing and typing, a mention pops the other's notification; a crossed reply is stopped with the draft kept;
the app catches up after a dropped socket."""

from __future__ import annotations

import re
import time
import uuid

from playwright.sync_api import Page, expect

from tests.browser.conftest import new_whatsapp_conversation, settle
from tests.browser.test_frontend import LAPTOP, open_page, shot, sign_in
from tests.integration.test_whatsapp_flow import wa_message, wa_payload

NO_POLL = "sessionStorage.setItem('switchboard.noPoll', '1')"  # every view stops polling: push alone
NO_SOCKET = "window.WebSocket = undefined"  # no push either: the page shows only what it read at first


def agent(browser, local_stack, email: str, *scripts: str) -> tuple[Page, list[str]]:
    page, errors = open_page(browser, local_stack.base, LAPTOP)
    for script in scripts:
        page.add_init_script(script)
    sign_in(page, email)
    return page, errors


def row(page: Page, name: str):
    return page.get_by_test_id("conversation").filter(has_text=name)


def test_two_agents_work_live_without_polling(browser, local_stack):
    ann, ann_errors = agent(browser, local_stack, "ann@example.com", NO_POLL)
    bob, bob_errors = agent(browser, local_stack, "bob@example.com", NO_POLL)
    for page in (ann, bob):
        expect(page.locator("body[data-live=connected]")).to_have_count(1, timeout=15_000)
    # A new WhatsApp message appears in both inboxes, pushed (nobody polls)
    name = f"Liv {uuid.uuid4().hex[:6]}"
    conv = new_whatsapp_conversation(local_stack, name, ["Is my parcel on its way?"])
    for page in (ann, bob):
        expect(row(page, name)).to_be_visible(timeout=10_000)
    # Both open it: each sees the other viewing, in the conversation and in the inbox row
    for page in (ann, bob):
        row(page, name).click()
        expect(page.get_by_test_id("message").filter(has_text="Is my parcel on its way?")).to_be_visible()
    expect(bob.get_by_test_id("conv-presence")).to_contain_text("Ann is viewing", timeout=10_000)
    expect(ann.get_by_test_id("conv-presence")).to_contain_text("Bob is viewing", timeout=10_000)
    expect(row(bob, name).get_by_test_id("row-presence")).to_contain_text("Ann is viewing")
    # Ann types: Bob sees it
    ann.get_by_test_id("reply-input").press_sequentially("On its way")
    expect(bob.get_by_test_id("conv-presence")).to_contain_text("Ann is typing…", timeout=10_000)
    shot(bob, "live-01-colleague-typing")
    # Ann answers: Bob's view shows her reply at once
    ann.get_by_test_id("reply-input").fill("On its way, it arrives tomorrow.")
    ann.get_by_test_id("reply-send").click()
    expect(bob.get_by_test_id("message").filter(has_text="it arrives tomorrow")).to_be_visible(timeout=10_000)
    # Ann mentions Bob in a note: his bell counts it, and the list names it
    bob_unread_before = bob.get_by_test_id("notifications-count").inner_text() or "0"
    local_stack.api("PUT", "/api/me/availability", {"available": False}, role="agent")  # agent@ known too
    ann.get_by_test_id("mode-note").check()
    ann.get_by_test_id("reply-input").press_sequentially("@bo")  # @ offers the agents: Bob has the app open
    ann.get_by_test_id("mention-option").filter(has_text="@bob@example.com").click()
    expect(ann.get_by_test_id("reply-input")).to_have_value("@bob@example.com ")
    ann.get_by_test_id("reply-input").press_sequentially("can you check the courier?")
    ann.get_by_test_id("reply-send").click()
    expect(bob.get_by_test_id("notifications-count")).to_have_text(str(int(bob_unread_before) + 1), timeout=10_000)
    expect(bob).to_have_title(re.compile(r"^\(\d+\) "))
    bob.get_by_test_id("notifications-bell").click()
    expect(bob.get_by_test_id("notification").first).to_contain_text("Ann mentioned you in a note")
    shot(bob, "live-02-mention-notification")
    bob.get_by_test_id("notification").first.locator("a").click()
    left = int(bob_unread_before)  # the opened one is read now
    expect(bob.locator("[data-testid=notification].is-unread")).to_have_count(left)
    if left:
        expect(bob.get_by_test_id("notifications-count")).to_have_text(str(left))
    else:
        expect(bob.get_by_test_id("notifications-count")).to_be_hidden()
    # The socket drops: the app reconnects and catches up with what it missed
    bob.evaluate("window.switchboardLive.drop()")
    assert local_stack.post_meta("whatsapp", wa_payload(wa_message(f"wamid.{uuid.uuid4().hex}", sender=conv["sender"],
                                                                   text="Thanks, and the invoice?"),
                                                        sender=conv["sender"], name=name)).status == 200
    expect(bob.get_by_test_id("message").filter(has_text="and the invoice?")).to_be_visible(timeout=15_000)
    for page in (ann, bob):
        page.context.close()
    assert not ann_errors and not bob_errors, (ann_errors, bob_errors)


def test_a_reply_that_would_cross_a_new_message_is_stopped_and_the_draft_kept(browser, local_stack):
    # A page that hears nothing new (no push, no polling): the customer writes meanwhile
    page, errors = agent(browser, local_stack, "cy@example.com", NO_POLL, NO_SOCKET)
    name = f"Cro {uuid.uuid4().hex[:6]}"
    conv = new_whatsapp_conversation(local_stack, name, ["Can I change the address?"])
    page.goto(f"/#/c/{conv['id']}")
    expect(page.get_by_test_id("message").filter(has_text="change the address")).to_be_visible()
    # (WhatsApp's timestamps are in seconds: messages of the same second are ordered by id, which `after` cannot
    # tell apart, so the customer's second message comes a second later, as a person's would)
    time.sleep(1.1)
    assert local_stack.post_meta("whatsapp", wa_payload(wa_message(f"wamid.{uuid.uuid4().hex}", sender=conv["sender"],
                                                                   text="Never mind, it is fine."),
                                                        sender=conv["sender"], name=name)).status == 200
    local_stack.wait_for(lambda: any(m["text"] == "Never mind, it is fine." for m in local_stack.messages(conv["id"])))
    page.get_by_test_id("reply-input").fill("Sure, what is the new address?")
    page.get_by_test_id("reply-send").click()
    expect(page.get_by_text("Not sent: a new message arrived")).to_be_visible()
    expect(page.get_by_test_id("message").filter(has_text="Never mind, it is fine.")).to_be_visible()
    expect(page.get_by_test_id("reply-input")).to_have_value("Sure, what is the new address?")
    assert not [m for m in local_stack.messages(conv["id"]) if m["direction"] == "outbound" and m["type"] != "note"
                and "new address" in m["text"]]
    shot(page, "live-03-crossed-reply-stopped")
    page.context.close()
    assert not errors, errors


def test_the_widget_shows_an_agents_reply_and_typing_pushed_without_polling(browser, local_stack):
    s, tag = local_stack, uuid.uuid4().hex[:8]
    page, errors = open_page(browser, s.base, LAPTOP)
    reads: list[float] = []
    page.on("request", lambda r: reads.append(time.monotonic()) if "/webchat/messages" in r.url
            and r.method == "GET" else None)
    sockets = []
    page.on("websocket", lambda ws: sockets.append(ws))
    page.goto("/widget-demo.html")
    page.locator(".launcher").click()
    page.locator("textarea").fill(f"Hello from the widget {tag}")
    page.locator("textarea").press("Enter")

    def conversation():
        for conv in s.conversations(channel="webchat", limit="100"):
            if any(m["text"] == f"Hello from the widget {tag}" for m in s.messages(conv["id"])):
                return conv
        return None

    conv = s.wait_for(conversation, 30)
    assert conv, "the widget's chat did not land"
    settle(s, conv["id"])  # the greeting is pushed and read before the quiet time is measured
    expect(page.locator(".msg.agent").first).to_be_visible(timeout=10_000)
    for _ in range(100):  # Playwright delivers its events while it is called: wait through it
        if [ws for ws in sockets if not ws.is_closed()]:
            break
        page.wait_for_timeout(200)
    assert [ws for ws in sockets if not ws.is_closed()], "the widget opened no socket"
    # Connected: it stops polling every few seconds
    page.wait_for_timeout(1500)
    quiet_from = time.monotonic()
    page.wait_for_timeout(5000)
    assert not [t for t in reads if t > quiet_from], "the widget polled while its socket was up"
    # An agent types, then answers: both reach the visitor at once
    agent_tab, agent_errors = agent(browser, s, "dee@example.com", NO_POLL)
    agent_tab.goto(f"/#/c/{conv['id']}")
    agent_tab.get_by_test_id("reply-input").press_sequentially("Hi")
    expect(page.get_by_text("An agent is typing…")).to_be_visible(timeout=10_000)
    agent_tab.get_by_test_id("reply-input").fill(f"Hi, how can I help? {tag}")
    agent_tab.get_by_test_id("reply-send").click()
    expect(page.locator(".msg.agent", has_text=f"how can I help? {tag}")).to_be_visible(timeout=10_000)
    shot(page, "live-04-widget-reply-pushed")
    for p in (page, agent_tab):
        p.context.close()
    assert not errors and not agent_errors, (errors, agent_errors)

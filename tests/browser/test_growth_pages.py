"""Growth in the agents' app, in Chromium against the local stack: an admin creates a WhatsApp link on the Links page
and its QR code on screen decodes to the link; a customer writing through it shows the link as the source chip in the
inbox row and the conversation header; the Audit page lists the admin's actions, filtered.
Screenshots: tests/browser/screenshots/growth-*.png."""

from __future__ import annotations

import io
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

# The tier's fixtures and helpers (importing the module also skips this one without chromium).
from tests.browser.test_frontend import LAPTOP, open_page, shot, sign_in
from tests.integration.test_whatsapp_flow import wa_message, wa_payload


def test_an_admin_creates_a_whatsapp_link_whose_qr_code_decodes_to_it(page, local_stack):
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    sign_in(page, "ann.admin@example.com", role="admin")
    page.get_by_test_id("nav-links").click()
    expect(page.get_by_test_id("links-page")).to_be_visible()
    name = f"Website header {uuid.uuid4().hex[:4]}"
    page.get_by_test_id("link-name").fill(name)
    page.get_by_test_id("link-channel").select_option("whatsapp")
    page.get_by_test_id("link-text").fill("Hi! I have a question")
    page.get_by_test_id("link-create").click()
    item = page.get_by_test_id("link-item").filter(has_text=name)
    expect(item).to_be_visible()
    url = item.get_by_test_id("link-url").inner_text()
    assert url.startswith("https://wa.me/15550001111?text=")
    qr = item.get_by_test_id("link-qr")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=qr.element_handle())
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.screenshot())))
    assert [d.text for d in decoded] == [url]  # what an agent's phone reads off the screen
    assert "wa.me" in item.get_by_test_id("link-snippet").input_value()
    with page.expect_download() as download:
        item.get_by_test_id("link-download-png").click()
    png = download.value.path().read_bytes()
    assert [d.text for d in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))] == [url]
    shot(page, "growth-links-page")

    # a customer scans it and writes: the pre-filled text carries the reference
    text = parse_qs(urlsplit(url).query)["text"][0]
    sender = "1555" + str(uuid.uuid4().int)[:7]
    customer = f"Scan {uuid.uuid4().hex[:5]}"
    assert local_stack.post_meta("whatsapp", wa_payload(wa_message(f"wamid.qr.{sender}", sender=sender, text=text),
                                                        sender=sender, name=customer)).status == 200
    page.get_by_test_id("nav-inbox").click()
    row = page.get_by_test_id("conversation").filter(has_text=customer)
    expect(row.get_by_test_id("source-chip")).to_contain_text(name, timeout=20_000)
    row.click()
    expect(page.locator("#conv-title")).to_have_text(customer)
    expect(page.locator(".conv-header").get_by_test_id("source-chip")).to_contain_text(name)
    expect(page.get_by_test_id("message").filter(has_text="Hi! I have a question")).to_be_visible()
    expect(page.get_by_test_id("message").filter(has_text="sb_")).to_have_count(0)  # not noise in the text
    shot(page, "growth-source-chip")
    # the link's own list of conversations
    page.get_by_test_id("nav-links").click()
    item = page.get_by_test_id("link-item").filter(has_text=name)
    item.get_by_test_id("link-conversations").click()
    expect(item.get_by_role("link", name=customer)).to_be_visible()


def test_the_audit_page_lists_the_admins_actions_and_agents_cannot_see_it(page, browser, local_stack):
    admin = f"audit.{uuid.uuid4().hex[:5]}@example.com"
    sign_in(page, admin, role="admin")
    page.get_by_test_id("nav-links").click()
    page.get_by_test_id("link-name").fill("Audit me")
    page.get_by_test_id("link-create").click()
    expect(page.get_by_test_id("link-item").filter(has_text="Audit me").first).to_be_visible()
    page.get_by_test_id("nav-audit").click()
    expect(page.get_by_test_id("audit-page")).to_be_visible()
    page.get_by_test_id("audit-actor").fill(admin)
    page.get_by_test_id("audit-apply").click()
    rows = page.get_by_test_id("audit-row")
    expect(rows.first).to_contain_text("link.create")
    expect(rows).to_have_count(1)
    page.get_by_test_id("audit-action").fill("contact.")
    page.get_by_test_id("audit-apply").click()
    expect(rows).to_have_count(0)
    expect(page.get_by_role("status").filter(has_text="Nothing recorded")).to_be_visible()
    page.get_by_test_id("audit-action").fill("")
    page.get_by_test_id("audit-apply").click()
    expect(rows).to_have_count(1)
    shot(page, "growth-audit-page")
    # an agent has neither the page in the menu nor the API
    agent_page, _ = open_page(browser, local_stack.base, LAPTOP)
    try:
        sign_in(agent_page, "agent@example.com")
        expect(agent_page.get_by_test_id("nav-links")).to_be_visible()
        expect(agent_page.get_by_test_id("nav-audit")).to_have_count(0)
        expect(agent_page.get_by_test_id("link-create")).to_have_count(0)
    finally:
        agent_page.context.close()
    assert local_stack.api("GET", "/api/audit").status == 403

"""Reports in the agents' app, in Chromium against the local stack: the Reports page shows each agent's figures as a
table and charts and downloads them as CSV, admins export the conversations; admins register an endpoint for events
(its secret shown once), send it a test event and read its delivery log; the inbox filters by source (an entry link).
Screenshots: tests/browser/screenshots/reports-*.png."""

from __future__ import annotations

import csv
import io
import re
import uuid
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect

# The tier's fixtures and helpers (importing the module also skips this one without chromium).
from tests.browser.conftest import new_whatsapp_conversation
from tests.browser.test_frontend import LAPTOP, open_page, shot, sign_in
from tests.e2e.test_growth_e2e import receiver  # noqa: F401  (the fixture)
from tests.integration.test_whatsapp_flow import wa_message, wa_payload


def test_the_agents_report_shows_an_agents_figures_and_downloads_as_csv(page, local_stack):
    admin = f"rep.{uuid.uuid4().hex[:5]}@example.com"
    customer = new_whatsapp_conversation(local_stack, f"Rita {uuid.uuid4().hex[:6]}", ["Where is my parcel?"])
    sign_in(page, admin, role="admin")
    # the admin answers and resolves it in the app: a first response and a resolution to their name
    page.get_by_test_id("conversation").filter(has_text=customer["contact"]["name"]).click()
    page.get_by_test_id("reply-input").fill("It left our warehouse today.")
    page.get_by_test_id("reply-send").click()
    expect(page.get_by_test_id("message").filter(has_text="It left our warehouse")).to_be_visible()
    page.get_by_test_id("resolve").click()
    expect(page.get_by_test_id("reopen")).to_be_visible()

    page.get_by_test_id("nav-reports").click()
    expect(page.get_by_test_id("reports")).to_be_visible()
    page.get_by_test_id("reports-dimension").select_option("agents")
    mine = page.locator(f'[data-testid="report-row"][data-key="{admin}"]')
    expect(mine).to_be_visible()
    cells = mine.locator("td")
    expect(cells.nth(0)).to_have_text("1")  # handled: answered and resolved by them
    expect(cells.nth(1)).to_have_text("1")  # resolved
    expect(cells.nth(2)).to_have_text(re.compile(r"\d"))  # a first response time
    expect(page.locator(".reports-page svg.chart").first).to_be_visible()
    shot(page, "reports-agents")

    with page.expect_download() as download:
        page.get_by_test_id("report-csv").click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    (row,) = [r for r in rows if r["key"] == admin]
    assert row["resolved"] == "1" and row["first_response_p50_seconds"] != ""

    page.get_by_test_id("reports-dimension").select_option("channels")
    expect(page.locator('[data-testid="report-row"][data-key="whatsapp"]')).to_be_visible()
    shot(page, "reports-channels")

    with page.expect_download() as download:
        page.get_by_test_id("export-conversations").click()
    exported = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    (mine_exported,) = [r for r in exported if r["id"] == customer["id"]]
    assert mine_exported["resolved_by"] == admin and mine_exported["status"] == "resolved"


def test_agents_see_reports_but_no_export_nor_endpoints(browser, local_stack):
    agent_page, errors = open_page(browser, local_stack.base, LAPTOP)
    sign_in(agent_page, "agent@example.com", role="agent")
    expect(agent_page.get_by_test_id("nav-webhooks")).to_have_count(0)
    agent_page.get_by_test_id("nav-reports").click()
    expect(agent_page.get_by_test_id("reports")).to_be_visible()
    expect(agent_page.get_by_test_id("report-csv")).to_be_visible()
    expect(agent_page.get_by_test_id("export-conversations")).to_have_count(0)
    agent_page.context.close()
    assert not errors


def test_an_admin_registers_an_endpoint_sees_its_secret_once_and_tests_it(page, local_stack, receiver):  # noqa: F811
    sign_in(page, "hooks.admin@example.com", role="admin")
    page.get_by_test_id("nav-webhooks").click()
    expect(page.get_by_test_id("webhooks-page")).to_be_visible()
    page.get_by_test_id("webhook-url").fill(receiver.url)
    page.get_by_test_id("webhook-create").click()
    secret = page.get_by_test_id("webhook-secret-value")
    expect(secret).to_be_visible()
    assert len(secret.inner_text()) >= 20
    shot(page, "reports-webhook-secret")
    card = page.get_by_test_id("webhook").filter(has_text=receiver.url)
    expect(card).to_be_visible()
    card.get_by_test_id("webhook-test").click()
    expect(card).to_contain_text("Delivered: HTTP 200", timeout=20_000)
    expect(card.get_by_test_id("webhook-delivery").first).to_contain_text("webhook.test")
    assert any(h.get("x-switchboard-signature", "").startswith("sha256=") for h, _, _ in receiver.got)
    card.get_by_test_id("webhook-deliveries").scroll_into_view_if_needed()
    shot(page, "reports-webhooks-page")
    # after a reload the secret is gone for good: only the list remains
    page.reload()
    expect(page.get_by_test_id("webhook").filter(has_text=receiver.url)).to_be_visible()
    expect(page.get_by_test_id("webhook-secret-value")).to_have_count(0)
    page.once("dialog", lambda d: d.accept())
    page.get_by_test_id("webhook").filter(has_text=receiver.url).get_by_test_id("webhook-delete").click()
    expect(page.get_by_test_id("webhook").filter(has_text=receiver.url)).to_have_count(0)


def test_the_inbox_filters_by_source(page, local_stack):
    name = f"Poster {uuid.uuid4().hex[:4]}"
    link = local_stack.api("POST", "/api/links", {"name": name, "channel": "whatsapp", "text": "Hi"}, role="admin").json()
    text = parse_qs(urlsplit(link["url"]).query)["text"][0]
    sender = "1555" + str(uuid.uuid4().int)[:7]
    via = f"Via {uuid.uuid4().hex[:5]}"
    assert local_stack.post_meta("whatsapp", wa_payload(wa_message(f"wamid.src.{sender}", sender=sender, text=text),
                                                        sender=sender, name=via)).status == 200
    other = new_whatsapp_conversation(local_stack, f"Plain {uuid.uuid4().hex[:5]}", ["No link here"])
    sign_in(page, "agent@example.com", role="agent")
    expect(page.get_by_test_id("conversation").filter(has_text=other["contact"]["name"])).to_be_visible()
    page.get_by_test_id("filter-source").select_option(label=name)
    expect(page.get_by_test_id("conversation").filter(has_text=via)).to_be_visible(timeout=20_000)
    expect(page.get_by_test_id("conversation").filter(has_text=other["contact"]["name"])).to_have_count(0)
    expect(page.get_by_test_id("conversation")).to_have_count(1)
    shot(page, "reports-inbox-source-filter")
    page.get_by_test_id("filter-source").select_option("")  # back to any source, for the other tests

"""Organizing the queue in the agents' app (issue 14), in Chromium against the local stack: snooze a conversation and
see it wake after the clock moves; bulk-resolve three conversations; the inbox sorted by SLA time left; priority and
custom attributes in the conversation's header. Screenshots land in tests/browser/screenshots/ (organize-*)."""

from __future__ import annotations

import re
import uuid

from tests.browser import test_frontend
from tests.browser.conftest import new_whatsapp_conversation
from tests.browser.test_frontend import expect, open_conversation, row, shot, sign_in

browser = test_frontend.browser  # the fixtures of test_frontend.py: Chromium, and a page on the local stack
page = test_frontend.page


def filter_inbox(page, name: str, value: str) -> None:
    page.locator(f"#filter-{name}").select_option(value)


def test_snooze_and_see_it_wake_after_the_clock_moves(page, customer, local_stack):
    sign_in(page)
    open_conversation(page, customer)
    # The agent snoozes it for an hour: the header says when it wakes, the open inbox no longer lists it
    page.get_by_test_id("snooze-select").select_option("1h")
    expect(page.get_by_test_id("snoozed-until")).to_contain_text("wakes")
    expect(page.get_by_test_id("conv-status")).to_have_text("snoozed")
    expect(row(page, customer)).to_have_count(0)
    filter_inbox(page, "status", "snoozed")
    expect(row(page, customer)).to_be_visible()
    expect(row(page, customer).get_by_test_id("snoozed-until")).to_contain_text("wakes")
    shot(page, "organize-01-snoozed")
    # The clock moves past the hour and the timers run: it is open again, at the top of the inbox
    assert local_stack.request("POST", "/_local/clock", {"advance_seconds": 3660}).status == 200
    assert local_stack.request("POST", "/_local/run/TimersFunction", b"").status == 200
    filter_inbox(page, "status", "open")
    expect(row(page, customer)).to_be_visible(timeout=15_000)
    expect(page.get_by_test_id("conversation").first).to_contain_text(customer["contact"]["name"])
    expect(page.get_by_test_id("conv-status")).to_have_text("open", timeout=15_000)
    expect(page.get_by_test_id("snoozed-until")).to_have_count(0)
    shot(page, "organize-02-woken")


def test_bulk_resolve_three_conversations(page, local_stack):
    tag = uuid.uuid4().hex[:5]
    made = [new_whatsapp_conversation(local_stack, f"Bulk {tag} {n}", [f"bulk question {n}"]) for n in range(3)]
    sign_in(page)
    for conv in made:
        expect(row(page, conv)).to_be_visible()
    # Tick the first, shift-click the last: the three (the newest, side by side) are selected
    page.locator("li.conv-item", has=row(page, made[2])).get_by_test_id("conversation-select").click()
    page.locator("li.conv-item", has=row(page, made[0])).get_by_test_id("conversation-select").click(modifiers=["Shift"])
    expect(page.get_by_test_id("bulk-count")).to_have_text("3 selected")
    shot(page, "organize-03-bulk-selected")
    page.get_by_test_id("bulk-resolve").click()
    expect(page.locator(".toast")).to_contain_text("3 conversations: resolve done")
    for conv in made:
        expect(row(page, conv)).to_have_count(0)
    expect(page.get_by_test_id("bulk-bar")).to_be_hidden()
    shot(page, "organize-04-bulk-resolved")
    for conv in made:
        assert local_stack.api("GET", f"/api/conversations/{conv['id']}").json()["status"] == "resolved"


def test_the_inbox_sorted_by_sla_time_left_shows_breached_first(page, local_stack):
    before = local_stack.api("GET", "/api/settings", role="admin").json()
    sla = {"enabled": True, "first_response_minutes": 30, "next_response_minutes": 30, "resolution_minutes": None,
           "warn_before_minutes": 10, "business_hours_only": False}
    assert local_stack.api("PUT", "/api/settings", {"sla": sla}, role="admin").status == 200
    try:
        tag = uuid.uuid4().hex[:5]
        made = []
        for n in range(3):  # each due 30 minutes after its message; 20 minutes between them
            if n:
                local_stack.request("POST", "/_local/clock", {"advance_seconds": 20 * 60})
            made.append(new_whatsapp_conversation(local_stack, f"Sla {tag} {n}", [f"sla question {n}"]))
        local_stack.request("POST", "/_local/run/TimersFunction", b"")  # the first is 10 minutes late: breached
        sign_in(page)
        filter_inbox(page, "sort", "sla_due")
        rows = page.get_by_test_id("conversation").filter(has_text=f"Sla {tag}")
        expect(rows).to_have_count(3)
        expect(rows.nth(0)).to_contain_text(f"Sla {tag} 0")
        expect(rows.nth(1)).to_contain_text(f"Sla {tag} 1")
        expect(rows.nth(2)).to_contain_text(f"Sla {tag} 2")
        states = [rows.nth(i).get_by_test_id("sla-badge").get_attribute("data-state") for i in range(3)]
        assert states == ["breached", "soon", "ok"], states
        expect(rows.nth(0).get_by_test_id("sla-badge")).to_have_text(re.compile(r"^SLA .* over$"))
        expect(rows.nth(2).get_by_test_id("sla-badge")).to_have_text(re.compile(r"^SLA .* left$"))
        shot(page, "organize-05-sla-sorted")
    finally:
        local_stack.api("PUT", "/api/settings", {"sla": before["sla"]}, role="admin")
        page.evaluate("sessionStorage.clear()")


def test_priority_and_custom_attributes_in_the_header_and_the_contact_panel(page, customer, local_stack):
    key = f"plan_{uuid.uuid4().hex[:4]}"
    assert local_stack.api("POST", "/api/attributes", {"key": key, "label": "Plan", "type": "list",
                                                       "applies_to": "conversation", "options": ["free", "gold"]},
                           role="admin").status == 201
    try:
        sign_in(page)
        open_conversation(page, customer)
        page.get_by_test_id("priority-select").select_option("urgent")
        expect(page.locator(".conv-badges").get_by_test_id("priority-badge")).to_have_text("urgent")
        expect(row(page, customer).get_by_test_id("priority-badge")).to_have_text("urgent", timeout=15_000)
        page.get_by_test_id("conv-details").locator("summary").click()
        page.get_by_test_id("conv-attributes-edit").click()
        page.get_by_test_id(f"attr-{key}").select_option("gold")
        page.get_by_test_id("conv-attributes-save").click()
        expect(page.get_by_test_id(f"conv-attributes-value-{key}")).to_have_text("gold")
        shot(page, "organize-06-priority-attributes")
        assert local_stack.api("GET", f"/api/conversations/{customer['id']}").json()["attributes"] == {key: "gold"}
        listed = local_stack.api("GET", f"/api/conversations?status=open&attr.{key}=gold").json()["items"]
        assert [c["id"] for c in listed] == [customer["id"]]
    finally:
        local_stack.api("DELETE", f"/api/attributes/{key}", role="admin")

"""Indicators customers see (issue 15): the settings page turns them off and on."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.test_frontend import sign_in


def test_an_admin_turns_customer_indicators_off_and_on(page, local_stack):
    before = local_stack.api("GET", "/api/settings", role="admin").json()
    try:
        sign_in(page, "boss@example.com", role="admin")
        page.get_by_test_id("nav-settings").click()
        box = page.get_by_test_id("settings-customer-indicators")
        expect(box).to_be_checked()  # on by default
        box.uncheck()
        page.get_by_test_id("settings-save").click()
        expect(page.locator(".toast").filter(has_text="Settings saved")).to_be_visible()
        assert local_stack.api("GET", "/api/settings", role="admin").json()["live"] == {"customer_indicators": False}
        page.reload()
        expect(page.get_by_test_id("settings-customer-indicators")).not_to_be_checked()
        page.get_by_test_id("settings-customer-indicators").check()
        page.get_by_test_id("settings-save").click()
        expect(page.locator(".toast").filter(has_text="Settings saved")).to_be_visible()
        assert local_stack.api("GET", "/api/settings", role="admin").json()["live"] == {"customer_indicators": True}
    finally:
        local_stack.api("PUT", "/api/settings", {"live": before.get("live") or {"customer_indicators": True}},
                        role="admin")

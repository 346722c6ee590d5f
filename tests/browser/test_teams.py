"""Inboxes and teams in the browser (issue 14): an admin makes a Billing team and attaches the email inbox to it on
the settings' Inboxes and teams page; the next new email goes to the team's member, who finds it under "My teams"
with the inbox's name in the header. Screenshots land in tests/browser/screenshots/ (teams-*)."""

from __future__ import annotations

import uuid

from tests.browser.test_frontend import LAPTOP, browser, open_page, page, shot, sign_in  # noqa: F401  (fixtures)
from tests.e2e.conftest import LocalStack

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - test_frontend skipped (or failed) the tier already
    pass


def mail(stack: LocalStack, to: str, name: str, sender: str, text: str) -> None:
    tag = uuid.uuid4().hex[:8]
    raw = (f"From: {name} <{sender}>\r\nTo: {to}\r\nSubject: {text}\r\n"
           f"Message-ID: <{tag}@example.org>\r\n\r\n{text}\r\n").encode()
    assert stack.request("POST", "/_local/email", raw, {"Content-Type": "message/rfc822"}).status == 200


def conversation_of(stack: LocalStack, name: str) -> dict | None:
    """The customer's conversation (its last message may be the greeting or the away message)."""
    return next((c for c in stack.conversations(limit="100") if c["contact"]["name"] == name), None)


def availability(stack: LocalStack, email: str, available: bool) -> None:
    token = stack.request("POST", "/_local/token", {"email": email, "role": "agent"}).json()["token"]
    r = stack.request("PUT", "/api/me/availability", {"available": available}, {"Authorization": f"Bearer {token}"})
    assert r.status == 200, r


def test_a_team_s_inbox_routed_to_its_member(page, browser, local_stack):  # noqa: F811
    tag = uuid.uuid4().hex[:6]
    billing, member, team_name = f"billing-{tag}@switchboard.local", f"bea.{tag}@example.com", f"Billing {tag}"
    # Given mail has come to the billing address before (so it is an inbox), and Bea takes new conversations
    old, new = f"Olga {tag}", f"Nils {tag}"
    mail(local_stack, billing, old, f"olga.{tag}@example.org", f"Old question {tag}")
    assert local_stack.wait_for(lambda: conversation_of(local_stack, old), 20)
    availability(local_stack, member, True)
    team_id = None
    try:
        # When an admin makes a Billing team with Bea in it, and attaches the billing inbox to it
        sign_in(page, f"boss.{tag}@example.com", role="admin")
        page.get_by_test_id("nav-settings").click()
        page.get_by_test_id("settings-teams-link").click()
        expect(page.get_by_test_id("teams-page")).to_be_visible()
        page.get_by_test_id("team-new-name").fill(team_name)
        page.get_by_test_id("team-new-members").fill(member)
        page.get_by_test_id("team-create").click()
        expect(page.get_by_test_id("team-row").filter(has=page.locator(f"input[value='{team_name}']"))).to_have_count(1)
        inbox_row = page.get_by_test_id("inbox-row").filter(has_text=billing)
        inbox_row.get_by_test_id("inbox-name").fill(f"Billing desk {tag}")
        inbox_row.get_by_test_id("inbox-team").select_option(label=team_name)
        inbox_row.get_by_test_id("inbox-save").click()
        expect(page.locator("#toast")).to_contain_text("Inbox saved")
        inbox_row = page.get_by_test_id("inbox-row").filter(has_text=billing)
        expect(inbox_row.get_by_test_id("inbox-team").locator("option:checked")).to_have_text(team_name)
        page.set_viewport_size({"width": 1280, "height": 1100})
        page.get_by_test_id("teams-page").evaluate("el => el.scrollTo(0, 0)")
        shot(page, "teams-1-admin-attaches-the-email-inbox")
        team_id = next(t["id"] for t in local_stack.api("GET", "/api/teams").json()["items"] if t["name"] == team_name)
        # Then the next new email to it goes to Bea, the team's available member
        mail(local_stack, billing, new, f"nils.{tag}@example.org", f"Where is my invoice {tag}?")
        conv = local_stack.wait_for(lambda: conversation_of(local_stack, new), 20)
        assert conv and conv["assignee"] == member and conv["team"] == team_id
        # And Bea finds it under "My teams", assigned to her, with the inbox's name and team in the header
        bea, errors = open_page(browser, local_stack.base, LAPTOP)
        try:
            sign_in(bea, member)
            bea.locator("#filter-team").select_option("mine")
            rows = bea.get_by_test_id("conversation")
            # the team's inbox, past conversations included, and nothing else
            expect(rows).to_have_count(2)
            expect(rows.filter(has_text=new)).to_have_count(1)
            expect(rows.filter(has_text=old)).to_have_count(1)
            expect(rows.filter(has_text=new).locator(".assignee")).to_have_text("me")
            rows.filter(has_text=new).click()
            expect(bea.get_by_test_id("message").filter(has_text=f"Where is my invoice {tag}?")).to_be_visible()
            expect(bea.get_by_test_id("conv-inbox")).to_have_text(f"Billing desk {tag} · {team_name}")
            expect(bea.get_by_test_id("assignee")).to_have_text("Assigned to me")
            shot(bea, "teams-2-the-member-gets-the-new-email")
        finally:
            bea.context.close()
        assert not errors, f"JavaScript errors on the page: {errors}"
    finally:
        availability(local_stack, member, False)
        if team_id:
            local_stack.api("DELETE", f"/api/teams/{team_id}", role="admin")

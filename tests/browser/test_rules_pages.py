"""Automation in the agents' app (issue 19), in Chromium against the local stack: an admin builds "a WhatsApp message
containing 'refund' goes to the Billing team with label refund and priority high" in the rule builder, a matching
message is routed, labelled and prioritized, and the rule's latest runs show it; an agent saves a macro that replies,
labels and resolves, sees what it will do, and applies it with the keyboard. Screenshots: tests/browser/screenshots/
rules-*.png. The rules and macros made here are deleted at the end (the local stack is shared by the session)."""

from __future__ import annotations

import uuid

from playwright.sync_api import expect

# The tier's fixtures and helpers (importing the module also skips this one without chromium).
from tests.browser.conftest import new_whatsapp_conversation
from tests.browser.test_frontend import shot, sign_in


def _cleanup(local_stack, tag: str) -> None:
    for rule in local_stack.api("GET", "/api/rules", role="admin").json()["items"]:
        if tag in rule["name"]:
            local_stack.api("DELETE", f"/api/rules/{rule['id']}", role="admin")
    for role in ("admin", "agent"):
        for macro in local_stack.api("GET", "/api/macros", role=role).json()["items"]:
            if tag in macro["name"]:
                local_stack.api("DELETE", f"/api/macros/{macro['id']}", role=role)


def test_an_admin_builds_the_refund_rule_and_a_matching_message_is_routed(page, local_stack):
    tag = uuid.uuid4().hex[:6]
    team = local_stack.api("POST", "/api/teams", {"name": f"Billing {tag}", "members": ["bill@example.com"]},
                           role="admin").json()
    try:
        sign_in(page, "ann.admin@example.com", role="admin")
        page.get_by_test_id("nav-automation").click()
        expect(page.get_by_test_id("rules-page")).to_be_visible()
        page.get_by_test_id("rule-new").click()
        form = page.get_by_test_id("rule-form").last
        form.get_by_test_id("rule-name").fill(f"Refunds to billing {tag}")
        form.get_by_test_id("rule-event").select_option("message.received")
        for field, op, value in (("channel", "eq", "whatsapp"), ("text", "contains", f"refund-{tag}")):
            form.get_by_test_id("condition-add").click()
            condition = form.get_by_test_id("condition-row").last
            condition.get_by_test_id("condition-field").select_option(field)
            condition.get_by_test_id("condition-op").select_option(op)
            condition.get_by_test_id("condition-value").fill(value)
        first = form.get_by_test_id("action-row").first
        first.get_by_test_id("action-type").select_option("assign_team")
        first.get_by_test_id("action-value").select_option(team["id"])
        for kind, value in (("add_label", "refund"), ("set_priority", "high")):
            form.get_by_test_id("action-add").click()
            action = form.get_by_test_id("action-row").last
            action.get_by_test_id("action-type").select_option(kind)
            if kind == "set_priority":
                action.get_by_test_id("action-value").select_option(value)
            else:
                action.get_by_test_id("action-value").fill(value)
        shot(page, "rules-builder")
        form.get_by_test_id("rule-save").click()
        item = page.get_by_test_id("rule-item").filter(has_text=f"Refunds to billing {tag}")
        expect(item).to_contain_text(f"assign to team Billing {tag}, add label “refund”, set priority high")
        # An unevaluable rule is refused with the server's reason
        page.get_by_test_id("rule-new").click()
        bad = page.get_by_test_id("rule-form").last
        bad.get_by_test_id("rule-name").fill(f"Broken {tag}")
        bad.get_by_test_id("condition-add").click()
        bad.get_by_test_id("condition-row").last.get_by_test_id("condition-field").select_option("status")
        bad.get_by_test_id("condition-row").last.get_by_test_id("condition-op").select_option("eq")
        bad.get_by_test_id("condition-row").last.get_by_test_id("condition-value").fill("closed")
        bad.get_by_test_id("action-row").first.get_by_test_id("action-type").select_option("resolve")
        bad.get_by_test_id("rule-save").click()
        expect(page.get_by_test_id("rules-error")).to_contain_text("closed")
        expect(page.get_by_test_id("rule-item").filter(has_text=f"Broken {tag}")).to_have_count(0)

        # A customer writes about a refund: the conversation is routed, labelled and prioritized
        name = f"Refund {tag}"
        conv = new_whatsapp_conversation(local_stack, name, [f"I need a refund-{tag} please"])
        def routed():
            seen = local_stack.api("GET", f"/api/conversations/{conv['id']}").json()
            return seen if seen["priority"] == "high" else None

        detail = local_stack.wait_for(routed)
        assert detail and detail["labels"] == ["refund"] and detail["team"] == team["id"]
        page.goto(f"/#/c/{conv['id']}")
        expect(page.get_by_test_id("label").filter(has_text="refund")).to_be_visible()
        expect(page.get_by_test_id("priority-select")).to_have_value("high")
        expect(page.get_by_test_id("message").filter(has_text=f"refund-{tag}")).to_be_visible()
        expect(page.get_by_test_id("conversation").filter(has_text=name)).to_be_visible(timeout=20_000)
        shot(page, "rules-routed-conversation")
        # The rule's latest runs say what happened, and to which conversation
        page.get_by_test_id("nav-automation").click()
        item = page.get_by_test_id("rule-item").filter(has_text=f"Refunds to billing {tag}")
        item.get_by_test_id("rule-show-runs").click()
        run = item.get_by_test_id("rule-run")
        expect(run).to_have_count(1)
        expect(run.get_by_test_id("run-outcome")).to_have_text("ok")
        expect(run).to_contain_text(conv["id"])
        # Switched off from the list
        item.get_by_test_id("rule-toggle").uncheck()
        expect(page.get_by_test_id("rule-item").filter(has_text=f"Refunds to billing {tag}")).to_have_class(
            "rule-item off")
        off = page.get_by_test_id("rule-item").filter(has_text=f"Refunds to billing {tag}")
        off.get_by_test_id("rule-show-runs").click()
        expect(off.get_by_test_id("run-outcome")).to_have_text("ok")
        shot(page, "rules-list-and-runs")
        assert local_stack.api("GET", "/api/rules", role="admin").json()["items"][-1]["enabled"] is False
    finally:
        _cleanup(local_stack, tag)
        local_stack.api("DELETE", f"/api/teams/{team['id']}", role="admin")


def test_an_agent_saves_a_macro_sees_what_it_does_and_applies_it(page, local_stack):
    tag = uuid.uuid4().hex[:6]
    try:
        name = f"Macro {tag}"
        conv = new_whatsapp_conversation(local_stack, name, ["Has my refund gone out?"])
        sign_in(page, "agent@example.com")
        page.get_by_test_id("nav-automation").click()
        expect(page.get_by_test_id("rules-page")).to_be_visible()
        expect(page.get_by_test_id("rule-new")).to_have_count(0)  # rules are the admins'
        page.get_by_test_id("macro-new").click()
        form = page.get_by_test_id("macro-form")
        form.get_by_test_id("macro-name").fill(f"Refund sent {tag}")
        first = form.get_by_test_id("action-row").first
        first.get_by_test_id("action-type").select_option("send_message")
        first.get_by_test_id("action-value").fill("Your refund is on its way, {{contact.first_name}}.")
        for kind, value in (("add_label", "refunded"), ("resolve", None)):
            form.get_by_test_id("action-add").click()
            action = form.get_by_test_id("action-row").last
            action.get_by_test_id("action-type").select_option(kind)
            if value:
                action.get_by_test_id("action-value").fill(value)
        form.get_by_test_id("macro-save").click()
        expect(page.get_by_test_id("macro-item").filter(has_text=f"Refund sent {tag}")).to_contain_text("mine")
        shot(page, "rules-macros-page")

        page.goto(f"/#/c/{conv['id']}")
        expect(page.locator("#conv-title")).to_have_text(name)
        expect(page.get_by_test_id("macro-select").locator("option", has_text=f"Refund sent {tag}")).to_have_count(1)
        page.locator("body").click()
        page.keyboard.press("m")  # the shortcut puts the focus on the macros
        expect(page.get_by_test_id("macro-select")).to_be_focused()
        page.get_by_test_id("macro-select").select_option(label=f"Refund sent {tag}")
        expect(page.get_by_test_id("macro-preview")).to_have_text(
            "Will reply “Your refund is on its way, {{contact.first_name}}.”, then add label “refunded”, then resolve.")
        shot(page, "rules-macro-preview")
        page.get_by_test_id("macro-apply").click()
        expect(page.get_by_test_id("conv-status")).to_have_text("resolved")
        expect(page.get_by_test_id("label").filter(has_text="refunded")).to_be_visible()
        expect(page.get_by_test_id("message").filter(has_text="Your refund is on its way, Macro.")).to_be_visible(
            timeout=20_000)
        shot(page, "rules-macro-applied")
    finally:
        _cleanup(local_stack, tag)

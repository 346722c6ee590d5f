"""Automation rules and macros on moto (issue 19): saving (refused when unevaluable, admins only, audited), each
event and action, once per event under redelivery, the depth guard, a failing action recorded while the others run,
idle rules after the clock moves, notify_email's mail, macros, and erasure taking the runs with the conversation."""

from __future__ import annotations

from switchboard import clock
from switchboard.models import Contact, Message
from switchboard.services import rules
from switchboard.store import contacts, conversations, messages
from switchboard.store.table import Table
from tests.integration.test_automation import automated, customer_writes, run, ses_messages
from tests.integration.test_whatsapp_flow import post, wa_message, wa_payload


def api(stack, method: str, path: str, body=None, role: str = "agent", query: str = ""):
    return stack.http(method, path, body, role=role, query=query)


def make_rule(stack, **rule) -> dict:
    r = api(stack, "POST", "/api/rules", {"name": "a rule", **rule}, role="admin")
    assert r.status == 201, r.body
    return r.json()


def detail(stack, conv_id: str) -> dict:
    return api(stack, "GET", f"/api/conversations/{conv_id}").json()


def runs(stack, rule_id: str) -> list[dict]:
    r = api(stack, "GET", f"/api/rules/{rule_id}/runs", role="admin")
    assert r.status == 200, r.body
    return r.json()["items"]


def team(stack, name: str, members: list[str]) -> str:
    r = api(stack, "POST", "/api/teams", {"name": name, "members": members}, role="admin")
    assert r.status == 201, r.body
    return r.json()["id"]


REFUND = [{"field": "channel", "op": "eq", "value": "whatsapp"}, {"field": "text", "op": "contains", "value": "refund"}]


# -- saving ---------------------------------------------------------------------------------------------------------
def test_rules_are_admin_only_refused_when_unevaluable_ordered_and_audited(stack):
    body = {"name": "r", "event": "message.received", "conditions": REFUND, "actions": [{"type": "resolve"}]}
    assert api(stack, "POST", "/api/rules", body).status == 403
    assert api(stack, "GET", "/api/rules").status == 403
    bad = [
        {**body, "event": "message.sent"},
        {**body, "conditions": [{"field": "colour", "op": "eq", "value": "red"}]},
        {**body, "conditions": [{"field": "status", "op": "eq", "value": "closed"}]},
        {**body, "conditions": [{"field": "text", "op": "like", "value": "x"}]},
        {**body, "conditions": [{"field": "label", "op": "in", "value": "vip"}]},
        {**body, "conditions": [{"field": "attr.plan", "op": "eq", "value": "gold"}]},  # no such attribute
        {**body, "conditions": [{"field": "business_hours", "op": "contains", "value": "open"}]},
        {**body, "actions": [{"type": "explode"}]},
        {**body, "actions": [{"type": "set_priority", "value": "extreme"}]},
        {**body, "actions": [{"type": "assign_team", "value": "tm_nope"}]},
        {**body, "actions": [{"type": "send_message", "value": {"canned_id": "nope"}}]},
        {**body, "actions": [{"type": "snooze_minutes", "value": 0}]},
        {**body, "actions": [{"type": "notify_email", "value": "not an address"}]},
        {**body, "actions": []},
        {**body, "event": "conversation.idle"},  # no idle_minutes nor status
        {**body, "event": "conversation.idle", "idle_minutes": 60, "status": "snoozed"},
        {**body, "idle_minutes": 60},  # idle_minutes on another event
    ]
    for rule in bad:
        r = api(stack, "POST", "/api/rules", rule, role="admin")
        assert r.status == 400, (rule, r.body)
        assert r.json()["error"]["code"] == "invalid_rule"
    assert api(stack, "GET", "/api/rules", role="admin").json()["items"] == []  # nothing stored
    # A custom attribute once defined may be used
    assert api(stack, "POST", "/api/attributes", {"key": "plan", "label": "Plan", "type": "text",
                                                  "applies_to": "contact"}, role="admin").status == 201
    first = make_rule(stack, **{**body, "conditions": [{"field": "attr.plan", "op": "eq", "value": "Gold"}]})
    second = make_rule(stack, **body)
    assert [r["id"] for r in api(stack, "GET", "/api/rules", role="admin").json()["items"]] == [first["id"],
                                                                                              second["id"]]
    assert first["conditions"][0]["value"] == "Gold"
    # Reordered and switched off with PUT
    r = api(stack, "PUT", f"/api/rules/{second['id']}", {**body, "position": 0, "enabled": False}, role="admin")
    assert r.status == 200 and r.json()["enabled"] is False
    listed = api(stack, "GET", "/api/rules", role="admin").json()["items"]
    assert [r["id"] for r in listed] == [second["id"], first["id"]]
    assert api(stack, "PUT", "/api/rules/ru_missing", body, role="admin").status == 404
    assert api(stack, "DELETE", f"/api/rules/{first['id']}", role="admin").status == 204
    assert api(stack, "DELETE", f"/api/rules/{first['id']}", role="admin").status == 404
    assert api(stack, "GET", f"/api/rules/{first['id']}/runs", role="admin").status == 404
    # Every change is in the audit log
    actions = [i["action"] for i in api(stack, "GET", "/api/audit", role="admin").json()["items"]]
    assert actions.count("rule.create") == 2 and "rule.update" in actions and "rule.delete" in actions
    # and the routes are in the OpenAPI document
    paths = api(stack, "GET", "/api/openapi.json").json()["paths"]
    assert {"/api/rules", "/api/rules/{rule_id}", "/api/rules/{rule_id}/runs", "/api/macros",
            "/api/macros/{macro_id}", "/api/conversations/{conversation_id}/macros/{macro_id}"} <= set(paths)


# -- message.received: the refund rule, once even when delivered twice ------------------------------------------
def test_a_refund_message_is_routed_labelled_and_prioritized_once_even_when_delivered_twice(stack):
    billing = team(stack, "Billing", ["bill@example.com"])
    api(stack, "PUT", "/api/me/availability", {"available": True, "max_open": 5})  # agent@example.com, not billing
    stack.http("PUT", "/api/me/availability", {"available": True, "max_open": 5}, role="admin")
    rule = make_rule(stack, name="refunds to billing", event="message.received", conditions=REFUND,
                     actions=[{"type": "assign_team", "value": billing}, {"type": "add_label", "value": "Refund"},
                              {"type": "set_priority", "value": "high"},
                              {"type": "send_message", "value": {"text": "Billing will look at it"}}])
    make_rule(stack, name="never", event="message.received",
              conditions=[{"field": "channel", "op": "eq", "value": "sms"}], actions=[{"type": "resolve"}])
    payload = wa_payload(wa_message("rf.1", sender="15553330001", text="I want a REFUND please"), sender="15553330001")
    post(stack, payload)
    post(stack, payload)  # the provider delivers it again
    stack.drain("ProcessorFunction")
    stack.drain("SenderFunction")
    conv = customer_writes(stack, "rf.2", "thanks", sender="15553330001")  # a second message: no refund word
    seen = detail(stack, conv["id"])
    assert seen["labels"] == ["refund"] and seen["priority"] == "high" and seen["team"] == billing
    assert seen["assignee"] is None  # the billing member is not available: it waits in the team's queue
    assert automated(stack, conv["id"]) == ["automation:rule"]
    [only] = runs(stack, rule["id"])
    assert only["conversation_id"] == conv["id"] and only["outcome"] == "ok" and only["event"] == "message.received"
    # The processor running the same message again (an SQS redelivery after a failure) does nothing again
    table = Table()
    current = conversations.require(table, conv["id"])
    contact = contacts.get(table, current.contact_id)
    first = next(m for m in messages.page(table, conv["id"])[0] if m.text == "I want a REFUND please")
    rules.message_received(table, current, contact, first)
    assert rules.trigger(table, "message.received", f"message#{first.id}", current, contact, first) == \
        [(rule["id"], "duplicate")]
    assert len(runs(stack, rule["id"])) == 1 and automated(stack, conv["id"]) == ["automation:rule"]
    assert detail(stack, conv["id"])["labels"] == ["refund"]


def test_conversation_created_assigns_a_known_agent_and_records_an_agent_gone(stack):
    api(stack, "PUT", "/api/me/availability", {"available": False, "max_open": 5})  # agent@example.com signs in
    good = make_rule(stack, name="to agent", event="conversation.created",
                     actions=[{"type": "assign_agent", "value": "agent@example.com"}])
    gone = make_rule(stack, name="to ghost", event="conversation.created",
                     actions=[{"type": "assign_agent", "value": "ghost@example.com"},
                              {"type": "add_label", "value": "new"}])
    conv = customer_writes(stack, "cc.1", "hello", sender="15553330002")
    customer_writes(stack, "cc.2", "again", sender="15553330002")  # not a new conversation: nothing runs
    seen = detail(stack, conv["id"])
    assert seen["assignee"] == "agent@example.com" and seen["labels"] == ["new"]
    assert [r["outcome"] for r in runs(stack, good["id"])] == ["ok"]
    [partial] = runs(stack, gone["id"])
    assert partial["outcome"] == "partial"
    assert partial["actions"][0] == {"type": "assign_agent", "ok": False, "error": "agent_unknown",
                                     "message": partial["actions"][0]["message"]}
    assert partial["actions"][1] == {"type": "add_label", "ok": True, "error": None, "message": None}


def test_automated_messages_respect_opt_outs_and_never_answer_automated_mail(stack):
    rule = make_rule(stack, name="ack", event="message.received",
                     actions=[{"type": "send_message", "value": {"text": "Got it"}},
                              {"type": "add_label", "value": "acked"}])
    conv = customer_writes(stack, "oo.1", "hello", sender="15553330003")
    assert automated(stack, conv["id"]) == ["automation:rule"]
    assert api(stack, "PATCH", f"/api/contacts/{conv['contact']['id']}", {"do_not_contact": True}).status == 200
    customer_writes(stack, "oo.2", "hello again", sender="15553330003")
    assert automated(stack, conv["id"]) == ["automation:rule"]  # nothing more
    latest = runs(stack, rule["id"])[0]
    assert latest["outcome"] == "partial" and latest["actions"][0]["error"] == "opted_out"
    # Automated mail (auto-submitted) never gets an automated message
    table = Table()
    current = conversations.require(table, conv["id"])
    robot = Message(id="m_robot", conversation_id=conv["id"], direction="inbound", channel="whatsapp", text="auto",
                    created_at=clock.iso(clock.now()), status="received", auto_submitted="auto-generated")
    rules.message_received(table, current, Contact(id=current.contact_id, created_at=current.created_at), robot)
    assert runs(stack, rule["id"])[0]["actions"][0]["error"] == "automated_mail"


def test_conditions_on_labels_priority_contact_email_business_hours_and_attributes(stack):
    api(stack, "POST", "/api/attributes", {"key": "tier", "label": "Tier", "type": "list", "options": ["gold", "free"],
                                           "applies_to": "conversation"}, role="admin")
    api(stack, "PUT", "/api/settings", {"business_hours": {"timezone": "UTC", "days": {
        d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}, "holidays": []}},
        role="admin")
    rule = make_rule(stack, name="vip", event="conversation.status_changed",
                     conditions=[{"field": "status", "op": "eq", "value": "pending"},
                                 {"field": "label", "op": "in", "value": ["vip", "gold"]},
                                 {"field": "priority", "op": "neq", "value": "urgent"},
                                 {"field": "business_hours", "op": "eq", "value": "open"},
                                 {"field": "attr.tier", "op": "eq", "value": "gold"},
                                 {"field": "contact.email", "op": "neq", "value": "x@example.com"},
                                 {"field": "inbox", "op": "starts_with", "value": "ib_"}],
                     actions=[{"type": "set_priority", "value": "urgent"}])
    conv = customer_writes(stack, "cd.1", "hello", sender="15553330004")
    api(stack, "POST", f"/api/conversations/{conv['id']}/pending")
    assert detail(stack, conv["id"])["priority"] == "normal"  # no vip label, no tier: no run
    api(stack, "POST", f"/api/conversations/{conv['id']}/reopen")
    api(stack, "POST", f"/api/conversations/{conv['id']}/labels", {"labels": ["vip"]})
    assert api(stack, "PATCH", f"/api/conversations/{conv['id']}", {"attributes": {"tier": "gold"}}).status == 200
    api(stack, "POST", f"/api/conversations/{conv['id']}/pending")
    assert detail(stack, conv["id"])["priority"] == "urgent"
    assert [r["event"] for r in runs(stack, rule["id"])] == ["conversation.status_changed"]


# -- depth ---------------------------------------------------------------------------------------------------------
def test_a_rules_own_actions_trigger_rules_once_more_and_no_further(stack):
    # Given two rules that would undo each other for ever
    reopen = make_rule(stack, name="reopen resolved", event="conversation.status_changed",
                       conditions=[{"field": "status", "op": "eq", "value": "resolved"}],
                       actions=[{"type": "set_status", "value": "open"}])
    resolve = make_rule(stack, name="resolve reopened", event="conversation.status_changed",
                        conditions=[{"field": "status", "op": "eq", "value": "open"}],
                        actions=[{"type": "resolve"}])
    conv = customer_writes(stack, "dp.1", "hello", sender="15553330005")
    # When an agent resolves it
    assert api(stack, "POST", f"/api/conversations/{conv['id']}/resolve").status == 200
    # Then the first rule reopens it (depth 1), the second resolves it again (depth 2's event runs no rule)
    assert detail(stack, conv["id"])["status"] == "resolved"
    assert len(runs(stack, reopen["id"])) == 1 and len(runs(stack, resolve["id"])) == 1


# -- idle rules ------------------------------------------------------------------------------------------------------
def test_pending_for_three_days_is_resolved_by_the_timer_once_after_the_clock_moves(stack):
    rule = make_rule(stack, name="close quiet", event="conversation.idle", status="pending", idle_minutes=3 * 24 * 60,
                     actions=[{"type": "resolve"}])
    conv = customer_writes(stack, "id.1", "hello", sender="15553330006")
    other = customer_writes(stack, "id.2", "hello", sender="15553330007")  # stays open: never due
    api(stack, "POST", f"/api/conversations/{conv['id']}/pending")
    assert run(stack, "TimersFunction")["idle_due"] == 0
    clock.advance(2 * 86400)
    assert run(stack, "TimersFunction")["idle_due"] == 0
    clock.advance(86400 + 60)
    counts = run(stack, "TimersFunction")
    assert counts["idle_due"] == 1 and counts["idle_ran"] == 1
    assert detail(stack, conv["id"])["status"] == "resolved"
    assert detail(stack, conv["id"])["resolved_by"] == f"automation:rule:{rule['id']}"
    assert detail(stack, other["id"])["status"] == "open"
    assert run(stack, "TimersFunction")["idle_due"] == 0  # a rerun: nothing due
    assert [r["event"] for r in runs(stack, rule["id"])] == ["conversation.idle"]


def test_activity_puts_an_idle_rule_off_and_another_status_drops_its_timer(stack):
    rule = make_rule(stack, name="raise quiet", event="conversation.idle", status="open", idle_minutes=120,
                     actions=[{"type": "set_priority", "value": "high"}])
    conv = customer_writes(stack, "ia.1", "hello", sender="15553330008")
    clock.advance(100 * 60)
    customer_writes(stack, "ia.2", "anyone?", sender="15553330008")  # new activity: the wait starts again
    clock.advance(30 * 60)
    assert run(stack, "TimersFunction")["idle_ran"] == 0
    assert detail(stack, conv["id"])["priority"] == "normal"
    clock.advance(95 * 60)
    assert run(stack, "TimersFunction")["idle_ran"] == 1
    assert detail(stack, conv["id"])["priority"] == "high"
    # A conversation that left the status is not touched
    later = customer_writes(stack, "ia.3", "hello", sender="15553330009")
    api(stack, "POST", f"/api/conversations/{later['id']}/pending")
    clock.advance(3 * 3600)
    assert run(stack, "TimersFunction")["idle_ran"] == 0
    assert len(runs(stack, rule["id"])) == 1


def test_notify_email_is_mailed_by_the_timer_once_without_message_text(stack):
    make_rule(stack, name="tell the boss", event="message.received",
              conditions=[{"field": "text", "op": "contains", "value": "lawyer"}],
              actions=[{"type": "notify_email", "value": "boss@example.com"}])
    customer_writes(stack, "ne.1", "my lawyer will call", sender="15553330010")
    assert run(stack, "TimersFunction")["rule_mails"] == 1
    assert run(stack, "TimersFunction")["rule_mails"] == 0
    [mail] = ses_messages(stack)
    assert "boss@example.com" in mail and "tell the boss" in mail and "lawyer will call" not in mail


# -- macros ------------------------------------------------------------------------------------------------------
def test_an_agent_applies_a_macro_that_replies_labels_and_resolves(stack):
    r = api(stack, "POST", "/api/macros", {"name": "Refund done", "actions": [
        {"type": "send_message", "value": {"text": "Your refund is on its way, {{contact.first_name}}"}},
        {"type": "add_label", "value": "refunded"}, {"type": "resolve"}]})
    assert r.status == 201, r.body
    macro = r.json()
    assert macro["shared"] is False and macro["owner"] == "agent@example.com"
    # Bad macros are refused; notify_email is for rules
    assert api(stack, "POST", "/api/macros", {"name": "x", "actions": [
        {"type": "notify_email", "value": "a@example.com"}]}).json()["error"]["code"] == "invalid_rule"
    assert api(stack, "POST", "/api/macros", {"name": "x", "actions": [{"type": "add_label"}],
                                              "shared": True}).status == 400
    assert api(stack, "POST", "/api/macros", {"name": "s", "actions": [{"type": "add_label", "value": "x"}],
                                              "shared": True}).status == 403
    shared = api(stack, "POST", "/api/macros", {"name": "Shared", "actions": [{"type": "add_label", "value": "x"}]},
                 role="admin").json()
    assert shared["shared"] is True
    mine = {m["id"] for m in api(stack, "GET", "/api/macros").json()["items"]}
    assert mine == {macro["id"], shared["id"]}
    assert api(stack, "DELETE", f"/api/macros/{shared['id']}").status == 403
    conv = customer_writes(stack, "mc.1", "where is my money", sender="15553330011")
    r = api(stack, "POST", f"/api/conversations/{conv['id']}/macros/{macro['id']}")
    assert r.status == 200, r.body
    applied = r.json()
    assert [x["ok"] for x in applied["results"]] == [True, True, True]
    assert applied["conversation"]["status"] == "resolved" and applied["conversation"]["labels"] == ["refunded"]
    assert applied["conversation"]["resolved_by"] == "agent@example.com"
    stack.drain("SenderFunction")
    from tests.integration.test_whatsapp_flow import messages as listed

    reply = [m for m in listed(stack, conv["id"]) if m["direction"] == "outbound"]
    assert [m["sender"] for m in reply] == ["agent@example.com"]
    assert reply[0]["text"].startswith("Your refund is on its way")
    assert api(stack, "POST", f"/api/conversations/{conv['id']}/macros/mc_nope").status == 404
    assert api(stack, "PUT", f"/api/macros/{macro['id']}", {"name": "Renamed", "actions": macro["actions"]}
               ).json()["name"] == "Renamed"
    assert api(stack, "DELETE", f"/api/macros/{macro['id']}").status == 204
    actions = [i["action"] for i in api(stack, "GET", "/api/audit", role="admin").json()["items"]]
    assert {"macro.create", "macro.apply", "macro.update", "macro.delete"} <= set(actions)


# -- erasure -----------------------------------------------------------------------------------------------------
def test_erasing_the_contact_takes_the_runs_and_timers_with_the_conversation(stack):
    rule = make_rule(stack, name="label", event="message.received", actions=[{"type": "add_label", "value": "seen"},
                                                                             {"type": "notify_email",
                                                                              "value": "boss@example.com"}])
    make_rule(stack, name="idle", event="conversation.idle", status="open", idle_minutes=60,
              actions=[{"type": "resolve"}])
    conv = customer_writes(stack, "er.1", "hello", sender="15553330012")
    sks = {i["sk"].split("#")[0] for i in stack.items(f"CONV#{conv['id']}")}
    assert {"RULERUN", "DUE"} <= sks
    assert len(runs(stack, rule["id"])) == 1
    assert api(stack, "DELETE", f"/api/contacts/{conv['contact']['id']}", role="admin").status == 200
    assert stack.items(f"CONV#{conv['id']}") == []
    assert runs(stack, rule["id"]) == []
    assert run(stack, "TimersFunction")["errors"] == 0


def test_a_canned_response_with_variables_and_a_snooze_from_a_rule(stack):
    r = api(stack, "POST", "/api/canned-responses", {"shortcut": "ack", "text": "Hi {{contact.first_name}}, we are on it"})
    assert r.status == 201, r.body
    rule = make_rule(stack, name="ack and park", event="message.received",
                     conditions=[{"field": "text", "op": "starts_with", "value": "park"}],
                     actions=[{"type": "send_message", "value": {"canned_id": r.json()["id"]}},
                              {"type": "snooze_minutes", "value": 90}])
    conv = customer_writes(stack, "cs.1", "park this please", sender="15553330013")
    from tests.integration.test_whatsapp_flow import messages as listed

    sent = [m for m in listed(stack, conv["id"]) if m["sender"] == "automation:rule"]
    assert [m["text"] for m in sent] == ["Hi Ann, we are on it"]  # the contact is "Ann" (wa_payload's name)
    seen = detail(stack, conv["id"])
    assert seen["status"] == "snoozed"
    assert 89 * 60 < (clock.parse_iso(seen["snoozed_until"]) - clock.now()).total_seconds() <= 90 * 60
    assert runs(stack, rule["id"])[0]["outcome"] == "ok"
    clock.advance(91 * 60)
    assert run(stack, "TimersFunction")["woken"] == 1
    assert detail(stack, conv["id"])["status"] == "open"

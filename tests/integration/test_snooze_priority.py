"""Organizing the queue on moto (issue 14): snooze and its wake-ups (by time, after the clock moves, and by a customer
message), the statuses snoozing touches, priorities, and the inbox's sorts and filters paged through."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from switchboard import clock
from tests.integration.test_automation import automated, customer_writes, run, settings


def api(stack, method: str, path: str, body=None, role: str = "agent", query: str = ""):
    return stack.http(method, path, body, role=role, query=query)


def listed(stack, query: str) -> list[dict]:
    """Every conversation a view lists, page after page (2 a page: the cursors are exercised)."""
    seen, cursor = [], None
    for _ in range(50):
        q = "&".join(filter(None, [query, "limit=2", f"cursor={cursor}" if cursor else ""]))
        r = api(stack, "GET", "/api/conversations", query=q)
        assert r.status == 200, r.body
        page = r.json()
        assert len(page["items"]) <= 2
        seen += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    ids = [c["id"] for c in seen]
    assert len(ids) == len(set(ids)), "a conversation listed twice"
    return seen


def timers(stack) -> dict:
    return run(stack, "TimersFunction")


# -- snooze ------------------------------------------------------------------------------------------------------------
def test_snooze_hides_it_from_open_and_the_timer_wakes_it_once_after_the_clock_moves(stack, monkeypatch):
    from switchboard.services import events

    published: list[tuple[str, dict]] = []
    real_publish = events.publish
    monkeypatch.setattr(events, "publish", lambda table, kind, subject, facts=None, **kw: (
        published.append((kind, facts or {})), real_publish(table, kind, subject, facts, **kw))[1])
    # Given an open conversation, snoozed for an hour
    conv = customer_writes(stack, "sz.1", "snooze me", sender="15556660001")
    r = api(stack, "POST", f"/api/conversations/{conv['id']}/snooze", {"preset": "1h"})
    assert r.status == 200, r.body
    snoozed = r.json()
    assert snoozed["status"] == "snoozed" and snoozed["snoozed_until"]
    assert clock.parse_iso(snoozed["snoozed_until"]) - clock.now() > timedelta(minutes=59)
    # Then it is hidden from open and listed as snoozed
    assert conv["id"] not in {c["id"] for c in listed(stack, "status=open")}
    assert [c["id"] for c in listed(stack, "status=snoozed")] == [conv["id"]]
    # When TimersFunction runs before its time, nothing happens
    assert timers(stack)["woken"] == 0
    assert api(stack, "GET", f"/api/conversations/{conv['id']}").json()["status"] == "snoozed"
    # When the clock moves past it, the run wakes it: open again, at the top of the inbox, once
    clock.advance(3601)
    assert timers(stack) | {} == {"snoozes_due": 1, "woken": 1, "sla_due": 0, "sla_done": 0, "errors": 0,
                                  "idle_due": 0, "idle_ran": 0, "rule_mails": 0,  # issue 19's idle rules, mails
                                  "transcripts_due": 0, "transcripts_recorded": 0}  # issue 17's transcript checks
    woken = api(stack, "GET", f"/api/conversations/{conv['id']}").json()
    assert woken["status"] == "open" and woken["snoozed_until"] is None
    assert listed(stack, "status=open")[0]["id"] == conv["id"]
    assert timers(stack)["snoozes_due"] == 0  # a rerun finds nothing: never woken twice
    # the wake is a status change for the systems that listen (and the apps' push), said once
    woke = [f for kind, f in published if kind == "conversation.status_changed" and f.get("by") == "snooze"]
    assert woke == [{"from": "snoozed", "to": "open", "by": "snooze"}]
    metrics = api(stack, "GET", "/api/metrics").json()
    assert metrics["by_status"]["open"] == 1 and metrics["by_status"]["snoozed"] == 0


def test_a_customer_message_wakes_it_at_once_and_its_timer_then_does_nothing(stack):
    conv = customer_writes(stack, "sz.2", "first", sender="15556660002")
    until = clock.iso(clock.now() + timedelta(hours=3))
    assert api(stack, "POST", f"/api/conversations/{conv['id']}/snooze", {"until": until}).json()["status"] == "snoozed"
    customer_writes(stack, "sz.3", "are you there?", sender="15556660002")
    woken = api(stack, "GET", f"/api/conversations/{conv['id']}").json()
    assert woken["status"] == "open" and woken["snoozed_until"] is None and woken["unread_count"] == 2
    assert not stack.items(f"CONV#{conv['id']}") or not [i for i in stack.items(f"CONV#{conv['id']}")
                                                           if i["sk"] == "DUE#snooze"]
    clock.advance(4 * 3600)
    assert timers(stack)["woken"] == 0


def test_snooze_refuses_bad_times_and_resolved_conversations_and_presets_follow_the_business_time_zone(stack):
    settings(stack, {"business_hours": {"timezone": "Europe/Riga"}})
    conv = customer_writes(stack, "sz.4", "hello", sender="15556660004")
    path = f"/api/conversations/{conv['id']}/snooze"
    past = clock.iso(clock.now() - timedelta(minutes=5))
    for body, code in (({"until": past}, "invalid_until"), ({"until": "2030-01-01T09:00:00"}, "invalid_until"),
                       ({"until": "tomorrow"}, "invalid_until"), ({}, "invalid_until"),
                       ({"until": clock.iso(clock.now() + timedelta(days=400))}, "invalid_until")):
        r = api(stack, "POST", path, body)
        assert r.status == 400 and r.json()["error"]["code"] == code, (body, r.body)
    assert api(stack, "POST", path, {"preset": "someday"}).status == 422
    assert api(stack, "POST", path, {"until": clock.iso(clock.now() + timedelta(hours=2)), "preset": "1h"}).status == 400
    assert api(stack, "GET", f"/api/conversations/{conv['id']}").json()["status"] == "open"  # nothing stored
    riga = ZoneInfo("Europe/Riga")
    tomorrow = api(stack, "POST", path, {"preset": "tomorrow"}).json()["snoozed_until"]
    local = clock.parse_iso(tomorrow).astimezone(riga)
    assert (local.hour, local.minute) == (9, 0) and local.date() == clock.now().astimezone(riga).date() + timedelta(1)
    week = clock.parse_iso(api(stack, "POST", path, {"preset": "next_week"}).json()["snoozed_until"]).astimezone(riga)
    assert week.weekday() == 0 and (week.hour, week.minute) == (9, 0) and week > local - timedelta(days=1)
    # a resolved conversation is not snoozed (reopen it first); a missing one is 404
    api(stack, "POST", f"/api/conversations/{conv['id']}/resolve")
    r = api(stack, "POST", path, {"preset": "1h"})
    assert r.status == 409 and r.json()["error"]["code"] == "invalid_transition"
    assert api(stack, "POST", "/api/conversations/cv_missing/snooze", {"preset": "1h"}).status == 404


@pytest.mark.parametrize("leave", ["reopen", "pending", "resolve"])
def test_leaving_a_snooze_by_hand_takes_its_wake_up_off(stack, leave):
    conv = customer_writes(stack, f"sz.l.{leave}", "hello", sender="15556660005")
    api(stack, "POST", f"/api/conversations/{conv['id']}/snooze", {"preset": "1h"})
    after = api(stack, "POST", f"/api/conversations/{conv['id']}/{leave}").json()
    assert after["status"] == {"reopen": "open", "pending": "pending", "resolve": "resolved"}[leave]
    assert after["snoozed_until"] is None
    clock.advance(2 * 3600)
    assert timers(stack)["snoozes_due"] == 0
    assert api(stack, "GET", f"/api/conversations/{conv['id']}").json()["status"] == after["status"]


def test_no_holding_reply_while_snoozed_and_no_survey_while_snoozed(stack):
    settings(stack, {"auto_reply": {"enabled": True, "after_minutes": 5}, "survey": {"enabled": True}})
    conv = customer_writes(stack, "sz.6", "waiting", sender="15556660006")
    api(stack, "POST", f"/api/conversations/{conv['id']}/snooze", {"preset": "1h"})
    clock.advance(10 * 60)
    run(stack, "AutoReplyFunction")
    assert automated(stack, conv["id"]) == []  # the agent decided when to come back to it
    assert not [i for i in stack.items(f"CONV#{conv['id']}") if i["sk"].startswith("DUE#survey")]


def test_a_snoozed_conversation_stays_on_its_agents_load(stack):
    api(stack, "PUT", "/api/me/availability", {"available": True})
    conv = customer_writes(stack, "sz.7", "assign me", sender="15556660007")
    assert api(stack, "GET", f"/api/conversations/{conv['id']}").json()["assignee"] == "agent@example.com"
    load = lambda: next(a for a in api(stack, "GET", "/api/agents").json()["items"])["open_count"]  # noqa: E731
    assert load() == 1
    api(stack, "POST", f"/api/conversations/{conv['id']}/snooze", {"preset": "1h"})
    assert load() == 1  # it comes back to them
    clock.advance(3601)
    timers(stack)
    assert load() == 1
    api(stack, "POST", f"/api/conversations/{conv['id']}/resolve")
    assert load() == 0


# -- priority, sorts and filters ----------------------------------------------------------------------------------------
def test_priority_is_set_by_agents_and_carried_by_list_items(stack):
    conv = customer_writes(stack, "pr.1", "hello", sender="15556660011")
    assert conv["priority"] == "normal"
    r = api(stack, "POST", f"/api/conversations/{conv['id']}/priority", {"priority": "urgent"})
    assert r.status == 200 and r.json()["priority"] == "urgent"
    assert api(stack, "GET", "/api/conversations").json()["items"][0]["priority"] == "urgent"
    assert api(stack, "POST", f"/api/conversations/{conv['id']}/priority", {"priority": "asap"}).status == 422
    assert api(stack, "POST", f"/api/conversations/{conv['id']}/priority", {}).status == 422
    assert api(stack, "POST", "/api/conversations/cv_missing/priority", {"priority": "low"}).status == 404
    assert api(stack, "POST", f"/api/conversations/{conv['id']}/priority", {"priority": "urgent"}).status == 200


def make_queue(stack) -> dict[str, dict]:
    """Nine conversations: priorities, customers waiting (since different times) or answered, one resolved."""
    made: dict[str, dict] = {}
    plan = [("a", "normal", True), ("b", "urgent", True), ("c", "low", True), ("d", "high", False),
            ("e", "normal", False), ("f", "urgent", False), ("g", "high", True), ("h", "normal", True),
            ("i", "low", False)]
    for n, (name, priority, waiting) in enumerate(plan):
        conv = customer_writes(stack, f"q.{name}", f"question {name}", sender=f"155566601{n:02d}")
        if priority != "normal":
            api(stack, "POST", f"/api/conversations/{conv['id']}/priority", {"priority": priority})
        if not waiting:
            assert api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"text": f"answer {name}"}).status == 202
        made[name] = api(stack, "GET", f"/api/conversations/{conv['id']}").json()
        clock.advance(61)
    resolved = customer_writes(stack, "q.z", "question z", sender="15556660199")
    api(stack, "POST", f"/api/conversations/{resolved['id']}/resolve")
    return made


def names(made: dict[str, dict], items: list[dict]) -> str:
    by_id = {c["id"]: name for name, c in made.items()}
    return "".join(by_id[c["id"]] for c in items)


def test_the_inbox_sorts_by_priority_waiting_and_filters_by_priority_page_by_page(stack):
    made = make_queue(stack)
    assert all(made[n]["waiting_since"] for n in "abcgh") and not any(made[n]["waiting_since"] for n in "defi")
    # priority, then the longest waiting first (those answered after, oldest first)
    assert names(made, listed(stack, "status=open&sort=priority")) == "bfgdaheci"
    # the longest waiting first, whatever the priority; those answered after
    assert names(made, listed(stack, "status=open&sort=waiting")) == "abcghdefi"
    # one priority, newest activity first (the default sort) and by waiting time
    assert names(made, listed(stack, "status=open&priority=urgent")) == "fb"
    assert names(made, listed(stack, "status=open&priority=high")) == "gd"
    assert names(made, listed(stack, "status=open&priority=normal")) == "hea"
    assert names(made, listed(stack, "status=open&priority=low&sort=waiting")) == "ci"
    assert names(made, listed(stack, "status=open&priority=normal&sort=priority")) == "ahe"
    # newest activity first is still the default
    assert names(made, listed(stack, "status=open")) == "ihgfedcba"
    # the other filters combine with a sort; every status when none is given
    assert names(made, listed(stack, "sort=priority&channel=whatsapp&status=open")) == "bfgdaheci"
    assert len(listed(stack, "sort=waiting")) == 10 and len(listed(stack, "priority=normal")) == 4
    # an answer ends the wait: the conversation moves in the waiting order
    api(stack, "POST", f"/api/conversations/{made['a']['id']}/messages", {"text": "answered now"})
    assert names(made, listed(stack, "status=open&sort=waiting")) == "bcghadefi"
    # changing the priority moves it in every view
    api(stack, "POST", f"/api/conversations/{made['c']['id']}/priority", {"priority": "urgent"})
    assert names(made, listed(stack, "status=open&sort=priority"))[:3] == "bcf"
    assert names(made, listed(stack, "status=open&priority=low")) == "i"
    api(stack, "POST", f"/api/conversations/{made['f']['id']}/priority", {"priority": "normal"})
    assert names(made, listed(stack, "status=open&priority=urgent")) == "cb"
    assert "f" in names(made, listed(stack, "status=open&priority=normal"))


def test_a_cursor_of_other_filters_or_sort_is_refused(stack):
    make_queue(stack)
    page = api(stack, "GET", "/api/conversations", query="status=open&sort=priority&limit=2").json()
    r = api(stack, "GET", "/api/conversations", query=f"status=open&sort=waiting&limit=2&cursor={page['next_cursor']}")
    assert r.status == 400 and r.json()["error"]["code"] == "invalid_cursor"
    assert api(stack, "GET", "/api/conversations", query="sort=newest").status == 422
    assert api(stack, "GET", "/api/conversations", query="priority=asap").status == 422


def test_a_customer_who_writes_again_while_waiting_keeps_their_place(stack):
    first = customer_writes(stack, "w.1", "one", sender="15556660031")
    clock.advance(60)
    second = customer_writes(stack, "w.2", "two", sender="15556660032")
    clock.advance(60)
    customer_writes(stack, "w.3", "still waiting", sender="15556660031")  # the first writes again
    order = [c["id"] for c in listed(stack, "status=open&sort=waiting")]
    assert order == [first["id"], second["id"]]  # waiting since their first unanswered message
    assert [c["id"] for c in listed(stack, "status=open")] == [first["id"], second["id"]]  # activity: newest


def test_routes_need_a_token_and_any_agent_may_organize(stack):
    conv = customer_writes(stack, "rt.1", "hello", sender="15556660041")
    for method, path, body in (("POST", f"/api/conversations/{conv['id']}/snooze", {"preset": "1h"}),
                               ("POST", f"/api/conversations/{conv['id']}/priority", {"priority": "high"}),
                               ("POST", "/api/conversations/bulk", {"ids": [conv["id"]], "action": "resolve"}),
                               ("PATCH", f"/api/conversations/{conv['id']}", {"attributes": {}}),
                               ("GET", "/api/attributes", None)):
        assert stack.http(method, path, body).status == 401, path
    for role in ("agent", "admin"):
        assert api(stack, "POST", f"/api/conversations/{conv['id']}/priority", {"priority": "high"}, role=role).status == 200
        assert api(stack, "GET", "/api/conversations", query="sort=priority", role=role).status == 200
    doc = stack.http("GET", "/api/openapi.json").json()["paths"]
    for path in ("/api/conversations/{conversation_id}/snooze", "/api/conversations/{conversation_id}/priority",
                 "/api/conversations/bulk", "/api/attributes", "/api/attributes/{key}"):
        assert path in doc, path
    assert "patch" in doc["/api/conversations/{conversation_id}"]
    params = {p["name"] for p in doc["/api/conversations"]["get"]["parameters"]}
    assert {"priority", "sort", "status"} <= params


def test_the_all_statuses_view_and_the_status_filter_know_snoozed(stack):
    conv = customer_writes(stack, "st.1", "hello", sender="15556660051")
    api(stack, "POST", f"/api/conversations/{conv['id']}/snooze", {"until": clock.iso(clock.now() + timedelta(days=1))})
    assert [c["status"] for c in listed(stack, "")] == ["snoozed"]
    assert datetime.fromisoformat(listed(stack, "status=snoozed")[0]["snoozed_until"].replace("Z", "+00:00")) > clock.now()

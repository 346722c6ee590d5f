"""SLA targets on moto (issue 14): due times as customers write and agents answer, in and out of business hours; the
warning mailed once and the breach recorded once by TimersFunction however often it runs; hit rates in the metrics;
the inbox sorted by the time left."""

from __future__ import annotations

from datetime import timedelta

from switchboard import clock
from switchboard.automation_settings import validate
from switchboard.business_time import add_minutes
from tests.integration.test_automation import customer_writes, run, ses_messages, settings
from tests.integration.test_snooze_priority import api, listed
from tests.integration.test_whatsapp_flow import make_flaky

SLA = {"enabled": True, "first_response_minutes": 30, "next_response_minutes": 20, "resolution_minutes": 240,
       "warn_before_minutes": 10}


def after(start: str, minutes: int) -> str:
    return clock.iso(clock.parse_iso(start) + timedelta(minutes=minutes))


def detail(stack, conv_id: str) -> dict:
    return api(stack, "GET", f"/api/conversations/{conv_id}").json()


def timers(stack) -> dict:
    return run(stack, "TimersFunction")


def test_due_times_follow_the_customer_and_the_agents_and_metrics_count_the_hits(stack):
    settings(stack, {"sla": SLA})
    conv = customer_writes(stack, "sla.1", "help", sender="15554440001")
    sla, since = conv["sla"], conv["waiting_since"]
    assert sla["first_response_due_at"] == after(since, 30) and sla["resolution_due_at"] == after(since, 240)
    assert sla["next_response_due_at"] is None and sla["breached"] == [] and sla["next_due_at"] == after(since, 30)
    assert 1700 < sla["seconds_left"] <= 1800
    # the agent answers in time: the first response target is met (and counted as a hit)
    api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"text": "on it"})
    sla = detail(stack, conv["id"])["sla"]
    assert sla["first_response_due_at"] is None and sla["next_due_at"] == sla["resolution_due_at"]
    # the customer writes again: a next response is due, and writing once more while waiting changes nothing
    clock.advance(120)
    again = customer_writes(stack, "sla.2", "and another thing", sender="15554440001")
    assert again["sla"]["next_response_due_at"] == after(again["waiting_since"], 20)
    clock.advance(60)
    customer_writes(stack, "sla.3", "hello?", sender="15554440001")
    assert detail(stack, conv["id"])["sla"]["next_response_due_at"] == again["sla"]["next_response_due_at"]
    api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"text": "done"})
    assert detail(stack, conv["id"])["sla"]["next_response_due_at"] is None
    resolved = api(stack, "POST", f"/api/conversations/{conv['id']}/resolve").json()
    assert resolved["sla"] is None  # no target runs any more
    metrics = api(stack, "GET", "/api/metrics").json()["sla"]
    assert metrics["first_response_hit_rate"] == 1.0 and metrics["next_response_hit_rate"] == 1.0
    assert metrics["resolution_hit_rate"] == 1.0 and metrics["breaches"] == 0
    assert metrics["counted"] == {"first_response": 1, "next_response": 1, "resolution": 1}
    # reopened by the customer: a new cycle, answered before, so a next response (not a first one) is due
    clock.advance(60)
    back = customer_writes(stack, "sla.4", "it broke again", sender="15554440001")
    assert back["sla"]["first_response_due_at"] is None
    assert back["sla"]["next_response_due_at"] == after(back["waiting_since"], 20)
    assert back["sla"]["resolution_due_at"] == after(back["waiting_since"], 240)


def test_business_hours_only_counts_open_time_in_and_out_of_hours(stack):
    hour = clock.now().hour
    def window(start: int, end: int) -> dict:
        return {d: [[f"{start % 24:02d}:00", f"{end % 24:02d}:00"]] for d in ("mon", "tue", "wed", "thu", "fri",
                                                                             "sat", "sun")}
    # open now (an hour ago to two hours ahead): 30 minutes are 30 minutes
    open_now = {"timezone": "UTC", "days": window(hour - 1, hour + 2)}
    settings(stack, {"sla": SLA | {"business_hours_only": True}, "business_hours": open_now})
    inside = customer_writes(stack, "bh.1", "inside hours", sender="15554440011")
    assert inside["sla"]["first_response_due_at"] == after(inside["waiting_since"], 30)
    # closed now (opening in three hours, for an hour): counting starts at the opening
    closed_now = {"timezone": "UTC", "days": window(hour + 3, hour + 4)}
    settings(stack, {"business_hours": closed_now})
    outside = customer_writes(stack, "bh.2", "outside hours", sender="15554440012")
    hours = validate({"business_hours": closed_now}).business_hours
    expected = clock.iso(add_minutes(hours, clock.parse_iso(outside["waiting_since"]), 30))
    assert outside["sla"]["first_response_due_at"] == expected
    assert clock.parse_iso(expected) - clock.parse_iso(outside["waiting_since"]) > timedelta(hours=2)
    # the resolution target (240 minutes, an hour open a day) runs over days
    assert clock.parse_iso(outside["sla"]["resolution_due_at"]) - clock.now() > timedelta(days=3)


def test_the_assignee_is_warned_once_and_the_breach_recorded_once_however_often_timers_run(stack):
    settings(stack, {"sla": SLA | {"resolution_minutes": None}})
    api(stack, "PUT", "/api/me/availability", {"available": True})
    conv = customer_writes(stack, "wb.1", "my secret order text", sender="15554440021")
    assert conv["assignee"] == "agent@example.com"
    assert timers(stack)["sla_due"] == 0  # nothing due yet: nothing read
    clock.advance(21 * 60)  # the warning is due 10 minutes before the first response is
    assert timers(stack)["sla_done"] == 1
    (mail,) = ses_messages(stack)
    assert "To: agent@example.com" in mail and conv["id"] in mail and "first response" in mail
    assert "secret order" not in mail and "15554440021" not in mail  # no message text, no phone number
    assert detail(stack, conv["id"])["sla"]["warned"] == ["first_response"]
    for _ in range(2):  # reruns: nothing more
        assert timers(stack)["sla_due"] == 0
    assert len(ses_messages(stack)) == 1
    clock.advance(10 * 60)
    assert timers(stack)["sla_done"] == 1
    sla = detail(stack, conv["id"])["sla"]
    assert sla["breached"] == ["first_response"] and sla["seconds_left"] < 0
    assert timers(stack)["sla_due"] == 0
    metrics = api(stack, "GET", "/api/metrics").json()["sla"]
    assert metrics["breaches"] == 1 and metrics["breaches_by_target"]["first_response"] == 1
    # the late answer counts as a miss
    api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"text": "sorry for the wait"})
    assert api(stack, "GET", "/api/metrics").json()["sla"]["first_response_hit_rate"] == 0.0
    assert len(ses_messages(stack)) == 1


def test_an_answer_in_time_takes_the_timers_away(stack):
    settings(stack, {"sla": SLA})
    conv = customer_writes(stack, "wb.2", "hello", sender="15554440022")
    api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"text": "hi!"})
    api(stack, "POST", f"/api/conversations/{conv['id']}/resolve")
    assert not [i for i in stack.items(f"CONV#{conv['id']}") if i["sk"].startswith("DUE#sla")]
    clock.advance(5 * 3600)
    assert timers(stack)["sla_due"] == 0 and ses_messages(stack) == []


def test_a_failed_warning_mail_is_tried_again_and_sent_once(stack, monkeypatch):
    settings(stack, {"sla": SLA})
    api(stack, "PUT", "/api/me/availability", {"available": True})
    conv = customer_writes(stack, "wb.3", "hello", sender="15554440023")
    clock.advance(21 * 60)
    make_flaky(monkeypatch, "sesv2", "send_email")
    assert timers(stack)["errors"] == 1 and ses_messages(stack) == []
    assert detail(stack, conv["id"])["sla"]["warned"] == []  # not warned: not recorded as warned
    assert timers(stack)["sla_done"] == 1 and len(ses_messages(stack)) == 1
    assert timers(stack)["sla_due"] == 0


def test_turning_slas_off_stops_the_timers(stack):
    settings(stack, {"sla": SLA})
    conv = customer_writes(stack, "off.1", "hello", sender="15554440031")
    settings(stack, {"sla": {"enabled": False}})
    clock.advance(3600)
    assert timers(stack)["sla_done"] == 0
    assert detail(stack, conv["id"])["sla"] is None  # not shown while SLAs are off
    assert timers(stack)["sla_due"] == 0  # the entries went
    settings(stack, {"sla": {"enabled": True}})
    assert detail(stack, conv["id"])["sla"]["breached"] == []  # nothing was recorded meanwhile


def test_priority_targets_and_the_inbox_sorted_by_time_left(stack):
    settings(stack, {"sla": SLA | {"resolution_minutes": None,
                                   "by_priority": {"urgent": {"first_response_minutes": 5}}}})
    slow = customer_writes(stack, "so.1", "first", sender="15554440041")
    clock.advance(60)
    answered = customer_writes(stack, "so.2", "second", sender="15554440042")
    api(stack, "POST", f"/api/conversations/{answered['id']}/messages", {"text": "answered"})
    clock.advance(60)
    api(stack, "POST", f"/api/conversations/{slow['id']}/priority", {"priority": "urgent"})  # later: own message
    clock.advance(60)
    later = customer_writes(stack, "so.3", "third", sender="15554440043")
    order = [c["id"] for c in listed(stack, "status=open&sort=sla_due")]
    assert order == [slow["id"], later["id"], answered["id"]]  # nearest due first; no target running: last
    # an urgent customer's own first message gets the urgent target
    urgent = customer_writes(stack, "so.4", "fourth", sender="15554440044")
    api(stack, "POST", f"/api/conversations/{urgent['id']}/resolve")
    api(stack, "POST", f"/api/conversations/{urgent['id']}/priority", {"priority": "urgent"})
    clock.advance(60)
    again = customer_writes(stack, "so.5", "fourth again", sender="15554440044")
    assert again["sla"]["next_response_due_at"] is None  # never answered: its first response is still due
    assert again["sla"]["first_response_due_at"] == after(again["waiting_since"], 5)
    assert listed(stack, "status=open&sort=sla_due")[0]["id"] == urgent["id"]
    # breached ones stay on top; the priority filter works with this sort too
    clock.advance(3600)
    timers(stack)
    first = listed(stack, "status=open&sort=sla_due")[0]
    assert first["sla"]["breached"] and first["sla"]["seconds_left"] < 0
    assert [c["id"] for c in listed(stack, "status=open&sort=sla_due&priority=urgent")] == [urgent["id"], slow["id"]]

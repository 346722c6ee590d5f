"""Reports and the conversation export on moto, from a seeded scenario in the business time zone (America/New_York):
conversations opened either side of local midnight, first responses and resolutions timed to known histogram buckets,
labels, an entry link, CSAT answers; each report's numbers (p50/p90 interpolated in their buckets, CSAT, currently
open) checked by hand, the CSV shapes, who may export, and what erasure and retention leave behind."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from infra.local.template import load
from switchboard import clock
from switchboard.services import survey
from switchboard.store import surveys
from switchboard.store.table import Table
from tests.conftest import ROOT
from tests.integration.test_whatsapp_flow import post, wa_message, wa_payload

ZONE = "America/New_York"  # UTC-5 in January


_frozen: dict[str, datetime] = {}


def at(moment: str) -> None:
    """Stop the clock at an instant (UTC): the seeded times are exact."""
    _frozen["now"] = datetime.fromisoformat(moment.replace("Z", "+00:00"))


def later(seconds: float) -> None:
    _frozen["now"] += timedelta(seconds=seconds)


def arrive(stack, wamid: str, sender: str, text: str = "hi") -> str:
    """A customer's first message; returns its conversation's id."""
    assert post(stack, wa_payload(wa_message(wamid, sender=sender, text=text), sender=sender, name="Ann " + sender[-2:])
                ).status == 200
    stack.drain("ProcessorFunction")
    for conv in stack.http("GET", "/api/conversations", role="agent", query="status=open&limit=50").json()["items"]:
        contact = stack.http("GET", f"/api/contacts/{conv['contact']['id']}", role="agent").json()
        if any(sender in str(i) for i in contact.get("identities", [])):
            return conv["id"]
    raise AssertionError("no conversation")


def reply(stack, conv_id: str, role: str = "agent") -> None:
    assert stack.http("POST", f"/api/conversations/{conv_id}/messages", {"text": "hello"}, role=role).status == 202


def rate(stack, conv_id: str, resolved_by: str, rating: int) -> str:
    expires = clock.epoch() + 86400
    surveys.claim(Table(), conv_id, "r1", resolved_by=resolved_by, sent_at=clock.iso(clock.now()),
                  expires_token=expires)
    later(3600)  # past the scanners' hold: a customer's click counts
    token = survey.make_token(conv_id, "r1", expires)
    assert stack.http("GET", f"/survey/{token}", query=f"rating={rating}").status == 200
    return token


def report(stack, dimension: str, day_from: str, day_to: str | None = None, role: str = "agent") -> dict:
    r = stack.http("GET", f"/api/reports/{dimension}", role=role, query=f"from={day_from}&to={day_to or day_from}")
    assert r.status == 200, r
    return {row["key"]: row for row in r.json()["items"]}


@pytest.fixture
def scenario(stack, monkeypatch):
    """The seeded day, 2027-01-15 in New York (05:00Z to 05:00Z next day), and the evening before."""
    at("2027-01-14T12:00:00Z")
    monkeypatch.setattr(clock, "now", lambda: _frozen["now"])
    admin = "admin@example.com"
    assert stack.http("PUT", "/api/settings", {"business_hours": {"timezone": ZONE}}, role="admin").status == 200
    assert stack.http("PUT", "/api/me/availability", {"available": True}, role="agent").status == 200
    link = stack.http("POST", "/api/links", {"name": "Flyer", "channel": "whatsapp"}, role="admin").json()
    at("2027-01-15T04:30:00Z")  # 23:30 on the 14th in New York
    a = arrive(stack, "wamid.rp.a", "15550007001")
    at("2027-01-15T15:00:00Z")
    b = arrive(stack, "wamid.rp.b", "15550007002")
    c = arrive(stack, "wamid.rp.c", "15550007003")
    d = arrive(stack, "wamid.rp.d", "15550007004")  # A to D go round-robin to agent@ (available)
    at("2027-01-15T15:01:40Z")
    reply(stack, b)  # 100 s: bucket (60, 120]
    at("2027-01-15T15:03:20Z")
    reply(stack, c)  # 200 s: (120, 300]
    at("2027-01-15T15:16:40Z")
    reply(stack, d)  # 1000 s: (900, 1800]
    at("2027-01-15T15:20:00Z")
    assert stack.http("POST", f"/api/conversations/{b}/labels", {"labels": ["Billing"]}, role="agent").status == 200
    at("2027-01-15T15:30:00Z")
    assert stack.http("POST", f"/api/conversations/{b}/resolve", role="agent").status == 200  # 1800 s
    at("2027-01-15T16:00:00Z")
    assert stack.http("POST", f"/api/conversations/{c}/resolve", role="agent").status == 200  # 3600 s
    at("2027-01-15T17:00:00Z")
    rate(stack, b, "agent@example.com", 5)
    c_survey = rate(stack, c, "agent@example.com", 3)
    assert stack.http("PUT", "/api/me/availability", {"available": False}, role="agent").status == 200
    at("2027-01-16T03:00:00Z")  # 22:00 on the 15th in New York: the 16th in UTC
    e = arrive(stack, "wamid.rp.e", "15550007005", text=f"Hi (ref {link['ref']})")
    assert stack.http("POST", f"/api/conversations/{e}/assign", {"agent": admin}, role="admin").status == 200
    at("2027-01-16T03:00:10Z")
    reply(stack, e, role="admin")  # 10 s: (0, 15]
    at("2027-01-16T03:10:00Z")
    assert stack.http("POST", f"/api/conversations/{e}/resolve", role="admin").status == 200  # 600 s
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "link": link, "c_survey": c_survey}


def test_each_report_counts_the_business_day_with_percentiles_and_csat(stack, scenario):
    # Channels: the four conversations of the 15th in New York (not A, the evening before; E although UTC's 16th)
    channels = report(stack, "channels", "2027-01-15")
    assert list(channels) == ["whatsapp"]
    wa = channels["whatsapp"]
    assert (wa["conversations"], wa["resolved"]) == (4, 3)
    # first responses 10, 100, 200, 1000 s: buckets (0,15], (60,120], (120,300], (900,1800]
    assert wa["first_response_seconds"] == {"p50": 120.0, "p90": 1440.0, "count": 4}
    # resolutions 600, 1800, 3600 s: (300,600], (900,1800], (1800,3600]
    assert wa["resolution_seconds"] == {"p50": 1350.0, "p90": 3060.0, "count": 3}
    assert wa["csat"] == {"average": 4.0, "responses": 2, "satisfied_share": 0.5}
    before = report(stack, "channels", "2027-01-14")["whatsapp"]
    assert before["conversations"] == 1 and before["resolved"] == 0
    assert report(stack, "channels", "2027-01-14", "2027-01-15")["whatsapp"]["conversations"] == 5

    agents = report(stack, "agents", "2027-01-15")
    ann = agents["agent@example.com"]
    assert (ann["conversations"], ann["resolved"]) == (3, 2)  # B, C, D assigned on the 15th (A on the 14th)
    assert ann["first_response_seconds"] == {"p50": 210.0, "p90": 1530.0, "count": 3}
    assert ann["resolution_seconds"] == {"p50": 1800.0, "p90": 3240.0, "count": 2}
    assert ann["csat"] == {"average": 4.0, "responses": 2, "satisfied_share": 0.5}
    assert ann["currently_open"] == 2  # A and D, open and assigned to them now
    boss = agents["admin@example.com"]
    assert (boss["conversations"], boss["resolved"]) == (1, 1)
    assert boss["first_response_seconds"] == {"p50": 7.5, "p90": 13.5, "count": 1}
    assert boss["resolution_seconds"] == {"p50": 450.0, "p90": 570.0, "count": 1}
    assert boss["csat"]["responses"] == 0 and boss["currently_open"] is None  # never registered for round-robin

    labels = report(stack, "labels", "2027-01-15")
    assert list(labels) == ["billing"]  # labels are lower-cased
    billing = labels["billing"]
    assert (billing["conversations"], billing["resolved"]) == (1, 1)
    assert billing["first_response_seconds"]["count"] == 0  # B was answered before it was labelled
    assert billing["resolution_seconds"]["p50"] == 1350.0
    assert billing["csat"] == {"average": 5.0, "responses": 1, "satisfied_share": 1.0}

    sources = report(stack, "sources", "2027-01-15")
    link_key = f"link:{scenario['link']['id']}"
    assert sources[link_key]["conversations"] == 1 and sources[link_key]["name"] == "Flyer"
    assert sources[link_key]["resolution_seconds"]["count"] == 1
    assert sources["none"]["conversations"] == 3 and sources["none"]["name"] == "No source"

    inboxes = report(stack, "inboxes", "2027-01-15")
    assert len(inboxes) == 1 and next(iter(inboxes.values()))["conversations"] == 4


def test_reports_read_one_item_per_day_per_dimension(stack, scenario, monkeypatch):
    calls: list[int] = []
    real = Table.batch_get

    def counting(self, keys_, *args, **kwargs):
        calls.append(len(keys_))
        return real(self, keys_, *args, **kwargs)

    monkeypatch.setattr(Table, "batch_get", counting)
    report(stack, "labels", "2027-01-01", "2027-01-31")
    assert calls == [31]  # one key per day of the range, in one BatchGetItem


def test_report_csv_and_bad_ranges(stack, scenario):
    r = stack.http("GET", "/api/reports/agents", role="agent", query="from=2027-01-15&to=2027-01-15&format=csv")
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.body)))
    assert rows[0]["key"] == "agent@example.com"
    assert (rows[0]["conversations"], rows[0]["first_response_p50_seconds"], rows[0]["csat_average"],
            rows[0]["currently_open"]) == ("3", "210.0", "4.0", "2")
    header = r.body.splitlines()[0].split(",")
    assert header[:4] == ["key", "name", "conversations", "resolved"] and header[-1] == "currently_open"
    channels = stack.http("GET", "/api/reports/channels", role="agent", query="from=2027-01-15&format=csv&to=2027-01-15")
    assert "currently_open" not in channels.body.splitlines()[0]
    for query in ("from=2027-01-16&to=2027-01-15", "from=2025-01-01&to=2027-01-15", "from=15-01-2027"):
        bad = stack.http("GET", "/api/reports/channels", role="agent", query=query)
        assert bad.status in (400, 422) and "error" in bad.json(), query
    for query in ("from=9999-12-31&to=9999-12-31", "to=0001-01-01", "from=1999-12-31&to=2000-01-01"):
        for path in ("/api/reports/channels", "/api/exports/conversations"):
            bad = stack.http("GET", path, role="admin", query=query)
            assert bad.status == 400 and bad.json()["error"]["code"] == "invalid_range", (path, query)
    assert stack.http("GET", "/api/reports/contacts", role="agent").status == 404
    assert stack.http("GET", "/api/reports/channels", role=None).status == 401


def test_a_redelivered_message_and_a_second_resolve_count_nothing_twice(stack, scenario):
    before = report(stack, "channels", "2027-01-15")["whatsapp"]
    at("2027-01-16T03:20:00Z")
    assert stack.http("POST", f"/api/conversations/{scenario['c']}/resolve", role="agent").status == 200
    assert post(stack, wa_payload(wa_message("wamid.rp.e", sender="15550007005", text="Hi"),
                                  sender="15550007005")).status == 200
    stack.drain("ProcessorFunction")
    assert report(stack, "channels", "2027-01-15")["whatsapp"] == before


def export(stack, query: str, role: str = "admin"):
    return stack.http("GET", "/api/exports/conversations", role=role, query=query)


def test_the_conversation_export_is_for_admins_audited_and_one_row_per_conversation(stack, scenario):
    assert export(stack, "from=2027-01-15&to=2027-01-15", role="agent").status == 403
    r = export(stack, "from=2027-01-15&to=2027-01-15")
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.body)))
    assert sorted(row["id"] for row in rows) == sorted(scenario[k] for k in "bcde")  # not A: the 14th locally
    by_id = {row["id"]: row for row in rows}
    b = by_id[scenario["b"]]
    assert (b["channel"], b["status"], b["assignee"], b["labels"], b["rating"]) == \
        ("whatsapp", "resolved", "agent@example.com", "billing", "5")
    assert (b["first_response_seconds"], b["resolution_seconds"], b["source"]) == ("100.0", "1800.0", "")
    assert b["contact_name"] == "Ann 02" and b["created_at"] == "2027-01-15T15:00:00.000Z"
    e = by_id[scenario["e"]]
    assert e["source"] == f"link:{scenario['link']['id']}" and e["source_name"] == "Flyer"
    assert list(rows[0]) == ["id", "channel", "inbox", "contact_id", "contact_name", "status", "priority",
                             "created_at", "first_response_at", "first_response_seconds", "resolved_at",
                             "resolution_seconds", "resolved_by", "assignee", "labels", "source", "source_name",
                             "rating"]
    audit = stack.http("GET", "/api/audit", role="admin", query="from=2027-01-15&to=2027-01-20&action=conversations.export")
    assert audit.status == 200
    assert [i["actor"] for i in audit.json()["items"]] == ["admin@example.com"]  # the agent's refusal changed nothing


def test_a_large_export_goes_to_s3_behind_an_expiring_link(stack, scenario):
    r = export(stack, "from=2026-12-01&to=2027-01-31")
    assert r.status == 200, r
    body = r.json()
    assert body["rows"] == 5 and body["expires_in"] == 900
    url = urlsplit(body["url"])
    assert parse_qs(url.query)["X-Amz-Expires"] == ["900"]
    bucket = stack.resolver.refs["MediaBucket"]
    key = url.path.lstrip("/").removeprefix(f"{bucket}/")  # virtual-hosted or path-style
    assert key.startswith("exports/")
    obj = stack.clients["s3"].get_object(Bucket=bucket, Key=key)
    assert obj["ContentType"].startswith("text/csv")
    assert len(list(csv.DictReader(io.StringIO(obj["Body"].read().decode())))) == 5
    # the bucket deletes exports after a day (a lifecycle rule of the template: the local stand-in keeps none)
    template = load(ROOT / "template.yaml")
    rules = template["Resources"]["MediaBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    (rule,) = [x for x in rules if x.get("Prefix") == "exports/"]
    assert rule["ExpirationInDays"] == 1 and rule["Status"] == "Enabled"


def test_erasure_takes_the_contact_out_of_exports_and_reports_hold_no_personal_data(stack, scenario):
    conv = stack.http("GET", f"/api/conversations/{scenario['b']}", role="agent").json()
    assert stack.http("DELETE", f"/api/contacts/{conv['contact']['id']}", role="admin").status in (200, 204)
    rows = list(csv.DictReader(io.StringIO(export(stack, "from=2027-01-15&to=2027-01-15").body)))
    assert scenario["b"] not in {row["id"] for row in rows} and len(rows) == 3
    # the aggregates keep their counts: they hold agents, labels, channels, inboxes and sources, no customer
    assert report(stack, "channels", "2027-01-15")["whatsapp"]["conversations"] == 4
    items = stack.items("REPORT#")
    assert items and all(i["expires_at"] > clock.epoch() for i in items)  # kept two years, then gone (TTL)
    text = repr(items)
    for personal in ("15550007002", "Ann 02", conv["contact"]["id"], scenario["b"]):
        assert personal not in text


def test_a_changed_rating_moves_the_same_counters_on_the_day_it_was_first_counted(stack, scenario):
    at("2027-01-16T12:00:00Z")  # the next day (the link is valid a day): the change belongs to the 15th
    changed = stack.http("POST", f"/survey/{scenario['c_survey']}", b"rating=1",
                         {"Content-Type": "application/x-www-form-urlencoded"})
    assert changed.status == 200
    ann = report(stack, "agents", "2027-01-15")["agent@example.com"]
    assert ann["csat"] == {"average": 3.0, "responses": 2, "satisfied_share": 0.5}  # (5 + 1) / 2, still two answers
    assert report(stack, "agents", "2027-01-16")["agent@example.com"]["csat"]["responses"] == 0

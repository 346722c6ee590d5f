"""Custom attributes and bulk actions on moto (issue 14): definitions (admins), values checked per type on
conversations and contacts, the inbox filtered by a list attribute, export and erasure; one action on several
conversations with a result each."""

from __future__ import annotations

from datetime import timedelta

import pytest

from switchboard import clock
from tests.integration.test_automation import customer_writes
from tests.integration.test_snooze_priority import api, listed

DEFINITIONS = [
    {"key": "plan", "label": "Plan", "type": "list", "applies_to": "conversation", "options": ["free", "gold"]},
    {"key": "order_total", "label": "Order total", "type": "number", "applies_to": "conversation"},
    {"key": "due_on", "label": "Due on", "type": "date", "applies_to": "conversation"},
    {"key": "refund", "label": "Refund asked", "type": "checkbox", "applies_to": "conversation"},
    {"key": "note", "label": "Note", "type": "text", "applies_to": "conversation"},
    {"key": "customer_id", "label": "Customer id", "type": "text", "applies_to": "contact"},
    {"key": "vip", "label": "VIP", "type": "checkbox", "applies_to": "contact"},
]


def define(stack) -> None:
    for definition in DEFINITIONS:
        r = api(stack, "POST", "/api/attributes", definition, role="admin")
        assert r.status == 201, r.body
        assert r.json() == {"options": None} | definition


def test_admins_define_attributes_and_everyone_reads_them(stack):
    define(stack)
    assert api(stack, "GET", "/api/attributes").json()["items"][0]["key"] == "customer_id"  # contact ones first
    assert len(api(stack, "GET", "/api/attributes").json()["items"]) == len(DEFINITIONS)
    extra = {"key": "size", "label": "Size", "type": "text", "applies_to": "contact"}
    r = api(stack, "POST", "/api/attributes", extra)
    assert r.status == 403  # agents read, admins define
    for body, status, code in (
            (DEFINITIONS[0], 409, "attribute_exists"),
            ({**extra, "type": "list"}, 400, "invalid_attribute"),  # a list needs options
            ({**extra, "options": ["a"]}, 400, "invalid_attribute"),  # only a list has options
            ({**extra, "type": "list", "options": ["a", "a"]}, 400, "invalid_attribute"),
            ({**extra, "key": "Bad Key"}, 422, "validation_error"),
            ({**extra, "type": "colour"}, 422, "validation_error"),
            ({**extra, "applies_to": "agent"}, 422, "validation_error")):
        r = api(stack, "POST", "/api/attributes", body, role="admin")
        assert r.status == status and r.json()["error"]["code"] == code, (body, r.body)
    assert api(stack, "DELETE", "/api/attributes/note").status == 403
    assert api(stack, "DELETE", "/api/attributes/note", role="admin").status == 204
    assert api(stack, "DELETE", "/api/attributes/note", role="admin").status == 404
    assert "note" not in {d["key"] for d in api(stack, "GET", "/api/attributes").json()["items"]}


@pytest.mark.parametrize(("key", "good", "bad"), [
    ("plan", "gold", "platinum"), ("order_total", 12.5, "12.5"), ("order_total", 3, True),
    ("due_on", "2026-05-04", "04/05/2026"), ("due_on", "2026-02-28", "2026-02-30"), ("refund", True, "yes"),
    ("note", "call back after 5", 42)])
def test_conversation_values_are_checked_against_their_type(stack, key, good, bad):
    define(stack)
    conv = customer_writes(stack, f"at.{key}.{good}", "hello", sender="15553330001")
    path = f"/api/conversations/{conv['id']}"
    r = api(stack, "PATCH", path, {"attributes": {key: bad}})
    assert r.status == 400 and r.json()["error"]["code"] == "invalid_attribute_value", r.body
    assert api(stack, "GET", path).json()["attributes"] == {}  # nothing stored
    r = api(stack, "PATCH", path, {"attributes": {key: good}})
    assert r.status == 200 and r.json()["attributes"] == {key: good}
    assert api(stack, "PATCH", path, {"attributes": {key: None}}).json()["attributes"] == {}  # null removes it


def test_unknown_attributes_and_those_of_contacts_are_refused_on_conversations(stack):
    define(stack)
    conv = customer_writes(stack, "at.u", "hello", sender="15553330002")
    path = f"/api/conversations/{conv['id']}"
    for values in ({"colour": "red"}, {"vip": True}):
        r = api(stack, "PATCH", path, {"attributes": values})
        assert r.status == 400 and r.json()["error"]["code"] == "unknown_attribute"
    assert api(stack, "PATCH", path, {"attributes": {}}).status == 400
    assert api(stack, "PATCH", path, {"labels": ["x"]}).status == 422
    assert api(stack, "PATCH", "/api/conversations/cv_missing", {"attributes": {"refund": True}}).status == 404
    # two edits of different keys both stay
    api(stack, "PATCH", path, {"attributes": {"plan": "free"}})
    r = api(stack, "PATCH", path, {"attributes": {"refund": False, "order_total": 0}})
    assert r.json()["attributes"] == {"plan": "free", "refund": False, "order_total": 0}


def test_contact_attributes_are_edited_with_the_profile(stack):
    define(stack)
    conv = customer_writes(stack, "at.c", "hello", sender="15553330003")
    path = f"/api/contacts/{conv['contact']['id']}"
    r = api(stack, "PATCH", path, {"name": "Mara", "attributes": {"vip": True, "customer_id": "C-77"}})
    assert r.status == 200 and r.json()["attributes"] == {"vip": True, "customer_id": "C-77"}
    assert r.json()["name"] == "Mara"
    r = api(stack, "PATCH", path, {"name": "Not stored", "attributes": {"plan": "gold"}})  # a conversation's
    assert r.status == 400 and api(stack, "GET", path).json()["name"] == "Mara"  # checked before anything is written
    assert api(stack, "PATCH", path, {"attributes": {"vip": None}}).json()["attributes"] == {"customer_id": "C-77"}


def test_the_inbox_filters_by_a_list_attribute(stack):
    define(stack)
    gold = customer_writes(stack, "at.f1", "gold customer", sender="15553330004")
    free = customer_writes(stack, "at.f2", "free customer", sender="15553330005")
    customer_writes(stack, "at.f3", "no plan", sender="15553330006")
    api(stack, "PATCH", f"/api/conversations/{gold['id']}", {"attributes": {"plan": "gold"}})
    api(stack, "PATCH", f"/api/conversations/{free['id']}", {"attributes": {"plan": "free"}})
    assert [c["id"] for c in listed(stack, "status=open&attr.plan=gold")] == [gold["id"]]
    assert [c["id"] for c in listed(stack, "attr.plan=free&sort=priority")] == [free["id"]]
    assert listed(stack, "status=open&attr.plan=gold")[0]["attributes"] == {"plan": "gold"}
    for query, code in (("attr.plan=platinum", "invalid_attribute_value"), ("attr.order_total=3", "unknown_attribute"),
                        ("attr.colour=red", "unknown_attribute")):
        r = api(stack, "GET", "/api/conversations", query=query)
        assert r.status == 400 and r.json()["error"]["code"] == code


def test_attributes_are_exported_and_erased_with_the_contact(stack):
    define(stack)
    conv = customer_writes(stack, "at.e", "hello", sender="15553330007")
    contact_id = conv["contact"]["id"]
    api(stack, "PATCH", f"/api/contacts/{contact_id}", {"attributes": {"customer_id": "C-1"}})
    api(stack, "PATCH", f"/api/conversations/{conv['id']}", {"attributes": {"note": "prefers mornings"}})
    exported = api(stack, "GET", f"/api/contacts/{contact_id}/export", role="admin").json()
    assert exported["contact"]["attributes"] == {"customer_id": "C-1"}
    assert exported["conversations"][0]["conversation"]["attributes"] == {"note": "prefers mornings"}
    assert api(stack, "DELETE", f"/api/contacts/{contact_id}", role="admin").status == 200
    everything = stack.items("")
    assert not [i for i in everything if "prefers mornings" in str(i) or "C-1" in str(i.get("attributes", ""))]


# -- bulk ------------------------------------------------------------------------------------------------------------
def three(stack) -> list[dict]:
    return [customer_writes(stack, f"bk.{n}", f"bulk {n}", sender=f"1555333010{n}") for n in range(3)]


def bulk(stack, body: dict, role: str = "agent"):
    return api(stack, "POST", "/api/conversations/bulk", body, role=role)


def test_bulk_resolve_gives_a_result_per_conversation_and_repeats_safely(stack):
    convs = three(stack)
    ids = [c["id"] for c in convs] + ["cv_missing"]
    r = bulk(stack, {"ids": ids, "action": "resolve"})
    assert r.status == 200
    results = r.json()["results"]
    assert [x["ok"] for x in results] == [True, True, True, False]
    assert results[3] == {"id": "cv_missing", "ok": False, "error": {"code": "not_found",
                                                                     "message": "conversation cv_missing not found"}}
    assert {c["status"] for c in listed(stack, "")} == {"resolved"}
    again = bulk(stack, {"ids": ids, "action": "resolve"}).json()["results"]  # idempotent: the same outcome
    assert [x["ok"] for x in again] == [True, True, True, False]
    assert api(stack, "GET", "/api/metrics").json()["activity"]["resolved"] == 3  # counted once each


def test_bulk_actions_each_through_its_own_service_with_mixed_results(stack):
    a, b, c = three(stack)
    api(stack, "POST", f"/api/conversations/{c['id']}/resolve")
    ids = [a["id"], b["id"], c["id"]]
    snoozed = bulk(stack, {"ids": ids, "action": "snooze", "preset": "1h"}).json()["results"]
    assert [x["ok"] for x in snoozed] == [True, True, False]
    assert snoozed[2]["error"]["code"] == "invalid_transition"  # a resolved conversation is not snoozed
    assert bulk(stack, {"ids": ids, "action": "reopen"}).json()["results"] == [{"id": i, "ok": True, "error": None}
                                                                                for i in ids]
    assert {x["status"] for x in listed(stack, "")} == {"open"}
    assert all(x["ok"] for x in bulk(stack, {"ids": ids, "action": "priority", "priority": "high"}).json()["results"])
    assert [x["priority"] for x in listed(stack, "")] == ["high"] * 3
    api(stack, "POST", f"/api/conversations/{a['id']}/labels", {"labels": ["vip"]})
    assert all(x["ok"] for x in bulk(stack, {"ids": ids, "action": "label", "labels": ["Billing"]}).json()["results"])
    assert api(stack, "GET", f"/api/conversations/{a['id']}").json()["labels"] == ["vip", "billing"]  # added
    assert all(x["ok"] for x in bulk(stack, {"ids": ids[:2], "action": "assign", "agent": "Bo@Example.com"},
                                     role="admin").json()["results"])
    assert {x["id"] for x in listed(stack, "assignee=bo@example.com")} == set(ids[:2])
    assert all(x["ok"] for x in bulk(stack, {"ids": ids, "action": "assign", "agent": None}).json()["results"])
    until = clock.iso(clock.now() + timedelta(hours=5))
    assert all(x["ok"] for x in bulk(stack, {"ids": ids, "action": "snooze", "until": until}).json()["results"])
    assert {x["snoozed_until"] for x in listed(stack, "status=snoozed")} == {until}


def test_bulk_requests_are_checked_before_anything_happens(stack):
    a, _, _ = three(stack)
    for body in ({"ids": [], "action": "resolve"}, {"ids": [a["id"]] * 101, "action": "resolve"},
                 {"ids": [a["id"]], "action": "delete"}, {"ids": [a["id"]], "action": "assign"},
                 {"ids": [a["id"]], "action": "label"}, {"ids": [a["id"]], "action": "snooze"},
                 {"ids": [a["id"]], "action": "priority"}, {"ids": [a["id"]], "action": "priority", "priority": "x"},
                 {"ids": [a["id"]], "action": "resolve", "extra": 1}):
        r = bulk(stack, body)
        assert r.status == 422 and r.json()["error"]["code"] == "validation_error", body
    r = bulk(stack, {"ids": [a["id"]], "action": "snooze", "until": "yesterday"})
    assert r.status == 400 and r.json()["error"]["code"] == "invalid_until"
    assert stack.http("POST", "/api/conversations/bulk", {"ids": [a["id"]], "action": "resolve"}).status == 401
    assert {c["status"] for c in listed(stack, "")} == {"open"}

"""Round-robin assignment under per-agent caps, and merging contacts, on moto."""

from __future__ import annotations

from switchboard.services import assignment, contact_merge
from switchboard.store.table import Table
from tests.integration.test_whatsapp_flow import conversations, messages, post, wa_message, wa_payload


def new_conversation(stack, sender: str, text: str) -> dict:
    post(stack, wa_payload(wa_message(f"w.{sender}.{text}", sender=sender, text=text), sender=sender))
    stack.drain("ProcessorFunction")
    return next(c for c in conversations(stack) if any(m["text"] == text for m in messages(stack, c["id"])))


def test_new_conversations_go_round_robin_to_available_agents_under_their_caps(stack):
    table = Table()
    assignment.set_availability(table, "ann@example.com", True, max_open=2)
    assignment.set_availability(table, "bob@example.com", True, max_open=1)
    assignment.set_availability(table, "cid@example.com", False, max_open=5)  # away
    assignees = [new_conversation(stack, f"1555888000{i}", f"q{i}")["assignee"] for i in range(4)]
    assert sorted(filter(None, assignees)) == ["ann@example.com", "ann@example.com", "bob@example.com"]
    assert assignees[3] is None  # everyone available is at their cap: it waits in the unassigned inbox
    load = {a["email"]: a["open_count"] for a in assignment.agents(table)}
    assert load == {"ann@example.com": 2, "bob@example.com": 1, "cid@example.com": 0}
    # resolving frees a place; the next new conversation takes it
    bobs = next(c for c in conversations(stack) if c["assignee"] == "bob@example.com")
    stack.http("POST", f"/api/conversations/{bobs['id']}/resolve", role="agent")
    assert {a["email"]: a["open_count"] for a in assignment.agents(table)}["bob@example.com"] == 0
    assert new_conversation(stack, "15558880009", "q9")["assignee"] == "bob@example.com"


def test_merging_two_contacts_moves_identities_conversations_and_profile(stack):
    a = new_conversation(stack, "15558881111", "from whatsapp")
    b = new_conversation(stack, "15558882222", "from another number")
    table = Table()
    stack.http("PATCH", f"/api/contacts/{b['contact']['id']}", {"email": "same@example.com"}, role="agent")
    merged = contact_merge.merge(table, a["contact"]["id"], b["contact"]["id"])
    assert merged.email == "same@example.com"
    view = stack.http("GET", f"/api/contacts/{a['contact']['id']}", role="agent").json()
    assert {i["identity"] for i in view["identities"]} == {"phone:+15558881111", "phone:+15558882222",
                                                           "email:same@example.com"}
    assert {c["id"] for c in view["conversations"]} == {a["id"], b["id"]}
    assert stack.http("GET", f"/api/contacts/{b['contact']['id']}", role="agent").status == 404
    assert stack.http("GET", f"/api/conversations/{b['id']}", role="agent").json()["contact"]["id"] == a["contact"]["id"]
    # the other number now writes as the merged contact, into its current conversation, and the reply goes back
    # to the number the customer wrote from
    post(stack, wa_payload(wa_message("w.after", sender="15558882222", text="after the merge"), sender="15558882222"))
    stack.drain("ProcessorFunction")
    assert any(m["text"] == "after the merge" for m in messages(stack, a["id"]))
    stack.http("POST", f"/api/conversations/{a['id']}/messages", {"text": "hello again"}, role="agent")
    stack.drain("SenderFunction")
    assert stack.sandbox.outbox[-1]["body"]["to"] == "15558882222"


def test_team_routes(stack):
    r = stack.http("PUT", "/api/me/availability", {"available": True, "max_open": 3}, role="agent")
    assert r.status == 200 and r.json() == {"email": "agent@example.com", "available": True, "max_open": 3, "open_count": 0}
    assert stack.http("PUT", "/api/me/availability", {"available": "maybe"}, role="agent").status == 422
    assert [a["email"] for a in stack.http("GET", "/api/agents", role="agent").json()["items"]] == ["agent@example.com"]
    conv = new_conversation(stack, "15558883333", "routes")
    assert conv["assignee"] == "agent@example.com"
    other = new_conversation(stack, "15558884444", "routes 2")
    r = stack.http("POST", f"/api/contacts/{conv['contact']['id']}/merge", {"other": other["contact"]["id"]}, role="agent")
    assert r.status == 200 and len(r.json()["conversations"]) == 2
    assert stack.http("POST", f"/api/contacts/{conv['contact']['id']}/merge", {"other": conv["contact"]["id"]},
                      role="agent").status == 400
    assert stack.http("POST", f"/api/contacts/{conv['contact']['id']}/merge", {"other": "ct_missing"},
                      role="agent").status == 404
    # reassigning moves the load
    stack.http("POST", f"/api/conversations/{conv['id']}/assign", {"agent": None}, role="agent")
    assert stack.http("GET", "/api/agents", role="agent").json()["items"][0]["open_count"] == 1  # the second one

"""The agent API on moto: workflow routes, filters and pagination, canned responses, contacts."""

from __future__ import annotations

import pytest

from switchboard import clock
from tests.integration.test_whatsapp_flow import conversations, messages, post, wa_message, wa_payload


def conversation_from(stack, sender: str, wamid: str, text: str = "hi") -> dict:
    post(stack, wa_payload(wa_message(wamid, sender=sender, text=text), sender=sender, name=f"C{sender[-2:]}"))
    stack.drain("ProcessorFunction")
    return next(c for c in conversations(stack) if any(m["text"] == text for m in messages(stack, c["id"])))


def api(stack, method: str, path: str, body=None, role: str = "agent", query: str = ""):
    return stack.http(method, path, body, role=role, query=query)


def test_resolve_reopen_and_a_customer_message_reopens(stack):
    conv = conversation_from(stack, "15550000001", "w.1")
    r = api(stack, "POST", f"/api/conversations/{conv['id']}/resolve")
    assert r.status == 200 and r.json()["status"] == "resolved" and r.json()["resolved_by"] == "agent@example.com"
    resolved = api(stack, "GET", "/api/conversations", query="status=resolved").json()["items"]
    assert [c["id"] for c in resolved] == [conv["id"]]
    assert api(stack, "GET", "/api/conversations", query="status=open").json()["items"] == []
    # a new customer message reopens it
    post(stack, wa_payload(wa_message("w.2", sender="15550000001", text="still there?"), sender="15550000001"))
    stack.drain("ProcessorFunction")
    again = api(stack, "GET", f"/api/conversations/{conv['id']}").json()
    assert again["status"] == "open" and again["resolved_at"] is None
    assert api(stack, "POST", f"/api/conversations/{conv['id']}/pending").json()["status"] == "pending"
    assert api(stack, "POST", f"/api/conversations/{conv['id']}/reopen").json()["status"] == "open"
    assert api(stack, "POST", "/api/conversations/cv_missing/resolve").status == 404


def test_assign_labels_and_filters(stack):
    a = conversation_from(stack, "15550000002", "w.a", "a")
    b = conversation_from(stack, "15550000003", "w.b", "b")
    assert api(stack, "POST", f"/api/conversations/{a['id']}/assign", {"agent": "Ann@Example.com"}).json()["assignee"] \
        == "ann@example.com"
    mine = api(stack, "GET", "/api/conversations", query="assignee=ann@example.com").json()["items"]
    assert [c["id"] for c in mine] == [a["id"]]
    # an empty body is bad input, not a silent unassign
    api(stack, "POST", f"/api/conversations/{a['id']}/assign", {"agent": "ann@example.com"})
    for empty in ({}, None):
        r = api(stack, "POST", f"/api/conversations/{a['id']}/assign", empty)
        assert r.status == 422 and r.json()["error"]["code"] == "validation_error", r
    assert api(stack, "GET", f"/api/conversations/{a['id']}").json()["assignee"] == "ann@example.com"
    assert api(stack, "POST", f"/api/conversations/{a['id']}/assign", {"agent": None}).json()["assignee"] is None
    assert api(stack, "GET", "/api/conversations", query="assignee=ann@example.com").json()["items"] == []
    r = api(stack, "POST", f"/api/conversations/{b['id']}/labels", {"labels": ["VIP", "billing", "vip"]})
    assert r.json()["labels"] == ["vip", "billing"]
    assert [c["id"] for c in api(stack, "GET", "/api/conversations", query="label=vip").json()["items"]] == [b["id"]]
    # labels are stored lower-cased, so the filter matches them whatever case the agent types
    assert [c["id"] for c in api(stack, "GET", "/api/conversations", query="label=VIP").json()["items"]] == [b["id"]]
    assert api(stack, "POST", f"/api/conversations/{b['id']}/labels", {"labels": [""]}).status == 422
    assert api(stack, "POST", f"/api/conversations/{b['id']}/labels", {"labels": ["x"] * 21}).status == 422
    both = api(stack, "GET", "/api/conversations", query="channel=whatsapp&status=open").json()["items"]
    assert {c["id"] for c in both} == {a["id"], b["id"]}


def test_inbox_pages_are_complete_and_newest_first(stack):
    made = [conversation_from(stack, f"1555000010{i}", f"w.p{i}", f"p{i}")["id"] for i in range(7)]
    api(stack, "POST", f"/api/conversations/{made[0]}/resolve")
    api(stack, "POST", f"/api/conversations/{made[1]}/pending")
    for query in ("", "status=open"):
        seen, cursor = [], None
        while True:
            q = "&".join(filter(None, [query, "limit=3", f"cursor={cursor}" if cursor else ""]))
            page = api(stack, "GET", "/api/conversations", query=q).json()
            assert len(page["items"]) <= 3
            seen += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                break
        ids = [c["id"] for c in seen]
        expected = made if not query else made[2:]
        assert sorted(ids) == sorted(expected) and len(ids) == len(set(ids))
        assert [c["updated_at"] for c in seen] == sorted((c["updated_at"] for c in seen), reverse=True)


def test_notes_unread_and_read(stack):
    conv = conversation_from(stack, "15550000004", "w.n")
    assert api(stack, "GET", f"/api/conversations/{conv['id']}").json()["unread_count"] == 1
    note = api(stack, "POST", f"/api/conversations/{conv['id']}/notes", {"text": "VIP, be nice"})
    assert note.status == 201 and note.json()["status"] == "note"
    stack.drain("SenderFunction")
    assert stack.sandbox.outbox == []  # never sent
    assert api(stack, "POST", f"/api/conversations/{conv['id']}/read").json()["unread_count"] == 0
    detail = api(stack, "GET", f"/api/conversations/{conv['id']}").json()
    assert detail["first_response_at"] is None  # a note is not a response


def test_canned_responses(stack):
    r = api(stack, "POST", "/api/canned-responses", {"shortcut": "thanks", "text": "Thank you for writing!"})
    assert r.status == 201
    assert api(stack, "POST", "/api/canned-responses", {"shortcut": "THANKS", "text": "dup"}).status == 409
    assert api(stack, "POST", "/api/canned-responses", {"shortcut": "has space", "text": "x"}).status == 422
    assert [c["shortcut"] for c in api(stack, "GET", "/api/canned-responses").json()["items"]] == ["thanks"]
    assert api(stack, "DELETE", f"/api/canned-responses/{r.json()['id']}").status == 204
    assert api(stack, "GET", "/api/canned-responses").json()["items"] == []
    assert api(stack, "DELETE", "/api/canned-responses/cr_missing").status == 404


def test_contacts(stack):
    conv = conversation_from(stack, "15550000005", "w.c")
    contact_id = conv["contact"]["id"]
    c = api(stack, "GET", f"/api/contacts/{contact_id}").json()
    assert c["phone"] == "+15550000005" and c["identities"][0]["identity"] == "phone:+15550000005"
    assert [x["id"] for x in c["conversations"]] == [conv["id"]]
    r = api(stack, "PATCH", f"/api/contacts/{contact_id}", {"email": "Cust@Example.com", "surveys_opt_out": True})
    assert r.status == 200 and r.json()["surveys_opt_out"] is True
    assert "email:cust@example.com" in {i["identity"] for i in r.json()["identities"]}
    other = conversation_from(stack, "15550000006", "w.d", "other")
    clash = api(stack, "PATCH", f"/api/contacts/{other['contact']['id']}", {"email": "cust@example.com"})
    assert clash.status == 409 and clash.json()["error"]["code"] == "identity_taken"
    assert api(stack, "PATCH", f"/api/contacts/{contact_id}", {}).status == 400
    assert api(stack, "PATCH", f"/api/contacts/{contact_id}", {"email": "not-an-email"}).status == 422
    assert api(stack, "GET", "/api/contacts/ct_missing").status == 404


def test_me_and_media_links(stack):
    me = api(stack, "GET", "/api/me", role="admin").json()
    assert me == {"email": "admin@example.com", "role": "admin", "now": clock.iso(clock.parse_iso(me["now"]))}
    assert abs(clock.parse_iso(me["now"]).timestamp() - clock.epoch()) < 5  # the server's clock, for the app
    post(stack, wa_payload(wa_message("w.img", kind="document",
                                      body={"id": "DOC1", "mime_type": "application/pdf", "filename": "invoice.pdf"})))
    stack.drain("ProcessorFunction")
    (conv,) = conversations(stack)
    (msg,) = messages(stack, conv["id"])
    link = msg["attachments"][0]["url"]
    assert "X-Amz-Signature" in link and "invoice.pdf" in link


@pytest.mark.parametrize("path", ["/api/conversations", "/api/canned-responses", "/api/me", "/api/contacts/x"])
def test_every_route_needs_a_token(stack, path):
    assert stack.http("GET", path).status == 401


def test_a_reply_longer_than_the_channel_takes_is_refused_before_it_is_queued(stack):
    conv = conversation_from(stack, "15550000031", "w.long")
    r = api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"text": "x" * 4097})
    assert r.status == 400 and r.json()["error"]["code"] == "text_too_long" and "4096" in r.json()["error"]["message"]
    assert [m["direction"] for m in messages(stack, conv["id"])] == ["inbound"]  # nothing stored, nothing queued
    assert api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"text": "x" * 4096}).status == 202

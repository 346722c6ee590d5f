"""Contacts and search on moto: the directory, contacts agents create, the search of contacts and conversations by
name, phone, email, handle, words, subject, label and id, paging, every route and role, and what retention and
erasure leave of the index (nothing)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from switchboard import clock
from tests.integration.test_email_flow import INBOX, mail_in
from tests.integration.test_telegram_sms_flow import telegram, tg_message
from tests.integration.test_whatsapp_flow import conversations, post, wa_message, wa_payload
from tests.unit.channels.mail_samples import crlf


def email_of(text: str, subject: str, message_id: str, sender: str = "Ann Smith <ann.smith@example.com>") -> bytes:
    return crlf(f"""
From: {sender}
To: {INBOX}
Subject: {subject}
Date: Tue, 1 Oct 2024 10:00:00 +0000
Message-ID: {message_id}
Content-Type: text/plain; charset=utf-8

{text}
""")


def customer(stack, sender: str, name: str, *texts: str) -> dict:
    """A WhatsApp customer writes; returns their conversation."""
    msgs = [wa_message(f"w.{sender}.{i}.{abs(hash(t)) % 10**8}", sender=sender, text=t) for i, t in enumerate(texts)]
    post(stack, wa_payload(*msgs, sender=sender, name=name))
    stack.drain("ProcessorFunction")
    return next(c for c in conversations(stack) if c["contact"]["name"] == name)


def search(stack, q: str, role: str = "agent") -> dict:
    r = stack.http("GET", "/api/search", role=role, query=f"q={_quote(q)}")
    assert r.status == 200, r
    return r.json()


def contacts(stack, q: str = "", **params: str) -> dict:
    query = "&".join(filter(None, [f"q={_quote(q)}" if q else "", *(f"{k}={v}" for k, v in params.items())]))
    r = stack.http("GET", "/api/contacts", role="agent", query=query)
    assert r.status == 200, r
    return r.json()


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def contact_ids(found: dict) -> list[str]:
    return [c["id"] for c in found["contacts"]]


def conversation_ids(found: dict) -> list[str]:
    return [c["id"] for c in found["conversations"]]


@pytest.fixture
def janis(stack) -> dict:
    return customer(stack, "37120000000", "Jānis Bērziņš", "Labdien! Mans pasūtījums 4411 nav atnācis",
                    "My blender arrived broken")


def test_a_name_fragment_finds_the_contact_whatever_its_case_and_accents(stack, janis):
    other = customer(stack, "15550001234", "Anna Berg", "hello")
    for q in ("berz", "BĒRZ", "Berzins", "jān", "JANIS", "janis berz", "Bērziņš Jānis"):
        found = search(stack, q)
        assert contact_ids(found) == [janis["contact"]["id"]], q
        assert janis["id"] in conversation_ids(found), q  # the contact's conversations come with it
        assert other["id"] not in conversation_ids(found), q
    assert contact_ids(search(stack, "ber")) and set(contact_ids(search(stack, "ber"))) == \
        {janis["contact"]["id"], other["contact"]["id"]}
    assert contact_ids(search(stack, "janis berg")) == []  # every word must match


@pytest.mark.parametrize("q", ["+371 2000 0000", "0037120000000", "+37120000000", "37120000000", "2000 0000",
                               "20000000", "2000", "+371 200", "(+371) 20-00-00-00"])
def test_a_phone_number_in_any_common_format_finds_the_contact(stack, janis, q):
    found = search(stack, q)
    assert contact_ids(found) == [janis["contact"]["id"]]
    assert contacts(stack, q)["items"][0]["phone"] == "+37120000000"


def test_a_national_number_of_the_business_region_finds_the_contact(stack):
    us = customer(stack, "15417543010", "Lee Roe", "hi")  # PHONE_REGION defaults to US
    for q in ("(541) 754-3010", "541-754-3010", "+1 541 754 3010", "001 541 754 3010", "541 754"):
        assert contact_ids(search(stack, q)) == [us["contact"]["id"]], q


def test_an_email_address_and_a_channel_handle_find_the_contact(stack):
    mail_in(stack, email_of("Invoice 7781 is wrong", "Wrong invoice amount", "<m1@example.org>"))
    (mail,) = [c for c in conversations(stack) if c["channel"] == "email"]
    for q in ("ann.smith@example.com", "ANN.SMITH@example", "ann.smith@"):
        assert contact_ids(search(stack, q)) == [mail["contact"]["id"]], q
    telegram(stack, {"update_id": 5, "message": tg_message(1, chat=987654321, text="ping")})
    stack.drain("ProcessorFunction")
    (tg,) = [c for c in conversations(stack) if c["channel"] == "telegram"]
    assert contact_ids(search(stack, "987654321")) == [tg["contact"]["id"]]
    assert contact_ids(search(stack, "98765")) == [tg["contact"]["id"]]


def test_words_the_customer_wrote_find_the_conversation_with_a_snippet(stack, janis):
    other = customer(stack, "15550009999", "Zed", "my toaster arrived broken too")
    found = search(stack, "blender")
    assert conversation_ids(found) == [janis["id"]]
    (hit,) = found["conversations"]
    assert hit["matched"] == "message" and "blender" in hit["snippet"] and hit["status"] == "open"
    assert hit["contact"]["name"] == "Jānis Bērziņš" and hit["channel"] == "whatsapp"
    assert set(conversation_ids(search(stack, "broken"))) == {janis["id"], other["id"]}
    assert conversation_ids(search(stack, "Pasūtījums")) == [janis["id"]]  # accents and case folded
    assert conversation_ids(search(stack, "4411")) == [janis["id"]]  # an order number
    assert conversation_ids(search(stack, "broken blender")) == [janis["id"]]  # every word required
    assert search(stack, "refund") == {"contacts": [], "conversations": []}
    # newest activity first: Zed wrote after Jānis; then Jānis writes again
    assert conversation_ids(search(stack, "broken")) == [other["id"], janis["id"]]
    customer(stack, "37120000000", "Jānis Bērziņš", "any news?")
    assert conversation_ids(search(stack, "broken")) == [janis["id"], other["id"]]
    # status is the conversation's own, now
    stack.http("POST", f"/api/conversations/{janis['id']}/resolve", role="agent")
    assert search(stack, "blender")["conversations"][0]["status"] == "resolved"


def test_a_found_contact_s_conversations_are_listed_as_they_are_now_without_reading_them(stack, janis, monkeypatch):
    from switchboard.store import search as index

    mail_in(stack, email_of("Where is my refund?", "Refund for order 77", "<m7@example.org>"))
    (mail,) = [c for c in conversations(stack) if c["channel"] == "email"]
    stack.http("POST", f"/api/conversations/{janis['id']}/labels", {"labels": ["VIP"]}, role="agent")
    stack.http("POST", f"/api/conversations/{janis['id']}/resolve", role="agent")
    read: list[list[str]] = []
    cards = index.conversation_cards
    monkeypatch.setattr(index, "conversation_cards", lambda table, ids: read.append(ids) or cards(table, ids))
    # A customer found by a piece of their name lists their conversations: status and labels as they are now,
    # listed by when they began, from ContactIndex alone (no conversation item is read)
    found = search(stack, "berz")
    (hit,) = found["conversations"]
    assert (hit["id"], hit["matched"], hit["status"], hit["labels"]) == (janis["id"], "contact", "resolved", ["vip"])
    assert hit["contact"] == janis["contact"] and hit["snippet"] == "" and hit["updated_at"] is None
    assert hit["created_at"] and read == [[]]
    # An email customer's conversation shows its subject
    (mailed,) = search(stack, "ann.smith")["conversations"]
    assert (mailed["id"], mailed["snippet"], mailed["subject"]) == (mail["id"], "Refund for order 77", "Refund for order 77")
    # A word match is read from its conversation, with its latest activity
    (word,) = search(stack, "blender")["conversations"]
    assert word["matched"] == "message" and word["updated_at"] and read[-1] == [janis["id"]]


def test_a_word_repeated_later_is_written_once(stack, janis):
    before = [i for i in stack.items("TERM#blender")]
    customer(stack, "37120000000", "Jānis Bērziņš", "the blender still does not work")
    after = stack.items("TERM#blender")
    assert len(before) == len(after) == 1 and after[0]["message_id"] == before[0]["message_id"]
    assert stack.items("TERM#work") and not stack.items("TERM#the")  # new words are added, stopwords never


def test_subject_label_and_ids_find_the_conversation(stack, janis):
    mail_in(stack, email_of("See attached.", "Quarterly statement mismatch", "<m2@example.org>"))
    (mail,) = [c for c in conversations(stack) if c["channel"] == "email"]
    found = search(stack, "mismatch")
    assert conversation_ids(found) == [mail["id"]] and found["conversations"][0]["matched"] == "subject"
    assert found["conversations"][0]["snippet"] == "Quarterly statement mismatch"
    assert found["conversations"][0]["subject"] == "Quarterly statement mismatch"
    stack.http("POST", f"/api/conversations/{janis['id']}/labels", {"labels": ["VIP", "needs review"]}, role="agent")
    assert conversation_ids(search(stack, "vip")) == [janis["id"]]
    assert conversation_ids(search(stack, "Needs Review")) == [janis["id"]]
    stack.http("POST", f"/api/conversations/{janis['id']}/labels", {"labels": ["needs review"]}, role="agent")
    assert search(stack, "vip")["conversations"] == [] and not stack.items("LABEL#vip")
    by_id = search(stack, janis["id"])
    assert conversation_ids(by_id) == [janis["id"]] and by_id["conversations"][0]["matched"] == "id"
    assert contact_ids(search(stack, janis["contact"]["id"])) == [janis["contact"]["id"]]


def test_the_directory_pages_newest_activity_first(stack):
    made = []
    for i in range(7):
        made.append(customer(stack, f"1555100000{i}", f"Paged {i}", "hi")["contact"]["id"])
        clock.advance(20 * 60)  # past the directory's 15-minute step
    customer(stack, "15551000002", "Paged 2", "back again")  # moves to the top
    expected = [made[2], made[6], made[5], made[4], made[3], made[1], made[0]]
    seen, cursor = [], None
    while True:
        page = contacts(stack, limit="3", **({"cursor": cursor} if cursor else {}))
        assert len(page["items"]) <= 3
        seen += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert [c["id"] for c in seen] == expected
    assert seen[0]["last_activity_at"] >= seen[1]["last_activity_at"]
    # a query pages too
    first = contacts(stack, "paged", limit="4")
    rest = contacts(stack, "paged", limit="4", cursor=first["next_cursor"])
    ids = [c["id"] for c in first["items"] + rest["items"]]
    assert sorted(ids) == sorted(made) and len(set(ids)) == 7


def test_activity_within_the_step_does_not_move_the_contact(stack, janis):
    profile = stack.items(f"CONTACT#{janis['contact']['id']}")
    (before,) = [p for p in profile if p["sk"] == "PROFILE"]
    clock.advance(60)
    customer(stack, "37120000000", "Jānis Bērziņš", "one more thing")
    (after,) = [p for p in stack.items(f"CONTACT#{janis['contact']['id']}") if p["sk"] == "PROFILE"]
    assert after["gsi2sk"] == before["gsi2sk"]
    clock.advance(16 * 60)
    customer(stack, "37120000000", "Jānis Bērziņš", "and another")
    (later,) = [p for p in stack.items(f"CONTACT#{janis['contact']['id']}") if p["sk"] == "PROFILE"]
    assert later["gsi2sk"] > before["gsi2sk"]


def test_an_agent_creates_a_contact_and_finds_it_and_the_customer_writing_lands_on_it(stack):
    r = stack.http("POST", "/api/contacts", {"name": "Zoë Ångström", "email": "Zoe@Example.se",
                                             "phone": "+46 70 123 45 67"}, role="agent")
    assert r.status == 201, r
    created = r.json()
    assert created["phone"] == "+46701234567" and created["email"] == "zoe@example.se"
    assert {i["identity"] for i in created["identities"]} == {"phone:+46701234567", "email:zoe@example.se"}
    assert contact_ids(search(stack, "angst")) == [created["id"]]
    assert contact_ids(search(stack, "070 123")) == [created["id"]]  # national form with its trunk 0
    assert contacts(stack)["items"][0]["id"] == created["id"]
    # the same address again: a conflict that names the contact
    again = stack.http("POST", "/api/contacts", {"email": "zoe@example.se"}, role="agent")
    assert again.status == 409 and again.json()["error"]["code"] == "identity_taken"
    assert created["id"] in again.json()["error"]["message"]
    # the customer's own WhatsApp message is recognized as them
    conv = customer(stack, "46701234567", "Zoe", "hej")
    assert conv["contact"]["id"] == created["id"]


@pytest.mark.parametrize("body, status, code", [
    ({"name": "No address"}, 422, "validation_error"),
    ({"phone": "12"}, 422, "validation_error"),
    ({"phone": "not a number"}, 400, "invalid_phone"),
    ({"phone": "+999 1234"}, 400, "invalid_phone"),
    ({"email": "nope"}, 422, "validation_error"),
    ({"email": "a@b.co", "extra": 1}, 422, "validation_error"),
])
def test_bad_contacts_are_refused_and_nothing_is_stored(stack, body, status, code):
    r = stack.http("POST", "/api/contacts", body, role="agent")
    assert r.status == status and r.json()["error"]["code"] == code, r
    assert stack.items("CONTACT#") == [] and stack.items("IDENTITY#") == []


@pytest.mark.parametrize("q", ["a", " ", "-", "é"])
def test_a_query_too_short_is_a_clear_400(stack, q):
    for path in ("/api/search", "/api/contacts"):
        r = stack.http("GET", path, role="agent", query=f"q={_quote(q)}")
        if path == "/api/contacts" and not q.strip():
            assert r.status == 200  # no query: the directory
        else:
            assert r.status == 400 and r.json()["error"]["code"] == "query_too_short", (path, q, r)
    assert stack.http("GET", "/api/search", role="agent").status == 422  # q is required
    assert stack.http("GET", "/api/search", role="agent", query="q=" + "x" * 201).status == 422
    assert stack.http("GET", "/api/contacts", role="agent", query="cursor=%%%").status == 400


@pytest.mark.parametrize("method, path, body", [
    ("GET", "/api/contacts", None), ("GET", "/api/search", None), ("POST", "/api/contacts", {"email": "r@x.io"})])
def test_every_route_needs_an_agent_or_an_admin(stack, method, path, body):
    query = "q=ann" if path == "/api/search" else ""
    assert stack.http(method, path, body, query=query).status == 401  # no token
    from infra.local import auth
    from infra.local.events import http_event
    from infra.local.lambdas import match

    route, params = match(stack.routes, method, path)
    claims = auth.verify(f"Bearer {auth.issue('nobody@example.com', 'agent')}")
    claims.pop("cognito:groups", None)  # signed in, but in neither group
    import json as json_

    event = http_event(method, path, query, {"Content-Type": "application/json"},
                       json_.dumps(body).encode() if body else b"", f"{route.method} {route.path}", params, claims,
                       "127.0.0.1")
    assert stack.functions[route.function].invoke(event)["statusCode"] == 403
    for role in ("agent", "admin"):
        if body:
            body = {"email": f"{role}-r@x.io"}
        assert stack.http(method, path, body, role=role, query=query).status in (200, 201)


def test_the_routes_are_in_the_openapi_document(stack):
    paths = stack.http("GET", "/api/openapi.json").json()["paths"]
    assert {"get", "post"} <= set(paths["/api/contacts"]) and "get" in paths["/api/search"]


def test_queries_never_reach_the_logs(stack, janis, capsys):
    capsys.readouterr()
    for q in ("Bērziņš", "+371 2000 0000", "blender", "ann.smith@example.com"):
        search(stack, q)
        contacts(stack, q)
    out = capsys.readouterr()
    logged = out.out + out.err
    for secret in ("Bērziņš", "berz", "2000", "blender", "ann.smith"):
        assert secret.lower() not in logged.lower(), secret


def index_items(stack) -> list[dict]:
    return stack.items("TERM#") + stack.items("LABEL#") + stack.items("CTERM#")


def test_erasure_leaves_nothing_of_the_customer_in_the_index(stack, janis):
    stack.http("POST", f"/api/conversations/{janis['id']}/labels", {"labels": ["vip"]}, role="agent")
    stranger = customer(stack, "15550007777", "Other Person", "my kettle is broken")
    assert search(stack, "blender")["conversations"] and search(stack, "berz")["contacts"]
    r = stack.http("DELETE", f"/api/contacts/{janis['contact']['id']}", role="admin")
    assert r.status == 200
    for q in ("berz", "Jānis Bērziņš", "+371 2000 0000", "2000 0000", "blender", "pasutijums", "vip", janis["id"],
              janis["contact"]["id"]):
        assert search(stack, q) == {"contacts": [], "conversations": []}, q
        if q not in ("blender", "pasutijums", "vip") and not q.startswith("cv_"):
            assert contacts(stack, q)["items"] == [], q
    assert [c["id"] for c in contacts(stack)["items"]] == [stranger["contact"]["id"]]
    left = index_items(stack)
    assert left and all(janis["id"] not in str(i) and janis["contact"]["id"] not in str(i) for i in left), left
    assert conversation_ids(search(stack, "broken")) == [stranger["id"]]  # the others are still found


def test_retention_leaves_nothing_of_a_deleted_conversation_in_the_index(stack, janis):
    stack.http("POST", f"/api/conversations/{janis['id']}/labels", {"labels": ["vip"]}, role="agent")
    clock.advance(int(timedelta(days=400).total_seconds()))
    try:
        stack.functions["RetentionFunction"].invoke({"source": "aws.scheduler"})
        for q in ("berz", "+371 2000 0000", "blender", "vip"):
            assert search(stack, q) == {"contacts": [], "conversations": []}, q
        assert index_items(stack) == []
        assert contacts(stack)["items"] == []
    finally:
        clock.reset()


def test_an_unsent_message_s_words_leave_the_index(stack):
    post(stack, wa_payload(wa_message("w.u1", sender="15550003333", text="my secret password hunter2"),
                           sender="15550003333", name="Una"))
    post(stack, wa_payload(wa_message("w.u2", sender="15550003333", text="the password is wrong"),
                           sender="15550003333", name="Una"))
    stack.drain("ProcessorFunction")
    (conv,) = [c for c in conversations(stack) if c["contact"]["name"] == "Una"]
    assert conversation_ids(search(stack, "hunter2")) == [conv["id"]]
    from tests.integration.test_edits_unsends_echoes import event, process

    ev = event("w.u1", deleted=True).model_copy(update={"sender_id": "15550003333", "identity": "phone:+15550003333"})
    assert process(ev).result == "deleted"
    assert search(stack, "hunter2")["conversations"] == [] and search(stack, "secret")["conversations"] == []
    (password,) = stack.items("TERM#password")  # still in the other message, with that message's words around it
    assert "hunter2" not in password["snippet"] and "wrong" in password["snippet"]
    assert conversation_ids(search(stack, "password")) == [conv["id"]]


def test_an_edit_replaces_the_message_s_words(stack):
    post(stack, wa_payload(wa_message("w.e1", sender="15550004444", text="please cancel order"),
                           sender="15550004444", name="Eddie"))
    stack.drain("ProcessorFunction")
    (conv,) = [c for c in conversations(stack) if c["contact"]["name"] == "Eddie"]
    from tests.integration.test_edits_unsends_echoes import event, process

    ev = event("w.e1", edited=True, text="please change my address").model_copy(
        update={"sender_id": "15550004444", "identity": "phone:+15550004444", "timestamp": clock.epoch() + 5})
    assert process(ev).result == "edited"
    assert search(stack, "cancel")["conversations"] == []
    assert conversation_ids(search(stack, "address")) == [conv["id"]]


def test_a_renamed_and_merged_contact_is_found_by_what_it_is_now(stack, janis):
    contact_id = janis["contact"]["id"]
    r = stack.http("PATCH", f"/api/contacts/{contact_id}", {"name": "Jānis Ozols", "email": "j@ozols.lv"},
                   role="agent")
    assert r.status == 200
    assert contact_ids(search(stack, "ozol")) == [contact_id] and contact_ids(search(stack, "berz")) == []
    assert contact_ids(search(stack, "j@ozols")) == [contact_id]
    twin = customer(stack, "37129999999", "Janka", "new phone, same me")
    merged = stack.http("POST", f"/api/contacts/{contact_id}/merge", {"other": twin["contact"]["id"]}, role="agent")
    assert merged.status == 200
    assert contact_ids(search(stack, "janka")) == []  # the other contact is gone, and its terms with it
    assert contact_ids(search(stack, "+371 2999 9999")) == [contact_id]  # its phone is this contact's now
    assert set(conversation_ids(search(stack, "ozols"))) == {janis["id"], twin["id"]}
    assert not [i for i in stack.items("CTERM#") if i["contact_id"] == twin["contact"]["id"]]

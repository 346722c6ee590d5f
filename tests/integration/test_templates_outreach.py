"""WhatsApp templates, reaching customers first, opt-outs and canned responses, through the real handlers on moto
and the provider sandbox."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from infra.local import sandbox as sandbox_module
from infra.local.sandbox import Fault
from switchboard import clock
from tests.integration.test_automation import ses_messages
from tests.integration.test_telegram_sms_flow import sms, telegram, tg_message
from tests.integration.test_whatsapp_flow import PNID, messages, post, wa_message, wa_payload

ORDER_UPDATE = {"name": "order_update", "language": "en_US",
                "parameters": {"header": {"link": "https://shop.example.com/p/1.png"},
                               "body": ["Ann", "#10432", "Friday"], "buttons": ["10432"]}}
FOLLOWUP = {"name": "support_followup", "language": "en_US",
            "parameters": {"header": "#5521", "body": ["Bea"]}}


def api(stack, method, path, body=None, role="agent", query=""):
    return stack.http(method, path, body, role=role, query=query)


def as_agent(stack, email: str, method: str, path: str, body=None):
    """A request by a named agent (the stack's `role` helper names every agent agent@example.com)."""
    import json

    from infra.local import auth
    from infra.local.events import http_event
    from infra.local.lambdas import match

    route, params = match(stack.routes, method, path)
    role = "admin" if email.startswith("admin") else "agent"
    claims = auth.verify(f"Bearer {auth.issue(email, role)}")
    raw = json.dumps(body).encode() if body is not None else b""
    event = http_event(method, path, "", {"Content-Type": "application/json"}, raw, f"{route.method} {route.path}",
                       params, claims, "127.0.0.1")
    result = stack.functions[route.function].invoke(event)
    return result["statusCode"], json.loads(result.get("body") or "null")


def sync(stack):
    answer = api(stack, "POST", "/api/templates/sync", role="admin")
    assert answer.status == 200, answer
    return answer.json()


def sent(stack, channel: str) -> list[dict]:
    return [i for i in stack.sandbox.outbox if i["channel"] == channel]


def whatsapp_conversation(stack, sender="15551230001", wamid="w.t1") -> dict:
    post(stack, wa_payload(wa_message(wamid, sender=sender, text="hello"), sender=sender))
    stack.drain("ProcessorFunction")
    (conv,) = api(stack, "GET", "/api/conversations", query="channel=whatsapp").json()["items"]
    return conv


def sms_in(stack, sid: str, body: str, sender="+14155550132"):
    params = {"MessageSid": sid, "AccountSid": "AC00000000000000000000000000000001", "From": sender,
              "To": "+15550001111", "Body": body, "NumMedia": "0", "SmsStatus": "received"}
    assert sms(stack, params).status == 200
    stack.drain("ProcessorFunction")


# -- template sync -------------------------------------------------------------------------------------------------
def test_sync_follows_every_page_keeps_only_approved_templates_and_is_idempotent(stack, monkeypatch):
    assert api(stack, "GET", "/api/templates", query="channel=whatsapp").json() == {"items": [], "synced_at": None}
    assert api(stack, "POST", "/api/templates/sync").status == 403  # admins only
    first = sync(stack)
    approved = [t for t in sandbox_module.WHATSAPP_TEMPLATES if t["status"] == "APPROVED"]
    assert len(sandbox_module.WHATSAPP_TEMPLATES) > 2 * sandbox_module.TEMPLATE_PAGE_SIZE  # several pages
    assert first["templates"] == first["written"] == len(approved) and first["removed"] == 0
    listed = api(stack, "GET", "/api/templates", query="channel=whatsapp").json()
    assert {(t["name"], t["language"]) for t in listed["items"]} == {(t["name"], t["language"]) for t in approved}
    assert listed["synced_at"] and all(t["status"] == "APPROVED" for t in listed["items"])
    order = next(t for t in listed["items"] if t["name"] == "order_update")
    assert order["category"] == "utility" and order["body"].startswith("Hi {{1}}, your order {{2}}")
    assert order["header"] == {"format": "image", "text": None}
    assert order["parameters"]["body"] == [{"name": "1", "example": "Ann"}, {"name": "2", "example": "#10432"},
                                           {"name": "3", "example": "Friday"}]
    assert order["parameters"]["header"]["format"] == "image"
    assert order["parameters"]["buttons"] == [{"index": 0, "name": "1",
                                               "example": "https://shop.example.com/track/10432"}]
    assert [b["type"] for b in order["buttons"]] == ["url", "quick_reply"] and order["footer"] == "Example Shop"
    named = next(t for t in listed["items"] if t["name"] == "appointment_reminder")
    assert named["parameter_format"] == "named" and [p["name"] for p in named["parameters"]["body"]] == ["nombre",
                                                                                                          "fecha"]
    # a rerun changes nothing; a template no longer approved goes
    again = sync(stack)
    assert again["written"] == 0 and again["removed"] == 0 and again["templates"] == len(approved)
    monkeypatch.setattr(sandbox_module, "WHATSAPP_TEMPLATES",
                        [t for t in sandbox_module.WHATSAPP_TEMPLATES if t["name"] != "invoice_ready"])
    assert sync(stack)["removed"] == 1
    names = [t["name"] for t in api(stack, "GET", "/api/templates", query="channel=whatsapp").json()["items"]]
    assert "invoice_ready" not in names and "spring_sale" not in names and "old_promo" not in names
    assert api(stack, "GET", "/api/templates", query="channel=sms").json()["items"] == []


def test_the_scheduled_sync_runs_the_same_sync(stack):
    stack.functions["TemplateSyncFunction"].invoke({"source": "aws.scheduler"})
    assert len(api(stack, "GET", "/api/templates").json()["items"]) == 6


def test_a_graph_failure_is_a_503_and_keeps_what_was_stored(stack):
    sync(stack)
    stack.sandbox.add_fault("whatsapp", Fault(status=500, count=10))
    answer = api(stack, "POST", "/api/templates/sync", role="admin")
    assert answer.status == 503 and answer.json()["error"]["code"] == "provider_error"
    assert len(api(stack, "GET", "/api/templates").json()["items"]) == 6


# -- a template past the window -----------------------------------------------------------------------------------
def test_past_the_window_text_is_refused_and_a_template_goes_out_in_graphs_shape(stack):
    sync(stack)
    conv = whatsapp_conversation(stack)
    clock.advance(25 * 3600)
    late = api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"text": "are you there?"})
    assert late.status == 409 and late.json()["error"]["code"] == "reply_window_closed"
    assert "template" in late.json()["error"]["message"]
    answer = api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"template": ORDER_UPDATE})
    assert answer.status == 202, answer
    queued = answer.json()
    assert queued["type"] == "template" and queued["template"]["name"] == "order_update"
    assert queued["text"] == "Hi Ann, your order #10432 has shipped and should arrive by Friday.\n\nExample Shop"
    stack.drain("SenderFunction")
    (call,) = sent(stack, "whatsapp")
    assert call["url"].endswith(f"/{PNID}/messages")
    assert call["body"] == {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": "15551230001", "type": "template",
        "template": {"name": "order_update", "language": {"code": "en_US"}, "components": [
            {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://shop.example.com/p/1.png"}}]},
            {"type": "body", "parameters": [{"type": "text", "text": "Ann"}, {"type": "text", "text": "#10432"},
                                            {"type": "text", "text": "Friday"}]},
            {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "10432"}]}]}}
    (out,) = [m for m in messages(stack, conv["id"]) if m["direction"] == "outbound"]
    assert out["status"] == "sent" and out["template"]["name"] == "order_update"


def test_named_parameters_are_sent_by_name(stack):
    sync(stack)
    conv = whatsapp_conversation(stack)
    choice = {"name": "appointment_reminder", "language": "es_ES", "parameters": {"body": ["Ana", "12 de mayo"]}}
    assert api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"template": choice}).status == 202
    stack.drain("SenderFunction")
    body = sent(stack, "whatsapp")[-1]["body"]["template"]
    assert body["components"] == [{"type": "body", "parameters": [
        {"type": "text", "text": "Ana", "parameter_name": "nombre"},
        {"type": "text", "text": "12 de mayo", "parameter_name": "fecha"}]}]


@pytest.mark.parametrize(("choice", "code"), [
    ({"name": "no_such_template", "language": "en_US"}, "unknown_template"),
    ({"name": "spring_sale", "language": "en_US"}, "unknown_template"),  # pending: never synced
    ({**ORDER_UPDATE, "parameters": {**ORDER_UPDATE["parameters"], "body": ["Ann", "#1"]}}, "template_parameters"),
    ({**ORDER_UPDATE, "parameters": {**ORDER_UPDATE["parameters"], "header": None}}, "template_parameters"),
    ({**ORDER_UPDATE, "parameters": {**ORDER_UPDATE["parameters"], "header": {"link": "http://x.example/a.png"}}},
     "template_parameters"),
    ({**FOLLOWUP, "parameters": {"header": "#1", "body": ["   "]}}, "template_parameters"),
])
def test_a_wrong_template_is_a_400_before_anything_is_queued(stack, choice, code):
    sync(stack)
    conv = whatsapp_conversation(stack)
    answer = api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"template": choice})
    assert answer.status == 400 and answer.json()["error"]["code"] == code, answer
    assert stack.queue_count("OutboundQueue") == 0
    assert [m for m in messages(stack, conv["id"]) if m["direction"] == "outbound"] == []


# -- reaching a customer first ------------------------------------------------------------------------------------
def test_a_new_whatsapp_conversation_by_phone_number_with_a_template(stack):
    sync(stack)
    refused = api(stack, "POST", "/api/conversations",
                  {"to": {"channel": "whatsapp", "address": "+44 20 7946 0958"}, "channel": "whatsapp", "text": "hi"})
    assert refused.status == 400 and refused.json()["error"]["code"] == "template_required"
    assert stack.items("CONTACT#") == []  # nothing stored on bad input
    answer = api(stack, "POST", "/api/conversations", {"to": {"channel": "whatsapp", "address": "+44 20 7946 0958"},
                                                        "channel": "whatsapp", "template": FOLLOWUP})
    assert answer.status == 201, answer
    conv = answer.json()
    assert conv["channel"] == "whatsapp" and conv["inbox_id"] == "200000000000002"
    assert conv["assignee"] == "agent@example.com" and conv["message"]["type"] == "template"
    assert conv["reply_window_open"] is False  # the customer has not written: only templates until they do
    stack.drain("SenderFunction")
    (call,) = sent(stack, "whatsapp")
    assert call["body"]["to"] == "442079460958" and call["body"]["template"]["name"] == "support_followup"
    assert call["body"]["template"]["components"][0] == {"type": "header",
                                                         "parameters": [{"type": "text", "text": "#5521"}]}
    contact = api(stack, "GET", f"/api/contacts/{conv['contact']['id']}").json()
    assert contact["phone"] == "+442079460958"
    text = api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"text": "free text"})
    assert text.status == 409 and text.json()["error"]["code"] == "reply_window_closed"
    # the customer answers: the same conversation, and the window opens
    post(stack, wa_payload(wa_message("w.back", sender="442079460958", text="yes"), sender="442079460958"))
    stack.drain("ProcessorFunction")
    (only,) = api(stack, "GET", "/api/conversations").json()["items"]
    assert only["id"] == conv["id"]
    assert api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"text": "great"}).status == 202


def test_a_new_sms_conversation_by_phone_number_and_the_same_number_is_one_contact(stack):
    answer = api(stack, "POST", "/api/conversations", {"to": {"channel": "sms", "address": "+1 (415) 555-0132"},
                                                        "channel": "sms", "text": "Your repair is done."})
    assert answer.status == 201, answer
    stack.drain("SenderFunction")
    (call,) = sent(stack, "twilio")
    form = parse_qs(call["body"])
    assert form["To"] == ["+14155550132"] and form["From"] == ["+15550001111"]
    assert form["Body"] == ["Your repair is done."]
    # the customer answers by SMS: the same contact and conversation
    sms_in(stack, "SM" + "1" * 32, "Thanks!")
    (conv,) = api(stack, "GET", "/api/conversations").json()["items"]
    assert conv["id"] == answer.json()["id"] and conv["contact"]["id"] == answer.json()["contact"]["id"]
    bad = api(stack, "POST", "/api/conversations", {"to": {"channel": "sms", "address": "555"}, "channel": "sms",
                                                     "text": "x"})
    assert bad.status == 400 and bad.json()["error"]["code"] == "invalid_address"


def test_a_new_email_conversation_has_its_subject_and_is_not_a_reply(stack):
    no_subject = api(stack, "POST", "/api/conversations", {"to": {"channel": "email", "address": "bob@example.org"},
                                                            "channel": "email", "text": "Hello"})
    assert no_subject.status == 400 and no_subject.json()["error"]["code"] == "subject_required"
    answer = api(stack, "POST", "/api/conversations", {"to": {"channel": "email", "address": "Bob <Bob@Example.ORG>"},
                                                        "channel": "email", "subject": "Your refund",
                                                        "text": "Your refund was approved."})
    assert answer.status == 201, answer
    assert answer.json()["subject"] == "Your refund"
    stack.drain("SenderFunction")
    (raw,) = ses_messages(stack)
    assert "To: bob@example.org" in raw and "Subject: Your refund" in raw and "In-Reply-To" not in raw
    contact = api(stack, "GET", f"/api/contacts/{answer.json()['contact']['id']}").json()
    assert contact["email"] == "bob@example.org"


def test_telegram_only_to_a_chat_that_wrote_before(stack):
    unknown = api(stack, "POST", "/api/conversations", {"to": {"channel": "telegram", "address": "424242"},
                                                         "channel": "telegram", "text": "hi"})
    assert unknown.status == 400 and unknown.json()["error"]["code"] == "telegram_unknown_chat"
    assert telegram(stack, {"update_id": 9001, "message": tg_message(1, chat=111, text="hello")}).status == 200
    stack.drain("ProcessorFunction")
    (conv,) = api(stack, "GET", "/api/conversations").json()["items"]
    api(stack, "POST", f"/api/conversations/{conv['id']}/resolve")
    answer = api(stack, "POST", "/api/conversations", {"contact_id": conv["contact"]["id"], "channel": "telegram",
                                                        "text": "We found your parcel."})
    assert answer.status == 200 and answer.json()["id"] == conv["id"]  # their conversation with the bot, reopened
    assert answer.json()["status"] == "open"
    stack.drain("SenderFunction")
    (call,) = [c for c in sent(stack, "telegram") if c["url"].endswith("/sendMessage")]
    assert str(call["body"]["chat_id"]) == "111" and call["body"]["text"] == "We found your parcel."
    no_phone = api(stack, "POST", "/api/conversations", {"contact_id": conv["contact"]["id"], "channel": "sms",
                                                          "text": "hi"})
    assert no_phone.status == 400 and no_phone.json()["error"]["code"] == "no_address"


def test_an_unknown_inbox_or_contact_is_refused(stack):
    answer = api(stack, "POST", "/api/conversations", {"to": {"channel": "sms", "address": "+14155550132"},
                                                        "channel": "sms", "text": "hi", "inbox": "+19999999999"})
    assert answer.status == 400 and answer.json()["error"]["code"] == "unknown_inbox"
    assert stack.items("CONTACT#") == [] and stack.items("IDENTITY#") == []  # nothing stored on bad input
    assert api(stack, "POST", "/api/conversations", {"contact_id": "ct_missing", "channel": "sms",
                                                      "text": "hi"}).status == 404
    assert api(stack, "POST", "/api/conversations", {"channel": "sms", "text": "hi"}).status == 422


# -- opt-outs ------------------------------------------------------------------------------------------------------
def test_stop_opts_out_of_sms_and_start_back_in(stack):
    sms_in(stack, "SM" + "2" * 32, "Where is my order?")
    (conv,) = api(stack, "GET", "/api/conversations").json()["items"]
    contact_id = conv["contact"]["id"]
    sms_in(stack, "SM" + "3" * 32, " stop ")
    assert api(stack, "GET", f"/api/contacts/{contact_id}").json()["opted_out"] == ["sms"]
    refused = api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"text": "Sorry to see you go"})
    assert refused.status == 409 and refused.json()["error"]["code"] == "opted_out"
    assert "opted out of SMS" in refused.json()["error"]["message"]
    assert stack.queue_count("OutboundQueue") == 0
    texts = [m["text"] for m in messages(stack, conv["id"])]
    assert " stop " in texts or "stop" in [t.strip() for t in texts]  # the keyword is kept for agents to see
    sms_in(stack, "SM" + "4" * 32, "START")
    assert api(stack, "GET", f"/api/contacts/{contact_id}").json()["opted_out"] == []
    assert api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"text": "Welcome back"}).status == 202


@pytest.mark.parametrize("word", ["STOPALL", "Unsubscribe", "cancel", "END", "quit"])
def test_every_twilio_opt_out_keyword_opts_out(stack, word):
    sms_in(stack, "SM" + "5" * 32, word)
    (conv,) = api(stack, "GET", "/api/conversations").json()["items"]
    assert api(stack, "GET", f"/api/contacts/{conv['contact']['id']}").json()["opted_out"] == ["sms"]


def test_no_greeting_or_away_message_answers_stop(stack):
    from switchboard.services import automation_config
    from switchboard.store.table import Table

    automation_config.save(Table(), {"greeting": {"enabled": True, "text": "Hi!"},
                                     "away": {"enabled": True, "text": "We are away"},
                                     "business_hours": {"days": {d: [] for d in
                                                                 ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}})
    sms_in(stack, "SM" + "6" * 32, "STOP")
    stack.drain("SenderFunction")
    assert sent(stack, "twilio") == []


def test_twilio_error_21610_opts_the_contact_out(stack):
    sms_in(stack, "SM" + "7" * 32, "hello")
    (conv,) = api(stack, "GET", "/api/conversations").json()["items"]
    stack.sandbox.add_fault("twilio", Fault(status=400, count=1, body={
        "code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400}))
    assert api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"text": "hi"}).status == 202
    stack.drain("SenderFunction")
    (out,) = [m for m in messages(stack, conv["id"]) if m["direction"] == "outbound"]
    assert out["status"] == "failed" and "21610" in out["failure_reason"]
    assert api(stack, "GET", f"/api/contacts/{conv['contact']['id']}").json()["opted_out"] == ["sms"]
    again = api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"text": "hi again"})
    assert again.status == 409 and again.json()["error"]["code"] == "opted_out"
    sms_in(stack, "SM" + "8" * 32, "UNSTOP")
    detail = api(stack, "GET", f"/api/conversations/{conv['id']}").json()
    assert detail["blocked"] is False
    assert api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"text": "back"}).status == 202


def test_do_not_contact_gets_no_automation_and_no_new_conversation(stack):
    from switchboard.services import automation_config
    from switchboard.store.table import Table

    sms_in(stack, "SM" + "9" * 32, "first")
    (conv,) = api(stack, "GET", "/api/conversations").json()["items"]
    contact_id = conv["contact"]["id"]
    patched = api(stack, "PATCH", f"/api/contacts/{contact_id}", {"do_not_contact": True})
    assert patched.status == 200 and patched.json()["do_not_contact"] is True
    automation_config.save(Table(), {"greeting": {"enabled": True, "text": "Hi!", "after_inactive_days": 1},
                                     "away": {"enabled": True, "text": "We are away"},
                                     "auto_reply": {"enabled": True, "after_minutes": 1},
                                     "survey": {"enabled": True, "delay_minutes": 1},
                                     "business_hours": {"days": {d: [] for d in
                                                                 ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}})
    clock.advance(2 * 86400)
    sms_in(stack, "SM" + "a" * 32, "me again")
    clock.advance(600)
    stack.functions["AutoReplyFunction"].invoke({})
    stack.drain("SenderFunction")
    assert sent(stack, "twilio") == []  # no greeting, away message or holding reply
    assert stack.items("CONV#") and not [i for i in stack.items("CONV#") if i["sk"].startswith("DUE#auto_reply")]
    refused = api(stack, "POST", "/api/conversations", {"contact_id": contact_id, "channel": "sms", "text": "Promo"})
    assert refused.status == 409 and refused.json()["error"]["code"] == "opted_out"
    # answering the customer's own conversation is still allowed
    assert api(stack, "POST", f"/api/conversations/{conv['id']}/messages", {"text": "Answer"}).status == 202
    api(stack, "PATCH", f"/api/contacts/{contact_id}", {"email": "dnc@example.org"})
    api(stack, "POST", f"/api/conversations/{conv['id']}/resolve")
    assert not [i for i in stack.items("CONV#") if i["sk"].startswith("DUE#survey")]


def test_agents_set_opt_outs_and_they_fall_under_export_and_erasure(stack):
    sms_in(stack, "SM" + "b" * 32, "hi")
    (conv,) = api(stack, "GET", "/api/conversations").json()["items"]
    contact_id = conv["contact"]["id"]
    patched = api(stack, "PATCH", f"/api/contacts/{contact_id}", {"opted_out": ["sms", "whatsapp"]}).json()
    assert sorted(patched["opted_out"]) == ["sms", "whatsapp"]
    assert api(stack, "PATCH", f"/api/contacts/{contact_id}", {"opted_out": ["pager"]}).status == 422
    exported = api(stack, "GET", f"/api/contacts/{contact_id}/export", role="admin").json()
    assert sorted(exported["contact"]["opted_out"]) == ["sms", "whatsapp"]
    assert exported["contact"]["do_not_contact"] is False
    assert api(stack, "DELETE", f"/api/contacts/{contact_id}", role="admin").json()["erased"]["contacts"] == 1
    assert stack.items(f"CONTACT#{contact_id}") == []


# -- canned responses ---------------------------------------------------------------------------------------------
def test_canned_variables_patch_and_permissions(stack):
    ok, created = as_agent(stack, "ann@example.com", "POST", "/api/canned-responses",
                           {"shortcut": "hello", "text": "Hi {{contact.first_name}}, {{ agent.name }} here."})
    assert ok == 201 and created["created_by"] == "ann@example.com"
    status, error = as_agent(stack, "ann@example.com", "POST", "/api/canned-responses",
                             {"shortcut": "typo", "text": "Hi {{contact.frist_name}}"})
    assert status == 400 and error["error"]["code"] == "unknown_variable" and "contact.frist_name" in \
        error["error"]["message"]
    listed = api(stack, "GET", "/api/canned-responses").json()
    assert [c["shortcut"] for c in listed["items"]] == ["hello"] and "contact.first_name" in listed["variables"]
    path = f"/api/canned-responses/{created['id']}"
    status, _ = as_agent(stack, "bob@example.com", "PATCH", path, {"text": "Hijacked"})
    assert status == 403
    status, _ = as_agent(stack, "bob@example.com", "DELETE", path)
    assert status == 403
    status, error = as_agent(stack, "ann@example.com", "PATCH", path, {"text": "Hi {{agent.nickname}}"})
    assert status == 400 and error["error"]["code"] == "unknown_variable"
    status, edited = as_agent(stack, "ann@example.com", "PATCH", path,
                              {"shortcut": "hi", "text": "Hello {{contact.name}} ({{conversation.id}})"})
    assert status == 200 and edited["shortcut"] == "hi" and edited["text"].startswith("Hello {{contact.name}}")
    # the old shortcut is free again, the new one taken
    assert as_agent(stack, "bob@example.com", "POST", "/api/canned-responses",
                    {"shortcut": "hello", "text": "Bob's"})[0] == 201
    status, error = as_agent(stack, "ann@example.com", "PATCH", path, {"shortcut": "hello"})
    assert status == 409 and error["error"]["code"] == "shortcut_taken"
    status, edited = as_agent(stack, "admin@example.com", "PATCH", path, {"text": "Edited by an admin"})
    assert status == 200 and edited["created_by"] == "ann@example.com"
    assert as_agent(stack, "admin@example.com", "DELETE", path)[0] == 204
    assert as_agent(stack, "ann@example.com", "PATCH", path, {"text": "x"})[0] == 404

"""Automation and the data lifecycle on moto, with the clock moved: each job idempotent and reading only what is due."""

from __future__ import annotations

import email
import email.policy
from urllib.parse import parse_qs, urlsplit

import pytest

from switchboard import aws, clock
from switchboard.services import survey_answers
from tests.integration.test_whatsapp_flow import conversations, messages, post, wa_message, wa_payload

WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALWAYS_OPEN = {"timezone": "UTC", "days": {d: [["00:00", "24:00"]] for d in WEEK}, "holidays": []}
NEVER_OPEN = {"timezone": "Europe/Riga", "days": {d: [] for d in WEEK}, "holidays": []}


def settings(stack, patch: dict) -> dict:
    r = stack.http("PUT", "/api/settings", patch, role="admin")
    assert r.status == 200, r
    return r.json()


def run(stack, function: str) -> dict:
    result = stack.functions[function].invoke({"source": "aws.scheduler", "detail-type": "Scheduled Event"})
    stack.drain("SenderFunction")
    return result


def customer_writes(stack, wamid: str, text: str = "hello", sender: str = "15557770001") -> dict:
    post(stack, wa_payload(wa_message(wamid, sender=sender, text=text), sender=sender))
    stack.drain("ProcessorFunction")
    stack.drain("SenderFunction")
    return next(c for c in conversations(stack) if any(m["text"] == text for m in messages(stack, c["id"])))


def automated(stack, conv_id: str) -> list[str]:
    return [m["sender"] for m in messages(stack, conv_id) if (m["sender"] or "").startswith("automation:")]


def test_settings_are_admin_only_validated_and_merged(stack):
    assert stack.http("GET", "/api/settings", role="agent").status == 403
    assert stack.http("PUT", "/api/settings", {"greeting": {"enabled": True}}, role="agent").status == 403
    doc = settings(stack, {"greeting": {"text": "Welcome!"}})
    assert doc["greeting"] == {"enabled": False, "text": "Welcome!", **{k: v for k, v in doc["greeting"].items()
                                                                       if k not in ("enabled", "text")}}
    for bad in ({"business_hours": {"timezone": "Mars/Base"}}, {"business_hours": {"days": {"funday": []}}},
                {"business_hours": {"days": {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}}},
                {"auto_reply": {"after_minutes": 0}}, {"nonsense": 1}):
        r = stack.http("PUT", "/api/settings", bad, role="admin")
        assert r.status == 400 and r.json()["error"]["code"] == "invalid_settings", (bad, r)
    assert stack.http("GET", "/api/settings", role="admin").json()["greeting"]["text"] == "Welcome!"


def test_greeting_once_and_away_once_per_day_outside_hours(stack):
    settings(stack, {"greeting": {"enabled": True, "text": "Hi, welcome"},
                     "away": {"enabled": True, "text": "We are closed"}, "business_hours": NEVER_OPEN})
    conv = customer_writes(stack, "g.1", "first")
    assert automated(stack, conv["id"]) == ["automation:greeting", "automation:away"]
    customer_writes(stack, "g.2", "second")
    assert automated(stack, conv["id"]) == ["automation:greeting", "automation:away"]  # once a day, greeting once ever
    clock.advance(86400)
    customer_writes(stack, "g.3", "next day")
    assert automated(stack, conv["id"]) == ["automation:greeting", "automation:away", "automation:away"]
    sent = [i["body"]["text"]["body"] for i in stack.sandbox.outbox]
    assert sent == ["Hi, welcome", "We are closed", "We are closed"]
    detail = stack.http("GET", f"/api/conversations/{conv['id']}", role="agent").json()
    assert detail["first_response_at"] is None  # automation is not an agent's response


def test_no_away_message_when_an_agent_just_answered(stack):
    settings(stack, {"away": {"enabled": True}, "business_hours": NEVER_OPEN})
    conv = customer_writes(stack, "a.1", "first")
    stack.http("POST", f"/api/conversations/{conv['id']}/messages", {"text": "agent here"}, role="agent")
    clock.advance(86400 - 60)  # next local day in Riga, but the agent answered a minute ago
    stack.http("POST", f"/api/conversations/{conv['id']}/messages", {"text": "still here"}, role="agent")
    clock.advance(120)
    customer_writes(stack, "a.2", "thanks")
    assert automated(stack, conv["id"]) == ["automation:away"]


def test_auto_reply_once_after_the_wait_and_not_after_an_agent_answer(stack):
    settings(stack, {"auto_reply": {"enabled": True, "after_minutes": 10, "text": "Hold on"},
                     "business_hours": ALWAYS_OPEN})
    waiting = customer_writes(stack, "r.1", "anyone?", sender="15557770002")
    answered = customer_writes(stack, "r.2", "question", sender="15557770003")
    stack.http("POST", f"/api/conversations/{answered['id']}/messages", {"text": "yes?"}, role="agent")
    assert run(stack, "AutoReplyFunction")["due"] == 0  # not yet due
    clock.advance(11 * 60)
    first = run(stack, "AutoReplyFunction")
    assert first["due"] == 1 and first["done"] == 1  # the answered one is no longer due at all
    assert automated(stack, waiting["id"]) == ["automation:auto_reply"]
    assert run(stack, "AutoReplyFunction") == {"due": 0, "done": 0, "errors": 0}  # a rerun changes nothing
    assert automated(stack, waiting["id"]) == ["automation:auto_reply"] and automated(stack, answered["id"]) == []


def test_one_holding_reply_per_wait_however_often_the_customer_writes(stack):
    settings(stack, {"auto_reply": {"enabled": True, "after_minutes": 10, "text": "Hold on"},
                     "business_hours": ALWAYS_OPEN})
    conv = customer_writes(stack, "w.1", "anyone?", sender="15557770031")
    clock.advance(11 * 60)
    assert run(stack, "AutoReplyFunction")["done"] == 1
    customer_writes(stack, "w.2", "still waiting", sender="15557770031")
    clock.advance(11 * 60)
    assert run(stack, "AutoReplyFunction")["due"] == 0  # the same unanswered wait: no second holding reply
    assert automated(stack, conv["id"]) == ["automation:auto_reply"]
    # An agent's answer ends the wait: the customer's next message starts a new one, with its own holding reply
    stack.http("POST", f"/api/conversations/{conv['id']}/messages", {"text": "on it"}, role="agent")
    customer_writes(stack, "w.3", "and now?", sender="15557770031")
    clock.advance(11 * 60)
    assert run(stack, "AutoReplyFunction")["done"] == 1
    assert automated(stack, conv["id"]) == ["automation:auto_reply", "automation:auto_reply"]
    # So does resolving: a message that reopens the conversation waits afresh
    stack.http("POST", f"/api/conversations/{conv['id']}/resolve", role="agent")
    customer_writes(stack, "w.4", "one more thing", sender="15557770031")
    clock.advance(11 * 60)
    assert run(stack, "AutoReplyFunction")["done"] == 1
    assert automated(stack, conv["id"]).count("automation:auto_reply") == 3


def survey_link(stack) -> str:
    (mail,) = [m for m in ses_messages(stack)]
    text = email.message_from_string(mail, policy=email.policy.default).get_body(("plain",)).get_content()
    return next(line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("5: "))


def ses_messages(stack) -> list[str]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return [m.raw_data for m in ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages]


def test_survey_after_resolution_once_with_a_single_use_rating(stack):
    settings(stack, {"survey": {"enabled": True, "delay_minutes": 30}})
    conv = customer_writes(stack, "s.1", "help", sender="15557770004")
    contact_id = conv["contact"]["id"]
    stack.http("PATCH", f"/api/contacts/{contact_id}", {"email": "cust@example.com"}, role="agent")
    stack.http("POST", f"/api/conversations/{conv['id']}/messages", {"text": "done"}, role="agent")
    stack.http("POST", f"/api/conversations/{conv['id']}/resolve", role="agent")
    assert run(stack, "SurveyFunction")["due"] == 0
    clock.advance(31 * 60)
    assert run(stack, "SurveyFunction")["done"] == 1
    assert run(stack, "SurveyFunction")["due"] == 0  # never twice for one resolution
    (raw,) = ses_messages(stack)
    assert "How did we do?" in raw
    link = survey_link(stack)
    path, query = urlsplit(link).path, urlsplit(link).query
    clock.advance(survey_answers.HOLD_SECONDS)  # the customer reads the email later than any delivery-time scanner
    page = stack.http("GET", path, query=query)
    assert page.status == 200 and "Thank you" in page.body
    again = stack.http("GET", path, query=query)
    assert again.status == 200 and "already received this rating" in again.body
    forged = stack.http("GET", path[:-3] + "abc", query=query)
    assert forged.status == 403
    comment = stack.http("POST", path, b"comment=Great+help", {"Content-Type": "application/x-www-form-urlencoded"})
    assert comment.status == 200
    detail = stack.http("GET", f"/api/conversations/{conv['id']}", role="agent")
    assert detail.status == 200 and detail.json()["rating"] == 5  # agents see the rating on the conversation
    assert detail.json()["rating_comment"] == "Great help"  # and what the customer added
    second = stack.http("POST", path, b"comment=Changed+my+mind", {"Content-Type": "application/x-www-form-urlencoded"})
    assert second.status == 400  # one comment per rating
    assert stack.http("GET", f"/api/conversations/{conv['id']}", role="agent").json()["rating_comment"] == "Great help"
    metrics = stack.http("GET", "/api/metrics", role="agent").json()
    assert metrics["csat"]["responses"] == 1 and metrics["csat"]["average"] == 5
    assert metrics["conversations"] == 1 and metrics["by_channel"] == {"whatsapp": 1}
    assert metrics["first_response_seconds"]["count"] == 1 and metrics["resolution_seconds"]["count"] == 1
    # an expired link is refused
    clock.advance(15 * 86400)
    assert stack.http("GET", path, query=query).status == 403
    assert parse_qs(query)["rating"] == ["5"]


def test_metrics_by_status_is_where_the_period_s_conversations_stand_now_and_activity_what_happened(stack):
    one = customer_writes(stack, "st.1", "a", sender="15557770301")
    two = customer_writes(stack, "st.2", "b", sender="15557770302")
    three = customer_writes(stack, "st.3", "c", sender="15557770303")
    for conv in (one, two):
        stack.http("POST", f"/api/conversations/{conv['id']}/resolve", role="agent")
    stack.http("POST", f"/api/conversations/{conv['id']}/resolve", role="agent")  # again: nothing changes
    stack.http("POST", f"/api/conversations/{three['id']}/pending", role="agent")
    customer_writes(stack, "st.4", "me again", sender="15557770301")  # reopens the first
    metrics = stack.http("GET", "/api/metrics", role="agent").json()
    assert metrics["by_status"] == {"open": 1, "pending": 1, "resolved": 1, "snoozed": 0}
    assert metrics["activity"] == {"opened": 3, "resolved": 2, "reopened": 1}
    customer_writes(stack, "st.5", "back from pending", sender="15557770303")
    stack.http("POST", f"/api/conversations/{one['id']}/resolve", role="agent")
    metrics = stack.http("GET", "/api/metrics", role="agent").json()
    assert metrics["by_status"] == {"open": 1, "pending": 0, "resolved": 2, "snoozed": 0}
    assert sum(metrics["by_status"].values()) == metrics["conversations"] == 3


def test_the_survey_pages_speak_the_customers_language(stack):
    page_words = {"language": "de", "thanks_title": "Danke!", "thanks_text": "Danke für Ihre Bewertung.",
                  "already_rated": "Ihre erste Bewertung zählt.", "comment_prompt": "Noch etwas? (freiwillig)",
                  "comment_button": "Senden", "comment_thanks": "Ihr Kommentar ist angekommen.",
                  "sorry_title": "Leider", "invalid_link": "Dieser Link ist ungültig."}
    settings(stack, {"survey": {"enabled": True, "delay_minutes": 1, "page": page_words}})
    bad = stack.http("PUT", "/api/settings", {"survey": {"page": {"language": "not a tag!"}}}, role="admin")
    assert bad.status == 400 and bad.json()["error"]["code"] == "invalid_settings"
    conv = customer_writes(stack, "lang.1", "hallo", sender="15557770321")
    stack.http("PATCH", f"/api/contacts/{conv['contact']['id']}", {"email": "kunde@example.com"}, role="agent")
    stack.http("POST", f"/api/conversations/{conv['id']}/resolve", role="agent")
    clock.advance(120)
    assert run(stack, "SurveyFunction")["done"] == 1
    link = urlsplit(survey_link(stack))
    clock.advance(survey_answers.HOLD_SECONDS)  # past the time a delivery-time link scanner's click is held
    first = stack.http("GET", link.path, query=link.query)
    assert first.status == 200 and '<html lang="de">' in first.body and "Danke für Ihre Bewertung." in first.body
    assert "Noch etwas? (freiwillig)" in first.body and ">Senden<" in first.body and "Thank" not in first.body
    again = stack.http("GET", link.path, query=link.query)
    assert "Ihre erste Bewertung zählt." in again.body
    forged = stack.http("GET", link.path[:-3] + "abc", query=link.query)
    assert forged.status == 403 and "Leider" in forged.body and "Dieser Link ist ungültig." in forged.body
    thanks = stack.http("POST", link.path, b"comment=Super", {"Content-Type": "application/x-www-form-urlencoded"})
    assert thanks.status == 200 and "Ihr Kommentar ist angekommen." in thanks.body


def test_no_survey_when_reopened_opted_out_or_without_email(stack):
    settings(stack, {"survey": {"enabled": True, "delay_minutes": 5}})
    reopened = customer_writes(stack, "n.1", "a", sender="15557770005")
    stack.http("PATCH", f"/api/contacts/{reopened['contact']['id']}", {"email": "a@example.com"}, role="agent")
    stack.http("POST", f"/api/conversations/{reopened['id']}/resolve", role="agent")
    customer_writes(stack, "n.2", "wait, one more thing", sender="15557770005")  # reopens it
    opted = customer_writes(stack, "n.3", "b", sender="15557770006")
    stack.http("PATCH", f"/api/contacts/{opted['contact']['id']}", {"email": "b@example.com", "surveys_opt_out": True},
               role="agent")
    stack.http("POST", f"/api/conversations/{opted['id']}/resolve", role="agent")
    no_email = customer_writes(stack, "n.4", "c", sender="15557770007")
    stack.http("POST", f"/api/conversations/{no_email['id']}/resolve", role="agent")
    clock.advance(600)
    result = run(stack, "SurveyFunction")
    assert result["done"] == 0 and ses_messages(stack) == []


def test_retention_deletes_what_is_due_and_keeps_the_rest(stack):
    settings(stack, {"retention": {"default_days": 30, "channels": {"whatsapp": 30}}})
    old = customer_writes(stack, "t.1", "old", sender="15557770008")
    image = wa_message("t.img", sender="15557770008", kind="image", body={"id": "IMG", "mime_type": "image/jpeg"})
    post(stack, wa_payload(image, sender="15557770008"))
    stack.drain("ProcessorFunction")
    clock.advance(31 * 86400)
    fresh = customer_writes(stack, "t.2", "fresh", sender="15557770009")
    result = run(stack, "RetentionFunction")
    assert result["conversations"] == 1 and result["contacts"] == 1 and result["objects"] == 1
    ids = [c["id"] for c in conversations(stack)]
    assert ids == [fresh["id"]]
    assert stack.http("GET", f"/api/contacts/{old['contact']['id']}", role="agent").status == 404
    assert aws.s3().list_objects_v2(Bucket=stack.resolver.refs["MediaBucket"]).get("KeyCount") == 0
    assert run(stack, "RetentionFunction")["conversations"] == 0  # rerun: nothing more
    audits = stack.items("AUDIT#")  # the two runs' counts (and the admins' actions, since growth)
    assert len([a for a in audits if a["kind"] == "retention"]) == 2 and all("old" not in str(a) for a in audits)


def test_retention_policy_change_applies_without_rescheduling(stack):
    conv = customer_writes(stack, "t.3", "kept for now", sender="15557770010")
    clock.advance(10 * 86400)
    assert run(stack, "RetentionFunction")["conversations"] == 0
    settings(stack, {"retention": {"channels": {"whatsapp": 7}}})
    assert run(stack, "RetentionFunction")["conversations"] == 1
    assert stack.http("GET", f"/api/conversations/{conv['id']}", role="agent").status == 404


def test_export_and_erasure(stack):
    conv = customer_writes(stack, "x.1", "my data", sender="15557770011")
    contact = conv["contact"]["id"]
    stack.http("POST", f"/api/conversations/{conv['id']}/messages", {"text": "reply"}, role="agent")
    stack.drain("SenderFunction")
    assert stack.http("GET", f"/api/contacts/{contact}/export", role="agent").status == 403
    exported = stack.http("GET", f"/api/contacts/{contact}/export", role="admin").json()
    assert exported["contact"]["id"] == contact and exported["identities"][0]["identity"] == "phone:+15557770011"
    assert [m["text"] for m in exported["conversations"][0]["messages"]] == ["my data", "reply"]
    assert stack.http("DELETE", f"/api/contacts/{contact}", role="agent").status == 403
    erased = stack.http("DELETE", f"/api/contacts/{contact}", role="admin").json()["erased"]
    assert erased["conversations"] == 1 and erased["messages"] == 2
    for path in (f"/api/contacts/{contact}", f"/api/conversations/{conv['id']}", f"/api/contacts/{contact}/export"):
        assert stack.http("GET", path, role="admin").status == 404
    assert conversations(stack) == []
    # The audit log keeps who exported and erased which id (the ids alone: they lead to nothing any more).
    leftovers = [i for i in stack.items("") if "15557770011" in str(i) or contact in str(i) or conv["id"] in str(i)]
    assert [i for i in leftovers if i.get("kind") != "action"] == []
    assert all(set(i) <= {"pk", "sk", "type", "kind", "at", "actor", "action", "target", "outcome", "status",
                          "request_id", "expires_at"} and "15557770011" not in str(i) for i in leftovers)
    # the customer writing again starts afresh
    again = customer_writes(stack, "x.2", "hello again", sender="15557770011")
    assert again["contact"]["id"] != contact


@pytest.mark.parametrize("job", ["AutoReplyFunction", "SurveyFunction", "RetentionFunction"])
def test_jobs_read_only_what_is_due(stack, job, monkeypatch):
    settings(stack, {"auto_reply": {"enabled": True, "after_minutes": 60}, "business_hours": ALWAYS_OPEN})
    for i in range(12):
        customer_writes(stack, f"d.{i}", f"m{i}", sender=f"155577701{i:02d}")
    from switchboard.store import table as table_module

    reads = {"items": 0}
    real_query = table_module.Table.query

    def counting(self, *args, **kwargs):
        items, last = real_query(self, *args, **kwargs)
        reads["items"] += len(items)
        return items, last

    monkeypatch.setattr(table_module.Table, "query", counting)
    run(stack, job)
    assert reads["items"] == 0  # nothing is due yet: the job reads nothing at all


def test_a_bounce_stops_surveys_to_that_address(stack):
    import json as _json

    settings(stack, {"survey": {"enabled": True, "delay_minutes": 5}})
    conv = customer_writes(stack, "b.1", "hi", sender="15557770099")
    stack.http("PATCH", f"/api/contacts/{conv['contact']['id']}", {"email": "gone@example.com"}, role="agent")
    stack.http("POST", f"/api/conversations/{conv['id']}/resolve", role="agent")
    bounce = {"eventType": "Bounce", "bounce": {"bounceType": "Permanent",
                                                "bouncedRecipients": [{"emailAddress": "Gone@Example.com"}]}}
    transient = {"eventType": "Bounce", "bounce": {"bounceType": "Transient", "bouncedRecipients": []}}
    event = {"Records": [{"Sns": {"Message": _json.dumps(bounce)}}, {"Sns": {"Message": _json.dumps(transient)}},
                         {"Sns": {"Message": "not json"}}]}
    fn = next(f for name, f in stack.functions.items() if name == "SesEventsFunction")
    assert fn.invoke(event) == {"records": 3, "suppressed": 1, "ignored": 2}
    clock.advance(600)
    assert run(stack, "SurveyFunction")["due"] == 0  # the pending survey was cancelled
    assert all("gone@example.com" not in str(item).lower() for item in stack.items("SUPPRESS#"))  # hashed
    # a later resolution does not schedule one either
    stack.http("POST", f"/api/conversations/{conv['id']}/reopen", role="agent")
    stack.http("POST", f"/api/conversations/{conv['id']}/resolve", role="agent")
    clock.advance(600)
    assert run(stack, "SurveyFunction")["due"] == 0


def test_ttl_backstop_on_conversations_and_messages_and_expired_items_read_as_gone(stack):
    settings(stack, {"retention": {"default_days": 10, "channels": {"whatsapp": 10}}})
    conv = customer_writes(stack, "ttl.1", "keep me", sender="15557770123")
    items = [i for i in stack.items(f"CONV#{conv['id']}") if i["sk"] == "META" or i["sk"].startswith("MSG#")]
    now = clock.epoch()
    assert items and all(now + 49 * 86400 < i["expires_at"] <= now + 51 * 86400 for i in items)  # 2 x 10 + 30 days
    # TTL deletion can lag by days: past its expiry, the conversation reads as gone even before it is deleted
    clock.advance(52 * 86400)
    assert stack.http("GET", f"/api/conversations/{conv['id']}", role="agent").status == 404
    assert conversations(stack) == []


def test_messages_of_one_day_leave_the_conversations_backstop_as_it_was(stack):
    # Every write of a UTC day sets the same backstop: a customer's next message that day does not change the
    # conversation's expires_at, so CreatedIndex (which projects it, not the activity) is not written again.
    clock.advance(86400 - clock.epoch() % 86400 + 3600)  # 01:00 UTC: the next ten minutes are the same day
    conv = customer_writes(stack, "ttl.day.1", "first of the day", sender="15557770126")
    before = next(i for i in stack.items(f"CONV#{conv['id']}") if i["sk"] == "META")
    clock.advance(600)
    customer_writes(stack, "ttl.day.2", "ten minutes later", sender="15557770126")
    items = stack.items(f"CONV#{conv['id']}")
    after = next(i for i in items if i["sk"] == "META")
    assert after["updated_at"] > before["updated_at"] and after["expires_at"] == before["expires_at"]
    assert {i["expires_at"] for i in items if i["sk"].startswith("MSG#")} == {before["expires_at"]}


def test_raising_retention_moves_the_ttl_backstops_out_so_nothing_expires_before_the_new_policy(stack):
    settings(stack, {"retention": {"default_days": 10, "channels": {"whatsapp": 10}}})
    conv = customer_writes(stack, "ttl.2", "keep me longer", sender="15557770124")
    written = clock.epoch()
    # Lowering needs no review (the job deletes on time); raising schedules one for that channel only
    settings(stack, {"retention": {"channels": {"whatsapp": 5}}})
    assert stack.items("BACKSTOPREVIEW") == []
    settings(stack, {"retention": {"channels": {"whatsapp": 365}}})
    assert [i["sk"] for i in stack.items("BACKSTOPREVIEW")] == ["whatsapp"]
    first = run(stack, "RetentionFunction")
    assert first["conversations"] == 0 and first["backstops_moved"] >= 2  # the conversation and its message at least
    assert stack.items("BACKSTOPREVIEW") == []
    items = [i for i in stack.items(f"CONV#{conv['id']}") if i["sk"] == "META" or i["sk"].startswith("MSG#")]
    assert items and all(i["expires_at"] >= written + (2 * 365 + 30) * 86400 - 60 for i in items)
    assert run(stack, "RetentionFunction")["backstops_moved"] == 0  # a rerun changes nothing
    # Past the old backstop (2 x 10 + 30 days), the conversation is still there, as the new policy says
    clock.advance(52 * 86400)
    assert stack.http("GET", f"/api/conversations/{conv['id']}", role="agent").status == 200
    assert "keep me longer" in [m["text"] for m in messages(stack, conv["id"])]


def test_a_retention_raised_by_a_redeploy_of_the_defaults_moves_the_backstops_at_the_next_run(stack, settings_env):
    from switchboard import settings as settings_module
    from switchboard.services import automation_config

    def redeploy(defaults: str) -> None:  # the AutomationDefaults parameter changed: a new environment
        settings_env(AUTOMATION_DEFAULTS=defaults)
        settings_module.get_settings.cache_clear()
        automation_config.forget()

    redeploy('{"retention": {"default_days": 10}}')
    assert run(stack, "RetentionFunction")["reviews_scheduled"] == 0  # the first run records the policy it found
    conv = customer_writes(stack, "ttl.3", "kept by the new default", sender="15557770125")
    written = clock.epoch()
    redeploy('{"retention": {"default_days": 200}}')
    first = run(stack, "RetentionFunction")
    assert first["reviews_scheduled"] >= 1 and first["backstops_moved"] >= 2 and first["conversations"] == 0
    items = [i for i in stack.items(f"CONV#{conv['id']}") if i["sk"] == "META" or i["sk"].startswith("MSG#")]
    assert items and all(i["expires_at"] >= written + (2 * 200 + 30) * 86400 - 60 for i in items)
    again = run(stack, "RetentionFunction")
    assert again["reviews_scheduled"] == 0 and again["backstops_moved"] == 0  # a rerun changes nothing
    clock.advance(52 * 86400)  # past the old backstop (2 x 10 + 30 days): still there
    assert stack.http("GET", f"/api/conversations/{conv['id']}", role="agent").status == 200


def test_greeting_again_after_a_quiet_spell_when_configured(stack):
    settings(stack, {"greeting": {"enabled": True, "text": "Welcome back", "after_inactive_days": 30}})
    conv = customer_writes(stack, "q.1", "first", sender="15557770555")
    customer_writes(stack, "q.2", "soon after", sender="15557770555")
    assert automated(stack, conv["id"]) == ["automation:greeting"]
    clock.advance(31 * 86400)
    customer_writes(stack, "q.3", "back again", sender="15557770555")
    assert automated(stack, conv["id"]) == ["automation:greeting", "automation:greeting"]


def test_defaults_come_from_the_template_parameter_then_admins_edits(stack, settings_env):
    from switchboard.services import automation_config

    settings_env(AUTOMATION_DEFAULTS='{"greeting": {"text": "Hei!"}, "business_hours": {"timezone": "Europe/Helsinki"}}')
    automation_config.forget()
    doc = stack.http("GET", "/api/settings", role="admin").json()
    assert doc["greeting"]["text"] == "Hei!" and doc["business_hours"]["timezone"] == "Europe/Helsinki"
    assert doc["greeting"]["enabled"] is False  # what the admin saved (the fixture) still wins
    settings_env(AUTOMATION_DEFAULTS="not json")
    automation_config.forget()
    assert stack.http("GET", "/api/settings", role="admin").status == 200  # a broken parameter is not an outage


def test_every_word_of_the_survey_email_comes_from_the_settings(stack):
    words = {"subject": "Kā mums gāja?", "text": "Paldies, ka sazinājāties.", "hello": "Sveiki",
             "rating_prompt": "Novērtējiet (1 = slikti, 5 = lieliski):", "closing": "Paldies!"}
    settings(stack, {"survey": {"enabled": True, "delay_minutes": 0, **words}})
    conv = customer_writes(stack, "s.lv", "palīdzība", sender="15557770014")
    stack.http("PATCH", f"/api/contacts/{conv['contact']['id']}", {"email": "klients@example.com"}, role="agent")
    stack.http("POST", f"/api/conversations/{conv['id']}/resolve", role="agent")
    clock.advance(60)
    assert run(stack, "SurveyFunction")["done"] == 1
    (raw,) = ses_messages(stack)
    mail = email.message_from_string(raw, policy=email.policy.default)
    text = mail.get_body(("plain",)).get_content()
    assert mail["Subject"] == words["subject"] and text.startswith(f"Sveiki {conv['contact']['name']},")
    assert all(words[k] in text for k in ("text", "rating_prompt", "closing")) and "Hello" not in text
    html = mail.get_body(("html",)).get_content()
    assert words["rating_prompt"] in html and words["closing"] in html

"""Survey answers on moto, through the survey pages: a link scanner's clicks are held and count nothing, the customer
confirms or changes the rating on the page, a later answer replaces an earlier one, and the CSAT metrics and the
conversation's rating follow exactly, with concurrent clicks too."""

from __future__ import annotations

from switchboard import clock
from switchboard.services import survey_answers
from switchboard.store.table import Table
from tests.support.seeds import conversation, survey_token

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def csat(stack) -> dict:
    return stack.http("GET", "/api/metrics", role="agent").json()["csat"]


def rating_of(stack, conv_id: str):
    return stack.http("GET", f"/api/conversations/{conv_id}", role="agent").json()["rating"]


def test_a_scanner_at_delivery_counts_nothing_and_the_customer_answers_later(stack, settings_env):
    settings_env(SURVEY_ADDRESS_PAGES_PER_MINUTE="100")
    conv = conversation(stack, "wamid.sa.1", "15550000601")
    token = survey_token(stack, conv["id"])
    # The recipient's mail filter fetches every link as the email is delivered
    for n in range(1, 6):
        page = stack.http("GET", f"/survey/{token}", query=f"rating={n}", source_ip="40.94.0.1")
        assert page.status == 200 and "Please confirm your rating" in page.body
        assert f'name="rating" value="{n}" aria-pressed="true"' in page.body  # what it would confirm
    assert csat(stack)["responses"] == 0 and rating_of(stack, conv["id"]) is None
    # The customer reads it an hour later and clicks 4
    clock.advance(3600)
    page = stack.http("GET", f"/survey/{token}", query="rating=4")
    assert page.status == 200 and "Thank you for your feedback." in page.body and "Changed your mind?" in page.body
    assert csat(stack) == {"average": 4.0, "responses": 1, "satisfied_share": 1.0}
    assert rating_of(stack, conv["id"]) == 4
    # ...then changes it on the page (a POST), and adds a comment that keeps it
    clock.advance(120)
    changed = stack.http("POST", f"/survey/{token}", b"rating=2", FORM)
    assert changed.status == 200 and "Your rating was recorded." in changed.body
    assert csat(stack) == {"average": 2.0, "responses": 1, "satisfied_share": 0.0}
    commented = stack.http("POST", f"/survey/{token}", b"rating=2&comment=Slow+but+fine", FORM)
    assert commented.status == 200 and "Your comment was recorded." in commented.body
    detail = stack.http("GET", f"/api/conversations/{conv['id']}", role="agent").json()
    assert detail["rating"] == 2 and detail["rating_comment"] == "Slow but fine"
    assert csat(stack)["responses"] == 1  # one survey, one response, however often it changed


def test_a_quick_customer_confirms_on_the_page(stack):
    conv = conversation(stack, "wamid.sa.2", "15550000602")
    token = survey_token(stack, conv["id"])
    clock.advance(30)  # well inside the hold: a click now may be a mail filter's
    held = stack.http("GET", f"/survey/{token}", query="rating=5")
    assert held.status == 200 and "Please confirm your rating" in held.body
    assert csat(stack)["responses"] == 0
    confirmed = stack.http("POST", f"/survey/{token}", b"rating=5", FORM)
    assert confirmed.status == 200 and csat(stack) == {"average": 5.0, "responses": 1, "satisfied_share": 1.0}
    (record,) = [i for i in stack.items(f"CONV#{conv['id']}") if i["sk"] == "SURVEY#r1"]
    assert record["rating"] == 5 and "provisional" not in record


def test_an_answer_decided_on_a_stale_record_is_decided_again(stack, monkeypatch):
    """Two clicks at once read the same survey; the second to write finds another answer written since, reads
    again and decides again, so the counts move once per change (moto's transactions are not thread-safe, so the
    race is played out in order here)."""
    from switchboard.store import surveys

    conv = conversation(stack, "wamid.sa.3", "15550000603")
    survey_token(stack, conv["id"])
    clock.advance(3600)
    table = Table()
    stale = surveys.get(table, conv["id"], "r1")
    survey_answers.answer(table, conv["id"], "r1", 4, "page")  # the click that wrote first
    assert not surveys.answer(table, conv["id"], "r1", int(stale.get("version") or 0), {"rating": 2}, [], 2, "-")
    reads = iter([stale])
    real_get = surveys.get
    monkeypatch.setattr(surveys, "get", lambda *args, **kw: next(reads, None) or real_get(*args, **kw))
    decision = survey_answers.answer(table, conv["id"], "r1", 2, "page")  # decided on the stale record first
    assert decision.counted == 2 and decision.deltas  # ...and again on the current one: a change, not a new answer
    assert not decision.new_response
    assert csat(stack) == {"average": 2.0, "responses": 1, "satisfied_share": 0.0}
    assert rating_of(stack, conv["id"]) == 2


def test_the_export_carries_a_held_answer_and_erasure_takes_it(stack):
    conv = conversation(stack, "wamid.sa.4", "15550000604")
    token = survey_token(stack, conv["id"])
    stack.http("GET", f"/survey/{token}", query="rating=1")  # held: within the hold
    export = stack.http("GET", f"/api/contacts/{conv['contact']['id']}/export", role="admin").json()
    (answers,) = [c["surveys"] for c in export["conversations"] if c["conversation"]["id"] == conv["id"]]
    assert answers == [{"sent_at": answers[0]["sent_at"], "provisional": 1}]
    assert stack.http("DELETE", f"/api/contacts/{conv['contact']['id']}", role="admin").status == 200
    assert [i for i in stack.items(f"CONV#{conv['id']}") if i["sk"].startswith("SURVEY#")] == []


def test_a_counted_answer_publishes_csat_submitted_naming_the_agent_who_resolved(stack, monkeypatch):
    """The csat.submitted event names the survey's resolving agent, from the record the answer was decided on."""
    from switchboard.services import events, survey

    conv = conversation(stack, "wamid.sa.9", "15550000609")
    token = survey_token(stack, conv["id"])
    clock.advance(3600)
    published = []
    monkeypatch.setattr(events, "csat_submitted", lambda table, conv_id, rating, agent: published.append(
        (conv_id, rating, agent)))
    survey.answer_token(Table(), token, 4, "page")
    survey.answer_token(Table(), token, 4, "page")  # the same answer again: unchanged, nothing published
    assert published == [(conv["id"], 4, "ann@example.com")]

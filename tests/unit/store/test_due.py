"""store/due.py: the jobs read only what is due, claim it once, and cancelled work is gone."""

from __future__ import annotations

from switchboard import clock
from switchboard.store import due, keys


def schedule(table, conv_id: str, minutes: int) -> None:
    at = clock.iso(clock.now() + __import__("datetime").timedelta(minutes=minutes))
    assert due.schedule_auto_reply(table, conv_id, at, clock.iso(clock.now()), {"id": conv_id})


def test_only_what_is_due_is_read_oldest_first(table):
    schedule(table, "cv_late", 10)
    schedule(table, "cv_b", -1)
    schedule(table, "cv_a", -5)
    assert [i["conversation_id"] for i in due.due_items(table, due.AUTO_REPLY)] == ["cv_a", "cv_b"]


def test_a_wait_is_scheduled_once(table):
    schedule(table, "cv_1", 5)
    assert not due.schedule_auto_reply(table, "cv_1", clock.iso(clock.now()), "later", {"id": "cv_1"})


def test_of_two_runs_one_takes_an_item(table):
    schedule(table, "cv_1", -1)
    (item,) = due.due_items(table, due.AUTO_REPLY)
    assert due.take(table, item) and not due.take(table, item)
    assert list(due.due_items(table, due.AUTO_REPLY)) == []


def test_settle_takes_the_item_off_the_index_but_keeps_it(table):
    schedule(table, "cv_1", -1)
    (item,) = due.due_items(table, due.AUTO_REPLY)
    assert due.settle(table, item, replied_at="now") and not due.settle(table, item, replied_at="again")
    kept = table.get(keys.due("cv_1", due.AUTO_REPLY))
    assert kept["replied_at"] == "now" and "due_pk" not in kept
    assert list(due.due_items(table, due.AUTO_REPLY)) == []


def test_cancelled_work_is_gone(table):
    for conv_id in ("cv_1", "cv_2"):
        schedule(table, conv_id, -1)
    due.cancel(table, "cv_1", due.AUTO_REPLY)
    assert [i["conversation_id"] for i in due.due_items(table, due.AUTO_REPLY)] == ["cv_2"]
    assert due.cancel_all(table, ["cv_2"], [due.AUTO_REPLY, due.SURVEY]) == 2
    assert list(due.due_items(table, due.AUTO_REPLY)) == []


def test_a_survey_entry_carries_what_the_job_needs(table):
    at = clock.iso(clock.now())
    table.transact([due.survey_put("cv_1", at, contact_id="ct_1", resolution=at, resolved_by="ann@example.com",
                                   email="c@example.com", name="C")])
    (item,) = due.due_items(table, due.SURVEY)
    assert {k: item[k] for k in ("contact_id", "resolved_by", "email", "name")} == {
        "contact_id": "ct_1", "resolved_by": "ann@example.com", "email": "c@example.com", "name": "C"}


def test_retention_pages_by_channel_and_cut_off_and_rescheduling(table):
    table.put(due.retention_entry("cv_old", "sms", "ct_1", "2025-01-01T00:00:00.000Z"))
    table.put(due.retention_entry("cv_new", "sms", "ct_2", "2026-06-01T00:00:00.000Z"))
    table.put(due.retention_entry("cv_wa", "whatsapp", "ct_3", "2025-01-01T00:00:00.000Z"))
    cut = "2026-01-01T00:00:00.000Z"
    (items, last), = list(due.retention_pages(table, "sms", older_than=cut, cap=100))
    assert [i["conversation_id"] for i in items] == ["cv_old"] and last is None
    due.reschedule_retention(table, items[0], "2026-07-01T00:00:00.000Z", "cv_old")
    assert [i for page, _ in due.retention_pages(table, "sms", older_than=cut, cap=100) for i in page] == []
    assert len([i for page, _ in due.retention_pages(table, "sms", cap=100) for i in page]) == 2
    due.move_retention(table, "cv_old", "ct_9")
    due.move_retention(table, "cv_none", "ct_9")  # no entry: nothing happens
    assert table.get(keys.due("cv_old", due.RETENTION))["contact_id"] == "ct_9"


def test_a_transcript_check_is_put_once_per_voicemail_and_moves_only_as_read(table):
    # issue 17: an entry per voicemail (two calls of one conversation: two checks), in the conversation's partition
    at, later = clock.iso(clock.now()), clock.iso(clock.now() + __import__("datetime").timedelta(minutes=15))
    assert due.schedule_transcript_check(table, "cv_1", at, "m_1", "switchboard-test-CA1", at, at)
    assert not due.schedule_transcript_check(table, "cv_1", at, "m_1", "switchboard-test-CA1", later, later)
    assert due.schedule_transcript_check(table, "cv_1", at, "m_2", "switchboard-test-CA2", at, at)
    first, second = sorted(due.due_items(table, due.TRANSCRIPT), key=lambda i: i["sk"])
    assert (first["pk"], first["sk"], first["since"], first["transcription_job"]) == (
        "CONV#cv_1", "DUE#transcript#m_1", at, "switchboard-test-CA1")
    assert second["transcription_job"] == "switchboard-test-CA2"
    # postponed by one run; a second run holding the old read moves nothing
    assert due.postpone(table, first, due.TRANSCRIPT, later) and not due.postpone(table, first, due.TRANSCRIPT, later)
    assert [i["sk"] for i in due.due_items(table, due.TRANSCRIPT)] == ["DUE#transcript#m_2"]
    assert table.get(keys.transcript_check("cv_1", "m_1"))["due_sk"] == f"{later}#cv_1"

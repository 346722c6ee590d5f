"""store/keys.py: every key string, and the orders the indexes rely on."""

from __future__ import annotations

from switchboard.store import keys


def test_conversation_items_share_one_partition():
    assert keys.conversation("cv_1") == {"pk": "CONV#cv_1", "sk": "META"}
    assert keys.message("cv_1", "2026-01-01T00:00:00.000Z", "m_1") == {
        "pk": "CONV#cv_1", "sk": "MSG#2026-01-01T00:00:00.000Z#m_1"}
    assert keys.due("cv_1", "survey") == {"pk": "CONV#cv_1", "sk": "DUE#survey"}
    assert keys.survey("cv_1", "2026-01-01T00:00:00.000Z")["sk"] == "SURVEY#2026-01-01T00:00:00.000Z"


def test_messages_sort_by_time_as_strings():
    early = keys.message("cv_1", "2026-01-01T09:00:00.000Z", "m_z")["sk"]
    late = keys.message("cv_1", "2026-01-01T10:00:00.000Z", "m_a")["sk"]
    assert early < late


def test_inbox_keys_are_sparse_for_the_assignee_index():
    unassigned = keys.inbox_keys("open", None, "2026-01-01T00:00:00.000Z", "cv_1")
    assigned = keys.inbox_keys("open", "Ann@Example.com", "2026-01-01T00:00:00.000Z", "cv_1")
    assert unassigned["gsi1pk"] == "STATUS#open" and "gsi2pk" not in unassigned
    assert assigned["gsi2pk"] == "ASSIGNEE#ann@example.com"
    assert assigned["gsi1sk"] == assigned["gsi2sk"] == "2026-01-01T00:00:00.000Z#cv_1"


def test_due_index_keys_per_job_and_retention_per_channel():
    assert keys.due_index("auto_reply", "2026-01-01T00:05:00.000Z", "cv_1") == {
        "due_pk": "DUE#auto_reply", "due_sk": "2026-01-01T00:05:00.000Z#cv_1"}
    entry = keys.retention_due("cv_1", "sms", "2026-01-01T00:00:00.000Z")
    assert entry == {"pk": "CONV#cv_1", "sk": "DUE#retention", "due_pk": "DUE#retention#sms",
                     "due_sk": "2026-01-01T00:00:00.000Z#cv_1"}


def test_suppression_keeps_no_address_in_the_clear():
    key = keys.suppression(" Ann@Example.com ")
    assert "ann" not in key["pk"].lower() and key == keys.suppression("ann@example.com")


# -- contacts and search (issue 14) ------------------------------------------------------------
def test_a_word_s_conversations_sort_newest_first_by_their_time_ordered_ids():
    from switchboard import clock, ids

    older = ids.new_id("cv_")
    clock.advance(2)
    try:
        newer = ids.new_id("cv_")
    finally:
        clock.reset()
    assert keys.search_term("refund", older)["pk"] == "TERM#refund"
    assert keys.search_term("refund", newer)["sk"] > keys.search_term("refund", older)["sk"]


def test_contact_terms_sort_exact_first_then_newest_contact_first():
    from switchboard import clock, ids

    old = ids.new_id("ct_")
    clock.advance(2)
    try:
        new = ids.new_id("ct_")
    finally:
        clock.reset()
    ann_old, ann_new = keys.contact_term("ann", old), keys.contact_term("ann", new)
    anna = keys.contact_term("anna", old)
    assert ann_old["pk"] == ann_new["pk"] == anna["pk"] == "CTERM#an"
    assert ann_new["sk"] < ann_old["sk"] < anna["sk"]
    assert keys.contact_term("anna", "ct_bench0000001")["sk"].startswith("anna#")  # any id is accepted


def test_the_directory_is_a_sparse_partition_of_gsi2():
    assert keys.contact_activity("2026-01-01T00:00:00.000Z", "ct_1") == {
        "gsi2pk": "CONTACTS", "gsi2sk": "2026-01-01T00:00:00.000Z#ct_1"}
    assert keys.CONTACTS_BY_ACTIVITY == keys.INBOX_BY_ASSIGNEE
    assert not keys.inbox_assignee_pk("contacts").startswith("CONTACTS")  # agents' partitions never clash

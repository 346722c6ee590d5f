"""bench/cost.py bills global secondary index writes as DynamoDB does: only the indexes an item is in, the entry
each projects, and nothing where the entry did not change."""

from __future__ import annotations

from bench.cost import Index, index_wru, indexes_of


def s(value: str) -> dict[str, str]:
    return {"S": value}


ALL = Index("GSI1", ("gsi1pk", "gsi1sk"))
INCLUDE = Index("CreatedIndex", ("created_pk", "created_sk"), "INCLUDE", frozenset({"status", "expires_at"}))
KEYS_ONLY = Index("MessageIndex", ("msg_id",), "KEYS_ONLY")

META = {"pk": s("CONV#c1"), "sk": s("META"), "gsi1pk": s("STATUS#open"), "gsi1sk": s("t1#c1"),
        "created_pk": s("CREATED#d"), "created_sk": s("t0#c1"), "status": s("open"), "expires_at": {"N": "100"},
        "last_message": {"M": {"text": s("hello")}}}


def test_an_item_entering_an_index_is_one_write_and_a_key_change_two():
    assert index_wru(ALL, None, META) == 1
    assert index_wru(ALL, META, {**META, "gsi1sk": s("t2#c1")}) == 2  # delete the old entry, put the new one
    assert index_wru(ALL, META, {k: v for k, v in META.items() if k != "gsi1pk"}) == 1  # it leaves the index
    assert index_wru(ALL, META, None) == 1


def test_a_sparse_index_is_written_only_for_items_that_have_its_keys():
    message = {"pk": s("CONV#c1"), "sk": s("MSG#t1#m1"), "text": s("hi")}
    assert index_wru(ALL, message, {**message, "text": s("edited")}) == 0
    assert index_wru(KEYS_ONLY, None, {**message, "msg_id": s("m1")}) == 1  # a partition key alone is a key


def test_only_a_change_to_what_an_index_projects_rewrites_its_entry():
    newer = {**META, "last_message": {"M": {"text": s("any news?")}}, "gsi1sk": s("t2#c1")}
    assert index_wru(ALL, META, {**META, "last_message": {"M": {"text": s("any news?")}}}) == 1  # ALL: any change
    assert index_wru(INCLUDE, META, newer) == 0  # neither its keys nor status nor expires_at changed
    assert index_wru(INCLUDE, META, {**newer, "expires_at": {"N": "200"}}) == 1
    assert index_wru(KEYS_ONLY, {**META, "msg_id": s("m")}, {**newer, "msg_id": s("m")}) == 0


def test_an_entry_is_sized_by_what_the_index_projects():
    big = {**META, "thread_refs": s("x" * 2000)}
    assert index_wru(ALL, None, big) == 3
    assert index_wru(INCLUDE, None, big) == 1


def test_indexes_are_read_from_the_template_as_declared():
    from bench.harness import template

    table = next(r for r in template()["Resources"].values() if r.get("Type") == "AWS::DynamoDB::Table")
    indexes = {i.name: i for i in map(indexes_of, table["Properties"]["GlobalSecondaryIndexes"])}
    assert indexes["MessageIndex"].keys == ("msg_id",) and indexes["MessageIndex"].projection == "KEYS_ONLY"
    assert indexes["CreatedIndex"].projection == "INCLUDE" and "expires_at" in indexes["CreatedIndex"].non_key
    assert indexes["GSI1"].keys == ("gsi1pk", "gsi1sk") and indexes["GSI1"].projection == "ALL"

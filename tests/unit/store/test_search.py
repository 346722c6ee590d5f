"""store/search.py: a contact an agent creates, when its transaction's first try landed and its answer was lost."""

from __future__ import annotations

from switchboard.store import keys, search
from switchboard.store.table import Table

OWNED = [("email:zoe@example.se", "email", "zoe@example.se"), ("phone:+46701234567", "sms", "+46701234567")]


def create(table: Table, contact_id: str) -> tuple[str, str] | None:
    return search.create_contact(table, contact_id, "Zoë", "zoe@example.se", "+46701234567", OWNED,
                                 "2026-12-04T10:00:00Z")


def test_a_retry_of_a_creation_that_landed_is_created_not_a_conflict(table):
    assert create(table, "ct_1") is None
    assert create(table, "ct_1") is None  # the same contact's retry: its identities are its own
    assert {table.get(keys.identity(identity))["contact_id"] for identity, _, _ in OWNED} == {"ct_1"}


def test_an_address_of_another_contact_is_a_conflict_naming_it(table):
    assert create(table, "ct_1") is None
    assert create(table, "ct_2") == ("email:zoe@example.se", "ct_1")
    assert search.profile(table, "ct_2") is None  # nothing of the refused contact was written


def test_one_address_of_its_own_and_one_of_another_is_a_conflict(table):
    search.create_contact(table, "ct_other", None, None, "+46701234567", OWNED[1:], "2026-12-04T09:00:00Z")
    assert create(table, "ct_1") == ("phone:+46701234567", "ct_other")

"""Inboxes and teams (issue 14) without AWS: which addresses are the business's by configuration, inbox ids and
InboxIndex keys, and which inboxes a conversation list is limited to."""

from __future__ import annotations

import pytest

from switchboard import ids
from switchboard.models import Inbox, Team
from switchboard.services import inboxes
from switchboard.store import keys


@pytest.mark.parametrize(("channel", "address", "known"), [
    ("email", "anything@support.example.com", True),  # the email function serves only the configured domains
    ("telegram", "123456", True),  # the bot: our own token's id
    ("telegram", "business:BC1", False),  # anyone can connect a business account to a bot
    ("webchat", "default", True),
    ("webchat", "shop", False),  # anyone can name any widget id
    ("whatsapp", "200000000000002", True), ("whatsapp", "200000000000003", False),  # WHATSAPP_PHONE_NUMBER_ID
    ("sms", "+15550001111", True), ("sms", "+15550002222", False),  # SMS_FROM_NUMBER
    ("messenger", "PAGE1", False), ("instagram", "IG1", False),  # adopted on first use, never by configuration
])
def test_what_is_the_business_s_by_configuration(settings_env, channel, address, known):
    settings_env(WHATSAPP_PHONE_NUMBER_ID="200000000000002", SMS_FROM_NUMBER="+15550001111")
    assert inboxes.configured(channel, address) is known


def test_without_configured_numbers_no_whatsapp_or_sms_number_is_the_business_s_by_configuration(settings_env):
    settings_env(WHATSAPP_PHONE_NUMBER_ID="", SMS_FROM_NUMBER="")
    assert not inboxes.configured("whatsapp", "") and not inboxes.configured("sms", "+15550001111")
    assert inboxes.configured_address("whatsapp") is None


def test_an_inbox_id_is_derived_from_channel_and_address():
    assert ids.inbox_id("whatsapp", "200000000000002") == ids.inbox_id("whatsapp", "200000000000002")
    assert ids.inbox_id("whatsapp", "1") != ids.inbox_id("sms", "1")
    assert ids.inbox_id("messenger", "PAGE1").startswith("ib_") and "#" not in ids.inbox_id("messenger", "PAGE1")


def test_inbox_index_sort_keys_keep_each_inbox_in_one_range_newest_last():
    a, b = ids.inbox_id("whatsapp", "1"), ids.inbox_id("whatsapp", "2")
    older = keys.inbox_scope_sk(a, "2026-01-01T00:00:00.000Z", "cv_1")
    newer = keys.inbox_scope_sk(a, "2026-01-02T00:00:00.000Z", "cv_0")
    assert older < newer and older.startswith(keys.inbox_scope_prefix(a)) and newer.startswith(keys.inbox_scope_prefix(a))
    assert not keys.inbox_scope_sk(b, "2026-01-01T00:00:00.000Z", "cv_1").startswith(keys.inbox_scope_prefix(a))
    assert older.endswith(keys.inbox_sort("2026-01-01T00:00:00.000Z", "cv_1"))  # GSI1's sort key: merged views


@pytest.fixture
def directory(monkeypatch):
    made = "2026-01-01T00:00:00.000Z"
    boxes = [Inbox(id="ib_a", channel="email", address="billing@x", team="tm_billing", created_at=made),
             Inbox(id="ib_b", channel="whatsapp", address="1", team="tm_billing", created_at=made),
             Inbox(id="ib_c", channel="sms", address="+1", team="tm_sales", created_at=made),
             Inbox(id="ib_d", channel="webchat", address="default", created_at=made)]
    teams = [Team(id="tm_billing", name="Billing", members=["ann@example.com"], created_at=made),
             Team(id="tm_sales", name="Sales", members=["ann@example.com", "bob@example.com"], created_at=made)]
    monkeypatch.setattr(inboxes, "directory", lambda table=None, fresh=False: (boxes, teams))


def test_a_list_is_limited_to_an_inbox_a_team_s_inboxes_or_the_caller_s_teams(directory):
    scope = lambda inbox, team, caller="ann@example.com": inboxes.scope(None, inbox, team, caller)  # noqa: E731
    assert scope(None, None) is None  # no limit
    assert scope("ib_c", None) == ["ib_c"]
    assert scope("ib_unknown", None) == ["ib_unknown"]  # an inbox from before inboxes were listed still filters
    assert scope(None, "tm_billing") == ["ib_a", "ib_b"]
    assert scope(None, "mine", "Bob@Example.com") == ["ib_c"]
    assert scope(None, "mine") == ["ib_a", "ib_b", "ib_c"]
    assert scope(None, "mine", "cid@example.com") == []  # in no team: nothing
    assert scope("ib_a", "tm_billing") == ["ib_a"] and scope("ib_a", "tm_sales") == []
    assert scope(None, "tm_missing") == []

"""Required infrastructure settings fail at their first use, naming the variable."""

from __future__ import annotations

import pytest

from switchboard.settings import get_settings
from switchboard.settings_model import MissingSetting


@pytest.mark.parametrize("variable, field", [("TABLE_NAME", "table_name"), ("MEDIA_BUCKET", "media_bucket"),
                                             ("INBOUND_QUEUE_URL", "inbound_queue_url"),
                                             ("OUTBOUND_QUEUE_URL", "outbound_queue_url")])
def test_a_missing_infrastructure_setting_fails_at_first_use_naming_its_variable(monkeypatch, variable, field):
    # Given a function whose environment lacks the variable
    monkeypatch.delenv(variable)
    get_settings.cache_clear()
    settings = get_settings()  # reading the other settings still works
    # When the code needs it, Then it fails naming the variable
    with pytest.raises(MissingSetting, match=variable):
        getattr(settings, field)


def test_a_set_infrastructure_setting_is_read(settings_env):
    settings_env(TABLE_NAME="the-table")
    assert get_settings().table_name == "the-table"


def test_the_table_needs_its_name(monkeypatch):
    from switchboard.store.table import Table

    monkeypatch.delenv("TABLE_NAME")
    get_settings.cache_clear()
    with pytest.raises(MissingSetting, match="TABLE_NAME"):
        Table()

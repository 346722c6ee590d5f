"""Store tests: a fresh table built from template.yaml in moto (in-process, no network), and the Table on it."""

from __future__ import annotations

import pytest

from switchboard.store.table import Table
from tests.support.dynamodb import template_table


@pytest.fixture
def table():
    with template_table():
        yield Table()

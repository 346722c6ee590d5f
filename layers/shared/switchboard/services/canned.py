"""Canned responses: the team's saved replies, unique by shortcut."""

from __future__ import annotations

from typing import Any

from switchboard.store import canned
from switchboard.store.table import Table


def list_all(table: Table) -> list[dict[str, Any]]:
    """Every canned response, by shortcut."""
    return canned.list_all(table)


def create(table: Table, shortcut: str, text: str, by: str) -> dict[str, Any]:
    """Conflict when the shortcut is taken."""
    return canned.create(table, shortcut, text, by)


def delete(table: Table, canned_id: str) -> None:
    canned.delete(table, canned_id)

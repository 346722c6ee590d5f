"""Canned responses: the team's saved replies, unique by shortcut.

Texts may hold variables (`{{contact.first_name}}`...), filled by the agents' app when a response is inserted, from
the conversation on screen; an unknown variable is refused when saving, so that no customer ever reads a literal
`{{contact.frist_name}}`. Everyone sees every response; only its author or an admin may change or delete it."""

from __future__ import annotations

import re
from typing import Any

from switchboard.errors import BadRequest, Forbidden
from switchboard.store import canned
from switchboard.store.table import Table

# The variables a canned text may hold, and what each is filled with (documented in the API and the README).
VARIABLES: dict[str, str] = {
    "contact.name": "the customer's name (or what they are known by: their number, address or handle)",
    "contact.first_name": "the first word of the customer's name",
    "contact.last_name": "the rest of the customer's name",
    "contact.email": "the customer's email address",
    "contact.phone": "the customer's phone number",
    "agent.name": "the agent's name (their address's local part, capitalized: ann.lee@ → Ann Lee)",
    "agent.email": "the agent's email address",
    "conversation.id": "the conversation's id (a reference the customer can quote)",
    "conversation.channel": "the channel's name (WhatsApp, SMS, Email...)",
    # help center: one variable per article, named by its slug (checked to exist when saved)
    "article.<slug>": "the public link of the help center article with that slug ({{article.returns}})",
}
ARTICLE_VARIABLE = re.compile(r"^article\.([a-z0-9]+(?:-[a-z0-9]+)*)$")
VARIABLE = re.compile(r"\{\{\s*(.*?)\s*\}\}")


def check_variables(text: str) -> None:
    fixed = VARIABLES.keys() - {"article.<slug>"}
    unknown = sorted(n for n in {m.group(1) for m in VARIABLE.finditer(text)} - fixed if not ARTICLE_VARIABLE.match(n))
    if unknown:
        raise BadRequest(f"unknown variable(s) {', '.join('{{' + u + '}}' for u in unknown)}; known: "
                         f"{', '.join('{{' + v + '}}' for v in VARIABLES)}", code="unknown_variable")


def check_articles(table: Table, text: str) -> None:
    """Every {{article.<slug>}} names an article (help center): a link that goes nowhere is refused when saved."""
    from switchboard.store import articles

    slugs = sorted({m.group(1) for v in VARIABLE.finditer(text) if (m := ARTICLE_VARIABLE.match(v.group(1)))})
    missing = [slug for slug in slugs if articles.slug_owner(table, slug) is None]
    if missing:
        raise BadRequest(f"no help center article has the slug {', '.join(missing)}", code="unknown_article")


def list_all(table: Table) -> list[dict[str, Any]]:
    """Every canned response, by shortcut."""
    return canned.list_all(table)


def create(table: Table, shortcut: str, text: str, by: str) -> dict[str, Any]:
    """Conflict when the shortcut is taken; BadRequest for an unknown variable."""
    check_variables(text)
    check_articles(table, text)
    return canned.create(table, shortcut, text, by)


def _may_change(item: dict[str, Any], who: str, admin: bool) -> None:
    if not admin and str(item.get("created_by") or "").lower() != who.lower():
        raise Forbidden("only its author or an admin may change or delete a canned response", code="not_author")


def update(table: Table, canned_id: str, shortcut: str | None, text: str | None, who: str,
           admin: bool = False) -> dict[str, Any]:
    if shortcut is None and text is None:
        raise BadRequest("nothing to change", code="empty_patch")
    if text is not None:
        check_variables(text)
        check_articles(table, text)
    item = canned.get(table, canned_id)
    _may_change(item, who, admin)
    return canned.update(table, item, shortcut, text, who)


def delete(table: Table, canned_id: str, who: str | None = None, admin: bool = True) -> None:
    """`who`: the caller; only the author or an admin may delete (None: no check, for internal callers)."""
    if who is not None:
        _may_change(canned.get(table, canned_id), who, admin)
    canned.delete(table, canned_id)

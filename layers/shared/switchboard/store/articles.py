"""Help center articles: working copies (ARTICLES partition), slugs unique across locales, the published snapshots
the static pages are built from (HELPPUB partition), and the counts readers leave (lifetime totals per article,
daily aggregates per month, searches that found nothing). Every write of an article is one transaction, conditional
on the version read, so that two editors never overwrite each other unseen."""

from __future__ import annotations

from datetime import date
from typing import Any

from switchboard import clock, ids
from switchboard.errors import Conflict, NotFound, ServiceUnavailable
from switchboard.store import keys
from switchboard.store.table import ConditionFailed, Table

FIELDS = ("title", "body", "category", "locale", "slug")
COUNTERS = ("views", "helpful", "not_helpful", "widget_opens", "chats_after")
STATS_DAYS = 400  # daily aggregates and failed searches are kept this long (TTL), the reports' longest range
MAX_ARTICLES = 2000


def new_id() -> str:
    return ids.new_id("a_")


def get(table: Table, article_id: str) -> dict[str, Any]:
    item = table.get(keys.article(article_id), consistent=True) if article_id.startswith("a_") else None
    if not item:
        raise NotFound(f"article {article_id} not found")
    return item


def list_all(table: Table) -> list[dict[str, Any]]:
    """Every article (one partition, newest edit first)."""
    items = table.query_all("pk = :pk AND begins_with(sk, :a)", {":pk": keys.ARTICLES_PK, ":a": keys.ARTICLE_PREFIX},
                            cap=MAX_ARTICLES)
    return sorted(items, key=lambda i: i.get("updated_at", ""), reverse=True)


def slug_owner(table: Table, slug: str) -> str | None:
    item = table.get(keys.article_slug(slug))
    return str(item["article_id"]) if item else None


def _claim(slug: str, article_id: str) -> dict[str, Any]:
    return {"Put": {"Item": {**keys.article_slug(slug), "type": "article_slug", "article_id": article_id},
                    "ConditionExpression": "attribute_not_exists(pk) OR article_id = :id",
                    "ExpressionAttributeValues": {":id": article_id}}}


def _release(slug: str, article_id: str) -> dict[str, Any]:
    return {"Delete": {"Key": keys.article_slug(slug), "ConditionExpression": "attribute_not_exists(pk) OR article_id = :id",
                       "ExpressionAttributeValues": {":id": article_id}}}


def _transact(table: Table, actions: list[dict[str, Any]], slug_index: int | None, slug: str | None) -> None:
    try:
        table.transact(actions)
    except ConditionFailed as exc:
        if slug_index is not None and len(exc.reasons) > slug_index and exc.reasons[slug_index] == "ConditionalCheckFailed":
            raise Conflict(f"another article has the slug {slug!r}", code="slug_taken") from None
        raise Conflict("the article changed meanwhile (or was deleted): reload and try again",
                       code="article_changed") from None


def create(table: Table, fields: dict[str, Any], by: str) -> dict[str, Any]:
    article_id = new_id()
    now = clock.iso(clock.now())
    item = {**keys.article(article_id), "type": "article", "id": article_id, **{f: fields[f] for f in FIELDS},
            "status": "draft", "version": 1, "created_by": by, "created_at": now, "updated_by": by, "updated_at": now}
    _transact(table, [_claim(fields["slug"], article_id),
                      {"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}], 0, fields["slug"])
    return item


def update(table: Table, item: dict[str, Any], changes: dict[str, Any], by: str) -> dict[str, Any]:
    """Save edits to the working copy as read (`item`): the public pages change only when it is published."""
    new = {**item, **changes, "version": int(item["version"]) + 1, "updated_by": by,
           "updated_at": clock.iso(clock.now())}
    sets = {f: new[f] for f in (*FIELDS, "version", "updated_by", "updated_at")}
    names = {f"#f{i}": name for i, name in enumerate(sets)}
    vals: dict[str, Any] = {f":f{i}": value for i, value in enumerate(sets.values())} | {":v": int(item["version"])}
    actions: list[dict[str, Any]] = [{"Update": {
        "Key": keys.article(item["id"]), "UpdateExpression": "SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(sets))),
        "ConditionExpression": "version = :v", "ExpressionAttributeNames": names, "ExpressionAttributeValues": vals}}]
    slug_index = None
    if new["slug"] != item["slug"]:
        slug_index = len(actions)
        actions.append(_claim(new["slug"], item["id"]))
        if item["slug"] != item.get("published_slug"):  # the public page keeps its slug until published again
            actions.append(_release(item["slug"], item["id"]))
    _transact(table, actions, slug_index, new["slug"])
    return new


def publish(table: Table, item: dict[str, Any], by: str) -> dict[str, Any]:
    """Make the working copy (as read) the public one: the snapshot the pages are built from, the article's status,
    and its counters opened to readers. A slug the public page had before, if changed, is released."""
    now = clock.iso(clock.now())
    snapshot = {**keys.published_article(item["id"]), "type": "published_article", "id": item["id"],
                **{f: item[f] for f in FIELDS}, "published_at": now, "published_by": by, "version": item["version"]}
    actions: list[dict[str, Any]] = [
        {"Update": {"Key": keys.article(item["id"]),
                    "UpdateExpression": "SET #s = :p, published_at = :now, published_by = :by, published_version = :v, "
                                        "published_slug = :slug",
                    "ConditionExpression": "version = :v", "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":p": "published", ":now": now, ":by": by, ":v": int(item["version"]),
                                                  ":slug": item["slug"]}}},
        {"Put": {"Item": snapshot}},
        {"Update": {"Key": keys.article_stats(item["id"]), "UpdateExpression": "SET published = :t, article_id = :id",
                    "ExpressionAttributeValues": {":t": True, ":id": item["id"]}}},
    ]
    old = item.get("published_slug")
    if old and old != item["slug"]:
        actions.append(_release(old, item["id"]))
    _transact(table, actions, None, None)
    return {**item, "status": "published", "published_at": now, "published_by": by,
            "published_version": item["version"], "published_slug": item["slug"]}


def unpublish(table: Table, item: dict[str, Any], by: str) -> dict[str, Any]:
    now = clock.iso(clock.now())
    actions: list[dict[str, Any]] = [
        {"Update": {"Key": keys.article(item["id"]),
                    "UpdateExpression": "SET #s = :d, updated_by = :by, unpublished_at = :now "
                                        "REMOVE published_version, published_slug",
                    "ConditionExpression": "version = :v", "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":d": "draft", ":by": by, ":now": now, ":v": int(item["version"])}}},
        {"Delete": {"Key": keys.published_article(item["id"])}},
        {"Update": {"Key": keys.article_stats(item["id"]), "UpdateExpression": "SET published = :f",
                    "ExpressionAttributeValues": {":f": False}}},
    ]
    old = item.get("published_slug")
    if old and old != item["slug"]:
        actions.append(_release(old, item["id"]))
    _transact(table, actions, None, None)
    out = {**item, "status": "draft", "unpublished_at": now}
    out.pop("published_version", None)
    out.pop("published_slug", None)
    return out


def delete(table: Table, item: dict[str, Any]) -> None:
    actions: list[dict[str, Any]] = [
        {"Delete": {"Key": keys.article(item["id"]), "ConditionExpression": "version = :v",
                    "ExpressionAttributeValues": {":v": int(item["version"])}}},
        {"Delete": {"Key": keys.published_article(item["id"])}},
        {"Delete": {"Key": keys.article_stats(item["id"])}},
        _release(item["slug"], item["id"]),
    ]
    old = item.get("published_slug")
    if old and old != item["slug"]:
        actions.append(_release(old, item["id"]))
    _transact(table, actions, None, None)


def published_all(table: Table) -> list[dict[str, Any]]:
    """Every published snapshot (what the publisher builds the whole help center from)."""
    return table.query_all("pk = :pk AND begins_with(sk, :a)",
                           {":pk": keys.HELP_PUBLISHED_PK, ":a": keys.ARTICLE_PREFIX}, cap=MAX_ARTICLES)


# -- counts ----------------------------------------------------------------------------------------
def stats(table: Table, article_id: str) -> dict[str, int]:
    item = table.get(keys.article_stats(article_id)) or {}
    return {name: int(item.get(name, 0)) for name in COUNTERS}


def count(table: Table, article_id: str, counters: dict[str, int]) -> bool:
    """Count readers' events of a published article: its lifetime totals (only while it is published: the condition
    is the check, no read), then the day's aggregate. False when the article is not published (nothing counted)."""
    names = {f"#c{i}": name for i, name in enumerate(counters)}
    vals: dict[str, Any] = {f":c{i}": value for i, value in enumerate(counters.values())}
    added = ", ".join(f"#c{i} :c{i}" for i in range(len(counters)))
    try:
        table.update(keys.article_stats(article_id), f"ADD {added}", names=names,
                     vals=vals | {":t": True}, condition="published = :t")
    except ConditionFailed:
        return False
    day = clock.now().date().isoformat()
    try:  # the day's aggregate: best effort, as the metrics are (the total above is already counted)
        table.update(keys.help_stats(day, article_id), f"ADD {added} SET article_id = :id, #d = :day, expires_at = :exp",
                     names=names | {"#d": "day"},
                     vals=vals | {":id": article_id, ":day": day, ":exp": clock.epoch() + STATS_DAYS * 86400})
    except ServiceUnavailable:
        pass
    return True


def count_failed_search(table: Table, query: str) -> None:
    day = clock.now().date().isoformat()
    table.update(keys.failed_search(day, query), "ADD #n :one SET q = :q, expires_at = :exp", names={"#n": "count"},
                 vals={":one": 1, ":q": query, ":exp": clock.epoch() + STATS_DAYS * 86400})


def _months(first: date, last: date) -> list[str]:
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _between(table: Table, pk_of: Any, first: date, last: date) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for month in _months(first, last):
        found += table.query_all("pk = :pk AND sk BETWEEN :a AND :b",
                                 {":pk": pk_of(month), ":a": first.isoformat(), ":b": last.isoformat() + "#\uffff"})
    return found


def daily_stats(table: Table, first: date, last: date) -> list[dict[str, Any]]:
    """The articles' daily aggregates in a range: one Query per month."""
    return _between(table, keys.help_stats_pk, first, last)


def failed_searches(table: Table, first: date, last: date) -> list[dict[str, Any]]:
    return _between(table, keys.failed_searches_pk, first, last)

"""Help center articles for agents and admins: agents write (drafts, and edits of published articles, which stay
unseen until published again), admins publish, unpublish and delete published ones. Every change to what is public
queues the publisher (services/help_publish.py), which rebuilds the static pages from the table: the API answers at
once, and a rerun of the publisher is harmless."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from typing import Any

from switchboard import aws, clock
from switchboard.errors import BadRequest, Forbidden, ServiceUnavailable
from switchboard.services import help_render
from switchboard.settings import get_settings
from switchboard.store import articles
from switchboard.store.table import Table

PUBLISH_GROUP = "help"
REPORT_DAYS = 30
MAX_REPORT_DAYS = 400
MAX_FAILED_SEARCHES = 50


# -- validation ------------------------------------------------------------------------------------
def _text(name: str, value: Any, limit: int, *, required: bool = True) -> str:
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        raise BadRequest(f"{name}: {'1 to ' if required else 'at most '}{limit} characters", code="invalid_article")
    if any(ord(c) < 32 and c not in "\n\r\t" for c in value) or any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise BadRequest(f"{name}: control characters are not allowed", code="invalid_article")
    return value


def clean(fields: dict[str, Any], current: dict[str, Any] | None = None) -> dict[str, Any]:
    """The article's fields checked (BadRequest naming the field), with what is missing from `current` or derived:
    a slug from the title, the help center's default locale, the category "General"."""
    out: dict[str, Any] = {}
    if "title" in fields or current is None:
        out["title"] = " ".join(_text("title", fields.get("title"), help_render.MAX_TITLE).split())
    if "body" in fields or current is None:
        out["body"] = _text("body", fields.get("body", ""), help_render.MAX_BODY, required=False)
    if "category" in fields or current is None:
        category = fields.get("category") or "General"
        out["category"] = " ".join(_text("category", category, help_render.MAX_CATEGORY).split())
    if "locale" in fields or current is None:
        locale = fields.get("locale") or _default_locale()
        if not isinstance(locale, str) or not help_render.LOCALE.match(locale.lower()):
            raise BadRequest("locale: a language tag such as en or pt-br", code="invalid_article")
        out["locale"] = locale.lower()
    if "slug" in fields or current is None:
        slug = fields.get("slug") or help_render.slugify(out.get("title") or (current or {}).get("title", ""))
        if not isinstance(slug, str) or not help_render.SLUG.match(slug) or len(slug) > help_render.MAX_SLUG:
            raise BadRequest("slug: lower-case letters, digits and single hyphens (my-article)", code="invalid_article")
        if slug in help_render.RESERVED_SLUGS:
            raise BadRequest(f"slug: {slug!r} is reserved", code="invalid_article")
        out["slug"] = slug
    return out


def _default_locale() -> str:
    from switchboard.services import automation_config

    try:
        return automation_config.load(Table()).help_center.default_locale
    except ServiceUnavailable:
        return "en"


def _check_status(status: Any) -> str | None:
    if status is not None and status not in ("draft", "published"):
        raise BadRequest('status: "draft" or "published"', code="invalid_article")
    return status


# -- what the API returns --------------------------------------------------------------------------
def public_url(item: dict[str, Any]) -> str | None:
    """Where the published page is (None for a draft)."""
    if item.get("status") != "published":
        return None
    base = get_settings().help_site_url.rstrip("/")
    return f"{base}/{item['locale']}/{item.get('published_slug') or item['slug']}"


def view(item: dict[str, Any], counts: dict[str, int] | None = None, *, body: bool = True) -> dict[str, Any]:
    out = {name: item.get(name) for name in ("id", "title", "category", "locale", "slug", "status", "created_by",
                                             "created_at", "updated_by", "updated_at", "published_at", "published_by")}
    out["version"] = int(item.get("version", 1))
    out["url"] = public_url(item)
    out["unpublished_changes"] = item.get("status") == "published" and item.get("published_version") != item.get("version")
    if body:
        out["body"] = item.get("body", "")
    if counts is not None:
        out |= {"views": counts["views"], "helpful": counts["helpful"], "not_helpful": counts["not_helpful"]}
    return out


# -- routes' logic ---------------------------------------------------------------------------------
def list_articles(table: Table, q: str | None = None, status: str | None = None,
                  locale: str | None = None) -> list[dict[str, Any]]:
    """Every article, newest edit first; `q` keeps those whose title or words match (the composer's search)."""
    items = articles.list_all(table)
    if status:
        items = [i for i in items if i.get("status") == _check_status(status)]
    if locale:
        items = [i for i in items if i.get("locale") == locale.lower()]
    if q and q.strip():
        entries = [{"title": i["title"], "terms": help_render.terms(i["title"], help_render.plain_text(i.get("body", ""))),
                    "item": i} for i in items]
        items = [e["item"] for e in help_render.search(entries, q, limit=20)]
    return [view(i, body=False) | {"snippet": help_render.shorten(help_render.plain_text(i.get("body", "")), 160)}
            for i in items]


def get(table: Table, article_id: str) -> dict[str, Any]:
    return view(articles.get(table, article_id), articles.stats(table, article_id))


def create(table: Table, fields: dict[str, Any], who: str, admin: bool) -> dict[str, Any]:
    status = _check_status(fields.get("status"))
    if status == "published" and not admin:
        raise Forbidden("only admins publish: save it as a draft", code="admins_publish")
    item = articles.create(table, clean(fields), who)
    if status == "published":
        item = articles.publish(table, item, who)
    # A draft changes no page; the rebuild (which then writes nothing, or only the first time the help center's
    # assets) makes sure the stylesheets the preview links to exist from the first article on.
    request_publish("publish" if status == "published" else "draft", item["id"])
    return view(item, {c: 0 for c in articles.COUNTERS})


def update(table: Table, article_id: str, fields: dict[str, Any], who: str, admin: bool) -> dict[str, Any]:
    """Edits (anyone), then the status (admins): "published" publishes the working copy as saved, "draft" takes the
    article off the help center."""
    item = articles.get(table, article_id)
    status = _check_status(fields.get("status"))
    if status is not None and status != item["status"] and not admin:
        raise Forbidden("only admins publish and unpublish", code="admins_publish")
    if status == "published" and not admin and item["status"] == "published" and _edits(fields):
        raise Forbidden("only admins publish: leave status out to save your edits", code="admins_publish")
    changes = {k: v for k, v in clean(fields, item).items() if item.get(k) != v}
    if not changes and status is None:
        raise BadRequest("nothing to change", code="empty_patch")
    if changes:
        item = articles.update(table, item, changes, who)
    if status == "published" and (item["status"] != "published" or item.get("published_version") != item["version"]):
        item = articles.publish(table, item, who)
        request_publish("publish", item["id"])
    elif status == "draft" and item["status"] == "published":
        item = articles.unpublish(table, item, who)
        request_publish("unpublish", item["id"])
    return view(item, articles.stats(table, article_id))


def _edits(fields: dict[str, Any]) -> bool:
    return any(k in fields for k in articles.FIELDS)


def delete(table: Table, article_id: str, who: str, admin: bool) -> None:
    item = articles.get(table, article_id)
    if item["status"] == "published" and not admin:
        raise Forbidden("a published article is deleted by an admin (or unpublished first)", code="admins_publish")
    articles.delete(table, item)
    from switchboard.services import help_images

    help_images.delete_all(article_id)
    if item["status"] == "published":
        request_publish("delete", article_id)


def preview(fields: dict[str, Any], article_id: str | None = None) -> str:
    """The page exactly as it would be published, built by the same function, with the draft's own images through
    short-lived links (they are not public yet)."""
    from switchboard.services import automation_config, help_images, help_publish

    cleaned = clean({k: v for k, v in fields.items() if k in articles.FIELDS})
    look = automation_config.load(Table()).help_center
    site = help_publish.site(look, (cleaned["locale"],))
    article = help_render.Article(id=article_id or "preview", **cleaned)
    return help_render.article_page(site, article, image_src=help_images.preview_url, preview=True)


def request_publish(reason: str, article_id: str | None = None) -> None:
    """Queue a rebuild of the public help center (FIFO, one group: rebuilds run one at a time, in order)."""
    from botocore.exceptions import BotoCoreError, ClientError

    body = json.dumps({"reason": reason, "article_id": article_id, "at": clock.iso(clock.now())})
    try:
        aws.sqs().send_message(QueueUrl=get_settings().help_publish_queue_url, MessageBody=body,
                               MessageGroupId=PUBLISH_GROUP, MessageDeduplicationId=uuid.uuid4().hex)
    except (BotoCoreError, ClientError) as exc:
        raise ServiceUnavailable("the help center could not be queued for publishing: retry") from exc


# -- report ----------------------------------------------------------------------------------------
def report(table: Table, from_: str | None, to: str | None) -> dict[str, Any]:
    """Per article: views, helpful, not helpful, opens from the widget and chats after one, in the range; and the
    searches that found nothing, most asked first."""
    try:
        last = date.fromisoformat(to) if to else clock.now().date()
        first = date.fromisoformat(from_) if from_ else last - timedelta(days=REPORT_DAYS - 1)
    except ValueError:
        raise BadRequest("from and to are dates (YYYY-MM-DD)", code="invalid_range") from None
    if first > last or (last - first).days >= MAX_REPORT_DAYS:
        raise BadRequest(f"from must not be after to, and the range at most {MAX_REPORT_DAYS} days",
                         code="invalid_range")
    titles = {i["id"]: i["title"] for i in articles.list_all(table)}
    totals: dict[str, dict[str, int]] = {}
    for item in articles.daily_stats(table, first, last):
        row = totals.setdefault(item["article_id"], {c: 0 for c in articles.COUNTERS})
        for name in articles.COUNTERS:
            row[name] += int(item.get(name, 0))
    items = [{"id": aid, "title": titles.get(aid, "(deleted)"), **row} for aid, row in totals.items()]
    items.sort(key=lambda r: (-r["views"], r["title"]))
    searches: dict[str, int] = {}
    for item in articles.failed_searches(table, first, last):
        searches[item["q"]] = searches.get(item["q"], 0) + int(item.get("count", 0))
    failed = [{"q": q, "count": n} for q, n in sorted(searches.items(), key=lambda s: (-s[1], s[0]))]
    opened = sum(r["widget_opens"] for r in items)
    chats = min(opened, sum(r["chats_after"] for r in items))
    least = sorted((r for r in items if r["helpful"] + r["not_helpful"]),
                   key=lambda r: (r["helpful"] / (r["helpful"] + r["not_helpful"]), -r["not_helpful"]))
    return {"from": first.isoformat(), "to": last.isoformat(), "items": items,
            "least_helpful": [r["id"] for r in least[:10]],
            "failed_searches": failed[:MAX_FAILED_SEARCHES],
            "deflection": {"opened_from_widget": opened, "chat_after_opening": chats, "deflected": opened - chats}}

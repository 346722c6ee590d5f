"""The help center's public side, with no sign-in and no cookies: the widget's suggestions before a chat, readers'
"Was this helpful?", page views (a beacon from the page), and chats started after opening a suggestion. Each is
rate limited per client address (services/ratelimit.py); what visitors type is counted as an anonymous aggregate
when it finds nothing, never logged.

The suggestions read the published search index (`help/<locale>/index.json` in the frontend bucket, the file the
pages' own search box reads): one GetObject, kept in memory a few seconds and then revalidated by its ETag, so a
search costs no read at all most of the time, has no size limit, and needs no copy of the articles in the table."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from switchboard import aws, observability, secrets, tokens
from switchboard.errors import BadRequest, NotFound, ServiceUnavailable
from switchboard.services import help_render, ratelimit
from switchboard.settings import get_settings
from switchboard.store import articles
from switchboard.store.table import Table

INDEX_SECONDS = 10.0
MIN_QUERY = 2
MIN_COUNTED = 3  # shorter failed searches are a word being typed, not a question
MAX_QUERY = 200
ARTICLE_ID = re.compile(r"^a_[0-9a-f]{28}$")
_indexes: dict[str, tuple[float, str, list[dict[str, Any]]]] = {}


def _rate_key() -> bytes:
    """The key client addresses are hashed with in the rate-limit counters: derived from the API function's own
    secret (the survey signing key) for this one purpose."""
    secret = secrets.get("survey_signing_key")
    if not secret:
        raise ServiceUnavailable("no signing key configured")
    return tokens.derive(secret.encode(), b"switchboard help rate limits")


def limit(source_ip: str | None, what: str) -> None:
    address = ratelimit.client_address(source_ip)
    if address is None:
        return
    settings = get_settings()
    per_minute = settings.help_address_searches_per_minute if what == "search" else settings.help_address_events_per_minute
    ratelimit.check(Table(), "help-address", ratelimit.subject(_rate_key(), address),
                    [ratelimit.Limit(what, 60, per_minute)], "requests")


# -- suggestions -----------------------------------------------------------------------------------
def _index(locale: str) -> list[dict[str, Any]]:
    from botocore.exceptions import BotoCoreError, ClientError

    cached = _indexes.get(locale)
    if cached and time.monotonic() - cached[0] < INDEX_SECONDS:
        return cached[2]
    kwargs: dict[str, Any] = {"Bucket": get_settings().frontend_bucket, "Key": f"help/{locale}/index.json"}
    if cached and cached[1]:
        kwargs["IfNoneMatch"] = cached[1]
    try:
        out = aws.s3().get_object(**kwargs)
        entries = json.loads(out["Body"].read()).get("articles") or []
        etag = str(out.get("ETag", ""))
    except ClientError as exc:
        code = aws.error_code(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if cached and (code == "304" or status == 304):
            entries, etag = cached[2], cached[1]
        elif code in ("NoSuchKey", "404", "AccessDenied", "403"):
            entries, etag = [], ""
        else:
            raise ServiceUnavailable("the help center's index could not be read") from exc
    except (BotoCoreError, ValueError) as exc:
        raise ServiceUnavailable("the help center's index could not be read") from exc
    _indexes[locale] = (time.monotonic(), etag, entries)
    return entries


def forget() -> None:
    _indexes.clear()


def suggest(q: str | None, locale: str | None, source_ip: str | None) -> dict[str, Any]:
    """The best three published articles for what a visitor has typed so far. A search that found nothing is
    counted (normalized, capped) for the report: the questions to write articles for."""
    if q is not None and len(q) > MAX_QUERY:
        raise BadRequest(f"q: at most {MAX_QUERY} characters", code="invalid_query")
    limit(source_ip, "search")
    query = help_render.normalize_query(q or "")
    if len(query) < MIN_QUERY:
        return {"items": []}
    from switchboard.services import automation_config

    default = automation_config.load(Table()).help_center.default_locale
    wanted = (locale or "").strip().lower()
    candidates = [c for c in dict.fromkeys([wanted, wanted.split("-")[0], default]) if c and help_render.LOCALE.match(c)]
    entries: list[dict[str, Any]] = []
    for candidate in candidates:
        entries = _index(candidate)
        if entries:
            break
    found = help_render.search(entries, query, limit=3)
    if not found and len(query) >= MIN_COUNTED:
        try:
            articles.count_failed_search(Table(), query)
        except ServiceUnavailable:
            pass  # a count is best effort; the visitor still gets their answer
        observability.count("HelpSearchesFailed")
    return {"items": [{"id": e.get("id"), "title": e.get("title"), "url": e.get("url"), "snippet": e.get("snippet")}
                      for e in found]}


# -- readers' events -------------------------------------------------------------------------------
def _article(value: Any) -> str:
    if not isinstance(value, str) or not ARTICLE_ID.match(value):
        raise BadRequest("article: an article id", code="invalid_article")
    return value


def _count(article_id: str, counters: dict[str, int]) -> None:
    if not articles.count(Table(), article_id, counters):
        raise NotFound("no such published article", code="article_not_found")


def feedback(body: dict[str, Any], source_ip: str | None) -> None:
    """"Was this helpful?": one yes or no, counted in the article's totals and the day's aggregate."""
    limit(source_ip, "event")
    article_id = _article(body.get("article"))
    helpful = body.get("helpful")
    if isinstance(helpful, str) and helpful in ("true", "false"):  # the page's form, without JavaScript
        helpful = helpful == "true"
    if not isinstance(helpful, bool):
        raise BadRequest("helpful: true or false", code="invalid_feedback")
    _count(article_id, {"helpful" if helpful else "not_helpful": 1})


def viewed(body: dict[str, Any], source_ip: str | None) -> None:
    """A page view (the page's beacon); `"source": "widget"` when it was opened from the widget's suggestions."""
    limit(source_ip, "event")
    article_id = _article(body.get("article"))
    source = body.get("source")
    if source not in (None, "page", "widget"):
        raise BadRequest('source: "page" or "widget"', code="invalid_event")
    _count(article_id, {"views": 1, **({"widget_opens": 1} if source == "widget" else {})})


def chat_after(body: dict[str, Any], source_ip: str | None) -> None:
    """A visitor who opened this suggestion still started a chat: not deflected."""
    limit(source_ip, "event")
    _count(_article(body.get("article")), {"chats_after": 1})

"""The help center's one renderer: Markdown to sanitized HTML, and every static page, the search index and the
theme built from it. The publisher writes what this returns; the agents' preview shows the very same page.

Markdown is parsed by markdown-it-py (CommonMark, raw HTML off: a `<script>` typed in an article is text), and its
HTML is then cleaned by nh3 (the ammonia sanitizer) with an allow-list: no script, style, iframe, SVG or form, no
event handlers, links only to http(s), mailto and the page itself, images only from https, the help center's own
images, or raster data: URIs. An article is content, never code, for the agents' app and the visitors alike."""

from __future__ import annotations

import html
import json
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from switchboard.automation_settings import HelpCenterSettings

MAX_TITLE = 150
MAX_BODY = 100_000
MAX_CATEGORY = 60
MAX_SLUG = 80
MAX_TERMS = 400
SNIPPET = 200
DESCRIPTION = 160
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LOCALE = re.compile(r"^[a-z]{2}(-[a-z]{2})?$")
# Paths of the help center a slug must not take (category pages, images, assets, indexes).
RESERVED_SLUGS = frozenset({"categories", "images", "assets", "index", "search", "feedback", "views", "chats"})
IMAGE_PATH = re.compile(r"^/help/images/(?P<article>a_[0-9a-f]{28})/(?P<image>im_[0-9a-f]{28})\.(?P<ext>png|jpg|gif|webp)$")
SAFE_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]+$")
TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "a", "img", "strong", "em", "code", "pre",
        "blockquote", "hr", "br", "table", "thead", "tbody", "tr", "th", "td", "del", "s"}
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}
WORD = re.compile(r"[0-9a-z]+")
STOPWORDS = frozenset("a an and are as at be by can do does for from how i in is it me my of on or the to what when "
                      "where which who why with you your".split())


# -- Markdown --------------------------------------------------------------------------------------
@cache
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    # "commonmark" with raw HTML off: tags in the text come out escaped, as text. Tables and ~~strike~~ on.
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
        ["table", "strikethrough"])


def _safe_link(value: str) -> bool:
    lowered = "".join(value.split()).lower()  # "java\tscript:" is javascript: to a browser
    if lowered.startswith(("http://", "https://", "mailto:", "#", "/")) and not lowered.startswith("//"):
        return True
    return ":" not in lowered.split("/", 1)[0] and not lowered.startswith("//")  # a relative path, no scheme


def _safe_image(value: str) -> bool:
    lowered = value.strip().lower()
    return (lowered.startswith("https://") or bool(IMAGE_PATH.match(value.strip()))
            or bool(SAFE_DATA_IMAGE.match(value.strip())))


def _attribute_filter(element: str, attribute: str, value: str) -> str | None:
    if element == "a" and attribute == "href":
        return value if _safe_link(value) else None
    if element == "img" and attribute == "src":
        return value if _safe_image(value) else None
    if element == "ol" and attribute == "start":
        return value if value.isdigit() and len(value) < 7 else None
    return value


def sanitize(fragment: str) -> str:
    """Clean HTML with the help center's allow-list (also what the preview and the publisher rely on)."""
    import nh3

    return nh3.clean(fragment, tags=TAGS, attributes=ATTRIBUTES, attribute_filter=_attribute_filter,
                     url_schemes={"http", "https", "mailto", "data"}, link_rel="noopener noreferrer nofollow",
                     strip_comments=True, clean_content_tags={"script", "style", "iframe", "object", "svg", "math",
                                                              "template", "noscript", "textarea", "title"})


def render_markdown(body: str, image_src: Callable[[str], str] | None = None) -> str:
    """An article's Markdown as safe HTML. `image_src` maps the help center's own image paths (the agents' preview
    shows drafts' images through short-lived links); every other attribute is as sanitized."""
    cleaned = sanitize(_markdown().render(body or ""))
    if image_src is None:
        return cleaned

    def swap(match: re.Match[str]) -> str:
        path = html.unescape(match.group(1))
        return f'src="{html.escape(image_src(path))}"' if IMAGE_PATH.match(path) else match.group(0)

    return re.sub(r'src="([^"]*)"', swap, cleaned)


def image_paths(body: str) -> list[str]:
    """The help center's own images an article shows (what publishing copies to the public bucket)."""
    found = re.findall(r'src="([^"]*)"', render_markdown(body))
    return sorted({html.unescape(p) for p in found if IMAGE_PATH.match(html.unescape(p))})


def plain_text(body: str) -> str:
    """The words of an article (no markup), for descriptions, snippets and the search index."""
    rendered = render_markdown(body)
    text = re.sub(r"</?(br|p|h[1-6]|li|ul|ol|tr|td|th|pre|blockquote|hr|table)\b[^>]*>", " ", rendered)
    text = re.sub(r"<[^>]+>", "", text)  # inline markup joins its words as they were
    return " ".join(html.unescape(text).split())


def shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit - 1].rsplit(" ", 1)[0] if " " in text[:limit - 1] else text[:limit - 1]
    return cut.rstrip(" ,.;:") + "…"


# -- words -----------------------------------------------------------------------------------------
def fold(text: str) -> str:
    """Lower case without accents: "Café" and "cafe" are one word to the search."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words(text: str) -> list[str]:
    return WORD.findall(fold(text))


def slugify(text: str) -> str:
    slug = "-".join(words(text))[:MAX_SLUG].strip("-")
    return slug or "article"


def terms(title: str, text: str) -> list[str]:
    """The distinct words of an article (title first), without the commonest ones, at most MAX_TERMS."""
    seen: dict[str, None] = {}
    for word in words(title) + words(text):
        if word not in STOPWORDS and len(word) > 1:
            seen.setdefault(word, None)
        if len(seen) >= MAX_TERMS:
            break
    return list(seen)


def normalize_query(q: str, limit: int = 100) -> str:
    """A visitor's query as it is counted and searched: folded words, single spaces, capped."""
    return " ".join(words(q))[:limit].strip()


# -- search ----------------------------------------------------------------------------------------
def search(entries: Iterable[dict[str, Any]], q: str, limit: int = 3) -> list[dict[str, Any]]:
    """The best `limit` entries of a search index for a query typed so far: every word must match a word of the
    article (the last one may be unfinished: a prefix), title words weigh more; when no article has every word,
    those with the most do."""
    query = [w for w in words(q) if w not in STOPWORDS] or words(q)
    if not query:
        return []
    scored = []
    for entry in entries:
        title = set(words(entry.get("title", "")))
        body = set(entry.get("terms") or ())
        score, matched = 0.0, 0
        for i, word in enumerate(query):
            last = i == len(query) - 1
            best = 0.0
            if word in title:
                best = 3.0
            elif word in body:
                best = 1.5
            elif len(word) >= 2 and (last or len(word) >= 4):
                if any(t.startswith(word) for t in title):
                    best = 2.0
                elif any(t.startswith(word) for t in body):
                    best = 1.0
            if best:
                matched += 1
                score += best
        if matched:
            scored.append((matched == len(query), matched, score, entry))
    scored.sort(key=lambda s: (s[0], s[1], s[2]), reverse=True)
    if scored and scored[0][0]:
        scored = [s for s in scored if s[0]]
    return [s[3] for s in scored[:limit]]


# -- pages -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Article:
    """A published article as the pages show it."""

    id: str
    title: str
    body: str
    category: str
    locale: str
    slug: str
    updated_at: str = ""

    @property
    def category_slug(self) -> str:
        return slugify(self.category or "general")


@dataclass(frozen=True)
class Site:
    """Where the pages live and whom they talk to: the help center's public URL (…/help) and the API's."""

    base_url: str
    api_url: str
    look: HelpCenterSettings
    locales: tuple[str, ...] = field(default_factory=tuple)

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path


def article_path(locale: str, slug: str) -> str:
    return f"/{locale}/{slug}"


def category_path(locale: str, category_slug: str) -> str:
    return f"/{locale}/categories/{category_slug}"


def _e(text: str) -> str:
    return html.escape(text or "", quote=True)


def page(site: Site, locale: str, title: str, description: str, canonical: str, main: str,
         *, article_id: str = "", preview: bool = False) -> str:
    """One whole page: readable without JavaScript; help.js only adds the search box, the feedback without a
    reload and the view count. No inline script or style (the CSP allows neither)."""
    look = site.look
    logo = f'<img class="logo" src="{_e(look.logo_url)}" alt="">' if look.logo_url else ""
    home = site.url(f"/{locale}/")
    langs = "".join(f'<link rel="alternate" hreflang="{_e(loc)}" href="{_e(site.url(f"/{loc}/"))}">'
                    for loc in site.locales if canonical.endswith(("/help/", f"/{locale}/")) and loc != locale)
    data = f' data-article="{_e(article_id)}"' if article_id else ""
    script = "" if preview else f'<script src="{_e(site.url("/assets/help.js"))}" defer></script>'
    search = (f'<form class="search" role="search" action="{_e(home)}" method="get" hidden>'
              f'<label class="visually-hidden" for="q">{_e(look.search_placeholder)}</label>'
              f'<input id="q" name="q" type="search" placeholder="{_e(look.search_placeholder)}" autocomplete="off">'
              f'<ul class="results" hidden></ul></form>')
    return (f'<!doctype html><html lang="{_e(locale)}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{_e(title)}</title><meta name="description" content="{_e(description)}">'
            f'<link rel="canonical" href="{_e(canonical)}">{langs}'
            f'<meta name="referrer" content="strict-origin-when-cross-origin">'
            f'<link rel="stylesheet" href="{_e(site.url("/assets/help.css"))}">'
            f'<link rel="stylesheet" href="{_e(site.url("/assets/theme.css"))}">{script}</head>'
            f'<body data-api="{_e(site.api_url)}" data-index="{_e(site.url(f"/{locale}/index.json"))}"{data}>'
            f'<header class="site"><a class="home" href="{_e(home)}">{logo}<span>{_e(look.name)}</span></a>'
            f'{search}</header><main>{main}</main></body></html>')


def article_page(site: Site, article: Article, *, image_src: Callable[[str], str] | None = None,
                 preview: bool = False) -> str:
    look = site.look
    body = render_markdown(article.body, image_src)
    text = plain_text(article.body)
    category = site.url(category_path(article.locale, article.category_slug))
    crumbs = (f'<nav class="crumbs" aria-label="Breadcrumb"><a href="{_e(site.url(f"/{article.locale}/"))}">'
              f'{_e(look.all_articles)}</a> &rsaquo; <a href="{_e(category)}">'
              f'{_e(article.category or "General")}</a></nav>')
    feedback = (f'<form class="feedback" method="post" action="{_e(site.api_url.rstrip("/") + "/help/feedback")}">'
                f'<input type="hidden" name="article" value="{_e(article.id)}">'
                f'<p id="helpful-q">{_e(look.helpful_question)}</p>'
                f'<button type="submit" name="helpful" value="true" aria-describedby="helpful-q">{_e(look.yes)}</button> '
                f'<button type="submit" name="helpful" value="false" aria-describedby="helpful-q">{_e(look.no)}</button>'
                f'<p class="thanks" hidden data-thanks>{_e(look.thanks)}</p></form>')
    main = f'{crumbs}<article><h1>{_e(article.title)}</h1><div class="body">{body}</div></article>{feedback}'
    canonical = site.url(article_path(article.locale, article.slug))
    return page(site, article.locale, f"{article.title} · {look.name}", shorten(text, DESCRIPTION) or article.title,
                canonical, main, article_id=article.id, preview=preview)


def _list(site: Site, articles: Iterable[Article]) -> str:
    items = "".join(f'<li><a href="{_e(site.url(article_path(a.locale, a.slug)))}">{_e(a.title)}</a>'
                    f'<p>{_e(shorten(plain_text(a.body), SNIPPET))}</p></li>' for a in articles)
    return f'<ul class="articles">{items}</ul>'


def category_page(site: Site, locale: str, category: str, articles: list[Article]) -> str:
    look = site.look
    main = (f'<nav class="crumbs" aria-label="Breadcrumb"><a href="{_e(site.url(f"/{locale}/"))}">'
            f'{_e(look.all_articles)}</a></nav><h1>{_e(category or "General")}</h1>{_list(site, articles)}')
    slug = articles[0].category_slug if articles else slugify(category)
    return page(site, locale, f"{category or 'General'} · {look.name}",
                shorten(f"{category}: " + ", ".join(a.title for a in articles), DESCRIPTION),
                site.url(category_path(locale, slug)), main)


def locale_index(site: Site, locale: str, articles: list[Article], *, canonical: str | None = None) -> str:
    look = site.look
    groups: dict[str, list[Article]] = {}
    for a in articles:
        groups.setdefault(a.category or "General", []).append(a)
    sections = "".join(
        f'<section class="category"><h2><a href="{_e(site.url(category_path(locale, items[0].category_slug)))}">'
        f'{_e(name)}</a></h2>{_list(site, items)}</section>' for name, items in sorted(groups.items()))
    others = "".join(f'<a hreflang="{_e(loc)}" href="{_e(site.url(f"/{loc}/"))}">{_e(loc)}</a> '
                     for loc in site.locales if loc != locale)
    langs = f'<nav class="locales" aria-label="Languages">{others}</nav>' if others else ""
    main = f'<h1>{_e(look.name)}</h1>{langs}{sections or "<p>No articles yet.</p>"}'
    return page(site, locale, look.name, shorten(f"{look.name}: " + ", ".join(a.title for a in articles), DESCRIPTION),
                canonical or site.url(f"/{locale}/"), main)


def search_index(site: Site, locale: str, articles: list[Article]) -> str:
    """`/help/<locale>/index.json`: what the widget's suggestions and the pages' search box read."""
    entries = [{"id": a.id, "title": a.title, "url": site.url(article_path(a.locale, a.slug)), "category": a.category,
                "snippet": shorten(plain_text(a.body), SNIPPET), "terms": terms(a.title, plain_text(a.body))}
               for a in articles]
    return json.dumps({"locale": locale, "articles": entries}, ensure_ascii=False, separators=(",", ":"),
                      sort_keys=True)


def theme_css(look: HelpCenterSettings) -> str:
    """The help center's colours (settings), as CSS custom properties help.css reads."""
    return (f":root{{--accent:{look.color};--background:{look.background};--text:{look.text_color}}}\n")


def sitemap(site: Site, articles: list[Article]) -> str:
    urls = [site.url(f"/{loc}/") for loc in site.locales]
    urls += [site.url(article_path(a.locale, a.slug)) for a in articles]
    body = "".join(f"<url><loc>{_e(u)}</loc></url>" for u in urls)
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}</urlset>')


def quote_path(path: str) -> str:
    return quote(path, safe="/-._~")

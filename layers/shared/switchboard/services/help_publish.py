"""The help center publisher: the whole public help center rebuilt from the table and reconciled with what the
frontend bucket holds under help/, then the changed paths invalidated in CloudFront.

Idempotent by construction: the pages are a function of the published snapshots and the settings, a page is
written only when its bytes differ from the stored object's (S3's ETag is the MD5 of a single-part upload), pages
and images no longer wanted are deleted, and only what changed is invalidated. A rerun, or a job delivered twice,
writes nothing. Jobs run one at a time (a FIFO queue with one message group), each from the table as it is then,
so the last one always leaves the newest state."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from switchboard import aws, clock, observability
from switchboard.errors import ServiceUnavailable
from switchboard.services import help_images, help_render
from switchboard.settings import get_settings
from switchboard.store import articles
from switchboard.store.table import Table

if TYPE_CHECKING:
    from switchboard.automation_settings import HelpCenterSettings

PREFIX = "help/"
PAGE_CACHE = "public, max-age=60, s-maxage=31536000"  # browsers recheck within a minute; CloudFront until invalidated
IMAGE_CACHE = "public, max-age=31536000, immutable"  # an image's name is new for every upload
TYPES = {".json": "application/json; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".js": "text/javascript; charset=utf-8", ".xml": "application/xml; charset=utf-8"}
MAX_PATHS = 15  # more changed paths than this are invalidated as /help/* (one path, as CloudFront bills it)


@dataclass(frozen=True)
class File:
    body: bytes
    content_type: str
    cache: str = PAGE_CACHE

    @property
    def md5(self) -> str:
        return hashlib.md5(self.body, usedforsecurity=False).hexdigest()


def site(look: HelpCenterSettings, locales: tuple[str, ...]) -> help_render.Site:
    settings = get_settings()
    return help_render.Site(base_url=settings.help_site_url.rstrip("/") or "/help", api_url=settings.public_base_url,
                            look=look, locales=locales)


def _asset(name: str) -> bytes:
    return resources.files("switchboard").joinpath("help_assets", name).read_bytes()


def _type(key: str) -> str:
    return next((t for ext, t in TYPES.items() if key.endswith(ext)), "text/html; charset=utf-8")


def build(table: Table) -> tuple[dict[str, File], dict[str, str]]:
    """Every file of the public help center (key under the bucket → file), and every image it shows (public key →
    the media bucket's key)."""
    from switchboard.services import automation_config

    look = automation_config.load(table, fresh=True).help_center
    published = sorted((help_render.Article(id=p["id"], title=p["title"], body=p.get("body", ""),
                                            category=p.get("category", ""), locale=p["locale"], slug=p["slug"],
                                            updated_at=p.get("published_at", ""))
                        for p in articles.published_all(table)), key=lambda a: (a.locale, a.category, a.title.lower()))
    locales = tuple(sorted({a.locale for a in published} | {look.default_locale}))
    where = site(look, locales)
    pages: dict[str, str] = {}
    for locale in locales:
        mine = [a for a in published if a.locale == locale]
        pages[f"{locale}/index.html"] = help_render.locale_index(where, locale, mine)
        pages[f"{locale}/index.json"] = help_render.search_index(where, locale, mine)
        categories: dict[str, list[help_render.Article]] = {}
        for a in mine:
            categories.setdefault(a.category_slug, []).append(a)
            pages[f"{locale}/{a.slug}"] = help_render.article_page(where, a)
        for slug, items in categories.items():
            pages[f"{locale}/categories/{slug}"] = help_render.category_page(where, locale, items[0].category, items)
    default = [a for a in published if a.locale == look.default_locale]
    pages["index.html"] = help_render.locale_index(where, look.default_locale, default,
                                                   canonical=where.url(f"/{look.default_locale}/"))
    pages["sitemap.xml"] = help_render.sitemap(where, published)
    pages["assets/theme.css"] = help_render.theme_css(look)
    files = {PREFIX + key: File(text.encode(), _type(key)) for key, text in pages.items()}
    for name in ("help.css", "help.js"):
        files[f"{PREFIX}assets/{name}"] = File(_asset(name), _type(name))
    images = {}
    for a in published:
        for path in help_render.image_paths(a.body):
            images[path.lstrip("/")] = help_images.media_key(path)
    return files, images


def _s3_call(op: str, **kwargs: Any) -> Any:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return getattr(aws.s3(), op)(**kwargs)
    except (BotoCoreError, ClientError) as exc:
        raise ServiceUnavailable(f"S3 {op} failed") from exc


def _stored(bucket: str) -> dict[str, str]:
    """What the bucket holds under help/: key → MD5 (the ETag, unquoted)."""
    stored: dict[str, str] = {}
    token = None
    while True:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": PREFIX}
        if token:
            kwargs["ContinuationToken"] = token
        out = _s3_call("list_objects_v2", **kwargs)
        for obj in out.get("Contents", []):
            stored[obj["Key"]] = str(obj.get("ETag", "")).strip('"')
        token = out.get("NextContinuationToken")
        if not token:
            return stored


def publish(table: Table | None = None, *, retry: bool = False) -> dict[str, int]:
    """Rebuild the help center and make the bucket match; returns counts (written, deleted, images, invalidated).
    `retry`: a job delivered again, whose first run may have written the pages and then failed to invalidate them:
    with nothing left to write, it invalidates /help/* all the same."""
    table = table or Table()
    bucket = get_settings().frontend_bucket
    files, images = build(table)
    stored = _stored(bucket)
    # Images first: a page is never public before the pictures it shows.
    copied = skipped = 0
    for key, source in images.items():
        if key in stored:
            continue  # an image never changes under its name
        image = help_images.read_checked(source)
        if image is None:  # missing, or not the picture its name says: never made public
            skipped += 1
            continue
        body, content_type = image
        _s3_call("put_object", Bucket=bucket, Key=key, Body=body, ContentType=content_type, CacheControl=IMAGE_CACHE)
        copied += 1
    changed: list[str] = []
    for key, file in files.items():
        if stored.get(key) != file.md5:
            _s3_call("put_object", Bucket=bucket, Key=key, Body=file.body, ContentType=file.content_type,
                     CacheControl=file.cache)
            changed.append(key)
    gone = sorted(k for k in stored if k not in files and k not in images)
    for start in range(0, len(gone), 1000):
        _s3_call("delete_objects", Bucket=bucket, Delete={"Objects": [{"Key": k} for k in gone[start:start + 1000]],
                                                          "Quiet": True})
    invalidated = invalidate(changed + gone) if changed or gone or not retry else invalidate([], everything=True)
    counts = {"pages": len(files), "written": len(changed), "deleted": len(gone), "images_copied": copied,
              "images_skipped": skipped, "invalidated": invalidated}
    observability.count("HelpPagesWritten", len(changed))
    return counts


def paths(keys_: list[str]) -> list[str]:
    """The viewer paths of changed keys (an index.html is also asked for as its folder)."""
    out: list[str] = []
    for key in keys_:
        out.append("/" + help_render.quote_path(key))
        if key.endswith("/index.html") or key == PREFIX + "index.html":
            out.append("/" + help_render.quote_path(key[: -len("index.html")]))
    return sorted(set(out))


def invalidate(keys_: list[str], *, everything: bool = False) -> int:
    """CreateInvalidation of the changed paths on the frontend's distribution (none configured, as locally: a
    no-op). Returns how many paths were invalidated."""
    if not keys_ and not everything:
        return 0
    distribution = get_settings().frontend_distribution_id
    wanted = paths(keys_)
    if everything or len(wanted) > MAX_PATHS:
        wanted = ["/help/*"]
    if not distribution:
        return 0
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        aws.client("cloudfront").create_invalidation(DistributionId=distribution, InvalidationBatch={
            "Paths": {"Quantity": len(wanted), "Items": wanted},
            # The same changes invalidated twice (a redelivered job) are one invalidation.
            "CallerReference": hashlib.sha256("\n".join(wanted).encode() + clock.iso(clock.now())[:16].encode())
            .hexdigest()})
    except (BotoCoreError, ClientError) as exc:
        raise ServiceUnavailable("CloudFront CreateInvalidation failed") from exc
    return len(wanted)

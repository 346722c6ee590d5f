"""Images of help center articles. An agent's browser uploads one straight to the private media bucket (an S3
presigned POST whose policy fixes the key, the type and the size), under `help-images/<article>/<image>.<ext>`; the
article's Markdown names it by the public path it will have, `/help/images/<article>/<image>.<ext>`. The agents'
preview shows it through a short-lived link; publishing copies it, checked to be the picture its name says, to the
frontend bucket's help/images/, so that visitors read published images from the public site and never from the
private bucket. Only raster types: an SVG can carry script."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from switchboard import aws
from switchboard.errors import BadRequest, ServiceUnavailable
from switchboard.services import help_render
from switchboard.settings import get_settings

MEDIA_PREFIX = "help-images/"
TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}
EXTENSION_TYPES = {ext: mime for mime, ext in TYPES.items()}
POST_SECONDS = 600
PREVIEW_SECONDS = 900
ARTICLE_ID = re.compile(r"^a_[0-9a-f]{28}$")


@dataclass(frozen=True)
class Grant:
    image_id: str
    path: str
    url: str
    fields: dict[str, str]
    markdown: str


def media_key(path: str) -> str:
    """The media bucket's key of an image named by its public path (/help/images/<article>/<image>.<ext>)."""
    match = help_render.IMAGE_PATH.match(path)
    if not match:
        raise BadRequest("not a help center image path", code="invalid_image")
    return f"{MEDIA_PREFIX}{match['article']}/{match['image']}.{match['ext']}"


def _presigner() -> Any:
    """S3 for presigned POSTs: virtual-hosted on the bucket's regional endpoint (the one the app's CSP names), so a
    browser's POST is never redirected; locally, the AWS stand-in's endpoint. Made per grant (they are rare), so it
    always follows the endpoint the environment names."""
    from botocore.config import Config

    config = Config(signature_version="s3v4", connect_timeout=2, read_timeout=5,
                    s3={"addressing_style": "virtual", "us_east_1_regional_endpoint": "regional"})
    import boto3

    return boto3.session.Session().client("s3", config=config)


def grant(article_id: str, filename: str, content_type: str, size: int) -> Grant:
    """A presigned POST for one image of an article (the article must exist: the caller checks)."""
    mime = (content_type or "").split(";", 1)[0].strip().lower().replace("image/jpg", "image/jpeg")
    if mime not in TYPES:
        raise BadRequest(f"images only: {', '.join(TYPES)} (no SVG)", code="file_not_accepted")
    limit = get_settings().help_image_max_bytes
    if not isinstance(size, int) or not 0 < size <= limit:
        raise BadRequest(f"an image is 1 byte to {limit} bytes", code="file_not_accepted")
    image_id = "im_" + secrets.token_hex(14)
    ext = TYPES[mime]
    path = f"/help/images/{article_id}/{image_id}.{ext}"
    key = media_key(path)
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        post = _presigner().generate_presigned_post(
            Bucket=get_settings().media_bucket, Key=key, Fields={"Content-Type": mime},
            Conditions=[{"Content-Type": mime}, ["content-length-range", 1, limit]], ExpiresIn=POST_SECONDS)
    except (BotoCoreError, ClientError) as exc:
        raise ServiceUnavailable("the upload could not be prepared") from exc
    alt = " ".join(help_render.words(re.sub(r"\.[A-Za-z0-9]+$", "", filename or ""))) or "image"
    return Grant(image_id=image_id, path=path, url=post["url"], fields=post["fields"], markdown=f"![{alt}]({path})")


def preview_url(path: str) -> str:
    """A short-lived link to a draft's image (the agents' preview)."""
    try:
        return str(aws.s3().generate_presigned_url("get_object", Params={
            "Bucket": get_settings().media_bucket, "Key": media_key(path)}, ExpiresIn=PREVIEW_SECONDS))
    except BadRequest:
        return path


def sniff(body: bytes) -> str | None:
    """The raster type the bytes really are, or None."""
    if body.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if body.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if body.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(body) >= 12 and body[:4] == b"RIFF" and body[8:12] == b"WEBP":
        return "image/webp"
    return None


def read_checked(key: str) -> tuple[bytes, str] | None:
    """An uploaded image's bytes and type, when it exists and is the picture its name says (else None)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        out = aws.s3().get_object(Bucket=get_settings().media_bucket, Key=key)
        body = out["Body"].read(get_settings().help_image_max_bytes + 1)
    except ClientError as exc:
        if aws.error_code(exc) in ("NoSuchKey", "404", "AccessDenied"):
            return None
        raise ServiceUnavailable("S3 GetObject failed") from exc
    except BotoCoreError as exc:
        raise ServiceUnavailable("S3 GetObject failed") from exc
    expected = EXTENSION_TYPES.get(key.rsplit(".", 1)[-1])
    if expected is None or len(body) > get_settings().help_image_max_bytes or sniff(body) != expected:
        return None
    return bytes(body), expected


def delete_all(article_id: str) -> int:
    """Delete a deleted article's uploaded images (the public copies go with the next publish)."""
    if not ARTICLE_ID.match(article_id):
        return 0
    from botocore.exceptions import BotoCoreError, ClientError

    bucket = get_settings().media_bucket
    try:
        listed = aws.s3().list_objects_v2(Bucket=bucket, Prefix=f"{MEDIA_PREFIX}{article_id}/", MaxKeys=1000)
        keys_ = [{"Key": o["Key"]} for o in listed.get("Contents", [])]
        if keys_:
            aws.s3().delete_objects(Bucket=bucket, Delete={"Objects": keys_, "Quiet": True})
    except (BotoCoreError, ClientError) as exc:
        raise ServiceUnavailable("the article's images could not be deleted") from exc
    return len(keys_)

"""Files from agents and visitors (rich replies): an S3 presigned POST for each upload, then the checks and the
server-side copy that make an upload a message's attachment.

The bytes go from the browser straight to the media bucket; no function ever receives them. An upload is an
object under `uploads/`, its S3 metadata its only record: `uploads/c/<conversation id>/<upload id>` for an agent's
(so that a reply in another conversation cannot name it), `uploads/v/<hash of the visitor id>/<upload id>` for a
visitor's. A bucket lifecycle rule deletes uploads a day old: those no reply used. A used upload is copied under
its message's media key (`media/<conversation>/<message>/<n>`, where retention, export and erasure find it) and
then deleted.
"""

from __future__ import annotations

import hashlib
import re
import secrets as pysecrets
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from switchboard import aws, observability
from switchboard.channels import registry
from switchboard.errors import BadRequest, ServiceUnavailable, SwitchboardError
from switchboard.services.media import media_key
from switchboard.settings import get_settings
from switchboard.store import conversations

if TYPE_CHECKING:
    from switchboard.channels.base import MediaLimits
    from switchboard.channels.webchat import Visitor
    from switchboard.models import Attachment, Conversation, Message
    from switchboard.store.table import Table

PREFIX = "uploads/"
UPLOAD_ID = re.compile(r"up_[0-9a-f]{32}")
POST_SECONDS = 1800  # how long the browser has to start its POST (S3 checks the policy's expiration then)
MAX_FILENAME = 200
MAX_META_FILENAME = 1024  # S3 user metadata is 2 KB in all: the percent-encoded name is cut to this
MAX_PENDING_VISITOR_UPLOADS = 20  # a visitor's unused uploads at a time (they expire in a day)
TYPE_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "audio/mp3": "audio/mpeg",
                "audio/x-mp3": "audio/mpeg", "audio/m4a": "audio/x-m4a", "application/x-pdf": "application/pdf"}


class TooManyUploads(SwitchboardError):
    code, status = "too_many_uploads", 429


@dataclass(frozen=True)
class Grant:
    """What the browser needs to upload one file: POST `fields` plus `file`, as multipart/form-data, to `url`."""

    upload_id: str
    url: str
    fields: dict[str, str]


@dataclass(frozen=True)
class Upload:
    """An upload as S3 stored it: what a reply is checked against (never the sizes and types the client claimed)."""

    upload_id: str
    key: str
    content_type: str
    size: int
    filename: str


# -- keys ------------------------------------------------------------------------------------------
def conversation_prefix(conv_id: str) -> str:
    return f"{PREFIX}c/{conv_id}/"


def visitor_prefix(visitor_id: str) -> str:
    """A hash, not the visitor id: whoever knows the id can read that visitor's chat, and keys show up in logs."""
    return f"{PREFIX}v/{hashlib.sha256(visitor_id.encode()).hexdigest()[:32]}/"


def content_type(value: str) -> str:
    """A MIME type as the limits compare it: lower case, without parameters, common aliases folded."""
    base = (value or "").split(";", 1)[0].strip().lower()
    return TYPE_ALIASES.get(base, base)


def clean_filename(name: str) -> str:
    """The file's own name, without a path, control characters or odd whitespace, at most MAX_FILENAME long."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c if unicodedata.category(c)[0] != "C" else " " for c in name)
    name = " ".join(name.split()).strip(". ")
    return name[:MAX_FILENAME] or "file"


# -- granting an upload ----------------------------------------------------------------------------
def grant_for_conversation(table: Table, conv_id: str, filename: str, mime_type: str, size: int) -> Grant:
    """An agent's upload for a reply in this conversation, refused (400) when its channel cannot carry it."""
    conv = conversations.require(table, conv_id)
    mime_type, filename = content_type(mime_type), clean_filename(filename)
    problem = registry.get(conv.channel).file_problem(mime_type, size, filename)
    if problem:
        raise BadRequest(problem, code="file_not_accepted")
    return _grant(conversation_prefix(conv.id), filename, mime_type, size)


def grant_for_visitor(visitor: Visitor, filename: str, mime_type: str, size: int) -> Grant:
    """A web chat visitor's upload: images and PDFs up to the web chat setting."""
    mime_type, filename = content_type(mime_type), clean_filename(filename)
    problem = _visitor_limits().problem("web chat", mime_type, size)
    if problem:
        raise BadRequest(problem, code="file_not_accepted")
    limit_visitor_uploads(visitor)
    return _grant(visitor_prefix(visitor.visitor_id), filename, mime_type, size)


def limit_visitor_uploads(visitor: Visitor) -> None:
    """The per-visitor limit on uploads (the hook web chat's rate limiter takes over; the route is also throttled
    in template.yaml): at most MAX_PENDING_VISITOR_UPLOADS unused uploads at a time. One List request, bounded."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        listed = aws.s3().list_objects_v2(Bucket=get_settings().media_bucket, Prefix=visitor_prefix(visitor.visitor_id),
                                          MaxKeys=MAX_PENDING_VISITOR_UPLOADS)
    except (BotoCoreError, ClientError) as exc:
        raise ServiceUnavailable("S3 list failed") from exc
    if int(listed.get("KeyCount") or 0) >= MAX_PENDING_VISITOR_UPLOADS:
        raise TooManyUploads("too many files waiting to be sent: send them, or try again tomorrow")


def _grant(prefix: str, filename: str, mime_type: str, size: int) -> Grant:
    """The presigned POST: its policy names the key, the exact size and the type, so S3 refuses anything else."""
    from botocore.exceptions import BotoCoreError, ClientError

    upload_id = "up_" + pysecrets.token_hex(16)
    meta = quote(filename, safe=" ._-()")[:MAX_META_FILENAME]
    fields = {"Content-Type": mime_type, "x-amz-meta-filename": meta}
    conditions: list[Any] = [{"Content-Type": mime_type}, {"x-amz-meta-filename": meta},
                             ["content-length-range", size, size]]
    try:
        post = aws.s3_presigner().generate_presigned_post(
            Bucket=get_settings().media_bucket, Key=prefix + upload_id, Fields=fields, Conditions=conditions,
            ExpiresIn=POST_SECONDS)
    except (BotoCoreError, ClientError) as exc:  # no credentials to sign with
        raise ServiceUnavailable("could not sign the upload") from exc
    observability.count("UploadsGranted")
    return Grant(upload_id=upload_id, url=post["url"], fields=dict(post["fields"]))


# -- using uploads ---------------------------------------------------------------------------------
def _head(key: str, upload_id: str) -> Upload | None:
    """The upload as stored, or None when there is none. S3 answers 403 for a missing key to a caller that may
    not list the bucket (the functions may not), so 403 is "not there" too."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        head = aws.s3().head_object(Bucket=get_settings().media_bucket, Key=key)
    except ClientError as exc:
        code = aws.error_code(exc)
        if code in ("404", "403", "NoSuchKey", "NotFound", "Forbidden", "AccessDenied"):
            return None
        raise ServiceUnavailable("S3 head failed") from exc
    except BotoCoreError as exc:
        raise ServiceUnavailable("S3 head failed") from exc
    metadata = {k.lower(): v for k, v in (head.get("Metadata") or {}).items()}
    return Upload(upload_id=upload_id, key=key, content_type=content_type(head.get("ContentType") or ""),
                  size=int(head.get("ContentLength") or 0), filename=clean_filename(unquote(metadata.get("filename", ""))))


def _uploads(prefix: str, upload_ids: list[str], max_files: int) -> list[Upload]:
    if len(upload_ids) > max_files:
        raise BadRequest(f"at most {max_files} files in one message", code="files_not_accepted")
    if len(set(upload_ids)) != len(upload_ids):
        raise BadRequest("the same upload is named twice", code="invalid_upload")
    found = []
    for upload_id in upload_ids:
        if not isinstance(upload_id, str) or not UPLOAD_ID.fullmatch(upload_id):
            raise BadRequest("an upload id is up_ and 32 hex digits, as POST .../uploads answered", code="invalid_upload")
        upload = _head(prefix + upload_id, upload_id)
        if upload is None:
            raise BadRequest(f"upload {upload_id} was not found here: never posted to its URL, expired (after a day), "
                             "or made for another conversation", code="upload_not_found")
        found.append(upload)
    return found


def attach_to_reply(conv: Conversation, message: Message, upload_ids: list[str], past_window: bool) -> list[Attachment]:
    """An agent's uploads, checked as S3 stored them (present, in this conversation, of a type and size the channel
    carries, together within its limits), then copied under the message's media keys, server-side. Raises
    BadRequest before anything is copied; ServiceUnavailable when S3 fails (nothing is left copied)."""
    from switchboard.models import Attachment

    channel = registry.get(conv.channel)
    limits = channel.file_limits()
    if limits is None:
        raise BadRequest(f"{conv.channel} replies cannot carry files", code="files_not_accepted")
    found = _uploads(conversation_prefix(conv.id), upload_ids, limits.max_files)
    for upload in found:
        problem = channel.file_problem(upload.content_type, upload.size, upload.filename)
        if problem:
            raise BadRequest(f"{upload.filename}: {problem}", code="file_not_accepted")
    problem = channel.files_problem([(u.content_type, u.size) for u in found], conv.recipient, inbox_id=conv.inbox_id,
                                    past_window=past_window)
    if problem:
        raise BadRequest(problem, code="files_not_accepted")
    targets = [media_key(message, index) for index in range(len(found))]
    _copy_all([(u.key, target) for u, target in zip(found, targets, strict=True)])
    return [Attachment(kind=channel.file_kind(u.content_type), mime_type=u.content_type, filename=u.filename,
                       size=u.size, s3_key=target, status="stored") for u, target in zip(found, targets, strict=True)]


def with_files(conv: Conversation, message: Message, upload_ids: list[str], past_window: bool) -> Message:
    """The reply with its files attached (see attach_to_reply), ready to be queued."""
    files = attach_to_reply(conv, message, upload_ids, past_window)
    return message.model_copy(update={"attachments": files, "sent_parts": {},
                                      "type": files[0].kind if not message.text else message.type})


def visitor_attachments(visitor: Visitor, upload_ids: list[str]) -> list[Attachment]:
    """A visitor's uploads for their message, checked as S3 stored them. They stay where they are until the
    processor copies them under the message's media keys (Attachment.upload_key)."""
    from switchboard.models import Attachment

    limits = _visitor_limits()
    found = _uploads(visitor_prefix(visitor.visitor_id), upload_ids, limits.max_files)
    attachments = []
    for upload in found:
        problem = limits.problem("web chat", upload.content_type, upload.size)
        if problem:
            raise BadRequest(f"{upload.filename}: {problem}", code="file_not_accepted")
        rule = limits.rule(upload.content_type)
        attachments.append(Attachment(kind=rule.kind if rule else "document", mime_type=upload.content_type,
                                      filename=upload.filename, size=upload.size, upload_key=upload.key))
    return attachments


def copy_upload(source: str, target: str) -> bool:
    """Copy an upload under a media key, inside S3. False when the upload is gone (expired, or copied and deleted
    by an earlier delivery); ServiceUnavailable when S3 fails."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket = get_settings().media_bucket
    try:
        aws.s3().copy_object(Bucket=bucket, Key=target, CopySource={"Bucket": bucket, "Key": source},
                             MetadataDirective="COPY")
    except ClientError as exc:
        if aws.error_code(exc) in ("NoSuchKey", "404", "403", "AccessDenied"):
            return False
        raise ServiceUnavailable("S3 copy failed") from exc
    except BotoCoreError as exc:
        raise ServiceUnavailable("S3 copy failed") from exc
    return True


def _copy_all(pairs: list[tuple[str, str]]) -> None:
    done: list[str] = []
    try:
        for source, target in pairs:
            if not copy_upload(source, target):
                raise BadRequest("an upload expired while the reply was being made: attach it again",
                                 code="upload_not_found")
            done.append(target)
    except SwitchboardError:
        discard(done)
        raise


def discard(keys: list[str]) -> None:
    """Delete objects that are no longer needed (used uploads, the copies of a reply that was not queued). Best
    effort: an upload left behind expires with the lifecycle rule; a copy left behind is counted."""
    from switchboard.store import erasure

    if not keys:
        return
    try:
        erasure.delete_objects(keys)
    except ServiceUnavailable:
        observability.count("UploadObjectsLeftBehind", len(keys))


def discard_uploads(conversation_id: str, upload_ids: list[str]) -> None:
    """The uploads a queued reply used: copied, so no longer needed."""
    discard([conversation_prefix(conversation_id) + u for u in upload_ids])


# -- erasure -----------------------------------------------------------------------------------------
def erase_unused(conversation_ids: list[str], visitor_ids: list[str]) -> int:
    """Uploads not yet used (they would expire within a day anyway) of an erased contact's conversations and web
    chat visitor ids: listed by prefix and deleted. Returns how many."""
    from botocore.exceptions import BotoCoreError, ClientError

    from switchboard.store import erasure

    prefixes = [conversation_prefix(c) for c in conversation_ids] + [visitor_prefix(v) for v in visitor_ids]
    keys: list[str] = []
    try:
        paginator = aws.s3().get_paginator("list_objects_v2")
        for prefix in prefixes:
            for page in paginator.paginate(Bucket=get_settings().media_bucket, Prefix=prefix):
                keys += [item["Key"] for item in page.get("Contents", [])]
    except (BotoCoreError, ClientError) as exc:
        raise ServiceUnavailable("S3 list failed") from exc
    return erasure.delete_objects(keys)


def _visitor_limits() -> MediaLimits:
    from switchboard.channels.webchat import WebchatChannel

    channel = registry.get("webchat")
    assert isinstance(channel, WebchatChannel)
    return channel.visitor_limits()


__all__ = ["Grant", "Upload", "attach_to_reply", "grant_for_conversation", "grant_for_visitor", "visitor_attachments"]

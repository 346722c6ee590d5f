"""Copies attachments the providers only referenced into the private media bucket."""

from __future__ import annotations

from typing import TYPE_CHECKING

from switchboard import aws
from switchboard.channels import registry
from switchboard.errors import MediaError, ServiceUnavailable
from switchboard.settings import get_settings
from switchboard.store import messages
from switchboard.store.table import Table

if TYPE_CHECKING:
    from switchboard.models import Attachment, Message


def media_key(message: Message, index: int) -> str:
    return f"media/{message.conversation_id}/{message.id}/{index}"


# Downloads are retried with the queue's redeliveries; after this many attempts an attachment is marked
# failed (expired CDN links, files over a provider's limit) instead of going round until the DLQ.
MAX_ATTEMPTS = 4


def store_pending(table: Table, message: Message, attempt: int = 1) -> int:
    """Download every pending attachment; raise MediaError (so the queue retries) if any fails."""
    pending = [i for i, a in enumerate(message.attachments) if a.status == "pending"]
    if not pending:
        return 0
    channel = registry.get(message.channel)
    attachments = list(message.attachments)
    failure: MediaError | None = None
    used_uploads: list[str] = []
    for index in pending:
        upload = attachments[index].upload_key
        if upload:  # rich replies: a visitor's upload, copied inside S3 (never downloaded)
            attachments[index] = _adopt_upload(message, index, attachments[index])
            if attachments[index].status == "stored":
                used_uploads.append(upload)
            continue
        try:
            content = channel.fetch_media(attachments[index])
        except MediaError as exc:
            if attempt < MAX_ATTEMPTS and not exc.permanent:
                failure = exc
            else:
                attachments[index] = attachments[index].model_copy(update={"status": "failed"})
            continue
        key = media_key(message, index)
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            aws.s3().put_object(Bucket=get_settings().media_bucket, Key=key, Body=content.data,
                                ContentType=content.mime_type or "application/octet-stream")
        except (BotoCoreError, ClientError) as exc:
            raise ServiceUnavailable("S3 put failed") from exc
        attachments[index] = attachments[index].model_copy(update={
            "s3_key": key, "status": "stored", "size": len(content.data),
            "mime_type": content.mime_type or attachments[index].mime_type})
    messages.update_attachments(table, message.model_copy(update={"attachments": attachments}))
    if used_uploads:  # copied and recorded: the uploads themselves are no longer needed
        from switchboard.services import uploads

        uploads.discard(used_uploads)
    if failure:
        raise failure
    return len(pending)


def _adopt_upload(message: Message, index: int, attachment: Attachment) -> Attachment:
    """A visitor's upload copied under the message's media key: stored, or failed when the upload is gone (expired
    before the message was processed). A redelivery after the copy finds the upload still there (it is deleted only
    once the message records the copy) and copies it again."""
    from switchboard.services import uploads

    key = media_key(message, index)
    if not uploads.copy_upload(str(attachment.upload_key), key):
        return attachment.model_copy(update={"status": "failed"})
    return attachment.model_copy(update={"s3_key": key, "status": "stored", "upload_key": None})


LINK_SECONDS = 300


def presigned_url(attachment: Attachment) -> str | None:
    """A short-lived link to a stored attachment: agents never get the bucket itself."""
    if not attachment.s3_key:
        return None
    params = {"Bucket": get_settings().media_bucket, "Key": attachment.s3_key}
    if attachment.filename:
        safe = "".join(c for c in attachment.filename if c.isalnum() or c in "._- ")[:100] or "attachment"
        params["ResponseContentDisposition"] = f'attachment; filename="{safe}"'
    return aws.s3().generate_presigned_url("get_object", Params=params, ExpiresIn=LINK_SECONDS)


__all__ = ["MediaError", "media_key", "presigned_url", "store_pending"]

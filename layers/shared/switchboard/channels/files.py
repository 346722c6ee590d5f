"""A reply's files, for the channels that send them: their bytes from the media bucket (for an upload to the
provider), or a short-lived link to them (for providers that fetch a file themselves)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from switchboard import aws
from switchboard.errors import PermanentSendError, RetryableSendError
from switchboard.settings import get_settings

if TYPE_CHECKING:
    from switchboard.models import OutboundFile

# How long a provider may take to fetch a file by its link: Twilio fetches when it sends, which can be minutes after
# our request when it queues; Meta fetches when it delivers. Long enough for that, short enough to be no share link.
PROVIDER_LINK_SECONDS = 3600


def read(file: OutboundFile) -> bytes:
    """The file's bytes. A missing object is permanent (erased meanwhile); S3 unavailable is retried."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = aws.s3().get_object(Bucket=get_settings().media_bucket, Key=file.s3_key)
        return bytes(answer["Body"].read())
    except ClientError as exc:
        code = aws.error_code(exc)
        if code in ("NoSuchKey", "404", "NotFound"):
            raise PermanentSendError("the file is no longer stored (erased?): not sent") from None
        raise RetryableSendError(f"S3 could not read the file ({code or 'error'})") from None
    except BotoCoreError as exc:
        raise RetryableSendError(f"S3 could not read the file ({type(exc).__name__})") from None


def link(file: OutboundFile, seconds: int = PROVIDER_LINK_SECONDS) -> str:
    """A presigned GET link to the file, for a provider that fetches it (Twilio MediaUrl, Instagram, large WhatsApp
    documents). It names the file's own name and type, so the provider shows them."""
    params = {"Bucket": get_settings().media_bucket, "Key": file.s3_key, "ResponseContentType": file.mime_type}
    if file.filename:
        params["ResponseContentDisposition"] = f'inline; filename="{safe_filename(file.filename)}"'
    return str(aws.s3().generate_presigned_url("get_object", Params=params, ExpiresIn=seconds))


def safe_filename(name: str) -> str:
    """A file name fit for a header parameter: printable ASCII without quotes or slashes."""
    cleaned = "".join(c if c.isascii() and c.isprintable() and c not in '"\\/;' else "_" for c in name).strip()
    return cleaned[:100] or "file"

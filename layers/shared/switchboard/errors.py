"""Typed domain errors. They are mapped to HTTP in one place per entry point, never by message text."""

from __future__ import annotations


class SwitchboardError(Exception):
    code = "error"
    status = 500

    def __init__(self, message: str = "", *, code: str | None = None):
        super().__init__(message or self.__class__.__name__)
        self.message = message or self.__class__.__name__
        if code:
            self.code = code


class BadRequest(SwitchboardError):
    code, status = "bad_request", 400


class Unauthorized(SwitchboardError):
    code, status = "unauthorized", 401


class Forbidden(SwitchboardError):
    code, status = "forbidden", 403


class NotFound(SwitchboardError):
    code, status = "not_found", 404


class Conflict(SwitchboardError):
    code, status = "conflict", 409


class PayloadTooLarge(SwitchboardError):
    code, status = "payload_too_large", 413


class TooManyRequests(SwitchboardError):
    """A client went over a rate limit (services/ratelimit.py): answered 429 with Retry-After."""

    code, status = "rate_limited", 429

    def __init__(self, message: str = "", *, retry_after: int = 60, code: str | None = None):
        super().__init__(message, code=code)
        self.retry_after = max(1, int(retry_after))


class SignatureError(Unauthorized):
    code = "invalid_signature"


class MalformedPayload(BadRequest):
    code = "malformed_payload"


class ServiceUnavailable(SwitchboardError):
    """An AWS dependency failed: answer 5xx so that the caller retries."""

    code, status = "service_unavailable", 503


class ProviderUnavailable(SwitchboardError):
    """A provider could not be reached, or failed (5xx), while an agent waited for it (moderating a comment): 502,
    so that the client tries again; `retry_after`, the seconds the provider asked for (Retry-After), when it did."""

    code, status = "provider_unavailable", 502

    def __init__(self, message: str = "", *, retry_after: float | None = None, code: str | None = None):
        super().__init__(message, code=code)
        self.retry_after = retry_after


class SendError(SwitchboardError):
    """A provider refused or failed a send."""


class PermanentSendError(SendError):
    """Retrying will not help (blocked user, invalid recipient, outside the reply window). `outcome_unknown`: the
    request went out and no answer came (a read timeout, a dropped connection, an answer without an id): the provider
    may have acted on it, so it is not sent again blind; otherwise the provider refused it."""

    code = "send_failed"

    def __init__(self, message: str = "", *, recipient_blocked: bool = False, outcome_unknown: bool = False):
        super().__init__(message)
        self.recipient_blocked = recipient_blocked
        self.outcome_unknown = outcome_unknown


class RetryableSendError(SendError):
    """Throttled or the provider is down: try again later."""

    code = "send_retry"

    def __init__(self, message: str = "", *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class MediaError(SwitchboardError):
    """A media download failed; the processor retries it, unless it is `permanent` (a URL or id we refuse: retrying
    cannot help), when the attachment is marked failed at once."""

    permanent = False

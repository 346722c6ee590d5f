"""The website chat widget: our own protocol. Visitors hold a short-lived signed token; replies are polled."""

from __future__ import annotations

import secrets as pysecrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from switchboard import clock, secrets, tokens
from switchboard.channels.base import ANY_TYPE, Channel, MediaContent, MediaLimits, MediaRule, WebhookRequest
from switchboard.errors import Forbidden, MediaError, NotFound, ServiceUnavailable, Unauthorized
from switchboard.settings import get_settings

if TYPE_CHECKING:
    from switchboard.models import Attachment, SendRequest, SendResult

MAX_TEXT = 10_000


@dataclass(frozen=True)
class Visitor:
    visitor_id: str
    widget_id: str
    name: str | None = None
    email: str | None = None
    source: str | None = None  # growth: the widget's data-source (an entry link's reference)
    page_url: str | None = None  # growth: the page the session started on (no query or fragment)

    @property
    def identity(self) -> str:
        return f"email:{self.email}" if self.email else f"webchat:{self.visitor_id}"


def _secret() -> bytes:
    key = secrets.get("webchat_token_secret")
    if not key:
        raise ServiceUnavailable("no web chat token secret configured")
    return key.encode()


def _key() -> bytes:
    """The key visitor tokens are signed with, derived from the secret: it never leaves the web chat function."""
    return tokens.derive(_secret(), b"switchboard visitor token")


def rate_limit_key() -> bytes:
    """The key visitors' and addresses' rate-limit counters are named with (services/ratelimit.subject)."""
    return tokens.derive(_secret(), b"switchboard web chat rate limits")


def identity_key() -> str:
    """The key a website's backend holds to vouch for its signed-in users' emails (hex). Derived from the secret
    one way, so that holding it lets a website vouch for an address and nothing more: it cannot sign tokens."""
    return tokens.derive(_secret(), b"switchboard identity hash").hex()


def identity_hash(email: str) -> str:
    """What a website's backend computes for its signed-in user: hex HMAC-SHA256(identity key, lower-cased email)."""
    return tokens.hex_mac(identity_key().encode(), email.strip().lower().encode())


def identity_vouched(email: Any, given: Any) -> bool:
    if not isinstance(email, str) or not isinstance(given, str) or not given.isascii():
        return False
    try:
        expected = identity_hash(email)
    except UnicodeEncodeError:  # a lone surrogate: no website could have hashed it
        return False
    return tokens.matches(given, expected)


def new_visitor_id() -> str:
    """128 random bits: knowing it is what lets a browser resume its own conversation."""
    return "v_" + pysecrets.token_hex(16)


def check_origin(origin: str | None) -> None:
    allowed = [o.strip().rstrip("/") for o in get_settings().webchat_allowed_origins.split(",") if o.strip()]
    if allowed and (origin or "").rstrip("/") not in allowed:
        raise Forbidden("this website may not open a chat", code="origin_not_allowed")


def issue_token(visitor: Visitor) -> tuple[str, int]:
    expires = clock.epoch() + get_settings().webchat_token_seconds
    claims = {"v": visitor.visitor_id, "w": visitor.widget_id, "n": visitor.name, "e": visitor.email, "x": expires,
              "s": visitor.source, "p": visitor.page_url}
    return tokens.issue(claims, _key()), expires


def read_token(authorization: str | None) -> Visitor:
    if not authorization or not authorization.startswith("Bearer "):
        raise Unauthorized("a visitor token is required", code="missing_token")
    try:
        claims = tokens.read(authorization[7:].strip(), _key())
        visitor = Visitor(visitor_id=str(claims["v"]), widget_id=str(claims["w"]), name=claims.get("n"),
                          email=claims.get("e"), source=claims.get("s"), page_url=claims.get("p"))
        expires = int(claims["x"])
    except (ValueError, KeyError, TypeError, OverflowError):  # OverflowError: an expiry of Infinity
        raise Unauthorized("invalid visitor token", code="invalid_token") from None
    if clock.epoch() > expires:
        raise Unauthorized("the visitor token has expired", code="expired_token")
    return visitor


# Rich replies: the widget shows agents' files by a short-lived link (images inline), up to WEBCHAT_MAX_FILE_BYTES
# each (a setting); visitors may send images and PDFs of the same size. SVG is not shown inline (it is a document).
VISITOR_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


class WebchatChannel(Channel):
    """Inbound comes through services/webchat (its own routes); outbound is stored and picked up by polling."""

    name = "webchat"
    provider_timestamps = False
    reply_window_seconds: ClassVar[int | None] = None

    def file_limits(self) -> MediaLimits | None:
        cap = get_settings().webchat_max_file_bytes
        return MediaLimits(rules=(MediaRule("image", VISITOR_IMAGE_TYPES, cap),
                                  MediaRule("audio", ANY_TYPE, cap, prefix="audio/"),
                                  MediaRule("video", ANY_TYPE, cap, prefix="video/"),
                                  MediaRule("document", ANY_TYPE, cap)))

    def visitor_limits(self) -> MediaLimits:
        """What a visitor may attach: images and PDFs, as large as the setting allows agents' files."""
        cap = get_settings().webchat_max_file_bytes
        return MediaLimits(rules=(MediaRule("image", VISITOR_IMAGE_TYPES, cap),
                                  MediaRule("document", frozenset({"application/pdf"}), cap)), max_files=5)

    def verify(self, request: WebhookRequest) -> None:
        raise NotFound("web chat has its own routes (/webchat/...), not a webhook")

    def parse(self, request: WebhookRequest) -> list[Any]:
        raise NotFound("web chat has its own routes (/webchat/...), not a webhook")

    def send(self, request: SendRequest) -> SendResult:
        from switchboard.models import SendResult

        # Delivery is the visitor's next poll: the stored message is the delivery.
        return SendResult(provider_message_id=f"webchat:{request.message_id}")

    def fetch_media(self, attachment: Attachment) -> MediaContent:
        raise MediaError("web chat messages carry no media to fetch")

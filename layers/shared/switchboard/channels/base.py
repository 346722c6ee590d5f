"""The channel interface: verify a webhook, parse it into normalized events, send a reply, fetch media."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from switchboard.errors import NotFound, PermanentSendError

if TYPE_CHECKING:
    from switchboard.models import (
        Attachment,
        ContactEvent,
        IgnoredEvent,
        InboundMessage,
        SendRequest,
        SendResult,
        StatusUpdate,
    )


@dataclass(frozen=True)
class WebhookRequest:
    """A provider's HTTP request, body as the raw bytes it signed."""

    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    query: dict[str, str]
    body: bytes
    raw_query: str = ""
    form: dict[str, list[str]] = field(default_factory=dict)  # an urlencoded body, parsed, blanks kept

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class WebhookReply:
    status: int = 200
    body: str = ""
    content_type: str = "text/plain"


@dataclass(frozen=True)
class MediaContent:
    data: bytes
    mime_type: str | None
    sha256: str | None = None


class Channel(ABC):
    """Subclasses implement verify, parse, send and fetch_media; the rest has sensible defaults."""

    name: ClassVar[str]
    # Seconds after the customer's last message in which free-form replies are allowed (None: no window).
    reply_window_seconds: ClassVar[int | None] = None
    # Whether events carry the provider's own time. Without it (Twilio, our widget) a message's time is when we
    # first saw it, so that every redelivery names the same stored message.
    provider_timestamps: ClassVar[bool] = True
    # The longest text the provider takes in one message, in characters or in UTF-8 bytes (None: no limit).
    max_text_chars: ClassVar[int | None] = None
    max_text_bytes: ClassVar[int | None] = None

    def human_reply_window_seconds(self) -> int | None:
        """The window for an agent's replies (None: no limit). Longer than `reply_window_seconds` where the
        channel has a form for replies past it and the deployment enables it (`SendRequest.past_window`)."""
        return self.reply_window_seconds

    def text_problem(self, text: str) -> str | None:
        """Why the provider would refuse this text, so that the agent hears it before anything is queued."""
        if self.max_text_chars is not None and len(text) > self.max_text_chars:
            return f"text longer than the {self.max_text_chars} characters {self.name} takes ({len(text)})"
        size = len(text.encode("utf-8", "surrogatepass")) if self.max_text_bytes is not None else 0
        if self.max_text_bytes is not None and size > self.max_text_bytes:
            return f"text longer than the {self.max_text_bytes} bytes of UTF-8 {self.name} takes ({size})"
        return None

    def check_text(self, text: str) -> None:
        """In send: a text the provider would refuse fails for good, with the reason."""
        problem = self.text_problem(text)
        if problem:
            raise PermanentSendError(problem)

    def handshake(self, request: WebhookRequest) -> WebhookReply:
        """A GET to the webhook (subscription check). Channels without one answer 404."""
        raise NotFound("no handshake for this channel")

    @abstractmethod
    def verify(self, request: WebhookRequest) -> None:
        """Raise SignatureError unless the request is authentic."""

    @abstractmethod
    def parse(self, request: WebhookRequest) -> Sequence[InboundMessage | StatusUpdate | ContactEvent | IgnoredEvent]:
        """Every event of the request, normalized. Raise MalformedPayload on a body of the wrong shape.

        A customer's content always becomes something an agent can read: text, a typed attachment, or a `summary`
        placeholder with what is known. What is not a customer speaking (service messages, events about the chat
        itself) is applied (edits, unsends, blocks) or returned as an IgnoredEvent with a reason, never as an empty
        message."""

    def acknowledge(self, events: list[Any] | None = None) -> WebhookReply:
        """The 2xx answer once the events are stored (some channels answer with content)."""
        return WebhookReply(200, "", "text/plain")

    @abstractmethod
    def send(self, request: SendRequest) -> SendResult:
        """Send one reply. Raise PermanentSendError or RetryableSendError."""

    @abstractmethod
    def fetch_media(self, attachment: Attachment) -> MediaContent:
        """Download an attachment the webhook only referenced. Raise MediaError."""

    def fetch_profile(self, sender_id: str) -> str | None:
        """The customer's display name from the provider's profile look-up, for a new contact the event did not
        name (None: no look-up on this channel, or no name). Never raises: a failure is the channel's to count."""
        return None

"""The channel interface: verify a webhook, parse it into normalized events, send a reply, fetch media."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from switchboard.errors import NotFound, PermanentSendError

if TYPE_CHECKING:
    from switchboard.models import (
        Attachment,
        ContactEvent,
        IgnoredEvent,
        InboundMessage,
        OutboundFile,
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


# -- files a channel can carry (agents' attachments, visitors' uploads) ----------------------------
MB = 1024 * 1024
ANY_TYPE: frozenset[str] = frozenset()  # a rule whose `types` is empty takes any MIME type of its kind
MIME_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")


@dataclass(frozen=True)
class MediaRule:
    """Files of one kind a channel sends: `types` (MIME types; ANY_TYPE: any type whose top level is `prefix`, or
    any at all when `prefix` is empty too) up to `max_bytes` each. The first rule that matches a type is its rule."""

    kind: str  # image, audio, video or document: how the channel sends it
    types: frozenset[str]
    max_bytes: int
    prefix: str = ""  # with ANY_TYPE: "image/" takes every image type

    def matches(self, content_type: str) -> bool:
        if self.types:
            return content_type in self.types
        return content_type.startswith(self.prefix)


@dataclass(frozen=True)
class MediaLimits:
    """What one reply may carry on a channel: per-kind rules, a total and a count."""

    rules: tuple[MediaRule, ...]
    max_total_bytes: int | None = None  # all the files of one reply together (Twilio MMS, email)
    max_files: int = 10

    def rule(self, content_type: str) -> MediaRule | None:
        return next((r for r in self.rules if r.matches(content_type)), None)

    def problem(self, channel: str, content_type: str, size: int) -> str | None:
        """Why one file of this type and size is refused (None: it is accepted)."""
        if not MIME_TYPE.fullmatch(content_type or ""):
            return "the content type must be a MIME type such as image/png"
        rule = self.rule(content_type)
        if rule is None:
            return f"{channel} cannot send files of type {content_type}: it takes {self.accepted()}"
        if size < 1:
            return "the file is empty"
        if size > rule.max_bytes:
            return (f"{channel} takes {rule.kind} files up to {megabytes(rule.max_bytes)} "
                    f"(this one is {megabytes(size)})")
        return None

    def accepted(self) -> str:
        """The accepted types, for an error message: "images (jpeg, png), documents (pdf, docx)"."""
        kinds: dict[str, set[str]] = {}
        for rule in self.rules:
            names = {SHORT_TYPES.get(t, t.partition("/")[2]) for t in rule.types} if rule.types else \
                {"any" if rule.prefix else "any type"}
            kinds.setdefault(rule.kind, set()).update(names)
        return ", ".join(f"{PLURAL.get(kind, kind)} ({', '.join(sorted(names))})" for kind, names in kinds.items())


PLURAL = {"image": "images", "document": "documents"}
SHORT_TYPES = {  # what agents know these types as
    "application/msword": "doc", "application/vnd.ms-excel": "xls", "application/vnd.ms-powerpoint": "ppt",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx", "text/plain": "txt",
    "audio/mpeg": "mp3", "audio/mp4": "m4a", "audio/x-m4a": "m4a", "video/quicktime": "mov", "video/x-msvideo": "avi"}


# -- indicators (issue 15): what the customer sees of an agent at work -----------------------------------------------
Indicator = Literal["read", "typing"]
# One attempt, no retries, and this long at most: an indicator is worth nothing a few seconds late.
INDICATOR_TIMEOUT_SECONDS = 3.0


def megabytes(size: int) -> str:
    return f"{size / MB:.1f}".removesuffix(".0") + " MB" if size >= MB else f"{max(1, round(size / 1024))} KB"


def one_file_per_part(request: SendRequest, caption_chars: int | None = None,
                      captioned: Callable[[OutboundFile], bool] = lambda f: True) -> list[SendRequest]:
    """For channels that send one file per provider message: the text rides as the first file's caption where the
    channel allows one that long (and for that kind of file), else it goes first as a message of its own; then one
    part per file. A quoted reply quotes with the first part only."""
    files, text = list(request.files), request.text
    caption = bool(text and files and caption_chars and len(text) <= caption_chars and captioned(files[0]))
    parts = [request.model_copy(update={"files": []})] if text and not caption else []
    for index, file in enumerate(files):
        parts.append(request.model_copy(update={"files": [file], "text": text if caption and index == 0 else "",
                                                "reply_to": request.reply_to if not parts else None}))
    return parts


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

    # -- files (agents' attachments) -----------------------------------------------------------------
    # What one reply may carry; None: no files on this channel. Each channel module fills it.
    media_limits: ClassVar[MediaLimits | None] = None

    def file_limits(self) -> MediaLimits | None:
        """This deployment's limits (a channel whose limit is a setting overrides this)."""
        return self.media_limits

    def file_problem(self, content_type: str, size: int, filename: str | None = None) -> str | None:
        """Why this channel cannot carry one file (None: it can): told when the upload is requested, and again when
        a reply names it (with the size and type S3 stored)."""
        limits = self.file_limits()
        if limits is None:
            return f"{self.name} replies cannot carry files"
        return limits.problem(self.name, content_type, size)

    def files_problem(self, files: Sequence[tuple[str, int]], recipient: str, *, inbox_id: str = "",
                      past_window: bool = False) -> str | None:
        """Why one reply cannot carry these files together ((content type, size) each), from this inbox to this
        recipient (`past_window`: an agent's reply past the standard window, in the channel's form for it)."""
        limits = self.file_limits()
        if limits is None:
            return f"{self.name} replies cannot carry files"
        if len(files) > limits.max_files:
            return f"{self.name} replies carry at most {limits.max_files} files"
        total = sum(size for _, size in files)
        if limits.max_total_bytes is not None and total > limits.max_total_bytes:
            return (f"{self.name} takes at most {megabytes(limits.max_total_bytes)} of files in one reply "
                    f"(these are {megabytes(total)})")
        return None

    def file_kind(self, content_type: str) -> str:
        """How this channel sends a file of this type: image, audio, video or document."""
        limits = self.file_limits()
        rule = limits.rule(content_type) if limits else None
        return rule.kind if rule else "document"

    def send_parts(self, request: SendRequest) -> list[SendRequest]:
        """The provider messages one reply goes out as, in order. By default one: the text with every file. The
        sender records each part as it is sent, so that a retry sends only the parts that have not gone out;
        the split must depend on the request alone (the same reply always splits the same way)."""
        return [request]

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

    # -- indicators (issue 15) ------------------------------------------------------------------------
    # What the customer can be shown on this channel: "read" (their latest message marked read) and "typing".
    indicators: ClassVar[frozenset[str]] = frozenset()
    # Whether an indicator names the customer's latest message (WhatsApp's read receipt does, and typing rides on it);
    # Messenger's and Telegram's name only the customer.
    indicators_name_message: ClassVar[bool] = False

    def indicate(self, inbox_id: str, recipient: str, kind: Indicator, provider_message_id: str | None) -> None:
        """Show the customer `kind`: their message `provider_message_id` read, or an agent typing. Best effort: one
        attempt with a short timeout (INDICATOR_TIMEOUT_SECONDS); a failure raises the send error it is, for the
        caller to log and count, never to retry. By default nothing: the channel has no such indicator."""
        return None

    def fetch_profile(self, sender_id: str) -> str | None:
        """The customer's display name from the provider's profile look-up, for a new contact the event did not
        name (None: no look-up on this channel, or no name). Never raises: a failure is the channel's to count."""
        return None

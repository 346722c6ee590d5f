"""Email through Amazon SES: raw MIME (stored in S3 by the receipt rule) in, SES v2 SendEmail with raw MIME out.

Email never arrives over HTTP: an SES receipt rule stores the message in S3 and invokes the email function
(services/email_inbound.py), which calls parse_mime. Authenticity comes from SES itself (an IAM-invoked Lambda,
spam/virus verdicts), so there is no webhook to verify.
"""

from __future__ import annotations

import email
import email.errors
import email.policy
import email.utils
import html
import re
from collections.abc import Iterator
from datetime import UTC
from email.message import EmailMessage, Message
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from switchboard import aws, clock
from switchboard.channels.base import Channel, MediaContent, WebhookRequest
from switchboard.errors import MalformedPayload, MediaError, NotFound, PermanentSendError, RetryableSendError
from switchboard.models import Attachment, InboundMessage, SendRequest, SendResult
from switchboard.settings import get_settings

RAW_PREFIX = "inbound-email/"
# Stored on a message item and carried through SQS: the raw message stays in S3 for anything longer.
MAX_TEXT = 40_000
MAX_SUBJECT = 500
MAX_NAME = 200
MAX_FILENAME = 255
MAX_ATTACHMENTS = 100
MAX_THREAD_REFS = 50
# The stdlib's structured header parser is slow (~150 us per byte of a hostile Content-Type full of comments or
# parameters, parsed five times per part by the feed parser), and thousands of parts or deep nesting add up: one
# crafted message could hold the function for minutes. Each header value is parsed once, and a message needing more
# than these budgets is refused as malformed (measured worst case: ~6 s); ordinary mail is nowhere near them.
MAX_STRUCTURED_HEADER = 2048
MAX_STRUCTURED_TOTAL = 128 * 1024
MAX_BOUNDARY_LINES = 5000
MAX_DEPTH = 40
MAX_HEADER = 4096  # From, Subject: longer values are cut before they are parsed
MAX_HTML = 2_000_000
SIGNATURE_TYPES = ("application/pgp-signature", "application/pkcs7-signature", "application/x-pkcs7-signature")

MSGID = re.compile(r"<[^<>\s]{1,250}>")
ADDRESS = re.compile(r"[^@\s<>,;:\"()\[\]\\]{1,64}@[^@\s<>,;:\"()\[\]\\]{1,253}")
BOUNDARY_LINE = re.compile(rb"^--", re.MULTILINE)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
REPLY_PREFIX = re.compile(r"re\s*:", re.IGNORECASE)
PARSE_ERRORS = (ValueError, TypeError, LookupError, AttributeError, RecursionError, email.errors.MessageError)

RETRYABLE_CODES = frozenset({"Throttling", "ThrottlingException", "TooManyRequestsException", "LimitExceededException",
                             "RequestTimeout", "RequestTimeoutException", "InternalFailure", "ServiceUnavailable"})
PERMANENT_REASONS = {
    "MessageRejected": "SES rejected the message",
    "MailFromDomainNotVerified": "the MAIL FROM domain is not verified in SES",
    "MailFromDomainNotVerifiedException": "the MAIL FROM domain is not verified in SES",
    "AccountSuspendedException": "the SES account is suspended from sending",
    "SendingPausedException": "sending is paused for this SES account or configuration set",
    "NotFoundException": "an SES resource (identity or configuration set) does not exist",
    "BadRequestException": "SES refused the request as invalid",
}


def recipient_domains() -> set[str]:
    return {d.strip().lower().lstrip("@") for d in get_settings().email_recipient_domains.split(",") if d.strip()}


def allowed_recipients(recipients: Any) -> list[str]:
    """The recipients (lower-cased) whose domain we serve: all well-formed ones when no domain is configured."""
    domains = recipient_domains()
    allowed: list[str] = []
    for value in recipients if isinstance(recipients, list) else []:
        address = value.strip().lower() if isinstance(value, str) else ""
        if ADDRESS.fullmatch(address) and (not domains or address.rpartition("@")[2] in domains):
            if address not in allowed:
                allowed.append(address)
    return allowed


CONVERSATION_TAG = re.compile(r"^(?P<local>[^+@]+)\+(?P<conv>cv_[0-9a-f]{1,40})@(?P<domain>.+)$")
CONVERSATION_REF = "conversation:"


def reply_address(address: str, conversation_id: str | None) -> str:
    """The conversation's own reply address (plus-addressing): local+<conversation id>@domain."""
    local, _, domain = address.partition("@")
    return f"{local}+{conversation_id}@{domain}" if conversation_id and domain and "+" not in local else address


def split_reply_address(address: str) -> tuple[str, str | None]:
    """(the inbox address, a "conversation:<id>" thread hint) of a recipient that is a reply address."""
    match = CONVERSATION_TAG.match(address)
    if not match:
        return address, None
    return f"{match['local']}@{match['domain']}", f"{CONVERSATION_REF}{match['conv']}"


def raw_key(ses_message_id: str) -> str:
    """Where the receipt rule's S3 action stores a message (its object key prefix must be RAW_PREFIX)."""
    return f"{RAW_PREFIX}{ses_message_id}"


class EmailChannel(Channel):
    name = "email"
    reply_window_seconds = None
    # Date headers are missing or wrong often enough: a message's time is when SES handed it to us.
    provider_timestamps = False

    # -- no webhook ----------------------------------------------------------------------------
    def verify(self, request: WebhookRequest) -> None:
        # Mail reaches us only through SES (receipt rule -> S3 -> IAM-invoked function); an HTTP request
        # claiming to be email is never authentic.
        raise NotFound("email arrives through an SES receipt rule, not a webhook")

    def parse(self, request: WebhookRequest) -> list[Any]:
        raise NotFound("email arrives through an SES receipt rule, not a webhook")

    # -- in ------------------------------------------------------------------------------------
    def parse_mime(self, raw: bytes, *, ses_message_id: str, recipients: list[str], raw_ref: str | None = None,
                   bucket: str | None = None) -> InboundMessage | None:
        """One received message, normalized; None when it is not a customer message we serve.

        Raises MalformedPayload when the MIME cannot be read (never another exception)."""
        inbox = next(iter(allowed_recipients(recipients)), None)
        if not ses_message_id or inbox is None:
            return None
        inbox, conversation_hint = split_reply_address(inbox)
        key = raw_ref or raw_key(ses_message_id)
        msg = _parse(raw)
        try:
            message = self._message(msg, ses_message_id, inbox, key, bucket or get_settings().media_bucket)
            if message is not None and conversation_hint:
                # Written to a conversation's own reply address: a thread hint the processor checks.
                message = message.model_copy(update={"thread_refs": [*message.thread_refs, conversation_hint]})
            return message
        except PARSE_ERRORS as exc:
            raise MalformedPayload("unreadable MIME message") from exc

    def _message(self, msg: EmailMessage, ses_message_id: str, inbox: str, key: str, bucket: str) -> InboundMessage | None:
        sender, name = _sender(msg)
        settings = get_settings()
        own = {inbox, email.utils.parseaddr(settings.email_from_address)[1].lower()}
        if sender is None or sender in own:
            return None  # no usable From, or our own mail come back: never a conversation (and no reply loop)
        body = msg.get_body(preferencelist=("plain", "html"))
        text = ""
        if body is not None:
            text = _decode(body)
            if body.get_content_subtype() == "html":
                text = html_to_text(text)
        subject = _clean(str(_header(msg, "Subject", MAX_HEADER) or ""))
        return InboundMessage(
            channel="email", provider_message_id=ses_message_id, inbox_id=inbox, sender_id=sender,
            identity=f"email:{sender}", sender_name=name, text=_normalize(text)[:MAX_TEXT],
            attachments=_attachments(msg, body, f"s3://{bucket}/{key}"), timestamp=_timestamp(msg),
            subject=" ".join(subject.split())[:MAX_SUBJECT] or None, thread_refs=_thread_refs(msg), raw_ref=key,
            message_ref=next(iter(_msgids(msg, "Message-ID")), None))

    def fetch_media(self, attachment: Attachment) -> MediaContent:
        """An attachment's bytes, cut from the raw message in S3 (url: s3://bucket/key#part:N)."""
        url = urlsplit(attachment.url or "")
        part_ref = url.fragment or attachment.provider_media_id or ""
        if url.scheme != "s3" or not url.path.strip("/") or not part_ref.startswith("part:"):
            raise MediaError("no raw message reference")
        try:
            index = int(part_ref.removeprefix("part:"))
        except ValueError:
            raise MediaError("bad part reference") from None
        msg = _load(url.netloc or get_settings().media_bucket, url.path.lstrip("/"))
        try:
            part = next((p for i, p in enumerate(_walk(msg)) if i == index), None)
            if part is None:
                raise MediaError("no such part in the raw message")
            data = _part_bytes(part)
            mime_type = part.get_content_type()
        except PARSE_ERRORS as exc:
            raise MediaError("raw message unreadable") from exc
        if len(data) > get_settings().media_max_bytes:
            raise MediaError("media larger than the configured limit")
        return MediaContent(data=data, mime_type=mime_type)

    # -- out -----------------------------------------------------------------------------------
    def send(self, request: SendRequest) -> SendResult:
        from_header = get_settings().email_from_address or request.inbox_id
        from_address = email.utils.parseaddr(from_header)[1]
        if not ADDRESS.fullmatch(from_address):
            raise PermanentSendError("no valid From address for email replies (set EMAIL_FROM_ADDRESS)")
        recipient = request.recipient.strip()
        if not ADDRESS.fullmatch(recipient):
            raise PermanentSendError("the recipient is not a valid email address")
        message_ref = _message_ref(request.message_id, from_address.rpartition("@")[2])
        try:
            raw = _build_reply(request, from_header, recipient, message_ref)
        except (*PARSE_ERRORS, UnicodeError) as exc:
            raise PermanentSendError("the reply could not be encoded as an email") from exc
        _send_raw(from_address, recipient, raw)
        # Deployed, SES overrides a Message-ID header with its own (SES developer guide, "header fields"), so a
        # customer's reply answers SES's id: thread it back by the References chain as well, not by this id alone.
        return SendResult(provider_message_id=message_ref)


# -- parsing --------------------------------------------------------------------------------------
class _BudgetPolicy(email.policy.EmailPolicy):
    """policy.default that parses each distinct header value once, within a budget (see MAX_STRUCTURED_TOTAL)."""

    parsed: dict[tuple[str, str], Any] | None = None
    budget: list[int] | None = None

    def header_fetch_parse(self, name: str, value: Any) -> Any:
        if hasattr(value, "name") or self.parsed is None or self.budget is None:
            return super().header_fetch_parse(name, value)
        key = (name.lower(), value)
        header = self.parsed.get(key)
        if header is None:
            self.budget[0] -= len(value)
            if len(value) > MAX_STRUCTURED_HEADER or self.budget[0] < 0:
                raise _OverBudget(name)
            header = self.parsed[key] = super().header_fetch_parse(name, value)
        return header


class _OverBudget(ValueError):
    pass


def _parse(raw: bytes) -> EmailMessage:
    if not isinstance(raw, bytes | bytearray) or not raw.strip():
        raise MalformedPayload("empty message")
    if len(BOUNDARY_LINE.findall(raw)) > MAX_BOUNDARY_LINES:
        raise MalformedPayload("too many MIME parts")
    policy = _BudgetPolicy(parsed={}, budget=[MAX_STRUCTURED_TOTAL])  # type: ignore[call-overload]  # Policy takes its attributes as keywords; typeshed lists only the standard ones
    try:
        msg = email.message_from_bytes(bytes(raw), policy=policy)
        depth = max((d for _, d in _walk_depths(msg)), default=0)
    except PARSE_ERRORS as exc:
        raise MalformedPayload("unreadable MIME message") from exc
    if depth > MAX_DEPTH:
        raise MalformedPayload("MIME nested too deeply")
    return msg


def _walk_depths(msg: Message) -> Iterator[tuple[Message, int]]:
    """Every part with its depth, in Message.walk() order, without recursion."""
    stack: list[tuple[Message, int]] = [(msg, 0)]
    while stack:
        part, depth = stack.pop()
        yield part, depth
        if part.is_multipart() and depth <= MAX_DEPTH:
            children = part.get_payload()
            parts = [child for child in children if isinstance(child, Message)] if isinstance(children, list) else []
            stack.extend((child, depth + 1) for child in reversed(parts))


def _walk(msg: Message) -> Iterator[Message]:
    """The parts in a stable order: their position is the address fetch_media uses ("part:N")."""
    return (part for part, _ in _walk_depths(msg))


def _raw_values(msg: Message, name: str) -> list[str]:
    """A header's raw values, unfolded but undecoded (parsing them is left to the caller, after truncation)."""
    lowered = name.lower()
    return [value.replace("\r", "").replace("\n", "") for key, value in msg.raw_items()
            if key.lower() == lowered and isinstance(value, str)]


def _unescape_8bit(value: str) -> str:
    """Header bytes outside ASCII (RFC 6532 UTF-8, or a legacy charset) arrive as surrogate escapes."""
    try:
        data = value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return value
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def _header(msg: Message, name: str, limit: int) -> Any:
    values = _raw_values(msg, name)
    if not values:
        return None
    return email.policy.default.header_factory(name, _unescape_8bit(values[0][:limit]))


def _sender(msg: Message) -> tuple[str | None, str | None]:
    header = _header(msg, "From", MAX_HEADER)
    for address in getattr(header, "addresses", ()):
        addr = _clean(f"{address.username}@{address.domain}").lower()
        if address.username and address.domain and ADDRESS.fullmatch(addr):
            name = " ".join(_clean(address.display_name or "").split())[:MAX_NAME]
            return addr, name or None
    return None, None


def _msgids(msg: Message, *names: str) -> list[str]:
    """The <msg-id>s of these headers, in order, deduplicated, brackets kept (comments and junk around them dropped)."""
    refs: list[str] = []
    for name in names:
        for value in _raw_values(msg, name):
            refs.extend(MSGID.findall(_clean(_unescape_8bit(value[:65536]))))
    return list(dict.fromkeys(refs))


def _thread_refs(msg: Message) -> list[str]:
    refs = _msgids(msg, "References", "In-Reply-To")
    return refs if len(refs) <= MAX_THREAD_REFS else refs[:1] + refs[-(MAX_THREAD_REFS - 1):]  # root and latest


def _timestamp(msg: Message) -> float:
    now = clock.now().timestamp()
    values = _raw_values(msg, "Date")
    try:
        moment = email.utils.parsedate_to_datetime(_clean(values[0][:200]))
    except (IndexError, TypeError, ValueError, OverflowError):
        return now
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    ts = moment.timestamp()
    return ts if 0 < ts <= now + 24 * 3600 else now  # a Date far in the future would misorder the conversation


def _decode_bytes(data: bytes, charset: str | None) -> str:
    charset = (charset or "").strip().lower()
    if charset in ("iso-8859-1", "latin-1", "latin1", "us-ascii", "ascii", "iso_8859-1"):
        charset = ""  # mislabelled more often than not: try UTF-8, then Windows-1252 (as browsers do)
    if charset:
        try:
            return data.decode(charset, "replace")
        except (LookupError, ValueError):
            pass  # an unknown charset name: guess as below
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def _decode(part: Message) -> str:
    payload = part.get_payload(decode=True)
    return _decode_bytes(payload if isinstance(payload, bytes) else b"", part.get_content_charset())


def _part_bytes(part: Message) -> bytes:
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload(0) if part.is_multipart() else None
        if isinstance(inner, Message):
            return inner.as_bytes(policy=email.policy.compat32)  # compat32 writes the headers as received
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        raise MediaError("part has no content")
    return payload


def _attachments(msg: Message, body: Message | None, raw_url: str) -> list[Attachment]:
    attachments: list[Attachment] = []
    skip_until = 0
    parts = list(_walk(msg))
    for index, part in enumerate(parts):
        if index < skip_until or part is body:
            continue
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            skip_until = index + sum(1 for _ in _walk(part))  # a forwarded message is one .eml, not its parts
        elif part.is_multipart():
            continue
        filename = _filename(part)
        disposition = part.get_content_disposition()
        if part.get_content_maintype() == "text" and not filename and disposition != "attachment":
            continue  # the other alternative of the body, or a text fragment
        if content_type in SIGNATURE_TYPES:
            continue
        if len(attachments) == MAX_ATTACHMENTS:
            break
        try:
            size: int | None = len(_part_bytes(part))
        except (MediaError, UnicodeError, *PARSE_ERRORS):
            size = None  # fetch_media reports it when the processor asks
        major = part.get_content_maintype()
        attachments.append(Attachment(
            kind=major if major in ("image", "audio", "video") else "file", provider_media_id=f"part:{index}",
            url=f"{raw_url}#part:{index}", mime_type=content_type, size=size, status="pending",
            filename=filename or ("forwarded.eml" if content_type == "message/rfc822" else None)))
    return attachments


def _filename(part: Message) -> str | None:
    name = part.get_filename()
    if not isinstance(name, str):
        return None
    name = _clean(_unescape_8bit(name)).replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[:MAX_FILENAME] or None


def _clean(text: str) -> str:
    """No control characters or lone surrogates (they cannot be stored as JSON)."""
    return CONTROL.sub("", text)


def _normalize(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "\n".join(line.rstrip() for line in _clean(text.replace("\t", "    ")).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# -- HTML ---------------------------------------------------------------------------------------------
BLOCK_TAGS = frozenset({"p", "div", "br", "li", "tr", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
                        "blockquote", "pre", "section", "article", "header", "footer", "dl", "dt", "dd", "address"})
SKIPPED_TAGS = ("script", "style", "title")  # not "head": a missing </head> would hide the whole body
TAG_NAME = re.compile(r"\s*(/?)\s*([a-zA-Z][a-zA-Z0-9]*)")


def html_to_text(source: str) -> str:
    """Readable text of an HTML body: scripts and styles dropped, line breaks kept for blocks, entities unescaped.

    A single forward scan with str.find, linear in the input: html.parser in this runtime (3.13.0) takes quadratic
    time on unterminated comments, quotes and declarations, which any sender can put in a message."""
    source = source[:MAX_HTML]
    lower = source.lower()
    out: list[str] = []
    i, n = 0, len(source)
    while i < n:
        lt = source.find("<", i)
        if lt < 0:
            out.append(_html_data(source[i:]))
            break
        out.append(_html_data(source[i:lt]))
        if source.startswith("<!--", lt):
            end = source.find("-->", lt + 4)
            i = n if end < 0 else end + 3
            continue
        gt = source.find(">", lt + 1)
        if gt < 0:
            out.append(_html_data(source[lt:]))
            break
        i = gt + 1
        match = TAG_NAME.match(source, lt + 1, gt)
        if not match:
            continue  # <!DOCTYPE>, <?xml?>, or a stray "<...>"
        closing, tag = match.group(1), match.group(2).lower()
        if tag in SKIPPED_TAGS and not closing and not source[lt:gt].rstrip().endswith("/"):
            end = lower.find(f"</{tag}", i)
            after = source.find(">", end) if end >= 0 else -1
            i = n if after < 0 else after + 1
        elif tag == "li":
            out.append("" if closing else "\n- ")
        elif tag in BLOCK_TAGS:
            out.append("\n")
        elif tag in ("td", "th"):
            out.append(" ")
    lines = (" ".join(line.split()) for line in "".join(out).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _html_data(data: str) -> str:
    return html.unescape(data) if data else ""


# -- sending --------------------------------------------------------------------------------------
def _message_ref(message_id: str | None, domain: str) -> str:
    local = re.sub(r"[^A-Za-z0-9_+-]", "-", message_id or "")[:200]
    return f"<{local}@{domain}>" if local.strip("-") else email.utils.make_msgid(domain=domain)


def reply_subject(subject: str | None) -> str:
    subject = " ".join(_clean(subject or "").split())[:MAX_SUBJECT]
    return subject if REPLY_PREFIX.match(subject) else f"Re: {subject}".rstrip()


def _build_reply(request: SendRequest, from_header: str, recipient: str, message_ref: str) -> bytes:
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = from_header
    msg["To"] = recipient
    msg["Subject"] = reply_subject(request.subject)
    msg["Date"] = email.utils.format_datetime(clock.now())
    msg["Message-ID"] = message_ref
    # Replies come back to the conversation even when the customer's mail client drops the threading headers.
    msg["Reply-To"] = reply_address(email.utils.parseaddr(request.inbox_id)[1] or from_header, request.conversation_id)
    refs = [ref for ref in dict.fromkeys(request.thread_refs) if MSGID.fullmatch(ref)]
    if refs:
        msg["In-Reply-To"] = refs[-1]
        msg["References"] = " ".join(refs)
    # Quoted-printable keeps every line 7-bit and under SMTP's 998 octets, whatever the agent typed.
    msg.set_content(_clean(request.text.replace("\r\n", "\n")), charset="utf-8", cte="quoted-printable")
    return msg.as_bytes()


def _send_raw(from_address: str, recipient: str, raw: bytes) -> None:
    from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

    try:
        aws.client("sesv2").send_email(FromEmailAddress=from_address, Destination={"ToAddresses": [recipient]},
                                       Content={"Raw": {"Data": raw}})
    except ClientError as exc:
        raise _send_error(exc) from None
    except ParamValidationError as exc:
        raise PermanentSendError("the SES request was invalid") from exc
    except BotoCoreError as exc:  # endpoint, connection and timeout errors: SES may be reachable later
        raise RetryableSendError(f"SES unreachable ({type(exc).__name__})") from exc


def _send_error(exc: Any) -> PermanentSendError | RetryableSendError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0
    if code in RETRYABLE_CODES or status >= 500 or status == 429:
        return RetryableSendError(f"SES throttled or unavailable ({code or status})")
    # SES's own text says what to fix ("Email address is not verified"); addresses are redacted from it.
    detail = ADDRESS.sub("<address>", str(error.get("Message", "")))[:300]
    reason = PERMANENT_REASONS.get(code, f"SES refused the message ({code or status})")
    return PermanentSendError(f"{reason}: {detail}" if detail else reason)


def _load(bucket: str, key: str) -> EmailMessage:
    """The parsed raw message. The processor fetches a message's attachments one by one: each download and parse of
    a message of up to 40 MB happens once, while a HEAD per call notices an object that was replaced or erased."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        etag = aws.s3().head_object(Bucket=bucket, Key=key)["ETag"]
    except (BotoCoreError, ClientError, KeyError) as exc:
        raise MediaError("raw message not found in S3") from exc
    return _load_version(bucket, key, etag)


@lru_cache(maxsize=1)
def _load_version(bucket: str, key: str, etag: str) -> EmailMessage:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        raw = aws.s3().get_object(Bucket=bucket, Key=key, IfMatch=etag)["Body"].read()
    except (BotoCoreError, ClientError) as exc:
        raise MediaError("raw message not readable from S3") from exc
    try:
        return _parse(raw)
    except MalformedPayload as exc:
        raise MediaError("raw message unreadable") from exc

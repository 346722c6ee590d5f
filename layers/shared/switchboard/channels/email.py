"""Email through Amazon SES: raw MIME (stored in S3 by the receipt rule) in, SES v2 SendEmail with raw MIME out.

Email never arrives over HTTP: an SES receipt rule stores the message in S3 and invokes the email function
(services/email_inbound.py), which calls read. Authenticity comes from SES itself (an IAM-invoked Lambda,
spam/virus verdicts; SPF, DKIM and DMARC verdicts are kept on the message), so there is no webhook to verify.
What a machine sent is told apart (RFC 3834): reports about our own mail (bounces, complaints, read receipts) are
MailReports, automatic replies and list or bulk mail are messages marked auto_submitted, our own mail coming back
is dropped, and what we send automatically says so.
"""

from __future__ import annotations

import email
import email.errors
import email.policy
import email.utils
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from email.message import EmailMessage, Message
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from switchboard import aws, clock
from switchboard.channels import files
from switchboard.channels.base import ANY_TYPE, MB, Channel, MediaContent, MediaLimits, MediaRule, WebhookRequest
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

MAX_MIME_TYPE = 127  # RFC 6838's limit for a type/subtype name
# The inbound queue takes 256 KiB per message: a message whose text and attachment list would not fit has its text cut
# (the raw message stays in S3). Real SQS counts UTF-8 bytes, and refuses U+FFFE and U+FFFF (CONTROL strips them).
MAX_ENVELOPE_BYTES = 240_000
MAX_REPORT_REFS = 5

MSGID = re.compile(r"<[^<>\s]{1,250}>")
ADDRESS = re.compile(r"[^@\s<>,;:\"()\[\]\\]{1,64}@[^@\s<>,;:\"()\[\]\\]{1,253}")
BOUNDARY_LINE = re.compile(rb"^--", re.MULTILINE)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
REPLY_PREFIX = re.compile(r"re\s*:", re.IGNORECASE)
SES_MESSAGE_ID = re.compile(r"[A-Za-z0-9-]{10,100}")
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
        if ADDRESS.fullmatch(address) and not CONTROL.search(address) and \
                (not domains or address.rpartition("@")[2] in domains):
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


# Rich replies: attachments of any type, up to SES's 40 MB for the whole message as sent. Base64 makes 57 bytes of a
# file 78 characters on the wire (76 and CRLF), so the files of one reply may hold 57/78 of 40 MB, less room for the
# text and headers. SES refuses some attachment types outright (its list of unsupported extensions, below).
SES_MAX_MESSAGE_BYTES = 40 * MB
MAX_FILES_BYTES = (SES_MAX_MESSAGE_BYTES - 256 * 1024) * 57 // 78
MEDIA_LIMITS = MediaLimits(rules=(
    MediaRule("image", ANY_TYPE, MAX_FILES_BYTES, prefix="image/"),
    MediaRule("audio", ANY_TYPE, MAX_FILES_BYTES, prefix="audio/"),
    MediaRule("video", ANY_TYPE, MAX_FILES_BYTES, prefix="video/"),
    MediaRule("document", ANY_TYPE, MAX_FILES_BYTES),
), max_total_bytes=MAX_FILES_BYTES, max_files=20)
SES_REFUSED_EXTENSIONS = frozenset(
    "ade adp app asp bas bat cer chm cmd com cpl crt csh der exe fxp gadget hlp hta inf ins isp its js jse ksh lib "
    "lnk mad maf mag mam maq mar mas mat mau mav maw mda mdb mde mdt mdw mdz msc msh msh1 msh2 mshxml msh1xml "
    "msh2xml msi msp mst ops pcd pif plg prf prg reg scf scr sct shb shs sys ps1 ps1xml ps2 ps2xml psc1 psc2 tmp "
    "url vb vbe vbs vps vsmacros vss vst vsw vws wsc wsf wsh xnk".split())


class EmailChannel(Channel):
    name = "email"
    reply_window_seconds = None
    media_limits = MEDIA_LIMITS

    def file_problem(self, content_type: str, size: int, filename: str | None = None) -> str | None:
        extension = (filename or "").rpartition(".")[2].lower() if "." in (filename or "") else ""
        if extension in SES_REFUSED_EXTENSIONS:
            return f"Amazon SES does not send .{extension} attachments"
        return super().file_problem(content_type, size, filename)
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
                   bucket: str | None = None, envelope_sender: str | None = None,
                   authentication: dict[str, str] | None = None) -> InboundMessage | None:
        """One received message, normalized; None when it is not a customer message we serve (a delivery report
        about our own mail included: see read).

        Raises MalformedPayload when the MIME cannot be read (never another exception)."""
        mail = self.read(raw, ses_message_id=ses_message_id, recipients=recipients, raw_ref=raw_ref, bucket=bucket,
                         envelope_sender=envelope_sender, authentication=authentication)
        return mail if isinstance(mail, InboundMessage) else None

    def read(self, raw: bytes, *, ses_message_id: str, recipients: list[str], raw_ref: str | None = None,
             bucket: str | None = None, envelope_sender: str | None = None,
             authentication: dict[str, str] | None = None) -> InboundMessage | MailReport | None:
        """One received message: a message to store, a report about mail we sent (a bounce, a complaint, a read
        receipt), or None when it is neither (no usable sender, our own mail come back, not for an inbox of ours).

        `envelope_sender` is the SMTP MAIL FROM as SES saw it ("" for the null sender of bounces), when known;
        `authentication` the receipt's SPF, DKIM and DMARC verdicts. Raises MalformedPayload when the MIME cannot
        be read (never another exception)."""
        inbox = next(iter(allowed_recipients(recipients)), None)
        if not ses_message_id or inbox is None:
            return None
        inbox, conversation_hint = split_reply_address(inbox)
        key = raw_ref or raw_key(ses_message_id)
        msg = _parse(raw)
        try:
            report = _report(msg, envelope_sender)
            if report is not None:
                return report
            message = self._message(msg, ses_message_id, inbox, key, bucket or get_settings().media_bucket,
                                     envelope_sender)
            if message is None:
                return None
            update: dict[str, Any] = {"authentication": _verdicts(authentication)}
            if conversation_hint:
                # Written to a conversation's own reply address: a thread hint the processor checks.
                update["thread_refs"] = [*message.thread_refs, conversation_hint]
            return _fit(message.model_copy(update=update))
        except PARSE_ERRORS as exc:
            raise MalformedPayload("unreadable MIME message") from exc

    def _message(self, msg: EmailMessage, ses_message_id: str, inbox: str, key: str, bucket: str,
                 envelope_sender: str | None) -> InboundMessage | None:
        sender, name = _sender(msg)
        if sender is None:
            return None  # no usable From
        automated = _automated(msg, envelope_sender)
        if _loop(msg, sender, inbox, automated):
            return None  # our own mail come back: never a conversation, and never answered (no reply loop)
        body, text = _best_body(msg)
        subject = _header_text(msg, "Subject", MAX_HEADER, decode=True)
        return InboundMessage(
            channel="email", provider_message_id=ses_message_id, inbox_id=inbox, sender_id=sender,
            identity=f"email:{sender}", sender_name=name, text=text[:MAX_TEXT],
            attachments=_attachments(msg, body, f"s3://{bucket}/{key}"), timestamp=_timestamp(msg),
            subject=" ".join(subject.split())[:MAX_SUBJECT] or None, thread_refs=_thread_refs(msg), raw_ref=key,
            message_ref=next(iter(_msgids(msg, "Message-ID")), None), auto_submitted=automated)

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
        ses_id = _send_raw(from_address, recipient, raw)
        # Deployed, SES overrides a Message-ID header with its own, <its message id@...amazonses.com> (SES developer
        # guide, "header fields"): the reply is recorded under both, so that the customer's answer, a bounce naming
        # it, and SES's own bounce and complaint events (which name SES's id) all find it.
        return SendResult(provider_message_id=message_ref, aliases=[ses_alias(ses_id)] if ses_id else [])


# -- parsing --------------------------------------------------------------------------------------
class _BudgetPolicy(email.policy.EmailPolicy):
    """policy.default that parses each distinct header value once, within a budget (see MAX_STRUCTURED_TOTAL), after
    turning raw 8-bit bytes into text (see _unescape_8bit): every header the stdlib reads goes through here."""

    parsed: dict[tuple[str, str], Any] | None = None
    budget: list[int] | None = None

    def header_fetch_parse(self, name: str, value: Any) -> Any:
        if hasattr(value, "name") or self.parsed is None or self.budget is None:
            return super().header_fetch_parse(name, value)
        value = _unescape_8bit(value)
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


# -- headers: one defensive path ---------------------------------------------------------------------
# Every header this module reads itself goes through _header_values (raw, unfolded, 8-bit decoded, cleaned, cut to a
# limit before anything parses it); the stdlib's own reads (Content-Type, filenames, charsets) go through
# _BudgetPolicy. Nothing a sender writes in a header can reach the store, the queue or a log undecoded.
def _raw_values(msg: Message, name: str) -> list[str]:
    """A header's raw values, unfolded but undecoded (parsing them is left to the caller, after truncation)."""
    lowered = name.lower()
    try:
        items = msg.raw_items()
    except PARSE_ERRORS:
        return []
    return [value.replace("\r", "").replace("\n", "") for key, value in items
            if isinstance(key, str) and key.lower() == lowered and isinstance(value, str)]


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


def _header_values(msg: Message, name: str, limit: int) -> list[str]:
    """Every value of a header as storable text: cut to `limit`, 8-bit bytes decoded, control characters, lone
    surrogates and non-characters removed. Encoded words are left as they are (see _header_text)."""
    return [_clean(_unescape_8bit(value[:limit])).strip() for value in _raw_values(msg, name)]


def _header_text(msg: Message, name: str, limit: int = 998, decode: bool = False) -> str:
    """The first value of a header ("" when absent); `decode` turns RFC 2047 encoded words into text."""
    value = next(iter(_header_values(msg, name, limit)), "")
    if decode and "=?" in value:
        try:
            value = _clean(str(email.policy.default.header_factory(name, value)))
        except PARSE_ERRORS:
            pass  # undecodable encoded words stay as they were written
    return value


def _header(msg: Message, name: str, limit: int) -> Any:
    """A structured header (addresses, parameters) parsed from its cleaned value; None when absent or unreadable."""
    values = _header_values(msg, name, limit)
    if not values:
        return None
    try:
        return email.policy.default.header_factory(name, values[0])
    except PARSE_ERRORS:
        return None


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
        for value in _header_values(msg, name, 65536):
            refs.extend(MSGID.findall(value))
    return list(dict.fromkeys(refs))


SES_ALIAS = "ses:"
SES_MSGID = re.compile(r"<(?P<id>[A-Za-z0-9-]{10,100})@(?:[a-z0-9-]+\.)*amazonses\.com>", re.IGNORECASE)


def ses_alias(ses_message_id: str) -> str:
    """The name under which a reply sent through SES is also recorded: SES replaces our Message-ID with
    <its message id@...amazonses.com>, and its own notifications name that id (see EmailChannel.send)."""
    return f"{SES_ALIAS}{ses_message_id}"


def with_aliases(refs: list[str]) -> list[str]:
    """Message-IDs, each followed by its SES alias when SES made it."""
    out: list[str] = []
    for ref in refs:
        out.append(ref)
        match = SES_MSGID.fullmatch(ref)
        if match:
            out.append(ses_alias(match["id"]))
    return list(dict.fromkeys(out))


def _thread_refs(msg: Message) -> list[str]:
    refs = _msgids(msg, "References", "In-Reply-To")
    refs = refs if len(refs) <= MAX_THREAD_REFS else refs[:1] + refs[-(MAX_THREAD_REFS - 1):]  # root and latest
    return with_aliases(refs)


def _timestamp(msg: Message) -> float:
    now = clock.now().timestamp()
    try:
        moment = email.utils.parsedate_to_datetime(_header_text(msg, "Date", 200))
    except (IndexError, TypeError, ValueError, OverflowError):
        return now
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    ts = moment.timestamp()
    return ts if 0 < ts <= now + 24 * 3600 else now  # a Date far in the future would misorder the conversation


def _verdicts(authentication: dict[str, str] | None) -> dict[str, str] | None:
    """SES's SPF, DKIM and DMARC verdicts as received (PASS, FAIL, GRAY, PROCESSING_FAILED), and the sender's DMARC
    policy when it failed; None when the receipt named none."""
    if not isinstance(authentication, dict):
        return None
    kept = {name: str(authentication[name]).upper() for name in ("spf", "dkim", "dmarc")
            if str(authentication.get(name) or "").upper() in VERDICTS}
    policy = str(authentication.get("dmarc_policy") or "").lower()
    if kept.get("dmarc") == "FAIL" and policy in ("none", "quarantine", "reject"):
        kept["dmarc_policy"] = policy
    return kept or None


VERDICTS = ("PASS", "FAIL", "GRAY", "PROCESSING_FAILED")


# -- automated mail (RFC 3834 and common practice) --------------------------------------------------------
NO_REPLY_SENDER = re.compile(r"^(?:mailer-daemon|postmaster)(?:[+@]|$)", re.IGNORECASE)
AUTO_REPLY_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder")
LIST_HEADERS = ("List-Id", "List-Post")
LOOP_HEADER = "X-Loop"


def _automated(msg: Message, envelope_sender: str | None) -> str | None:
    """Why a message was sent by a machine rather than a person, or None.

    AUTO_REPLIED: an automatic answer to a message (out of office, vacation, a ticket system's acknowledgement);
    'list': mailing-list traffic; 'bulk': bulk mail (Precedence bulk or junk, a List-Unsubscribe without a list);
    'auto_generated': anything else marked automatic (Auto-Submitted, or the null return path)."""
    from switchboard.models import AUTO_REPLIED

    auto_submitted = _header_text(msg, "Auto-Submitted", 200).split(";")[0].strip().lower()
    precedence = _header_text(msg, "Precedence", 200).lower()
    replying = bool(_msgids(msg, "In-Reply-To"))
    if auto_submitted == "auto-replied" or precedence.startswith("auto_reply") or any(
            _header_text(msg, name, 200).lower() not in ("", "no") for name in AUTO_REPLY_HEADERS):
        return AUTO_REPLIED
    if any(_raw_values(msg, name) for name in LIST_HEADERS) or precedence.startswith("list"):
        return "list"
    if precedence.startswith(("bulk", "junk")) or _raw_values(msg, "List-Unsubscribe"):
        return "bulk"
    if auto_submitted not in ("", "no") or _null_sender(msg, envelope_sender):
        # An automatic message that answers one (Exchange's out-of-office replies say auto-generated) is a reply.
        return AUTO_REPLIED if replying else "auto_generated"
    return None


def _null_sender(msg: Message, envelope_sender: str | None) -> bool:
    """The null reverse path (MAIL FROM:<>): what bounces and other automatic replies are sent with."""
    if envelope_sender is not None and envelope_sender.strip() in ("", "<>"):
        return True
    return _header_text(msg, "Return-Path", 300).replace(" ", "") == "<>"


def _own_addresses(inbox: str) -> set[str]:
    own = {inbox, email.utils.parseaddr(get_settings().email_from_address)[1].lower()}
    return {a for a in own if a}


def _loop(msg: Message, sender: str, inbox: str, automated: str | None) -> bool:
    """Our own mail come back: from one of our addresses, carrying our loop marker (a forwarder sending our mail
    back), or an automatic reply from our own domain."""
    from switchboard.models import AUTO_REPLIED

    own = _own_addresses(inbox)
    if sender in own:
        return True
    markers = " ".join(_header_values(msg, LOOP_HEADER, 998)).lower()
    if any(address in markers for address in own):
        return True
    return automated == AUTO_REPLIED and sender.rpartition("@")[2] in {a.rpartition("@")[2] for a in own}


# -- delivery reports: bounces (RFC 3464), complaints (RFC 5965), read receipts (RFC 8098) -----------------------
@dataclass(frozen=True)
class MailReport:
    """A machine's report about a message we sent: never a conversation, applied to what it reports on.

    kind: 'bounce', 'complaint' or 'read_receipt'. refs: the reported message's Message-IDs (with their SES aliases),
    to look ours up by. status: the delivery status it gives that message ('failed', 'delivered', 'read'; None when
    it changes nothing, a delay for instance). suppress: the address must not be mailed again (a complaint, or a
    permanent failure of the address itself)."""

    kind: str
    refs: tuple[str, ...]
    status: str | None = None
    reason: str | None = None
    suppress: bool = False


REPORT_TYPE = re.compile(r"report-type\s*=\s*\"?(?P<type>[a-z-]+)", re.IGNORECASE)
STATUS_CODE = re.compile(r"(?<![\d.])(?P<code>[245]\.\d{1,3}\.\d{1,3})(?![\d.])")
HEADER_MSGID = re.compile(r"^(?:original-)?message-id:[ \t]*(?:\n[ \t]+)?(?P<id><[^<>\s]{1,250}>)",
                          re.IGNORECASE | re.MULTILINE)
COMPLAINT_TYPES = ("abuse", "fraud", "virus", "other", "opt-out", "complaint", "")
MAX_REASON = 300


def _report(msg: Message, envelope_sender: str | None) -> MailReport | None:
    """The report this message is, or None for any other message."""
    from switchboard.models import AUTO_REPLIED

    content_type = _header_text(msg, "Content-Type", MAX_STRUCTURED_HEADER).lower()
    report_type = REPORT_TYPE.search(content_type) if content_type.startswith("multipart/report") else None
    kind = report_type["type"] if report_type else ""
    if kind == "delivery-status":
        return _bounce(msg)
    if kind == "feedback-report":
        return _complaint(msg)
    if kind == "disposition-notification":
        return _read_receipt(msg)
    sender = _header_text(msg, "From", MAX_HEADER)
    address = email.utils.parseaddr(sender)[1]
    if NO_REPLY_SENDER.match(address) and _automated(msg, envelope_sender) != AUTO_REPLIED:
        return _bounce(msg)  # a bounce without the standard format (qmail's "failure notice", older servers)
    return None


def _report_blocks(msg: Message, content_type: str) -> list[Message]:
    """The field blocks of a message/delivery-status, message/feedback-report or message/disposition-notification
    part (the parser gives each block as a message of headers)."""
    for part in _walk(msg):
        if part.get_content_type() != content_type:
            continue
        payload = part.get_payload()
        if isinstance(payload, list):
            return [block for block in payload if isinstance(block, Message)]
        text = payload if isinstance(payload, str) else ""
        return [email.message_from_string(block, policy=email.policy.compat32)
                for block in re.split(r"\r?\n\s*\r?\n", text[:65536]) if block.strip()]
    return []


def _reported_refs(msg: Message, *first: str) -> tuple[str, ...]:
    """The Message-IDs of the message a report is about: named by the report itself, in its attached copy
    (message/rfc822) or headers (text/rfc822-headers), or, for reports in no standard form, quoted in its text."""
    refs = [ref for value in first for ref in MSGID.findall(value)]
    for part in _walk(msg):
        content_type = part.get_content_type()
        if content_type == "message/rfc822" and part.is_multipart():
            inner = part.get_payload(0)
            if isinstance(inner, Message):
                refs += _msgids(inner, "Message-ID")
        elif content_type in ("text/rfc822-headers", "text/plain") and part.get_content_disposition() != "attachment":
            refs += [m["id"] for m in HEADER_MSGID.finditer(_decode(part)[:65536].replace("\r\n", "\n"))]
        if len(refs) >= MAX_REPORT_REFS:
            break
    refs = [_clean(ref) for ref in dict.fromkeys(refs)][:MAX_REPORT_REFS]
    return tuple(with_aliases(refs))


def _reason(text: str) -> str:
    """Text a report gives for a failure, for agents and logs: one line, addresses redacted, cut."""
    text = " ".join(_clean(text).split())
    return re.sub(f"<?{ADDRESS.pattern}>?", "<address>", text)[:MAX_REASON]


def _bounce(msg: Message) -> MailReport:
    blocks = _report_blocks(msg, "message/delivery-status")
    recipients = blocks[1:] or blocks  # the first block is about the message, the others one per recipient
    actions = [(_header_text(b, "Action", 100).lower(), _header_text(b, "Status", 100),
                _header_text(b, "Diagnostic-Code", 1000)) for b in recipients]
    failed = [a for a in actions if a[0] == "failed"]
    if not actions:  # no machine-readable part: what its text says
        text = _best_body(msg)[1]
        code = STATUS_CODE.search(text)
        failed = [("failed", code["code"] if code else "", next(
            (line for line in text.splitlines() if code and code["code"] in line), ""))]
    refs = _reported_refs(msg)
    if failed:
        _, status, diagnostic = failed[0]
        status = (STATUS_CODE.search(status) or STATUS_CODE.search(diagnostic) or {"code": ""})["code"]
        words = _reason(diagnostic) or "no reason given"
        reason = _reason(f"bounced{f' ({status})' if status else ''}: {words}")
        # The address itself is unusable (no such mailbox, disabled): not mailed again. Other failures (policy,
        # size, content) are about that one message.
        suppress = status.startswith("5.1.") or status == "5.2.1"
        return MailReport("bounce", refs, "failed", reason, suppress)
    if any(a[0] in ("delivered", "relayed", "expanded") for a in actions):
        return MailReport("bounce", refs, "delivered")
    return MailReport("bounce", refs)  # delayed: the sending server keeps trying


def _complaint(msg: Message) -> MailReport:
    blocks = _report_blocks(msg, "message/feedback-report")
    feedback = _header_text(blocks[0], "Feedback-Type", 100).lower() if blocks else ""
    complained = feedback in COMPLAINT_TYPES  # not 'not-spam' or 'auth-failure', which are no complaint
    return MailReport("complaint", _reported_refs(msg), reason=f"complaint ({feedback or 'abuse'})" if complained
                      else None, suppress=complained)


def _read_receipt(msg: Message) -> MailReport:
    blocks = _report_blocks(msg, "message/disposition-notification")
    original = " ".join(_header_text(b, "Original-Message-ID", 300) for b in blocks)
    disposition = " ".join(_header_text(b, "Disposition", 300) for b in blocks).lower()
    shown = disposition.rpartition(";")[2].strip().startswith("displayed")
    return MailReport("read_receipt", _reported_refs(msg, original), "read" if shown else None)


# -- content ----------------------------------------------------------------------------------------------
READABLE_TEXT = frozenset({"plain", "html", "enriched", "richtext", "markdown", "x-markdown"})
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
MAX_BODY_CANDIDATES = 20


def _best_body(msg: Message) -> tuple[Message | None, str]:
    """The body part and its text: the plain part when it has words, else the HTML part as text, else any other
    inline text part that has words. (Mail clients send an empty or blank plain part beside the real HTML one.)"""
    candidates: list[Message] = []
    for preference in (("plain",), ("html",)):
        body = msg.get_body(preferencelist=preference) if isinstance(msg, EmailMessage) else None
        if body is not None and not any(body is c for c in candidates):
            candidates.append(body)
    for part in _inline_text_parts(msg):
        if len(candidates) >= MAX_BODY_CANDIDATES:
            break
        if not any(part is c for c in candidates):
            candidates.append(part)
    for part in candidates:
        text = _part_text(part)
        if text.strip(ZERO_WIDTH).strip():
            return part, text
    return (candidates[0] if candidates else None), ""


def _inline_text_parts(msg: Message) -> Iterator[Message]:
    """Readable text parts that are not attachments, outside forwarded messages."""
    parts = list(_walk(msg))
    skip_until = 0
    for index, part in enumerate(parts):
        if index < skip_until:
            continue
        if part.get_content_type() == "message/rfc822":
            skip_until = index + sum(1 for _ in _walk(part))
            continue
        if part.is_multipart() or part.get_content_maintype() != "text":
            continue
        if part.get_content_subtype() in READABLE_TEXT and part.get_content_disposition() != "attachment" \
                and not _filename(part):
            yield part


def _part_text(part: Message) -> str:
    text = _decode(part)
    if part.get_content_subtype() != "plain":
        text = html_to_text(text)  # HTML, and the tag-like enriched and richtext formats
    return _normalize(text)


def _fit(message: InboundMessage) -> InboundMessage:
    """A message the inbound queue takes: its text is cut until the envelope fits (the raw message stays in S3)."""
    size = len(message.model_dump_json(exclude_none=True).encode())
    while size > MAX_ENVELOPE_BYTES and message.text:
        keep = max(0, len(message.text) - (size - MAX_ENVELOPE_BYTES) // 2 - 1000)
        message = message.model_copy(update={"text": message.text[:keep]})
        size = len(message.model_dump_json(exclude_none=True).encode())
    if size > MAX_ENVELOPE_BYTES:  # the attachment list alone is too long: keep what fits
        attachments = message.attachments
        while attachments and size > MAX_ENVELOPE_BYTES:
            attachments = attachments[: len(attachments) // 2]
            message = message.model_copy(update={"attachments": attachments})
            size = len(message.model_dump_json(exclude_none=True).encode())
    return message


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
            url=f"{raw_url}#part:{index}", mime_type=_clean(content_type)[:MAX_MIME_TYPE], size=size,
            status="pending", filename=filename or ("forwarded.eml" if content_type == "message/rfc822" else None)))
    return attachments


def _filename(part: Message) -> str | None:
    name = part.get_filename()  # read through _BudgetPolicy: RFC 2231 and encoded words decoded, 8-bit too
    if not isinstance(name, str):
        return None
    name = _clean(_unescape_8bit(name)).replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[:MAX_FILENAME] or None


def _clean(text: str) -> str:
    """No control characters, lone surrogates or non-characters (JSON, DynamoDB and SQS refuse them)."""
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


def loop_marker(from_address: str) -> str:
    """What every mail we send carries in X-Loop: the same mail coming back in is recognized (see _loop)."""
    return from_address.strip().lower()


def _build_reply(request: SendRequest, from_header: str, recipient: str, message_ref: str) -> bytes:
    """The reply as raw MIME: plain text, threaded, with the reply's files attached (rich replies)."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = from_header
    msg["To"] = recipient
    # A reply answers the thread ("Re: ..."); the first mail of a conversation an agent started is not a reply.
    first = " ".join(_clean(request.subject or "").split())[:MAX_SUBJECT] if not request.thread_refs else ""
    msg["Subject"] = first or reply_subject(request.subject)
    msg["Date"] = email.utils.format_datetime(clock.now())
    msg["Message-ID"] = message_ref
    # Replies come back to the conversation even when the customer's mail client drops the threading headers.
    msg["Reply-To"] = reply_address(email.utils.parseaddr(request.inbox_id)[1] or from_header, request.conversation_id)
    refs = [ref for ref in dict.fromkeys(request.thread_refs) if MSGID.fullmatch(ref)]
    quoted = request.reply_to if request.reply_to and MSGID.fullmatch(request.reply_to) else None
    if quoted and quoted not in refs:  # rich replies: a quoted reply answers that mail, within the thread
        refs.append(quoted)
    if refs:
        msg["In-Reply-To"] = quoted or refs[-1]
        msg["References"] = " ".join(refs)
    if request.automated:
        # RFC 3834 section 5: a greeting, away message or holding reply is an automatic response, so other
        # responders (out-of-office, ticket systems, ours) do not answer it.
        msg["Auto-Submitted"] = "auto-replied"
    msg[LOOP_HEADER] = loop_marker(email.utils.parseaddr(from_header)[1])
    # Quoted-printable keeps every line 7-bit and under SMTP's 998 octets, whatever the agent typed.
    msg.set_content(_clean(request.text.replace("\r\n", "\n")), charset="utf-8", cte="quoted-printable")
    for file in request.files:  # base64, each with its name and type; the text part stays first
        maintype, _, subtype = file.mime_type.partition("/")
        msg.add_attachment(files.read(file), maintype=maintype, subtype=subtype or "octet-stream",
                           filename=_clean(file.filename or f"attachment-{file.index + 1}")[:MAX_FILENAME])
    return msg.as_bytes()


def _send_raw(from_address: str, recipient: str, raw: bytes) -> str | None:
    """Send through SES v2; SES's message id. With the configuration set, SES publishes the message's bounces and
    complaints to the SES events function (see services/mail_feedback.py)."""
    from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

    configuration_set = get_settings().ses_configuration_set
    extra = {"ConfigurationSetName": configuration_set} if configuration_set else {}
    try:
        answer = aws.client("sesv2").send_email(FromEmailAddress=from_address, Destination={"ToAddresses": [recipient]},
                                                Content={"Raw": {"Data": raw}}, **extra)
    except ClientError as exc:
        raise _send_error(exc) from None
    except ParamValidationError as exc:
        raise PermanentSendError("the SES request was invalid") from exc
    except BotoCoreError as exc:  # endpoint, connection and timeout errors: SES may be reachable later
        raise RetryableSendError(f"SES unreachable ({type(exc).__name__})") from exc
    ses_id = answer.get("MessageId") if isinstance(answer, dict) else None
    return ses_id if isinstance(ses_id, str) and SES_MESSAGE_ID.fullmatch(ses_id) else None


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

"""Twilio Programmable Messaging (SMS, MMS, WhatsApp over Twilio): signed form webhooks in, Messages API out."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from switchboard import clock, secrets
from switchboard.channels import files, http
from switchboard.channels.base import (
    ANY_TYPE,
    MB,
    Channel,
    MediaContent,
    MediaLimits,
    MediaRule,
    WebhookReply,
    WebhookRequest,
)
from switchboard.errors import MalformedPayload, MediaError, PermanentSendError, RetryableSendError, SignatureError
from switchboard.models import (
    Attachment,
    IgnoredEvent,
    InboundMessage,
    Location,
    SendRequest,
    SendResult,
    StatusUpdate,
)
from switchboard.settings import get_settings

SIGNATURE_HEADER = "x-twilio-signature"
TWIML_ACK = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
WEBHOOK_PATH = "/webhooks/sms"
MAX_TEXT = 1600
MAX_MEDIA = 10  # MediaUrl0..MediaUrl9
TWILIO_API_HOST = "api.twilio.com"  # the one host Twilio's credentials go to (besides the configured API base URL)
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
# Status callback values (every status Twilio documents for a Message) and what each is to us. Receipts move our
# outbound message forward; interim states say nothing an agent needs; "receiving"/"received" are an inbound
# message's own states. Anything else (a status Twilio adds later) is acknowledged and counted, never refused.
RECEIPTS = {"sent": "sent", "delivered": "delivered", "read": "read", "undelivered": "failed", "failed": "failed"}
INTERIM = frozenset({"accepted", "scheduled", "canceled", "queued", "sending", "partially_delivered"})
INBOUND_STATES = frozenset({"receiving", "received"})
# Fields only an inbound message carries: what the customer sent.
INBOUND_FIELDS = ("Body", "NumMedia", "MediaUrl0")
# Asynchronous delivery failures (status callbacks' ErrorCode), for agents.
DELIVERY_ERRORS = {
    "30003": "unreachable destination handset", "30004": "message blocked by the recipient or carrier",
    "30005": "unknown destination handset", "30006": "landline or unreachable carrier",
    "30007": "filtered by the carrier", "30008": "unknown delivery error",
    "63016": "outside the WhatsApp 24-hour window: only an approved template can be sent",
}
# Send errors (the REST answer's "code") that retrying cannot fix, and why.
PERMANENT_CODES = {
    21211: "invalid 'To' phone number",
    21610: "the recipient opted out (replied STOP); they must reply START before they can be messaged again",
    21408: "sending to this region is not enabled on the account",
    21612: "the 'To' number cannot be reached from this 'From' number",
    21614: "the 'To' number is not a mobile number",
    63016: "outside the WhatsApp 24-hour window: only an approved template can be sent",
    20003: "Twilio rejected the account credentials",
}
RETRYABLE_CODES = frozenset({20429, 63018})  # too many requests; WhatsApp rate limit


def twilio_signature(auth_token: str, url: str, params: dict[str, list[str]]) -> str:
    """Base64 HMAC-SHA1 of the URL followed by every parameter, sorted by name, as name+value (values of a
    repeated name sorted too)."""
    payload = url + "".join(name + value for name in sorted(params) for value in sorted(params[name]))
    digest = hmac.new(auth_token.encode(), payload.encode("utf-8", "surrogatepass"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def url_variants(url: str) -> list[str]:
    """The URL as configured, and with its port removed or the scheme's default port added, as twilio-python
    checks too (Twilio's own signing is inconsistent about ports)."""
    variants = [url]
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return variants
    host = parts.netloc.rpartition("@")[2]
    if port is not None:
        other = parts._replace(netloc=parts.netloc[: len(parts.netloc) - len(host)] + host.rsplit(":", 1)[0])
    else:
        default = 443 if parts.scheme == "https" else 80
        other = parts._replace(netloc=f"{parts.netloc}:{default}")
    variants.append(other.geturl())
    return variants


def _first(params: dict[str, list[str]], name: str) -> str:
    values = params.get(name) or [""]
    return values[0]


def _identity(address: str) -> str:
    phone = address.removeprefix("whatsapp:")
    return f"phone:{phone}" if E164.fullmatch(phone) else f"sms:{address}"


def _attachment_kind(mime: str | None) -> str:
    major = (mime or "").partition("/")[0].lower()
    return major if major in ("image", "audio", "video") else "document"


def _location(params: dict[str, list[str]]) -> Location | None:
    try:
        latitude, longitude = float(_first(params, "Latitude")), float(_first(params, "Longitude"))
    except ValueError:
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):  # also rejects NaN
        return None
    return Location(latitude=latitude, longitude=longitude, name=_first(params, "Label") or None,
                    address=_first(params, "Address") or None)


# Rich replies: MMS, up to 10 files and 5 MB in all (Twilio's MMS limit), only to US and Canadian numbers (+1), sent
# as MediaUrl links Twilio fetches. JPEG, PNG and GIF are resized for the handset; the other types Twilio accepts
# go as they are.
MEDIA_LIMITS = MediaLimits(rules=(
    MediaRule("image", ANY_TYPE, 5 * MB, prefix="image/"),
    MediaRule("audio", ANY_TYPE, 5 * MB, prefix="audio/"),
    MediaRule("video", ANY_TYPE, 5 * MB, prefix="video/"),
    MediaRule("document", frozenset({"application/pdf", "text/vcard", "text/x-vcard", "text/calendar", "text/csv",
                                     "text/rtf", "text/richtext", "text/directory"}), 5 * MB),
), max_total_bytes=5 * MB, max_files=MAX_MEDIA)
NORTH_AMERICAN = re.compile(r"\+1[2-9][0-9]{9}")


def mms_reaches(address: str) -> bool:
    """Whether MMS can be sent from or to this address: a US or Canadian (+1) number, a Messaging Service, or a
    WhatsApp address through Twilio (which takes media everywhere)."""
    return bool(NORTH_AMERICAN.fullmatch(address)) or address.startswith(("MG", "whatsapp:"))


class SmsChannel(Channel):
    name = "sms"
    max_text_chars = MAX_TEXT
    provider_timestamps = False
    reply_window_seconds = None  # SMS has none (WhatsApp over Twilio does: Twilio answers 63016 outside it)
    media_limits = MEDIA_LIMITS

    # -- in ----------------------------------------------------------------------------------
    @staticmethod
    def params(request: WebhookRequest) -> dict[str, list[str]]:
        """The POST parameters Twilio signed: the parsed form, or the body parsed here if the adapter did not."""
        if request.form:
            return request.form
        if request.body and not (request.header("content-type") or "").startswith("application/json"):
            return parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {}

    def verify(self, request: WebhookRequest) -> None:
        token = secrets.get("twilio_auth_token")
        if not token:
            raise SignatureError("no Twilio auth token configured: refusing every request")
        base = get_settings().public_base_url.rstrip("/")
        if not base:
            raise SignatureError("no PUBLIC_BASE_URL configured: Twilio signatures cannot be checked")
        header = request.header(SIGNATURE_HEADER) or ""
        if not header:
            raise SignatureError("missing X-Twilio-Signature")
        # The URL Twilio was given, from configuration: never rebuilt from Host or forwarding headers.
        url = base + request.path + (f"?{request.raw_query}" if request.raw_query else "")
        params = self.params(request)
        body_hash = parse_qs(request.raw_query, keep_blank_values=True).get("bodySHA256")
        if body_hash:
            # JSON-bodied webhooks: the URL (which carries the body's hash) is signed alone.
            expected = hashlib.sha256(request.body).hexdigest()
            if not hmac.compare_digest(body_hash[0].lower().encode("utf-8", "surrogatepass"), expected.encode()):
                raise SignatureError("body hash mismatch")
            params = {}
        candidates = [params]
        if any(len(set(values)) < len(values) for values in params.values()):
            # twilio-python signs each distinct value of a name once, other SDKs each occurrence: accept both.
            candidates.append({name: sorted(set(values)) for name, values in params.items()})
        given = header.strip().encode("utf-8", "surrogatepass")
        matched = False
        for variant in url_variants(url):
            for candidate in candidates:
                # No early exit: the time taken does not tell which variant matched.
                matched |= hmac.compare_digest(given, twilio_signature(token, variant, candidate).encode())
        if not matched:
            raise SignatureError("signature mismatch")

    def parse(self, request: WebhookRequest) -> list[InboundMessage | StatusUpdate | IgnoredEvent]:
        params = self.params(request)
        sid = _first(params, "MessageSid") or _first(params, "SmsMessageSid") or _first(params, "SmsSid")
        if not sid:
            raise MalformedPayload("no MessageSid")
        status = callback_status(params)
        if status is None:
            return [self._message(params, sid)]
        if status in RECEIPTS:
            return [self._status(params, sid, RECEIPTS[status])]
        if status in INTERIM:
            return [IgnoredEvent(channel="sms", reason="interim_status")]
        if status in INBOUND_STATES:
            return [IgnoredEvent(channel="sms", reason="inbound_status")]
        return [IgnoredEvent(channel="sms", reason="unknown_status")]

    def _status(self, params: dict[str, list[str]], sid: str, status: str) -> StatusUpdate:
        # ErrorCode matters on a failure only (Twilio may repeat an earlier warning's code on later statuses).
        code = (_first(params, "ErrorCode").strip() or None) if status == "failed" else None
        title = (_first(params, "ErrorMessage") or DELIVERY_ERRORS.get(code or "")) if code else None
        # Twilio sends no time: the receipt's time is when it reached us.
        return StatusUpdate(channel="sms", provider_message_id=sid, status=status, timestamp=clock.now().timestamp(),
                            error_code=code, error_title=title or None)

    def _message(self, params: dict[str, list[str]], sid: str) -> InboundMessage:
        sender, inbox = _first(params, "From"), _first(params, "To")
        if not sender or not inbox:
            raise MalformedPayload("inbound message without From or To")
        attachments = []
        for index in range(MAX_MEDIA):
            url = _first(params, f"MediaUrl{index}")
            if url:
                mime = _first(params, f"MediaContentType{index}") or None
                attachments.append(Attachment(kind=_attachment_kind(mime), url=url, mime_type=mime))
        fields: dict[str, Any] = {"type": "text", "text": _first(params, "Body")}
        location = _location(params) if "Latitude" in params else None
        if _first(params, "ButtonPayload"):  # a WhatsApp quick-reply button
            fields.update(type="button", payload=_first(params, "ButtonPayload"),
                          text=_first(params, "ButtonText") or fields["text"])
        elif location:
            fields.update(type="location", location=location,
                          text=fields["text"] or ", ".join(p for p in (location.name, location.address) if p))
        elif attachments:
            fields["type"] = attachments[0].kind
        if not fields["text"].strip() and not attachments and not fields.get("location"):
            # Nothing to show (an empty body, a WhatsApp type Twilio does not pass on): say so, never a blank bubble.
            kind = _first(params, "MessageType").strip()
            fields["summary"] = "Message without text" + (f" ({kind[:40]})" if kind and kind != "text" else "")
        # sender_id and inbox_id keep a "whatsapp:" prefix: replies go To/From exactly these addresses.
        return InboundMessage(channel="sms", provider_message_id=sid, inbox_id=inbox, sender_id=sender,
                              identity=_identity(sender), sender_name=_first(params, "ProfileName") or None,
                              attachments=attachments, reply_to=_first(params, "OriginalRepliedMessageSid") or None,
                              timestamp=clock.now().timestamp(), **fields)  # Twilio sends no time

    def acknowledge(self, events: list[Any] | None = None) -> WebhookReply:
        # Empty TwiML: no automatic reply (replies go out through the Messages API).
        return WebhookReply(200, TWIML_ACK, "text/xml")

    # -- out ---------------------------------------------------------------------------------
    @staticmethod
    def _credentials() -> tuple[str, str]:
        sid, token = secrets.get("twilio_account_sid"), secrets.get("twilio_auth_token")
        if not sid or not token:
            raise PermanentSendError("no Twilio account SID or auth token configured")
        return sid, token

    def send(self, request: SendRequest) -> SendResult:
        if not request.text.strip() and not request.files:
            raise PermanentSendError("empty text: Twilio needs a Body")
        self.check_text(request.text)
        sid, token = self._credentials()
        settings = get_settings()
        data: dict[str, Any] = {"To": request.recipient, "Body": request.text}
        if request.choices:  # rich replies: SMS has no buttons; the choices are listed, answered by their number
            data["Body"] = "\n".join([request.text, *(str(c["title"]) for c in request.choices)])
        if request.files:  # MMS: one message, every file a MediaUrl link Twilio fetches
            problem = self.files_problem([(f.mime_type, f.size) for f in request.files], request.recipient,
                                         inbox_id=request.inbox_id)
            if problem:
                raise PermanentSendError(problem)
            data["MediaUrl"] = [files.link(f) for f in request.files]
            if not request.text.strip():
                del data["Body"]
        data["MessagingServiceSid" if request.inbox_id.startswith("MG") else "From"] = request.inbox_id
        if settings.public_base_url:
            data["StatusCallback"] = settings.public_base_url.rstrip("/") + WEBHOOK_PATH
        response = http.request("POST", f"{settings.twilio_api_base_url}/2010-04-01/Accounts/{quote(sid, safe='')}"
                                "/Messages.json", data=data, auth=(sid, token))
        answer = _answer(response)
        if response.status_code < 400:
            provider_id = answer.get("sid")
            if isinstance(provider_id, str) and provider_id:
                return SendResult(provider_message_id=provider_id)
            # Twilio accepted the request (2xx): sending it again could deliver it twice, so the outcome is reported.
            raise PermanentSendError("Twilio accepted the send without a message sid: delivery unknown; "
                                     "check the conversation before sending again", outcome_unknown=True)
        raise _send_error(response, answer)

    def files_problem(self, files: Any, recipient: str, *, inbox_id: str = "", past_window: bool = False) -> str | None:
        if files and not (mms_reaches(recipient) and (not inbox_id or mms_reaches(inbox_id))):
            return "MMS (files) goes only from and to US and Canadian numbers (+1): send a link instead"
        return super().files_problem(files, recipient, inbox_id=inbox_id, past_window=past_window)

    def fetch_media(self, attachment: Attachment) -> MediaContent:
        """Download a MediaUrl: only from Twilio's hosts (http.download), the credentials to the API host alone."""
        if not attachment.url:
            raise MediaError("no media URL")
        try:
            sid, token = self._credentials()
        except PermanentSendError:
            raise MediaError("no Twilio account SID or auth token configured") from None
        settings = get_settings()
        result = http.download(attachment.url, allowed_hosts=http.TWILIO_MEDIA_HOSTS,
                               headers={"Authorization": http.basic_auth(sid, token)},
                               credential_hosts=(TWILIO_API_HOST,), max_bytes=settings.media_max_bytes,
                               api_base_url=settings.twilio_api_base_url)
        data = result.data
        return MediaContent(data=data, mime_type=attachment.mime_type or result.content_type,
                            sha256=hashlib.sha256(data).hexdigest())


def callback_status(params: dict[str, list[str]]) -> str | None:
    """The status a status callback reports, or None for an inbound message: told apart by their fields, whether or
    not the status is one we know. A callback carries MessageStatus (in its legacy form only SmsStatus) about a
    message; an inbound message carries what the customer sent (Body, NumMedia) and SmsStatus=received."""
    status = _first(params, "MessageStatus").strip().lower()
    legacy = _first(params, "SmsStatus").strip().lower()
    inbound = any(name in params for name in INBOUND_FIELDS)
    if inbound and (status or legacy or "received") in INBOUND_STATES:
        return None
    if status:
        return status
    return legacy if legacy and not inbound else None


def _answer(response: Any) -> dict[str, Any]:
    try:
        answer = response.json()
    except (ValueError, TypeError):
        return {}
    return answer if isinstance(answer, dict) else {}


def _send_error(response: Any, answer: dict[str, Any]) -> RetryableSendError | PermanentSendError:
    """The send error a Messages API failure means: {"code": 21211, "message": "...", "status": 400}."""
    status = response.status_code
    code, message = answer.get("code"), answer.get("message")
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    message = message if isinstance(message, str) else ""
    if status == 429 or code in RETRYABLE_CODES:
        return RetryableSendError(f"Twilio rate limit (error {code or status})", retry_after=http.retry_after(response))
    if code in PERMANENT_CODES:
        # STOP is SMS's way of blocking us: the same flag as a blocked Telegram bot.
        return PermanentSendError(f"Twilio error {code}: {PERMANENT_CODES[code]}", recipient_blocked=code == 21610)
    if status >= 500:
        return RetryableSendError(f"Twilio answered {status}", retry_after=http.retry_after(response))
    if code:
        return PermanentSendError(f"Twilio error {code}: {message[:200]}".rstrip(": "))
    return PermanentSendError(f"Twilio answered HTTP {status}")

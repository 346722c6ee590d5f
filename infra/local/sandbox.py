"""The provider sandbox: every outbound provider call lands here, is recorded in the outbox and answered."""

from __future__ import annotations

import hashlib
import json
import struct
import threading
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, unquote

PREFIX = "/_sandbox"


def media_bytes(media_id: str) -> bytes:
    """A real image (a small PNG in a colour of its own), so that the agents' app shows it: named in a text chunk."""
    r, g, b = hashlib.sha256(media_id.encode()).digest()[:3]
    width, height = 96, 64
    rows = b"".join(b"\x00" + bytes((r, g, b)) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"tEXt", f"Comment\x00sandbox media {media_id}".encode()) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


# -- voicemail (issue 17): Twilio's recordings, and what Amazon Transcribe makes of them -----------------------------
TRANSCRIPT = ("Hi, this is a message from the sandbox. I ordered a blue jacket last week and it has not arrived "
              "yet. Could you call me back or send me a text? Thank you.")


def transcribe_output(job_name: str, account: str, transcript: str = TRANSCRIPT) -> bytes:
    """A transcription job's output, in Amazon Transcribe's format (the same words for every recording): the
    transcript in results.transcripts[0].transcript, and its words as items."""
    words = transcript.replace(".", " .").replace(",", " ,").replace("?", " ?").split()
    items, at = [], 0.0
    for word in words:
        if word in ".,?":
            items.append({"type": "punctuation", "alternatives": [{"confidence": "0.0", "content": word}]})
            continue
        items.append({"start_time": f"{at:.2f}", "end_time": f"{at + 0.3:.2f}", "type": "pronunciation",
                      "alternatives": [{"confidence": "0.99", "content": word}]})
        at += 0.35
    return json.dumps({"jobName": job_name, "accountId": account, "status": "COMPLETED",
                       "results": {"transcripts": [{"transcript": transcript}], "items": items}}).encode()


def recording_bytes(recording_sid: str, seconds: float = 1.5) -> bytes:
    """A real recording (a WAV of a short tone whose pitch is the recording's own), so that the app plays it."""
    import io
    import math
    import wave

    rate = 8000  # Twilio records calls at 8 kHz, mono
    pitch = 300 + hashlib.sha256(recording_sid.encode()).digest()[0] * 2
    frames = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * pitch * n / rate)))
                      for n in range(int(rate * seconds)))
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(frames)
    return out.getvalue()


def recording_answer(subpath: str) -> tuple[int, dict[str, str], bytes]:
    """GET .../Recordings/{sid}[.wav|.mp3]: the audio."""
    sid = subpath.split("/Recordings/", 1)[1].strip("/").partition("/")[0]
    return 200, {"Content-Type": "audio/x-wav"}, recording_bytes(sid.split(".")[0])


FIRST_NAMES = ("Ada", "Bilal", "Chiara", "Dmitri", "Esi", "Farah", "Goran", "Hana", "Ines", "Jonas", "Kemal", "Lea",
               "Mateo", "Noor", "Oskar", "Priya")
LAST_NAMES = ("Okafor", "Lindqvist", "Moreau", "Tanaka", "Kowalski", "Haddad", "Ferreira", "Novak")


def profile(user_id: str, instagram: bool = False) -> dict[str, Any]:
    """A Graph user profile for a PSID or IGSID: a plausible name of its own, the same for every look-up."""
    digest = hashlib.sha256(user_id.encode()).digest()
    first, last = FIRST_NAMES[digest[0] % len(FIRST_NAMES)], LAST_NAMES[digest[1] % len(LAST_NAMES)]
    if instagram:
        return {"id": user_id, "name": f"{first} {last}", "username": f"{first}.{last}{digest[2]}".lower()}
    return {"id": user_id, "first_name": first, "last_name": last, "name": f"{first} {last}"}


def post_answer(base: str, channel: str, post_id: str) -> dict[str, Any]:
    """issue 17: a Graph read of a post (Facebook) or media (Instagram): a permalink, a caption, a picture the
    sandbox serves (GET .../media/<id>)."""
    picture = f"{base}/media/post-{quote(post_id, safe='')}/picture.png"
    text = "Our spring collection is here: which colour is your favourite?"
    if channel == "instagram":
        return {"id": post_id, "permalink": f"https://www.instagram.com/p/{quote(post_id, safe='')}/",
                "caption": text, "media_type": "IMAGE", "media_url": picture}
    return {"id": post_id, "permalink_url": f"https://www.facebook.com/{quote(post_id, safe='')}",
            "message": text, "full_picture": picture}


# templates capability: the WhatsApp Business Account's message templates, as Graph lists them (a few approved ones
# with body variables, a media header, a text header, buttons and named parameters; one pending, one rejected).
TEMPLATE_PAGE_SIZE = 2  # small, so that every sync follows Graph's paging
WHATSAPP_TEMPLATES: list[dict[str, Any]] = [
    {"name": "order_update", "language": "en_US", "status": "APPROVED", "category": "UTILITY", "id": "1001",
     "parameter_format": "POSITIONAL", "components": [
         {"type": "HEADER", "format": "IMAGE",
          "example": {"header_handle": ["https://shop.example.com/images/parcel.png"]}},
         {"type": "BODY", "text": "Hi {{1}}, your order {{2}} has shipped and should arrive by {{3}}.",
          "example": {"body_text": [["Ann", "#10432", "Friday"]]}},
         {"type": "FOOTER", "text": "Example Shop"},
         {"type": "BUTTONS", "buttons": [
             {"type": "URL", "text": "Track order", "url": "https://shop.example.com/track/{{1}}",
              "example": ["https://shop.example.com/track/10432"]},
             {"type": "QUICK_REPLY", "text": "Talk to support"}]}]},
    {"name": "support_followup", "language": "en_US", "status": "APPROVED", "category": "UTILITY", "id": "1002",
     "parameter_format": "POSITIONAL", "components": [
         {"type": "HEADER", "format": "TEXT", "text": "About your request {{1}}",
          "example": {"header_text": ["#5521"]}},
         {"type": "BODY", "text": "Hello {{1}}, we are getting back to you about your request. Reply to this message "
                                  "to continue the conversation.", "example": {"body_text": [["Ann"]]}},
         {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Yes, please"},
                                         {"type": "QUICK_REPLY", "text": "No, thanks"}]}]},
    {"name": "appointment_reminder", "language": "es_ES", "status": "APPROVED", "category": "UTILITY", "id": "1003",
     "parameter_format": "NAMED", "components": [
         {"type": "BODY", "text": "Hola {{nombre}}, te recordamos tu cita del {{fecha}}. Responde a este mensaje si "
                                  "necesitas cambiarla.",
          "example": {"body_text_named_params": [{"param_name": "nombre", "example": "Ana"},
                                                 {"param_name": "fecha", "example": "12 de mayo"}]}}]},
    {"name": "invoice_ready", "language": "en_US", "status": "APPROVED", "category": "UTILITY", "id": "1004",
     "parameter_format": "POSITIONAL", "components": [
         {"type": "HEADER", "format": "DOCUMENT",
          "example": {"header_handle": ["https://shop.example.com/invoices/sample.pdf"]}},
         {"type": "BODY", "text": "Hi {{1}}, your invoice {{2}} is ready: it is attached to this message.",
          "example": {"body_text": [["Ann", "INV-2031"]]}}]},
    {"name": "support_reply", "language": "en_US", "status": "APPROVED", "category": "UTILITY", "id": "1005",
     "parameter_format": "POSITIONAL", "components": [
         {"type": "BODY", "text": "Our support team replied: {{1}}",
          "example": {"body_text": [["Your refund is on its way."]]}}]},
    # the satisfaction survey past the 24-hour window (settings survey.whatsapp_template = "rate_us:en_US")
    {"name": "rate_us", "language": "en_US", "status": "APPROVED", "category": "UTILITY", "id": "1008",
     "parameter_format": "POSITIONAL", "components": [
         {"type": "BODY", "text": "Thanks for contacting us. How would you rate the help you received?"},
         {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": label}
                                         for label in ("1 Poor", "2 Fair", "3 Good", "4 Very good", "5 Excellent")]}]},
    {"name": "spring_sale", "language": "en_US", "status": "PENDING", "category": "MARKETING", "id": "1006",
     "components": [{"type": "BODY", "text": "Spring sale: 20% off everything this week."}]},
    {"name": "old_promo", "language": "en_US", "status": "REJECTED", "category": "MARKETING", "id": "1007",
     "components": [{"type": "BODY", "text": "Buy now!!!"}]},
]


def is_indicator(subpath: str, body: Any) -> bool:
    """A read receipt or typing indicator (WhatsApp status read, Messenger/Instagram sender_action, Telegram
    sendChatAction), not a message."""
    if subpath.endswith("sendChatAction"):
        return True
    return isinstance(body, dict) and (body.get("status") == "read" or "sender_action" in body)


def template_page(base: str, after: str | None, limit: int) -> dict[str, Any]:
    """One page of GET /{waba-id}/message_templates, with Graph's cursors (`after` is the next item's index)."""
    start = int(after) if after and after.isdigit() else 0
    size = max(1, min(limit, TEMPLATE_PAGE_SIZE))
    data = WHATSAPP_TEMPLATES[start:start + size]
    page: dict[str, Any] = {"data": data, "paging": {"cursors": {"before": str(start), "after": str(start + size)}}}
    if start + size < len(WHATSAPP_TEMPLATES):
        page["paging"]["next"] = f"{base}?limit={size}&after={start + size}"
    return page
# -- rich replies: files sent to providers ------------------------------------------------------------
class Refusal(Exception):
    """A provider's error answer to a request it cannot act on (a link it cannot fetch)."""

    def __init__(self, status: int, body: dict[str, Any]):
        super().__init__(status)
        self.status, self.body = status, body


def multipart_summary(content_type: str, body: bytes) -> dict[str, Any]:
    """A multipart/form-data upload as the outbox records it: the form fields, and each file by its name, type,
    size and SHA-256 (not its bytes)."""
    import email.parser
    import email.policy

    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    form: dict[str, str] = {}
    files: list[dict[str, Any]] = []
    for part in message.iter_parts() if message.is_multipart() else []:
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if part.get_filename() is not None:
            files.append({"field": name, "filename": part.get_filename(), "content_type": part.get_content_type(),
                          "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
        elif name:
            form[str(name)] = data.decode("utf-8", "replace")
    return {"form": form, "files": files}


def interactive_problem(body: Any) -> str | None:
    """What Graph would refuse in a WhatsApp interactive message (rich replies: buttons and lists), or None."""
    interactive = body.get("interactive") if isinstance(body, dict) and body.get("type") == "interactive" else None
    if not isinstance(interactive, dict):
        return None
    if len(str((interactive.get("body") or {}).get("text", ""))) not in range(1, 1025):
        return "interactive.body.text must be 1 to 1024 characters"
    action = interactive.get("action") or {}
    if interactive.get("type") == "button":
        buttons = action.get("buttons") or []
        if not 1 <= len(buttons) <= 3 or any(len(str((b.get("reply") or {}).get("title", ""))) not in range(1, 21)
                                             for b in buttons):
            return "1 to 3 reply buttons, titles 1 to 20 characters"
    elif interactive.get("type") == "list":
        rows = [r for section in action.get("sections") or [] for r in section.get("rows") or []]
        if not 1 <= len(rows) <= 10 or any(len(str(r.get("title", ""))) not in range(1, 25) for r in rows) \
                or len(str(action.get("button", ""))) not in range(1, 21):
            return "1 to 10 list rows, titles 1 to 24 characters, a button label 1 to 20"
    return None


def upload_id(kind: str, body: Any) -> str:
    """A provider's id for an uploaded file: the same file, the same id (a retried upload gets the one it had)."""
    files = body.get("files") if isinstance(body, dict) else None
    if not files:
        raise Refusal(400, {"error": {"message": "(#100) The parameter file is required", "code": 100}})
    return f"{kind}-{files[0]['sha256'][:24]}"


def _media_link(body: Any) -> str | None:
    """A WhatsApp message's media sent by link, if any."""
    if not isinstance(body, dict):
        return None
    media = body.get(str(body.get("type"))) if body.get("type") in ("image", "audio", "video", "document") else None
    return str(media["link"]) if isinstance(media, dict) and media.get("link") else None


def fetchable(url: str) -> bool:
    """Whether a link a provider is given to fetch works (a presigned S3 link: fetched as the provider would)."""
    import requests

    try:
        response = requests.get(url, timeout=10)
    except requests.RequestException:
        return False
    return response.status_code == 200 and bool(response.content)


@dataclass
class Fault:
    status: int
    count: int
    retry_after: int | None = None
    body: dict[str, Any] | None = None
    indicators: bool = False  # also fail read receipts and typing indicators (by default only sends)


@dataclass
class Sandbox:
    base_url: str
    outbox: list[dict[str, Any]] = field(default_factory=list)
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def channel_base(self, channel: str) -> str:
        return f"{self.base_url}{PREFIX}/{channel}"

    def add_fault(self, channel: str, fault: Fault) -> None:
        with self.lock:
            self.faults.setdefault(channel, []).append(fault)

    def _take_fault(self, channel: str, indicator: bool = False) -> Fault | None:
        with self.lock:
            queue = self.faults.get(channel) or []
            if queue and indicator and not queue[0].indicators:
                return None
            if not queue:
                return None
            fault = queue[0]
            fault.count -= 1
            if fault.count <= 0:
                queue.pop(0)
            return fault

    def handle(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
               ) -> tuple[int, dict[str, str], bytes]:
        rest = path[len(PREFIX) + 1:]
        channel, _, subpath = rest.partition("/")
        if method == "GET" and channel == "twilio" and "/Recordings/" in subpath:  # issue 17: voicemail
            return recording_answer(subpath)
        if method == "GET" and "/media/" in f"/{subpath}":  # any channel's media download
            media_id = f"/{subpath}".split("/media/", 1)[1].split("/")[0]
            return 200, {"Content-Type": "image/png"}, media_bytes(media_id)
        content_type = headers.get("content-type", headers.get("Content-Type", ""))
        recorded: Any
        if content_type.startswith("multipart/form-data"):
            recorded = multipart_summary(content_type, body)
        elif content_type.startswith("application/json"):
            try:
                recorded = json.loads(body or b"null")
            except ValueError:
                recorded = body.decode("utf-8", "replace")
        else:
            recorded = body.decode("utf-8", "replace")
        url = f"{self.base_url}{path}" + (f"?{query}" if query else "")
        safe_headers = {k: v for k, v in headers.items() if k.lower() not in ("host", "content-length")}
        # Faults are for what a test sends: a read receipt or typing indicator the app makes meanwhile (issue 15)
        # passes them by, so that "the next send fails" means the next send.
        fault = self._take_fault(channel, indicator=is_indicator(subpath, recorded))
        if method != "GET":
            with self.lock:
                self.outbox.append({"channel": channel, "method": method, "url": url, "headers": safe_headers,
                                    "body": recorded, "answered": fault.status if fault else 200})
        if fault:
            extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            payload = fault.body or {"error": {"message": "sandbox fault", "code": fault.status}}
            return fault.status, {"Content-Type": "application/json", **extra}, json.dumps(payload).encode()
        try:
            answer = getattr(self, f"_{channel}", self._generic)(method, subpath, recorded, parse_qs(query))
        except Refusal as refusal:  # answered as the provider answers a request it cannot act on
            return refusal.status, {"Content-Type": "application/json"}, json.dumps(refusal.body).encode()
        return 200, {"Content-Type": "application/json"}, json.dumps(answer).encode()

    def _whatsapp(self, method: str, subpath: str, body: Any, query: dict[str, list[str]]) -> dict[str, Any]:
        parts = subpath.strip("/").split("/")
        if method == "GET" and parts[-1] == "message_templates":  # the WABA's templates, paginated
            limit = (query.get("limit") or ["25"])[0]
            return template_page(f"{self.channel_base('whatsapp')}/{subpath.strip('/')}", (query.get("after") or [""])[0],
                                 int(limit) if limit.isdigit() else 25)
        if method == "GET" and len(parts) >= 2:  # media look-up: /vNN/{media_id}
            media_id = parts[-1]
            data = media_bytes(media_id)
            return {"id": media_id, "url": f"{self.channel_base('whatsapp')}/media/{media_id}/download",
                    "mime_type": "image/png", "sha256": hashlib.sha256(data).hexdigest(), "file_size": len(data),
                    "messaging_product": "whatsapp"}
        if subpath.rstrip("/").endswith("/media"):  # rich replies: POST /{phone_number_id}/media (multipart)
            return {"id": upload_id("wamedia", body)}
        if isinstance(body, dict) and body.get("status") == "read":  # issue 15: a read receipt (typing rides on it)
            if not str(body.get("message_id") or "").startswith("wamid."):
                raise Refusal(400, {"error": {"message": "(#100) Invalid parameter: message_id", "code": 100,
                                              "type": "OAuthException"}})
            return {"success": True}
        link = _media_link(body)
        if link is not None and not fetchable(link):  # sent by link: Meta fetches it, and fails the send if it cannot
            raise Refusal(400, {"error": {"message": "(#131053) Media upload error: the link could not be fetched",
                                          "code": 131053, "type": "OAuthException"}})
        problem = interactive_problem(body)  # rich replies: Graph's limits on buttons and lists (error 131009)
        if problem:
            raise Refusal(400, {"error": {"message": f"(#131009) Parameter value is not valid: {problem}",
                                          "code": 131009, "type": "OAuthException"}})
        to = body.get("to") if isinstance(body, dict) else None
        return {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": f"wamid.sandbox-{uuid.uuid4().hex}"}]}

    def _comments(self, channel: str, method: str, subpath: str, body: Any,
                  query: dict[str, list[str]]) -> dict[str, Any] | None:
        """issue 17: Graph's comment calls (a post or comment read; a public answer; hide, unhide, delete); None for
        any other call."""
        parts = [unquote(p) for p in subpath.strip("/").split("/")]
        fields = (query.get("fields") or [""])[0]
        if method == "GET" and "permalink" in fields:  # a post (Facebook) or media (Instagram)
            return post_answer(self.channel_base(channel), channel, parts[-1])
        if method == "GET" and fields.startswith("text"):  # a mentioned comment
            return {"id": parts[-1], "text": "Look what I got from @switchboard_shop!", "username": "mia.mention",
                    "from": {"id": f"IGSID-{parts[-1]}", "username": "mia.mention"}}
        if method == "DELETE":
            return {"success": True}
        if method == "POST" and parts[-1] in ("comments", "replies", "mentions"):
            return {"id": f"{parts[-2] if parts[-1] != 'mentions' else 'mention'}_reply-{uuid.uuid4().hex[:12]}"}
        if method == "POST" and isinstance(body, dict) and ("is_hidden" in body or "hide" in body):
            return {"success": True}
        recipient = (body.get("recipient") or {}) if isinstance(body, dict) else {}
        if method == "POST" and isinstance(recipient, dict) and recipient.get("comment_id"):  # a private reply
            return {"recipient_id": f"PSID-{recipient['comment_id']}", "message_id": f"m_sandbox-{uuid.uuid4().hex}"}
        return None

    def _messenger(self, method: str, subpath: str, body: Any, query: dict[str, list[str]]) -> dict[str, Any]:
        if isinstance(body, dict) and body.get("sender_action"):  # issue 15: mark_seen, typing_on (no message id)
            if body["sender_action"] not in ("mark_seen", "typing_on", "typing_off"):
                raise Refusal(400, {"error": {"message": "(#100) Invalid sender_action", "code": 100,
                                              "type": "OAuthException"}})
            return {"recipient_id": (body.get("recipient") or {}).get("id")}
        answer = self._comments("messenger", method, subpath, body, query)
        if answer is not None:
            return answer
        if method == "GET":  # user profile look-up: /vNN/{PSID}?fields=...
            return profile(unquote(subpath.strip("/").split("/")[-1]))
        if subpath.rstrip("/").endswith("/message_attachments"):  # rich replies: the Attachment Upload API
            return {"attachment_id": upload_id("attachment", body)}
        payload = ((body.get("message") or {}).get("attachment") or {}).get("payload") if isinstance(body, dict) else None
        if isinstance(payload, dict) and payload.get("url") and not fetchable(str(payload["url"])):
            raise Refusal(400, {"error": {"message": "(#100) Upload attachment failure: the URL could not be fetched",
                                          "code": 100, "error_subcode": 2018008, "type": "OAuthException"}})
        quick = ((body.get("message") or {}).get("quick_replies") or []) if isinstance(body, dict) else []
        if len(quick) > 13 or any(len(str(q.get("title", ""))) > 20 or not q.get("payload") for q in quick):
            raise Refusal(400, {"error": {"message": "(#100) quick_replies: at most 13, titles up to 20 characters, "
                                          "each with a payload", "code": 100, "type": "OAuthException"}})
        recipient = (body.get("recipient") or {}).get("id") if isinstance(body, dict) else None
        return {"recipient_id": recipient, "message_id": f"m_sandbox-{uuid.uuid4().hex}"}

    def _instagram(self, method: str, subpath: str, body: Any, query: dict[str, list[str]]) -> dict[str, Any]:
        answer = self._comments("instagram", method, subpath, body, query)
        if answer is not None:
            return answer
        if method == "GET":  # user profile look-up: /vNN/{IGSID}?fields=name,username
            return profile(unquote(subpath.strip("/").split("/")[-1]), instagram=True)
        return self._messenger(method, subpath, body, query)

    def _telegram(self, method: str, subpath: str, body: Any, query: dict[str, list[str]]) -> dict[str, Any]:
        if subpath.endswith("/getFile"):
            file_id = (query.get("file_id") or [""])[0] or (body.get("file_id") if isinstance(body, dict) else "")
            return {"ok": True, "result": {"file_id": file_id, "file_path": f"media/{file_id}/file"}}
        if subpath.endswith("/answerCallbackQuery"):  # a pressed button's spinner stopped
            return {"ok": True, "result": True}
        if subpath.endswith("/sendChatAction"):  # issue 15: "typing…" shown to the customer
            return {"ok": True, "result": True}
        keyboard = ((body.get("reply_markup") or {}).get("inline_keyboard") or []) if isinstance(body, dict) else []
        if any(not 1 <= len(str(b.get("callback_data", "")).encode()) <= 64 for row in keyboard for b in row):
            raise Refusal(400, {"ok": False, "error_code": 400,
                                "description": "Bad Request: BUTTON_DATA_INVALID"})
        chat = body.get("chat_id") if isinstance(body, dict) else None
        if isinstance(body, dict) and "form" in body:  # rich replies: sendPhoto, sendDocument... as multipart
            form = body["form"]
            chat = int(form["chat_id"]) if str(form.get("chat_id", "")).lstrip("-").isdigit() else form.get("chat_id")
            return {"ok": True, "result": {"message_id": int(uuid.uuid4().int % 10**9), "chat": {"id": chat},
                                           "date": 0, "caption": form.get("caption")}}
        return {"ok": True, "result": {"message_id": int(uuid.uuid4().int % 10**9), "chat": {"id": chat},
                                       "date": 0, "text": body.get("text") if isinstance(body, dict) else None}}

    def _twilio(self, method: str, subpath: str, body: Any, query: dict[str, list[str]]) -> dict[str, Any]:
        links = parse_qs(body).get("MediaUrl", []) if isinstance(body, str) else []
        if any(not fetchable(link) for link in links):  # MMS: Twilio fetches each MediaUrl
            raise Refusal(400, {"code": 11200, "message": "HTTP retrieval failure: a MediaUrl could not be fetched",
                                "status": 400})
        return {"sid": f"{'MM' if links else 'SM'}{uuid.uuid4().hex}", "status": "queued"}

    def _generic(self, method: str, subpath: str, body: Any, query: dict[str, list[str]]) -> dict[str, Any]:
        return {"ok": True, "id": f"sandbox-{uuid.uuid4().hex}"}

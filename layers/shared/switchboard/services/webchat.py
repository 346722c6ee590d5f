"""The widget's side of web chat: sessions, messages in (idempotent by client_message_id), replies out."""

from __future__ import annotations

from typing import Any

from switchboard import clock, ids
from switchboard.channels import referrals
from switchboard.channels.fields import storable
from switchboard.channels.webchat import (
    MAX_TEXT,
    Visitor,
    check_origin,
    identity_vouched,
    issue_token,
    new_visitor_id,
    rate_limit_key,
)
from switchboard.errors import BadRequest, Forbidden
from switchboard.services import ingest, media, ratelimit, uploads
from switchboard.settings import get_settings
from switchboard.store import contacts, conversations, markers, messages
from switchboard.store.table import Table

DEFAULT_WIDGET = "default"
VISITOR_SEPARATOR = ":"  # a visitor's message has the provider id `<visitor id>:<client message id>`


def start_session(origin: str | None, body: dict[str, Any], source_ip: str | None = None) -> dict[str, Any]:
    check_origin(origin)
    limit_address(source_ip, "session")
    visitor_id = body.get("visitor_id")
    if visitor_id is not None and (not isinstance(visitor_id, str) or not visitor_id.startswith("v_")
                                   or len(visitor_id) != 34 or not _token_like(visitor_id) or not visitor_id[2:].isalnum()):
        raise BadRequest("visitor_id is not one we issued", code="invalid_visitor")
    widget = body.get("widget_id") or DEFAULT_WIDGET
    name, email = body.get("name"), body.get("email")
    if isinstance(widget, str) and not _token_like(widget):
        raise BadRequest("widget_id must be printable ASCII", code="invalid_session")
    if email is not None and not identity_vouched(email, body.get("identity_hash")):
        # An address typed into a widget proves nothing: only the website's own backend, which signs the address
        # of its signed-in user, may tie a chat to a contact known elsewhere (else anyone could read their chat).
        raise Forbidden("an email needs the website's identity_hash", code="identity_not_verified")
    if not isinstance(widget, str) or len(widget) > 64 or (name is not None and not isinstance(name, str)) \
            or (email is not None and (not isinstance(email, str) or "@" not in email or len(email) > 320)):
        raise BadRequest("widget_id, name and email must be short strings", code="invalid_session")
    source, page = body.get("source"), referrals.page_url(body.get("page_url"))
    if source is not None and (not isinstance(source, str) or not 1 <= len(source) <= referrals.MAX_REF
                               or not _token_like(source) or " " in source):
        raise BadRequest("source must be a short reference (printable ASCII, no spaces)", code="invalid_session")
    visitor = Visitor(visitor_id=visitor_id or new_visitor_id(), widget_id=widget,
                      name=storable(name[:200]) if name else None, email=email.strip().lower() if email else None,
                      source=source, page_url=page)
    token, expires = issue_token(visitor)
    return {"token": token, "visitor_id": visitor.visitor_id, "expires_at": clock.iso(clock.from_epoch(expires))}


def _token_like(value: str) -> bool:
    """An identifier we key items by: printable ASCII only."""
    return value.isascii() and value.isprintable()


def post_message(visitor: Visitor, body: dict[str, Any], source_ip: str | None = None) -> dict[str, Any]:
    from switchboard.models import InboundMessage

    limit_address(source_ip, "message")
    limit_visitor(visitor)
    client_id, text = body.get("client_message_id"), body.get("text")
    upload_ids = body.get("attachment_ids") or []  # rich replies: the visitor's uploads (POST /webchat/uploads)
    if not isinstance(client_id, str) or not 8 <= len(client_id) <= 64 or not _token_like(client_id):
        raise BadRequest("client_message_id (8 to 64 printable ASCII characters) is required", code="invalid_message")
    if not isinstance(upload_ids, list) or not all(isinstance(u, str) for u in upload_ids):
        raise BadRequest("attachment_ids must be a list of upload ids", code="invalid_message")
    if text is None and upload_ids:
        text = ""
    if not isinstance(text, str) or (not text.strip() and not upload_ids) or len(text) > MAX_TEXT:
        raise BadRequest(f"text (1 to {MAX_TEXT} characters) is required", code="invalid_message")
    text = storable(text.strip() if upload_ids and not text.strip() else text)  # no lone surrogates: SQS refuses them
    payload = body.get("payload")  # rich replies: the id of a button the visitor chose (an in-channel survey's)
    if payload is not None and (not isinstance(payload, str) or not 1 <= len(payload) <= 64
                                or not _token_like(payload)):
        raise BadRequest("payload must be a button's id (1 to 64 printable ASCII characters)", code="invalid_message")
    provider_id = f"{visitor.visitor_id}{VISITOR_SEPARATOR}{client_id}"
    try:
        files = uploads.visitor_attachments(visitor, upload_ids) if upload_ids else []
    except BadRequest as exc:
        # A retry of a message already taken: its uploads were copied and deleted since. Answered as a repeat.
        if exc.code == "upload_not_found" and markers.get(Table(), "webchat", provider_id):
            return {"id": ids.stable_id("m_", "webchat", provider_id), "client_message_id": client_id,
                    "duplicate": True}
        raise
    event = InboundMessage(channel="webchat", provider_message_id=provider_id, inbox_id=visitor.widget_id,
                           sender_id=visitor.visitor_id, identity=visitor.identity, sender_name=visitor.name,
                           text=text, timestamp=clock.now().timestamp(), attachments=files,
                           type=files[0].kind if files and not text else "text", payload=payload,
                           referral=referrals.referral(visitor.source, None, visitor.page_url))
    counts = ingest.ingest([event])
    return {"id": ids.stable_id("m_", "webchat", provider_id), "client_message_id": client_id,
            "duplicate": counts["duplicates"] > 0}


def list_messages(visitor: Visitor, cursor: str | None = None) -> dict[str, Any]:
    """The visitor's own conversation only: found from the identity in their signed token."""
    table = Table()
    contact = contacts.find(table, visitor.identity)
    conv = conversations.active(table, "webchat", visitor.widget_id, contact.id) if contact else None
    if conv is None:
        if cursor:  # no conversation has pages to resume: a cursor here was made up, or is from one that is gone
            raise BadRequest("invalid cursor", code="invalid_cursor")
        return {"items": [], "next_cursor": None}
    items, next_cursor = messages.page(table, conv.id, limit=100, cursor=cursor)
    visible = [m for m in items if m.type != "note"]
    return {"items": [{"id": m.id, "direction": m.direction, "text": m.text, "created_at": m.created_at,
                       "status": "sent" if m.direction == "outbound" and m.status in ("queued", "sending") else m.status,
                       "from": "you" if m.direction == "inbound" else "agent", "attachments": _files(m),
                       # rich replies: buttons to answer with (an in-channel survey), and what a reply quotes
                       **({"choices": m.choices} if m.choices else {}),
                       **({"quoted": {"text": m.quoted.get("text"), "from": "you" if m.quoted.get("direction") ==
                                      "inbound" else "agent"}} if m.quoted else {})}
                      for m in visible if m.direction == "inbound" or m.status not in ("failed",)],
            "next_cursor": next_cursor}


# -- rate limits (issue 11): per visitor and per client address, in DynamoDB (services/ratelimit.py) -------------
def limit_address(source_ip: str | None, what: str) -> None:
    """Count a new session or a message of the client address; 429 over the address's limits."""
    address = ratelimit.client_address(source_ip)
    if address is None:  # no address (never behind API Gateway): the visitor's own limits still hold
        return
    settings = get_settings()
    limits = ([ratelimit.Limit("session", 3600, settings.webchat_address_sessions_per_hour)] if what == "session"
              else [ratelimit.Limit("message", 60, settings.webchat_address_messages_per_minute)])
    ratelimit.check(Table(), "webchat-address", ratelimit.subject(rate_limit_key(), address), limits,
                    "new chats from your network" if what == "session" else "messages from your network")


def limit_visitor(visitor: Visitor) -> None:
    """Count a message of the visitor (per minute and per hour, in one write); 429 over either."""
    settings = get_settings()
    ratelimit.check(Table(), "webchat-visitor", ratelimit.subject(rate_limit_key(), visitor.visitor_id),
                    [ratelimit.Limit("message", 60, settings.webchat_visitor_messages_per_minute),
                     ratelimit.Limit("message", 3600, settings.webchat_visitor_messages_per_hour)], "messages")
def _files(message: Any) -> list[dict[str, Any]]:
    """A message's files as the widget shows them: a short-lived link once stored (rich replies)."""
    return [{"kind": a.kind, "filename": a.filename, "mime_type": a.mime_type, "size": a.size,
             "status": a.status, "url": media.presigned_url(a)} for a in message.attachments]


def create_upload(visitor: Visitor, body: dict[str, Any]) -> dict[str, Any]:
    """POST /webchat/uploads: a visitor's upload (images and PDFs), an S3 presigned POST (rich replies)."""
    filename, mime_type, size = body.get("filename"), body.get("content_type"), body.get("size")
    if not isinstance(filename, str) or not filename or len(filename) > 1000 or not isinstance(mime_type, str) \
            or len(mime_type) > 200 or not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise BadRequest("filename, content_type and size (bytes) are required", code="invalid_upload")
    grant = uploads.grant_for_visitor(visitor, filename, mime_type, size)
    return {"upload_id": grant.upload_id, "url": grant.url, "fields": grant.fields}


# -- erasure and retention ---------------------------------------------------------------------------------------------
def visitors_in(items: list[dict[str, Any]]) -> list[str]:
    """The web chat visitors a conversation's items name: whom it was last written from (its recipient) and who wrote
    each of its customer messages (from other browsers, perhaps, under one vouched email)."""
    from switchboard.store import keys

    webchat = [i for i in items if i.get("channel") == "webchat"]
    found = [str(i["recipient"]) for i in webchat if i["sk"] == keys.META and i.get("recipient")]
    found += [str(i["provider_message_id"]).partition(VISITOR_SEPARATOR)[0] for i in webchat
              if i["sk"].startswith(keys.MSG_PREFIX) and i.get("direction") == "inbound"
              and VISITOR_SEPARATOR in str(i.get("provider_message_id") or "")]
    return list(dict.fromkeys(found))

"""WhatsApp Cloud API webhook payloads as Meta documents them, and signed webhook requests carrying them.

Builders return plain dicts so that a test can break any part of them; `body()` serializes the way Meta
does (ASCII with \\uXXXX escapes) and `webhook()` signs those exact bytes.
"""

from __future__ import annotations

import json
from typing import Any

from switchboard.channels.base import WebhookRequest
from tests.support.signing import meta_signature

APP_SECRET = "test-meta-secret"  # tests/conftest.py sets META_APP_SECRET to it
PHONE_NUMBER_ID = "106540352242922"
DISPLAY_PHONE_NUMBER = "15550001111"
WABA_ID = "102290129340398"
CUSTOMER = "15551234567"
CUSTOMER_NAME = "Ann"
TS = "1760000000"  # unix seconds, as a string: WhatsApp's own format


# -- messages (value.messages[]) ----------------------------------------------------------------


def message(kind: str, content: Any = None, *, wamid: str = "wamid.A1", sender: str | None = CUSTOMER,
            timestamp: Any = TS, context: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """One inbound message; `content` goes under the key named by its type, as Meta nests it."""
    raw: dict[str, Any] = {"id": wamid, "timestamp": timestamp, "type": kind}
    if sender is not None:
        raw["from"] = sender
    if content is not None:
        raw[kind] = content
    if context is not None:
        raw["context"] = context
    raw.update(extra)
    return raw


def text(body: str = "hi", **kw: Any) -> dict[str, Any]:
    return message("text", {"body": body}, **kw)


def media(kind: str = "image", *, media_id: str = "1003383421387256", mime_type: str = "image/jpeg",
          sha256: str = "2RBvOyTZxb5T8ByKo0dZNQ3UB04sKE+3EEQ6zqyAmuw=", caption: str | None = None,
          filename: str | None = None, voice: bool | None = None, animated: bool | None = None, **kw: Any) -> dict[str, Any]:
    content: dict[str, Any] = {"id": media_id, "mime_type": mime_type, "sha256": sha256}
    for key, value in (("caption", caption), ("filename", filename), ("voice", voice), ("animated", animated)):
        if value is not None:
            content[key] = value
    return message(kind, content, **kw)


def location(latitude: Any = 52.5200, longitude: Any = 13.4050, *, name: str | None = None,
             address: str | None = None, **kw: Any) -> dict[str, Any]:
    content: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
    if name is not None:
        content["name"] = name
    if address is not None:
        content["address"] = address
    return message("location", content, **kw)


def button_reply(reply_id: str = "confirm-yes", title: str = "Yes", **kw: Any) -> dict[str, Any]:
    return message("interactive", {"type": "button_reply", "button_reply": {"id": reply_id, "title": title}}, **kw)


def list_reply(reply_id: str = "slot-2", title: str = "Tuesday 10:00", description: str = "30 minutes",
               **kw: Any) -> dict[str, Any]:
    reply = {"id": reply_id, "title": title, "description": description}
    return message("interactive", {"type": "list_reply", "list_reply": reply}, **kw)


def flow_reply(body: str = "Sent", response_json: str = '{"flow_token": "T", "rating": "5"}', **kw: Any) -> dict[str, Any]:
    reply = {"name": "flow", "body": body, "response_json": response_json}
    return message("interactive", {"type": "nfm_reply", "nfm_reply": reply}, **kw)


def template_button(text_: str = "Stop promotions", payload: str = "STOP", **kw: Any) -> dict[str, Any]:
    """A template's quick-reply button tap (type "button")."""
    kw.setdefault("context", {"from": DISPLAY_PHONE_NUMBER, "id": "wamid.TEMPLATE"})
    return message("button", {"text": text_, "payload": payload}, **kw)


def reaction(emoji: str | None = "\U0001f44d", message_id: str = "wamid.OURS", **kw: Any) -> dict[str, Any]:
    """emoji=None: the key is absent, as when the customer removes their reaction."""
    content: dict[str, Any] = {"message_id": message_id}
    if emoji is not None:
        content["emoji"] = emoji
    return message("reaction", content, **kw)


def contact_card(formatted_name: str = "Bob Smith", *phones: str) -> dict[str, Any]:
    return {"name": {"formatted_name": formatted_name, "first_name": formatted_name.split()[0]},
            "phones": [{"phone": p, "type": "CELL"} for p in phones or ("+1 555 000 2222",)]}


def contacts(*cards: dict[str, Any], **kw: Any) -> dict[str, Any]:
    """Shared contact cards: an array on the message itself (not nested under the type's key)."""
    return message("contacts", None, contacts=list(cards or (contact_card(),)), **kw)


def unsupported(code: int = 131051, **kw: Any) -> dict[str, Any]:
    errors = [{"code": code, "title": "Message type unknown", "message": "Message type unknown",
               "error_data": {"details": "Message type is currently not supported."}}]
    return message("unsupported", None, errors=errors, **kw)


def system(**kw: Any) -> dict[str, Any]:
    content = {"body": "User A changed from 15551234567 to 15557654321", "wa_id": "15557654321",
               "type": "user_changed_number"}
    return message("system", content, **kw)


def identity_change(**kw: Any) -> dict[str, Any]:
    """A system message: the customer's security code changed (new phone or reinstall)."""
    kw.setdefault("identity", {"acknowledged": True, "created_timestamp": TS, "hash": "h4sh"})
    return message("system", {"body": "User identity changed", "type": "customer_identity_changed"}, **kw)


def unsupported_of(kind: str = "poll_creation", code: int = 131051, **kw: Any) -> dict[str, Any]:
    """An unsupported message that names what the customer sent (unsupported.type)."""
    raw = unsupported(code, **kw)
    raw["unsupported"] = {"type": kind}
    return raw


def request_welcome(**kw: Any) -> dict[str, Any]:
    """The customer opened the chat for the first time (no content)."""
    return message("request_welcome", None, **kw)


def edit(new: dict[str, Any], original: str = "wamid.ORIGINAL", *, wamid: str = "wamid.EDIT1",
         **kw: Any) -> dict[str, Any]:
    """The customer edited `original` (coexistence numbers): `new` is a message without id, from or timestamp,
    e.g. {"type": "text", "text": {"body": "..."}}. Shape: Meta's edit messages webhook reference."""
    return message("edit", {"original_message_id": original, "message": new}, wamid=wamid, **kw)


def new_text(body: str = "fixed text") -> dict[str, Any]:
    return {"type": "text", "text": {"body": body}}


def new_caption(caption: str | None = "new caption", media_id: str = "1003383421387256") -> dict[str, Any]:
    image: dict[str, Any] = {"id": media_id, "mime_type": "image/jpeg", "sha256": "abc"}
    if caption is not None:
        image["caption"] = caption
    return {"type": "image", "image": image}


def revoke(original: str = "wamid.ORIGINAL", *, wamid: str = "wamid.REVOKE1", **kw: Any) -> dict[str, Any]:
    """The customer deleted `original` for everyone. Shape: Meta's revoke messages webhook reference."""
    return message("revoke", {"original_message_id": original}, wamid=wamid, **kw)


def product(sku: str = "SKU123", quantity: Any = 3, price: Any = 9.99, currency: str = "EUR") -> dict[str, Any]:
    return {"product_retailer_id": sku, "quantity": quantity, "item_price": price, "currency": currency}


def order(*items: dict[str, Any], text_: str | None = "please deliver after 5pm", catalog_id: str = "354160437058781",
          **kw: Any) -> dict[str, Any]:
    content: dict[str, Any] = {"catalog_id": catalog_id,
                               "product_items": list(items) if items else [product(), product("SKU7", 1, 5)]}
    if text_ is not None:
        content["text"] = text_
    return message("order", content, **kw)


def call_permission_reply(response: str = "accept", *, expiration: Any = 1753186982, permanent: bool | None = None,
                          source: str = "user_action", **kw: Any) -> dict[str, Any]:
    reply: dict[str, Any] = {"response": response, "response_source": source}
    if expiration is not None:
        reply["expiration_timestamp"] = expiration
    if permanent is not None:
        reply["is_permanent"] = permanent
    kw.setdefault("context", {"from": DISPLAY_PHONE_NUMBER, "id": "wamid.ASKED"})
    return message("interactive", {"type": "call_permission_reply", "call_permission_reply": reply}, **kw)


def address_reply(**values: Any) -> dict[str, Any]:
    """An address message's answer (an nfm_reply named address_message)."""
    answer = {"saved_address_id": "a1", "values": values or {"name": "Ann", "address": "Pariser Platz 1",
                                                              "city": "Berlin", "in_pin_code": "10117"}}
    reply = {"name": "address_message", "body": "", "response_json": json.dumps(answer)}
    return message("interactive", {"type": "nfm_reply", "nfm_reply": reply})


def referral(**extra: Any) -> dict[str, Any]:
    """What a Click-to-WhatsApp ad adds to the customer's first message."""
    return {"source_url": "https://fb.me/3cr4Wqqkv", "source_id": "6680150845617", "source_type": "ad",
            "headline": "Spring sale", "body": "20% off all plans", "media_type": "image",
            "image_url": "https://scontent.xx.fbcdn.net/ad.jpg", "ctwa_clid": "ARAkLkA8r", **extra}


def group_text(body: str = "hi all", group_id: str = "Y2FwaV9ncm91cDoxNTU1MDAw", **kw: Any) -> dict[str, Any]:
    return text(body, group_id=group_id, **kw)


# -- business-app echoes (field smb_message_echoes, value.message_echoes[]) -----------------------------


def echo(kind: str, content: Any = None, *, wamid: str = "wamid.ECHO1", to: str | None = CUSTOMER,
         sender: str = DISPLAY_PHONE_NUMBER, timestamp: Any = TS, **extra: Any) -> dict[str, Any]:
    """A message the business sent from the WhatsApp Business app: from the business, to the customer."""
    raw = message(kind, content, wamid=wamid, sender=sender, timestamp=timestamp, **extra)
    if to is not None:
        raw["to"] = to
    return raw


def echoes(*raw_echoes: dict[str, Any], phone_number_id: str = PHONE_NUMBER_ID) -> dict[str, Any]:
    value_ = {"messaging_product": "whatsapp",
              "metadata": {"display_phone_number": DISPLAY_PHONE_NUMBER, "phone_number_id": phone_number_id},
              "message_echoes": list(raw_echoes)}
    return notification(entry(change(value_, field="smb_message_echoes")))


# -- statuses (value.statuses[]) ----------------------------------------------------------------


def status(status_: str = "delivered", wamid: str = "wamid.OURS", *, timestamp: Any = "1760000100",
           recipient: str = CUSTOMER, errors: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {"id": wamid, "status": status_, "timestamp": timestamp, "recipient_id": recipient}
    if status_ in ("sent", "delivered"):
        raw["conversation"] = {"id": "CONVERSATION_ID", "origin": {"type": "service"}}
        raw["pricing"] = {"billable": False, "pricing_model": "PMP", "category": "service"}
    if errors is not None:
        raw["errors"] = errors
    raw.update(extra)
    return raw


def failed(code: int = 131047, title: str = "Re-engagement message", wamid: str = "wamid.OURS", **kw: Any) -> dict[str, Any]:
    error = {"code": code, "title": title, "message": title,
             "error_data": {"details": "Message failed to send because more than 24 hours have passed"}}
    return status("failed", wamid, errors=[error], **kw)


# -- envelope -----------------------------------------------------------------------------------


def profile(wa_id: str = CUSTOMER, name: str = CUSTOMER_NAME, **extra: Any) -> dict[str, Any]:
    return {"profile": {"name": name}, "wa_id": wa_id, **extra}


def value(messages: list[dict[str, Any]] | None = None, statuses: list[dict[str, Any]] | None = None, *,
          phone_number_id: str = PHONE_NUMBER_ID, contacts_: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A change's value; contacts default to the profile of the customer when there are messages."""
    raw: dict[str, Any] = {"messaging_product": "whatsapp",
                           "metadata": {"display_phone_number": DISPLAY_PHONE_NUMBER, "phone_number_id": phone_number_id}}
    if messages is not None:
        raw["contacts"] = contacts_ if contacts_ is not None else [profile()]
        raw["messages"] = messages
    elif contacts_ is not None:
        raw["contacts"] = contacts_
    if statuses is not None:
        raw["statuses"] = statuses
    return raw


def change(value_: Any, field: str = "messages") -> dict[str, Any]:
    return {"field": field, "value": value_}


def entry(*changes: Any, waba_id: str = WABA_ID) -> dict[str, Any]:
    return {"id": waba_id, "changes": list(changes)}


def notification(*entries: Any, obj: str = "whatsapp_business_account") -> dict[str, Any]:
    return {"object": obj, "entry": list(entries)}


def inbound(*messages: dict[str, Any], **value_kw: Any) -> dict[str, Any]:
    """The common case: one entry, one change, these messages."""
    return notification(entry(change(value(list(messages), **value_kw))))


def receipts(*statuses: dict[str, Any], **value_kw: Any) -> dict[str, Any]:
    return notification(entry(change(value(statuses=list(statuses), **value_kw))))


# -- HTTP ---------------------------------------------------------------------------------------


def body(payload: Any) -> bytes:
    """Serialized as Meta sends it: non-ASCII as \\uXXXX escapes, so the signed bytes are pure ASCII."""
    return json.dumps(payload, separators=(",", ":")).encode()


def sign(raw: bytes, secret: str = APP_SECRET) -> str:
    return meta_signature(raw, secret)


def webhook(payload: Any = None, *, raw: bytes | None = None, signature: str | None = "auto",
            headers: dict[str, str] | None = None, path: str = "/webhooks/whatsapp") -> WebhookRequest:
    """A POST as the webhook adapter hands it over (lower-cased header names). signature=None: unsigned."""
    data = raw if raw is not None else body(payload)
    all_headers = {"content-type": "application/json", "user-agent": "facebookexternalua"}
    if signature == "auto":
        all_headers["x-hub-signature-256"] = sign(data)
    elif signature is not None:
        all_headers["x-hub-signature-256"] = signature
    all_headers.update({k.lower(): v for k, v in (headers or {}).items()})
    return WebhookRequest(method="POST", path=path, headers=all_headers, query={}, body=data)


def handshake(query: dict[str, str], path: str = "/webhooks/whatsapp") -> WebhookRequest:
    return WebhookRequest(method="GET", path=path, headers={}, query=query, body=b"")


def subscribe_query(token: str = "test-verify-token", challenge: str = "1158201444") -> dict[str, str]:
    return {"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": token}

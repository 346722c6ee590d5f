"""Telegram and SMS through the real handlers on moto: media copied from the provider sandbox (the configured API
origin), payload URLs that point anywhere else never fetched, service messages and status callbacks that are not
customers speaking counted and never stored, a Telegram business chat's echoes shown as outbound."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from switchboard.channels import http
from switchboard.channels.sms import twilio_signature
from switchboard.services import media
from tests.conftest import TEST_SECRETS
from tests.integration.test_whatsapp_flow import conversations, messages

TELEGRAM_SECRET = TEST_SECRETS["TELEGRAM_SECRET_TOKEN"]


def telegram(stack, update: dict[str, Any]):
    return stack.http("POST", "/webhooks/telegram", json.dumps(update).encode(),
                      {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET})


def sms(stack, params: dict[str, str]):
    signature = twilio_signature(TEST_SECRETS["TWILIO_AUTH_TOKEN"], TEST_SECRETS["PUBLIC_BASE_URL"] + "/webhooks/sms",
                                 {k: [v] for k, v in params.items()})
    return stack.http("POST", "/webhooks/sms", urlencode(params).encode(),
                      {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})


def tg_message(message_id: int, chat: int = 111, **content: Any) -> dict[str, Any]:
    return {"message_id": message_id, "from": {"id": chat, "is_bot": False, "first_name": "Ann"},
            "chat": {"id": chat, "type": "private", "first_name": "Ann"}, "date": 1760000000, **content}


def mms(sid: str, *urls: str) -> dict[str, str]:
    params = {"MessageSid": sid, "AccountSid": TEST_SECRETS["TWILIO_ACCOUNT_SID"], "From": "+15551234567",
              "To": "+15550001111", "Body": "see attached", "NumMedia": str(len(urls)), "SmsStatus": "received"}
    for index, url in enumerate(urls):
        params[f"MediaUrl{index}"], params[f"MediaContentType{index}"] = url, "image/png"
    return params


def drain_until_settled(stack) -> None:
    """Deliver the inbound queue until media downloads stop being retried (they are given up after a few)."""
    for _ in range(media.MAX_ATTEMPTS + 1):
        stack.drain("ProcessorFunction")


def test_a_telegram_photo_is_copied_from_the_configured_api(stack):
    photo = [{"file_id": "PHOTO1", "file_unique_id": "u", "width": 800, "height": 600}]
    assert telegram(stack, {"update_id": 1, "message": tg_message(5, photo=photo, caption="the parcel")}).status == 200
    stack.drain("ProcessorFunction")
    (conv,) = conversations(stack)
    (msg,) = messages(stack, conv["id"])
    assert msg["text"] == "the parcel"
    assert msg["attachments"][0]["status"] == "stored" and "X-Amz-Signature" in msg["attachments"][0]["url"]


def test_a_telegram_service_message_is_counted_and_never_stored(stack, capsys):
    payment = {"currency": "XTR", "total_amount": 5, "invoice_payload": "p", "telegram_payment_charge_id": "c",
               "provider_payment_charge_id": "q"}
    assert telegram(stack, {"update_id": 2, "message": tg_message(6, successful_payment=payment)}).status == 200
    assert stack.queue_count("InboundQueue") == 0 and conversations(stack) == []
    assert '"reason":"service_message"' in capsys.readouterr().out


def test_a_telegram_business_chat_shows_the_business_answers_as_outbound(stack):
    customer = tg_message(7, text="Is it in stock?", business_connection_id="BC1")
    answer = tg_message(8, text="Yes, two left", business_connection_id="BC1") | {
        "from": {"id": 999, "is_bot": False, "first_name": "Acme Shop"}}
    assert telegram(stack, {"update_id": 3, "business_message": customer}).status == 200
    stack.drain("ProcessorFunction")
    assert telegram(stack, {"update_id": 4, "business_message": answer}).status == 200
    stack.drain("ProcessorFunction")
    (conv,) = conversations(stack)
    shown = [(m["direction"], m["text"]) for m in messages(stack, conv["id"])]
    assert shown == [("inbound", "Is it in stock?"), ("outbound", "Yes, two left")]
    # An agent's reply goes out as the business, through its connection
    stack.http("POST", f"/api/conversations/{conv['id']}/messages", {"text": "Reserved one for you"}, role="agent")
    stack.drain("SenderFunction")
    (sent,) = [i for i in stack.sandbox.outbox if i["url"].endswith("/sendMessage")]
    assert sent["body"]["business_connection_id"] == "BC1" and sent["body"]["chat_id"] == 111
    # And the customer unsending their question removes it
    gone = {"business_connection_id": "BC1", "chat": {"id": 111, "type": "private"}, "message_ids": [7]}
    assert telegram(stack, {"update_id": 5, "deleted_business_messages": gone}).status == 200
    stack.drain("ProcessorFunction")
    first = messages(stack, conv["id"])[0]
    assert first["deleted"] is True and first["text"] == ""


def test_mms_media_is_copied_from_the_configured_api(stack):
    url = f"{stack.sandbox.channel_base('twilio')}/2010-04-01/Accounts/AC1/Messages/MM1/media/ME1"
    assert sms(stack, mms("MM00000000000000000000000000000001", url)).status == 200
    stack.drain("ProcessorFunction")
    (conv,) = conversations(stack)
    (msg,) = messages(stack, conv["id"])
    assert msg["attachments"][0]["status"] == "stored"


def test_mms_media_urls_that_point_anywhere_else_are_never_fetched(stack, monkeypatch):
    connections: list[str] = []
    real = http._get

    def recorded(hop, headers, limit):
        connections.append(hop.host)
        return real(hop, headers, limit)

    monkeypatch.setattr(http, "_get", recorded)
    port = stack.sandbox.base_url.rsplit(":", 1)[1]
    hostile = ["http://169.254.169.254/latest/meta-data/iam/security-credentials/",
               f"http://127.0.0.1:{int(port) + 1}/_sandbox/twilio/media/ME2/x",  # loopback, another port
               "https://evil.example\\@api.twilio.com/2010-04-01/x", "https://api.twilio.com@evil.example/x"]
    assert sms(stack, mms("MM00000000000000000000000000000002", *hostile)).status == 200
    drain_until_settled(stack)
    (conv,) = conversations(stack)
    (msg,) = messages(stack, conv["id"])
    assert msg["text"] == "see attached"
    assert [a["status"] for a in msg["attachments"]] == ["failed"] * len(hostile)
    assert connections == []  # refused before any connection: nothing reached the network


def test_status_callbacks_of_unknown_statuses_are_harmless(stack, capsys):
    callback = {"MessageSid": "SM00000000000000000000000000000009", "MessageStatus": "sent_to_carrier",
                "AccountSid": TEST_SECRETS["TWILIO_ACCOUNT_SID"]}  # no From, no To: a callback, not a message
    reply = sms(stack, callback)
    assert reply.status == 200 and "<Response/>" in reply.body
    assert stack.queue_count("InboundQueue") == 0 and conversations(stack) == []
    assert '"reason":"unknown_status"' in capsys.readouterr().out

"""Where a customer came from, as each channel's parser tells it (InboundMessage.referral), and the reference taken
out of the customer's text."""

from __future__ import annotations

import json

import pytest

from switchboard.channels import referrals
from switchboard.channels.base import WebhookRequest
from switchboard.channels.messenger import MessengerChannel
from switchboard.channels.telegram import TelegramChannel
from switchboard.channels.whatsapp import WhatsAppChannel


def request(body: dict) -> WebhookRequest:
    return WebhookRequest(method="POST", path="/", headers={}, query={}, body=json.dumps(body).encode())


def whatsapp(message: dict) -> dict:
    return {"object": "whatsapp_business_account", "entry": [{"id": "W", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "1555", "phone_number_id": "200000000000002"},
        "contacts": [{"profile": {"name": "Ann"}, "wa_id": "15551234567"}],
        "messages": [{"from": "15551234567", "id": "wamid.1", "timestamp": "1760000000", **message}]}}]}]}


@pytest.mark.parametrize(("text", "left"), [
    ("Hello! (ref sb_k7qf2mxa)", "Hello!"),
    ("(ref sb_k7qf2mxa) Hello!", "Hello!"),
    ("Hi [ref: SB_K7QF2MXA] there", "Hi there"),
    ("sb_k7qf2mxa", ""),
    ("Question about order 12 sb_k7qf2mxa", "Question about order 12"),
])
def test_our_reference_is_taken_out_of_the_text(text, left):
    assert referrals.strip_ref(text) == (left, "sb_k7qf2mxa")


@pytest.mark.parametrize("text", ["Hello", "my ref is ABC123", "sb_short", "xsb_k7qf2mxa", "sb_k7qf2mxa9"])
def test_other_text_is_left_alone(text):
    assert referrals.strip_ref(text) == (text, None)


def test_new_references_fit_every_channel():
    for _ in range(200):
        ref = referrals.new_ref()
        assert referrals.REF.fullmatch(ref) and referrals.strip_ref(referrals.text_with_ref("Hi", ref)) == ("Hi", ref)


def test_whatsapp_text_reference_becomes_the_referral():
    (event,) = WhatsAppChannel().parse(request(whatsapp({"type": "text", "text": {"body": "Hi! (ref sb_abcdefgh)"}})))
    assert event.text == "Hi!" and event.referral.ref == "sb_abcdefgh" and event.referral.ad is None
    (only,) = WhatsAppChannel().parse(request(whatsapp({"type": "text", "text": {"body": "(ref sb_abcdefgh)"}})))
    assert only.text == "" and only.summary == "Opened the chat from a link"


def test_whatsapp_click_to_whatsapp_ad():
    referral = {"source_url": "https://fb.me/x", "source_id": "123", "source_type": "ad", "headline": "Sale",
                "body": "Now", "media_type": "image", "ctwa_clid": "c"}
    (event,) = WhatsAppChannel().parse(request(whatsapp({"type": "text", "text": {"body": "hi"}, "referral": referral})))
    assert event.referral.ad.model_dump() == {"id": "123", "headline": "Sale", "source_url": "https://fb.me/x",
                                              "kind": "ad"}
    assert event.summary.startswith("From an ad: Sale")  # the summary line stays as it was
    (plain,) = WhatsAppChannel().parse(request(whatsapp({"type": "text", "text": {"body": "hi"}})))
    assert plain.referral is None


def messenger(event: dict) -> dict:
    return {"object": "page", "entry": [{"id": "PAGE", "time": 1, "messaging": [
        {"sender": {"id": "PSID"}, "recipient": {"id": "PAGE"}, "timestamp": 1760000000000, **event}]}]}


def test_messenger_ref_in_a_standalone_referral_a_postback_and_a_message():
    (alone,) = MessengerChannel().parse(request(messenger({"referral": {"ref": "sb_abcdefgh", "source": "SHORTLINK",
                                                                        "type": "OPEN_THREAD"}})))
    assert alone.type == "referral" and alone.referral.ref == "sb_abcdefgh"
    (postback,) = MessengerChannel().parse(request(messenger({"postback": {
        "title": "Get Started", "payload": "GET_STARTED", "referral": {"ref": "sb_abcdefgh", "source": "SHORTLINK"}}})))
    assert postback.referral.ref == "sb_abcdefgh"
    (ad,) = MessengerChannel().parse(request(messenger({"message": {"mid": "m1", "text": "hi", "referral": {
        "ad_id": "77", "source": "ADS", "type": "OPEN_THREAD", "ads_context_data": {"ad_title": "Boots"}}}})))
    assert ad.referral.ad.id == "77" and ad.referral.ad.headline == "Boots" and ad.referral.ref is None
    (plain,) = MessengerChannel().parse(request(messenger({"message": {"mid": "m2", "text": "hi"}})))
    assert plain.referral is None


def test_a_chat_plugin_referral_names_its_page_without_the_query():
    (event,) = MessengerChannel().parse(request(messenger({"referral": {
        "source": "CUSTOMER_CHAT_PLUGIN", "referer_uri": "https://shop.example.com/p?email=a@b.c"}})))
    assert event.referral.page_url == "https://shop.example.com/p"


def test_telegram_start_payload(monkeypatch):
    monkeypatch.setattr(TelegramChannel, "_bot_id", lambda self: "123")
    update = {"update_id": 1, "message": {"message_id": 5, "date": 1760000000, "text": "/start sb_abcdefgh",
                                          "from": {"id": 9, "first_name": "A"}, "chat": {"id": 9, "type": "private"}}}
    (event,) = TelegramChannel().parse(request(update))
    assert event.referral.ref == "sb_abcdefgh" and event.text == "" and event.summary == "Started the chat from a link"
    update["message"]["text"] = "/start"
    (bare,) = TelegramChannel().parse(request(update))
    assert bare.referral is None and bare.text == "/start"


@pytest.mark.parametrize(("url", "kept"), [
    ("https://shop.example.com/a/b?x=1#y", "https://shop.example.com/a/b"),
    ("http://shop.example.com", "http://shop.example.com/"),
    ("javascript:alert(1)", None), ("https://user@shop.example.com/", None), ("not a url", None), (42, None),
])
def test_page_urls_keep_scheme_host_and_path_only(url, kept):
    assert referrals.page_url(url) == kept

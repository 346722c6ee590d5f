"""Entry links and attribution on moto: admins create links per channel; a conversation's first message through one
(a wa.me text's reference, an m.me or ig.me ref, a t.me start payload, the widget's data-source), a Click-to-WhatsApp
ad or the widget's page becomes its source, shown to agents, filterable, and counted in the day's metrics."""

from __future__ import annotations

import io
from urllib.parse import parse_qs, urlsplit

import pytest

from switchboard import clock
from switchboard.services import webchat
from switchboard.store import metrics
from switchboard.store.table import Table
from tests.integration.test_meta_messaging import PAGE, from_customer
from tests.integration.test_meta_messaging import post as meta_post
from tests.integration.test_telegram_sms_flow import telegram, tg_message
from tests.integration.test_whatsapp_flow import conversations, messages, post, wa_message, wa_payload


def admin(stack, method, path, body=None, query=""):
    return stack.http(method, path, body, role="admin", query=query)


def link(stack, channel: str, name: str, text: str | None = None) -> dict:
    r = admin(stack, "POST", "/api/links", {"name": name, "channel": channel, **({"text": text} if text else {})})
    assert r.status == 201, r
    return r.json()


def test_links_per_channel_point_where_they_should_and_only_admins_create_them(stack):
    wa = link(stack, "whatsapp", "Website header", "Hi! I have a question")
    parts = urlsplit(wa["url"])
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "wa.me", "/15550001111")
    assert parse_qs(parts.query)["text"] == [f"Hi! I have a question (ref {wa['ref']})"]
    assert wa["id"] == "lk_" + wa["ref"].removeprefix("sb_") and len(wa["ref"]) == 11
    m = link(stack, "messenger", "Facebook post")
    assert m["url"] == f"https://m.me/switchboard.local?ref={m['ref']}"
    t = link(stack, "telegram", "Newsletter")
    assert t["url"] == f"https://t.me/switchboard_local_bot?start={t['ref']}"
    ig = link(stack, "instagram", "Bio")
    assert ig["url"] == f"https://ig.me/m/switchboard.local?ref={ig['ref']}"
    w = link(stack, "webchat", "Pricing page")
    assert w["url"].endswith(f"/widget-demo.html?sb_ref={w['ref']}")
    assert f'data-source="{w["ref"]}"' in w["snippet"] and "widget.js" in w["snippet"]
    assert f'href="{wa["url"].replace("&", "&amp;")}"' in wa["snippet"]
    # agents list them and get their QR codes, but only admins create or delete them
    listed = stack.http("GET", "/api/links", role="agent").json()["items"]
    assert {x["id"] for x in listed} >= {wa["id"], m["id"], t["id"], ig["id"], w["id"]}
    assert stack.http("POST", "/api/links", {"name": "x", "channel": "whatsapp"}, role="agent").status == 403
    assert admin(stack, "POST", "/api/links", {"name": "x", "channel": "sms"}).status == 422
    assert admin(stack, "POST", "/api/links", {"name": "", "channel": "whatsapp"}).status == 422
    assert stack.http("DELETE", f"/api/links/{t['id']}", role="agent").status == 403
    assert admin(stack, "DELETE", f"/api/links/{t['id']}").status == 204
    assert admin(stack, "GET", f"/api/links/{t['id']}").status == 404


def test_the_qr_codes_decode_to_the_links_url(stack):
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    wa = link(stack, "whatsapp", "Flyer", "Hello, a question about my order")
    png = stack.http("GET", f"/api/links/{wa['id']}/qr.png", role="agent")
    assert png.status == 200 and png.headers["Content-Type"] == "image/png"
    import base64

    data = base64.b64decode(png.body)  # API Gateway carries binary bodies base64-encoded
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))
    assert [d.text for d in decoded] == [wa["url"]]
    svg = stack.http("GET", f"/api/links/{wa['id']}/qr.svg", role="agent")
    assert svg.status == 200 and svg.headers["Content-Type"] == "image/svg+xml" and svg.body.startswith("<svg")
    assert stack.http("GET", "/api/links/lk_missing1/qr.svg", role="agent").status == 404


def known(value):
    """What the API says is known: null fields left out."""
    if isinstance(value, dict):
        return {k: known(v) for k, v in value.items() if v is not None}
    return value


def source_of(stack, conv_id: str) -> dict | None:
    return stack.http("GET", f"/api/conversations/{conv_id}", role="agent").json()["source"]


def only_conversation(stack, channel: str) -> dict:
    (conv,) = [c for c in conversations(stack) if c["channel"] == channel]
    return conv


def test_a_wa_me_reference_becomes_the_source_and_leaves_the_text(stack):
    wa = link(stack, "whatsapp", "Website header", "Hi!")
    text = parse_qs(urlsplit(wa["url"]).query)["text"][0]
    post(stack, wa_payload(wa_message("w.ref1", text=text)))
    stack.drain("ProcessorFunction")
    conv = only_conversation(stack, "whatsapp")
    assert known(conv["source"]) == {"ref": wa["ref"], "link_id": wa["id"], "label": "Website header"}
    assert [m["text"] for m in messages(stack, conv["id"])] == ["Hi!"]  # the reference is not the customer's words
    # a later message with another reference changes nothing; a redelivery counts nothing twice
    other = link(stack, "whatsapp", "Flyer")
    post(stack, wa_payload(wa_message("w.ref2", text=f"again (ref {other['ref']})")))
    post(stack, wa_payload(wa_message("w.ref1", text=text)))
    stack.drain("ProcessorFunction")
    assert source_of(stack, conv["id"])["link_id"] == wa["id"]
    # the source filter lists the link's conversations; the day counts it once
    listed = stack.http("GET", "/api/conversations", role="agent", query=f"source={wa['id']}").json()
    assert [c["id"] for c in listed["items"]] == [conv["id"]] and listed["next_cursor"] is None
    assert stack.http("GET", "/api/conversations", role="agent", query=f"source={other['id']}").json()["items"] == []
    day = clock.iso(clock.now())[:10]
    (item,) = Table().batch_get([metrics.key(day)])
    assert metrics.by_source([item]) == {f"link:{wa['id']}": 1}


def test_a_click_to_whatsapp_ad_is_the_source(stack):
    referral = {"source_url": "https://fb.me/ad1", "source_id": "120210000", "source_type": "ad",
                "headline": "Spring sale", "body": "20% off", "ctwa_clid": "abc"}
    post(stack, wa_payload(wa_message("w.ad1", text="Is this still on?", referral=referral)))
    stack.drain("ProcessorFunction")
    conv = only_conversation(stack, "whatsapp")
    assert known(conv["source"]) == {"ad": {"id": "120210000", "headline": "Spring sale", "source_url": "https://fb.me/ad1",
                                     "kind": "ad"}, "label": "Ad: Spring sale"}
    (message,) = messages(stack, conv["id"])
    assert message["text"] == "Is this still on?" and "Spring sale" in message["summary"]  # the summary stays


@pytest.mark.parametrize("channel", ["messenger", "instagram"])
def test_an_m_me_or_ig_me_ref_is_the_source(stack, channel):
    made = link(stack, channel, f"{channel} link")
    meta_post(stack, channel, {"id": PAGE, "time": 1, "messaging": [
        from_customer("PSID77", referral={"ref": made["ref"], "source": "SHORTLINK", "type": "OPEN_THREAD"})]})
    meta_post(stack, channel, {"id": PAGE, "time": 1, "messaging": [
        from_customer("PSID77", message={"mid": f"m.{channel}.1", "text": "hello"})]})
    conv = only_conversation(stack, channel)
    assert conv["source"]["link_id"] == made["id"] and conv["source"]["label"] == f"{channel} link"


def test_a_click_to_messenger_ad_in_the_message_is_the_source(stack):
    meta_post(stack, "messenger", {"id": PAGE, "time": 1, "messaging": [from_customer("PSID88", message={
        "mid": "m.ad.1", "text": "price?", "referral": {"ad_id": "6045", "source": "ADS", "type": "OPEN_THREAD",
                                                        "ads_context_data": {"ad_title": "Boots"}}})]})
    conv = only_conversation(stack, "messenger")
    assert known(conv["source"]["ad"]) == {"id": "6045", "headline": "Boots", "kind": "ad"}
    assert conv["source"]["label"] == "Ad: Boots"


def test_a_telegram_start_payload_is_the_source_not_a_message_text(stack):
    made = link(stack, "telegram", "Bot link")
    assert telegram(stack, {"update_id": 501, "message": tg_message(9, text=f"/start {made['ref']}")}).status == 200
    stack.drain("ProcessorFunction")
    conv = only_conversation(stack, "telegram")
    assert conv["source"]["link_id"] == made["id"]
    (message,) = messages(stack, conv["id"])
    assert message["text"] == "" and message["summary"] == "Started the chat from a link"


def test_the_widgets_source_and_page_are_the_source(stack):
    made = link(stack, "webchat", "Pricing")
    session = webchat.start_session(None, {"source": made["ref"],
                                           "page_url": "https://shop.example.com/pricing?email=ann@example.com#x"})
    from switchboard.channels.webchat import read_token

    webchat.post_message(read_token(f"Bearer {session['token']}"), {"client_message_id": "c-src-0001", "text": "hi"})
    stack.drain("ProcessorFunction")
    conv = only_conversation(stack, "webchat")
    # the page without its query or fragment: those can hold the visitor's data
    assert known(conv["source"]) == {"ref": made["ref"], "page_url": "https://shop.example.com/pricing",
                              "link_id": made["id"], "label": "Pricing"}
    from switchboard.errors import BadRequest

    with pytest.raises(BadRequest):
        webchat.start_session(None, {"source": "has space"})


def test_a_page_alone_is_the_source_and_erasure_takes_the_links_list_item(stack):
    made = link(stack, "webchat", "Home")
    from switchboard.channels.webchat import read_token

    session = webchat.start_session(None, {"source": made["ref"], "page_url": "https://shop.example.com/"})
    webchat.post_message(read_token(f"Bearer {session['token']}"), {"client_message_id": "c-src-0002", "text": "x"})
    other = webchat.start_session(None, {"page_url": "https://shop.example.com/faq"})
    webchat.post_message(read_token(f"Bearer {other['token']}"), {"client_message_id": "c-src-0003", "text": "y"})
    stack.drain("ProcessorFunction")
    sources = {c["source"]["label"] for c in conversations(stack)}
    assert sources == {"Home", "shop.example.com/faq"}
    linked = stack.http("GET", "/api/conversations", role="agent", query=f"source={made['id']}").json()["items"]
    assert admin(stack, "DELETE", f"/api/contacts/{linked[0]['contact']['id']}").status == 200
    assert stack.items(f"SOURCE#{made['id']}") == []
    assert stack.http("GET", "/api/conversations", role="agent", query=f"source={made['id']}").json()["items"] == []

"""WhatsApp through the local stack over HTTP, as Meta and an agent would use it."""

from __future__ import annotations

import time
import uuid

from tests.integration.test_whatsapp_flow import wa_message, wa_payload


def test_a_real_batch_lands_and_the_reply_goes_out_to_the_right_number(local_stack):
    s = local_stack
    sender = "3712" + str(uuid.uuid4().int)[:7]
    tag = uuid.uuid4().hex[:8]
    # Given a payload with two entries, escaped unicode, an image, and a status for an unknown message
    first = wa_payload(wa_message(f"wamid.{tag}.1", sender=sender, text="Sveiki! Kur ir mans pasūtījums? 📦"),
                       wa_message(f"wamid.{tag}.2", sender=sender, kind="image",
                                  body={"id": f"MEDIA{tag}", "mime_type": "image/jpeg", "caption": "receipt"}),
                       sender=sender, name="Līga")
    second = wa_payload(wa_message(f"wamid.{tag}.3", sender=sender, text="Paldies"), sender=sender, name="Līga",
                        statuses=[{"id": "wamid.unknown", "status": "delivered", "timestamp": str(int(time.time()))}])
    payload = {"object": "whatsapp_business_account", "entry": first["entry"] + second["entry"]}
    assert s.post_meta("whatsapp", payload).status == 200

    def landed():
        for conv in s.conversations(status="open"):
            texts = [m["text"] for m in s.messages(conv["id"])]
            if "Paldies" in texts and "receipt" in texts:
                return conv
        return None

    conv = s.wait_for(landed)
    assert conv and conv["contact"]["name"] == "Līga"
    msgs = [m for m in s.messages(conv["id"]) if m["direction"] == "inbound"]
    assert sorted(m["text"] for m in msgs) == sorted(["Sveiki! Kur ir mans pasūtījums? 📦", "receipt", "Paldies"])
    image = next(m for m in msgs if m["text"] == "receipt")
    assert s.wait_for(lambda: next(m for m in s.messages(conv["id"]) if m["id"] == image["id"])
                      ["attachments"][0]["status"] == "stored")
    # A redelivery of the whole batch changes nothing
    assert s.post_meta("whatsapp", payload).status == 200
    time.sleep(1)
    assert len([m for m in s.messages(conv["id"]) if m["direction"] == "inbound"]) == 3

    # When the agent replies
    detail = s.api("GET", f"/api/conversations/{conv['id']}").json()
    assert detail["reply_window_open"] and detail["reply_window_closes_at"]
    r = s.api("POST", f"/api/conversations/{conv['id']}/messages", {"text": "Jūsu paka ir ceļā."})
    assert r.status == 202

    def sent():
        return next((i for i in s.request("GET", "/_local/outbox").json()["items"]
                     if isinstance(i["body"], dict) and i["body"].get("to") == sender
                     and i["body"]["text"]["body"] == "Jūsu paka ir ceļā."), None)

    item = s.wait_for(sent)
    assert item and item["channel"] == "whatsapp" and item["url"].endswith("/200000000000002/messages")
    assert item["body"]["text"]["body"] == "Jūsu paka ir ceļā."
    # Then Meta's receipts move it forward
    reply = s.wait_for(lambda: next((m for m in s.messages(conv["id"]) if m["text"] == "Jūsu paka ir ceļā."
                                     and m["status"] == "sent"), None))
    assert reply


def test_refusals(local_stack):
    s = local_stack
    assert s.request("POST", "/webhooks/nope", b"{}").status == 404
    assert s.post_meta("whatsapp", {"object": "whatsapp_business_account", "entry": []}, secret="forged").status == 401
    assert s.request("GET", "/api/conversations").status == 401
    r = s.request("GET", "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=e2e-verify-token&hub.challenge=77")
    assert (r.status, r.body) == (200, b"77")


def test_local_controls(local_stack):
    s = local_stack
    before = s.request("GET", "/_local/clock").json()
    after = s.request("POST", "/_local/clock", {"advance_seconds": 3600}).json()
    assert after["epoch"] - before["epoch"] >= 3600
    run = s.request("POST", "/_local/run/RetentionFunction", b"")
    assert run.status == 200 and run.json()["function"] == "RetentionFunction"
    assert s.request("POST", "/_local/run/NoSuchFunction", b"").status == 404
    assert isinstance(s.request("GET", "/_local/emails").json()["items"], list)
    token = s.request("POST", "/_local/token", {"email": "x", "role": "root"})
    assert token.status == 400
    assert s.request("GET", "/").status == 200

"""Rich replies: files from agents and visitors through the real handlers on moto. The browser's upload is an S3
presigned POST (made here with requests, as a browser would); the reply names the upload; the sender delivers each
file through the channel's own API, answered by the provider sandbox; every limit is refused before anything is
queued; a retry never sends a part twice; erasure and retention reach the files."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import zlib
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests

from infra.local import moto_speedups
from infra.local.sandbox import Fault
from switchboard import clock
from switchboard.models import InboundMessage
from switchboard.services import ingest
from tests.integration.test_whatsapp_flow import conversations, messages

MB = 1024 * 1024
BUCKET_KEY_PREFIXES = ("uploads/", "media/")

# Where each channel's customer writes from and to (the inbox the replies go out from).
CHANNELS: dict[str, dict[str, str]] = {
    "whatsapp": {"inbox": "200000000000002", "sender": "15551234567", "identity": "phone:+15551234567"},
    "messenger": {"inbox": "PAGE1", "sender": "PSID1", "identity": "messenger:PSID1"},
    "instagram": {"inbox": "IG1", "sender": "IGSID1", "identity": "instagram:IGSID1"},
    "telegram": {"inbox": "123", "sender": "111", "identity": "telegram:111"},
    "sms": {"inbox": "+15550001111", "sender": "+15551234567", "identity": "phone:+15551234567"},
    "email": {"inbox": "support@switchboard.local", "sender": "ann@example.org", "identity": "email:ann@example.org"},
    "webchat": {"inbox": "default", "sender": "v_" + "a" * 32, "identity": "webchat:v_" + "a" * 32},
}


def png(width: int = 4, height: int = 4, seed: int = 0) -> bytes:
    """A real PNG (so that types are honest), its colour from `seed`."""
    rows = b"".join(b"\x00" + bytes((seed % 256, 80, 160)) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n" + os.urandom(64)


@pytest.fixture(autouse=True)
def s3_checks_post_policies():
    """The local stack's moto checks a presigned POST's policy as S3 does (size, type, fields, expiry)."""
    moto_speedups._enforce_post_policies()


def customer(stack, channel: str, text: str = "hello") -> dict[str, Any]:
    """A customer message on `channel`, processed: its conversation."""
    where = CHANNELS[channel]
    extra = {"subject": "Order 1234", "message_ref": f"<first-{text}@example.org>"} if channel == "email" else {}
    event = InboundMessage(channel=channel, provider_message_id=f"{channel}-in-{clock.epoch()}-{text}",
                           inbox_id=where["inbox"], sender_id=where["sender"], identity=where["identity"],
                           sender_name="Ann", text=text, timestamp=clock.now().timestamp(), **extra)
    ingest.ingest([event])
    stack.drain("ProcessorFunction")
    return next(c for c in conversations(stack) if c["channel"] == channel)


def upload(stack, conv_id: str, name: str, content_type: str, data: bytes, size: int | None = None,
           role: str = "agent") -> tuple[Any, requests.Response | None]:
    """POST /api/uploads, then the browser's POST of the file to the presigned URL."""
    r = stack.http("POST", "/api/uploads", {"conversation_id": conv_id, "filename": name, "content_type": content_type,
                                            "size": len(data) if size is None else size}, role=role)
    if r.status != 201:
        return r, None
    grant = r.json()
    posted = requests.post(grant["url"], data=grant["fields"], files={"file": (name, data, content_type)}, timeout=10)
    return r, posted


def uploaded(stack, conv_id: str, name: str, content_type: str, data: bytes) -> str:
    r, posted = upload(stack, conv_id, name, content_type, data)
    assert r.status == 201, r.body
    assert posted is not None and posted.status_code == 204, posted and posted.text
    return r.json()["upload_id"]


def reply(stack, conv_id: str, text: str, upload_ids: list[str]):
    return stack.http("POST", f"/api/conversations/{conv_id}/messages", {"text": text, "attachments": upload_ids},
                      role="agent")


def objects(stack, prefix: str = "") -> dict[str, bytes]:
    s3, bucket = stack.clients["s3"], stack.resolver.refs["MediaBucket"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
    return {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}


def outbox(stack, channel: str) -> list[dict[str, Any]]:
    return [item for item in stack.sandbox.outbox if item["channel"] == channel]


def outbound(stack, conv_id: str) -> list[dict[str, Any]]:
    return [m for m in messages(stack, conv_id) if m["direction"] == "outbound"]


# -- the API never receives a file's bytes ----------------------------------------------------------------
def test_no_function_receives_the_files_bytes_on_the_upload_path(stack, monkeypatch):
    # Given every function invocation recorded
    seen: list[tuple[str, str]] = []
    for name, fn in stack.functions.items():
        original = fn.invoke

        def spy(event, _original=original, _name=name):
            seen.append((_name, json.dumps(event)))
            return _original(event)

        monkeypatch.setattr(fn, "invoke", spy)
    conv = customer(stack, "whatsapp")
    seen.clear()
    image = png(64, 64, seed=7) + os.urandom(4096)  # random bytes no event could contain by chance
    marker = image[-4096:]
    # When an agent uploads it and replies with it, and the reply is sent
    upload_id = uploaded(stack, conv["id"], "receipt.png", "image/png", image)
    assert reply(stack, conv["id"], "Here it is", [upload_id]).status == 202
    stack.drain("SenderFunction")
    # Then the file went from the "browser" to S3: no invocation's event carried it, in any encoding
    import base64

    forms = (marker, base64.b64encode(marker), marker.hex().encode(), json.dumps(marker.decode("latin-1")).encode())
    api_events = [body for name, body in seen if name == "AgentApiFunction"]
    assert len(api_events) == 2 and all(len(body) < 8192 for body in api_events)  # the upload request and the reply
    assert not any(f.decode("latin-1") in body for _, body in seen for f in forms)
    # and the URL the browser posted to is the bucket's, not the API's
    r = stack.http("POST", "/api/uploads", {"conversation_id": conv["id"], "filename": "x.png",
                                            "content_type": "image/png", "size": 10}, role="agent")
    assert r.json()["url"].startswith("https://") and ".s3." in r.json()["url"] and "/api/" not in r.json()["url"]
    # while the sender, which must hand the file to WhatsApp, read it from S3 and uploaded it
    (media_upload,) = [i for i in outbox(stack, "whatsapp") if i["url"].endswith("/media")]
    assert media_upload["body"]["files"][0]["sha256"] == hashlib.sha256(image).hexdigest()


# -- each channel's send ----------------------------------------------------------------------------------
def test_whatsapp_uploads_each_file_and_sends_it_by_media_id_with_the_caption_on_the_first(stack):
    conv = customer(stack, "whatsapp")
    image, pdf = png(seed=1), PDF
    ids = [uploaded(stack, conv["id"], "screenshot.png", "image/png", image),
           uploaded(stack, conv["id"], "invoice 12.pdf", "application/pdf", pdf)]
    r = reply(stack, conv["id"], "Your invoice and a screenshot", ids)
    assert r.status == 202 and [a["filename"] for a in r.json()["attachments"]] == ["screenshot.png", "invoice 12.pdf"]
    stack.drain("SenderFunction")
    calls = outbox(stack, "whatsapp")
    uploads_, sends = calls[0::2], calls[1::2]
    assert [c["url"].rsplit("/", 1)[1] for c in calls] == ["media", "messages", "media", "messages"]
    assert [u["body"]["form"] for u in uploads_] == [{"messaging_product": "whatsapp", "type": "image/png"},
                                                     {"messaging_product": "whatsapp", "type": "application/pdf"}]
    assert [u["body"]["files"][0]["sha256"] for u in uploads_] == [hashlib.sha256(d).hexdigest() for d in (image, pdf)]
    first, second = (s["body"] for s in sends)
    assert first["type"] == "image" and first["image"]["caption"] == "Your invoice and a screenshot"
    assert first["image"]["id"].startswith("wamedia-") and first["to"] == "15551234567"
    assert second["type"] == "document" and second["document"]["filename"] == "invoice 12.pdf"
    assert "caption" not in second["document"]
    (sent,) = outbound(stack, conv["id"])
    assert sent["status"] == "sent" and [a["status"] for a in sent["attachments"]] == ["stored", "stored"]
    assert all("X-Amz-Signature" in a["url"] for a in sent["attachments"])
    # both parts' ids lead back to the message (receipts of either find it)
    links = stack.items("PROVIDERMSG#whatsapp#")
    assert len(links) == 2 and {i["message_id"] for i in links} == {sent["id"]}
    # the uploads are gone, the copies are under the message
    assert objects(stack, "uploads/") == {}
    stored = objects(stack, f"media/{conv['id']}/{sent['id']}/")
    assert sorted(stored.values()) == sorted([image, pdf])


def test_a_large_whatsapp_document_goes_by_a_link_meta_fetches(stack, monkeypatch):
    from switchboard.channels import whatsapp

    monkeypatch.setattr(whatsapp, "UPLOAD_MAX_BYTES", 100)
    conv = customer(stack, "whatsapp")
    ids = [uploaded(stack, conv["id"], "manual.pdf", "application/pdf", PDF * 3)]
    assert reply(stack, conv["id"], "", ids).status == 202
    stack.drain("SenderFunction")
    (send,) = outbox(stack, "whatsapp")
    link = send["body"]["document"]["link"]
    assert "X-Amz-Signature" in link and "X-Amz-Expires=3600" in link and send["answered"] == 200
    assert outbound(stack, conv["id"])[0]["status"] == "sent"


@pytest.mark.parametrize("channel", ["messenger", "instagram"])
def test_messenger_and_instagram_send_the_text_then_each_file(stack, channel):
    conv = customer(stack, channel)
    ids = [uploaded(stack, conv["id"], "photo.png", "image/png", png(seed=2)),
           uploaded(stack, conv["id"], "terms.pdf", "application/pdf", PDF)]
    assert reply(stack, conv["id"], "See attached", ids).status == 202
    stack.drain("SenderFunction")
    calls = outbox(stack, channel)
    sends = [c["body"] for c in calls if c["url"].endswith("/messages")]
    assert sends[0]["message"] == {"text": "See attached"} and sends[0]["recipient"] == {"id": CHANNELS[channel]["sender"]}
    kinds = [s["message"]["attachment"]["type"] for s in sends[1:]]
    assert kinds == ["image", "file"]
    payloads = [s["message"]["attachment"]["payload"] for s in sends[1:]]
    if channel == "messenger":  # the Attachment Upload API, then the send by attachment id
        uploads_ = [c for c in calls if c["url"].endswith("/PAGE1/message_attachments")]
        assert [json.loads(u["body"]["form"]["message"])["attachment"]["type"] for u in uploads_] == ["image", "file"]
        assert [u["body"]["files"][0]["field"] for u in uploads_] == ["filedata", "filedata"]
        assert all(p["attachment_id"].startswith("attachment-") for p in payloads)
    else:  # Instagram takes media by URL: short-lived links the sandbox fetched as Instagram would
        assert all("X-Amz-Signature" in p["url"] for p in payloads) and len(calls) == 3
    (sent,) = outbound(stack, conv["id"])
    assert sent["status"] == "sent"


def test_telegram_sends_photo_and_document_by_upload_with_the_caption(stack):
    conv = customer(stack, "telegram")
    ids = [uploaded(stack, conv["id"], "photo.png", "image/png", png(seed=3)),
           uploaded(stack, conv["id"], "terms.pdf", "application/pdf", PDF),
           uploaded(stack, conv["id"], "note.ogg", "audio/ogg", b"OggS" + os.urandom(200))]
    assert reply(stack, conv["id"], "Three files", ids).status == 202
    stack.drain("SenderFunction")
    calls = outbox(stack, "telegram")
    assert [c["url"].rsplit("/", 1)[1] for c in calls] == ["sendPhoto", "sendDocument", "sendVoice"]
    assert [c["body"]["files"][0]["field"] for c in calls] == ["photo", "document", "voice"]
    assert calls[0]["body"]["form"] == {"chat_id": "111", "caption": "Three files"}
    assert "caption" not in calls[1]["body"]["form"]
    (sent,) = outbound(stack, conv["id"])
    assert sent["status"] == "sent" and len(sent["attachments"]) == 3


def test_twilio_sends_one_mms_with_a_short_lived_media_url_per_file(stack):
    conv = customer(stack, "sms")
    ids = [uploaded(stack, conv["id"], "a.png", "image/png", png(seed=4)),
           uploaded(stack, conv["id"], "b.pdf", "application/pdf", PDF)]
    assert reply(stack, conv["id"], "", ids).status == 202
    stack.drain("SenderFunction")
    (call,) = outbox(stack, "twilio")
    form = parse_qs(call["body"])
    assert "Body" not in form and form["To"] == ["+15551234567"] and len(form["MediaUrl"]) == 2
    assert all("X-Amz-Expires=3600" in u for u in form["MediaUrl"]) and call["answered"] == 200
    assert outbound(stack, conv["id"])[0]["status"] == "sent"


def test_email_attaches_the_files_and_keeps_the_threading(stack):
    conv = customer(stack, "email")
    pdf = PDF
    ids = [uploaded(stack, conv["id"], "invoice.pdf", "application/pdf", pdf)]
    assert reply(stack, conv["id"], "Your invoice is attached.", ids).status == 202
    stack.drain("SenderFunction")
    (sent,) = outbound(stack, conv["id"])
    assert sent["status"] == "sent", sent
    import email
    import email.policy

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    raw = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages[-1].raw_data
    mail = email.message_from_string(raw, policy=email.policy.default)
    assert mail["Subject"] == "Re: Order 1234" and mail["Reply-To"].startswith("support+" + conv["id"])
    assert mail["In-Reply-To"] == "<first-hello@example.org>"
    parts = list(mail.iter_attachments())
    assert [(p.get_filename(), p.get_content_type()) for p in parts] == [("invoice.pdf", "application/pdf")]
    assert parts[0].get_content() == pdf
    assert mail.get_body(("plain",)).get_content().strip() == "Your invoice is attached."


def test_web_chat_shows_the_agents_file_to_the_visitor_by_a_presigned_link(stack):
    from tests.integration.test_webchat import visitor

    session, _ = visitor()
    token = session["token"]
    assert stack.http("POST", "/webchat/messages", {"client_message_id": "c-00000001", "text": "hi"},
                      {"Authorization": f"Bearer {token}"}).status == 201
    stack.drain("ProcessorFunction")
    conv = next(c for c in conversations(stack) if c["channel"] == "webchat")
    ids = [uploaded(stack, conv["id"], "map.png", "image/png", png(seed=5))]
    assert reply(stack, conv["id"], "Here is the map", ids).status == 202
    stack.drain("SenderFunction")
    items = stack.http("GET", "/webchat/messages", headers={"Authorization": f"Bearer {token}"}).json()["items"]
    (answer,) = [m for m in items if m["from"] == "agent"]
    (file,) = answer["attachments"]
    assert file["filename"] == "map.png" and file["status"] == "stored" and "X-Amz-Signature" in file["url"]
    assert requests.get(file["url"], timeout=10).content == png(seed=5)


# -- limits, refused before anything is queued --------------------------------------------------------------
LIMITS = [  # channel, file name, type, size, refused when the upload is requested
    ("whatsapp", "big.png", "image/png", 5 * MB + 1),
    ("whatsapp", "anim.gif", "image/gif", 1000),
    ("whatsapp", "song.mp3", "audio/mpeg", 16 * MB + 1),
    ("whatsapp", "clip.mp4", "video/mp4", 16 * MB + 1),
    ("whatsapp", "huge.pdf", "application/pdf", 100 * MB + 1),
    ("whatsapp", "archive.zip", "application/zip", 1000),
    ("messenger", "big.pdf", "application/pdf", 25 * MB + 1),
    ("instagram", "big.png", "image/png", 8 * MB + 1),
    ("instagram", "sheet.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 1000),
    ("telegram", "big.zip", "application/zip", 50 * MB + 1),
    ("sms", "big.png", "image/png", 5 * MB + 1),
    ("sms", "archive.zip", "application/zip", 1000),
    ("email", "setup.exe", "application/octet-stream", 1000),
    ("email", "huge.pdf", "application/pdf", 40 * MB),
    ("webchat", "big.png", "image/png", 10 * MB + 1),
]


@pytest.mark.parametrize(("channel", "name", "content_type", "size"), LIMITS,
                         ids=[f"{c}-{n}" for c, n, _, _ in LIMITS])
def test_each_limit_is_refused_when_the_upload_is_asked_for(stack, channel, name, content_type, size):
    conv = customer(stack, channel)
    r, _ = upload(stack, conv["id"], name, content_type, b"x", size=size)
    assert r.status == 400 and r.json()["error"]["code"] == "file_not_accepted", r.body
    assert objects(stack, "uploads/") == {}


def reply_refused(stack, conv_id: str, upload_ids: list[str], code: str, text: str = "x") -> None:
    before = stack.queue_count("OutboundQueue")
    r = reply(stack, conv_id, text, upload_ids)
    assert r.status == 400 and r.json()["error"]["code"] == code, r.body
    assert stack.queue_count("OutboundQueue") == before and outbound(stack, conv_id) == []
    assert objects(stack, "media/") == {}


def test_twilio_mms_is_5_mb_in_all_and_only_to_north_american_numbers(stack):
    conv = customer(stack, "sms")
    # two files each under 5 MB, together over it
    ids = [uploaded(stack, conv["id"], f"{n}.png", "image/png", png(seed=n) + b"\0" * (3 * MB)) for n in (1, 2)]
    reply_refused(stack, conv["id"], ids, "files_not_accepted")
    # a customer outside the US and Canada
    stack.clients["dynamodb"].update_item(
        TableName=stack.resolver.refs["Table"], Key={"pk": {"S": f"CONV#{conv['id']}"}, "sk": {"S": "META"}},
        UpdateExpression="SET recipient = :r", ExpressionAttributeValues={":r": {"S": "+447700900123"}})
    small = [uploaded(stack, conv["id"], "small.png", "image/png", png(seed=3))]
    r = reply(stack, conv["id"], "x", small)
    assert r.status == 400 and "US and Canadian" in r.json()["error"]["message"]


def test_email_is_40_mb_in_all(stack, monkeypatch):
    import dataclasses

    from switchboard.channels import email as email_channel

    # the same rule, at a testable size
    smaller = dataclasses.replace(email_channel.MEDIA_LIMITS, max_total_bytes=3000)
    monkeypatch.setattr(email_channel.EmailChannel, "media_limits", smaller)
    conv = customer(stack, "email")
    ids = [uploaded(stack, conv["id"], f"{n}.pdf", "application/pdf", PDF + b"\0" * 2000) for n in (1, 2)]
    reply_refused(stack, conv["id"], ids, "files_not_accepted")


def test_web_chats_limit_is_a_setting(stack, settings_env):
    settings_env(WEBCHAT_MAX_FILE_BYTES="100")
    conv = customer(stack, "webchat")
    r, _ = upload(stack, conv["id"], "a.png", "image/png", png(seed=1), size=101)
    assert r.status == 400 and "100 KB" not in r.json()["error"]["message"] and "web" in r.json()["error"]["message"]
    r, _ = upload(stack, conv["id"], "a.png", "image/png", b"x" * 100)
    assert r.status == 201


def test_a_missing_foreign_or_lying_upload_is_refused_before_anything_is_queued(stack):
    mine, other = customer(stack, "whatsapp"), customer(stack, "telegram")
    # never posted to S3
    r = stack.http("POST", "/api/uploads", {"conversation_id": mine["id"], "filename": "a.png",
                                            "content_type": "image/png", "size": 72}, role="agent")
    assert r.status == 201
    reply_refused(stack, mine["id"], [r.json()["upload_id"]], "upload_not_found")
    # made for another conversation
    theirs = uploaded(stack, other["id"], "b.png", "image/png", png())
    reply_refused(stack, mine["id"], [theirs], "upload_not_found")
    # not an upload id at all, or one named twice
    reply_refused(stack, mine["id"], ["../../media/x"], "invalid_upload")
    good = uploaded(stack, mine["id"], "c.png", "image/png", png())
    reply_refused(stack, mine["id"], [good, good], "invalid_upload")
    # a file of another size or type than the policy says: S3 (here, the local stack's moto) refuses the POST
    r = stack.http("POST", "/api/uploads", {"conversation_id": mine["id"], "filename": "d.png",
                                            "content_type": "image/png", "size": 10}, role="agent")
    grant = r.json()
    too_big = requests.post(grant["url"], data=grant["fields"], files={"file": ("d.png", b"x" * 11, "image/png")},
                            timeout=10)
    assert too_big.status_code == 400 and "EntityTooLarge" in too_big.text
    lying = dict(grant["fields"], **{"Content-Type": "image/gif"})
    assert requests.post(grant["url"], data=lying, files={"file": ("d.png", b"x" * 10, "image/gif")},
                         timeout=10).status_code == 403
    # and had a file reached S3 anyway, the reply checks what S3 stored, not what the client claimed
    key = f"uploads/c/{mine['id']}/up_{'0' * 32}"
    stack.clients["s3"].put_object(Bucket=stack.resolver.refs["MediaBucket"], Key=key, Body=b"GIF89a",
                                   ContentType="image/gif")
    reply_refused(stack, mine["id"], [f"up_{'0' * 32}"], "file_not_accepted")
    # an upload for a conversation that does not exist, and an unknown field
    assert stack.http("POST", "/api/uploads", {"conversation_id": "cv_missing", "filename": "a.png",
                                               "content_type": "image/png", "size": 10}, role="agent").status == 404
    assert stack.http("POST", "/api/uploads", {"conversation_id": mine["id"], "filename": "a.png",
                                               "content_type": "image/png", "size": 10, "x": 1},
                      role="agent").status == 422
    assert stack.http("POST", "/api/uploads", {"conversation_id": mine["id"], "filename": "a.png",
                                               "content_type": "image/png", "size": 10}).status == 401
    # a reply needs text or files
    assert stack.http("POST", f"/api/conversations/{mine['id']}/messages", {"text": " "}, role="agent").status == 422


def test_whatsapp_files_are_not_sent_past_the_window_in_the_template(stack, settings_env):
    settings_env(WHATSAPP_REPLY_TEMPLATE="support_reply:en_US")
    conv = customer(stack, "whatsapp")
    ids = [uploaded(stack, conv["id"], "a.png", "image/png", png())]
    clock.advance(25 * 3600)
    reply_refused(stack, conv["id"], ids, "files_not_accepted")


# -- retries: never twice ---------------------------------------------------------------------------------
def test_a_retry_after_on_the_second_file_resends_only_what_did_not_go(stack):
    conv = customer(stack, "telegram")
    ids = [uploaded(stack, conv["id"], f"{n}.png", "image/png", png(seed=n)) for n in (1, 2)]
    assert reply(stack, conv["id"], "two", ids).status == 202
    # the provider takes the first file, then answers 429 with a Retry-After too long to wait inside the call
    original = stack.sandbox._telegram

    def then_throttle(method, subpath, body, query):
        stack.sandbox._telegram = original
        stack.sandbox.add_fault("telegram", Fault(status=429, count=1, retry_after=30, body={
            "ok": False, "error_code": 429, "description": "Too Many Requests: retry after 30",
            "parameters": {"retry_after": 30}}))
        return original(method, subpath, body, query)

    stack.sandbox._telegram = then_throttle
    assert stack.source("SenderFunction").poll_once() == 1
    (message,) = outbound(stack, conv["id"])
    assert message["status"] == "queued"
    (item,) = [i for i in stack.items(f"CONV#{conv['id']}") if i["sk"].startswith("MSG#") and i["direction"] == "outbound"]
    assert list(item["sent_parts"]) == ["0"] and item["retry_at"] > clock.epoch() + 20
    # when the wait is over, the job comes back: only the second file goes
    clock.advance(31)
    stack.drain("SenderFunction")
    assert [(c["answered"], c["body"]["files"][0]["sha256"]) for c in outbox(stack, "telegram")] == [
        (200, hashlib.sha256(png(seed=1)).hexdigest()), (429, hashlib.sha256(png(seed=2)).hexdigest()),
        (200, hashlib.sha256(png(seed=2)).hexdigest())]
    (message,) = outbound(stack, conv["id"])
    assert message["status"] == "sent"


def test_a_permanent_failure_of_the_second_file_says_what_went(stack):
    conv = customer(stack, "whatsapp")
    ids = [uploaded(stack, conv["id"], f"{n}.png", "image/png", png(seed=n)) for n in (1, 2)]
    assert reply(stack, conv["id"], "two", ids).status == 202
    # media upload 1, send 1, media upload 2 fine; the second send refused
    stack.sandbox.add_fault("whatsapp", Fault(status=200, count=0))
    original = stack.sandbox._whatsapp
    sends = {"n": 0}

    def refuse_second_send(method, subpath, body, query):
        if subpath.endswith("/messages"):
            sends["n"] += 1
            if sends["n"] == 2:
                from infra.local.sandbox import Refusal

                raise Refusal(400, {"error": {"message": "(#131026) Message undeliverable", "code": 131026}})
        return original(method, subpath, body, query)

    stack.sandbox._whatsapp = refuse_second_send
    stack.drain("SenderFunction")
    (message,) = outbound(stack, conv["id"])
    assert message["status"] == "failed"
    assert message["failure_reason"].startswith("1 of 2 parts of this reply were sent, then: whatsapp error 131026")
    assert sends["n"] == 2


def test_a_sender_lost_in_the_middle_of_a_reply_never_sends_a_part_twice(stack):
    from switchboard.channels import registry

    conv = customer(stack, "messenger")
    ids = [uploaded(stack, conv["id"], "a.png", "image/png", png(seed=1))]
    assert reply(stack, conv["id"], "the text goes first", ids).status == 202
    # the sender is lost (the Lambda ran out of time) while the file, the second part, is in flight
    channel = registry.get("messenger")
    real_send = channel.send
    calls = {"n": 0}

    def lost_on_second(request):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("the Lambda ran out of time")
        return real_send(request)

    channel.send = lost_on_second  # type: ignore[method-assign]
    try:
        stack.source("SenderFunction").poll_once()
    finally:
        channel.send = real_send  # type: ignore[method-assign]
    # the part in flight may have gone: once the lease runs out the reply is failed, never sent blind again
    clock.advance(3600)
    stack.drain("SenderFunction")
    (message,) = outbound(stack, conv["id"])
    assert message["status"] == "failed" and "outcome unknown" in message["failure_reason"]
    assert len([c for c in outbox(stack, "messenger") if c["url"].endswith("/messages")]) == 1


# -- visitors ---------------------------------------------------------------------------------------------
def test_a_visitor_attaches_an_image_and_a_pdf(stack):
    from tests.integration.test_webchat import visitor

    session, _ = visitor()
    token = session["token"]
    auth = {"Authorization": f"Bearer {token}"}
    ids = []
    for name, kind, data in (("photo.png", "image/png", png(seed=9)), ("order.pdf", "application/pdf", PDF)):
        r = stack.http("POST", "/webchat/uploads", {"filename": name, "content_type": kind, "size": len(data)}, auth)
        assert r.status == 201, r.body
        grant = r.json()
        assert requests.post(grant["url"], data=grant["fields"], files={"file": (name, data, kind)},
                             timeout=10).status_code == 204
        ids.append(grant["upload_id"])
    # other types, or over the setting, are refused; so is an upload without a visitor token
    r = stack.http("POST", "/webchat/uploads", {"filename": "x.zip", "content_type": "application/zip", "size": 9}, auth)
    assert r.status == 400 and r.json()["error"]["code"] == "file_not_accepted"
    assert stack.http("POST", "/webchat/uploads", {"filename": "x.png", "content_type": "image/png",
                                                   "size": 10 * MB + 1}, auth).status == 400
    assert stack.http("POST", "/webchat/uploads", {"filename": "x.png", "content_type": "image/png",
                                                   "size": 9}).status == 401
    # the message names them (no text needed); another visitor cannot name them
    other, _ = visitor()
    r = stack.http("POST", "/webchat/messages", {"client_message_id": "c-other-01", "attachment_ids": ids},
                   {"Authorization": f"Bearer {other['token']}"})
    assert r.status == 400 and r.json()["error"]["code"] == "upload_not_found"
    r = stack.http("POST", "/webchat/messages", {"client_message_id": "c-files-01", "attachment_ids": ids}, auth)
    assert r.status == 201, r.body
    stack.drain("ProcessorFunction")
    conv = next(c for c in conversations(stack) if c["channel"] == "webchat")
    (message,) = messages(stack, conv["id"])
    assert [(a["filename"], a["status"], a["kind"]) for a in message["attachments"]] == [
        ("photo.png", "stored", "image"), ("order.pdf", "stored", "document")]
    assert requests.get(message["attachments"][1]["url"], timeout=10).content == PDF
    # copied under the message's media key, the uploads deleted; a retry of the same message is a repeat
    assert objects(stack, "uploads/") == {}
    assert len(objects(stack, f"media/{conv['id']}/{message['id']}/")) == 2
    r = stack.http("POST", "/webchat/messages", {"client_message_id": "c-files-01", "attachment_ids": ids}, auth)
    assert r.status == 200 and r.json()["duplicate"] is True
    # the visitor sees their own files
    items = stack.http("GET", "/webchat/messages", headers=auth).json()["items"]
    assert [a["filename"] for a in items[0]["attachments"]] == ["photo.png", "order.pdf"]


def test_a_visitor_may_keep_only_so_many_unused_uploads(stack, monkeypatch):
    from switchboard.services import uploads
    from tests.integration.test_webchat import visitor

    monkeypatch.setattr(uploads, "MAX_PENDING_VISITOR_UPLOADS", 2)
    session, _ = visitor()
    token = session["token"]
    auth = {"Authorization": f"Bearer {token}"}
    for _ in range(2):
        grant = stack.http("POST", "/webchat/uploads", {"filename": "a.png", "content_type": "image/png", "size": 3},
                           auth).json()
        requests.post(grant["url"], data=grant["fields"], files={"file": ("a.png", b"abc", "image/png")}, timeout=10)
    r = stack.http("POST", "/webchat/uploads", {"filename": "a.png", "content_type": "image/png", "size": 3}, auth)
    assert r.status == 429 and r.json()["error"]["code"] == "too_many_uploads"


# -- retention, export, erasure -----------------------------------------------------------------------------
def test_erasure_deletes_sent_files_and_unused_uploads_and_export_links_them(stack):
    conv = customer(stack, "whatsapp")
    ids = [uploaded(stack, conv["id"], "a.png", "image/png", png(seed=1))]
    assert reply(stack, conv["id"], "x", ids).status == 202
    stack.drain("SenderFunction")
    unused = uploaded(stack, conv["id"], "draft.png", "image/png", png(seed=2))
    assert unused and len(objects(stack)) == 2
    detail = stack.http("GET", f"/api/conversations/{conv['id']}", role="agent").json()
    exported = stack.http("GET", f"/api/contacts/{detail['contact']['id']}/export", role="admin").json()
    files = [a for c in exported["conversations"] for m in c["messages"] for a in m["attachments"]]
    assert [f["filename"] for f in files] == ["a.png"] and requests.get(files[0]["url"], timeout=10).ok
    erased = stack.http("DELETE", f"/api/contacts/{detail['contact']['id']}", role="admin")
    assert erased.status == 200 and erased.json()["erased"]["objects"] == 2  # the sent file and the unused upload
    assert objects(stack) == {}
    assert stack.items("PROVIDERMSG#") == []


def test_retention_deletes_a_replys_files(stack):
    conv = customer(stack, "telegram")
    ids = [uploaded(stack, conv["id"], f"{n}.png", "image/png", png(seed=n)) for n in (1, 2)]
    assert reply(stack, conv["id"], "x", ids).status == 202
    stack.drain("SenderFunction")
    assert len(objects(stack, "media/")) == 2
    clock.advance(400 * 24 * 3600)
    stack.functions["RetentionFunction"].invoke({"source": "aws.scheduler"})
    assert objects(stack) == {} and stack.items("PROVIDERMSG#") == []

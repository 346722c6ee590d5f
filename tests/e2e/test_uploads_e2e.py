"""Rich replies through the local stack over HTTP: the upload URL is the AWS stand-in's S3 (its CORS answers the
agents' app's origin, its POST policy is checked as S3 checks it), and a WhatsApp reply with an image and a PDF
goes out through the sandbox as two media uploads and two messages."""

from __future__ import annotations

import urllib.request
import uuid

import pytest
import requests

from tests.integration.test_uploads import PDF, png
from tests.integration.test_whatsapp_flow import wa_message, wa_payload

pytestmark = pytest.mark.e2e


def conversation(s) -> dict:
    sender = "1555" + str(uuid.uuid4().int)[:7]
    text = f"hello {uuid.uuid4().hex[:8]}"
    assert s.post_meta("whatsapp", wa_payload(wa_message(f"wamid.up.{sender}", sender=sender, text=text),
                                               sender=sender, name="Uploader")).status == 200

    def landed():
        return next((c for c in s.conversations(limit="100")
                     if any(m["text"] == text for m in s.messages(c["id"]))), None)

    conv = s.wait_for(landed, 20)
    assert conv
    return conv | {"sender": sender}


def grant(s, conv_id: str, name: str, kind: str, size: int) -> dict:
    r = s.api("POST", "/api/uploads", {"conversation_id": conv_id, "filename": name, "content_type": kind,
                                       "size": size})
    assert r.status == 201, r.body
    return r.json()


def test_a_whatsapp_reply_with_an_image_and_a_pdf_through_the_local_stack(local_stack):
    s = local_stack
    conv = conversation(s)
    image = png(40, 30, seed=11)
    ids = []
    for name, kind, data in (("screenshot.png", "image/png", image), ("invoice.pdf", "application/pdf", PDF)):
        g = grant(s, conv["id"], name, kind, len(data))
        # the URL is the AWS stand-in's S3, never the API: the bytes go there
        assert not g["url"].startswith(s.base) and g["url"].endswith("/switchboard-local-mediabucket")
        # a browser's preflight from the agents' app is answered by the bucket's CORS rules
        preflight = requests.options(g["url"], headers={"Origin": s.base, "Access-Control-Request-Method": "POST"},
                                     timeout=10)
        assert preflight.status_code == 200 and preflight.headers["Access-Control-Allow-Origin"] == s.base
        posted = requests.post(g["url"], data=g["fields"], files={"file": (name, data, kind)},
                               headers={"Origin": s.base}, timeout=10)
        assert posted.status_code == 204 and posted.headers.get("Access-Control-Allow-Origin") == s.base
        ids.append(g["upload_id"])
    assert s.api("POST", f"/api/conversations/{conv['id']}/messages",
                 {"text": "Your invoice", "attachments": ids}).status == 202

    def sent():
        mine = [m for m in s.messages(conv["id"]) if m["direction"] == "outbound" and m["attachments"]]
        return mine if mine and mine[0]["status"] == "sent" else None

    (message,) = s.wait_for(sent, 20)
    assert [a["filename"] for a in message["attachments"]] == ["screenshot.png", "invoice.pdf"]
    assert requests.get(message["attachments"][0]["url"], timeout=10).content == image
    calls = [i for i in s.request("GET", "/_local/outbox").json()["items"] if i["channel"] == "whatsapp"
             and (i["url"].endswith("/media") or (isinstance(i["body"], dict) and i["body"].get("to") == conv["sender"]))]
    assert [c["url"].rsplit("/", 1)[1] for c in calls][-4:] == ["media", "messages", "media", "messages"]
    assert calls[-3]["body"]["image"]["caption"] == "Your invoice"


def test_the_stand_ins_s3_refuses_what_the_policy_does_not_allow(local_stack):
    s = local_stack
    conv = conversation(s)
    g = grant(s, conv["id"], "a.png", "image/png", 10)
    too_big = requests.post(g["url"], data=g["fields"], files={"file": ("a.png", b"x" * 11, "image/png")}, timeout=10)
    assert too_big.status_code == 400 and "EntityTooLarge" in too_big.text
    other_key = dict(g["fields"], key=g["fields"]["key"].replace("uploads/c/", "media/"))
    assert requests.post(g["url"], data=other_key, files={"file": ("a.png", b"x" * 10, "image/png")},
                         timeout=10).status_code == 403
    # and a limit is refused by the API before any upload
    r = s.api("POST", "/api/uploads", {"conversation_id": conv["id"], "filename": "big.png",
                                       "content_type": "image/png", "size": 6 * 1024 * 1024})
    assert r.status == 400 and r.json()["error"]["code"] == "file_not_accepted"


def test_the_agents_app_may_post_to_the_stand_in_and_play_media_from_it(local_stack):
    html = urllib.request.urlopen(local_stack.base + "/", timeout=10).read().decode()
    csp = html.split('http-equiv="Content-Security-Policy"', 1)[1].split('content="', 1)[1].split('"', 1)[0]
    directives = {d.split()[0]: d.split()[1:] for d in (p.strip() for p in csp.split(";")) if d}
    r = local_stack.api("POST", "/api/uploads", {"conversation_id": conversation(local_stack)["id"],
                                                 "filename": "a.png", "content_type": "image/png", "size": 5})
    origin = "/".join(r.json()["url"].split("/")[:3])
    for directive in ("connect-src", "img-src", "media-src"):
        assert origin in directives[directive], directive
    assert "blob:" in directives["img-src"]  # previews of files before they are sent

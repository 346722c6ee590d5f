"""Rich replies in a real browser: an agent pastes a screenshot, attaches a PDF and drops an image into a WhatsApp
reply, sees each upload's progress go straight to the media bucket, and sees both sent; a file WhatsApp cannot
carry is refused on its chip; a web chat visitor attaches an image and a PDF. Screenshots in screenshots/."""

from __future__ import annotations

import base64
import json
import struct
import uuid
import zlib

import pytest

from tests.browser.conftest import settle
from tests.browser.test_frontend import expect, open_page, shot, sign_in
from tests.integration.test_whatsapp_flow import wa_message, wa_payload

LAPTOP = {"width": 1280, "height": 800}


@pytest.fixture
def customer(local_stack):
    """A WhatsApp customer who just wrote, by the stack's clock (other tests move it): the reply window is open."""
    s, tag = local_stack, uuid.uuid4().hex[:8]
    sender, name, now = "1555" + str(uuid.uuid4().int)[:7], f"Ann {tag}", s.request("GET", "/_local/clock").json()["epoch"]
    message = wa_message(f"wamid.files.{tag}", sender=sender, text="Hello, where is my order #1234?") | {
        "timestamp": str(now)}
    assert s.post_meta("whatsapp", wa_payload(message, sender=sender, name=name)).status == 200
    conv = s.wait_for(lambda: next((c for c in s.conversations(status="open", limit="100")
                                    if c["contact"]["name"] == name), None), 20)
    assert conv, f"the conversation of {name} did not land"
    settle(s, conv["id"])
    return conv | {"sender": sender}


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real PNG: a screenshot-like picture (a bar on top, a panel), so that the preview shows something."""
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")
        for x in range(width):
            bar, panel = y < height // 6, width // 8 < x < width * 7 // 8 and height // 3 < y < height * 5 // 6
            row += bytes((30, 40, 60) if bar else (255, 255, 255) if panel else rgb)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))


PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> "
       b"endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

PASTE = """([b64, name, type]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], name, { type }));
  document.querySelector('[data-testid="reply-input"]').dispatchEvent(
    new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
}"""

DROP = """([b64, name, type]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], name, { type }));
  const zone = document.querySelector('form.composer');
  for (const kind of ['dragenter', 'dragover', 'drop']) {
    zone.dispatchEvent(new DragEvent(kind, { dataTransfer: data, bubbles: true, cancelable: true }));
  }
}"""


def open_conversation(page, customer: dict) -> None:
    page.get_by_test_id("conversation").filter(has_text=customer["contact"]["name"]).click()
    expect(page.locator("#conv-title")).to_have_text(customer["contact"]["name"])
    expect(page.get_by_test_id("reply-input")).to_be_enabled()


def whatsapp_sends(stack, recipient: str) -> list[dict]:
    return [i for i in stack.request("GET", "/_local/outbox").json()["items"]
            if i["channel"] == "whatsapp" and isinstance(i["body"], dict) and i["body"].get("to") == recipient]


def test_an_agent_pastes_a_screenshot_attaches_a_pdf_and_sees_both_sent(page, customer, local_stack):
    uploads_seen: list[str] = []
    page.on("request", lambda r: uploads_seen.append(r.url) if r.method == "POST" else None)
    sign_in(page)
    open_conversation(page, customer)
    # A screenshot pasted into the reply box, a PDF from the file picker
    screenshot = png(320, 200, (70, 120, 200))
    page.evaluate(PASTE, [base64.b64encode(screenshot).decode(), "image.png", "image/png"])
    page.get_by_test_id("attach-input").set_input_files(
        {"name": "invoice-1234.pdf", "mimeType": "application/pdf", "buffer": PDF})
    items = page.get_by_test_id("attachment-item")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text("screenshot-")
    expect(items.nth(0).locator("img.attach-thumb")).to_be_visible()
    expect(items.nth(1)).to_contain_text("invoice-1234.pdf")
    for i in range(2):
        expect(items.nth(i).get_by_test_id("attachment-state")).to_have_text("ready", timeout=15_000)
    page.get_by_test_id("reply-input").fill("Here is your invoice, and where to find it")
    shot(page, "uploads-01-composer-with-a-screenshot-and-a-pdf")
    # the files went to the AWS stand-in's S3 (the bucket), never to the API
    bucket_posts = [u for u in uploads_seen if u.endswith("/switchboard-local-mediabucket")]
    assert len(bucket_posts) == 2 and not bucket_posts[0].startswith(local_stack.base)
    assert [u for u in uploads_seen if "upload" in u and u.startswith(local_stack.base)] == [
        local_stack.base + "/api/uploads"] * 2
    page.get_by_test_id("reply-send").click()
    expect(items).to_have_count(0)
    # Both are sent: the message shows the picture inline and the PDF as a chip with its size
    sent = page.get_by_test_id("message").filter(has_text="Here is your invoice")
    expect(sent.get_by_test_id("delivery-status")).to_have_text("sent", timeout=15_000)
    picture = sent.locator("img.attachment-image")
    expect(picture).to_be_visible()
    page.wait_for_function("el => el.complete && el.naturalWidth === 320", arg=picture.element_handle())
    chip = sent.locator(".file-chip")
    expect(chip).to_contain_text("invoice-1234.pdf")
    expect(chip).to_contain_text(f"{len(PDF)} B")
    sent.scroll_into_view_if_needed()
    sent.evaluate("el => el.scrollIntoView({block: 'end'})")
    shot(page, "uploads-02-sent-with-both-files")
    # WhatsApp got two media uploads and two messages: the image with the caption, the document with its name
    sends = whatsapp_sends(local_stack, customer["sender"])
    kinds = [(s["body"]["type"], s["body"][s["body"]["type"]].get("caption")) for s in sends[-2:]]
    assert kinds == [("image", "Here is your invoice, and where to find it"), ("document", None)]


def test_a_file_dropped_on_the_composer_is_sent_without_text(page, customer, local_stack):
    sign_in(page)
    open_conversation(page, customer)
    photo = png(200, 150, (200, 90, 40))
    page.evaluate(DROP, [base64.b64encode(photo).decode(), "parcel.png", "image/png"])
    item = page.get_by_test_id("attachment-item")
    expect(item.get_by_test_id("attachment-state")).to_have_text("ready", timeout=15_000)
    page.get_by_test_id("reply-send").click()
    message = page.get_by_test_id("message").filter(has=page.locator("img[alt='Image: parcel.png']"))
    expect(message.get_by_test_id("delivery-status")).to_have_text("sent", timeout=15_000)
    assert message.locator(".msg-text").count() == 0


def test_a_file_whatsapp_cannot_carry_is_refused_on_its_chip_and_blocks_the_send(page, customer):
    sign_in(page)
    open_conversation(page, customer)
    page.get_by_test_id("attach-input").set_input_files(
        {"name": "archive.zip", "mimeType": "application/zip", "buffer": b"PK\x03\x04" + b"\0" * 100})
    item = page.get_by_test_id("attachment-item")
    expect(item).to_have_attribute("data-state", "failed", timeout=10_000)
    expect(item).to_contain_text("whatsapp cannot send files of type application/zip")
    page.get_by_test_id("reply-input").fill("With a zip")
    page.get_by_test_id("reply-send").click()
    expect(page.locator(".composer .form-error")).to_contain_text("Remove the files that could not be uploaded")
    shot(page, "uploads-03-a-refused-file")
    item.get_by_test_id("attachment-remove").click()
    expect(item).to_have_count(0)
    page.get_by_test_id("reply-send").click()
    expect(page.get_by_test_id("message").filter(has_text="With a zip").get_by_test_id("delivery-status")).to_have_text(
        "sent", timeout=15_000)


def test_a_visitor_attaches_an_image_and_a_pdf_in_the_widget_and_the_agent_sees_them(page, browser, local_stack):
    s, tag = local_stack, uuid.uuid4().hex[:8]
    name = f"Widget visitor {tag}"
    session = s.request("POST", "/webchat/sessions", {"name": name}, {"Origin": s.base}).json()
    hello = {"client_message_id": f"hello-{tag}", "text": "Hello, my parcel arrived broken"}
    assert s.request("POST", "/webchat/messages", hello, {"Authorization": f"Bearer {session['token']}"}).status == 201
    saved = json.dumps({"visitor_id": session["visitor_id"]})
    page.add_init_script(f"localStorage.setItem('switchboard:default', {json.dumps(saved)})")
    page.goto("/widget-demo.html")
    page.locator(".launcher").click()
    expect(page.locator(".msg.you", has_text="my parcel arrived broken")).to_be_visible(timeout=20_000)
    photo = png(240, 160, (40, 160, 90))
    page.locator("input[type=file]").set_input_files([
        {"name": "broken-lid.png", "mimeType": "image/png", "buffer": photo},
        {"name": "order.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    # The visitor sees both in the chat once stored: the image inline, the PDF as a link with its size
    expect(page.locator(".msg.you img[alt='broken-lid.png']")).to_be_visible(timeout=20_000)
    expect(page.locator(".msg.you a.file", has_text="order.pdf")).to_be_visible(timeout=20_000)
    page.locator(".log").evaluate("el => { el.scrollTop = el.scrollHeight; }")
    shot(page, "uploads-04-widget-visitor-files")

    def conversation():
        return next((c for c in s.conversations(channel="webchat", limit="100") if c["contact"]["name"] == name), None)

    conv = s.wait_for(conversation, 20)
    assert conv
    # The agent sees them in the conversation
    agent, errors = open_page(browser, s.base, LAPTOP)
    try:
        sign_in(agent)
        agent.get_by_test_id("conversation").filter(has_text=name).click()
        expect(agent.locator("img[alt='Image: broken-lid.png']")).to_be_visible(timeout=15_000)
        expect(agent.locator(".file-chip", has_text="order.pdf")).to_be_visible()
        shot(agent, "uploads-05-agent-sees-the-visitors-files")
    finally:
        agent.context.close()
    assert not errors


def test_pasting_text_still_pastes_text(page, customer):
    sign_in(page)
    open_conversation(page, customer)
    page.get_by_test_id("reply-input").focus()
    page.evaluate("""() => { const d = new DataTransfer(); d.setData('text/plain', 'plain words');
      document.querySelector('[data-testid="reply-input"]').dispatchEvent(
        new ClipboardEvent('paste', { clipboardData: d, bubbles: true, cancelable: true })); }""")
    expect(page.get_by_test_id("attachment-item")).to_have_count(0)
    assert page.get_by_test_id("attachments").is_hidden()

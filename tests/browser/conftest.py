"""Browser tier: the local stack (shared with the e2e tier's fixture) plus data made through signed webhooks."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.e2e.conftest import (  # noqa: F401  (the session fixture and the clock's, reused)
    LocalStack,
    _on_the_stacks_clock,
    follow_stack_clock,
    local_stack,
)
from tests.integration.test_whatsapp_flow import wa_message, wa_payload


def new_whatsapp_conversation(stack: LocalStack, name: str, texts: list[str], image: bool = False) -> dict:
    """A customer writes on WhatsApp (signed webhook); returns the conversation once the processor has made it."""
    sender = "1555" + str(uuid.uuid4().int)[:7]
    tag = uuid.uuid4().hex[:10]
    follow_stack_clock(stack)  # the test may have moved the stack's clock since it began
    messages = [wa_message(f"wamid.{tag}.{i}", sender=sender, text=text) for i, text in enumerate(texts)]
    if image:
        messages.append(wa_message(f"wamid.{tag}.img", sender=sender, kind="image",
                                   body={"id": f"MEDIA{tag}", "mime_type": "image/jpeg", "caption": "photo of the box"}))
    assert stack.post_meta("whatsapp", wa_payload(*messages, sender=sender, name=name)).status == 200

    def landed():
        for conv in stack.conversations(status="open", limit="100"):
            if conv["contact"]["name"] == name:
                texts_now = {m["text"] for m in stack.messages(conv["id"])}
                if set(texts) <= texts_now:
                    return conv
        return None

    conv = stack.wait_for(landed, timeout=20)
    assert conv, f"the conversation of {name} did not land"
    settle(stack, conv["id"])
    return conv | {"sender": sender}


def settle(stack: LocalStack, conv_id: str, timeout: float = 8) -> None:
    """Until the automated answer to a new conversation (greeting or away message) is sent: it moves the conversation
    up the inbox, and a row that moves under a click opens another, or a shift-click picks another range. A stack
    whose automation is off has none: then this waits `timeout` and goes on."""
    def sent() -> bool:
        outbound = [m for m in stack.messages(conv_id) if m["direction"] == "outbound"]
        return bool(outbound) and all(m["status"] != "queued" for m in outbound)

    stack.wait_for(sent, timeout=timeout)


@pytest.fixture(scope="session")
def browser():
    """One Chromium for every browser test module: Playwright's sync API runs one instance at a time."""
    from playwright.sync_api import sync_playwright

    from tests.browser.test_frontend import ARGS, CHROMIUM, SHOTS  # skips the tier where Chromium is missing

    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def customer(local_stack):  # noqa: F811
    """A fresh WhatsApp conversation from a uniquely named customer."""
    name = f"Ann {uuid.uuid4().hex[:6]}"
    started = time.monotonic()
    conv = new_whatsapp_conversation(local_stack, name, ["Hello, where is my order #1234?"], image=True)
    conv["seconds_to_land"] = round(time.monotonic() - started, 2)
    return conv


@pytest.fixture
def page(browser, local_stack):  # noqa: F811
    from tests.browser.test_frontend import LAPTOP, open_page

    page, errors = open_page(browser, local_stack.base, LAPTOP)
    yield page
    page.context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"

"""Contacts and search in a real browser: an agent finds a customer by a piece of their name, their phone number or a
word they wrote from the top bar (keys / and Ctrl-K), works the Contacts page, creates a contact, and merges a
duplicate picked from a search. Screenshots land in tests/browser/screenshots/ (search-*.png)."""

from __future__ import annotations

import random
import uuid
from urllib.parse import quote

from tests.browser.test_frontend import PHONE, contact_panel, expect, open_page, shot, sign_in

SURNAMES = ["Bērziņš", "Kalniņš", "Ozoliņš", "Liepiņa", "Krūmiņš", "Vītoliņš"]


def latvian_customer(local_stack, text: str) -> tuple[dict, str, str]:
    """A customer with an accented name and a Latvian number writes on WhatsApp; returns (conversation, the name's
    made-up surname, the phone digits)."""
    tag = "".join(random.choice("bcdfghjklmnprstvz") for _ in range(4))
    surname = f"{random.choice(SURNAMES)}{tag}"
    digits = f"3712{uuid.uuid4().int % 10**7:07d}"
    conv = new_whatsapp_conversation_with(local_stack, f"Jānis {surname}", [text], digits)
    return conv, surname, digits


def new_whatsapp_conversation_with(local_stack, name: str, texts: list[str], sender: str) -> dict:
    from tests.integration.test_whatsapp_flow import wa_message, wa_payload

    tag = uuid.uuid4().hex[:10]
    messages = [wa_message(f"wamid.{tag}.{i}", sender=sender, text=text) for i, text in enumerate(texts)]
    assert local_stack.post_meta("whatsapp", wa_payload(*messages, sender=sender, name=name)).status == 200

    def landed():
        return next((c for c in local_stack.conversations(status="open", limit="100") if c["contact"]["name"] == name),
                    None)

    conv = local_stack.wait_for(landed, timeout=20)
    assert conv, f"the conversation of {name} did not land"

    def indexed():  # the processor indexes the contact just after storing the message
        found = local_stack.api("GET", f"/api/search?q={quote(name)}").json()
        return any(c["id"] == conv["contact"]["id"] for c in found.get("contacts", []))

    assert local_stack.wait_for(indexed, timeout=20), f"{name} was not indexed"
    return conv


def top_search(page, key: str = "/"):
    page.locator("body").click(position={"x": 5, "y": 300})  # nothing focused: the shortcut is the page's
    page.keyboard.press(key)
    box = page.get_by_test_id("search-input")
    expect(box).to_be_focused()
    return box


def test_an_agent_finds_a_customer_by_a_piece_of_their_name_their_phone_and_a_word_they_wrote(page, local_stack):
    word = f"blender{uuid.uuid4().hex[:6]}"
    conv, surname, digits = latvian_customer(local_stack, f"My {word} arrived broken, the lid is cracked")
    sign_in(page)
    # "/" opens the search box; a piece of the surname, without its accents, finds the customer
    box = top_search(page, "/")
    # (all but its last letter: the made-up surnames of other tests share their first letters)
    fragment = surname[:-1].replace("ē", "e").replace("ņ", "n").replace("ī", "i").replace("ū", "u").upper()
    box.fill(fragment)
    result = page.get_by_test_id("search-contact").filter(has_text=surname)
    expect(result).to_be_visible()
    expect(page.get_by_test_id("search-conversation").filter(has_text=surname).first).to_be_visible()
    expect(result.locator("mark").first).to_be_visible()
    shot(page, "search-01-name-fragment")
    # Ctrl-K, then the phone number as people write it
    page.keyboard.press("Escape")
    box = top_search(page, "Control+k")
    box.fill(f"+371 {digits[3:7]} {digits[7:]}")
    found = page.get_by_test_id("search-contact").filter(has_text=surname)
    expect(found.locator("mark")).to_have_text(f"{digits}")  # these results, not the last query's: the number lit
    shot(page, "search-02-phone")
    box.fill(f"00{digits}")
    expect(page.get_by_test_id("search-contact").filter(has_text=surname)).to_be_visible()
    box.fill(digits[3:8])  # the start of the national number
    expect(page.get_by_test_id("search-contact").filter(has_text=surname)).to_be_visible()
    # a word they wrote: the conversation, with the words around it
    box.fill(word.upper())
    hit = page.get_by_test_id("search-conversation").filter(has_text=surname)
    expect(hit).to_contain_text("arrived broken")
    expect(hit.locator("mark")).to_have_text(word)
    shot(page, "search-03-word")
    # Enter opens the first result: the conversation
    box.press("ArrowDown")
    box.press("Enter")
    expect(page).to_have_url(f"{local_stack.base}/#/c/{conv['id']}")
    expect(page.locator("#conv-title")).to_contain_text(surname)
    # and nothing is found for what nobody wrote
    box = top_search(page, "/")
    box.fill(f"zzq{uuid.uuid4().hex[:6]}")
    expect(page.get_by_test_id("search-results")).to_contain_text("Nothing found")


def test_the_contacts_page_lists_finds_and_opens_contacts_and_creates_one(page, local_stack):
    _, surname, digits = latvian_customer(local_stack, "Where is my order 8812?")
    sign_in(page)
    page.get_by_test_id("nav-contacts").click()
    expect(page.locator("#contacts-title")).to_have_text("Contacts")
    # newest activity first: the customer who just wrote is at the top
    expect(page.get_by_test_id("contact-row").first).to_contain_text(surname)
    shot(page, "search-04-contacts-page")
    page.get_by_test_id("contacts-search").fill(surname[:-1].lower())
    rows = page.get_by_test_id("contact-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(f"+{digits}")
    rows.first.click()
    panel = page.get_by_test_id("contact-panel")
    expect(panel.get_by_test_id("contact-name")).to_contain_text(surname)
    expect(panel.locator(".past li")).to_have_count(1)
    shot(page, "search-05-contact-opened")
    # a new contact, its phone in any common format
    page.get_by_test_id("contact-new").click()
    name = f"Zoë Ångström{uuid.uuid4().hex[:4]}"
    national = f"70{uuid.uuid4().int % 10**7:07d}"
    page.get_by_test_id("new-contact-name").fill(name)
    page.get_by_test_id("new-contact-phone").fill(f"+46 {national[:2]} {national[2:5]} {national[5:]}")
    shot(page, "search-06-new-contact")
    page.get_by_test_id("new-contact-save").click()
    expect(panel.get_by_test_id("contact-name")).to_have_text(name)
    expect(panel).to_contain_text(f"+46{national}")
    page.get_by_test_id("contacts-search").fill("angst")
    expect(page.get_by_test_id("contact-row").filter(has_text=name)).to_be_visible()
    # a search from the top bar opens a contact on this page too
    box = top_search(page)
    box.fill(surname[:-1])
    page.get_by_test_id("search-contact").filter(has_text=surname).click()
    expect(panel.get_by_test_id("contact-name")).to_contain_text(surname)


def test_a_duplicate_is_merged_by_picking_it_from_a_search(page, local_stack):
    conv, surname, _ = latvian_customer(local_stack, "Hello, where is my order?")
    twin_digits = f"3712{uuid.uuid4().int % 10**7:07d}"
    twin = new_whatsapp_conversation_with(local_stack, f"J. {surname}", ["new phone, same me"], twin_digits)
    sign_in(page)
    page.goto(f"/#/c/{conv['id']}")
    expect(page.locator("#conv-title")).to_contain_text(surname)
    expect(page.get_by_test_id("message").first).to_be_visible()
    panel = contact_panel(page)
    panel.locator("summary", has_text="Merge a duplicate").click()
    panel.get_by_test_id("merge-other").fill(surname[:-1])
    candidate = panel.get_by_test_id("merge-candidate")
    expect(candidate).to_have_count(1)  # this contact itself is never offered
    expect(candidate).to_contain_text(f"+{twin_digits}")
    shot(page, "search-07-merge-picker")
    candidate.click()
    expect(panel.get_by_test_id("merge-chosen")).to_contain_text(twin["contact"]["id"])
    panel.get_by_test_id("merge-start").click()
    panel.get_by_test_id("merge-confirm").click()
    expect(panel).to_contain_text(twin_digits)
    expect(panel.locator(".past li")).to_have_count(2)
    assert local_stack.api("GET", f"/api/contacts/{twin['contact']['id']}").status == 404


def test_the_search_box_on_a_phone(browser, local_stack):
    _, surname, _ = latvian_customer(local_stack, "Any news about my refund?")
    page, errors = open_page(browser, local_stack.base, PHONE)
    try:
        sign_in(page)
        box = page.get_by_test_id("search-input")
        box.click()
        box.fill(surname[:-1])
        expect(page.get_by_test_id("search-contact").filter(has_text=surname)).to_be_visible()
        shot(page, "search-08-phone-width")
        page.get_by_test_id("search-conversation").filter(has_text=surname).first.click()
        expect(page.locator("#conv-title")).to_contain_text(surname)
    finally:
        page.context.close()
    assert not errors, errors

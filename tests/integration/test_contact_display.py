"""Never "Unknown contact" when something is known: the API names every contact by its name, else its phone number,
email address, handle or channel address (ContactRef.display, ContactOut.display)."""

from __future__ import annotations

import pytest

from switchboard.api.schemas import ContactOut, ConversationSummary, address_label
from switchboard.models import Conversation
from tests.integration.test_whatsapp_flow import post, wa_message, wa_payload


@pytest.mark.parametrize(("channel", "address", "shown"), [
    ("whatsapp", "15551234567", "+15551234567"),
    ("whatsapp", "US.13491208655302741918", "WhatsApp US.13491208655302741918"),  # a business-scoped user id
    ("sms", "+15551234567", "+15551234567"),
    ("email", "ann@example.org", "ann@example.org"),
    ("messenger", "24000001", "Messenger 24000001"),
    ("instagram", "17841400000001", "Instagram 17841400000001"),
    ("telegram", "111", "Telegram 111"),
    ("webchat", "v_1", "Web chat v_1"),
    ("sms", "", None),
])
def test_an_address_is_shown_as_what_it_is(channel, address, shown):
    assert address_label(channel, address) == shown


def conversation(**fields) -> Conversation:
    return Conversation.model_validate({"id": "cv_1", "channel": "whatsapp", "inbox_id": "PN", "contact_id": "ct_1",
                                        "recipient": "15551234567", "created_at": "t", "updated_at": "t", **fields})


def test_a_conversation_names_its_contact_or_shows_the_address():
    assert ConversationSummary.of(conversation(contact_name="Ann")).contact.display == "Ann"
    assert ConversationSummary.of(conversation()).contact.model_dump() == {
        "id": "ct_1", "name": None, "display": "+15551234567"}
    assert ConversationSummary.of(conversation(channel="email", recipient="ann@example.org")).contact.display == \
        "ann@example.org"
    assert ConversationSummary.of(conversation(recipient="")).contact.display == "Contact ct_1"


@pytest.mark.parametrize(("fields", "shown"), [
    ({"name": "Ann", "phone": "+15551234567"}, "Ann"),
    ({"phone": "+15551234567", "email": "ann@example.org"}, "+15551234567"),
    ({"email": "ann@example.org"}, "ann@example.org"),
    ({"identities": [{"identity": "instagram:1784", "channel": "instagram", "address": "1784"}]}, "Instagram 1784"),
    ({}, "Contact ct_1"),
])
def test_a_contact_view_names_the_contact_by_what_is_known(fields, shown):
    assert ContactOut(id="ct_1", created_at="t", **fields).display == shown


def test_a_whatsapp_contact_without_a_name_shows_its_phone_number(stack):
    payload = wa_payload(wa_message("wamid.noname", sender="15551230002"), sender="15551230002")
    payload["entry"][0]["changes"][0]["value"]["contacts"] = [{"wa_id": "15551230002"}]  # no profile name
    post(stack, payload)
    stack.drain("ProcessorFunction")
    (conv,) = [c for c in stack.http("GET", "/api/conversations", role="agent").json()["items"]
               if c["contact"]["display"] == "+15551230002"]
    assert conv["contact"]["name"] is None
    contact = stack.http("GET", f"/api/contacts/{conv['contact']['id']}", role="agent").json()
    assert (contact["name"], contact["display"], contact["phone"]) == (None, "+15551230002", "+15551230002")



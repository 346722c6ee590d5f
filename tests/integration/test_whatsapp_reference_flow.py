"""WhatsApp's payloads of today end to end (webhook -> queue -> processor -> API): an edit changes the stored
message, a revoke unsends it, a business-app echo shows as outbound, an order shows its summary, and what is not a
customer speaking is counted, never stored. Shapes: see tests/unit/channels/test_whatsapp_reference.py."""

from __future__ import annotations

from typing import Any

from switchboard import clock
from tests.integration.test_whatsapp_flow import PNID, conversations, messages, post, wa_message, wa_payload

CUSTOMER = "15551234567"


def echoes(*raw: dict[str, Any]) -> dict[str, Any]:
    value = {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550001111",
                                                           "phone_number_id": PNID},
             "message_echoes": list(raw)}
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "WABA", "changes": [{"field": "smb_message_echoes", "value": value}]}]}


def echo(wamid: str, kind: str, body: Any) -> dict[str, Any]:
    return {"from": "15550001111", "to": CUSTOMER, "id": wamid, "timestamp": str(clock.epoch()), "type": kind,
            kind: body}


def test_an_edit_changes_the_stored_text_and_a_revoke_removes_it(stack):
    post(stack, wa_payload(wa_message("wamid.o", text="two please")))
    stack.drain("ProcessorFunction")
    (conv,) = conversations(stack)

    edit = wa_message("wamid.e", kind="edit", body={"original_message_id": "wamid.o",
                                                    "message": {"type": "text", "text": {"body": "three please"}}})
    assert post(stack, wa_payload(edit)).status == 200
    stack.drain("ProcessorFunction")
    (msg,) = messages(stack, conv["id"])
    assert msg["text"] == "three please" and msg["edited"] is True

    revoke = wa_message("wamid.r", kind="revoke", body={"original_message_id": "wamid.o"})
    assert post(stack, wa_payload(revoke)).status == 200
    stack.drain("ProcessorFunction")
    (msg,) = messages(stack, conv["id"])  # still one message: nothing new and empty was stored
    assert msg["deleted"] is True and msg["text"] == ""


def test_an_order_a_removed_reaction_and_an_empty_text_each_show_something(stack):
    order = wa_message("wamid.ord", kind="order", body={
        "catalog_id": "C1", "text": "after 5pm",
        "product_items": [{"product_retailer_id": "SKU1", "quantity": 2, "item_price": 4.5, "currency": "EUR"}]})
    unreact = wa_message("wamid.unr", kind="reaction", body={"message_id": "wamid.ord"})
    empty = wa_message("wamid.empty", text="")
    post(stack, wa_payload(order, unreact, empty))
    stack.drain("ProcessorFunction")

    (conv,) = conversations(stack)
    shown = {m["id"]: m for m in messages(stack, conv["id"])}
    assert len(shown) == 3
    for msg in shown.values():
        assert (msg.get("text") or "").strip() or msg.get("summary") or msg.get("attachments")
    summaries = sorted(m.get("summary") or "" for m in shown.values())
    assert summaries == ["Empty message", "Order: 1 item (2 \u00d7 SKU1 at 4.5 EUR); total 9 EUR; catalog C1",
                         "Reaction removed"]


def test_a_business_app_echo_is_outbound_in_the_customers_conversation(stack):
    post(stack, wa_payload(wa_message("wamid.q", text="in stock?")))
    stack.drain("ProcessorFunction")
    (conv,) = conversations(stack)

    assert post(stack, echoes(echo("wamid.echo", "text", {"body": "Yes, two left"}))).status == 200
    stack.drain("ProcessorFunction")

    outbound = [m for m in messages(stack, conv["id"]) if m["direction"] == "outbound"]
    assert [(m["text"], m["sender"]) for m in outbound] == [("Yes, two left", "external:whatsapp_business_app")]
    assert stack.sandbox.outbox == []


def test_service_events_are_counted_and_never_stored(stack, capsys):
    system = wa_message("wamid.sys", kind="system", body={"type": "customer_changed_number", "body": "changed",
                                                          "wa_id": "15557654321"})
    welcome = {"from": CUSTOMER, "id": "wamid.w", "timestamp": str(clock.epoch()), "type": "request_welcome"}
    response = post(stack, wa_payload(system, welcome))
    stack.drain("ProcessorFunction")

    assert response.status == 200
    assert conversations(stack) == [] and stack.queue_count("InboundQueue") == 0
    emf = capsys.readouterr().out
    assert '"reason":"system_customer_changed_number"' in emf and '"reason":"welcome_request"' in emf

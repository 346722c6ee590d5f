"""Indicators customers see (issue 15) on the local stack: an agent's socket opens a WhatsApp conversation and types
in it; the provider sandbox's outbox (/_local/outbox) gets one read receipt and one typing indicator, however often
the agent's app says it is typing within the interval."""

from __future__ import annotations

import json
import time
import uuid

from tests.e2e.test_live_e2e import agent_socket, next_event
from tests.integration.test_whatsapp_flow import wa_message, wa_payload


def test_an_agent_viewing_and_typing_shows_the_whatsapp_customer_read_and_typing_once(local_stack):
    s = local_stack
    sender = "3716" + str(uuid.uuid4().int)[:7]
    wamid = f"wamid.ind.{sender}"
    with agent_socket(s, "ann@example.com") as ann:
        assert s.post_meta("whatsapp", wa_payload(wa_message(wamid, sender=sender, text="anyone there?"),
                                                  sender=sender)).status == 200
        conv_id = next_event(ann, lambda e: e["type"] == "message.created" and e["direction"] == "inbound")[
            "conversation_id"]
        ann.send(json.dumps({"action": "viewing", "conversation_id": conv_id}))
        for _ in range(4):  # the app throttles its own, but several tabs or a burst must not reach the customer
            ann.send(json.dumps({"action": "typing", "conversation_id": conv_id}))
            time.sleep(0.2)
        ann.send(json.dumps({"action": "viewing", "conversation_id": conv_id}))

        def indicators() -> list[dict]:
            return [i for i in s.request("GET", "/_local/outbox").json()["items"]
                    if i["channel"] == "whatsapp" and isinstance(i["body"], dict)
                    and i["body"].get("status") == "read" and i["body"].get("message_id") == wamid]

        s.wait_for(lambda: len(indicators()) >= 2 or None)
        time.sleep(1.5)  # anything more would have arrived by now
        found = indicators()
        reads = [i for i in found if "typing_indicator" not in i["body"]]
        typing = [i for i in found if "typing_indicator" in i["body"]]
        assert len(reads) == 1 and len(typing) == 1, found
        assert reads[0]["url"].endswith("/200000000000002/messages") and reads[0]["answered"] == 200
        assert typing[0]["body"] == {"messaging_product": "whatsapp", "status": "read", "message_id": wamid,
                                     "typing_indicator": {"type": "text"}}

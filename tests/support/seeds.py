"""Records the integration tests start from, made through the real handlers: a customer's conversation, and a survey
sent for it (its token as the email's links carry it)."""

from __future__ import annotations

from typing import Any

from switchboard import clock
from tests.integration.test_whatsapp_flow import post, wa_message, wa_payload


def conversation(stack: Any, wamid: str, sender: str, name: str = "Ann") -> dict[str, Any]:
    """A WhatsApp customer's conversation, processed, as the inbox lists it."""
    assert post(stack, wa_payload(wa_message(wamid, sender=sender, text="hi"), sender=sender, name=name)).status == 200
    stack.drain("ProcessorFunction")
    items = stack.http("GET", "/api/conversations", role="agent").json()["items"]
    return next(c for c in items if _sent_by(stack, c, sender))


def _sent_by(stack: Any, conv: dict[str, Any], sender: str) -> bool:
    contact = stack.http("GET", f"/api/contacts/{conv['contact']['id']}", role="agent").json()
    return any(sender in str(i) for i in contact.get("identities", []))


def survey_token(stack: Any, conv_id: str, resolution: str = "r1") -> str:
    """The survey of one resolution, claimed and 'sent' now (SURVEY#<resolution>): its rating links' token."""
    from switchboard.services import survey
    from switchboard.store import surveys
    from switchboard.store.table import Table

    expires = clock.epoch() + 86400
    surveys.claim(Table(), conv_id, resolution, resolved_by="ann@example.com", sent_at=clock.iso(clock.now()),
                  expires_token=expires)
    return survey.make_token(conv_id, resolution, expires)

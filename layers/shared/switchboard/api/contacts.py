"""Contacts: the customer's profile, identities across channels, and conversations."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from switchboard import clock
from switchboard.api.auth import caller
from switchboard.api.schemas import ContactConversation, ContactOut, ContactPatch, Identity, Me
from switchboard.errors import BadRequest
from switchboard.services import survey
from switchboard.store import contacts, keys
from switchboard.store.table import Table

router = APIGatewayHttpRouter()


def contact_view(table: Table, contact_id: str) -> ContactOut:
    contact, identities, conversation_ids = contacts.related(table, contact_id)
    convs = table.batch_get([keys.conversation(c) for c in conversation_ids[:100]]) if conversation_ids else []
    listed = sorted((ContactConversation(id=c["id"], channel=c["channel"], status=c["status"], updated_at=c["updated_at"])
                     for c in convs), key=lambda c: c.updated_at, reverse=True)
    return ContactOut(**contact.model_dump(), identities=[Identity(**i) for i in identities], conversations=listed)


@router.get("/api/contacts/<contact_id>", summary="A contact, with identities and conversations")
def get_contact(contact_id: str) -> ContactOut:
    caller(router.current_event.raw_event)
    return contact_view(Table(), contact_id)


@router.patch("/api/contacts/<contact_id>", summary="Edit a contact (a new email or phone links that identity)")
def patch_contact(contact_id: str, body: ContactPatch) -> ContactOut:
    caller(router.current_event.raw_event)
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise BadRequest("nothing to change", code="empty_patch")
    if "surveys_opt_out" in changes and changes["surveys_opt_out"] is None:
        changes["surveys_opt_out"] = False
    table = Table()
    contacts.update(table, contact_id, changes)
    if changes.get("surveys_opt_out") or "email" in changes:
        survey.cancel_for_contact(table, contact_id)  # a pending survey must not reach an opted-out or old address
    return contact_view(table, contact_id)


@router.get("/api/me", summary="Who am I")
def me() -> Me:
    who = caller(router.current_event.raw_event)
    return Me(email=who.email, role=who.role, now=clock.iso(clock.now()))

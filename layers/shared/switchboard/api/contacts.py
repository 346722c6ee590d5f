"""Contacts: the customer's profile, identities across channels, and conversations."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from switchboard import clock
from switchboard.api import auth
from switchboard.api.schemas import ContactConversation, ContactOut, ContactPatch, Identity, Me
from switchboard.services import contacts
from switchboard.store.table import Table

router = APIGatewayHttpRouter()


def contact_view(table: Table, contact_id: str) -> ContactOut:
    contact, identities, convs = contacts.view(table, contact_id)
    listed = [ContactConversation(id=c.id, channel=c.channel, status=c.status, updated_at=c.updated_at) for c in convs]
    return ContactOut(**contact.model_dump(), identities=[Identity(**i) for i in identities], conversations=listed)


@router.get("/api/contacts/<contact_id>", summary="A contact, with identities and conversations")
def get_contact(contact_id: str) -> ContactOut:
    return contact_view(Table(), contact_id)


@router.patch("/api/contacts/<contact_id>", summary="Edit a contact (a new email or phone links that identity)")
def patch_contact(contact_id: str, body: ContactPatch) -> ContactOut:
    table = Table()
    contacts.update(table, contact_id, body.model_dump(exclude_unset=True))
    return contact_view(table, contact_id)


@router.get("/api/me", summary="Who am I")
def me() -> Me:
    who = auth.current(router)
    return Me(email=who.email, role=who.role, now=clock.iso(clock.now()))

"""Contacts and search: the contact directory and its search, contacts agents create, and the search of contacts
and conversations behind the app's top bar. Every agent and admin may use them; queries are never logged."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import ConfigDict, Field, model_validator

from switchboard.api.contacts import contact_view
from switchboard.api.schemas import EMAIL_PATTERN, ApiModel, ContactOut, ContactRef, address_label
from switchboard.services import search
from switchboard.store.table import Table

router = APIGatewayHttpRouter()


class ContactListItem(ApiModel):
    id: str
    name: str | None = None
    display: str = Field("", description="the name, else the phone number, email address or channel handle")
    email: str | None = None
    phone: str | None = None
    last_activity_at: str | None = Field(None, description="the customer's latest message (to 15 minutes); in the "
                                                           "directory only")
    created_at: str | None = None

    @classmethod
    def of(cls, hit: search.ContactHit) -> ContactListItem:
        channel, _, address = (hit.handle or "").partition(":")
        display = hit.name or hit.phone or hit.email or address_label(channel, address) or f"Contact {hit.id}"
        return cls(id=hit.id, name=hit.name, display=display, email=hit.email, phone=hit.phone,
                   last_activity_at=hit.last_activity_at, created_at=hit.created_at)


class ContactList(ApiModel):
    items: list[ContactListItem]
    next_cursor: str | None = None


class ContactIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=200)
    email: str | None = Field(None, max_length=320, pattern=EMAIL_PATTERN)
    phone: str | None = Field(None, min_length=3, max_length=40,
                              description="any common format: +371 2000 0000, 0037120000000, or a national number "
                                          "of the business's region (PHONE_REGION)")

    @model_validator(mode="after")
    def _address(self) -> ContactIn:
        if not self.email and not self.phone:
            raise ValueError("give an email address or a phone number (or both)")
        return self


class SearchConversation(ApiModel):
    id: str
    channel: str
    status: str
    contact: ContactRef
    snippet: str = Field(description="the words around the match, else the subject or the latest message (a found "
                                     "contact's conversations: the subject, else empty)")
    matched: Literal["message", "subject", "label", "contact", "id"] = Field(description="what the query matched")
    subject: str | None = None
    labels: list[str] = []
    created_at: str
    updated_at: str | None = Field(None, description="the latest activity; not given for a found contact's "
                                                     "conversations, which are listed by when they began")

    @classmethod
    def of(cls, hit: search.ConversationHit) -> SearchConversation:
        card = hit.conversation
        return cls(id=card.id, channel=card.channel, status=card.status, contact=ContactRef.of(card),
                   snippet=hit.snippet, matched=hit.matched, subject=card.subject or None, labels=card.labels,
                   created_at=card.created_at, updated_at=card.updated_at)


class SearchOut(ApiModel):
    contacts: list[ContactListItem]
    conversations: list[SearchConversation]


QueryText = Annotated[str | None, Query(max_length=200, description="a name (any word's prefix), a phone number in "
                                        "any common format, an email address or a channel handle")]


@router.get("/api/contacts", summary="Contacts: newest activity first, or those a query finds")
def list_contacts(
    q: QueryText = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
) -> ContactList:
    hits, next_cursor = search.contacts_page(Table(), q, limit=limit, cursor=cursor)
    return ContactList(items=[ContactListItem.of(h) for h in hits], next_cursor=next_cursor)


@router.post("/api/contacts", summary="Create a contact (to write to them first)",
             responses={201: {"description": "created", "content": {"application/json": {"model": ContactOut}}}})
def create_contact(body: ContactIn) -> Response[ContactOut]:
    table = Table()
    contact_id = search.create_contact(table, body.name, body.email, body.phone)
    return Response(status_code=201, content_type="application/json", body=contact_view(table, contact_id))


@router.get("/api/search", summary="Contacts and conversations a query finds, newest activity first")
def search_all(q: Annotated[str, Query(min_length=1, max_length=200, description="a name, phone number, email "
                                       "address, handle, label, conversation or contact id, or words the customer "
                                       "wrote (all of them)")]) -> SearchOut:
    contacts, conversations = search.search(Table(), q)
    return SearchOut(contacts=[ContactListItem.of(h) for h in contacts],
                     conversations=[SearchConversation.of(h) for h in conversations])

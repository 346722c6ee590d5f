"""Reaching a customer first: a new conversation with a contact, or with a phone number or email address typed in."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from switchboard.api import auth
from switchboard.api.conversations import _detail
from switchboard.api.schemas import MessageOut, NewConversationIn, NewConversationOut
from switchboard.services import outreach
from switchboard.store.table import Table

router = APIGatewayHttpRouter()


@router.post("/api/conversations", summary="Start a conversation (an agent writes first)",
             responses={201: {"description": "started", "content": {"application/json": {"model": NewConversationOut}}},
                        200: {"description": "the contact's current conversation in that inbox, written to",
                              "content": {"application/json": {"model": NewConversationOut}}}})
def start_conversation(body: NewConversationIn) -> Response[NewConversationOut]:
    who = auth.current(router)
    started = outreach.start(
        Table(), who.email, channel=body.channel, contact_id=body.contact_id,
        to=body.to.model_dump() if body.to else None, text=body.text,
        template=body.template.model_dump(mode="json") if body.template else None, subject=body.subject,
        inbox_id=body.inbox)
    out = NewConversationOut(**_detail(started.conversation).model_dump(), message=MessageOut.of(started.message))
    return Response(status_code=201 if started.created else 200, content_type="application/json", body=out)

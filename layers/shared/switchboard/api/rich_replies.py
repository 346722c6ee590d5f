"""Rich replies (issue 13): retrying a failed reply. Quoted replies are a field of the reply itself
(`POST /api/conversations/{id}/messages` `reply_to`, api/conversations.py)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from switchboard.api.schemas import MessageOut
from switchboard.services import media, retries
from switchboard.store.table import Table

router = APIGatewayHttpRouter()


@router.post("/api/conversations/<conversation_id>/messages/<message_id>/retry",
             summary="Send a failed reply again, as a new attempt (once)",
             description="Only an outbound reply whose status is failed: 409 not_failed otherwise (a second click finds "
                         "it queued), 409 reply_window_closed or opted_out as for a reply, 404 for a message that is "
                         "not this conversation's.",
             responses={202: {"description": "queued again", "content": {"application/json": {"model": MessageOut}}}})
def retry_message(conversation_id: str, message_id: str) -> Response[MessageOut]:
    message = retries.retry(Table(), conversation_id, message_id)
    return Response(status_code=202, content_type="application/json", body=MessageOut.of(message, media.presigned_url))

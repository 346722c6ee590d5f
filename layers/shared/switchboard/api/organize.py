"""Organizing the queue (issue 14): snooze, priority, bulk actions, a conversation's custom attributes, and the
attribute definitions (admins define, everyone reads)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from switchboard.api import auth
from switchboard.api.conversations import _detail
from switchboard.api.schemas import (
    AttributeIn,
    AttributeList,
    AttributeOut,
    BulkIn,
    BulkOut,
    BulkResult,
    ConversationDetail,
    ConversationPatch,
    PriorityIn,
    SnoozeIn,
)
from switchboard.services import attributes, bulk, inbox, priority, snooze
from switchboard.store import queue
from switchboard.store.table import Table

router = APIGatewayHttpRouter()


@router.post("/api/conversations/<conversation_id>/snooze",
             summary="Snooze until a time (or a preset): hidden from open until TimersFunction wakes it, or the "
                     "customer writes")
def snooze_conversation(conversation_id: str, body: SnoozeIn) -> ConversationDetail:
    return _detail(snooze.snooze(Table(), conversation_id, until=body.until, preset=body.preset))


@router.post("/api/conversations/<conversation_id>/priority", summary="Set the priority")
def set_priority(conversation_id: str, body: PriorityIn) -> ConversationDetail:
    return _detail(priority.set_priority(Table(), conversation_id, body.priority))


@router.patch("/api/conversations/<conversation_id>", summary="Edit a conversation's custom attributes")
def patch_conversation(conversation_id: str, body: ConversationPatch) -> ConversationDetail:
    table = Table()
    conv = inbox.get(table, conversation_id)
    return _detail(attributes.set_on_conversation(table, conv, body.attributes))


@router.post("/api/conversations/bulk", summary="One action on several conversations, each with its result",
             description=f"At most {bulk.MAX_IDS} ids. Each is the same idempotent action as its single route: "
                         "resolve, reopen, assign (agent; null unassigns), label (labels are added), snooze (until "
                         "or preset), priority. An error code service_unavailable may be retried.")
def bulk_action(body: BulkIn) -> BulkOut:
    who = auth.current(router)
    if body.until is not None:
        queue.validate_until(body.until)  # a bad time is the request's fault: 400 before anything happens
    results = bulk.run(Table(), body.ids, body.action, who.email, agent=body.agent, labels=body.labels,
                       until=body.until, preset=body.preset, priority_=body.priority)
    return BulkOut(results=[BulkResult.model_validate(r) for r in results])


@router.get("/api/attributes", summary="Custom attribute definitions")
def list_attributes() -> AttributeList:
    return AttributeList(items=[AttributeOut.model_validate(d) for d in attributes.definitions(Table())])


@router.post("/api/attributes", summary="Define a custom attribute (admins)",
             responses={201: {"description": "defined", "content": {"application/json": {"model": AttributeOut}}}})
def create_attribute(body: AttributeIn) -> Response[AttributeOut]:
    who = auth.current(router)
    created = attributes.create(Table(), body.model_dump(), who.email)
    return Response(status_code=201, content_type="application/json", body=AttributeOut.model_validate(created))


@router.delete("/api/attributes/<key>", summary="Delete a custom attribute's definition (admins)",
               responses={204: {"description": "deleted"}})
def delete_attribute(key: str) -> Response[None]:
    attributes.delete(Table(), key)
    return Response(status_code=204, content_type="application/json", body="")  # type: ignore[arg-type]  # no content

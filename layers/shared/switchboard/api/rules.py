"""Automation rules (admins) and macros (agents their own, admins shared ones), issue 19. A rule that could not be
evaluated (an unknown field, op or action, a bad value) is refused with 400 invalid_rule and nothing is stored. Every
change is in the audit log (api/audit.py names rule.* and macro.*)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import ConfigDict, Field

from switchboard.api import auth
from switchboard.api.conversations import _detail
from switchboard.api.schemas import ApiModel, ConversationDetail
from switchboard.rules_engine import MacroSpec, RuleSpec
from switchboard.services import rules
from switchboard.store.table import Table

router = APIGatewayHttpRouter()


class ConditionIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    field: str = Field(max_length=80, description="channel, inbox, text, status, priority, label, contact.email, "
                       "contact.email_domain, business_hours (open | closed), assignee, team, attr.<key>")
    op: str = Field(max_length=20, description="eq, neq, contains, starts_with, in (a list)")
    value: Any = Field(None, description="a string, or a list of strings for in")


class ActionIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    type: str = Field(max_length=40, description="assign_agent, assign_team, add_label, set_priority, send_message "
                      '({"text"} or {"canned_id"}), resolve, snooze_minutes, notify_email, set_status')
    value: Any = None


class RuleIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    enabled: bool = True
    event: str = Field(max_length=40, description="conversation.created, message.received, "
                       "conversation.status_changed, conversation.idle")
    idle_minutes: int | None = Field(None, description="conversation.idle: minutes without activity in `status`")
    status: str | None = Field(None, description="conversation.idle: open, pending or resolved")
    conditions: list[ConditionIn] = Field([], max_length=20, description="all must hold")
    actions: list[ActionIn] = Field(max_length=10, description="run in order; a failing one does not stop the others")
    position: int | None = Field(None, ge=0, le=100000, description="the order rules run in (lowest first); "
                                 "new rules go last")


class RuleOut(ApiModel):
    id: str
    name: str
    enabled: bool
    event: str
    idle_minutes: int | None = None
    status: str | None = None
    conditions: list[ConditionIn]
    actions: list[ActionIn]
    position: int
    created_at: str | None = None
    updated_at: str | None = None
    updated_by: str | None = None

    @classmethod
    def of(cls, rule: RuleSpec) -> RuleOut:
        return cls.model_validate(rule.model_dump())


class RuleList(ApiModel):
    items: list[RuleOut]


class ActionResult(ApiModel):
    type: str
    ok: bool
    error: str | None = None
    message: str | None = None


class RunOut(ApiModel):
    conversation_id: str
    at: str
    outcome: str = Field(description="ok, partial (some actions failed), failed, or running")
    event: str | None = None
    actions: list[ActionResult] = []


class RunList(ApiModel):
    items: list[RunOut]


class MacroIn(ApiModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    actions: list[ActionIn] = Field(max_length=10, description="add_label, set_priority, assign_agent, assign_team, "
                                    "send_message, resolve, snooze_minutes, set_status")
    shared: bool | None = Field(None, description="admins: shared with every agent (default for an admin's)")


class MacroOut(ApiModel):
    id: str
    name: str
    actions: list[ActionIn]
    owner: str | None = None
    shared: bool
    created_at: str | None = None
    updated_at: str | None = None

    @classmethod
    def of(cls, macro: MacroSpec) -> MacroOut:
        return cls.model_validate(macro.model_dump())


class MacroList(ApiModel):
    items: list[MacroOut]


class MacroApplied(ApiModel):
    conversation: ConversationDetail
    results: list[ActionResult]


def _dump(body: RuleIn) -> dict[str, Any]:
    return body.model_dump()


# -- rules (admins) ---------------------------------------------------------------------------------------------
@router.get("/api/rules", summary="Automation rules, in the order they run (admins)")
def list_rules() -> RuleList:
    return RuleList(items=[RuleOut.of(r) for r in rules.all_rules_fresh(Table())])


@router.post("/api/rules", summary="Create an automation rule (admins)",
             responses={201: {"description": "created", "content": {"application/json": {"model": RuleOut}}}})
def create_rule(body: RuleIn) -> Response[RuleOut]:
    who = auth.current(router)
    rule = rules.create_rule(Table(), _dump(body), who.email)
    return Response(status_code=201, content_type="application/json", body=RuleOut.of(rule))


@router.put("/api/rules/<rule_id>", summary="Replace an automation rule (admins)")
def replace_rule(rule_id: str, body: RuleIn) -> RuleOut:
    who = auth.current(router)
    return RuleOut.of(rules.replace_rule(Table(), rule_id, _dump(body), who.email))


@router.delete("/api/rules/<rule_id>", summary="Delete an automation rule (admins)",
               responses={204: {"description": "deleted"}})
def delete_rule(rule_id: str) -> Response[None]:
    rules.delete_rule(Table(), rule_id)
    return Response(status_code=204, content_type="application/json", body="")  # type: ignore[arg-type]  # no content


@router.get("/api/rules/<rule_id>/runs", summary="A rule's latest runs with their outcome (admins)")
def rule_runs(rule_id: str, limit: Annotated[int, Query(ge=1, le=100)] = 50) -> RunList:
    return RunList(items=[RunOut.model_validate(r) for r in rules.runs(Table(), rule_id, limit)])


# -- macros -----------------------------------------------------------------------------------------------------
@router.get("/api/macros", summary="Macros: the shared ones and the caller's own")
def list_macros() -> MacroList:
    who = auth.current(router)
    return MacroList(items=[MacroOut.of(m) for m in rules.macros_for(Table(), who.email, who.is_admin)])


@router.post("/api/macros", summary="Save a macro (an agent's own; an admin's is shared)",
             responses={201: {"description": "created", "content": {"application/json": {"model": MacroOut}}}})
def create_macro(body: MacroIn) -> Response[MacroOut]:
    who = auth.current(router)
    macro = rules.create_macro(Table(), body.name, [a.model_dump() for a in body.actions], who.email, who.is_admin,
                               body.shared)
    return Response(status_code=201, content_type="application/json", body=MacroOut.of(macro))


@router.put("/api/macros/<macro_id>", summary="Replace a macro (its owner; shared ones: admins)")
def replace_macro(macro_id: str, body: MacroIn) -> MacroOut:
    who = auth.current(router)
    return MacroOut.of(rules.replace_macro(Table(), macro_id, body.name, [a.model_dump() for a in body.actions],
                                           who.email, who.is_admin, body.shared))


@router.delete("/api/macros/<macro_id>", summary="Delete a macro (its owner; shared ones: admins)",
               responses={204: {"description": "deleted"}})
def delete_macro(macro_id: str) -> Response[None]:
    who = auth.current(router)
    rules.delete_macro(Table(), macro_id, who.email, who.is_admin)
    return Response(status_code=204, content_type="application/json", body="")  # type: ignore[arg-type]  # no content


@router.post("/api/conversations/<conversation_id>/macros/<macro_id>",
             summary="Apply a macro to a conversation: its actions in order, each with its result")
def apply_macro(conversation_id: str, macro_id: str) -> MacroApplied:
    who = auth.current(router)
    conv, results = rules.apply_macro(Table(), conversation_id, macro_id, who.email, who.is_admin)
    return MacroApplied(conversation=_detail(conv), results=[ActionResult.model_validate(r) for r in results])

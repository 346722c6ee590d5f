"""Automation rules and macros (issue 19): admins' "when this happens, do that", and agents' saved sequences of
actions. One action executor serves both.

When rules run: where the events happen, in the function that does the work (so nothing new is queued):
`conversation.created` and `message.received` in the processor, after the customer's message is stored;
`conversation.status_changed` where a status changes (the processor when a customer's message reopens, the agent API
and the rules' own actions through services/workflow.py); `conversation.idle` in TimersFunction, from one DueIndex
timer per conversation, armed when a conversation enters a status (or has activity in it) while an enabled idle rule
for that status exists.

Semantics that hold under retries:
- once per event: a rule runs for an event of a conversation only after a conditional put of its run
  (CONV#<id> / RULERUN#<rule>#<event id>) succeeds; event ids are stable (a message's id, the conversation's id, the
  idle period's start), so an SQS redelivery or a rerun finds the run and does nothing again. A run left "running"
  by a function that died is taken over after its lease (LEASE_SECONDS).
- depth: events caused by a rule's actions run rules once more (depth 1: "resolve" then a status_changed rule), and
  no further (MAX_DEPTH): a rule can never loop, whatever the rules say. Counted as RulesDepthLimited.
- a failing action (a send refused by the window or an opt-out, an agent gone, a team deleted) is recorded on the
  run with its error code and does not stop the next ones; the run's outcome is ok, partial or failed.
- automated messages follow the greetings' rules: the reply window for automated messages, opt-outs and do not
  contact, suppressed addresses, never to automated mail (auto-submitted) nor to mail whose DMARC failed.

Rules are cached per container and checked against their version (one small GetItem) at most every CACHE_SECONDS,
in effect once per invocation; they are read again only after a change. Evaluating adds no read per message, and
the processor's cost line does not grow with the number of rules."""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import TYPE_CHECKING, Any

from switchboard import aws, clock, ids, observability
from switchboard.errors import BadRequest, Conflict, Forbidden, NotFound, ServiceUnavailable, SwitchboardError
from switchboard.rules_engine import Facts, Known, MacroSpec, RuleSpec, check_macro_actions, check_rule, matches
from switchboard.store import attributes as store_attributes
from switchboard.store import canned as store_canned
from switchboard.store import contacts, conversations, due, keys
from switchboard.store import rules as store
from switchboard.store.table import ConditionFailed, Table

if TYPE_CHECKING:
    from switchboard.models import Contact, Conversation, Message

logger = logging.getLogger(__name__)

MAX_DEPTH = 1  # how many times a rule's own actions may trigger rules again
LEASE_SECONDS = 300
CACHE_SECONDS = 2  # an SQS batch's invocation is over well within it: in effect, once per invocation
AUTOMATION_BY = "automation:rule:"  # who a rule's resolve is by (no survey for it: workflow.AUTOMATION)
CHANNEL_NAMES = {"whatsapp": "WhatsApp", "messenger": "Messenger", "instagram": "Instagram", "telegram": "Telegram",
                 "sms": "SMS", "email": "Email", "webchat": "Web chat"}

_depth: ContextVar[int] = ContextVar("rule_depth", default=0)
_cache: dict[str, Any] = {}


# -- the rules, cached ------------------------------------------------------------------------------------------
def all_rules(table: Table) -> list[RuleSpec]:
    """The rules, from this container's cache: checked against the rules' version at most every CACHE_SECONDS (one
    small GetItem, whatever the number of rules) and read again (one Query) only when they changed."""
    cached = _cache.get("rules")
    now = time.monotonic()
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return list(cached[2])
    version = store.version(table)
    if cached is not None and cached[1] == version:
        _cache["rules"] = (now, version, cached[2])
        return list(cached[2])
    found = [RuleSpec.model_validate(r) for r in store.list_rules(table)]
    _cache["rules"] = (now, version, found)
    return list(found)


def all_rules_fresh(table: Table) -> list[RuleSpec]:
    """Read now (the admins' list)."""
    forget()
    return all_rules(table)


def forget() -> None:
    """The next read is fresh (after a change; tests)."""
    _cache.pop("rules", None)


def changed(table: Table) -> None:
    """After a rule change: every container's cache reads the rules again at its next check."""
    store.bump_version(table, ids.new_id("rv_"))
    forget()


def enabled(table: Table, event: str) -> list[RuleSpec]:
    return [r for r in all_rules(table) if r.enabled and r.event == event]


# -- admins' changes ----------------------------------------------------------------------------------------------
def _known(table: Table) -> Known:
    from switchboard.services import inboxes

    return Known(attributes={d["key"]: d for d in store_attributes.list_all(table)},
                 teams=frozenset(t.id for t in inboxes.directory(table, fresh=True)[1]),
                 canned=frozenset(c["id"] for c in store_canned.list_all(table)))


def create_rule(table: Table, body: dict[str, Any], by: str) -> RuleSpec:
    checked = check_rule(body, _known(table))
    existing = store.list_rules(table)
    now = clock.iso(clock.now())
    position = body.get("position")
    if not isinstance(position, int) or isinstance(position, bool):
        position = max((int(r.get("position", 0)) for r in existing), default=0) + 1
    rule = RuleSpec(id=ids.new_id("ru_"), position=position, created_at=now, updated_at=now, updated_by=by, **checked)
    store.put_rule(table, rule.model_dump(mode="json"))
    changed(table)
    observability.count("RulesSaved")
    return rule


def replace_rule(table: Table, rule_id: str, body: dict[str, Any], by: str) -> RuleSpec:
    current = RuleSpec.model_validate(store.get_rule(table, rule_id))
    checked = check_rule(body, _known(table))
    position = body.get("position")
    if not isinstance(position, int) or isinstance(position, bool):
        position = current.position
    rule = RuleSpec.model_validate({**current.model_dump(), **checked, "position": position,
                                    "updated_at": clock.iso(clock.now()), "updated_by": by})
    try:
        store.put_rule(table, rule.model_dump(mode="json"), must_exist=True)
    except ConditionFailed:
        raise NotFound(f"rule {rule_id} not found", code="rule_not_found") from None
    changed(table)
    observability.count("RulesSaved")
    return rule


def delete_rule(table: Table, rule_id: str) -> None:
    store.delete_rule(table, rule_id)
    changed(table)


def runs(table: Table, rule_id: str, limit: int = 50) -> list[dict[str, Any]]:
    store.get_rule(table, rule_id)  # 404 for a rule that is not there
    return store.runs(table, rule_id, limit)


# -- triggers ---------------------------------------------------------------------------------------------------
def _facts(table: Table, conv: Conversation, contact: Contact | None, message: Message | None) -> Facts:
    from switchboard import business_hours
    from switchboard.services import inboxes
    from switchboard.services.automation_config import load as load_settings

    def contact_facts() -> tuple[str | None, dict[str, Any]]:
        found = contact or contacts.get(table, conv.contact_id)
        return (found.email, found.attributes) if found else (None, {})

    team = conv.team or next((i.team for i in inboxes.directory(table)[0] if i.id == conv.inbox), None)
    text = message.text if message is not None else str((conv.last_message or {}).get("text") or "")
    return Facts(channel=conv.channel, inbox=conv.inbox, text=text or "", status=conv.status, priority=conv.priority,
                 labels=list(conv.labels), assignee=conv.assignee, team=team,
                 conversation_attributes=dict(conv.attributes), contact=contact_facts,
                 business_open=lambda: business_hours.is_open(load_settings(table).business_hours, clock.now()))


def trigger(table: Table, event: str, event_id: str, conv: Conversation, contact: Contact | None = None,
            message: Message | None = None) -> list[tuple[str, str]]:
    """Run the enabled rules of `event` that match, in order: [(rule id, outcome)]. Conditions are checked against
    the conversation as it is when each rule's turn comes (an earlier rule's actions count)."""
    depth = _depth.get()
    rules = enabled(table, event)
    if not rules:
        return []
    if depth > MAX_DEPTH:
        observability.count("RulesDepthLimited")
        logger.info("rules not run: depth limit", extra={"conversation_id": conv.id, "event": event})
        return []
    ran: list[tuple[str, str]] = []
    facts = _facts(table, conv, contact, message)  # made again only after a rule ran (its actions count)
    for rule in rules:
        if not matches(rule.condition_dicts, facts):
            continue
        outcome = _run(table, rule, conv, event, event_id, contact, message)
        ran.append((rule.id, outcome))
        conv = conversations.get(table, conv.id, consistent=True) or conv
        facts = _facts(table, conv, contact, message)
    return ran


def _run(table: Table, rule: RuleSpec, conv: Conversation, event: str, event_id: str, contact: Contact | None,
         message: Message | None) -> str:
    if not store.claim_run(table, conv.id, rule.id, event_id, event, LEASE_SECONDS):
        observability.count("RuleRunsRepeated")
        return "duplicate"
    token = _depth.set(_depth.get() + 1)
    try:
        results = execute(table, conv, [a.model_dump() for a in rule.actions], by=f"{AUTOMATION_BY}{rule.id}",
                          automated=True, stable=f"{rule.id}#{event_id}", contact=contact, message=message,
                          rule=rule)
    finally:
        _depth.reset(token)
    ok = sum(1 for r in results if r["ok"])
    outcome = "ok" if ok == len(results) else "failed" if ok == 0 else "partial"
    store.finish_run(table, conv.id, rule.id, event_id, outcome, results)
    observability.count("RuleRuns")
    logger.info("rule ran", extra={"rule_id": rule.id, "conversation_id": conv.id, "event": event,
                                   "outcome": outcome, "actions": len(results)})
    return outcome


def conversation_created(table: Table, conv: Conversation, contact: Contact | None, message: Message | None) -> None:
    trigger(table, "conversation.created", f"created#{conv.id}", conv, contact, message)


def message_received(table: Table, conv: Conversation, contact: Contact | None, message: Message) -> None:
    trigger(table, "message.received", f"message#{message.id}", conv, contact, message)
    arm_idle(table, conv, activity=message.created_at)


def status_changed(table: Table, conv: Conversation, old: str | None, event_id: str | None = None,
                   contact: Contact | None = None, message: Message | None = None) -> None:
    """`conv` as it is after the change. `event_id`: stable where the change is retried (the processor's)."""
    if old == conv.status:
        return
    trigger(table, "conversation.status_changed",
            event_id or f"status#{old}#{conv.status}#{clock.iso(clock.now())}", conv, contact, message)
    arm_idle(table, conv)


# -- idle rules ---------------------------------------------------------------------------------------------------
def arm_idle(table: Table, conv: Conversation, activity: str | None = None) -> None:
    """Start (or restart) the conversation's idle timer if an enabled idle rule waits on its status: one put, only
    then. The timer is due at the shortest idle time of those rules."""
    waiting = [r for r in enabled(table, "conversation.idle") if r.status == conv.status and r.idle_minutes]
    if not waiting:
        return
    since = activity or clock.iso(clock.now())
    shortest = min(r.idle_minutes or 0 for r in waiting)
    store.arm_idle(table, conv.id, conv.status, since,
                   clock.iso(clock.parse_iso(since) + timedelta(minutes=shortest)))


def _idle_since(entry: dict[str, Any], conv: Conversation) -> str:
    """The idle period's start: the timer's, or the latest message either way since."""
    return max(filter(None, [entry.get("since"), conv.last_inbound_at, conv.last_agent_reply_at]))


def _idle(table: Table, entry: dict[str, Any]) -> bool:
    conv = conversations.get(table, entry["conversation_id"], consistent=True)
    if conv is None or conv.status != entry.get("status"):
        due.take(table, entry)  # gone, or in another status (whose own timer, if any, replaced this one)
        return False
    since = _idle_since(entry, conv)
    now = clock.now()
    waiting = [r for r in enabled(table, "conversation.idle") if r.status == conv.status and r.idle_minutes]
    ran = False
    later: list[str] = []
    for rule in waiting:
        at = clock.iso(clock.parse_iso(since) + timedelta(minutes=rule.idle_minutes or 0))
        if at > clock.iso(now):
            later.append(at)
            continue
        current = conversations.get(table, conv.id, consistent=True)
        if current is None or current.status != entry.get("status"):
            break  # an earlier rule moved it on
        if matches(rule.condition_dicts, _facts(table, current, None, None)):
            _run(table, rule, current, "conversation.idle", f"idle#{rule.id}#{since}", None, None)
            ran = True
    if later and store.reschedule_idle(table, entry, min(later)):
        return ran
    due.take(table, entry)  # every rule had its turn in this idle period; new activity arms it again
    return ran


def run_idle(table: Table) -> dict[str, int]:
    from switchboard.services import jobs

    return jobs.run(keys.IDLE, _idle, table)


# -- the action executor (rules and macros) -----------------------------------------------------------------------
def execute(table: Table, conv: Conversation, actions: list[dict[str, Any]], *, by: str, automated: bool,
            stable: str, contact: Contact | None = None, message: Message | None = None,
            rule: RuleSpec | None = None) -> list[dict[str, Any]]:
    """Each action in order; one's failure is recorded ({"type", "ok": False, "error"}) and the next ones run."""
    results: list[dict[str, Any]] = []
    for index, action in enumerate(actions):
        kind, value = action["type"], action.get("value")
        try:
            conv = _act(table, conv, kind, value, by=by, automated=automated, stable=f"{stable}#{index}",
                        contact=contact, message=message, rule=rule) or conv
        except SwitchboardError as exc:
            observability.count_by_reason("RuleActionsFailed", kind, exc.code)
            results.append({"type": kind, "ok": False, "error": exc.code, "message": exc.message[:200]})
            continue
        results.append({"type": kind, "ok": True})
    return results


def _act(table: Table, conv: Conversation, kind: str, value: Any, *, by: str, automated: bool, stable: str,
         contact: Contact | None, message: Message | None, rule: RuleSpec | None) -> Conversation | None:
    from switchboard.services import inbox, priority, snooze, workflow

    if kind == "add_label":
        return inbox.set_labels(table, conv.id, [*conv.labels, value])
    if kind == "set_priority":
        return priority.set_priority(table, conv.id, value)
    if kind == "assign_agent":
        return _assign_agent(table, conv, value)
    if kind == "assign_team":
        return _assign_team(table, conv, value)
    if kind == "resolve":
        return workflow.resolve(table, conv.id, by)
    if kind == "set_status":
        if value == "resolved":
            return workflow.resolve(table, conv.id, by)
        return workflow.pending(table, conv.id) if value == "pending" else workflow.reopen(table, conv.id)
    if kind == "snooze_minutes":
        until = clock.iso(clock.now() + timedelta(minutes=int(value)))
        return snooze.snooze(table, conv.id, until=until)
    if kind == "send_message":
        _send(table, conv, value, by=by, automated=automated, stable=stable, contact=contact, message=message)
        return None
    if kind == "notify_email":
        if rule is None:
            raise BadRequest("notify_email is for rules", code="invalid_action")
        store.queue_mail(table, conv.id, ids.stable_id("", stable), value, rule.name, rule.id)
        return None
    raise BadRequest(f"unknown action {kind}", code="invalid_action")


def _assign_agent(table: Table, conv: Conversation, agent: str) -> Conversation:
    """To a known agent (one with an availability record: someone who signed in); an agent gone is an error."""
    from switchboard.services import assignment, inbox

    if agent.lower() not in {a["email"].lower() for a in assignment.agents(table)}:
        raise NotFound(f"no agent {agent} (never signed in, or gone)", code="agent_unknown")
    return inbox.assign(table, conv.id, agent)


def _assign_team(table: Table, conv: Conversation, team_id: str) -> Conversation:
    """The conversation's team, and an available member of it (round-robin); a current assignee who is a member
    keeps it, anyone else gives it up (it waits in the team's queue when no member is available)."""
    from switchboard.services import assignment, inbox, inboxes

    team = next((t for t in inboxes.directory(table)[1] if t.id == team_id), None)
    if team is None:
        raise NotFound(f"no team {team_id}", code="team_not_found")
    store.set_team(table, conv.id, team_id)
    members = {m.lower() for m in team.members}
    if conv.assignee and conv.assignee.lower() in members:
        return conversations.require(table, conv.id, consistent=True)
    if conv.assignee:
        conv = inbox.assign(table, conv.id, None)
    return assignment.auto_assign(table, conversations.require(table, conv.id, consistent=True), members)


def fill(text: str, conv: Conversation, contact: Contact | None, agent: str | None) -> str:
    """A canned text's variables, filled as the agents' app fills them (services/canned.VARIABLES)."""
    from switchboard.services.canned import VARIABLE

    name = (contact.name if contact else None) or conv.contact_name or ""
    first, _, last = name.partition(" ")
    agent_name = " ".join(w.capitalize() for w in (agent or "").split("@")[0].replace("_", ".").split(".") if w)
    values = {"contact.name": name, "contact.first_name": first, "contact.last_name": last,
              "contact.email": (contact.email if contact else None) or "",
              "contact.phone": (contact.phone if contact else None) or "", "agent.name": agent_name,
              "agent.email": agent or "", "conversation.id": conv.id,
              "conversation.channel": CHANNEL_NAMES.get(conv.channel, conv.channel)}
    return VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def _send(table: Table, conv: Conversation, value: dict[str, Any], *, by: str, automated: bool, stable: str,
          contact: Contact | None, message: Message | None) -> None:
    from switchboard.services import automation, mail_feedback, optouts, replies
    from switchboard.services.sending import window_open

    contact = contact or contacts.get(table, conv.contact_id)
    text = value.get("text")
    if text is None:
        text = str(store_canned.get(table, value["canned_id"]).get("text") or "")
    text = fill(text, conv, contact, None if automated else by)
    if not automated:  # a macro: the agent's own reply (their window, their opt-out checks, counted as a response)
        replies.reply(conv.id, text, by, table)
        return
    # The greetings' rules (services/automation.py), each refusal named on the run.
    if conv.auto_submitted or (message is not None and message.auto_submitted):
        raise Conflict("no automated message to automated mail", code="automated_mail")
    if message is not None and (message.authentication or {}).get("dmarc") == "FAIL":
        raise Conflict("no automated message to mail whose sender's domain disowns it", code="dmarc_failed")
    if conv.blocked:
        raise Conflict("the customer blocked us on this channel", code="blocked")
    if conv.kind == "comment":  # issue 17: a rule never posts on a public comment thread
        raise Conflict("no automated message on a public comment thread", code="comment_conversation")
    if not window_open(conv, human=False):
        raise Conflict("the reply window for automated messages has closed", code="reply_window_closed")
    refusal = optouts.refusal(contact, conv.channel, automated=True)
    if refusal:
        raise Conflict(refusal, code="opted_out")
    if conv.channel == "email" and mail_feedback.suppression(table, conv.recipient):
        raise Conflict("the address bounced or complained", code="suppressed")
    sent = automation.send_automated(table, conv, text, "rule", contact, message_id=ids.stable_id("m_", stable))
    if sent is None:
        raise Conflict("the automated message was refused", code="refused")


# -- notify_email's mails (TimersFunction) -----------------------------------------------------------------------
def _mail(table: Table, entry: dict[str, Any]) -> bool:
    """No message text, no customer's name or address: the rule's name and the conversation's link. Sent, then the
    entry taken (a stop in between may send it twice, never lose it)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from switchboard.settings import get_settings

    settings = get_settings()
    sender = settings.email_from_address or settings.survey_from_address or "support@example.com"
    conv_id = entry["conversation_id"]
    link = f"{settings.app_url.rstrip('/')}/#/c/{conv_id}" if settings.app_url else f"conversation {conv_id}"
    mail = EmailMessage()
    mail["From"], mail["To"] = sender, entry["to"]
    mail["Subject"] = f"Switchboard rule: {entry.get('rule_name') or entry.get('rule_id')}"
    mail["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(f"The automation rule \"{entry.get('rule_name')}\" asked to tell you about a conversation.\n\n"
                     f"Open it: {link}\n\nSwitchboard")
    try:
        extra = {"ConfigurationSetName": settings.ses_configuration_set} if settings.ses_configuration_set else {}
        aws.client("sesv2").send_email(FromEmailAddress=sender, Destination={"ToAddresses": [entry["to"]]},
                                       Content={"Raw": {"Data": mail.as_bytes()}}, **extra)
    except (BotoCoreError, ClientError) as exc:
        raise ServiceUnavailable("SES send failed") from exc
    due.take(table, entry)
    return True


def run_mail(table: Table) -> dict[str, int]:
    from switchboard.services import jobs

    return jobs.run(keys.RULE_MAIL, _mail, table)


# -- macros -----------------------------------------------------------------------------------------------------
def macros_for(table: Table, who: str, admin: bool) -> list[MacroSpec]:
    """Shared macros and the caller's own (an admin sees every macro)."""
    found = [MacroSpec.model_validate(m) for m in store.list_macros(table)]
    return [m for m in found if m.shared or admin or (m.owner or "").lower() == who.lower()]


def create_macro(table: Table, name: str, actions: list[Any], who: str, admin: bool,
                 shared: bool | None = None) -> MacroSpec:
    """An agent's macro is their own; an admin's is shared unless they say otherwise."""
    checked = check_macro_actions(actions, _known(table))
    is_shared = admin if shared is None else shared
    if is_shared and not admin:
        raise Forbidden("only admins make shared macros")
    now = clock.iso(clock.now())
    macro = MacroSpec(id=ids.new_id("mc_"), name=name.strip(), actions=checked, owner=who.lower(),
                      shared=is_shared, created_at=now, updated_at=now)
    store.put_macro(table, macro.model_dump(mode="json"))
    return macro


def _may_change(macro: MacroSpec, who: str, admin: bool) -> None:
    if admin:
        return
    if macro.shared or (macro.owner or "").lower() != who.lower():
        raise Forbidden("agents change their own macros; shared ones are the admins'")


def replace_macro(table: Table, macro_id: str, name: str, actions: list[Any], who: str, admin: bool,
                  shared: bool | None = None) -> MacroSpec:
    macro = MacroSpec.model_validate(store.get_macro(table, macro_id))
    _may_change(macro, who, admin)
    checked = check_macro_actions(actions, _known(table))
    if shared and not admin:
        raise Forbidden("only admins make shared macros")
    updated = MacroSpec.model_validate({**macro.model_dump(), "name": name.strip(), "actions": checked,
                                        "shared": macro.shared if shared is None else shared,
                                        "updated_at": clock.iso(clock.now())})
    store.put_macro(table, updated.model_dump(mode="json"), must_exist=True)
    return updated


def delete_macro(table: Table, macro_id: str, who: str, admin: bool) -> None:
    _may_change(MacroSpec.model_validate(store.get_macro(table, macro_id)), who, admin)
    store.delete_macro(table, macro_id)


def apply_macro(table: Table, conv_id: str, macro_id: str, who: str, admin: bool) -> tuple[Conversation,
                                                                                             list[dict[str, Any]]]:
    """The macro's actions on the conversation, as the agent (their replies, their resolution: a survey follows as
    for any agent's); each action's result."""
    macro = MacroSpec.model_validate(store.get_macro(table, macro_id))
    if not (macro.shared or admin or (macro.owner or "").lower() == who.lower()):
        raise NotFound(f"macro {macro_id} not found", code="macro_not_found")
    conv = conversations.require(table, conv_id, consistent=True)
    results = execute(table, conv, [a.model_dump() for a in macro.actions], by=who, automated=False,
                      stable=f"macro#{macro_id}#{ids.new_id('')}")
    observability.count("MacrosApplied")
    return conversations.require(table, conv_id, consistent=True), results

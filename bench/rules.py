"""Automation rules (issue 19): what evaluating 50 enabled rules costs the processor per customer message.

- `rules_cpu_ms_per_message_50_rules`: CPU (process time) of `rules.message_received` for one message with 50 enabled
  message.received rules of two or three conditions each (channel, words in the text, labels, priority, contact email
  domain, business hours, a custom attribute), none of which matches: the work every message pays. Target <= 1 ms.
- `rules_aws_requests_per_message_50_rules` and `..._0_rules`: AWS requests the same call makes per message once the
  invocation has read the rules (they are read once per invocation and cached): the processor's cost line does not
  grow with the number of rules. Both are measured side by side on moto, with the real store."""

from __future__ import annotations

import time
from typing import Any

from bench.harness import CallLog, moto_stack, reset_caches

MESSAGES = 200


def _rules(n: int) -> list[dict[str, Any]]:
    shapes = [
        [{"field": "channel", "op": "eq", "value": "telegram"}, {"field": "text", "op": "contains", "value": "refund"}],
        [{"field": "text", "op": "contains", "value": "cancel my order"},
         {"field": "priority", "op": "neq", "value": "low"}],
        [{"field": "label", "op": "in", "value": ["vip", "enterprise"]}, {"field": "channel", "op": "eq", "value": "sms"}],
        [{"field": "contact.email_domain", "op": "eq", "value": "bigcorp.example"},
         {"field": "text", "op": "starts_with", "value": "urgent"}],
        [{"field": "business_hours", "op": "eq", "value": "closed"}, {"field": "channel", "op": "eq", "value": "email"}],
        [{"field": "attr.plan", "op": "eq", "value": "gold"}, {"field": "text", "op": "contains", "value": "invoice"},
         {"field": "status", "op": "eq", "value": "pending"}],
    ]
    return [{"name": f"rule {i}", "event": "message.received", "conditions": shapes[i % len(shapes)],
             "actions": [{"type": "add_label", "value": f"l{i}"}, {"type": "set_priority", "value": "high"}]}
            for i in range(n)]


def _measure(n_rules: int) -> tuple[float, float, int]:
    from switchboard import clock
    from switchboard.models import Contact, Conversation, Message
    from switchboard.services import rules
    from switchboard.store import attributes
    from switchboard.store.table import Table

    table = Table()
    if n_rules:
        attributes.create(table, {"key": "plan", "label": "Plan", "type": "text", "applies_to": "contact",
                                  "options": []}, "bench@example.com")
    for body in _rules(n_rules):
        rules.create_rule(table, body, "bench@example.com")
    rules.forget()
    now = clock.iso(clock.now())
    conv = Conversation(id="cv_bench", channel="whatsapp", inbox_id="200000000000002", contact_id="ct_bench",
                        recipient="15550001111", created_at=now, updated_at=now, labels=["billing"],
                        last_inbound_at=now)
    contact = Contact(id="ct_bench", created_at=now, email="jo@smallshop.example", attributes={"plan": "free"})
    texts = ["Hello, where is my order #1234?", "Can I change the delivery address?", "thanks!"]

    def message(i: int) -> Message:
        return Message(id=f"m_bench{i}", conversation_id=conv.id, direction="inbound", channel="whatsapp",
                       text=texts[i % len(texts)], created_at=now, status="received")

    from switchboard import aws

    aws.reset()  # clients made from here on are counted
    log = CallLog(step="rules")
    log.attach_switchboard()
    rules.message_received(table, conv, contact, message(-1))  # the invocation's first message reads the rules
    first = len(log.take())
    started = time.process_time()
    for i in range(MESSAGES):
        rules.message_received(table, conv, contact, message(i))
    cpu_ms = (time.process_time() - started) * 1000 / MESSAGES
    requests = len(log.take()) / MESSAGES
    return cpu_ms, requests, first


def measure() -> dict[str, Any]:
    results: dict[str, Any] = {}
    for n in (0, 50):
        with moto_stack():
            reset_caches()
            cpu_ms, requests, first = _measure(n)
        results[f"rules_aws_requests_per_message_{n}_rules"] = round(requests, 3)
        results[f"rules_aws_requests_first_message_{n}_rules"] = first
        if n:
            results["rules_cpu_ms_per_message_50_rules"] = round(cpu_ms, 3)
        else:
            results["rules_cpu_ms_per_message_0_rules"] = round(cpu_ms, 3)
    return results

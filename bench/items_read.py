"""Items read per item of work, at scale: the scheduled jobs (retention, auto-reply, survey, timers) with 100,000
conversations of which 1% are due for each job, and one inbox page of 50 open conversations out of 100,000, in each
order and with the priority filter (issue 14).

Items read are counted from the DynamoDB responses the core's own requests got (botocore after-call hooks on the
clients switchboard.aws creates): ScannedCount of each Query, a found GetItem, each BatchGetItem item."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from typing import Any

from bench.harness import (
    PNID,
    CallLog,
    OutputCapture,
    by_operation,
    forget_metrics,
    items_deleted,
    items_read,
    moto_stack,
    reset_caches,
    scheduled_event,
    stub_aws,
)
from bench.motofast import fast_moto, put_items

CHANNEL = "whatsapp"
OPEN, PENDING, RESOLVED, SNOOZED = "open", "pending", "resolved", "snoozed"
PRIORITIES = {0: "urgent", 1: "high", 2: "high", 3: "high", 4: "low", 5: "low"}  # of 100: 6% not normal
# Inboxes and teams (issue 14): the bulk conversations are spread over five WhatsApp numbers (i % 5); "Billing"
# has the second number, "Sales" the third and fourth (a team whose view merges two inboxes).
INBOX_ADDRESSES = (PNID, "200000000000012", "200000000000013", "200000000000014", "200000000000015")
TEAMS = {"tm_billing": ("Billing", (1,)), "tm_sales": ("Sales", (2, 3))}


def _typed(value: Any) -> dict[str, Any]:
    """DynamoDB JSON of a plain value (what TypeSerializer makes, faster)."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | float):
        return {"N": repr(value)}
    if isinstance(value, dict):
        return {"M": {k: _typed(v) for k, v in value.items() if v is not None}}
    if isinstance(value, list | tuple):
        return {"L": [_typed(v) for v in value]}
    if value is None:
        return {"NULL": True}
    raise TypeError(type(value))


def _item(plain: dict[str, Any]) -> dict[str, Any]:
    return {k: _typed(v) for k, v in plain.items() if v is not None}


class Population:
    """100,000 conversations (or --quick's 2,000) in the layout store/keys.py describes. For each scheduled job 1%
    of all conversations are due, the rest not yet:
      retention: i % 100 == 0: one inbound message 400 days ago (the default retention is 365 days);
      auto-reply: i % 100 == 1: open, the customer's message 20 minutes ago (the wait is 15 minutes);
      survey: i % 100 == 2: a message 3 hours ago, resolved 2 hours ago (the delay is 60 minutes), the contact
        has an email address.
      timers (issue 14): i % 100 == 3: snoozed an hour, two hours ago (it wakes); i % 100 == 4: an open
        conversation whose SLA first response was due 30 minutes ago (its breach is recorded).
    The due 1% are made by the core itself, through the processor's service (contact, identity, conversation,
    message, dedupe marker, active pointer, retention entry, auto-reply entry) and the resolve service (survey
    entry), with the clock moved back; so their items have exactly the shapes the core writes today.
    The other 99% are written straight into moto's table (bench/motofast.py): each a META item (GSI1 keys, the
    inbox by status; 60% open, 20% pending, 20% resolved; of the pending, a quarter snoozed) and its retention entry
    (not due: active in the last 30 days); open ones also wait for an auto-reply (due in 10 to 60 minutes), resolved
    ones for a survey (same). Issue 14's keys: 6% have a priority other than normal (1% urgent, 3% high, 2% low:
    PriorityIndex; the due conversations' copies too), every one its QueueIndex key; two thirds of the open ones
    wait for an answer (since their last activity) and half of the open ones have an SLA target running, due in 1
    to 3 days (SlaIndex, and a DUE#sla entry); the snoozed ones wake in 1 to 3 days (DUE#snooze). The jobs must
    never read those."""

    def __init__(self, conversations: int):
        from switchboard import clock

        self.n = conversations
        self.now = clock.now()
        self.due: dict[str, list[str]] = {"retention": [], "auto_reply": [], "survey": [], "snooze": [], "sla": []}
        self.counts: dict[str, Any] = {"bulk_items": 0, "conversations": conversations, OPEN: 0, PENDING: 0, RESOLVED: 0,
                                       SNOOZED: 0, "priority": {}, "waiting": 0, "sla_running": 0}

    def _iso(self, **delta: float) -> str:
        from switchboard import clock

        return clock.iso(self.now + timedelta(**delta))

    def build(self, stack: Any, log_progress: Any) -> float:
        started = time.perf_counter()
        roles = {0: "retention", 1: "auto_reply", 2: "survey", 3: "snooze", 4: "sla"}
        due_indexes: dict[str, list[int]] = {role: [] for role in roles.values()}
        for i in range(self.n):
            if i % 100 in roles:
                due_indexes[roles[i % 100]].append(i)
        self._due(stack, due_indexes)  # first, on the empty table: the core's items are told apart by their ids
        log_progress(f"  {sum(map(len, self.due.values())):,} due conversations written "
                     f"in {time.perf_counter() - started:.0f} s")
        chunk: list[dict[str, Any]] = []
        for i in range(self.n):
            if i % 100 in roles:
                continue
            chunk.extend(self._bulk(i))
            if len(chunk) >= 20_000:
                self.counts["bulk_items"] += put_items(stack.table_name, chunk)
                chunk = []
        self.counts["bulk_items"] += put_items(stack.table_name, chunk)
        self.counts["bulk_items"] += put_items(stack.table_name, self._directory())
        return time.perf_counter() - started

    def _directory(self) -> list[dict[str, Any]]:
        """The inboxes of INBOX_ADDRESSES and the TEAMS, as store/inboxes.py writes them."""
        from switchboard import ids
        from switchboard.store import keys

        now = self._iso()
        team_of = {index: team for team, (_, indexes) in TEAMS.items() for index in indexes}
        items: list[dict[str, Any]] = [
            {**keys.inbox(ids.inbox_id(CHANNEL, address)), "type": "inbox", "id": ids.inbox_id(CHANNEL, address),
             "channel": CHANNEL, "address": address, "status": "active", "created_at": now, "origin": "admin",
             "name": f"Number {n}", **({"team": team_of[n]} if n in team_of else {})}
            for n, address in enumerate(INBOX_ADDRESSES)]
        items += [{**keys.team(team), "type": "team", "id": team, "name": name, "members": ["agent@example.com"],
                   "created_at": now} for team, (name, _) in TEAMS.items()]
        return [_item(x) for x in items]

    def _bulk(self, i: int) -> list[dict[str, Any]]:
        from switchboard.store import keys

        conv_id, contact_id, sender = f"cv_bench{i:07d}", f"ct_bench{i:07d}", f"1555{i:07d}"
        status = OPEN if i % 10 < 6 else PENDING if i % 10 < 8 else RESOLVED
        if status == PENDING and i % 40 in (6, 16):
            status = SNOOZED
        self.counts[status] += 1
        updated = self._iso(seconds=-((i * 7919) % (30 * 86400)) - 3600)
        from switchboard import ids

        address = INBOX_ADDRESSES[i % len(INBOX_ADDRESSES)]
        priority = PRIORITIES.get((i // 10) % 100, "normal")  # apart from the status (i % 10) and the roles (i % 100)
        self.counts["priority"][priority] = self.counts["priority"].get(priority, 0) + 1
        waiting = updated if status == OPEN and i % 3 != 0 else None
        meta: dict[str, Any] = {
            **keys.conversation(conv_id), **keys.inbox_keys(status, None, updated, conv_id),
            "inbox_sk": keys.inbox_scope_sk(ids.inbox_id(CHANNEL, address), updated, conv_id),
            "type": "conversation", "id": conv_id, "channel": CHANNEL, "inbox_id": address, "contact_id": contact_id,
            "contact_name": f"Customer {i}", "recipient": sender, "status": status, "labels": [],
            "created_at": updated, "updated_at": updated, "last_inbound_at": updated, "unread_count": 1,
            "last_message": {"text": f"question number {i}", "direction": "inbound", "created_at": updated},
            "priority": priority, "queue_sk": keys.queue_sort(priority, waiting, conv_id),
            "prio_sk": keys.priority_sort(priority, updated, conv_id), "waiting_since": waiting,
        }
        self.counts["waiting"] += bool(waiting)
        if status == RESOLVED:
            meta |= {"resolved_at": updated, "resolved_by": "agent@example.com"}
        items = [meta, {**keys.retention_due(conv_id, CHANNEL, updated), "type": "due", "job": "retention",
                        "conversation_id": conv_id, "contact_id": contact_id, "channel": CHANNEL}]
        days_ahead = self._iso(minutes=24 * 60 * (1 + i % 3) + i % 60)
        if status == OPEN and i % 2 == 0:  # an SLA target running, due in days
            meta |= {"sla": {"resolution_due_at": days_ahead}, "sla_sk": keys.sla_sort(days_ahead, conv_id)}
            items.append({**keys.due(conv_id, keys.sla_due_job("resolution")),
                          **keys.due_index("sla", days_ahead, conv_id), "type": "due", "job": "sla",
                          "conversation_id": conv_id, "target": "resolution", "due_at": days_ahead, "event": "breach"})
            self.counts["sla_running"] += 1
        if status == SNOOZED:
            meta |= {"snoozed_until": days_ahead}
            items.append({**keys.due(conv_id, "snooze"), **keys.due_index("snooze", days_ahead, conv_id),
                          "type": "due", "job": "snooze", "conversation_id": conv_id, "until": days_ahead})
        later = self._iso(minutes=10 + i % 50)
        if status == OPEN:
            items.append({**keys.due(conv_id, "auto_reply"), **keys.due_index("auto_reply", later, conv_id),
                          "type": "due", "job": "auto_reply", "conversation_id": conv_id, "waiting_since": updated})
        if status == RESOLVED:
            items.append({**keys.due(conv_id, "survey"), **keys.due_index("survey", later, conv_id),
                          "type": "due", "job": "survey", "conversation_id": conv_id, "resolution": updated,
                          "resolved_by": "agent@example.com"})
        return [_item(x) for x in items]

    def _due(self, stack: Any, due_indexes: dict[str, list[int]]) -> None:
        """One conversation per job made by the core at the right time (the template), then copied for the rest
        of that job's due 1% with every id of the template replaced (conversation, contact, message, provider
        message, phone number, email): the copies have the very shapes the core writes."""
        from bench.harness import save_settings
        from switchboard import clock
        from switchboard.services import snooze, workflow
        from switchboard.store import keys
        from switchboard.store.table import Table

        off = {section: {"enabled": False} for section in ("greeting", "away", "auto_reply", "survey")}
        on = {"auto_reply": {"enabled": True, "after_minutes": 15}, "survey": {"enabled": True, "delay_minutes": 60}}
        table = Table()
        templates: dict[str, tuple[str, dict[str, str]]] = {}
        try:
            save_settings(off)
            clock.advance(-400 * 86400)
            templates["retention"] = self._inbound(1)
            clock.reset()
            # Issue 14's timers: snoozed for an hour two hours ago; a first response due 30 minutes ago.
            clock.advance(-2 * 3600)
            templates["snooze"] = self._inbound(4)
            snooze.snooze(table, templates["snooze"][0], preset="1h")
            clock.reset()
            save_settings({"sla": {"enabled": True, "first_response_minutes": 30, "next_response_minutes": None,
                                   "resolution_minutes": None, "warn_before_minutes": 10}})
            clock.advance(-3600)
            templates["sla"] = self._inbound(5)
            save_settings({"sla": {"enabled": False}})  # the other templates get no SLA entries
            clock.reset()
            clock.advance(-3 * 3600)
            conv_id, tokens = templates["survey"] = self._inbound(3)
            contact_id = (table.get(keys.conversation(conv_id)) or {})["contact_id"]
            tokens[contact_id] = "ct_"
            tokens["template-3@example.com"] = "@"
            stack.clients["dynamodb"].update_item(
                TableName=stack.table_name, Key={"pk": {"S": keys.contact_pk(contact_id)}, "sk": {"S": "PROFILE"}},
                UpdateExpression="SET email = :e", ExpressionAttributeValues={":e": {"S": "template-3@example.com"}})
            save_settings(on)
            clock.advance(3600)
            workflow.resolve(table, conv_id, "agent@example.com")
            clock.reset()
            clock.advance(-20 * 60)
            templates["auto_reply"] = self._inbound(2)
            clock.reset()
            save_settings({"sla": {"enabled": True}})  # on for the timers' run
        finally:
            clock.reset()
        everything = self._scan(stack)
        for role, (conv_id, tokens) in templates.items():
            contact_id = next(json.loads(i)["contact_id"]["S"] for i in everything
                              if f'"CONV#{conv_id}"' in i and '"META"' in i)
            tokens = {**tokens, conv_id: "cv_", contact_id: "ct_"}
            own = [text for text in everything if any(token in text for token in tokens)]
            copies: list[dict[str, Any]] = []
            self.due[role] = [conv_id]
            pattern = re.compile("|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True)))
            for n in range(len(due_indexes[role]) - 1):
                replaced = {token: self._variant(token, prefix, n) for token, prefix in tokens.items()}
                copied = [json.loads(pattern.sub(lambda m, r=replaced: r[m.group(0)], text)) for text in own]  # type: ignore[misc]
                copies += [self._prioritized(item, n) for item in copied]
                self.due[role].append(replaced[conv_id])
            put_items(stack.table_name, copies)
            self.counts[{"survey": RESOLVED, "snooze": SNOOZED}.get(role, OPEN)] += len(self.due[role])
            self.counts.setdefault("items_per_due_conversation", {})[role] = len(own)

    @staticmethod
    def _prioritized(item: dict[str, Any], n: int) -> dict[str, Any]:
        """A copied conversation gets the population's share of priorities (as the priority route sets them)."""
        from switchboard.store import keys

        priority = PRIORITIES.get(n * 37 % 100, "normal")  # spread: copies of one template sort by their number
        if item.get("sk") != {"S": "META"} or priority == "normal":
            return item
        conv_id, updated = item["id"]["S"], item["updated_at"]["S"]
        waiting = (item.get("waiting_since") or {}).get("S")
        return item | {"priority": {"S": priority}, "queue_sk": {"S": keys.queue_sort(priority, waiting, conv_id)},
                       "prio_sk": {"S": keys.priority_sort(priority, updated, conv_id)}}

    @staticmethod
    def _variant(token: str, prefix: str, n: int) -> str:
        if prefix == "@":
            return token.replace("@", f"-{n}@")
        if prefix == "digits":
            return f"{token[:4]}{(int(token[4:]) + 1000 * (n + 1)) % 10 ** len(token[4:]):0{len(token) - 4}d}"
        return f"{token}x{n:07d}"

    @staticmethod
    def _scan(stack: Any) -> list[str]:
        ddb, items, start = stack.clients["dynamodb"], [], None
        while True:
            page = ddb.scan(TableName=stack.table_name, **({"ExclusiveStartKey": start} if start else {}))
            items += [json.dumps(i, sort_keys=True) for i in page["Items"]]
            start = page.get("LastEvaluatedKey")
            if not start:
                return items

    def _inbound(self, n: int) -> tuple[str, dict[str, str]]:
        """One customer message through the processor's service: what the core stores for it. Returns the
        conversation id and the ids to replace in copies (token -> kind)."""
        from switchboard import clock, ids
        from switchboard.models import InboundEnvelope, InboundMessage
        from switchboard.services import processing

        sender, wamid = f"1999000000{n}", f"wamid.benchtemplate{n}"
        event = InboundMessage(channel=CHANNEL, provider_message_id=wamid, inbox_id=PNID, sender_id=sender,
                               identity=f"phone:+{sender}", sender_name=f"Template {n}",
                               text=f"question number {n}", timestamp=clock.now().timestamp())
        outcome = processing.process(InboundEnvelope(event=event, received_at=clock.iso(clock.now())))
        assert outcome.conversation_id, outcome
        return outcome.conversation_id, {sender: "digits", wamid: "wamid",
                                         ids.stable_id("m_", CHANNEL, wamid): "m_"}


def _run_job(stack: Any, function: str, log: CallLog, out: OutputCapture, done_key: str, max_runs: int = 5
             ) -> tuple[list[dict[str, Any]], list[Any], float]:
    """Run a scheduled function until it has nothing left to do; returns its results, the calls, seconds."""
    fn = stack.functions[function]
    results, calls = [], []
    started = time.perf_counter()
    for _ in range(max_runs):
        log.step = function
        with out.capture():
            result = fn.invoke(scheduled_event(function))
        calls += log.take()
        results.append(result)
        if not isinstance(result, dict) or not result.get(done_key):
            break
    return results, calls, time.perf_counter() - started


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


INBOX_KEY = "inbox_items_read_per_item_returned"
INBOX_VIEWS = {  # result key -> the query of one page of 50 open conversations
    INBOX_KEY: "status=open&limit=50",
    f"{INBOX_KEY}.priority_filter": "status=open&priority=high&limit=50",
    f"{INBOX_KEY}.priority_normal": "status=open&priority=normal&limit=50",
    f"{INBOX_KEY}.sort_priority": "status=open&sort=priority&limit=50",
    f"{INBOX_KEY}.sort_waiting": "status=open&sort=waiting&limit=50",
    f"{INBOX_KEY}.sort_sla_due": "status=open&sort=sla_due&limit=50",
}


def _inbox_page(stack: Any, log: CallLog, out: OutputCapture, query: str) -> tuple[float | None, dict[str, Any]]:
    """Items read per item returned for one page (warm: a first call takes the imports, settings and clients)."""
    function, event = stack.http_event("GET", "/api/conversations", role="agent", query=query)
    log.take()
    with out.capture():
        stack.functions[function].invoke(event)
    log.take()
    with out.capture():
        response = stack.functions[function].invoke(event)
    calls, again = _page_and_directory(log.take())
    returned = len(json.loads(response["body"]).get("items", [])) if response.get("statusCode") == 200 else 0
    reads = items_read(calls)
    return _ratio(reads["items_read"], returned), {"query": query, "status": response.get("statusCode"),
                                                   "returned": returned, **reads, "requests": by_operation(calls),
                                                   "queries": _queries(calls),
                                                   "directory_read_again_items": items_read(again)["items_read"]}


def _page_and_directory(calls: list[Any]) -> tuple[list[Any], list[Any]]:
    """A page's own reads, and the inbox directory's (inboxes and teams, which the API caches for 15 s: read again
    when its 15 s were up between the warm request and the measured one, as happens when the first is slow at
    this scale on moto). The directory is one read per 15 s per container, not per page: counted apart."""
    return [c for c in calls if not _reads_directory(c)], [c for c in calls if _reads_directory(c)]


def _reads_directory(call: Any) -> bool:
    """A Query of the inboxes' and teams' partition (services/inboxes.py's cached directory)."""
    from switchboard.store import keys

    if call.service != "dynamodb" or call.operation != "Query" or call.params.get("IndexName"):
        return False
    return {"S": keys.DIRECTORY_PK} in (call.params.get("ExpressionAttributeValues") or {}).values()


def _queries(calls: list[Any]) -> list[dict[str, Any]]:
    """Each Query of a page: its index, limit, range and what it read (to see where a page reads more)."""
    out = []
    for c in calls:
        if c.service == "dynamodb" and c.operation == "Query" and not c.error:
            values = {k: next(iter(v.values())) for k, v in (c.params.get("ExpressionAttributeValues") or {}).items()
                      if isinstance(v, dict) and len(v) == 1}
            out.append({"index": c.params.get("IndexName"), "limit": c.params.get("Limit"),
                        "from": str(values.get(":vlo", ""))[:80], "to": str(values.get(":vhi", ""))[:80],
                        "read": c.parsed.get("ScannedCount"), "kept": c.parsed.get("Count")})
    return out


def measure(conversations: int, log_progress: Any = print) -> dict[str, Any]:
    with moto_stack() as stack, fast_moto():
        population = Population(conversations)
        with OutputCapture().capture():  # what the core logs while it makes the due conversations
            seconds = population.build(stack, log_progress)
        log_progress(f"  populated {conversations:,} conversations in {seconds:.0f} s")
        forget_metrics()
        reset_caches()  # new clients, created with the counting hooks below
        log = CallLog()
        log.attach_switchboard()
        # Not what is measured here, and slow on moto at this scale (its FIFO send scans the whole queue):
        # the outbound queue and the survey emails are answered by a local stub. The requests are still counted.
        from switchboard import aws

        stub_aws(aws._session()._session, ("sqs", "sesv2"))
        out = OutputCapture()
        results: dict[str, Any] = {}
        detail: dict[str, Any] = {"population": {
            **population.counts, "due_per_job": {k: len(v) for k, v in population.due.items()},
            "seconds": round(seconds, 1), "layout": " ".join((Population.__doc__ or "").split())}}

        # The inbox first, before the jobs change anything: GET /api/conversations?status=open&limit=50, then the
        # same page in issue 14's orders and with its priority filter.
        for key, query in INBOX_VIEWS.items():
            ratio, detail[f"inbox{key[len(INBOX_KEY):]}"] = _inbox_page(stack, log, out, query)
            results[key] = ratio

        # Issue 14: the same page limited to one inbox (a fifth of the conversations), to a team of one inbox, and
        # to a team of two (its inboxes merged). The directory (inboxes and teams, one Query) is cached by the API
        # for 15 s: read by the first request, as the cold one above does for settings, and counted apart.
        from switchboard import ids

        for key, query in (
                ("inbox_items_read_per_item_returned_by_inbox",
                 f"inbox={ids.inbox_id(CHANNEL, INBOX_ADDRESSES[4])}"),
                ("inbox_items_read_per_item_returned_by_team", "team=tm_billing"),
                ("inbox_items_read_per_item_returned_by_team_of_two_inboxes", "team=tm_sales")):
            function, event = stack.http_event("GET", "/api/conversations", role="agent",
                                               query=f"status=open&limit=50&{query}")
            with out.capture():
                response = stack.functions[function].invoke(event)  # the directory, once per 15 s
            directory_reads = items_read(log.take())
            with out.capture():
                response = stack.functions[function].invoke(event)
            calls, again = _page_and_directory(log.take())
            returned = len(json.loads(response["body"]).get("items", [])) if response.get("statusCode") == 200 else 0
            reads = items_read(calls)
            results[key] = _ratio(reads["items_read"], returned)
            detail[key] = {"query": query, "status": response.get("statusCode"), "returned": returned, **reads,
                           "requests": by_operation(calls), "queries": _queries(calls),
                           "first_request_items_read": directory_reads["items_read"],
                           "directory_read_again_items": items_read(again)["items_read"]}

        for function, key, done_key in (("AutoReplyFunction", "auto_reply_items_read_per_item_due", "due"),
                                        ("SurveyFunction", "survey_items_read_per_item_due", "due"),
                                        ("TimersFunction", "timers_items_read_per_item_due", "woken"),
                                        ("RetentionFunction", "retention_items_read_per_item_deleted",
                                         "conversations")):
            job_results, calls, took = _run_job(stack, function, log, out, done_key)
            reads = items_read(calls)
            job = {"FunctionResults": job_results, **reads, "requests": len(calls),
                   "requests_by_operation": by_operation(calls), "seconds": round(took, 1)}
            if function == "RetentionFunction":
                deleted = items_deleted(calls)
                results[key] = _ratio(reads["items_read"], deleted)
                job |= {"items_deleted": deleted, "conversations_due": len(population.due["retention"])}
            elif function == "TimersFunction":  # snoozes to wake and SLA breaches to record
                due = len(population.due["snooze"]) + len(population.due["sla"])
                results[key] = _ratio(reads["items_read"], due)
                job |= {"items_due": due, "done": sum(r.get("woken", 0) + r.get("sla_done", 0)
                                                      for r in job_results if isinstance(r, dict))}
            else:
                due = len(population.due["auto_reply" if function == "AutoReplyFunction" else "survey"])
                results[key] = _ratio(reads["items_read"], due)
                job |= {"items_due": due, "done": sum(r.get("done", 0) for r in job_results if isinstance(r, dict))}
            detail[function] = job
            log_progress(f"  {function}: {reads['items_read']:,} items read, {len(calls):,} requests, {took:.0f} s")
        detail["log_bytes"] = out.bytes
    results["items_read_detail"] = detail
    return results

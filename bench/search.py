"""search_p95_ms and search_items_read_per_result: the agents' search (GET /api/search, through the real API handler
on moto) with 100,000 conversations of 1,000,000 messages in the table's search index.

The population is the seed script's corpus (infra/scripts/seed.py: names with accents from many countries, phone
numbers of a dozen, email addresses, order numbers, the words customers write), indexed exactly as the processor
indexes it: each customer message's terms (search_text.message_terms), written once per conversation and term
(the first message that has it gives the snippet), each contact's terms (search_text.contact_terms) with what a
result shows, profiles in the directory (GSI2), the contact->conversation links, and each conversation's
ContactIndex keys (what a found contact's conversations are listed from). Every conversation has ten
messages, six of them the customer's (indexed) and four replies (never indexed). The message items themselves are
not put into moto: search never reads them, and a million of them would only cost the machine memory; the META
items (status, contact, preview) are, as the inbox bench writes them. Items go straight into moto's table
(bench/motofast.py); every read of the measured requests is counted from DynamoDB's responses."""

from __future__ import annotations

import importlib.util
import json
import random
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from bench import ROOT
from bench.harness import CallLog, OutputCapture, by_operation, forget_metrics, items_read, moto_stack, reset_caches
from bench.items_read import _item
from bench.motofast import fast_moto, put_items, sorted_partitions

MESSAGES_PER_CONVERSATION = 10
CUSTOMER_MESSAGES = 6  # of the ten; the others are replies, which are not indexed
SHARED_CONTACTS = 0.2  # a fifth of the conversations belong to a contact with another conversation
QUERIES = {"contact": 150, "word": 150}


def corpus() -> Any:
    """infra/scripts/seed.py as a module (it is a script: no package)."""
    if "switchboard_seed" in sys.modules:
        return sys.modules["switchboard_seed"]
    spec = importlib.util.spec_from_file_location("switchboard_seed", ROOT / "infra" / "scripts" / "seed.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["switchboard_seed"] = module
    spec.loader.exec_module(module)
    return module


def _time_id(prefix: str, millis: int, n: int) -> str:
    """A time-ordered id as ids.new_id makes them, with a deterministic tail."""
    return f"{prefix}{millis:012x}{n:016x}"


class Population:
    def __init__(self, conversations: int, seed: int = 14):
        self.n = conversations
        self.rng = random.Random(seed)
        self.contacts: list[dict[str, Any]] = []  # what the queries are made from
        self.vocabulary: dict[str, int] = {}  # term -> conversations that have it
        self.counts: dict[str, Any] = {}

    def build(self, table_name: str, log: Any) -> float:
        from switchboard import clock, search_text
        from switchboard.store import keys
        from switchboard.store import search as index

        started = time.perf_counter()
        seed = corpus()
        n_contacts = max(1, int(self.n * (1 - SHARED_CONTACTS)))
        persons = seed.people(n_contacts, self.rng)
        now = clock.now()
        start_ms = int((now - timedelta(days=60)).timestamp() * 1000)
        step_ms = max(1, int(60 * 86400 * 1000 / self.n))
        contact_ids = [_time_id("ct_", start_ms + i * step_ms // 2, i) for i in range(n_contacts)]
        last_activity: dict[int, str] = {}
        expires = int(now.timestamp()) + 800 * 86400
        chunk: list[dict[str, Any]] = []
        postings = customer_messages = contact_terms = 0
        for i in range(self.n):
            c = i if i < n_contacts else self.rng.randrange(n_contacts)
            person, contact_id = persons[c], contact_ids[c]
            created_ms = start_ms + i * step_ms
            conv_id = _time_id("cv_", created_ms, i)
            created = clock.iso(clock.from_epoch(created_ms / 1000))
            updated = clock.iso(clock.from_epoch(created_ms / 1000 + self.rng.randint(60, 3 * 86400)))
            texts = list(person.texts) if c == i else []
            while len(texts) < CUSTOMER_MESSAGES:
                texts.append(seed.customer_text(self.rng))
            seen: set[str] = set()
            for m, text in enumerate(texts[:CUSTOMER_MESSAGES]):
                customer_messages += 1
                subject = person.subject if m == 0 and person.channel == "email" else None
                words = set(search_text.words(text))
                for term in search_text.message_terms(text, subject):
                    if term in seen:
                        continue
                    seen.add(term)
                    field, source = ("text", text) if term in words or not subject else ("subject", subject)
                    chunk.append(_item(index.term_item(term, conv_id, f"m_{i:08x}{m:02x}", search_text.snippet(
                        source, term), field, expires)))
                    self.vocabulary[term] = self.vocabulary.get(term, 0) + 1
                    postings += 1
            status = "open" if i % 10 < 6 else "pending" if i % 10 < 8 else "resolved"
            recipient = (person.phone or "").lstrip("+") or person.email or str(person.telegram)
            meta = {**keys.conversation(conv_id), **keys.inbox_keys(status, None, updated, conv_id),
                    **keys.created_keys(created, conv_id), **keys.contact_conversations(contact_id),
                    "type": "conversation", "id": conv_id, "channel": person.channel, "inbox_id": "bench",
                    "contact_id": contact_id, "contact_name": person.name, "recipient": recipient, "status": status,
                    "labels": [], "created_at": created, "updated_at": updated, "last_inbound_at": updated,
                    "unread_count": 1, "subject": person.subject if person.channel == "email" else None,
                    "last_message": {"text": texts[-1][:200], "direction": "inbound", "created_at": updated},
                    "expires_at": expires}
            chunk += [_item(meta), _item({**keys.contact_conversation(contact_id, conv_id), "type":
                                          "contact_conversation", "conversation_id": conv_id,
                                          "channel": person.channel, "created_at": created})]
            last_activity[c] = max(last_activity.get(c, ""), updated)
            if len(chunk) >= 50_000:
                put_items(table_name, chunk)
                chunk = []
            if i and i % 20_000 == 0:
                log(f"  {i:,} conversations indexed ({time.perf_counter() - started:.0f} s)")
        for c, person in enumerate(persons):
            contact_id = contact_ids[c]
            handles = [str(person.telegram)] if person.telegram else []
            terms = search_text.contact_terms(person.name, [person.email] if person.email else [],
                                              [person.phone] if person.phone else [], handles)
            handle = f"telegram:{person.telegram}" if person.telegram else None
            shown = {"name": person.name, "email": person.email, "phone": person.phone, "handle": handle}
            chunk += [_item(index.contact_term_item(t, contact_id, shown, terms)) for t in terms]
            contact_terms += len(terms)
            at = last_activity.get(c) or clock.iso(now)
            chunk.append(_item({**keys.contact(contact_id), **keys.contact_activity(at, contact_id), "type": "contact",
                                "id": contact_id, "name": person.name, "email": person.email, "phone": person.phone,
                                "created_at": at, "last_activity_at": at, "search_terms": terms,
                                "search_name": person.name, "search_handle": handle or ""}))
            self.contacts.append({"name": person.name, "phone": person.phone, "email": person.email, "id": contact_id})
            if len(chunk) >= 50_000:
                put_items(table_name, chunk)
                chunk = []
        put_items(table_name, chunk)
        self.counts = {"conversations": self.n, "messages": self.n * MESSAGES_PER_CONVERSATION,
                       "customer_messages_indexed": customer_messages, "contacts": n_contacts,
                       "word_items": postings, "contact_term_items": contact_terms,
                       "distinct_words": len(self.vocabulary),
                       "word_items_per_customer_message": round(postings / max(customer_messages, 1), 3),
                       "word_items_per_conversation": round(postings / self.n, 2),
                       "largest_word_partitions": sorted(self.vocabulary.items(), key=lambda kv: -kv[1])[:8]}
        return time.perf_counter() - started

    # -- the queries agents type ---------------------------------------------------------------------------
    def contact_queries(self, n: int) -> list[str]:
        from switchboard import search_text

        rng, out = random.Random(41), []
        for _ in range(n):
            person = rng.choice(self.contacts)
            kind = rng.random()
            if kind < 0.5:  # a fragment of a name word, as typed (accents or not)
                word = rng.choice(person["name"].split())
                fragment = word[:rng.randint(3, max(3, min(6, len(word))))]
                out.append(fragment if rng.random() < 0.5 else search_text.fold(fragment))
            elif kind < 0.7:
                out.append(person["name"])
            elif kind < 0.9 and person["phone"]:
                digits = person["phone"][1:]
                national = search_text.phone_terms(person["phone"])[-1]
                out.append(rng.choice([f"+{digits[:3]} {digits[3:7]} {digits[7:]}", f"00{digits}",
                                       national[:rng.randint(4, len(national))]]))
            elif person["email"]:
                out.append(person["email"].split("@")[0][:rng.randint(4, 12)])
            else:
                out.append(person["name"].split()[-1][:4])
        return out

    def word_queries(self, n: int) -> list[str]:
        rng = random.Random(43)
        terms, weights = zip(*self.vocabulary.items(), strict=True)
        common = rng.choices(terms, weights=weights, k=int(n * 0.7))  # as often as they occur
        rare = rng.sample(terms, n - len(common))  # any word at all: mostly order numbers
        return common + rare


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 1) if ordered else 0.0


def measure(conversations: int, log_progress: Any = print) -> dict[str, Any]:
    with moto_stack() as stack, fast_moto():
        population = Population(conversations)
        seconds = population.build(stack.table_name, log_progress)
        log_progress(f"  populated {conversations:,} conversations ({population.counts['word_items']:,} word items, "
                     f"{population.counts['contact_term_items']:,} contact terms) in {seconds:.0f} s")
        forget_metrics()
        reset_caches()
        log = CallLog()
        log.attach_switchboard()
        out = OutputCapture()
        function, warm = stack.http_event("GET", "/api/search", role="agent", query="q=warm")
        with out.capture():
            stack.functions[function].invoke(warm)  # cold: imports, settings, clients
        log.take()
        with sorted_partitions():  # the queries write nothing: partitions are listed in order once
            runs = _queries(stack, function, population, log, out)
        directory = _directory(stack, function, log, out)
    return _summary(population, seconds, runs, directory)


def _queries(stack: Any, function: str, population: Population, log: CallLog, out: OutputCapture
             ) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    share = 1 if population.n >= 10_000 else 4  # a quick run (the smoke test's) asks fewer
    for kind, queries in (("contact", population.contact_queries(QUERIES["contact"] // share)),
                          ("word", population.word_queries(QUERIES["word"] // share))):
        for q in queries:
            _, event = stack.http_event("GET", "/api/search", role="agent", query=f"q={_quote(q)}")
            with out.capture():
                started = time.perf_counter()
                response = stack.functions[function].invoke(event)
                ms = (time.perf_counter() - started) * 1000
            calls = log.take()
            body = json.loads(response.get("body") or "{}")
            results = len(body.get("contacts", [])) + len(body.get("conversations", []))
            runs.append({"kind": kind, "ms": ms, "status": response.get("statusCode"), "results": results,
                         **items_read(calls), "requests": len(calls), "ops": by_operation(calls)})
    return runs


def _summary(population: Population, seconds: float, runs: list[dict[str, Any]], directory: dict[str, Any]
             ) -> dict[str, Any]:
    ok = [r for r in runs if r["status"] == 200]
    read, results = sum(r["items_read"] for r in ok), sum(r["results"] for r in ok)
    detail: dict[str, Any] = {"population": {**population.counts, "seconds": round(seconds, 1),
                                             "layout": " ".join((__doc__ or "").split())}}
    for kind in QUERIES:
        mine = [r for r in ok if r["kind"] == kind]
        kind_read, kind_results = sum(r["items_read"] for r in mine), sum(r["results"] for r in mine)
        detail[kind] = {"queries": len(mine), "p50_ms": _p([r["ms"] for r in mine], 0.5),
                        "p95_ms": _p([r["ms"] for r in mine], 0.95), "results": kind_results,
                        "items_read": kind_read, "items_read_per_result": round(kind_read / max(kind_results, 1), 3),
                        "queries_without_results": sum(1 for r in mine if not r["results"]),
                        "requests_per_query": round(statistics.mean(r["requests"] for r in mine), 2)}
    detail["errors"] = [r for r in runs if r["status"] != 200][:5]
    detail["directory"] = directory
    detail["note"] = ("results are the contacts plus the conversations a response lists; a conversation result is "
                      "its index item (the match, with its snippet) and its META item (the status, contact and "
                      "channel as they are now: one BatchGetItem for the page)")
    return {"search_p95_ms": _p([r["ms"] for r in ok], 0.95),
            "search_items_read_per_result": round(read / max(results, 1), 3),
            "search_detail": detail}


def _directory(stack: Any, function: str, log: CallLog, out: OutputCapture) -> dict[str, Any]:
    """One page of the contact directory (GET /api/contacts): a Query of GSI2's CONTACTS partition. moto answers an
    index Query by looking at every item of the table, so its time here says nothing of DynamoDB's."""
    _, event = stack.http_event("GET", "/api/contacts", role="agent", query="limit=50")
    with out.capture():
        started = time.perf_counter()
        response = stack.functions[function].invoke(event)
        ms = (time.perf_counter() - started) * 1000
    calls = log.take()
    returned = len(json.loads(response.get("body") or "{}").get("items", []))
    reads = items_read(calls)
    return {"status": response.get("statusCode"), "returned": returned, **reads,
            "items_read_per_item_returned": round(reads["items_read"] / max(returned, 1), 3), "moto_ms": round(ms)}


# -- the search index's line of cost_usd_per_million_messages (bench/cost.py) -----------------------------------
SEARCH_PREFIXES = ("TERM#", "LABEL#", "CTERM#")


@contextmanager
def timed_index(current_step: Any) -> Iterator[None]:
    """While active, the time the processor spends in the search index (services.search.on_inbound) is added to the
    step `current_step()` returns."""
    from switchboard.services import search as service

    original = service.on_inbound

    def on_inbound(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            step = current_step()
            if step is not None:
                step.search_ms += (time.perf_counter() - started) * 1000

    service.on_inbound = on_inbound  # timed for the bench
    try:
        yield
    finally:
        service.on_inbound = original  # restored


def _keys_of(call: Any) -> list[str]:
    """The partition keys a DynamoDB request names."""
    p = call.params
    if call.operation in ("GetItem", "PutItem", "UpdateItem", "DeleteItem"):
        return [(p.get("Key") or p.get("Item") or {}).get("pk", {}).get("S", "")]
    if call.operation == "BatchGetItem":
        return [k["pk"]["S"] for spec in p["RequestItems"].values() for k in spec["Keys"]]
    if call.operation == "BatchWriteItem":
        return [(r.get("PutRequest", {}).get("Item") or r.get("DeleteRequest", {}).get("Key"))["pk"]["S"]
                for reqs in p["RequestItems"].values() for r in reqs]
    if call.operation == "Query":
        return [v.get("S", "") for v in p.get("ExpressionAttributeValues", {}).values()][:1]
    return []


def is_search_request(call: Any) -> bool:
    """A request the search index made: its items (TERM#, LABEL#, CTERM#), the contact's index fields and directory
    keys on its profile, the consistent read of a contact's partition that reindexing it starts with."""
    if call.service != "dynamodb":
        return False
    keys_ = _keys_of(call)
    if keys_ and all(k.startswith(SEARCH_PREFIXES) for k in keys_):
        return True
    expression = call.params.get("UpdateExpression", "")
    if call.operation == "UpdateItem" and ("search_terms" in expression or "last_activity_at" in expression):
        return True
    return call.operation == "Query" and call.params.get("ConsistentRead") is True and \
        bool(keys_) and keys_[0].startswith("CONTACT#") and "begins_with" not in call.params["KeyConditionExpression"]


def _read_units(units: Any, call: Any) -> float:
    """As bench/cost.py counts them (a BatchGetItem key that finds nothing is billed too: most of the words a
    message is checked for are new)."""
    return float(units.rru(call))


def _message_growth_wru(call: Any) -> float:
    """A customer message item carries the words it gave the index: the write units that adds, if any."""
    from bench.cost import item_size

    if call.operation != "PutItem" or "search_terms" not in call.params.get("Item", {}):
        return 0.0
    item = call.params["Item"]
    without = {k: v for k, v in item.items() if k != "search_terms"}
    return float(max(1, -(-item_size(item) // 1024)) - max(1, -(-item_size(without) // 1024)))


def cost_line(lives: list[Any], units: Any, prices: dict[str, float]) -> dict[str, Any]:
    """The search index's cost in the measured lives, per unit as bench/cost.py counts them: the follow-up customer
    message (the contract's figure) and the conversation its first message opens."""
    from switchboard.store import keys

    life = lives[0]
    by_phase: dict[str, dict[str, float]] = {}
    for s, step in enumerate(life.steps):
        calls = [c for c in step.calls if is_search_request(c)]
        wru = sum(units.wru(c) for c in calls) + sum(_message_growth_wru(c) for c in step.calls)
        wru += sum(units.index_wru(c, keys.CONTACT_CONVERSATIONS) for c in step.calls)  # a contact's conversations
        rru = sum(_read_units(units, c) for c in calls)
        memory = next((i.memory_mb for i in step.invocations if i.function == "ProcessorFunction"), 512)
        ms = statistics.median(other.steps[s].search_ms for other in lives)
        gb_s = (ms / 1000) * memory / 1024 if ms else 0.0  # billed per ms: the time inside the handler's
        usd = wru * prices["dynamodb_wru"] + rru * prices["dynamodb_rru"] + gb_s * prices["lambda_gb_second_arm64"]
        phase = by_phase.setdefault(step.phase, {"wru": 0.0, "rru": 0.0, "ms": 0.0, "requests": 0, "usd": 0.0})
        phase["wru"] += wru
        phase["rru"] += rru
        phase["ms"] += ms
        phase["requests"] += len(calls)
        phase["usd"] += usd
    per_million = {phase: round(v["usd"] * 1e6, 3) for phase, v in by_phase.items()}
    message = per_million.get("follow-up", 0.0)
    return {
        "message": message,
        "conversation_opened": round(per_million.get("in", 0.0) + per_million.get("processed", 0.0), 3),
        "by_phase_usd_per_million": per_million,
        "by_phase": {k: {m: round(x, 3) if isinstance(x, float) else x for m, x in v.items() if m != "usd"}
                     for k, v in by_phase.items()},
        "what": "the search index's requests (its items, the contact's index fields and directory keys, the read "
                "of a contact's partition when it is reindexed) and the conversation's ContactIndex entry (written "
                "when it opens and when its status or labels change), priced as the rest of the life, plus the "
                "processor's time inside services.search.on_inbound (median of the lives) and any write unit the "
                "words recorded on the message item add",
        "assumption": "the life's follow-up message ('Any news?') brings one new word to its conversation; a "
                      "message bringing k new words writes k items (1 WRU each) after one BatchGetItem of its "
                      "words; see search_detail.population.word_items_per_customer_message for a corpus' k",
    }

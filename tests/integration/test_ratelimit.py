"""Rate limits of the public routes on moto, through the web chat function and the survey pages as API Gateway
invokes them: per visitor and per client address (API Gateway's sourceIp), 429 with Retry-After and a JSON error,
counted in DynamoDB (so every Lambda instance sees the same counts), windows that pass with the clock, counters that
expire and name no one."""

from __future__ import annotations

import base64
import json

from switchboard import clock
from switchboard.services import ratelimit
from tests.support.seeds import conversation, survey_token

SHOP = {"Origin": "https://shop.example.com", "Content-Type": "application/json"}
ALICE_IP, BOB_IP = "198.51.100.10", "203.0.113.20"


def session(stack, ip: str = ALICE_IP) -> str:
    r = stack.http("POST", "/webchat/sessions", {"name": "Visitor"}, SHOP, source_ip=ip)
    assert r.status == 201, r
    return r.json()["token"]


def say(stack, token: str, n: int, ip: str = ALICE_IP):
    return stack.http("POST", "/webchat/messages", {"client_message_id": f"msg-{token[-12:]}-{n:04d}", "text": "hi"},
                      {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}, source_ip=ip)


def refused(response) -> int:
    """The seconds a 429 asks the client to wait, after checking it is a 429 with Retry-After and a JSON error."""
    assert response.status == 429, response
    assert json.loads(response.body)["error"]["code"] == "rate_limited"
    wait = int(response.headers["Retry-After"])
    assert wait > 0
    return wait


def start_of_a_minute() -> None:
    """Move the clock to the start of a minute, so that a test's requests fall in one window."""
    clock.advance(60 - clock.epoch() % 60)


def test_a_visitor_over_the_limit_gets_429_and_others_are_unaffected(stack):
    start_of_a_minute()
    alice, bob_same_network = session(stack), session(stack)
    for n in range(20):  # the default: 20 messages a minute per visitor
        assert say(stack, alice, n).status == 201
    wait = refused(say(stack, alice, 20))
    assert wait <= 60
    assert refused(say(stack, alice, 21)) <= wait  # and still, until the window ends
    assert say(stack, bob_same_network, 0).status == 201  # another visitor behind the same address
    assert say(stack, session(stack, BOB_IP), 0, BOB_IP).status == 201  # another address
    clock.advance(wait)
    assert say(stack, alice, 22).status == 201  # the window has passed
    stack.drain("ProcessorFunction")
    texts = [m for c in stack.http("GET", "/api/conversations", role="agent").json()["items"]
             for m in stack.http("GET", f"/api/conversations/{c['id']}/messages", role="agent").json()["items"]]
    assert len(texts) == 20 + 1 + 1 + 1  # what was refused was never stored


def test_a_visitor_has_an_hourly_limit_too(stack, settings_env):
    settings_env(WEBCHAT_VISITOR_MESSAGES_PER_MINUTE="100", WEBCHAT_VISITOR_MESSAGES_PER_HOUR="3")
    clock.advance(3600 - clock.epoch() % 3600)  # the start of an hour
    token = session(stack)
    for n in range(3):
        assert say(stack, token, n).status == 201
    wait = refused(say(stack, token, 3))
    assert 3000 < wait <= 3600  # until the hour ends
    clock.advance(wait)
    assert say(stack, token, 4).status == 201


def test_an_address_has_a_message_limit_whoever_the_visitor(stack, settings_env):
    settings_env(WEBCHAT_ADDRESS_MESSAGES_PER_MINUTE="5")
    start_of_a_minute()
    visitors = [session(stack) for _ in range(6)]
    for n, token in enumerate(visitors[:5]):
        assert say(stack, token, n).status == 201
    refused(say(stack, visitors[5], 0))  # a new visitor, the same address
    assert say(stack, session(stack, BOB_IP), 0, BOB_IP).status == 201


def test_an_address_opens_at_most_so_many_chats_an_hour(stack):
    clock.advance(3600 - clock.epoch() % 3600)
    for _ in range(20):  # the default: 20 new sessions an hour per address
        session(stack)
    wait = refused(stack.http("POST", "/webchat/sessions", {}, SHOP, source_ip=ALICE_IP))
    assert 3500 < wait <= 3600
    session(stack, BOB_IP)  # nobody else is blocked: the limit is the address's, not the route's
    # An IPv6 client is one by its /64: rotating the rest of the address does not reset its count.
    for n in range(20):
        session(stack, f"2001:db8:1:2::{n:x}")
    refused(stack.http("POST", "/webchat/sessions", {}, SHOP, source_ip="2001:db8:1:2:ffff::1"))
    session(stack, "2001:db8:1:3::1")
    clock.advance(wait)
    session(stack)


def test_the_counts_hold_across_instances_and_the_counters_expire_naming_no_one(stack, settings_env):
    from tests.conftest import reset_caches

    start_of_a_minute()
    settings_env(WEBCHAT_VISITOR_MESSAGES_PER_MINUTE="2")
    token = session(stack)
    assert say(stack, token, 0).status == 201
    reset_caches()  # a new execution environment: no memory of the first, only the table's counts
    assert say(stack, token, 1).status == 201
    refused(say(stack, token, 2))
    counters = stack.items("RATE#")
    assert counters and all(c["expires_at"] > clock.epoch() for c in counters)
    now = clock.epoch()
    hour_end = now - now % 3600 + 3600
    assert all(c["expires_at"] == hour_end + ratelimit.EXPIRY_SLACK for c in counters)  # the table's TTL attribute
    visitor_id = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "==="))["v"]
    dump = json.dumps(counters)
    assert ALICE_IP not in dump and visitor_id not in dump  # keyed hashes, never the address or the visitor id
    assert all(set(c) <= {"pk", "sk", "expires_at"} | {k for k in c if k.startswith(("message_", "session_"))}
               for c in counters)


def test_the_survey_pages_are_limited_per_address(stack, settings_env):
    settings_env(SURVEY_ADDRESS_PAGES_PER_MINUTE="3", SURVEY_ADDRESS_POSTS_PER_MINUTE="2")
    start_of_a_minute()
    conv = conversation(stack, "wamid.rl.1", "15550000501")
    token = survey_token(stack, conv["id"])
    clock.advance(3600)
    start_of_a_minute()
    for _ in range(3):
        assert stack.http("GET", f"/survey/{token}", query="rating=4", source_ip=ALICE_IP).status == 200
    page = stack.http("GET", f"/survey/{token}", query="rating=4", source_ip=ALICE_IP)
    assert page.status == 429 and int(page.headers["Retry-After"]) > 0 and "Too many requests" in page.body
    assert stack.http("GET", f"/survey/{token}", query="rating=4", source_ip=BOB_IP).status == 200
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for _ in range(2):
        assert stack.http("POST", f"/survey/{token}", b"rating=5", form, source_ip=ALICE_IP).status == 200
    posted = stack.http("POST", f"/survey/{token}", b"comment=spam", form, source_ip=ALICE_IP)
    assert posted.status == 429 and int(posted.headers["Retry-After"]) > 0
    (record,) = [i for i in stack.items(f"CONV#{conv['id']}") if i["sk"] == "SURVEY#r1"]
    assert "comment" not in record  # the refused comment was not stored

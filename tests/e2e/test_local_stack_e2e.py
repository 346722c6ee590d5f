"""The local stack's front and its functions' logs, as API Gateway and Lambda would have them: every method gets an
API Gateway answer (never http.server's 501), a malformed token a 401, and every log line names its function."""

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid
from collections import defaultdict
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import SECRETS, LocalStack
from tests.integration.test_whatsapp_flow import wa_message, wa_payload

PATHS = ["/api/health", "/api/conversations", "/webhooks/whatsapp", "/webchat/messages", "/", "/index.html", "/nope"]


@pytest.mark.parametrize("method", ["PROPFIND", "TRACE", "FOO", "CONNECTX", "MKCOL"])
def test_a_method_api_gateway_does_not_know_gets_a_json_404_or_405(local_stack, method):
    for path in PATHS:
        reply = local_stack.request(method, path)
        assert reply.status in (404, 405), f"{method} {path}: {reply.status}"
        assert reply.json() == {"message": "Not Found" if reply.status == 404 else "Method Not Allowed"}


def test_a_route_that_does_not_exist_is_a_json_404(local_stack):
    for method, path in (("GET", "/webhooks/nope"), ("DELETE", "/webhooks/whatsapp"), ("GET", "/nope"),
                         ("PUT", "/webchat/sessions")):
        reply = local_stack.request(method, path)
        assert (reply.status, reply.json()) == (404, {"message": "Not Found"}), f"{method} {path}"


@pytest.mark.parametrize("length", ["-5", "abc", "1e3"])
def test_a_bad_content_length_is_a_400(local_stack, length):
    connection = http.client.HTTPConnection(urlsplit(local_stack.base).netloc, timeout=10)
    connection.putrequest("POST", "/api/health")
    connection.putheader("Content-Length", length)
    connection.endheaders()
    reply = connection.getresponse()
    assert (reply.status, json.loads(reply.read())) == (400, {"message": "Bad Request"})


def test_a_chunked_body_is_read(local_stack):
    connection = http.client.HTTPConnection(urlsplit(local_stack.base).netloc, timeout=10)
    connection.request("POST", "/_local/token", body=iter([b'{"email": "chunk@example.com",', b' "role": "agent"}']),
                       headers={"Content-Type": "application/json"}, encode_chunked=True)
    reply = connection.getresponse()
    assert reply.status == 200 and json.loads(reply.read())["token"]


def test_the_clock_moves_for_every_function(local_stack):
    # Each function runs in its own process: the stack sends its clock with every invocation
    moved = local_stack.request("POST", "/_local/clock", {"advance_seconds": 90}).json()
    me = local_stack.api("GET", "/api/me").json()
    api_now = time.mktime(time.strptime(me["now"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert abs(api_now - moved["epoch"]) < 30
    assert api_now - time.time() > 60  # ahead of the real clock, as the stack's is


@pytest.mark.parametrize("token", ["a.b", "a.b.c.d", "%%%.%%%.%%%", "ä.ö.ü", "eyJ9.eyJ9.x", "Ünïcödé"])
def test_a_malformed_token_is_a_401(local_stack, token):
    reply = local_stack.request("GET", "/api/conversations", headers={"Authorization": f"Bearer {token}"})
    assert (reply.status, reply.json()) == (401, {"message": "Unauthorized"})


def test_every_log_line_names_the_function_that_wrote_it(local_stack):
    # Given two webhook functions called at once, many times, and the processor working through what they enqueue
    s: LocalStack = local_stack
    start, runs = s.log_size(), 12
    texts = {"whatsapp": [f"wa {uuid.uuid4().hex[:8]}" for _ in range(runs)],
             "telegram": [f"tg {uuid.uuid4().hex[:8]}" for _ in range(runs)]}

    def whatsapp() -> None:
        for text in texts["whatsapp"]:
            sender = "3712" + str(uuid.uuid4().int)[:7]
            assert s.post_meta("whatsapp", wa_payload(wa_message(f"wamid.{uuid.uuid4().hex}", sender=sender, text=text),
                                                      sender=sender)).status == 200

    def telegram() -> None:
        for text in texts["telegram"]:
            chat = int(uuid.uuid4().hex[:8], 16)
            update = {"update_id": chat, "message": {"message_id": 1, "from": {"id": chat, "first_name": "Ilze"},
                                                     "chat": {"id": chat, "type": "private"},
                                                     "date": int(time.time()), "text": text}}
            assert s.request("POST", "/webhooks/telegram", json.dumps(update).encode(), {
                "Content-Type": "application/json",
                "X-Telegram-Bot-Api-Secret-Token": SECRETS["TELEGRAM_SECRET_TOKEN"]}).status == 200

    threads = [threading.Thread(target=whatsapp), threading.Thread(target=telegram)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    def records() -> list[dict]:
        return [json.loads(line) for line in s.log_lines(start) if line.startswith('{"level"')]

    def processed() -> list[dict]:
        done = [r for r in records() if r.get("message") == "inbound processed" and r.get("channel") in texts]
        return done if len(done) >= 2 * runs else []

    assert s.wait_for(processed, 60), "not every message was processed"
    lines = records()
    # Then each webhook line is its own function's, with a correlation id of its own request
    accepted = defaultdict(list)
    for line in lines:
        if line.get("message") == "webhook accepted":
            accepted[line["channel"]].append(line)
    assert {line["function_name"] for line in accepted["whatsapp"]} == {"WhatsAppWebhookFunction"}
    assert {line["function_name"] for line in accepted["telegram"]} == {"TelegramWebhookFunction"}
    ids = {channel: {line["correlation_id"] for line in found} for channel, found in accepted.items()}
    assert len(ids["whatsapp"]) == len(accepted["whatsapp"]) == runs
    assert len(ids["telegram"]) == len(accepted["telegram"]) == runs
    # and the processor's lines carry the correlation id of the request that brought their message
    for channel in ("whatsapp", "telegram"):
        mine = [line for line in lines if line.get("message") == "inbound processed"
                and line.get("correlation_id") in ids[channel]]
        assert len(mine) == runs
        assert all(line["function_name"] == "ProcessorFunction" and line["channel"] == channel for line in mine)
    # and no invocation's lines are spread over two functions
    functions_of = defaultdict(set)
    for line in lines:
        functions_of[line.get("function_request_id")].add(line.get("function_name"))
    assert all(len(names) == 1 for names in functions_of.values())

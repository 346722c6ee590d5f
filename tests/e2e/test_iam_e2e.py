"""Least privilege, proven locally: the local stack runs each function with its own role from the template, so a
role that lacks a statement fails its function exactly where AWS would, and the template's own roles allow every
call the product makes."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from infra.local.template import load
from tests.conftest import ROOT
from tests.e2e.conftest import SECRETS, LocalStack, running_stack
from tests.integration.test_whatsapp_flow import wa_message, wa_payload


def without_statement(template: dict, role: str, sid: str) -> None:
    statements = template["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    kept = [s for s in statements if s.get("Sid") != sid]
    assert len(kept) == len(statements) - 1, f"{role} has no statement {sid}"
    statements[:] = kept


@contextmanager
def stack_without(tmp_path_factory, name: str, *statements: tuple[str, str]) -> Iterator[LocalStack]:
    """The local stack on a copy of template.yaml without these (role, Sid) statements (the copy sits beside links
    to the code, which SAM reads relative to the template)."""
    root = tmp_path_factory.mktemp(name)
    template = load(ROOT / "template.yaml")  # intrinsics in their long form: JSON is YAML too
    for role, sid in statements:
        without_statement(template, role, sid)
    (root / "template.yaml").write_text(json.dumps(template))
    for folder in ("functions", "layers"):
        (root / folder).symlink_to(ROOT / folder)
    with running_stack(LOCAL_TEMPLATE=str(root / "template.yaml")) as stack:
        yield stack


@pytest.fixture(scope="module")
def narrowed(tmp_path_factory):
    """The stack on a copy of template.yaml whose WhatsApp webhook may not enqueue and whose processor may not
    touch the table (the copy sits beside links to the code, which SAM reads relative to the template)."""
    with stack_without(tmp_path_factory, "narrowed", ("WhatsAppWebhookRole", "Enqueue"), ("ProcessorRole", "Store")) \
            as stack:
        yield stack


@pytest.fixture(scope="module")
def without_push(tmp_path_factory):
    """The stack on a copy of template.yaml whose processor may not post to the WebSocket API's @connections."""
    with stack_without(tmp_path_factory, "without-push", ("ProcessorRole", "PushToApps")) as stack:
        yield stack


@pytest.fixture(scope="module")
def transcripts_unreadable(tmp_path_factory):
    """issue 17: the stack on a copy of template.yaml whose TranscriptsFunction may not read Transcribe's output: a
    job's end fails its three invocations, as an event EventBridge never delivers is lost to it."""
    with stack_without(tmp_path_factory, "transcripts-unreadable", ("TranscriptsRole", "ReadTranscripts")) as stack:
        yield stack


def telegram_update(text: str) -> tuple[bytes, dict[str, str]]:
    chat = int(uuid.uuid4().hex[:8], 16)
    update = {"update_id": chat, "message": {"message_id": 1, "from": {"id": chat, "is_bot": False, "first_name": "Ilze"},
                                             "chat": {"id": chat, "type": "private"}, "date": int(time.time()),
                                             "text": text}}
    return json.dumps(update).encode(), {"Content-Type": "application/json",
                                         "X-Telegram-Bot-Api-Secret-Token": SECRETS["TELEGRAM_SECRET_TOKEN"]}


def denials(stack: LocalStack, since: int = 0) -> list[str]:
    return [line for line in stack.log_lines(since) if "AccessDenied" in line]


def test_a_webhook_whose_role_may_not_enqueue_answers_5xx_and_the_denial_is_logged(narrowed):
    # Given the narrowed template, enforced
    assert narrowed.request("GET", "/_local/iam").json()["enforced"] is True
    start = narrowed.log_size()
    sender = "3712" + str(uuid.uuid4().int)[:7]
    # When Meta posts a signed message
    reply = narrowed.post_meta("whatsapp", wa_payload(wa_message(f"wamid.{uuid.uuid4().hex}", sender=sender),
                                                      sender=sender))
    # Then the webhook answers 5xx (Meta retries), because SQS refused its SendMessage
    assert reply.status == 503, reply.body
    (line, *_) = narrowed.wait_for(lambda: denials(narrowed, start), 10)
    assert "WhatsAppWebhookFunction (role switchboard-local-WhatsAppWebhookRole)" in line
    assert "is not authorized to perform: sqs:SendMessage on resource: arn:aws:sqs:" in line
    assert "switchboard-local-InboundQueue" in line


def test_a_processor_whose_role_may_not_touch_the_table_processes_nothing(narrowed):
    start = narrowed.log_size()
    text = f"kur ir paka {uuid.uuid4().hex[:8]}"
    body, headers = telegram_update(text)
    # When a message arrives on a channel whose webhook keeps its role
    assert narrowed.request("POST", "/webhooks/telegram", body, headers).status == 200
    # Then the processor is refused by DynamoDB, says so, and nothing reaches the inbox
    found = narrowed.wait_for(lambda: [d for d in denials(narrowed, start) if "ProcessorFunction" in d], 20)
    assert found and "is not authorized to perform: dynamodb:" in found[0]
    assert ":table/switchboard-local-Table" in found[0]
    failed = narrowed.wait_for(lambda: [json.loads(line) for line in narrowed.log_lines(start)
                                        if '"inbound record failed"' in line], 10)
    assert failed and all(f["function_name"] == "ProcessorFunction" for f in failed)
    time.sleep(1)
    assert not [c for c in narrowed.conversations() if c["channel"] == "telegram"]


def test_a_processor_whose_role_may_not_post_to_connections_stores_the_message_but_its_push_is_refused(without_push):
    from tests.e2e.test_live_e2e import agent_socket, next_event, no_event

    s = without_push
    with agent_socket(s, "ann@example.com") as ws:
        start = s.log_size()
        sender = "3713" + str(uuid.uuid4().int)[:7]
        wamid = f"wamid.{uuid.uuid4().hex}"
        # When a customer writes
        assert s.post_meta("whatsapp", wa_payload(wa_message(wamid, sender=sender), sender=sender)).status == 200
        conv = s.wait_for(lambda: next((c for c in s.conversations() if c["channel"] == "whatsapp"), None))
        # Then the message is stored all the same, but API Gateway (here, the stack) refused the processor's push
        assert conv, "the message was not processed"
        (line, *_) = s.wait_for(lambda: [d for d in denials(s, start) if "ProcessorFunction" in d], 10)
        assert "is not authorized to perform: execute-api:ManageConnections on resource: arn:aws:execute-api:" in line
        assert "/POST/@connections/" in line
        no_event(ws, lambda e: e.get("type") == "message.created" and e.get("conversation_id") == conv["id"]
                 and e.get("direction") == "inbound", wait=2)
        # while a function whose role keeps the statement still reaches the app (an agent's note: the agent API)
        assert s.api("POST", f"/api/conversations/{conv['id']}/notes", {"text": "seen"}).status == 201
        next_event(ws, lambda e: e.get("type") == "message.created" and e.get("conversation_id") == conv["id"]
                   and e.get("note"), timeout=10)
    assert not [d for d in denials(s, start) if "AgentApiFunction" in d]


def test_the_templates_own_roles_allow_every_call_of_a_message_in_and_a_reply_out(local_stack):
    from tests.e2e.test_live_e2e import agent_socket, every_event

    s = local_stack
    status = s.request("GET", "/_local/iam").json()
    assert status["enforced"] is True
    assert status["roles"]["ProcessorFunction"].endswith(":role/switchboard-local-ProcessorRole")
    with agent_socket(s, "iam@example.com") as ws:  # so that every function that pushes posts to @connections
        start = s.log_size()
        text = f"sveiki {uuid.uuid4().hex[:8]}"
        body, headers = telegram_update(text)
        assert s.request("POST", "/webhooks/telegram", body, headers).status == 200

        def landed():
            return next((c for c in s.conversations() if c["channel"] == "telegram"
                         and any(m["text"] == text for m in s.messages(c["id"]))), None)

        conv = s.wait_for(landed)
        assert conv, "the message was not processed"
        assert s.api("POST", f"/api/conversations/{conv['id']}/messages", {"text": "labdien"}).status == 202
        assert s.wait_for(lambda: any(m["text"] == "labdien" and m["status"] == "sent"
                                      for m in s.messages(conv["id"])))
        every_event(ws, lambda e: e.get("type") == "message.created" and e.get("conversation_id") == conv["id"]
                    and e.get("direction") == "inbound",  # the processor's
                    lambda e: e.get("type") == "message.created" and e.get("conversation_id") == conv["id"]
                    and e.get("direction") == "outbound",  # the agent API's
                    lambda e: e.get("type") == "message.updated" and e.get("conversation_id") == conv["id"])  # sender
    assert denials(s, start) == []


def test_a_transcript_whose_event_failed_is_stored_by_timers_with_a_role_that_allows_every_call(
        transcripts_unreadable):
    from infra.local.sandbox import TRANSCRIPT
    from tests.e2e.test_voicemail_e2e import caller, script

    s = transcripts_unreadable
    start = s.log_size()
    # Given a voicemail whose job's end TranscriptsFunction failed (S3 refused it the output, three times)
    assert script(s, "--from", caller()).returncode == 0

    def voicemail():
        return next(((c, m) for c in s.conversations(channel="voice") for m in s.messages(c["id"])
                     if m["type"] == "audio"), None)

    found = s.wait_for(voicemail, 30)
    assert found, "the voicemail did not land"
    conv, _ = found
    refused = s.wait_for(lambda: [d for d in denials(s, start) if "TranscriptsFunction" in d], 30)
    assert refused and "is not authorized to perform: s3:GetObject" in refused[0]
    assert next(m for m in s.messages(conv["id"]) if m["type"] == "audio")["transcript_status"] == "pending"
    # When TimersFunction runs 15 minutes on (with its own role)
    s.request("POST", "/_local/clock", {"advance_seconds": 15 * 60 + 1})
    assert s.request("POST", "/_local/run/TimersFunction", b"").status == 200
    # Then it asked Transcribe, read the output and stored the words, with no call refused
    msg = s.wait_for(lambda: next((m for m in s.messages(conv["id"]) if m.get("transcript")), None), 10)
    assert msg and (msg["transcript"], msg["transcript_status"]) == (TRANSCRIPT, "completed")
    assert not [d for d in denials(s, start) if "TimersFunction" in d]

"""Comments (issue 17) through the local stack, as a new user tries it: a signed page-comment webhook (the README's
send-webhook command) shows as a comment conversation with its post; the agent answers publicly, then privately,
and hides a spam comment; the sandbox records each Graph call. A forged comment webhook is refused."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from tests.conftest import ROOT
from tests.e2e.conftest import SECRETS

SCRIPT = ROOT / "infra" / "scripts" / "send-webhook.py"


def send(s, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, **SECRETS)
    return subprocess.run([sys.executable, str(SCRIPT), "--url", s.base, "messenger", "--comment", *args], env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def test_a_page_comment_answered_publicly_then_privately_and_spam_hidden(local_stack):
    s, tag = local_stack, uuid.uuid4().hex[:8]
    post, user = f"POST{tag}", f"24{uuid.uuid4().int % 10**13:013d}"
    first = f"100000000000001_{post}_1"
    assert send(s, "--post", post, "--id", first, "--from", user, "--name", "Lea Berg",
                "--text", "Is the blue one back in stock?").returncode == 0
    assert send(s, "--post", post, "--id", f"{first}_spam", "--parent", first, "--from", f"{user}9",
                "--text", "CHEAP FOLLOWERS click here").returncode == 0

    def thread():
        for conv in s.conversations(channel="messenger", limit="100"):
            if conv.get("kind") == "comment":
                items = s.messages(conv["id"])
                if any(m["text"].startswith("Is the blue one") for m in items) and len(items) == 2:
                    return conv, items
        return None

    found = s.wait_for(thread, 30)
    assert found, "the comment thread did not land"
    conv, items = found
    question = next(m for m in items if m["comment_id"] == first)  # both came within the same second
    detail = s.api("GET", f"/api/conversations/{conv['id']}").json()
    assert detail["post"]["permalink"].endswith(post) and detail["post"]["text"]
    # Public, then private
    url = f"/api/conversations/{conv['id']}/messages"
    assert s.api("POST", url, {"text": "Yes, back since Monday!", "visibility": "public"}).status == 202
    assert s.api("POST", url, {"text": "Want me to reserve one?", "visibility": "private",
                               "reply_to": question["id"]}).status == 202
    again = s.api("POST", url, {"text": "Again", "visibility": "private", "reply_to": question["id"]})
    assert again.status == 409

    def sent():
        out = [m for m in s.messages(conv["id"]) if m["direction"] == "outbound"]
        return out if len(out) == 2 and all(m["status"] == "sent" for m in out) else None

    assert s.wait_for(sent, 30), "the replies were not sent"
    # The spam reply is hidden
    spam = next(m for m in items if m["text"].startswith("CHEAP"))
    hidden = s.api("POST", f"{url}/{spam['id']}/moderate", {"action": "hide"})
    assert hidden.status == 200 and hidden.json()["hidden"] is True
    calls = [(o["method"], o["url"].split("/_sandbox/messenger", 1)[1].split("/", 2)[-1], o["body"])
             for o in s.request("GET", "/_local/outbox").json()["items"] if post in o["url"] or
             (isinstance(o["body"], dict) and post in str(o["body"]))]
    assert ("POST", f"{first}/comments", {"message": "Yes, back since Monday!"}) in calls
    assert any(c[2] == {"recipient": {"comment_id": first}, "message": {"text": "Want me to reserve one?"}}
               for c in calls)
    assert ("POST", f"{first}_spam", {"is_hidden": True}) in calls
    # A forged comment webhook is refused
    forged = s.request("POST", "/webhooks/messenger", b'{"object":"page","entry":[]}',
                       {"Content-Type": "application/json", "X-Hub-Signature-256": "sha256=" + "0" * 64})
    assert forged.status == 401

"""infra/scripts/send-webhook.py: the walk-through's signed example for every channel lands as a conversation."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import SECRETS

SCRIPT = ROOT / "infra" / "scripts" / "send-webhook.py"
SENDERS = {"whatsapp": lambda u: f"1555{u % 10**7:07d}", "messenger": lambda u: f"24{u % 10**14:014d}",
           "instagram": lambda u: f"17{u % 10**14:014d}", "telegram": lambda u: str(700000000 + u % 10**8),
           "sms": lambda u: f"+1555{u % 10**7:07d}", "email": lambda u: f"ann{u % 10**6}@example.org",
           "webchat": lambda u: None}


def run(*args: str, base: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, **SECRETS, PUBLIC_BASE_URL=base)
    return subprocess.run([sys.executable, str(SCRIPT), "--url", base, *args], env=env, capture_output=True,
                          text=True, timeout=60, check=False)


def test_help_describes_every_channel():
    out = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, check=True).stdout
    assert "usage:" in out and all(channel in out for channel in SENDERS)


@pytest.mark.parametrize("channel", list(SENDERS))
def test_each_channel_example_is_accepted_and_lands(local_stack, channel):
    text = f"script example {uuid.uuid4().hex[:8]}"
    sender = SENDERS[channel](uuid.uuid4().int)
    result = run(channel, "--text", text, *(["--from", sender] if sender else []), base=local_stack.base)
    assert result.returncode == 0 and result.stdout[:1] == "2", result.stdout + result.stderr

    def landed():
        for conv in local_stack.conversations(channel=channel):
            if any(m["text"] == text for m in local_stack.messages(conv["id"])):
                return conv
        return None

    assert local_stack.wait_for(landed, timeout=30), f"the {channel} example did not land"


def test_print_shows_the_signed_request_without_sending(local_stack):
    result = run("whatsapp", "--print", base=local_stack.base)
    assert result.returncode == 0 and "X-Hub-Signature-256: sha256=" in result.stdout

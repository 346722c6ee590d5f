"""Fixtures shared by every test tier: settings from a clean environment, the clock, caches reset."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers" / "shared"))

from switchboard import aws, clock, observability  # noqa: E402
from switchboard.channels import http, registry  # noqa: E402
from switchboard.settings import get_settings  # noqa: E402

TEST_SECRETS = {
    "META_APP_SECRET": "test-meta-secret",
    "META_VERIFY_TOKEN": "test-verify-token",
    "WHATSAPP_ACCESS_TOKEN": "test-whatsapp-token",
    "MESSENGER_PAGE_TOKEN": "test-page-token",
    "INSTAGRAM_ACCESS_TOKEN": "test-instagram-token",
    "TELEGRAM_SECRET_TOKEN": "test-telegram-secret",
    "TELEGRAM_BOT_TOKEN": "123:test-bot-token",
    "TWILIO_AUTH_TOKEN": "test-twilio-token",
    "TWILIO_ACCOUNT_SID": "AC00000000000000000000000000000001",
    "WEBCHAT_TOKEN_SECRET": "test-webchat-secret",
    "PUBLIC_BASE_URL": "https://hooks.example.com",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}


# What template.yaml's Globals give every function (a function without one fails at its first use): tests that
# reach AWS (moto) set their own, or the integration stack's.
TEST_INFRASTRUCTURE = {
    "TABLE_NAME": "switchboard",
    "MEDIA_BUCKET": "switchboard-media",
    "INBOUND_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/switchboard-inbound",
    "OUTBOUND_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/switchboard-outbound.fifo",
}


def reset_caches() -> None:
    get_settings.cache_clear()
    registry.get.cache_clear()
    http.session.cache_clear()
    aws.reset()
    observability.forget()
    from switchboard.services import inboxes  # the directory's brief cache (issue 14)

    inboxes.forget()
    from switchboard.services import rules  # issue 19: the rules' brief cache

    rules.forget()
    from switchboard.store import reports  # reports: the business time zone's brief cache (issue 16)

    reports.forget_zone()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch):
    """Every test starts from the test secrets, no AWS endpoint of the developer's, and the real clock."""
    for key in list(os.environ):
        if key.startswith(("AWS_ENDPOINT_URL", "AWS_PROFILE")):
            monkeypatch.delenv(key, raising=False)
    for key, value in (TEST_SECRETS | TEST_INFRASTRUCTURE).items():
        monkeypatch.setenv(key, value)
    reset_caches()
    clock.reset()
    yield
    clock.reset()
    reset_caches()


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch):
    """settings_env(NAME=value, ...) changes settings for one test."""

    def apply(**values: str) -> None:
        for key, value in values.items():
            monkeypatch.setenv(key, value)
        reset_caches()

    return apply

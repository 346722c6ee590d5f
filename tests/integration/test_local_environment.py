"""The local stack's environment: template values, local secrets, and the parameters a developer sets."""

from __future__ import annotations

import subprocess
import sys

from infra.local.stack import local_environment
from tests.conftest import ROOT, TEST_SECRETS


def test_recipient_domains_and_widget_origins_come_from_the_developers_environment(stack):
    # Given the template's defaults (empty: any recipient, any origin)
    defaults = local_environment(stack.functions, stack.sandbox, "http://127.0.0.1:3000", TEST_SECRETS)
    assert defaults["EMAIL_RECIPIENT_DOMAINS"] == "" and defaults["WEBCHAT_ALLOWED_ORIGINS"] == ""
    # When a developer sets them, as the README says they may
    chosen = local_environment(stack.functions, stack.sandbox, "http://127.0.0.1:3000",
                               TEST_SECRETS | {"EMAIL_RECIPIENT_DOMAINS": "acme.test",
                                               "WEBCHAT_ALLOWED_ORIGINS": "https://shop.example"})
    # Then the functions see them, not the template's empty defaults
    assert chosen["EMAIL_RECIPIENT_DOMAINS"] == "acme.test"
    assert chosen["WEBCHAT_ALLOWED_ORIGINS"] == "https://shop.example"


def test_the_sdk_backoff_scale_shortens_the_waits_between_the_same_retries():
    script = """
from types import SimpleNamespace
from botocore.retries import standard
from infra.local.stack import scale_sdk_backoff

backoff = standard.ExponentialBackoff(random=lambda: 1.0)
context = SimpleNamespace(attempt_number=3, http_response=None)
before = backoff.delay_amount(context)
scale_sdk_backoff(0.02)
scale_sdk_backoff(0.02)  # once only, however often the stack starts
print(before, backoff.delay_amount(context))
"""
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    before, after = map(float, out.split())
    assert before > 0 and after == before * 0.02

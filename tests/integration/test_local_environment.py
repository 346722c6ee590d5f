"""The local stack's environment: template values, local secrets, and the parameters a developer sets."""

from __future__ import annotations

from infra.local.stack import local_environment
from tests.conftest import TEST_SECRETS


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

"""Property-based fuzzing of the agent API from its own OpenAPI document (schemathesis), over the local stack.

Every operation gets a bounded, derandomized run of positive and negative examples with an admin token: bad
input must come back as a 4xx, never a 5xx, and responses must match the document.
"""

from __future__ import annotations

import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.test_whatsapp_flow import wa_message, wa_payload

MAX_EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="session")
def seeded_stack(local_stack):
    """The stack with at least one conversation in it, so the generators have real data around."""
    s = local_stack
    sender = "3713" + str(uuid.uuid4().int)[:7]
    tag = uuid.uuid4().hex[:8]
    payload = wa_payload(wa_message(f"wamid.{tag}.1", sender=sender, text="Fuzz me, please"), sender=sender,
                         name="Schema Thesis")
    assert s.post_meta("whatsapp", payload).status == 200
    conv = s.wait_for(lambda: next((c for c in s.conversations() if c["contact"]["name"] == "Schema Thesis"), None))
    assert conv, "the seeded WhatsApp conversation never landed"
    s.seeded = {"conversation_id": conv["id"], "contact_id": conv["contact"]["id"]}
    return s


@pytest.fixture(scope="session")
def api_document(seeded_stack) -> dict:
    r = seeded_stack.request("GET", "/api/openapi.json")
    assert r.status == 200
    return r.json()


@pytest.fixture(scope="session")
def api_schema(seeded_stack, api_document):
    schema = schemathesis.openapi.from_dict(api_document)
    schema.config.update(base_url=seeded_stack.base, request_timeout=30)
    # the admin token goes in as a fixed header; generated (or negated) Authorization values would only ever
    # meet the gateway's 401 and hide the inputs behind it
    schema.config.generation.update(with_security_parameters=False)
    return schema


def fuzz(operation, mode: GenerationMode, headers: dict[str, str], path_parameters: dict | None = None) -> None:
    """Run one operation's bounded property test; raises (unshrunk) on the first failing example."""

    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    @settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case):
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


@pytest.mark.parametrize("target", ["positive", "negative", "seeded"])
def test_the_agent_api_never_answers_a_5xx_and_keeps_to_its_document(api_schema, seeded_stack, target):
    """positive/negative: every operation with generated (mostly unknown) ids; seeded: the operations on one
    conversation or contact, pinned to the seeded ones so bodies, cursors and queries reach real data."""
    mode = GenerationMode.NEGATIVE if target == "negative" else GenerationMode.POSITIVE
    headers = {"Authorization": f"Bearer {seeded_stack.token('admin')}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 15
    pinned: dict[str, dict] = {}
    if target == "seeded":  # erasing the seeded contact would leave nothing to reach
        for op in operations:
            names = {p.name for p in op.path_parameters}
            if names and names <= set(seeded_stack.seeded) and op.label != "DELETE /api/contacts/{contact_id}":
                pinned[op.label] = {n: seeded_stack.seeded[n] for n in names}
        assert len(pinned) >= 10
        operations = [op for op in operations if op.label in pinned]
    settings_before = seeded_stack.api("GET", "/api/settings", role="admin").json()
    failures = []
    for operation in operations:
        try:
            fuzz(operation, mode, headers, pinned.get(operation.label))
        except Unsatisfiable:
            assert target == "negative"  # nothing to get wrong (GET /api/health has no inputs)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect every failure, report them together
            failures.append(f"{operation.label}:\n{exc}")
    # PUT /api/settings may have merged a generated partial document: put the stack's settings back for the
    # tests that run after this one on the same session stack
    restored = seeded_stack.api("PUT", "/api/settings", settings_before, role="admin")
    assert restored.status == 200, restored.body
    assert not failures, "\n\n".join(failures)


def test_the_document_covers_every_route_and_declares_bearer_auth(api_document):
    paths = api_document["paths"]
    for path in ("/api/conversations", "/api/conversations/{conversation_id}", "/api/canned-responses",
                 "/api/contacts/{contact_id}", "/api/settings", "/api/metrics", "/api/me"):
        assert path in paths, path
    assert api_document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert api_document["security"] == [{"bearerAuth": []}]
    assert paths["/api/health"]["get"]["security"] == []
    assert "HTTPValidationError" not in str(api_document)
    error = paths["/api/conversations"]["get"]["responses"]["422"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/ErrorResponse"}

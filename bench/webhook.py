"""The webhook function on one signed POST carrying 50 WhatsApp messages: its AWS requests (on moto) and its CPU
(with every AWS call answered by a local stub, so that no moto time is counted), with a profile."""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import time
from pathlib import Path
from typing import Any

from bench import ROOT
from bench.harness import (
    CallLog,
    OutputCapture,
    by_operation,
    clean_environment,
    moto_stack,
    reset_caches,
    signed,
    stub_aws,
    wa_message,
    wa_payload,
)

FUNCTION = "WhatsAppWebhookFunction"
MESSAGES = 50
SENDERS = 10  # one POST batches messages of several customers
PROFILE_PATH = ROOT / "bench" / "webhook_profile.txt"


def batch(run: int, n: int = MESSAGES) -> dict[str, Any]:
    senders = [f"1555{7000000 + (run * 97 + s) % 1000000:07d}" for s in range(SENDERS)]
    messages = [wa_message(f"wamid.bench.{run}.{i}", senders[i % SENDERS], f"message {i} of run {run}") for i in range(n)]
    return wa_payload(messages, names={s: f"Customer {s[-4:]}" for s in senders})


def _event(stack_like: Any, payload: dict[str, Any], secret: str) -> dict[str, Any]:
    from infra.local.events import http_event

    raw, headers = signed(payload, secret)
    return http_event("POST", "/webhooks/whatsapp", "", headers, raw, "POST /webhooks/whatsapp", {}, None, "127.0.0.1")


# -- AWS requests per message (moto) --------------------------------------------------------------
def requests_per_message() -> dict[str, Any]:
    with moto_stack() as stack:
        fn = stack.functions[FUNCTION]
        secret = stack.env["META_APP_SECRET"]
        log = CallLog(step="webhook")
        log.attach_switchboard()
        out = OutputCapture()
        with out.capture():
            fn.invoke(_event(stack, batch(0), secret))  # cold: imports and clients
        log.take()
        with out.capture():
            response = fn.invoke(_event(stack, batch(1), secret))
        calls = log.take()
        assert response["statusCode"] == 200, response
        queued = int(stack.clients["sqs"].get_queue_attributes(
            QueueUrl=stack.queue_url("InboundQueue"),
            AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"])
    return {
        "aws_requests_per_message": round(len(calls) / MESSAGES, 3),
        "aws_requests_detail": {
            "messages": MESSAGES, "requests": len(calls), "by_operation": by_operation(calls),
            "enqueued_total_after_two_posts": queued,
            "note": "warm invocation, channel secrets from the environment; deployed, the first request of a "
                    "container also reads the app secret from SSM (cached 5 minutes)",
        },
    }


# -- CPU per message (stubbed AWS) ---------------------------------------------------------------
def cpu_per_message(runs: int, profile_path: Path = PROFILE_PATH) -> dict[str, Any]:
    from bench.harness import template
    from infra.local.lambdas import load_functions
    from infra.local.stack import LOCAL_SECRETS
    from infra.local.template import Resolver

    clean_environment()
    saved = dict(os.environ)
    tpl = template()
    functions = load_functions(ROOT, tpl, Resolver(tpl))
    fn = functions[FUNCTION]
    env = {k: v for k, v in fn.environment.items() if not k.endswith("_PARAM")}
    os.environ.update(env | {"META_APP_SECRET": LOCAL_SECRETS["META_APP_SECRET"], "POWERTOOLS_TRACE_DISABLED": "true"})
    try:
        reset_caches()
        from switchboard import aws

        stub_aws(aws._session()._session, ("dynamodb", "sqs"))
        secret = os.environ["META_APP_SECRET"]
        events = [_event(None, batch(100 + i), secret) for i in range(runs + 3)]
        out = OutputCapture()
        with out.capture():
            for event in events[:3]:  # warm: imports, clients, first-use work
                assert fn.invoke(event)["statusCode"] == 200
        cpu0, wall0 = time.process_time(), time.perf_counter()
        with out.capture():
            for event in events[3:]:
                fn.invoke(event)
        cpu = (time.process_time() - cpu0) * 1000
        wall = (time.perf_counter() - wall0) * 1000
        profiled = [_event(None, batch(10_000 + i), secret) for i in range(max(3, runs // 4))]
        profiler = cProfile.Profile()
        with out.capture():
            profiler.enable()
            for event in profiled:
                fn.invoke(event)
            profiler.disable()
        summary = _write_profile(profiler, len(profiled) * MESSAGES, profile_path)
    finally:
        reset_caches()
        os.environ.clear()
        os.environ.update(saved)
    per_message = cpu / (runs * MESSAGES)
    return {
        "webhook_cpu_ms_per_message": round(per_message, 4),
        "webhook_cpu_detail": {"runs": runs, "messages_per_post": MESSAGES,
                               "cpu_ms_per_post": round(cpu / runs, 2), "wall_ms_per_post": round(wall / runs, 2),
                               "log_bytes_per_post": round(out.bytes / (runs + 3 + len(profiled)), 1),
                               "note": "time.process_time of the warm handler; DynamoDB and SQS answered by a "
                                       "botocore before-send stub (request signing and response parsing included)"},
        "webhook_profile": summary,
    }


# The parts of the webhook's work worth naming, by (file suffix, function).
PARTS = {
    "handler total": ("functions/webhook/app.py", "handler"),
    "ingest.handle (verify, parse, record, enqueue)": ("services/ingest.py", "handle"),
    "verify signature (HMAC)": ("channels/meta.py", "verify"),
    "parse payload (json + models)": ("channels/whatsapp.py", "parse"),
    "dedupe markers (DynamoDB PutItem x50)": ("store/markers.py", "claim_inbound"),
    "enqueue (SQS SendMessageBatch x5)": ("switchboard/queue.py", "send_inbound"),
    "envelope JSON (pydantic dump)": ("pydantic/main.py", "model_dump_json"),
    "botocore API calls": ("botocore/client.py", "_make_api_call"),
    "  request serialization": ("botocore/serialize.py", "serialize_to_request"),
    "  request signing (SigV4)": ("botocore/signers.py", "sign"),
    "  endpoint resolution": ("botocore/client.py", "_resolve_endpoint_ruleset"),
    "  response parsing": ("botocore/parsers.py", "parse"),
    "  parameter validation": ("botocore/validate.py", "validate_parameters"),
    "DynamoDB type (de)serialization": ("switchboard/store/table.py", "serialize"),
    "Powertools logging": ("aws_lambda_powertools/logging/logger.py", "info"),
}


def _write_profile(profiler: cProfile.Profile, messages: int, path: Path) -> dict[str, Any]:
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("cumulative").print_stats(15)
    stream.write("\nThe same run, top 15 by own time (where the CPU goes):\n")
    stats.sort_stats("tottime").print_stats(15)
    entries: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]  # pstats keeps its table undocumented
    total = sum(v[2] for v in entries.values())  # every function's own time: the profiled total
    header = (f"cProfile of the warm webhook handler, {messages // MESSAGES} POSTs of {MESSAGES} WhatsApp messages, "
              f"AWS answered by a local stub; top 15 by cumulative time (profiler overhead included)\n\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + stream.getvalue(), encoding="utf-8")
    parts = {}
    for label, (suffix, func) in PARTS.items():
        cumulative = max((v[3] for k, v in entries.items() if k[0].endswith(suffix) and k[2] == func), default=0)
        if cumulative:
            parts[label] = {"ms_per_message": round(cumulative * 1000 / messages, 4),
                            "share": round(cumulative / total, 3) if total else None}
    top = []
    for key, value in sorted(entries.items(), key=lambda kv: kv[1][3], reverse=True)[:15]:
        filename, line, func = key
        short = filename.split("site-packages/")[-1].split("layers/shared/")[-1].replace(str(ROOT) + "/", "")
        top.append({"function": f"{short}:{line}({func})", "cumulative_ms_per_message":
                    round(value[3] * 1000 / messages, 4)})
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    return {"file": str(shown), "profiled_ms_per_message": round(total * 1000 / messages, 4),
            "parts": parts, "top15_cumulative": top}

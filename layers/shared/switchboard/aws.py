"""Cached AWS client factories. Nothing is created at import time."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def _session() -> Any:
    import boto3

    return boto3.session.Session()


def client(service: str) -> Any:
    return _client(service)


@cache
def _client(service: str) -> Any:
    from botocore.config import Config

    # Standard retry mode: backoff with jitter on throttling and 5xx, within the Lambda's time.
    # Sending email is not idempotent: one attempt, and what failed is retried (or not) by the caller's rules.
    attempts = 1 if service in ("sesv2", "ses") else 3
    # The pool holds a connection for each of switchboard.parallel's side-by-side calls.
    config = Config(retries={"mode": "standard", "max_attempts": attempts}, connect_timeout=2, read_timeout=5,
                    signature_version="s3v4" if service == "s3" else None, max_pool_connections=32)
    return _session().client(service, config=config)


def dynamodb() -> Any:
    return client("dynamodb")


def sqs() -> Any:
    return client("sqs")


def s3() -> Any:
    return client("s3")


def transcribe() -> Any:
    """Amazon Transcribe (issue 17: voicemail transcripts)."""
    return client("transcribe")


@cache
def s3_presigner() -> Any:
    """S3 for presigned POSTs the browser uploads to (rich replies): virtual-hosted on the bucket's regional
    endpoint (https://<bucket>.s3.<region>.amazonaws.com, which the frontend's CSP names), so that a browser's
    POST is never redirected; locally, the AWS stand-in's endpoint."""
    from botocore.config import Config

    config = Config(signature_version="s3v4", connect_timeout=2, read_timeout=5,
                    s3={"addressing_style": "virtual", "us_east_1_regional_endpoint": "regional"})
    return _session().client("s3", config=config)


@cache
def websocket_management(endpoint: str, timeout: float) -> Any:
    """The live workspace (issue 15): API Gateway's @connections API of the WebSocket API (locally, the local
    stack's). One attempt, short timeouts: a push never holds up the work that caused it."""
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=timeout, read_timeout=timeout,
                    max_pool_connections=32)
    return _session().client("apigatewaymanagementapi", endpoint_url=endpoint, config=config)


def error_code(exc: Any) -> str:
    """The AWS error code of a botocore ClientError ("NoSuchKey", "ConflictException", "404"...); "" when none."""
    return str(exc.response.get("Error", {}).get("Code") or "")


def reset() -> None:
    """Forget cached clients (tests that swap endpoints)."""
    _client.cache_clear()
    s3_presigner.cache_clear()
    websocket_management.cache_clear()
    _session.cache_clear()

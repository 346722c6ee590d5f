"""The functions' handlers loaded as Lambda loads them, and HTTP API (payload v2) events to call them with."""

from __future__ import annotations

import base64
import importlib.util
import logging
import sys
import types
from functools import cache
from typing import Any

from infra.local.lambdas import Context
from tests.conftest import ROOT


@cache
def handler(function_dir: str) -> Any:
    """functions/<dir>/app.py's handler, loaded once, its logs kept to warnings and above."""
    name = f"unit_lambda_{function_dir}"
    spec = importlib.util.spec_from_file_location(name, ROOT / "functions" / function_dir / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    module.logger.setLevel(logging.WARNING)
    return module.handler


def context(name: str = "Function") -> Context:
    return Context(types.SimpleNamespace(name=name, memory=256, timeout=10))


def http_event(method: str, path: str, body: bytes | str | None = None, headers: dict[str, str] | None = None,
               base64_body: bool | None = None, raw_query: str = "") -> dict[str, Any]:
    """As API Gateway builds it: lower-cased header names; a bytes body is base64-encoded unless told otherwise."""
    event: dict[str, Any] = {
        "version": "2.0", "routeKey": f"{method} {path}", "rawPath": path, "rawQueryString": raw_query,
        "headers": {k.lower(): v for k, v in (headers or {}).items()},
        "requestContext": {"requestId": "req-1", "http": {"method": method, "path": path, "sourceIp": "127.0.0.1"}},
        "isBase64Encoded": False,
    }
    if isinstance(body, bytes):
        encode = True if base64_body is None else base64_body
        event["isBase64Encoded"] = encode
        event["body"] = base64.b64encode(body).decode() if encode else body.decode("utf-8", "surrogateescape")
    elif body is not None:
        event["body"] = body
        event["isBase64Encoded"] = bool(base64_body)
    return event

"""Loads each function's handler as Lambda would and invokes it, one invocation at a time per function."""

from __future__ import annotations

import importlib.util
import re
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from infra.local.template import Resolver, function_properties, resources


class FunctionError(Exception):
    """The function failed (an unhandled exception, a timeout, a crash), as Lambda reports a function error."""

    def __init__(self, function: str, error_type: str, message: str):
        super().__init__(f"{function} failed: {error_type}: {message}")
        self.function, self.error_type, self.message = function, error_type, message


class Invokable(Protocol):
    """What the HTTP front, the pollers and the schedules need of a function: in-process or in a worker process."""

    name: str
    events: dict[str, dict[str, Any]]

    def invoke(self, event: dict[str, Any]) -> Any: ...


class Context:
    """The Lambda context object handlers and Powertools read."""

    def __init__(self, fn: Function):
        self.function_name = fn.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{fn.name}"
        self.memory_limit_in_mb = fn.memory
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{fn.name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + fn.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class Route:
    method: str
    path: str
    function: str
    auth: bool
    pattern: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\{(\w+)\+\}", r"(?P<\1>.+)", self.path)
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", regex)
        self.pattern = re.compile(f"^{regex}$")

    @property
    def specificity(self) -> tuple[int, int, int]:
        return ("+}" not in self.path, self.method != "ANY", len(self.path))


@dataclass
class Function:
    """A function run in this process (the integration tier: its tests patch the handlers' modules)."""

    name: str
    code_dir: Path
    handler_name: str
    memory: int
    timeout: int
    environment: dict[str, str]
    events: dict[str, dict[str, Any]]
    lock: threading.Lock = field(default_factory=threading.Lock)
    _handler: Any = None

    def handler(self) -> Any:
        if self._handler is None:
            module_name, attr = self.handler_name.rsplit(".", 1)
            path = self.code_dir / (module_name.replace(".", "/") + ".py")
            spec = importlib.util.spec_from_file_location(f"lambda_{self.name}", path)
            assert spec and spec.loader
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
            self._handler = getattr(module, attr)
        return self._handler

    def invoke(self, event: dict[str, Any]) -> Any:
        with self.lock:  # one execution environment: handlers keep per-invocation state in module globals
            return self.handler()(event, Context(self))


def load_functions(root: Path, template: dict[str, Any], resolver: Resolver) -> dict[str, Function]:
    functions = {}
    for name in resources(template, "AWS::Serverless::Function"):
        props = function_properties(template, name)
        env = resolver.resolve((props.get("Environment") or {}).get("Variables") or {})
        functions[name] = Function(
            name=name, code_dir=root / props["CodeUri"], handler_name=props["Handler"],
            memory=int(props.get("MemorySize", 128)), timeout=int(props.get("Timeout", 3)),
            environment={k: str(v) for k, v in env.items()}, events=props.get("Events") or {})
    return functions


def http_routes(template: dict[str, Any], functions: Mapping[str, Invokable]) -> list[Route]:
    apis = resources(template, "AWS::Serverless::HttpApi")
    default_auth = {name: bool(((api.get("Properties") or {}).get("Auth") or {}).get("DefaultAuthorizer"))
                    for name, api in apis.items()}
    routes = []
    for fn in functions.values():
        for event in fn.events.values():
            if event.get("Type") != "HttpApi":
                continue
            props = event.get("Properties") or {}
            api = (props.get("ApiId") or {}).get("Ref", "")
            authorizer = (props.get("Auth") or {}).get("Authorizer")
            auth = authorizer not in ("NONE",) and (authorizer is not None or default_auth.get(api, False))
            routes.append(Route(method=str(props.get("Method", "ANY")).upper(), path=props["Path"],
                                function=fn.name, auth=auth))
    return sorted(routes, key=lambda r: r.specificity, reverse=True)


def match(routes: list[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for route in routes:
        if route.method not in ("ANY", method):
            continue
        m = route.pattern.match(path)
        if m:
            return route, m.groupdict()
    return None

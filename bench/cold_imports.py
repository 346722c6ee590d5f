"""cold_import_ratio.<Function>: the handler module's import (clients included) over `import boto3` plus the same
clients, each in a fresh interpreter, interleaved, median of N runs. Plus a `-X importtime` profile of what the
handler adds on top of boto3."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import LAYER, ROOT
from bench.harness import BASE_ENV, template

# The AWS clients a function's code creates, read from its role in template.yaml (each function has its own,
# granting exactly what its code calls): dynamodb:* -> dynamodb, sqs:SendMessage -> sqs (receiving and deleting
# are the SQS event source's, not the code's), s3:* -> s3, ses:* -> sesv2 (the core sends through SESv2).
# Channel secrets come from SSM through Powertools' parameters utility on the first request (cached 5 minutes):
# that client is created by neither variant at import, so it is left out of both; logs and X-Ray are the
# runtime's.
ROLE_SERVICES = (("dynamodb:", "dynamodb"), ("sqs:SendMessage", "sqs"), ("s3:", "s3"), ("ses:", "sesv2"))
FALLBACK_SERVICES = ("dynamodb",)


def services_from_role(tpl: dict[str, Any], props: dict[str, Any]) -> tuple[str, ...]:
    role = props.get("Role")
    name = role.get("Fn::GetAtt", [None])[0] if isinstance(role, dict) else None
    actions: set[str] = set()
    for policy in ((tpl["Resources"].get(name) or {}).get("Properties") or {}).get("Policies") or []:
        for statement in (policy.get("PolicyDocument") or {}).get("Statement") or []:
            action = statement.get("Action") or []
            actions |= set(action if isinstance(action, list) else [action])
    found = [service for prefix, service in ROLE_SERVICES if any(a.startswith(prefix) for a in actions)]
    return tuple(dict.fromkeys(found)) or FALLBACK_SERVICES


_CHILD_A = """
import time
t0, c0 = time.perf_counter(), time.process_time()
import boto3
for name in {services!r}:
    boto3.client(name)
t1, c1 = time.perf_counter(), time.process_time()
print("BENCH", (t1 - t0) * 1000, (c1 - c0) * 1000)
"""

_CHILD_B = """
import sys, time
sys.path[:0] = [{code_dir!r}, {layer!r}]
t0, c0 = time.perf_counter(), time.process_time()
import {module}
from switchboard import aws
for name in {services!r}:
    aws.client(name)
t1, c1 = time.perf_counter(), time.process_time()
print("BENCH", (t1 - t0) * 1000, (c1 - c0) * 1000)
"""

_PROFILE = """
import sys
sys.path[:0] = [{code_dir!r}, {layer!r}]
import boto3
for name in {services!r}:
    boto3.client(name)
import {module}
from switchboard import aws
for name in {services!r}:
    aws.client(name)
"""


@dataclass
class FunctionSpec:
    name: str
    code_dir: Path
    module: str
    memory: int
    env: dict[str, str]
    services: tuple[str, ...]


def function_specs() -> list[FunctionSpec]:
    """Every function in template.yaml, with Globals merged and its variables resolved to dummy values."""
    from infra.local.template import Resolver, function_properties, resources

    tpl = template()
    resolver = Resolver(tpl)
    specs = []
    for name in resources(tpl, "AWS::Serverless::Function"):
        props = function_properties(tpl, name)
        env = resolver.resolve((props.get("Environment") or {}).get("Variables") or {})
        specs.append(FunctionSpec(name=name, code_dir=ROOT / props["CodeUri"], module=props["Handler"].rsplit(".", 1)[0],
                                  memory=int(props.get("MemorySize", 128)),
                                  env={k: str(v) for k, v in env.items()},
                                  services=services_from_role(tpl, props)))
    return specs


def _child_env(spec: FunctionSpec) -> dict[str, str]:
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    env |= BASE_ENV | spec.env | {"AWS_LAMBDA_FUNCTION_NAME": spec.name,
                                  "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory)}
    return env


def _run(code: str, env: dict[str, str]) -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                         check=False)
    line = next((x for x in out.stdout.splitlines() if x.startswith("BENCH ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"import child failed ({out.returncode}): {out.stderr[-2000:]}")
    _, wall, cpu = line.split()
    return float(wall), float(cpu)


def _codes(spec: FunctionSpec) -> tuple[str, str]:
    a = _CHILD_A.format(services=spec.services)
    b = _CHILD_B.format(code_dir=str(spec.code_dir), layer=str(LAYER), module=spec.module, services=spec.services)
    return a, b


def measure(repeat: int, log: Any = print, quick: bool = False) -> dict[str, Any]:
    """Interleaved A/B runs, A first on even repetitions and B first on odd ones. `quick` (the smoke run):
    functions with the same handler code and clients are measured once, and runs go two at a time."""
    specs = function_specs()
    measured = specs
    same_as: dict[str, str] = {}
    if quick:
        first: dict[tuple[Path, str, tuple[str, ...]], str] = {}
        for spec in specs:
            key = (spec.code_dir, spec.module, spec.services)
            same_as[spec.name] = first.setdefault(key, spec.name)
        measured = [s for s in specs if same_as[s.name] == s.name]
    runs: dict[str, dict[str, list[tuple[float, float]]]] = {s.name: {"A": [], "B": []} for s in measured}
    if not quick:
        # One discarded run of each first, so that both read compiled bytecode (__pycache__), as a deployed
        # package and the runtime's own boto3 do.
        for spec in measured:
            a, b = _codes(spec)
            _run(a, _child_env(spec))
            _run(b, _child_env(spec))
    for rep in range(repeat):
        jobs = []
        for spec in measured:
            a, b = _codes(spec)
            order = (("A", a), ("B", b)) if rep % 2 == 0 else (("B", b), ("A", a))
            jobs += [(spec, variant, code) for variant, code in order]
        if quick:
            with ThreadPoolExecutor(max_workers=2) as pool:
                outcomes = list(pool.map(lambda job: _run(job[2], _child_env(job[0])), jobs))
        else:
            outcomes = [_run(code, _child_env(spec)) for spec, _, code in jobs]
        for (spec, variant, _), outcome in zip(jobs, outcomes, strict=True):
            runs[spec.name][variant].append(outcome)
        log(f"  cold imports: repetition {rep + 1}/{repeat} done")
    results: dict[str, Any] = {}
    detail: dict[str, Any] = {}
    for spec in specs:
        if spec.name not in runs:
            source = same_as[spec.name]
            results[f"cold_import_ratio.{spec.name}"] = results[f"cold_import_ratio.{source}"]
            detail[spec.name] = {**detail[source], "measured_as": source}
            continue
        a_wall = statistics.median(w for w, _ in runs[spec.name]["A"])
        b_wall = statistics.median(w for w, _ in runs[spec.name]["B"])
        a_cpu = statistics.median(c for _, c in runs[spec.name]["A"])
        b_cpu = statistics.median(c for _, c in runs[spec.name]["B"])
        results[f"cold_import_ratio.{spec.name}"] = round(b_wall / a_wall, 3)
        detail[spec.name] = {"services": list(spec.services), "runs": repeat, "boto3_and_clients_ms": round(a_wall, 1),
                             "handler_and_clients_ms": round(b_wall, 1), "extra_ms": round(b_wall - a_wall, 1),
                             "ratio_of_minimums": round(min(w for w, _ in runs[spec.name]["B"])
                                                        / min(w for w, _ in runs[spec.name]["A"]), 3),
                             "cpu_ratio": round(b_cpu / a_cpu, 3) if a_cpu else None,
                             "boto3_and_clients_cpu_ms": round(a_cpu, 1), "handler_and_clients_cpu_ms": round(b_cpu, 1)}
    results["cold_import_detail"] = detail
    return results


# -- where the time goes: python -X importtime --------------------------------------------------
@dataclass
class _Node:
    name: str
    self_us: int
    cumulative_us: int
    depth: int
    children: list[_Node]


def _parse_importtime(stderr: str) -> list[_Node]:
    """The top-level import nodes, children attached (importtime prints a module after its own imports)."""
    pending: dict[int, list[_Node]] = {}
    roots: list[_Node] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        parts = line.split("|")
        self_us = int(parts[0].split(":")[1])
        cumulative_us = int(parts[1])
        raw = parts[2]
        stripped = raw.lstrip(" ")
        depth = (len(raw) - len(stripped) - 1) // 2
        node = _Node(stripped.strip(), self_us, cumulative_us, depth, pending.pop(depth + 1, []))
        if depth == 0:
            roots.append(node)
        else:
            pending.setdefault(depth, []).append(node)
    return roots


def _first_party(name: str) -> bool:
    return name == "app" or name.split(".")[0] == "switchboard"


def _walk(node: _Node, parent: str | None, out: list[tuple[_Node, str | None]]) -> None:
    out.append((node, parent))
    for child in node.children:
        _walk(child, node.name, out)


def profile(spec: FunctionSpec, top: int = 12) -> dict[str, Any]:
    """What importing the handler costs on top of boto3 and the clients: the heaviest third-party imports and
    which of our modules pulls each in first, and the time per top-level package."""
    code = _PROFILE.format(code_dir=str(spec.code_dir), layer=str(LAYER), module=spec.module, services=spec.services)
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", code], env=_child_env(spec), capture_output=True,
                         text=True, timeout=120, check=False)
    roots = _parse_importtime(out.stderr)
    # Everything after the boto3 root (and the client creation it did) is what the handler adds.
    try:
        start = next(i for i, r in enumerate(roots) if r.name == "boto3") + 1
    except StopIteration:
        start = 0
    nodes: list[tuple[_Node, str | None]] = []
    for root in roots[start:]:
        _walk(root, None, nodes)
    handler_total = sum(r.cumulative_us for r in roots[start:])
    by_package: dict[str, int] = {}
    for node, _ in nodes:
        package = node.name.split(".")[0]
        by_package[package] = by_package.get(package, 0) + node.self_us
    # A third-party import made by one of our modules, whole package at once (pydantic's lazy attributes make
    # `from pydantic import X` import several submodules, each a child of our module).
    pulled: dict[tuple[str, str], int] = {}
    for n, parent in nodes:
        if not _first_party(n.name) and parent and _first_party(parent):
            key = (n.name.split(".")[0], parent)
            pulled[key] = pulled.get(key, 0) + n.cumulative_us
    heaviest = sorted(pulled.items(), key=lambda kv: kv[1], reverse=True)
    own = sorted(((n.name, n.self_us) for n, _ in nodes if _first_party(n.name)), key=lambda x: x[1], reverse=True)
    return {
        "note": "python -X importtime, one run after boto3 and the clients are loaded; ms",
        "handler_import_ms": round(handler_total / 1000, 1),
        "by_package_ms": {k: round(v / 1000, 1) for k, v in sorted(by_package.items(), key=lambda kv: -kv[1])[:top]},
        "heaviest_third_party_imports": [
            {"package": package, "ms": round(us / 1000, 1), "first_imported_by": parent}
            for (package, parent), us in heaviest[:top]],
        "own_modules_self_ms": {name: round(us / 1000, 1) for name, us in own[:top]},
    }


def profiles(log: Any = print) -> dict[str, Any]:
    out = {}
    for spec in function_specs():
        out[f"import_profile.{spec.name}"] = profile(spec)
    log("  import profiles done")
    return out


if __name__ == "__main__":  # python -m bench.cold_imports: just this part
    print(json.dumps(measure(3) | profiles(), indent=2))

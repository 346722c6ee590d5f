"""A function's init (importing its handler module) loads none of the heavy packages: pydantic and the models,
Powertools' event handler, batch and parameters utilities, requests, and the X-Ray SDK load on the first invocation that uses
them (README, Code layout). Each handler is imported as Lambda would, in a fresh interpreter with its environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

NOT_AT_INIT = ("pydantic", "pydantic_core", "aws_lambda_powertools.event_handler",
               "aws_lambda_powertools.utilities.batch", "aws_lambda_powertools.utilities.parameters", "requests",
               "switchboard.models", "switchboard.settings_model", "switchboard.automation_settings",
               "switchboard.api.app", "aws_xray_sdk")

_CHILD = """
import json, sys
sys.path[:0] = [{code_dir!r}, {layer!r}]
import {module}
print(json.dumps(sorted(sys.modules)))
"""


def _handlers():
    from bench.cold_imports import function_specs

    seen = {}
    for spec in function_specs():
        seen.setdefault((spec.code_dir, spec.module), spec)
    return list(seen.values())


@pytest.mark.parametrize("spec", _handlers(), ids=lambda spec: spec.code_dir.name)
def test_handler_import_loads_nothing_heavy(spec):
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    env |= spec.env | {"AWS_DEFAULT_REGION": "us-east-1", "AWS_LAMBDA_FUNCTION_NAME": spec.name,
                                 "LAMBDA_TASK_ROOT": str(spec.code_dir)}  # in Lambda: tracing is on
    code = _CHILD.format(code_dir=str(spec.code_dir), layer=str(ROOT / "layers" / "shared"), module=spec.module)
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                         check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    loaded = set(json.loads(run.stdout))
    assert not [name for name in NOT_AT_INIT if name in loaded]

"""`make bench` works: a small run writes results.json with every contract key (not a timed test: no target is
checked, only that each figure was measured)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT


def test_quick_bench_writes_every_contract_key(tmp_path):
    from bench import report
    from bench.cold_imports import function_specs

    output = tmp_path / "results.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT_URL", "AWS_PROFILE"))}
    command = [sys.executable, "-m", "bench", "--quick", "--repeat", "1", "--output", str(output)]  # one import run
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = json.loads(output.read_text())
    keys = report.contract_keys([spec.name for spec in function_specs()])
    assert any(k.startswith("cold_import_ratio.") for k in keys)
    for key in keys:
        assert isinstance(results.get(key), int | float) and not isinstance(results[key], bool), (key, results.get(key))
    assert results["run"]["quick"] is True and not results["run"]["errors"]
    assert "targets missed:" in run.stdout and results["cost_breakdown"]["steps"]

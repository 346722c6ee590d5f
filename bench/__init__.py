"""Benchmarks (`make bench`): one run measures every figure of the contract and writes bench/results.json.

Not timed tests: they run on moto with counting hooks, and only a small smoke run (tests/bench) is part of
`make test`.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYER = ROOT / "layers" / "shared"
for _path in (str(ROOT), str(LAYER)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

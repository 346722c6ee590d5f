"""make bench: python -m bench [--quick] [--output PATH] [--only imports,webhook,items,cost,search,rules,reports]

Writes bench/results.json (the contract's flat keys plus detail under other keys) and prints a table with each
target and whether it was met. Missed targets are reported, not fatal (timing noise must not fail CI); the exit
status is non-zero only when a benchmark itself could not run."""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import ROOT, report

SECTIONS = ("imports", "webhook", "items", "cost", "search", "rules", "reports", "push")  # 19, 16, 15


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="small sizes (2,000 conversations, 3 import runs): the smoke test's run, not figures")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument("--conversations", type=int, help="conversations populated (default 100,000; quick 2,000)")
    parser.add_argument("--repeat", type=int, help="fresh-interpreter import runs per variant (default 11; quick 3)")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {', '.join(SECTIONS)}")
    args = parser.parse_args(argv)
    conversations = args.conversations or (2_000 if args.quick else 100_000)
    repeat = args.repeat or (3 if args.quick else 11)
    cpu_runs = 5 if args.quick else 20
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")

    from bench import cold_imports, cost, items_read, webhook, webhook_batch  # after sys.path is set up
    from bench import push as push_bench  # the live workspace (issue 15)
    from bench import reports as reports_bench  # reports and the conversation export (issue 16)
    from bench import search as search_bench  # contacts and search (issue 14)

    def log(message: str) -> None:
        print(message, flush=True)

    results: dict[str, Any] = {}
    errors: dict[str, str] = {}
    timings: dict[str, float] = {}

    def section(name: str, fn: Any) -> None:
        if name not in only:
            return
        log(f"[{name}]")
        started = time.perf_counter()
        try:
            results.update(fn())
        except Exception:  # noqa: BLE001 - one broken benchmark must not hide the others' figures
            errors[name] = traceback.format_exc()
            log(f"  {name} FAILED:\n{errors[name]}")
        timings[name] = round(time.perf_counter() - started, 1)

    section("imports", lambda: {**cold_imports.measure(repeat, log, quick=args.quick),
                                **({} if args.quick else cold_imports.profiles(log))})
    profile = args.output.parent / "webhook_profile.txt"  # bench/webhook_profile.txt by default
    section("webhook", lambda: {**webhook.requests_per_message(), **webhook.cpu_per_message(cpu_runs, profile),
                                **webhook_batch.measure(runs=1 if args.quick else 3)})
    section("items", lambda: items_read.measure(conversations, log))
    section("cost", cost.measure)
    section("search", lambda: search_bench.measure(conversations, log))
    from bench import rules as rules_bench  # issue 19: automation rules

    section("rules", rules_bench.measure)
    section("reports", lambda: reports_bench.measure(min(conversations, 20_000), log))
    section("push", lambda: push_bench.measure(args.quick, log))

    functions = [spec.name for spec in cold_imports.function_specs()]
    keys = report.contract_keys(functions)
    checks = report.verdicts(results, keys)
    contract = {k: results.get(k) for k in keys}
    detail = {k: v for k, v in results.items() if k not in contract}
    import moto

    document = {
        **contract,
        "targets": checks,
        "missed": [k for k, c in checks.items() if c["status"] in ("MISSED", "MISSING")],
        "run": {"at": datetime.now(UTC).isoformat(timespec="seconds"), "quick": args.quick,
                "conversations": conversations, "import_runs": repeat, "webhook_cpu_runs": cpu_runs,
                "python": platform.python_version(), "machine": platform.machine(), "moto": moto.__version__,
                "sections_seconds": timings, "errors": errors},
        **detail,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")

    print()
    print(report.table(results, checks))
    if "cost_breakdown" in results:
        print()
        print("cost of a message's life by step, $ per million (assumptions in results.json cost_breakdown):")
        print(cost.table(results["cost_breakdown"]))
    print(f"\nwritten: {args.output}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Upgrade a deployment that had conversations before inboxes existed (issue 14), once, after deploying.

Every business address its conversations came in by becomes an inbox (so that a deployment serving several
WhatsApp numbers or Pages keeps filing all of them: otherwise only the first to write after the upgrade is adopted),
and each conversation gets its place in the inbox and team views (InboxIndex); conversations that get a message do
so by themselves. It also gives conversations from before the conversation export (CreatedIndex) and the search of a
contact's conversations (ContactIndex) their keys in those indexes. Run it after each deploy that adds one of these
indexes. It reads every conversation once (GSI1, a page at a time) and can be run again safely. It prints counts
only.

  .venv/bin/python infra/scripts/upgrade-inboxes.py --stage prod
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # stackinfo.py, beside this script
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "layers" / "shared"))  # the core: its store does the work
from stackinfo import ScriptError, stack_outputs


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Make an inbox of every business address existing conversations came in by, and put those "
                    "conversations in the inbox and team views. Prints counts only; safe to run again.")
    parser.add_argument("--stage", required=True, choices=["dev", "prod"], help="deployment stage")
    parser.add_argument("--stack-name", help="CloudFormation stack (default: switchboard-<stage>)")
    parser.add_argument("--region", help="AWS region (default: from the environment or profile)")
    parser.add_argument("--profile", help="AWS profile")
    parser.add_argument("--table", help="the table's name (default: the stack's TableName output)")
    return parser.parse_args(argv)


def run(table_name: str) -> dict[str, int]:
    """Every page, until done; the counts."""
    os.environ["TABLE_NAME"] = table_name  # what the core's settings read the table from
    from switchboard.services import inboxes
    from switchboard.store.table import Table

    table, cursor, totals = Table(table_name), None, {"conversations": 0, "inboxes": 0, "pages": 0}
    while True:
        counts, cursor = inboxes.upgrade(table, cursor)
        totals["conversations"] += counts["conversations"]
        totals["inboxes"] += counts["inboxes"]
        totals["pages"] += 1
        if not cursor:
            return totals


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import boto3

        session = boto3.Session(region_name=args.region, profile_name=args.profile)
        if session.region_name:
            os.environ["AWS_DEFAULT_REGION"] = session.region_name
        if args.profile:
            os.environ["AWS_PROFILE"] = args.profile
        table = args.table or stack_outputs(session.client("cloudformation"),
                                            args.stack_name or f"switchboard-{args.stage}").get("TableName")
        if not table:
            raise ScriptError("the stack has no TableName output: give --table")
        totals = run(table)
    except ScriptError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{totals['inboxes']} inboxes made, {totals['conversations']} conversations given their index keys "
          f"({totals['pages']} pages read)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

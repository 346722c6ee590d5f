#!/usr/bin/env python3
"""Inspect a Switchboard dead-letter queue and redrive it to its source queue (SQS StartMessageMoveTask).

Queue URLs and ARNs come from the stack's outputs (InboundDLQUrl, InboundDLQArn, ...), or from its resources
for a stack deployed before those outputs existed. Message bodies hold customers' messages: this script never
prints them, only ids, sizes, receive counts and ages.

  .venv/bin/python infra/scripts/redrive-dlq.py --queue inbound --stage dev             # counts
  .venv/bin/python infra/scripts/redrive-dlq.py --queue inbound --stage dev --peek 5    # + 5 messages' metadata
  .venv/bin/python infra/scripts/redrive-dlq.py --queue outbound --stage prod --redrive # move them back
  .venv/bin/python infra/scripts/redrive-dlq.py --queue outbound --stage prod --status  # the move tasks
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # stackinfo.py, beside this script
from stackinfo import ScriptError, stack_outputs

QUEUES = {"inbound": "Inbound", "outbound": "Outbound", "events": "Events"}  # --queue -> the template's logical id prefix
PEEK_VISIBILITY_SECONDS = 30  # peeked messages are made visible again at once; this only bounds a crash
PEEK_WAIT_SECONDS = 1  # a short long-poll: SQS short polling may answer empty while messages wait




@dataclass(frozen=True)
class QueuePair:
    name: str
    dlq_url: str
    dlq_arn: str
    source_url: str


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Count, peek at (ids and sizes only, never bodies) and redrive a Switchboard DLQ.")
    parser.add_argument("--queue", required=True, choices=sorted(QUEUES), help="which DLQ")
    parser.add_argument("--stage", required=True, choices=["dev", "prod"], help="deployment stage")
    parser.add_argument("--stack-name", help="CloudFormation stack (default: switchboard-<stage>)")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--peek", type=int, nargs="?", const=10, metavar="N",
                        help="show up to N messages' id, size, receive count and age (default 10); "
                             "they are made visible again right away")
    action.add_argument("--redrive", action="store_true",
                        help="start moving every DLQ message back to the queue it came from")
    action.add_argument("--status", action="store_true", help="list the DLQ's recent move tasks")
    parser.add_argument("--max-per-second", type=int, metavar="N",
                        help="with --redrive: move at most N messages a second (default: SQS decides)")
    parser.add_argument("--yes", action="store_true", help="with --redrive: do not ask for confirmation")
    parser.add_argument("--region", help="AWS region (default: from the environment or profile)")
    parser.add_argument("--profile", help="AWS profile")
    args = parser.parse_args(argv)
    if args.peek is not None and not 1 <= args.peek <= 100:
        parser.error("--peek takes 1 to 100")
    if args.max_per_second is not None and not args.redrive:
        parser.error("--max-per-second goes with --redrive")
    return args


def resolve(cfn: Any, sqs: Any, stack: str, queue: str) -> QueuePair:
    """The DLQ's URL and ARN and its source queue's URL, from the stack's outputs or else its resources."""

    prefix = QUEUES[queue]
    outputs = stack_outputs(cfn, stack)
    dlq_url = outputs.get(f"{prefix}DLQUrl") or _physical_id(cfn, stack, f"{prefix}DLQ")
    source_url = outputs.get(f"{prefix}QueueUrl") or _physical_id(cfn, stack, f"{prefix}Queue")
    dlq_arn = outputs.get(f"{prefix}DLQArn") or sqs.get_queue_attributes(
        QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return QueuePair(name=f"{prefix}DLQ", dlq_url=dlq_url, dlq_arn=dlq_arn, source_url=source_url)


def _physical_id(cfn: Any, stack: str, logical_id: str) -> str:
    detail = cfn.describe_stack_resource(StackName=stack, LogicalResourceId=logical_id)["StackResourceDetail"]
    return detail["PhysicalResourceId"]  # an SQS queue's physical id is its URL


def counts(sqs: Any, url: str) -> dict[str, int]:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return {"visible": int(attrs.get("ApproximateNumberOfMessages", 0)),
            "in_flight": int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0))}


def peek(sqs: Any, url: str, limit: int) -> list[dict[str, Any]]:
    """Metadata of up to `limit` messages; every message received is made visible again before returning."""
    seen: dict[str, dict[str, Any]] = {}
    handles: list[str] = []
    try:
        while len(seen) < limit:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=min(10, limit - len(seen)),
                                      WaitTimeSeconds=PEEK_WAIT_SECONDS,
                                      VisibilityTimeout=PEEK_VISIBILITY_SECONDS,
                                      MessageSystemAttributeNames=["All"]).get("Messages", [])
            if not got:
                break
            for m in got:
                handles.append(m["ReceiptHandle"])
                attrs = m.get("Attributes", {})
                sent_ms = int(attrs.get("SentTimestamp", "0"))
                seen.setdefault(m["MessageId"], {
                    "id": m["MessageId"], "bytes": len(m.get("Body", "").encode("utf-8")),
                    "receives": int(attrs.get("ApproximateReceiveCount", "0")),
                    "age_seconds": int(time.time() - sent_ms / 1000) if sent_ms else None,
                    "group": attrs.get("MessageGroupId")})
    finally:
        for start in range(0, len(handles), 10):
            sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
                for i, h in enumerate(handles[start:start + 10])])
    return list(seen.values())[:limit]


def _age(seconds: int | None) -> str:
    if seconds is None:
        return "?"
    days, rest = divmod(seconds, 86400)
    return f"{days}d{rest // 3600:02d}h" if days else f"{rest // 3600}h{rest % 3600 // 60:02d}m"


def run(args: argparse.Namespace, cfn: Any, sqs: Any, out: Any = sys.stdout, ask: Any = input) -> int:
    stack = args.stack_name or f"switchboard-{args.stage}"
    pair = resolve(cfn, sqs, stack, args.queue)
    dlq, source = counts(sqs, pair.dlq_url), counts(sqs, pair.source_url)
    print(f"{pair.name} of {stack}: {dlq['visible']} waiting, {dlq['in_flight']} in flight "
          f"(source queue: {source['visible']} waiting, {source['in_flight']} in flight)", file=out)
    if args.peek:
        rows = peek(sqs, pair.dlq_url, args.peek)
        print(f"{'message id':38} {'bytes':>7} {'receives':>8} {'age':>7}  group", file=out)
        for r in rows:
            print(f"{r['id']:38} {r['bytes']:>7} {r['receives']:>8} {_age(r['age_seconds']):>7}  {r['group'] or '-'}",
                  file=out)
        print(f"{len(rows)} shown; bodies are not printed (they hold customers' messages)", file=out)
    elif args.status:
        tasks = sqs.list_message_move_tasks(SourceArn=pair.dlq_arn, MaxResults=10).get("Results", [])
        if not tasks:
            print("no move tasks", file=out)
        for t in tasks:
            started = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(t.get("StartedTimestamp", 0) / 1000))
            print(f"{t.get('Status')}: {t.get('ApproximateNumberOfMessagesMoved', 0)} of "
                  f"{t.get('ApproximateNumberOfMessagesToMove', '?')} moved, started {started}"
                  + (f", failure: {t['FailureReason']}" if t.get("FailureReason") else ""), file=out)
    elif args.redrive:
        if not dlq["visible"]:
            print("nothing to redrive", file=out)
            return 0
        if not args.yes:
            if not sys.stdin.isatty():
                raise ScriptError("refusing to redrive without a terminal to confirm: add --yes")
            if ask(f"Move {dlq['visible']} messages from {pair.name} back to their source queue? [y/N] ").strip().lower() \
                    not in ("y", "yes"):
                print("not redriven", file=out)
                return 1
        kwargs: dict[str, Any] = {"SourceArn": pair.dlq_arn}  # no DestinationArn: back to the source queue
        if args.max_per_second:
            kwargs["MaxNumberOfMessagesPerSecond"] = args.max_per_second
        handle = sqs.start_message_move_task(**kwargs)["TaskHandle"]
        print(f"redrive started; follow it with --status (task handle: {handle})", file=out)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        session = boto3.session.Session(profile_name=args.profile, region_name=args.region)
        return run(args, session.client("cloudformation"), session.client("sqs"))
    except ScriptError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

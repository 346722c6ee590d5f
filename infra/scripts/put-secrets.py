#!/usr/bin/env python3
"""Put the channel secrets of a stage into SSM Parameter Store as SecureString, without printing any of them.

Which secrets exist is read from template.yaml: every function variable NAME_PARAM whose value is
"/switchboard/${Stage}/<channel>/<name>" is one parameter, and its value comes from the environment variable
NAME (the same names the local stack uses: META_APP_SECRET, WHATSAPP_ACCESS_TOKEN, ...), or from a hidden
prompt when NAME is unset. An empty answer skips that parameter.

  .venv/bin/python infra/scripts/put-secrets.py --stage dev --list
  META_APP_SECRET=... .venv/bin/python infra/scripts/put-secrets.py --stage dev --only whatsapp
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PATH = re.compile(r"^/switchboard/\$\{Stage\}/(?P<channel>[a-z0-9-]+)/(?P<name>[a-z0-9-]+)$")


@dataclass(frozen=True)
class Secret:
    channel: str
    name: str
    env: str  # the environment variable that holds the value
    functions: tuple[str, ...]

    def path(self, stage: str) -> str:
        return f"/switchboard/{stage}/{self.channel}/{self.name}"


class ScriptError(Exception):
    pass


def discover(template_path: Path) -> list[Secret]:
    """Every SSM parameter the template's functions name, with the variable that holds its value."""
    sys.path.insert(0, str(ROOT))
    from infra.local.template import function_properties, load, resources

    template = load(template_path)
    found: dict[tuple[str, str, str], set[str]] = {}
    for fn in resources(template, "AWS::Serverless::Function"):
        variables = (function_properties(template, fn).get("Environment") or {}).get("Variables") or {}
        for var, value in variables.items():
            if not var.endswith("_PARAM"):
                continue
            text = value.get("Fn::Sub") if isinstance(value, dict) else value
            m = PATH.match(text) if isinstance(text, str) else None
            if not m:
                raise ScriptError(f"{fn}.{var} is not /switchboard/${{Stage}}/<channel>/<name>: {text!r}")
            found.setdefault((m["channel"], m["name"], var.removesuffix("_PARAM")), set()).add(fn)
    return [Secret(channel, name, env, tuple(sorted(fns))) for (channel, name, env), fns in sorted(found.items())]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Put Switchboard's channel secrets into SSM Parameter Store (SecureString) for one stage. "
                    "Values come from environment variables or a hidden prompt; none is ever printed.")
    parser.add_argument("--stage", required=True, choices=["dev", "prod"], help="deployment stage")
    parser.add_argument("--only", action="append", metavar="CHANNEL",
                        help="only this channel's parameters (repeatable), e.g. --only whatsapp")
    parser.add_argument("--list", action="store_true",
                        help="list the parameters, their variables and whether they exist in SSM; change nothing")
    parser.add_argument("--dry-run", action="store_true", help="say what would be put; change nothing")
    parser.add_argument("--no-prompt", action="store_true",
                        help="never prompt: fail when a variable is unset (the default when stdin is not a terminal)")
    parser.add_argument("--kms-key-id", help="a customer managed KMS key (default: the AWS managed aws/ssm key)")
    parser.add_argument("--region", help="AWS region (default: from the environment or profile)")
    parser.add_argument("--profile", help="AWS profile")
    parser.add_argument("--template", type=Path, default=ROOT / "template.yaml", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _value(secret: Secret, path: str, prompt: bool) -> str | None:
    value = os.environ.get(secret.env)
    if value is None and prompt:
        value = getpass.getpass(f"{path} (${secret.env}; empty to skip): ")
    if value is None:
        raise ScriptError(f"${secret.env} is not set (needed for {path}); set it or run in a terminal to be asked")
    value = value.strip("\r\n")
    return value or None


def run(args: argparse.Namespace, ssm: Any, out: Any = sys.stdout) -> int:
    secrets = discover(args.template)
    if args.only:
        unknown = set(args.only) - {s.channel for s in secrets}
        if unknown:
            raise ScriptError(f"no parameters for channel(s) {', '.join(sorted(unknown))} in the template")
        secrets = [s for s in secrets if s.channel in args.only]
    if args.list:
        paths = [s.path(args.stage) for s in secrets]
        existing: dict[str, dict[str, Any]] = {}
        for start in range(0, len(paths), 10):  # GetParameters takes 10 names at a time
            got = ssm.get_parameters(Names=paths[start:start + 10], WithDecryption=False)
            existing |= {p["Name"]: p for p in got.get("Parameters", [])}
        for secret, path in zip(secrets, paths, strict=True):
            p = existing.get(path)
            state = f"{p['Type']} v{p['Version']}" if p else "MISSING"
            print(f"{path:50} ${secret.env:28} {state:18} used by {', '.join(secret.functions)}", file=out)
        return 0 if len(existing) == len(paths) else 1
    prompt = not args.no_prompt and sys.stdin.isatty()
    put = skipped = 0
    for secret in secrets:
        path = secret.path(args.stage)
        value = _value(secret, path, prompt)
        if value is None:
            print(f"skipped {path}", file=out)
            skipped += 1
            continue
        if args.dry_run:
            print(f"would put {path} from ${secret.env} ({len(value)} characters)", file=out)
            continue
        kwargs: dict[str, Any] = {"Name": path, "Value": value, "Type": "SecureString", "Overwrite": True,
                                  "Description": f"Switchboard {args.stage} {secret.channel} {secret.name}"}
        if args.kms_key_id:
            kwargs["KeyId"] = args.kms_key_id
        version = ssm.put_parameter(**kwargs).get("Version")
        print(f"put {path} (version {version})", file=out)
        put += 1
    if not args.dry_run:
        print(f"{put} put, {skipped} skipped. Warm functions keep a cached value for up to 5 minutes.", file=out)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        session = boto3.session.Session(profile_name=args.profile, region_name=args.region)
        return run(args, session.client("ssm"))
    except ScriptError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as exc:  # AWS's messages name the parameter, never its value
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

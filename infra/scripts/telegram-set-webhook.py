#!/usr/bin/env python3
"""Point the Telegram bot at our webhook: setWebhook with the URL, the secret token and the updates we handle.

The bot token and the secret token come from the environment (TELEGRAM_BOT_TOKEN, TELEGRAM_SECRET_TOKEN) or,
with --stage, from SSM Parameter Store (/switchboard/<stage>/telegram/bot-token and .../secret-token).
Neither is ever printed.

  python infra/scripts/telegram-set-webhook.py --url https://api.example.com/webhooks/telegram --stage prod
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

# Keep in step with switchboard.channels.telegram.ALLOWED_UPDATES: the updates the channel parses.
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member", "message_reaction",
                   "business_message", "edited_business_message", "deleted_business_messages"]
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
BOT_TOKEN = re.compile(r"[0-9]+:[A-Za-z0-9_-]+")
DEFAULT_API = "https://api.telegram.org"

Call = Callable[[str, dict[str, Any]], dict[str, Any]]


class ScriptError(Exception):
    pass


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Register the Switchboard Telegram webhook (setWebhook) without printing any secret.")
    parser.add_argument("--url", help="public HTTPS URL of POST /webhooks/telegram (required unless --info)")
    parser.add_argument("--stage", help="read the tokens from SSM /switchboard/<stage>/telegram/... "
                                        "(default: TELEGRAM_BOT_TOKEN and TELEGRAM_SECRET_TOKEN from the environment)")
    parser.add_argument("--region", help="AWS region of the SSM parameters (default: the AWS configuration's)")
    parser.add_argument("--api-base-url", default=os.environ.get("TELEGRAM_API_BASE_URL", DEFAULT_API),
                        help=f"Bot API base URL (default: TELEGRAM_API_BASE_URL or {DEFAULT_API})")
    parser.add_argument("--max-connections", type=int, default=40, help="concurrent deliveries, 1-100 (default 40)")
    parser.add_argument("--drop-pending-updates", action="store_true", help="discard updates queued at Telegram")
    parser.add_argument("--info", action="store_true", help="only show getWebhookInfo (no change)")
    args = parser.parse_args(argv)
    if not args.info and not args.url:
        parser.error("--url is required (or --info)")
    if args.url and not args.url.startswith("https://"):
        parser.error("--url must be https:// (Telegram only calls HTTPS webhooks)")
    if not 1 <= args.max_connections <= 100:
        parser.error("--max-connections must be 1-100")
    return args


def ssm_parameter(name: str, region: str | None) -> str:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return boto3.client("ssm", region_name=region).get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    except (BotoCoreError, ClientError) as exc:  # reported the same way, without details that may leak
        raise ScriptError(f"cannot read SSM parameter {name}: {type(exc).__name__}") from None


def load_tokens(args: argparse.Namespace) -> tuple[str, str]:
    if args.stage:
        prefix = f"/switchboard/{args.stage}/telegram"
        bot_token = ssm_parameter(f"{prefix}/bot-token", args.region)
        secret = "" if args.info else ssm_parameter(f"{prefix}/secret-token", args.region)
    else:
        bot_token = os.environ.get("TELEGRAM_BOT_TOKEN", "")
        secret = os.environ.get("TELEGRAM_SECRET_TOKEN", "")
    if not BOT_TOKEN.fullmatch(bot_token):
        raise ScriptError("the bot token is missing or not of the form <digits>:<letters>")
    if not args.info and not SECRET_TOKEN.fullmatch(secret):
        raise ScriptError("the secret token is missing or not 1-256 characters of A-Z a-z 0-9 _ -")
    return bot_token, secret


def http_call(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",  # noqa: S310 - https URL
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            return json.loads(exc.read())
        except ValueError:
            return {"ok": False, "error_code": exc.code, "description": "non-JSON error answer"}
    except (urllib.error.URLError, TimeoutError, ValueError) as exc:
        raise ScriptError(f"Bot API unreachable: {type(exc).__name__}") from None


def main(argv: list[str] | None = None, call: Call = http_call) -> int:
    args = parse_args(argv)
    bot_token = secret = ""
    try:
        bot_token, secret = load_tokens(args)
        api = f"{args.api_base_url.rstrip('/')}/bot{bot_token}"
        if not args.info:
            body = {"url": args.url, "secret_token": secret, "allowed_updates": ALLOWED_UPDATES,
                    "max_connections": args.max_connections, "drop_pending_updates": args.drop_pending_updates}
            answer = call(f"{api}/setWebhook", body)
            if answer.get("ok") is not True:
                raise ScriptError(f"setWebhook refused: {answer.get('error_code')} {answer.get('description')}")
            print(f"webhook set: {args.url} (updates: {', '.join(ALLOWED_UPDATES)})")
        info = call(f"{api}/getWebhookInfo", {}).get("result") or {}
        shown = {k: info.get(k) for k in ("url", "pending_update_count", "max_connections", "allowed_updates",
                                          "last_error_date", "last_error_message") if k in info}
        print(json.dumps(shown, indent=2))
    except ScriptError as exc:
        message = str(exc)
        for value in (bot_token, secret):
            if value:
                message = message.replace(value, "***")  # belt and braces: no message should hold them
        print(f"error: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

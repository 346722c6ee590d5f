#!/usr/bin/env python3
"""Print the key a website's backend uses to vouch for its signed-in users' emails in the chat widget.

The widget's session API joins a chat to an email's contact only with `identity_hash`, the hex
HMAC-SHA256(identity key, lower-cased email), computed by the website's backend. The identity key is derived
one way from the web chat secret (/switchboard/<stage>/webchat/token-secret): a website holding it can vouch
for an address and nothing more, it cannot sign visitor tokens. Give it to the website's backend as a secret.

  python infra/scripts/webchat-identity-key.py --stage prod
  WEBCHAT_TOKEN_SECRET=... python infra/scripts/webchat-identity-key.py
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import sys

LABEL = b"switchboard identity hash"  # as switchboard.channels.webchat.identity_key derives it


def identity_key(secret: str) -> str:
    return hmac.new(secret.encode(), LABEL, hashlib.sha256).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the web chat identity key (for the website's backend).")
    parser.add_argument("--stage", help="read the secret from SSM /switchboard/<stage>/webchat/token-secret "
                                        "(default: WEBCHAT_TOKEN_SECRET from the environment)")
    parser.add_argument("--region", help="AWS region of the SSM parameter (default: the AWS configuration's)")
    args = parser.parse_args(argv)
    if args.stage:
        import boto3

        name = f"/switchboard/{args.stage}/webchat/token-secret"
        secret = boto3.client("ssm", region_name=args.region).get_parameter(
            Name=name, WithDecryption=True)["Parameter"]["Value"]
    else:
        secret = os.environ.get("WEBCHAT_TOKEN_SECRET", "")
    if not secret:
        print("error: no web chat secret: pass --stage, or set WEBCHAT_TOKEN_SECRET", file=sys.stderr)
        return 2
    print(identity_key(secret))
    return 0


if __name__ == "__main__":
    sys.exit(main())

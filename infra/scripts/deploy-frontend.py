#!/usr/bin/env python3
"""Publish the agents' app (frontend/) to the stack's private S3 bucket behind CloudFront.

Reads the stack's outputs (FrontendBucketName, FrontendDistributionId, FrontendUrl, ApiUrl, HostedUiDomain,
UserPoolClientId), uploads every file of frontend/ with its Content-Type and Cache-Control (changed files only,
unless --force), writes config.json for this stack, then invalidates what CloudFront may hold stale.

  .venv/bin/python infra/scripts/deploy-frontend.py --stage dev --dry-run   # what would be uploaded
  .venv/bin/python infra/scripts/deploy-frontend.py --stage dev
  .venv/bin/python infra/scripts/deploy-frontend.py --stage prod --region eu-west-1

After the first deploy, set the stack's FrontendOrigin parameter to the FrontendUrl output (CORS and the
Cognito callback URL use it) and deploy the stack again.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import mimetypes
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # stackinfo.py, beside this script
from stackinfo import ScriptError, stack_outputs

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "layers" / "shared"))
from switchboard.channel_names import CHANNELS  # noqa: E402

FRONTEND = ROOT / "frontend"
REQUIRED_OUTPUTS = ("FrontendBucketName", "FrontendDistributionId", "FrontendUrl", "ApiUrl", "HostedUiDomain",
                    "UserPoolClientId")
NO_CACHE = "no-cache"  # index.html and config.json: always revalidated, so a deploy shows at once
ASSET_CACHE = "public, max-age=300"  # unhashed module names: keep them short-lived (and invalidated when changed)
ALWAYS_FRESH = {"index.html", "config.json"}
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain; charset=utf-8",
    ".woff2": "font/woff2",
}
SKIP = {".DS_Store", "config.json"}  # a local config.json is never published: the stack's is written instead




@dataclass(frozen=True)
class Upload:
    key: str
    body: bytes
    content_type: str
    cache_control: str

    @property
    def md5(self) -> str:
        return hashlib.md5(self.body, usedforsecurity=False).hexdigest()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Upload frontend/ and a config.json for the stack to its S3 bucket and invalidate CloudFront.")
    parser.add_argument("--stage", required=True, choices=["dev", "prod"], help="deployment stage")
    parser.add_argument("--stack-name", help="CloudFormation stack (default: switchboard-<stage>)")
    parser.add_argument("--region", help="AWS region (default: from the environment or profile)")
    parser.add_argument("--profile", help="AWS profile")
    parser.add_argument("--dry-run", action="store_true", help="print what would be uploaded; change nothing")
    parser.add_argument("--force", action="store_true", help="upload every file, changed or not")
    return parser.parse_args(argv)




def check_outputs(outputs: dict[str, str]) -> None:
    missing = [k for k in REQUIRED_OUTPUTS if not outputs.get(k)]
    if missing:
        raise ScriptError(f"the stack has no output {', '.join(missing)} (deploy template.yaml first)")


def config(outputs: dict[str, str]) -> dict[str, Any]:
    """The config.json the app reads (frontend/api.js, frontend/auth.js); the channel names are the core's."""
    base = outputs["FrontendUrl"].rstrip("/")
    return {
        "apiUrl": outputs["ApiUrl"].rstrip("/"),
        "local": False,
        "channels": list(CHANNELS),
        "cognito": {
            "domain": outputs["HostedUiDomain"],
            "clientId": outputs["UserPoolClientId"],
            "redirectUri": f"{base}/",
        },
        # the live workspace (issue 15): the WebSocket API (absent from a stack deployed before it: the app polls)
        **({"ws_url": outputs["WebSocketUrl"]} if outputs.get("WebSocketUrl") else {}),
    }


def content_type(path: str) -> str:
    suffix = Path(path).suffix.lower()
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"


def cache_control(key: str) -> str:
    return NO_CACHE if key in ALWAYS_FRESH or key.endswith(".html") else ASSET_CACHE


def plan(outputs: dict[str, str], source: Path = FRONTEND) -> list[Upload]:
    """Every file under `source` (keys relative to it), then config.json for the stack."""
    if not (source / "index.html").is_file():
        raise ScriptError(f"{source} has no index.html")
    uploads = []
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        key = path.relative_to(source).as_posix()
        if path.name in SKIP or any(part.startswith(".") for part in Path(key).parts):
            continue
        uploads.append(Upload(key, path.read_bytes(), content_type(key), cache_control(key)))
    body = (json.dumps(config(outputs), indent=2) + "\n").encode("utf-8")
    uploads.append(Upload("config.json", body, content_type("config.json"), NO_CACHE))
    return uploads


def _unchanged(s3: Any, bucket: str, upload: Upload) -> bool:
    from botocore.exceptions import ClientError

    try:
        head = s3.head_object(Bucket=bucket, Key=upload.key)
    except ClientError:
        return False
    return (head.get("ETag", "").strip('"') == upload.md5 and head.get("ContentType") == upload.content_type
            and head.get("CacheControl") == upload.cache_control)


def invalidation_paths(changed: list[str]) -> list[str]:
    """The root (CloudFront caches the default root object under "/"), index.html, config.json, changed files."""
    paths = ["/", "/index.html", "/config.json"]
    return paths + [f"/{k}" for k in changed if f"/{k}" not in paths]


def publish(outputs: dict[str, str], s3: Any, cloudfront: Any, *, dry_run: bool = False, force: bool = False,
            source: Path = FRONTEND, out: Any = sys.stdout) -> dict[str, Any]:
    """Upload and invalidate; returns {"uploaded": [...], "unchanged": [...], "invalidation": id or None}."""
    check_outputs(outputs)
    bucket, distribution = outputs["FrontendBucketName"], outputs["FrontendDistributionId"]
    uploaded, unchanged = [], []
    for upload in plan(outputs, source):
        if not force and _unchanged(s3, bucket, upload):
            unchanged.append(upload.key)
            continue
        uploaded.append(upload.key)
        print(f"{'would upload' if dry_run else 'upload'} s3://{bucket}/{upload.key} "
              f"({upload.content_type}; {upload.cache_control}; {len(upload.body)} bytes)", file=out)
        if not dry_run:
            s3.put_object(Bucket=bucket, Key=upload.key, Body=upload.body, ContentType=upload.content_type,
                          CacheControl=upload.cache_control)
    paths = invalidation_paths(uploaded)
    invalidation = None
    if dry_run:
        print(f"would invalidate {' '.join(paths)} on {distribution}", file=out)
    else:
        invalidation = cloudfront.create_invalidation(DistributionId=distribution, InvalidationBatch={
            "Paths": {"Quantity": len(paths), "Items": paths},
            "CallerReference": f"deploy-frontend-{time.time_ns()}"})["Invalidation"]["Id"]
        print(f"invalidation {invalidation} on {distribution}: {' '.join(paths)}", file=out)
    print(f"{len(uploaded)} {'to upload' if dry_run else 'uploaded'}, {len(unchanged)} unchanged; "
          f"app: {outputs['FrontendUrl']}", file=out)
    return {"uploaded": uploaded, "unchanged": unchanged, "invalidation": invalidation, "paths": paths}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import boto3

    session = boto3.Session(profile_name=args.profile, region_name=args.region)
    stack = args.stack_name or f"switchboard-{args.stage}"
    try:
        outputs = stack_outputs(session.client("cloudformation"), stack)
        publish(outputs, session.client("s3"), session.client("cloudfront"), dry_run=args.dry_run, force=args.force)
    except ScriptError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

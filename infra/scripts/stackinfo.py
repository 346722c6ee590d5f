"""What the ops scripts share: their error type, and reading a deployed stack's outputs."""

from __future__ import annotations

from typing import Any


class ScriptError(Exception):
    """A problem the operator can fix (wrong stack, missing output, missing flag): printed, exit 2."""


def stack_outputs(cfn: Any, stack: str) -> dict[str, str]:
    from botocore.exceptions import ClientError

    try:
        stacks = cfn.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc):
            raise ScriptError(f"stack {stack} not found (is --stage/--stack-name/--region right?)") from None
        raise
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}

#!/usr/bin/env python3
"""Create a Switchboard agent or admin in the stack's Cognito user pool (self sign-up is off).

Cognito emails the user a temporary password (AdminCreateUser, DesiredDeliveryMediums EMAIL); they choose their
own at first sign-in. Running it again for an existing user only makes sure they are in the group.

  .venv/bin/python infra/scripts/create-admin.py --stage dev --email ops@example.com              # admin
  .venv/bin/python infra/scripts/create-admin.py --stage prod --email ana@example.com --role agent
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # stackinfo.py, beside this script
from stackinfo import ScriptError, stack_outputs

ROLES = ("admin", "agent")  # the template's AdminGroup and AgentGroup GroupName
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")




def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Create a Cognito user (emailed a temporary password) and put them in the admin or agent group.")
    parser.add_argument("--stage", required=True, choices=["dev", "prod"], help="deployment stage")
    parser.add_argument("--email", required=True, help="the user's email address (their username)")
    parser.add_argument("--role", choices=ROLES, default="admin", help="group to add the user to (default: admin)")
    parser.add_argument("--stack-name", help="CloudFormation stack (default: switchboard-<stage>)")
    parser.add_argument("--region", help="AWS region (default: from the environment or profile)")
    parser.add_argument("--profile", help="AWS profile")
    args = parser.parse_args(argv)
    args.email = args.email.strip().lower()
    if not EMAIL.match(args.email):
        parser.error(f"--email {args.email!r} is not an email address")
    return args


def user_pool_id(cfn: Any, stack: str) -> str:
    outputs = stack_outputs(cfn, stack)
    if not outputs.get("UserPoolId"):
        raise ScriptError(f"stack {stack} has no UserPoolId output")
    return outputs["UserPoolId"]


def ensure_user(cognito: Any, pool_id: str, email: str, role: str, out: Any = sys.stdout) -> dict[str, Any]:
    """Create the user unless they exist, then add them to `role`'s group. Returns {"created", "username"}."""
    if role not in ROLES:
        raise ScriptError(f"role must be one of {', '.join(ROLES)}")
    try:
        user = cognito.admin_create_user(
            UserPoolId=pool_id, Username=email,
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
            DesiredDeliveryMediums=["EMAIL"])["User"]
        created, username = True, user["Username"]
        print(f"created {email}; Cognito emails them a temporary password", file=out)
    except cognito.exceptions.UsernameExistsException:
        created, username = False, cognito.admin_get_user(UserPoolId=pool_id, Username=email)["Username"]
        print(f"{email} already exists; not changed", file=out)
    groups = {g["GroupName"] for g in cognito.admin_list_groups_for_user(
        UserPoolId=pool_id, Username=username).get("Groups", [])}
    if role in groups:
        print(f"{email} is already in group {role}", file=out)
    else:
        try:
            cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=role)
        except cognito.exceptions.ResourceNotFoundException:
            raise ScriptError(f"user pool {pool_id} has no group {role!r}") from None
        print(f"added {email} to group {role}", file=out)
    other = groups - {role}
    if other:
        print(f"note: {email} is also in {', '.join(sorted(other))} (not removed)", file=out)
    return {"created": created, "username": username}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import boto3

    session = boto3.Session(profile_name=args.profile, region_name=args.region)
    try:
        pool_id = user_pool_id(session.client("cloudformation"), args.stack_name or f"switchboard-{args.stage}")
        ensure_user(session.client("cognito-idp"), pool_id, args.email, args.role)
    except ScriptError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

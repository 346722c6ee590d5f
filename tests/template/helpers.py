"""template.yaml read once, with the lookups the invariant tests share (functions, roles, statements, events)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from infra.local.template import function_properties, load, resources

ROOT = Path(__file__).resolve().parents[2]
XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}  # X-Ray has no resource-level permissions


@cache
def template() -> dict[str, Any]:
    return load(ROOT / "template.yaml")


def resource(name: str) -> dict[str, Any]:
    return template()["Resources"][name]


def props(name: str) -> dict[str, Any]:
    return resource(name).get("Properties") or {}


def of_type(kind: str) -> dict[str, dict[str, Any]]:
    return resources(template(), kind)


def functions() -> dict[str, dict[str, Any]]:
    """Every function's properties, Globals applied."""
    return {name: function_properties(template(), name) for name in of_type("AWS::Serverless::Function")}


def target(value: Any) -> str | None:
    """The logical id a !Ref or !GetAtt points at."""
    if isinstance(value, dict):
        if "Ref" in value:
            return value["Ref"]
        if "Fn::GetAtt" in value:
            return value["Fn::GetAtt"][0]
    return None


def text(value: Any) -> str:
    """A value as the string CloudFormation would build, intrinsics written the !Sub way."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "Fn::Sub" in value:
            sub = value["Fn::Sub"]
            return sub if isinstance(sub, str) else sub[0]
        if "Ref" in value:
            return "${" + value["Ref"] + "}"
        if "Fn::GetAtt" in value:
            return "${" + ".".join(value["Fn::GetAtt"]) + "}"
    return repr(value)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@dataclass(frozen=True)
class Event:
    function: str
    name: str
    type: str
    properties: dict[str, Any]


def events(kind: str | None = None) -> list[Event]:
    found = []
    for fn, fprops in functions().items():
        for name, event in (fprops.get("Events") or {}).items():
            if kind is None or event.get("Type") == kind:
                found.append(Event(fn, name, event.get("Type"), event.get("Properties") or {}))
    return found


def role_name(function: str) -> str | None:
    """The explicit AWS::IAM::Role a function runs as, or None when SAM would generate one."""
    return target(functions()[function].get("Role"))


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]  # each as text(): "${Table.Arn}", "arn:${AWS::Partition}:ssm:..."
    raw: dict[str, Any]


def statements(function: str) -> list[Statement]:
    """Every IAM statement of a function's role (explicit role, or SAM `Policies` statements)."""
    docs: list[dict[str, Any]] = []
    role = role_name(function)
    if role:
        docs += [p.get("PolicyDocument") or {} for p in props(role).get("Policies") or []]
    for policy in as_list(functions()[function].get("Policies") or []):
        if isinstance(policy, dict) and "Statement" in policy:
            docs.append(policy)
    found = []
    for doc in docs:
        for st in as_list(doc.get("Statement") or []):
            found.append(Statement(effect=st.get("Effect", ""), actions=tuple(as_list(st.get("Action") or [])),
                                   resources=tuple(text(r) for r in as_list(st.get("Resource") or [])), raw=st))
    return found


def allowed(function: str, action: str) -> list[str]:
    """Resources (as text) on which a function's role allows `action`."""
    return [r for st in statements(function) if st.effect == "Allow" and action in st.actions for r in st.resources]


def webhook_channel(function: str) -> str | None:
    """The channel a webhook function serves (its /webhooks/<channel> route), or None for other functions."""
    paths = {e.properties.get("Path", "") for e in events("HttpApi") if e.function == function}
    channels = {p.split("/")[2] for p in paths if p.startswith("/webhooks/")}
    assert len(channels) <= 1, f"{function} serves several channels' webhooks: {channels}"
    return channels.pop() if channels else None


def alarms() -> dict[str, dict[str, Any]]:
    return {name: res.get("Properties") or {} for name, res in of_type("AWS::CloudWatch::Alarm").items()}

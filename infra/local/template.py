"""Reads template.yaml (with CloudFormation's short-form tags) and resolves the intrinsics the stack uses."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

NO_VALUE = object()


# libyaml's parser where PyYAML has it (ten times faster: the template is read by every integration test's stack)
class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    pass


def _tag(loader: Any, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        raise yaml.constructor.ConstructorError(None, None, f"unexpected {type(node).__name__} under !{suffix}",
                                                node.start_mark)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_Loader.add_multi_constructor("!", _tag)


_parsed: dict[tuple[str, int, int], dict[str, Any]] = {}


def load(path: str | Path) -> dict[str, Any]:
    """The template as a dict: parsed once per file version (path, size, mtime), a copy of its own to each caller."""
    stat = Path(path).stat()
    key = (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _parsed:
        with open(path, encoding="utf-8") as f:
            _parsed[key] = yaml.load(f, Loader=_Loader)  # noqa: S506 - SafeLoader subclass with intrinsic tags only
    return copy.deepcopy(_parsed[key])


@dataclass
class Resolver:
    """Resolves Ref, GetAtt, Sub, Join, If against local physical ids."""

    template: dict[str, Any]
    region: str = "us-east-1"
    account: str = "123456789012"
    parameters: dict[str, Any] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    attrs: dict[tuple[str, str], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, spec in (self.template.get("Parameters") or {}).items():
            self.parameters.setdefault(name, spec.get("Default", ""))

    def pseudo(self, name: str) -> Any:
        return {"AWS::Region": self.region, "AWS::AccountId": self.account, "AWS::Partition": "aws",
                "AWS::StackName": "switchboard-local", "AWS::URLSuffix": "amazonaws.com",
                "AWS::NoValue": NO_VALUE}.get(name)

    def ref(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        if name.startswith("AWS::"):
            return self.pseudo(name)
        return self.refs.get(name, f"local-{name}")

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template.get("Conditions", {})[name]))

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self.resolve(x) for x in value) if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                return self.attrs.get((arg[0], arg[1]), f"local-{arg[0]}-{arg[1]}")
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::Join":
                return arg[0].join(str(self.resolve(x)) for x in arg[1])
            if key == "Fn::If":
                return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])
            if key == "Fn::Equals":
                return str(self.resolve(arg[0])) == str(self.resolve(arg[1]))
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Condition":
                return self.condition(arg)
        return {k: r for k, r in ((k, self.resolve(v)) for k, v in value.items()) if r is not NO_VALUE}

    def _sub(self, arg: Any) -> str:
        text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in extra:
                return str(self.resolve(extra[name]))
            if "." in name and not name.startswith("AWS::"):
                res, att = name.split(".", 1)
                return str(self.attrs.get((res, att), f"local-{res}-{att}"))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}!]+)\}", one, text)


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template.get("Resources", {}).items() if res.get("Type") == kind}


def function_properties(template: dict[str, Any], name: str) -> dict[str, Any]:
    """A function's properties with Globals applied, as SAM merges them."""
    merged = dict((template.get("Globals") or {}).get("Function") or {})
    props = template["Resources"][name].get("Properties", {})
    for key, value in props.items():
        if key == "Environment":
            variables = dict((merged.get("Environment") or {}).get("Variables") or {})
            variables.update((value or {}).get("Variables") or {})
            merged["Environment"] = {"Variables": variables}
        else:
            merged[key] = value
    return merged

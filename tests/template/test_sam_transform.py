"""What SAM makes of the template (the same transform `sam validate` and CloudFormation run), offline."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from tests.template.helpers import ROOT, functions, role_name


class NoManagedPolicies:
    """SAM asks for the account's managed policy names only to expand names in `Policies`; we use none."""

    def load(self) -> dict[str, str]:
        return {}


@cache
def transformed() -> dict[str, Any]:
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    template = yaml_parse((ROOT / "template.yaml").read_text(encoding="utf-8"))
    for res in template["Resources"].values():  # as after `sam package`: code is in S3
        for key in ("CodeUri", "ContentUri"):
            if key in (res.get("Properties") or {}):
                res["Properties"][key] = "s3://bucket/key"
    return transform(copy.deepcopy(template), {"AWS::Region": "us-east-1"}, NoManagedPolicies())


def of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {n: r for n, r in transformed()["Resources"].items() if r["Type"] == kind}


def test_every_lambda_function_runs_as_its_declared_role():
    lambdas = of_type("AWS::Lambda::Function")
    assert set(lambdas) == set(functions())
    for name, fn in lambdas.items():
        assert fn["Properties"]["Role"] == {"Fn::GetAtt": [role_name(name), "Arn"]}


def test_sam_attaches_no_managed_policy_to_any_role():
    for name, role in of_type("AWS::IAM::Role").items():
        assert not role["Properties"].get("ManagedPolicyArns"), name


def test_event_source_mappings_report_batch_item_failures_and_fifo_has_no_window():
    mappings = of_type("AWS::Lambda::EventSourceMapping")
    assert len(mappings) == 4  # inbound, outbound, events (growth), help center publishing
    for mapping in mappings.values():
        props = mapping["Properties"]
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        fifo = ({"Fn::GetAtt": ["OutboundQueue", "Arn"]}, {"Fn::GetAtt": ["HelpPublishQueue", "Arn"]})
        if props["EventSourceArn"] in fifo:
            assert props["BatchSize"] <= 10 and "MaximumBatchingWindowInSeconds" not in props


def test_schedules_invoke_their_functions():
    schedules = of_type("AWS::Scheduler::Schedule")
    targets = {s["Properties"]["Target"]["Arn"]["Fn::GetAtt"][0] for s in schedules.values()}
    assert targets == {"AutoReplyFunction", "RetentionFunction", "SurveyFunction", "TemplateSyncFunction",
                       "TimersFunction", "EventsRetryFunction"}

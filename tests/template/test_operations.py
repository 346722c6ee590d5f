"""What ops get from template.yaml: an alarm on every DLQ, function, the webhook 5xx rate, the sender's failure rate and
survey bounces, all to one SNS topic (AlarmEmail); a dashboard showing every function and queue; tracing on;
throttling on every webhook route; and a README runbook entry for every alarm."""

from __future__ import annotations

import json
import re

import pytest

from tests.template.helpers import ROOT, alarms, events, functions, of_type, props, target, template, text

FUNCTIONS = sorted(functions())
ALARMS = alarms()
README = (ROOT / "README.md").read_text()
RUNBOOK = (ROOT / "docs" / "runbook.md").read_text()
SOURCE = "\n".join(p.read_text() for p in (ROOT / "layers" / "shared" / "switchboard").rglob("*.py"))


def dlqs() -> dict[str, str]:
    """Every dead-letter queue: of a source queue's redrive policy, or of an asynchronous invocation's failures."""
    found = {}
    for name, queue in of_type("AWS::SQS::Queue").items():
        redrive = (queue.get("Properties") or {}).get("RedrivePolicy")
        if redrive:
            found[target(redrive["deadLetterTargetArn"])] = f"redrive policy of {name}"
    for fn, fprops in functions().items():
        destination = ((fprops.get("EventInvokeConfig") or {}).get("DestinationConfig") or {}).get("OnFailure") or {}
        if destination.get("Type") == "SQS":
            found[target(destination["Destination"])] = f"failed invocations of {fn}"
    return found


def fires_above_zero(alarm: dict) -> bool:
    return float(alarm.get("Threshold", -1)) == 0 and alarm.get("ComparisonOperator") == "GreaterThanThreshold"


def alarms_on(namespace: str, metric: str, dimension: str, value: str) -> list[str]:
    return [name for name, a in ALARMS.items() if a.get("Namespace") == namespace and a.get("MetricName") == metric
            and any(d["Name"] == dimension and text(d["Value"]) == value for d in a.get("Dimensions") or [])]


# -- alarms ----------------------------------------------------------------------------------------------------------
def test_every_dlq_is_found_and_alarmed_on_its_first_message():
    found = dlqs()
    assert {"InboundDLQ", "OutboundDLQ", "EmailDLQ"} <= set(found)
    for dlq, why in found.items():
        names = alarms_on("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "${" + dlq + ".QueueName}")
        assert names, f"no depth alarm on {dlq} ({why})"
        assert all(fires_above_zero(ALARMS[n]) and ALARMS[n]["Statistic"] == "Maximum" for n in names), names


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_alarms_on_its_first_error_and_throttle(function, metric):
    names = alarms_on("AWS/Lambda", metric, "FunctionName", "${" + function + "}")
    assert names and all(fires_above_zero(ALARMS[n]) and ALARMS[n]["Statistic"] == "Sum" for n in names)


def metric_math(alarm: dict) -> dict[str, dict]:
    return {m["Id"]: m for m in alarm.get("Metrics") or []}


def powertools_dimensions() -> list[dict]:
    """The dimension Powertools Metrics puts on every EMF metric: the service name."""
    service = template()["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
    return [{"Name": "service", "Value": service}]


def test_the_sender_failure_rate_is_alarmed_from_the_senders_own_metrics():
    rate = [a for a in ALARMS.values()
            if {m.get("MetricStat", {}).get("Metric", {}).get("MetricName") for m in a.get("Metrics") or []}
            >= {"SendFailures", "RepliesSent"}]
    assert len(rate) == 1
    (alarm,) = rate
    series = metric_math(alarm)
    returned = [m for m in series.values() if m.get("ReturnData")]
    assert len(returned) == 1 and "/" in returned[0]["Expression"] and "FILL" in returned[0]["Expression"]
    for m in series.values():
        if "MetricStat" in m:
            metric = m["MetricStat"]["Metric"]
            assert text(metric["Namespace"]) == "Switchboard/${Stage}"
            # EMF metrics carry the service dimension: an alarm without it would watch a metric nobody writes
            assert metric["Dimensions"] == powertools_dimensions()
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold" and 0 < float(alarm["Threshold"]) < 100


def test_every_switchboard_metric_an_alarm_or_the_dashboard_reads_is_written_by_the_code_or_a_metric_filter():
    filters = {t["MetricName"] for f in of_type("AWS::Logs::MetricFilter").values()
               for t in f["Properties"]["MetricTransformations"]}
    emitted = set(re.findall(r'observability\.(?:count|seconds)\(\s*"(\w+)"', SOURCE))
    assert {"SendFailures", "RepliesSent", "MessagesReceived"} <= emitted
    read = {m["MetricStat"]["Metric"]["MetricName"] for a in ALARMS.values() for m in a.get("Metrics") or []
            if "MetricStat" in m and text(m["MetricStat"]["Metric"]["Namespace"]).startswith("Switchboard/")}
    for widget in dashboard()[1]["widgets"]:
        namespace = None
        for row in widget["properties"].get("metrics", []):
            namespace = namespace if row[0] in (".", "...") else row[0]  # "." repeats the row above's value
            if namespace.startswith("Switchboard/") and row[0] != "...":
                read.add(row[1])
    assert {"SendFailures", "RepliesSent", "WebhookServerErrors"} <= read
    assert read <= emitted | filters, read - emitted - filters


def test_survey_bounces_are_alarmed():
    bounce = [a for a in ALARMS.values() if a.get("Namespace") == "AWS/SES" and "Bounce" in a.get("MetricName", "")]
    assert bounce and all(float(a["Threshold"]) > 0 for a in bounce)


def test_every_alarm_notifies_the_topic_that_alarm_email_subscribes_to():
    assert "AlarmEmail" in template()["Parameters"]
    topic = props("AlarmTopic")
    condition, subscribed, otherwise = topic["Subscription"]["Fn::If"]
    assert template()["Conditions"][condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}
    assert subscribed == [{"Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}] and otherwise == {"Ref": "AWS::NoValue"}
    for name, alarm in ALARMS.items():
        assert [target(a) for a in alarm.get("AlarmActions", [])] == ["AlarmTopic"], name
    assert target(template()["Outputs"]["AlarmTopicArn"]["Value"]) == "AlarmTopic"


# -- dashboard -------------------------------------------------------------------------------------------------------
def dashboard() -> tuple[str, dict]:
    body = props("Dashboard")["DashboardBody"]["Fn::Sub"]
    return body, json.loads(re.sub(r"\$\{[^}]+\}", "x", body))  # valid JSON once CloudFormation substitutes


def test_the_dashboard_shows_every_function_and_every_queue():
    body, parsed = dashboard()
    assert len(parsed["widgets"]) >= 8
    for fn in FUNCTIONS:
        assert body.count("${" + fn + "}") >= 3, f"{fn}: errors, throttles and duration"
    for queue in of_type("AWS::SQS::Queue"):
        assert "${" + queue + ".QueueName}" in body, queue
    assert "${Dashboard}" in text(template()["Outputs"]["DashboardUrl"]["Value"])


# -- tracing, logging, throttling ------------------------------------------------------------------------------------
@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_is_traced(function):
    assert functions()[function].get("Tracing") == "Active"
    variables = ((functions()[function].get("Environment") or {}).get("Variables") or {})
    assert "POWERTOOLS_TRACE_DISABLED" not in variables


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_handler_logs_through_powertools_with_the_lambda_context(function):
    source = (ROOT / functions()[function]["CodeUri"] / "app.py").read_text()
    # a scheduled function's handler is built by switchboard/scheduled.py, which injects the context into its logger
    assert "Logger()" in source and ("@logger.inject_lambda_context" in source or "scheduled.handler(logger," in source)
    routes = [e for e in events("HttpApi") if e.function == function]
    if routes:  # HTTP requests: the API Gateway request id is the correlation id
        assert "correlation_id_path=correlation_paths.API_GATEWAY_HTTP" in source


def test_every_webhook_route_has_its_own_throttling_limits():
    api = props("HttpApi")
    default = api["DefaultRouteSettings"]
    assert int(default["ThrottlingRateLimit"]) > 0 and int(default["ThrottlingBurstLimit"]) > 0
    routes = {f"{e.properties['Method']} {e.properties['Path']}" for e in events("HttpApi")}
    settings = api["RouteSettings"]
    assert set(settings) <= routes, "a route setting for a route that does not exist fails the deployment"
    webhooks = {r for r in routes if r.startswith("POST /webhooks/")}
    assert len(webhooks) == 7  # issue 17: /webhooks/voice and /webhooks/voice/recording
    for route in webhooks:
        limits = settings.get(route)
        assert limits, f"{route} has no throttling limits of its own"
        assert 0 < int(limits["ThrottlingRateLimit"]) <= int(limits["ThrottlingBurstLimit"])


# -- the runbook -------------------------------------------------------------------------------------------------------
FUNCTION_ALARM = re.compile(r"^(?P<name>\w+?)(?P<kind>Errors|Throttles)Alarm$")


@pytest.mark.parametrize("alarm", sorted(ALARMS))
def test_the_readme_and_the_runbook_cover_every_alarm(alarm):
    match = FUNCTION_ALARM.match(alarm)
    if match and f"{match['name']}Function" in FUNCTIONS:
        # one row per kind for all functions, naming each of them
        assert f"`<Name>{match['kind']}Alarm`" in README and f"`{match['name']}`" in README
        assert f"`<Name>{match['kind']}Alarm`" in RUNBOOK and f"`{match['name']}`" in RUNBOOK
        return
    row = re.search(rf"^\| `{alarm}` \|(?P<fires>[^|]+)\|(?P<step>[^|]+)\|", README, re.MULTILINE)
    assert row and row["fires"].strip() and row["step"].strip(), f"README's Operations table has no row for {alarm}"
    section = re.search(rf"^### {alarm}\n(?P<text>.*?)(?=^##)", RUNBOOK, re.MULTILINE | re.DOTALL)
    assert section and "**Meaning.**" in section["text"] and "**What to do.**" in section["text"], alarm

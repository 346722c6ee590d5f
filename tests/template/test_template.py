"""Invariants of template.yaml: runtime, queues and their DLQs, logs, least privilege, data, auth and alarms."""

from __future__ import annotations

import re

import pytest

from tests.template.helpers import (
    XRAY_ACTIONS,
    alarms,
    allowed,
    as_list,
    events,
    functions,
    of_type,
    props,
    resource,
    role_name,
    statements,
    target,
    template,
    text,
    webhook_channel,
)

FUNCTIONS = sorted(functions())
WEBHOOK_FUNCTIONS = [fn for fn in FUNCTIONS if webhook_channel(fn)]
SQS_EVENTS = events("SQS")
SSM_ARN = re.compile(r"^arn:\$\{AWS::Partition\}:ssm:\$\{AWS::Region\}:\$\{AWS::AccountId\}:parameter(?P<path>/.+)$")


def sqs_sources_of(function: str) -> set[str]:
    return {target(e.properties["Queue"]) for e in SQS_EVENTS if e.function == function}


def dlq_of(queue: str) -> str | None:
    redrive = props(queue).get("RedrivePolicy")
    return target(redrive["deadLetterTargetArn"]) if redrive else None


# -- runtime ------------------------------------------------------------------------------------------
def test_the_template_declares_the_resources_the_local_stack_and_contracts_use():
    expected = {"Table", "InboundQueue", "InboundDLQ", "OutboundQueue", "OutboundDLQ", "MediaBucket", "HttpApi",
                "WhatsAppWebhookFunction", "ProcessorFunction", "SenderFunction", "AgentApiFunction",
                "AutoReplyFunction", "RetentionFunction", "SurveyFunction"}
    assert expected <= set(template()["Resources"])


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_is_python313_on_arm64(function):
    fprops = functions()[function]
    assert fprops["Runtime"] == "python3.13"
    assert fprops["Architectures"] == ["arm64"]


def test_the_shared_layer_is_built_for_the_functions_runtime():
    layer = resource("SharedLayer")
    assert layer["Metadata"] == {"BuildMethod": "python3.13", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]


@pytest.mark.parametrize("name", ["AutoReplyFunction", "RetentionFunction", "SurveyFunction"])
def test_scheduled_jobs_keep_their_logical_ids_and_a_rate(name):
    schedules = [e for e in events("ScheduleV2") if e.function == name]
    assert schedules and all(re.fullmatch(r"rate\(\d+ \w+\)", e.properties["ScheduleExpression"]) for e in schedules)


# -- queues -------------------------------------------------------------------------------------------
def test_there_are_sqs_event_sources():
    assert {target(e.properties["Queue"]) for e in SQS_EVENTS} == {"InboundQueue", "OutboundQueue", "EventsQueue",
                                                                   "HelpPublishQueue"}


@pytest.mark.parametrize("event", SQS_EVENTS, ids=lambda e: f"{e.function}.{e.name}")
def test_every_sqs_event_source_reports_batch_item_failures(event):
    assert event.properties.get("FunctionResponseTypes") == ["ReportBatchItemFailures"]


@pytest.mark.parametrize("event", SQS_EVENTS, ids=lambda e: f"{e.function}.{e.name}")
def test_every_sqs_event_source_mapping_is_valid_for_its_queue(event):
    queue = props(target(event.properties["Queue"]))
    batch = int(event.properties.get("BatchSize", 10))
    window = int(event.properties.get("MaximumBatchingWindowInSeconds", 0))
    if queue.get("FifoQueue"):
        # Lambda: FIFO sources take at most 10 records a batch and no batching window.
        assert batch <= 10
        assert "MaximumBatchingWindowInSeconds" not in event.properties
    else:
        assert batch <= 10 or window >= 1, "a batch over 10 needs a batching window of at least 1 s"


@pytest.mark.parametrize("event", SQS_EVENTS, ids=lambda e: f"{e.function}.{e.name}")
def test_every_source_queue_dead_letters_to_a_queue_of_its_own_type(event):
    queue = target(event.properties["Queue"])
    redrive = props(queue).get("RedrivePolicy")
    assert redrive, f"{queue} has no RedrivePolicy"
    dlq = dlq_of(queue)
    assert resource(dlq)["Type"] == "AWS::SQS::Queue"
    assert bool(props(dlq).get("FifoQueue")) == bool(props(queue).get("FifoQueue")), "a FIFO queue needs a FIFO DLQ"
    assert int(redrive["maxReceiveCount"]) >= 5, "fewer receives would dead-letter messages on throttling alone"
    # A standard queue's message keeps its age in the DLQ: the DLQ must keep it at least as long.
    assert int(props(dlq)["MessageRetentionPeriod"]) >= int(props(queue).get("MessageRetentionPeriod", 345600))


def on_failure_queues() -> set[str]:
    """Queues that catch asynchronous invocations which failed every retry (EventInvokeConfig OnFailure)."""
    found = set()
    for name in of_type("AWS::Serverless::Function"):
        destination = ((props(name).get("EventInvokeConfig") or {}).get("DestinationConfig") or {}).get("OnFailure")
        if destination and destination.get("Type") == "SQS":
            found.add(target(destination["Destination"]))
    return found


def test_every_queue_is_a_dlq_or_has_one():
    queues = set(of_type("AWS::SQS::Queue"))
    dlqs = ({dlq_of(q) for q in queues} - {None}) | on_failure_queues()
    for queue in queues - dlqs:
        assert dlq_of(queue) in dlqs, f"{queue} has no DLQ"


def test_asynchronously_invoked_functions_have_a_failure_destination_and_bounded_retries():
    for name in of_type("AWS::Serverless::Function"):
        config = props(name).get("EventInvokeConfig")
        if config:
            assert int(config["MaximumRetryAttempts"]) <= 2
            assert config["DestinationConfig"]["OnFailure"]["Type"] == "SQS"


def test_the_sender_gives_up_on_the_receive_the_outbound_queue_dead_letters_after():
    # On its last receive a still-retryable reply is marked failed (with why) instead of sitting "queued" in the DLQ.
    from switchboard.settings_model import Settings

    max_receives = int(props("OutboundQueue")["RedrivePolicy"]["maxReceiveCount"])
    variables = (functions()["SenderFunction"].get("Environment") or {}).get("Variables") or {}
    configured = {"SEND_MAX_ATTEMPTS": variables["SEND_MAX_ATTEMPTS"]} if "SEND_MAX_ATTEMPTS" in variables else {}
    assert Settings.model_validate(configured).send_max_attempts == max_receives


@pytest.mark.parametrize("event", SQS_EVENTS, ids=lambda e: f"{e.function}.{e.name}")
def test_visibility_timeout_is_at_least_six_times_the_consumers_timeout(event):
    queue = target(event.properties["Queue"])
    timeout = int(functions()[event.function]["Timeout"])
    assert int(props(queue)["VisibilityTimeout"]) >= 6 * timeout


def test_every_queue_is_encrypted():
    for name, queue in of_type("AWS::SQS::Queue").items():
        q = queue["Properties"]
        assert q.get("SqsManagedSseEnabled") or q.get("KmsMasterKeyId"), name


# -- logs ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_has_a_log_group_with_retention(function):
    group = target((functions()[function].get("LoggingConfig") or {}).get("LogGroup"))
    assert group, f"{function} has no LoggingConfig.LogGroup"
    assert resource(group)["Type"] == "AWS::Logs::LogGroup"
    assert props(group).get("RetentionInDays")


def test_log_groups_are_not_shared():
    groups = [target(functions()[fn]["LoggingConfig"]["LogGroup"]) for fn in FUNCTIONS]
    assert len(groups) == len(set(groups))


def test_every_log_group_has_retention():
    for name, group in of_type("AWS::Logs::LogGroup").items():
        assert group["Properties"].get("RetentionInDays"), name


# -- least privilege ----------------------------------------------------------------------------------
@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_has_a_role_of_its_own_with_no_managed_policies(function):
    # SAM-generated roles get AWS managed policies with Resource "*" (every log group; every queue for SQS
    # sources), so each function names an explicit role instead.
    role = role_name(function)
    assert role, f"{function} has no explicit Role"
    assert resource(role)["Type"] == "AWS::IAM::Role"
    assert not props(role).get("ManagedPolicyArns")
    assert "Policies" not in functions()[function], "SAM ignores Policies when a Role is given"
    trust = props(role)["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "lambda.amazonaws.com"}]
    others = [fn for fn in FUNCTIONS if fn != function and role_name(fn) == role]
    assert not others, f"{function} shares its role with {others}"


# Actions IAM cannot scope to a resource (no resource type): granted on "*" alone in their statement, held by a
# condition to our own bucket instead where the action has one. Transcribe's output location (issue 17: voicemail
# transcripts); a job's state (TimersFunction's check of a job whose end did not come), a read with no condition key.
UNSCOPABLE = {"transcribe:StartTranscriptionJob": {
    "StringEquals": {"transcribe:OutputBucketName": {"Ref": "MediaBucket"}},
    "StringLike": {"transcribe:OutputKey": "transcripts/*"}},
    "transcribe:GetTranscriptionJob": None}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_function_is_granted_a_wildcard_action_or_resource(function):
    for st in statements(function):
        assert st.effect == "Allow" and "NotAction" not in st.raw and "NotResource" not in st.raw
        for action in st.actions:
            assert "*" not in action, f"{function}: {action}"
        if set(st.actions) & set(UNSCOPABLE):
            (action,) = st.actions
            assert st.raw.get("Condition") == UNSCOPABLE[action], f"{function}: {action} without its condition"
        elif set(st.actions) - XRAY_ACTIONS:
            assert "*" not in st.resources, f"{function}: {st.actions} on every resource"


def test_only_the_processor_starts_transcriptions_and_only_its_stages_jobs_reach_the_transcripts_function():
    # issue 17: one job name prefix, in the processor that names the jobs, the function and its rule, and the timers
    # that check a job whose end did not come (they alone ask Transcribe about a job)
    starters = [fn for fn in FUNCTIONS if allowed(fn, "transcribe:StartTranscriptionJob")]
    assert starters == ["ProcessorFunction"]
    assert [fn for fn in FUNCTIONS if allowed(fn, "transcribe:GetTranscriptionJob")] == ["TimersFunction"]
    prefix = {"Fn::Sub": "switchboard-${Stage}-"}
    for fn in ("ProcessorFunction", "TranscriptsFunction", "TimersFunction"):
        assert functions()[fn]["Environment"]["Variables"]["TRANSCRIBE_JOB_PREFIX"] == prefix
    (rule,) = events("EventBridgeRule")
    assert rule.function == "TranscriptsFunction"
    pattern = rule.properties["Pattern"]
    assert pattern["source"] == ["aws.transcribe"] and pattern["detail-type"] == ["Transcribe Job State Change"]
    assert pattern["detail"] == {"TranscriptionJobStatus": ["COMPLETED", "FAILED"],
                                 "TranscriptionJobName": [{"prefix": prefix}]}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_function_can_scan_the_table(function):
    # Every access pattern is a GetItem or a Query (ARCHITECTURE.md, Data).
    assert not any(a in ("dynamodb:Scan", "dynamodb:*") for st in statements(function) for a in st.actions)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_writes_its_own_log_group_only(function):
    group = target(functions()[function]["LoggingConfig"]["LogGroup"])
    assert allowed(function, "logs:PutLogEvents") == ["${" + group + ".Arn}"]
    assert allowed(function, "logs:CreateLogStream") == ["${" + group + ".Arn}"]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_traced_functions_may_send_traces(function):
    if functions()[function].get("Tracing") == "Active":
        assert all(allowed(function, action) for action in XRAY_ACTIONS)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_function_consumes_only_the_queues_it_is_mapped_to(function):
    sources = {"${" + q + ".Arn}" for q in sqs_sources_of(function)}
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
        assert set(allowed(function, action)) == sources, f"{function}: {action}"


@pytest.mark.parametrize("function", WEBHOOK_FUNCTIONS)
def test_a_webhook_function_writes_only_its_dedupe_marker_and_the_inbound_queue(function):
    granted = {(a, r) for st in statements(function) for a in st.actions for r in st.resources
               if not a.startswith(("logs:", "xray:", "ssm:"))}
    # BatchGetItem: a batch too large to claim inline reads which of its events were processed already.
    # issue 17: the voice webhook also reads the settings item (the greeting it speaks, by business hours).
    reads = {("dynamodb:GetItem", "${Table.Arn}")} if function == "VoiceWebhookFunction" else set()
    assert granted == {("dynamodb:PutItem", "${Table.Arn}"), ("dynamodb:BatchGetItem", "${Table.Arn}"),
                       ("sqs:SendMessage", "${InboundQueue.Arn}")} | reads


@pytest.mark.parametrize("function", WEBHOOK_FUNCTIONS)
def test_a_webhook_function_reads_only_its_own_channels_secrets(function):
    channel = webhook_channel(function)
    # issue 17: calls come to the SMS number, on the same Twilio account: voice checks signatures with its token.
    own = f"/switchboard/${{Stage}}/{'sms' if channel == 'voice' else channel}/"
    assert functions()[function]["Environment"]["Variables"].get("CHANNEL") == channel
    for st in statements(function):
        for action in st.actions:
            if action.startswith("ssm:"):
                assert action == "ssm:GetParameter"
                for res in st.resources:
                    m = SSM_ARN.match(res)
                    assert m and m["path"].startswith(own) and "*" not in res, f"{function} may read {res}"
    for var, value in functions()[function]["Environment"]["Variables"].items():
        if var.endswith("_PARAM"):
            assert text(value).startswith(own), f"{function}.{var} names another channel's parameter"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_secret_a_function_names_is_under_its_stage_and_readable_by_it(function):
    readable = {SSM_ARN.match(r)["path"] for r in allowed(function, "ssm:GetParameter") if SSM_ARN.match(r)}
    named = set()
    for var, value in functions()[function]["Environment"]["Variables"].items():
        if var.endswith("_PARAM"):
            path = text(value)
            assert re.fullmatch(r"/switchboard/\$\{Stage\}/[a-z0-9-]+/[a-z0-9-]+", path), f"{var}: {path}"
            named.add(path)
    assert named == readable, f"{function} reads parameters it does not name, or cannot read one it names"


# -- data ---------------------------------------------------------------------------------------------
def test_the_table_is_on_demand_recoverable_encrypted_and_expires_items():
    table = props("Table")
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert resource("Table")["DeletionPolicy"] == "Retain"


def test_the_table_has_its_indexes_with_declared_keys():
    table = props("Table")
    indexes = {i["IndexName"]: i for i in table["GlobalSecondaryIndexes"]}
    assert {"GSI1", "GSI2", "DueIndex"} <= set(indexes)
    declared = {a["AttributeName"] for a in table["AttributeDefinitions"]}
    for index in indexes.values():
        assert {k["AttributeName"] for k in index["KeySchema"]} <= declared


def test_the_media_bucket_is_private_encrypted_and_tls_only():
    bucket = props("MediaBucket")
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"][
        "SSEAlgorithm"] in ("AES256", "aws:kms", "aws:kms:dsse")
    policies = [p["Properties"] for p in of_type("AWS::S3::BucketPolicy").values()
                if target(p["Properties"]["Bucket"]) == "MediaBucket"]
    denies = [s for p in policies for s in p["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert any(s.get("Condition") == {"Bool": {"aws:SecureTransport": False}} for s in denies)


# -- HTTP API -----------------------------------------------------------------------------------------
PUBLIC_API_ROUTES = {"/api/health", "/api/openapi.json"}
HTTP_EVENTS = events("HttpApi")


def jwt_authorizers() -> set[str]:
    api = props("HttpApi")["Auth"]
    return {name for name, spec in api["Authorizers"].items() if spec.get("JwtConfiguration")}


def test_the_agent_api_defaults_to_the_jwt_authorizer():
    assert props("HttpApi")["Auth"]["DefaultAuthorizer"] in jwt_authorizers()


@pytest.mark.parametrize("event", [e for e in HTTP_EVENTS if e.properties["Path"].startswith("/api/")],
                         ids=lambda e: f"{e.properties.get('Method')} {e.properties['Path']}")
def test_every_agent_api_route_but_health_and_openapi_uses_the_jwt_authorizer(event):
    assert target(event.properties["ApiId"]) == "HttpApi"
    authorizer = (event.properties.get("Auth") or {}).get("Authorizer")
    if event.properties["Path"] in PUBLIC_API_ROUTES:
        return
    assert authorizer is None or authorizer in jwt_authorizers(), f"{event.properties['Path']}: {authorizer}"


@pytest.mark.parametrize("event", [e for e in HTTP_EVENTS if e.properties["Path"].startswith("/webhooks/")],
                         ids=lambda e: f"{e.properties.get('Method')} {e.properties['Path']}")
def test_webhook_routes_have_no_authorizer(event):
    # Providers cannot send a JWT: webhooks are authenticated by signature, in code.
    assert event.properties["Auth"]["Authorizer"] == "NONE"


# help center: readers' feedback, views and chats (rate limited per client address in code)
HELP_PUBLIC_ROUTES = ("/help/feedback", "/help/views", "/help/chats")


@pytest.mark.parametrize("event", HTTP_EVENTS, ids=lambda e: f"{e.properties.get('Method')} {e.properties['Path']}")
def test_no_route_is_public_by_accident(event):
    # Public routes authenticate in code: provider signatures, visitor tokens, signed survey links.
    authorizer = (event.properties.get("Auth") or {}).get("Authorizer")
    if authorizer == "NONE":
        path = event.properties["Path"]
        assert path in PUBLIC_API_ROUTES or path.startswith(("/webhooks/", "/webchat/", "/survey/")) \
            or path in HELP_PUBLIC_ROUTES, path


def test_each_webhook_channel_has_a_function_of_its_own():
    channels = [webhook_channel(fn) for fn in WEBHOOK_FUNCTIONS]
    assert len(channels) == len(set(channels)) and "whatsapp" in channels


def test_the_access_log_is_json_with_numeric_status_for_the_metric_filters():
    fmt = props("HttpApi")["AccessLogSettings"]["Format"]
    assert '"status":$context.status' in fmt and '"routeKey":"$context.routeKey"' in fmt


# -- alarms -------------------------------------------------------------------------------------------
def alarm_on(namespace: str, metric: str, dimension: str, value: str) -> list[str]:
    return [name for name, a in alarms().items()
            if a.get("Namespace") == namespace and a.get("MetricName") == metric
            and any(d["Name"] == dimension and text(d["Value"]) == value for d in a.get("Dimensions") or [])]


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_has_error_and_throttle_alarms(function, metric):
    assert alarm_on("AWS/Lambda", metric, "FunctionName", "${" + function + "}"), f"no {metric} alarm for {function}"


def test_every_dlq_has_a_depth_alarm():
    for queue in of_type("AWS::SQS::Queue"):
        dlq = dlq_of(queue)
        if dlq:
            assert alarm_on("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "${" + dlq + ".QueueName}")


@pytest.mark.parametrize("event", SQS_EVENTS, ids=lambda e: f"{e.function}.{e.name}")
def test_every_source_queue_has_a_message_age_alarm(event):
    queue = target(event.properties["Queue"])
    assert alarm_on("AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", "${" + queue + ".QueueName}")


def test_the_webhook_5xx_rate_is_alarmed_from_the_access_log():
    filters = {name: f["Properties"] for name, f in of_type("AWS::Logs::MetricFilter").items()
               if target(f["Properties"]["LogGroupName"]) == "HttpApiAccessLogs"}
    metrics = {t["MetricName"]: f["FilterPattern"] for f in filters.values() for t in f["MetricTransformations"]}
    assert "/webhooks/" in metrics["WebhookRequests"]
    assert "$.status >= 500" in metrics["WebhookServerErrors"]
    rate = [a for a in alarms().values()
            if {m.get("MetricStat", {}).get("Metric", {}).get("MetricName") for m in a.get("Metrics", [])}
            >= {"WebhookRequests", "WebhookServerErrors"}]
    assert rate and all(any(m.get("ReturnData") and "/" in m.get("Expression", "") for m in a["Metrics"]) for a in rate)


def test_every_alarm_notifies_the_alarm_topic():
    for name, alarm in alarms().items():
        assert [target(a) for a in alarm.get("AlarmActions", [])] == ["AlarmTopic"], name


def test_cloudwatch_can_publish_to_the_encrypted_alarm_topic():
    # Alarms cannot use a topic encrypted with the AWS managed aws/sns key: the key policy must grant CloudWatch.
    key = target(props("AlarmTopic")["KmsMasterKeyId"])
    assert key and resource(key)["Type"] == "AWS::KMS::Key"
    grants = [s for s in props(key)["KeyPolicy"]["Statement"] if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert grants and {"kms:Decrypt", "kms:GenerateDataKey*"} <= {a for s in grants for a in as_list(s["Action"])}


# -- outputs ------------------------------------------------------------------------------------------
def test_outputs_name_what_the_ops_scripts_read():
    outputs = template()["Outputs"]
    for prefix in ("Inbound", "Outbound"):
        assert target(outputs[f"{prefix}QueueUrl"]["Value"]) == f"{prefix}Queue"
        assert target(outputs[f"{prefix}DLQUrl"]["Value"]) == f"{prefix}DLQ"
        assert outputs[f"{prefix}DLQArn"]["Value"] == {"Fn::GetAtt": [f"{prefix}DLQ", "Arn"]}

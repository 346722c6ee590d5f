"""Creates the template's tables, queues and buckets on the AWS stand-in, with the template's own settings."""

from __future__ import annotations

import json
from typing import Any

from infra.local.template import Resolver, resources

STACK = "switchboard-local"


def create_all(template: dict[str, Any], resolver: Resolver, clients: dict[str, Any]) -> None:
    _tables(template, resolver, clients["dynamodb"])
    _queues(template, resolver, clients["sqs"])
    _buckets(template, resolver, clients["s3"])
    _log_groups(template, resolver)


def _tables(template: dict[str, Any], resolver: Resolver, ddb: Any) -> None:
    for name, res in resources(template, "AWS::DynamoDB::Table").items():
        props = resolver.resolve(res["Properties"])
        table = f"{STACK}-{name}"
        kwargs: dict[str, Any] = {
            "TableName": table, "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"], "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        try:
            ddb.create_table(**kwargs)
        except ddb.exceptions.ResourceInUseException:
            pass  # an external endpoint that already has it (a restarted stack)
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            try:
                ddb.update_time_to_live(TableName=table, TimeToLiveSpecification={
                    "AttributeName": ttl["AttributeName"], "Enabled": True})
            except ddb.exceptions.ClientError as exc:  # already enabled on a reused endpoint
                if "already enabled" not in str(exc).lower():
                    raise
        arn = ddb.describe_table(TableName=table)["Table"]["TableArn"]
        resolver.refs[name] = table
        resolver.attrs[(name, "Arn")] = arn


def _queues(template: dict[str, Any], resolver: Resolver, sqs: Any) -> None:
    queues = resources(template, "AWS::SQS::Queue")
    redrives: dict[str, Any] = {}
    for name, res in queues.items():
        props = res.get("Properties", {})
        fifo = bool(props.get("FifoQueue"))
        qname = f"{STACK}-{name}" + (".fifo" if fifo else "")
        attributes = {}
        for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "ReceiveMessageWaitTimeSeconds"):
            if key in props:
                attributes[key] = str(resolver.resolve(props[key]))
        if fifo:
            attributes["FifoQueue"] = "true"
            attributes["ContentBasedDeduplication"] = str(bool(props.get("ContentBasedDeduplication"))).lower()
        url = sqs.create_queue(QueueName=qname, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        resolver.refs[name] = url
        resolver.attrs[(name, "Arn")] = arn
        resolver.attrs[(name, "QueueName")] = qname
        resolver.attrs[(name, "QueueUrl")] = url
        if "RedrivePolicy" in props:
            redrives[name] = props["RedrivePolicy"]
    for name, policy in redrives.items():  # after every queue exists, so DLQ ARNs resolve
        resolved = resolver.resolve(policy)
        sqs.set_queue_attributes(QueueUrl=resolver.refs[name], Attributes={"RedrivePolicy": json.dumps({
            "deadLetterTargetArn": resolved["deadLetterTargetArn"],
            "maxReceiveCount": int(resolved["maxReceiveCount"])})})


def _buckets(template: dict[str, Any], resolver: Resolver, s3: Any) -> None:
    for name, res in resources(template, "AWS::S3::Bucket").items():
        bucket = f"{STACK}-{name}".lower()
        try:
            s3.create_bucket(Bucket=bucket)
        except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
            pass
        resolver.refs[name] = bucket
        resolver.attrs[(name, "Arn")] = f"arn:aws:s3:::{bucket}"
        _bucket_cors(resolver, res, bucket, s3)


def _bucket_cors(resolver: Resolver, res: dict[str, Any], bucket: str, s3: Any) -> None:
    """The template's CORS rules on the local bucket (browsers POST uploads to the media bucket). The local stack
    names its own served origin as the frontend's (the FrontendOrigin parameter)."""
    rules = resolver.resolve((res.get("Properties") or {}).get("CorsConfiguration") or {}).get("CorsRules") or []
    renamed = {"MaxAge": "MaxAgeSeconds", "Id": "ID", "ExposedHeaders": "ExposeHeaders"}
    if rules:
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [
            {renamed.get(k, k): v for k, v in rule.items()} for rule in rules]})


def _log_groups(template: dict[str, Any], resolver: Resolver) -> None:
    """Named only (functions log to the terminal): so that the roles' OwnLogs statements name a real ARN."""
    for name in resources(template, "AWS::Logs::LogGroup"):
        group = f"/aws/lambda/{STACK}-{name}"
        resolver.refs[name] = group
        resolver.attrs[(name, "Arn")] = f"arn:aws:logs:{resolver.region}:{resolver.account}:log-group:{group}:*"


def queue_url_by_arn(resolver: Resolver, arn: str) -> str:
    for (name, attr), value in resolver.attrs.items():
        if attr == "Arn" and value == arn:
            return resolver.refs[name]
    raise KeyError(f"no local queue for {arn}")

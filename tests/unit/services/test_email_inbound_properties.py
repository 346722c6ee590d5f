"""No mail may fail the email function. Real-world-shaped mail (bounces, complaints, read receipts, out-of-office
replies, list mail, raw 8-bit headers...) mutated at the byte level, 8-bit header bytes and SQS-forbidden characters
included, goes through handle_ses_event on moto (S3, DynamoDB, SQS), with SQS's own limits enforced (moto does not
check the characters SQS refuses, nor its size in bytes) and, in some runs, one AWS call failing.

It never raises anything but ServiceUnavailable, and that only when an AWS call failed; every record ends in
exactly one count; what was set aside is where its count says."""

from __future__ import annotations

import re
from itertools import count
from typing import Any

import boto3
import botocore.client
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from infra.local.events import ses_event
from switchboard.errors import ServiceUnavailable
from switchboard.services import email_inbound
from tests.unit.channels.mail_samples import CORPUS
from tests.unit.services.test_email_inbound import our_reply

BUCKET, TABLE = "media-props", "table-props"
# What SQS accepts in a message body (its documentation's list), and its size limit in bytes
SQS_ALLOWED = re.compile("[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")
SQS_MAX_BYTES = 256 * 1024
AWS_OPERATIONS = ("GetObject", "CopyObject", "DeleteObject", "PutItem", "GetItem", "UpdateItem", "Query",
                  "SendMessageBatch")

# -- byte-level mutations -------------------------------------------------------------------------------------------
EIGHT_BIT = st.sampled_from([b"\xff", b"\xfe\xff", b"\xe9", b"\xc3\xa9", b"\xef\xbf\xbe", b"\xef\xbf\xbf",
                             b"\xed\xa0\x80", b"\xf4\x8f\xbf\xbf", b"\xc0\xaf", b"\x80\x81\x82", b"\xe2\x82"])
CONTROL = st.sampled_from([b"\x00", b"\x01", b"\x0b", b"\x1b", b"\x7f", b"\r", b"\n", b"\r\n ", b"\t"])
SYNTAX = st.sampled_from([b"<", b">", b"\"", b";", b"=", b"=?", b"?=", b"=?utf-8?B?", b"=?x-bogus?Q?=FF", b"*=''%ff",
                          b"\\", b"(", b"--", b":", b"@", b",", b"boundary=", b"report-type=delivery-status"])
mutation = st.tuples(st.sampled_from(["replace", "insert", "delete", "duplicate_line", "truncate"]),
                     st.floats(0, 1), st.booleans(), st.one_of(EIGHT_BIT, CONTROL, SYNTAX, st.binary(min_size=1,
                                                                                                     max_size=6)))


def mutate(raw: bytes, mutations: list[tuple[str, float, bool, bytes]]) -> bytes:
    data = bytearray(raw)
    for op, where, in_header, chunk in mutations:
        end = data.find(b"\r\n\r\n")
        span = end if in_header and end > 0 else len(data)  # most mutations land in the header block
        pos = min(int(where * span), max(len(data) - 1, 0))
        if op == "replace" and data:
            data[pos:pos + len(chunk)] = chunk
        elif op == "insert":
            data[pos:pos] = chunk
        elif op == "delete":
            del data[pos:pos + len(chunk)]
        elif op == "duplicate_line":
            start = data.rfind(b"\n", 0, pos) + 1
            stop = data.find(b"\n", pos)
            data[start:start] = data[start:stop + 1 if stop >= 0 else len(data)]
        elif op == "truncate" and pos > 0:
            del data[pos:]
    return bytes(data)


# -- the AWS stand-in, with SQS's rules and injected failures ---------------------------------------------------------
class World:
    def __init__(self) -> None:
        self.fail: str | None = None  # the operation to fail in this example
        self.failed = False
        self.refused_bodies: list[str] = []


def sqs_refusal(params: dict[str, Any]) -> str | None:
    for entry in params.get("Entries") or []:
        body = entry.get("MessageBody", "")
        if not SQS_ALLOWED.fullmatch(body):
            return "InvalidMessageContents"
        if len(body.encode("utf-8", "surrogatepass")) > SQS_MAX_BYTES:
            return "InvalidParameterValue"
    return None


@pytest.fixture
def world(settings_env, monkeypatch):
    settings_env(MEDIA_BUCKET=BUCKET, TABLE_NAME=TABLE, POWERTOOLS_METRICS_NAMESPACE="Switchboard/test")
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        boto3.client("dynamodb", region_name="us-east-1").create_table(
            TableName=TABLE, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
        url = boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="inbound-props")["QueueUrl"]
        settings_env(INBOUND_QUEUE_URL=url)
        our_reply(ref="<m_01J9A@acme.test>")  # the reply that the corpus's reports name
        state = World()
        real = botocore.client.BaseClient._make_api_call

        def call(self, operation, params):
            if operation == state.fail and not state.failed:
                state.failed = True
                raise ClientError({"Error": {"Code": "InternalError", "Message": "injected"},
                                   "ResponseMetadata": {"HTTPStatusCode": 500}}, operation)
            if operation == "SendMessageBatch":
                refusal = sqs_refusal(params)
                if refusal:  # as real SQS answers: the whole request is refused
                    state.refused_bodies.append(refusal)
                    raise ClientError({"Error": {"Code": refusal, "Message": "refused by SQS's rules"},
                                       "ResponseMetadata": {"HTTPStatusCode": 400}}, operation)
            return real(self, operation, params)

        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", call)
        yield state


def unmutated(test):
    """Every sample as it is, too: each class of mail is seen at least once whatever the draw."""
    for sample in CORPUS:
        test = example(sample=sample, mutations=[], verdict="FAIL", source=None, fail=None, retried=False)(test)
    return test


SES_IDS = count()
SET_ASIDE_PREFIX = {"quarantined": "quarantine/"} | {o: "rejected/" for o in email_inbound.SET_ASIDE
                                                      if o != "quarantined"}


@unmutated
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow, HealthCheck.data_too_large])
@given(sample=st.sampled_from(CORPUS), mutations=st.lists(mutation, max_size=6),
       verdict=st.sampled_from(["PASS", "FAIL", "GRAY", "PROCESSING_FAILED", "bogus"]),
       source=st.sampled_from([None, "", "<>", "ann.smith@example.com", "\udcff@x"]),
       fail=st.one_of(st.none(), st.none(), st.none(), st.sampled_from(AWS_OPERATIONS)),
       retried=st.booleans())
def test_no_mail_fails_the_function_and_every_record_is_counted_once(world, sample, mutations, verdict, source, fail,
                                                                     retried):
    ses_id = f"props{next(SES_IDS):06d}"
    # A Message-ID of its own (the first one is the mail's own), or every example after the first would be a
    # duplicate of it and go no further
    head, blank, body = sample.partition(b"\r\n\r\n")
    head = head.replace(b"Message-ID: <", f"Message-ID: <{ses_id}.".encode(), 1)
    raw = mutate(head + blank + body, mutations)
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.put_object(Bucket=BUCKET, Key=f"inbound-email/{ses_id}", Body=raw)
    record_event = ses_event(CORPUS[-1], ses_id, BUCKET)  # a well-formed event: what SES builds is not the mail's
    record_event.pop("_local")
    record = record_event["Records"][0]
    record["ses"]["receipt"]["recipients"] = ["support@acme.test"]
    record["ses"]["receipt"] |= {f"{check}Verdict": {"status": verdict} for check in ("spf", "dkim", "dmarc")}
    if source is not None:
        record["ses"]["mail"]["source"] = source
    records = [record, record] if retried else [record]  # the same delivery twice in one event
    world.fail, world.failed, world.refused_bodies[:] = fail, False, []

    try:
        counts = email_inbound.handle_ses_event({"Records": records})
    except ServiceUnavailable:
        assert world.failed, f"ServiceUnavailable without an AWS failure (SQS refused: {world.refused_bodies})"
        event(f"retried after a failed {fail}")
        return

    assert not world.refused_bodies  # nothing SQS would refuse was sent
    outcomes = {name: n for name, n in counts.items() if name != "records"}
    assert set(outcomes) <= {*email_inbound.OUTCOMES, "messages", "statuses"}
    assert all(isinstance(n, int) and n >= 0 for n in counts.values())
    assert counts["records"] == len(records) == sum(outcomes.values()), counts
    where = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="").get("Contents", [])
             if o["Key"].endswith(ses_id)}
    set_aside = [name for name, n in outcomes.items() if n and name in SET_ASIDE_PREFIX]
    if set_aside and not outcomes.get("messages"):
        assert where == {SET_ASIDE_PREFIX[set_aside[0]] + ses_id}, (counts, where)
    elif outcomes.get("messages"):
        assert f"inbound-email/{ses_id}" in where  # kept: the stored message refers to it
    event(", ".join(sorted(name for name, n in outcomes.items() if n)))

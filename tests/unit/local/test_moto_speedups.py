"""infra/local/moto_speedups.py: TransactWriteItems answers a retry under its ClientRequestToken as DynamoDB does,
so that botocore's retry after a lost answer does not fail on the first try's own writes."""

from __future__ import annotations

import threading

import pytest
from botocore.exceptions import ClientError

from infra.local import moto_speedups
from tests.support.dynamodb import TABLE_NAME, template_table


def put(n: int) -> list[dict]:
    return [{"Put": {"TableName": TABLE_NAME, "Item": {"pk": {"S": f"K#{n}"}, "sk": {"S": "X"}},
                     "ConditionExpression": "attribute_not_exists(pk)"}}]


@pytest.fixture
def client():
    moto_speedups._idempotent_transactions()
    with template_table() as client:
        yield client


def test_a_retry_with_the_token_answers_as_the_first_try(client):
    client.transact_write_items(TransactItems=put(1), ClientRequestToken="t-1")
    client.transact_write_items(TransactItems=put(1), ClientRequestToken="t-1")  # no ConditionalCheckFailed
    assert client.get_item(TableName=TABLE_NAME, Key={"pk": {"S": "K#1"}, "sk": {"S": "X"}})["Item"]


def test_another_token_runs_again_and_fails_its_condition(client):
    client.transact_write_items(TransactItems=put(2), ClientRequestToken="t-2")
    with pytest.raises(ClientError) as raised:
        client.transact_write_items(TransactItems=put(2), ClientRequestToken="t-3")
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"


def test_the_token_with_another_request_is_a_mismatch(client):
    client.transact_write_items(TransactItems=put(4), ClientRequestToken="t-4")
    with pytest.raises(ClientError) as raised:
        client.transact_write_items(TransactItems=put(5), ClientRequestToken="t-4")
    assert raised.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    assert "Item" not in client.get_item(TableName=TABLE_NAME, Key={"pk": {"S": "K#5"}, "sk": {"S": "X"}})


def test_a_failed_try_is_not_remembered(client):
    client.put_item(TableName=TABLE_NAME, Item={"pk": {"S": "K#6"}, "sk": {"S": "X"}})
    with pytest.raises(ClientError):
        client.transact_write_items(TransactItems=put(6), ClientRequestToken="t-6")
    client.delete_item(TableName=TABLE_NAME, Key={"pk": {"S": "K#6"}, "sk": {"S": "X"}})
    client.transact_write_items(TransactItems=put(6), ClientRequestToken="t-6")  # the retry runs, and lands


def test_tries_at_once_write_once(client):
    answers: list[str] = []

    def attempt() -> None:
        try:
            client.transact_write_items(TransactItems=put(7), ClientRequestToken="t-7")
            answers.append("ok")
        except ClientError as exc:
            answers.append(exc.response["Error"]["Code"])

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == ["ok"] * 4


@pytest.fixture
def light(client):
    undo = moto_speedups.install_light_transactions()
    yield client
    undo()


def key(n: int) -> dict:
    return {"pk": {"S": f"K#{n}"}, "sk": {"S": "X"}}


def test_a_cancelled_light_transaction_leaves_every_item_as_it_was(light):
    light.put_item(TableName=TABLE_NAME, Item={**key(10), "n": {"N": "1"}})
    light.put_item(TableName=TABLE_NAME, Item={**key(12), "n": {"N": "1"}})
    with pytest.raises(ClientError) as raised:
        light.transact_write_items(TransactItems=[
            {"Put": {"TableName": TABLE_NAME, "Item": {**key(11), "n": {"N": "1"}}}},  # new: removed again
            {"Update": {"TableName": TABLE_NAME, "Key": key(10), "UpdateExpression": "SET n = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}}}},  # changed: put back
            {"Delete": {"TableName": TABLE_NAME, "Key": key(12)}},  # deleted: put back
            {"Put": {"TableName": TABLE_NAME, "Item": key(13), "ConditionExpression": "attribute_exists(pk)"}}])
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert "Item" not in light.get_item(TableName=TABLE_NAME, Key=key(11))
    assert light.get_item(TableName=TABLE_NAME, Key=key(10))["Item"]["n"] == {"N": "1"}
    assert light.get_item(TableName=TABLE_NAME, Key=key(12))["Item"]["n"] == {"N": "1"}
    assert "Item" not in light.get_item(TableName=TABLE_NAME, Key=key(13))


def test_a_light_transaction_does_not_copy_the_table(light, monkeypatch):
    import copy

    from moto.dynamodb.models.table import Table

    copied: list[str] = []
    real = copy.deepcopy
    monkeypatch.setattr(copy, "deepcopy", lambda obj, memo=None: copied.append(type(obj).__name__) or real(obj, memo))
    light.transact_write_items(TransactItems=put(20))
    assert Table.__name__ not in copied
    assert "Item" in light.get_item(TableName=TABLE_NAME, Key=key(20))


def test_sqs_answers_as_moto_with_the_cheap_receives(monkeypatch):
    import boto3
    from moto import mock_aws
    from moto.sqs import models as sqs_models

    moto_speedups._cheap_sqs_receives()
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="q", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
        for n in range(3):
            sqs.send_message(QueueUrl=url, MessageBody=str(n))
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "MessageRetentionPeriod"]
        assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"] == {
            "ApproximateNumberOfMessages": "3", "ApproximateNumberOfMessagesNotVisible": "0",
            "MessageRetentionPeriod": "60"}
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)["Messages"]
        assert [m["Body"] for m in got] == ["0", "1"]
        assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names[:2])["Attributes"] == {
            "ApproximateNumberOfMessages": "1", "ApproximateNumberOfMessagesNotVisible": "2"}
        with pytest.raises(ClientError):
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["NoSuchAttribute"])
        # past the retention period a message is not handed out (and is gone)
        later = sqs_models.unix_time() + 61
        monkeypatch.setattr(sqs_models, "unix_time", lambda *a: later)
        assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)



def test_a_cancelled_light_transaction_restores_a_table_without_a_range_key(light):
    light.create_table(TableName="plain", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                       AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                       BillingMode="PAY_PER_REQUEST")
    light.put_item(TableName="plain", Item={"id": {"S": "a"}, "n": {"N": "1"}})
    with pytest.raises(ClientError):
        light.transact_write_items(TransactItems=[
            {"Put": {"TableName": "plain", "Item": {"id": {"S": "a"}, "n": {"N": "2"}}}},
            {"Put": {"TableName": "plain", "Item": {"id": {"S": "b"}}}},
            {"Put": {"TableName": "plain", "Item": {"id": {"S": "c"}}, "ConditionExpression": "attribute_exists(id)"}}])
    assert light.get_item(TableName="plain", Key={"id": {"S": "a"}})["Item"]["n"] == {"N": "1"}
    assert "Item" not in light.get_item(TableName="plain", Key={"id": {"S": "b"}})

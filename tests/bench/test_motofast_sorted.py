"""bench/motofast.py's sorted partitions answer every Query the search benchmark makes exactly as moto does."""

from __future__ import annotations

import random

import boto3
from moto import mock_aws

from bench.motofast import sorted_partitions


def pages(ddb, limit, **query):
    """Every page of a Query: (items, Count, ScannedCount, LastEvaluatedKey) each."""
    out, start = [], None
    while True:
        page = ddb.query(**query, **({"Limit": limit} if limit else {}), **({"ExclusiveStartKey": start} if start else {}))
        out.append((page["Items"], page["Count"], page["ScannedCount"], page.get("LastEvaluatedKey")))
        start = page.get("LastEvaluatedKey")
        if not start:
            return out


def test_sorted_partitions_answer_as_moto_does():
    rng = random.Random(5)
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                               {"AttributeName": "sk", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                    {"AttributeName": "sk", "KeyType": "RANGE"}])
        words = ["ann", "anna", "ann@x.io", "annika", "berz", "berzins", "b", "an"]
        for n in range(200):
            pk = rng.choice(["P1", "P2", "P3"])
            sk = f"{rng.choice(words)}#{rng.randrange(10**6):06d}"
            ddb.put_item(TableName="t", Item={"pk": {"S": pk}, "sk": {"S": sk}, "n": {"N": str(n)},
                                              "pad": {"S": "x" * rng.randrange(50)}})
        cases = []
        for pk in ("P1", "P9"):
            for prefix in (None, "ann", "b", "zzz", "ann#"):
                for forward in (True, False):
                    for limit in (7, None):
                        cases.append((pk, prefix, forward, limit))

        def run(pk, prefix, forward, limit):
            return pages(ddb, limit, TableName="t", ScanIndexForward=forward,
                         KeyConditionExpression="pk = :pk" + (" AND begins_with(sk, :p)" if prefix else ""),
                         ExpressionAttributeValues={":pk": {"S": pk}, **({":p": {"S": prefix}} if prefix else {})})

        expected = [run(*case) for case in cases]
        with sorted_partitions():
            fast = [run(*case) for case in cases]
        for case, a, b in zip(cases, fast, expected, strict=True):
            assert a == b, (case, [(len(p[0]), p[1], p[2], p[3]) for p in a], [(len(p[0]), p[1], p[2], p[3]) for p in b])


def test_index_queries_answer_as_moto_does():
    """An index Query looks through its index partition only, and answers exactly as moto does: items (projected),
    order, Count, ScannedCount and LastEvaluatedKey, page after page."""
    rng = random.Random(7)
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in
                                               ("pk", "sk", "gpk", "gsk")],
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                    {"AttributeName": "sk", "KeyType": "RANGE"}],
                         GlobalSecondaryIndexes=[{
                             "IndexName": "GIX", "KeySchema": [{"AttributeName": "gpk", "KeyType": "HASH"},
                                                             {"AttributeName": "gsk", "KeyType": "RANGE"}],
                             "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["n"]}}])
        for n in range(300):
            item = {"pk": {"S": f"P{n}"}, "sk": {"S": "META"}, "n": {"N": str(n)}, "hidden": {"S": "x"}}
            if rng.random() < 0.8:  # sparse: some items are not in the index; some lack its sort key
                item["gpk"] = {"S": rng.choice(["A", "B", "C"])}
                if rng.random() < 0.9:
                    item["gsk"] = {"S": f"2026-{rng.randrange(10**5):05d}#{n}"}
            ddb.put_item(TableName="t", Item=item)

        def run(gpk, forward, limit):
            return pages(ddb, limit, TableName="t", IndexName="GIX", ScanIndexForward=forward,
                         KeyConditionExpression="gpk = :pk", ExpressionAttributeValues={":pk": {"S": gpk}})

        cases = [(gpk, forward, limit) for gpk in ("A", "B", "Z") for forward in (True, False) for limit in (5, None)]
        expected = [run(*case) for case in cases]
        with sorted_partitions():
            fast = [run(*case) for case in cases]
        assert any(len(pages) > 3 for pages in expected)  # paged
        assert all("hidden" not in item for pages in expected for page in pages for item in page[0])  # projected
        for case, a, b in zip(cases, fast, expected, strict=True):
            assert a == b, case

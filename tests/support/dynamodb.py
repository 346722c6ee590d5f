"""The single table as template.yaml declares it (keys, indexes), in moto, for tests of the store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from moto import mock_aws

from infra.local.template import Resolver, load
from tests.conftest import ROOT

TABLE_NAME = "switchboard"  # tests/conftest.py's TABLE_NAME


@contextmanager
def template_table(name: str = TABLE_NAME) -> Iterator[Any]:
    """Inside moto: the template's `Table` (key schema, GSI1, GSI2, DueIndex) under `name`; yields the client."""
    with mock_aws():
        template = load(ROOT / "template.yaml")
        props = Resolver(template).resolve(template["Resources"]["Table"]["Properties"])
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName=name, AttributeDefinitions=props["AttributeDefinitions"],
                            KeySchema=props["KeySchema"], BillingMode="PAY_PER_REQUEST",
                            GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"])
        yield client

"""The bench's DynamoDB meter bills writes the way DynamoDB does (the WCU figures in docs/scale.md
and the issues' targets come from it)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from bench.dynamo_meter import DynamoMeter

_KEY = {"pk": {"S": "T#t#LEAD#l1"}, "sk": {"S": "LEAD"}}


@pytest.fixture
def metered() -> Iterator[tuple[Any, DynamoMeter, str]]:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        meter = DynamoMeter().install(session.events)
        ddb = session.client("dynamodb")
        # A name of its own: moto's backend may be shared with other tests of this process.
        name = f"meter-{uuid.uuid4().hex}"
        ddb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "gsi1pk")],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "gsi1",
                    "KeySchema": [{"AttributeName": "gsi1pk", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        )
        yield ddb, meter, name


def _units(meter: DynamoMeter) -> dict[str, float]:
    return {index: float(v) for (index, _), v in meter.meter.write_units.items()}


def test_a_single_write_of_an_indexed_item_costs_one_unit_on_the_table_and_one_on_the_index(
    metered: tuple[Any, DynamoMeter, str],
) -> None:
    ddb, meter, table = metered
    ddb.put_item(TableName=table, Item={**_KEY, "gsi1pk": {"S": "T#t#PHONE#1"}, "status": {"S": "pending"}})
    assert _units(meter) == {"table": 1.0, "gsi1": 1.0}


def test_a_transaction_doubles_the_tables_units_but_not_the_indexs(
    metered: tuple[Any, DynamoMeter, str],
) -> None:
    ddb, meter, table = metered
    ddb.put_item(TableName=table, Item={**_KEY, "gsi1pk": {"S": "T#t#PHONE#1"}, "status": {"S": "pending"}})
    meter.reset()
    ddb.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": table,
                    "Key": _KEY,
                    "UpdateExpression": "SET #s = :d",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":d": {"S": "dialing"}},
                }
            },
            {
                "ConditionCheck": {
                    "TableName": table,
                    "Key": {"pk": {"S": "T#t#DIALING"}, "sk": {"S": "SLOTS"}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
    )
    # The update: 2 on the table (prepare and commit), 1 on the index (ALL projection: any change
    # of an indexed item rewrites its entry). The condition check: 2, billed as a write.
    assert meter.meter.write_units[("table", "T#t#LEAD#l1")] == 2
    assert meter.meter.write_units[("table", "T#t#DIALING")] == 2
    assert meter.meter.write_units[("gsi1", "T#t#PHONE#1")] == 1

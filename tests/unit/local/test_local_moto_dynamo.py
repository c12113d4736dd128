"""The DynamoDB shim answers every Query exactly as moto alone does, whatever the writes before it
(puts, updates that move an item between index partitions or out of an index, deletes,
transactions that commit or are canceled)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local.moto_dynamo import serialised_dynamodb
from tests.support.aws import create_gsi_table

TABLE = "shim"
PARTITIONS = ("A", "B", "C")


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        create_gsi_table(ddb, TABLE)
        yield ddb
        # Inside another test module's moto world (xdist may run both in one worker) this mock
        # does not reset moto on exit: leave no table behind for the next test.
        ddb.delete_table(TableName=TABLE)


def answers(ddb: Any) -> dict[str, list[Any]]:
    """Every table and index partition's Query answer."""
    out = {}
    for p in PARTITIONS:
        out[f"table {p}"] = ddb.query(
            TableName=TABLE, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": p}}
        )["Items"]
        out[f"index {p}"] = ddb.query(
            TableName=TABLE,
            IndexName="gsi",
            KeyConditionExpression="gpk = :p AND gsk < :z",
            ExpressionAttributeValues={":p": {"S": p}, ":z": {"S": "z"}},
        )["Items"]
    return out


def write(ddb: Any, rng: random.Random) -> None:
    """One random write of the kinds the product makes."""
    key = {"pk": {"S": rng.choice(PARTITIONS)}, "sk": {"S": f"{rng.randrange(8)}"}}
    kind = rng.choice(("put", "put_plain", "move", "leave", "delete", "transact", "transact_fail"))
    index = {"gpk": {"S": rng.choice(PARTITIONS)}, "gsk": {"S": f"{rng.randrange(100):03d}"}}
    if kind == "put":
        ddb.put_item(TableName=TABLE, Item={**key, **index, "v": {"N": "1"}})
    elif kind == "put_plain":
        ddb.put_item(TableName=TABLE, Item={**key, "v": {"N": "2"}})
    elif kind == "move":
        ddb.update_item(
            TableName=TABLE,
            Key=key,
            UpdateExpression="SET gpk = :g, gsk = :s ADD v :one",
            ExpressionAttributeValues={":g": index["gpk"], ":s": index["gsk"], ":one": {"N": "1"}},
        )
    elif kind == "leave":
        ddb.update_item(TableName=TABLE, Key=key, UpdateExpression="REMOVE gpk, gsk")
    elif kind == "delete":
        ddb.delete_item(TableName=TABLE, Key=key)
    else:
        other = {"pk": {"S": rng.choice(PARTITIONS)}, "sk": {"S": f"x{rng.randrange(4)}"}}
        condition = "attribute_exists(nope)" if kind == "transact_fail" else "attribute_not_exists(nope)"
        request = {
            "TransactItems": [
                {"Put": {"TableName": TABLE, "Item": {**other, **index}}},
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": key,
                        "UpdateExpression": "SET gpk = :g, gsk = :s",
                        "ConditionExpression": condition,
                        "ExpressionAttributeValues": {":g": index["gpk"], ":s": {"S": "050"}},
                    }
                },
            ]
        }
        if kind == "transact_fail":
            with pytest.raises(ClientError, match="TransactionCanceled"):
                ddb.transact_write_items(**request)
        else:
            ddb.transact_write_items(**request)


def oracle(ddb: Any) -> dict[str, list[Any]]:
    """The same answers computed from a Scan (which the shim does not touch)."""
    items = ddb.scan(TableName=TABLE)["Items"]
    out = {}
    for p in PARTITIONS:
        out[f"table {p}"] = sorted((i for i in items if i["pk"]["S"] == p), key=lambda i: i["sk"]["S"])
        out[f"index {p}"] = sorted(
            (i for i in items if i.get("gpk", {}).get("S") == p and "gsk" in i),
            key=lambda i: i["gsk"]["S"],
        )
    return out


def canonical(found: dict[str, list[Any]]) -> dict[str, list[str]]:
    """Index answers in a fixed order (DynamoDB leaves equal index sort keys in any order)."""
    return {
        k: sorted(map(json.dumps, v)) if k.startswith("index") else list(map(json.dumps, v))
        for k, v in found.items()
    }


def test_queries_answer_as_a_scan_says_after_any_writes(client: Any) -> None:
    rng = random.Random(7)
    for _ in range(60):
        write(client, rng)  # items written before the shim: its index map is built from them
    with serialised_dynamodb():
        for step in range(150):
            write(client, rng)
            shimmed = answers(client)
            assert canonical(shimmed) == canonical(oracle(client)), step
            for p in PARTITIONS:  # index answers come sorted by the index's sort key
                keys = [i["gsk"]["S"] for i in shimmed[f"index {p}"]]
                assert keys == sorted(keys)


def _put_outcome(ddb: Any, filler: int, sk: str) -> str:
    """What moto answers to a put whose item is ``filler`` bytes of data in 40 attributes."""
    attrs = {f"a{i:02d}": {"S": "x" * (filler // 40)} for i in range(40)}
    try:
        ddb.put_item(TableName=TABLE, Item={"pk": {"S": "A"}, "sk": {"S": sk}, **attrs})
    except ClientError as exc:
        return exc.response["Error"]["Message"]
    return "ok"


@pytest.mark.parametrize("filler", [1_000, 404_000, 404_900, 405_000, 500_000])
def test_item_size_limit_is_the_same_as_moto_alone(client: Any, filler: int) -> None:
    # GIVEN the same item put with moto alone and under the shim (which measures an item once)
    vanilla = _put_outcome(client, filler, "vanilla")
    with serialised_dynamodb():
        shimmed = _put_outcome(client, filler, "shimmed")
    # THEN both accept or both refuse it, with the same message
    assert shimmed == vanilla
    if filler >= 405_000:
        assert "Item size has exceeded the maximum allowed size" in shimmed

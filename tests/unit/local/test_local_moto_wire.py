"""moto's DynamoDB answers are the same with the ``json`` wire shim (``local.moto_wire``) as
without it, for every item operation the product uses, their errors, and binary values; and the
shim does take the fast path where it claims to (a test that only ever fell back would pass too)."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local import moto_wire
from tests.support.aws import create_gsi_table

TABLE = "wire"
KEY = {"pk": {"S": "a"}, "sk": {"S": "1"}}


def _operations(ddb: Any) -> list[tuple[str, Callable[[], Any]]]:
    """The sequence both runs make: each step's name and call (its answer or error is compared)."""
    item = {
        **KEY,
        "n": {"N": "1.50"},
        "l": {"L": [{"S": "x"}, {"NULL": True}, {"BOOL": False}]},
        "m": {"M": {"z": {"N": "3"}, "quote": {"S": 'say "B": hi'}}},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2"]},
        "gpk": {"S": "G"},
        "gsk": {"S": "2026-12-06T10:00:00Z"},
    }
    cond_fail = {"ConditionExpression": "attribute_not_exists(pk)"}
    return [
        ("put", lambda: ddb.put_item(TableName=TABLE, Item=item, ReturnConsumedCapacity="TOTAL")),
        ("put again, condition fails", lambda: ddb.put_item(TableName=TABLE, Item=item, **cond_fail)),
        (
            "get",
            lambda: ddb.get_item(
                TableName=TABLE, Key=KEY, ConsistentRead=True, ReturnConsumedCapacity="TOTAL"
            ),
        ),
        ("get missing", lambda: ddb.get_item(TableName=TABLE, Key={"pk": {"S": "none"}, "sk": {"S": "1"}})),
        (
            "update",
            lambda: ddb.update_item(
                TableName=TABLE,
                Key=KEY,
                UpdateExpression="SET n = n + :one, #s = if_not_exists(#s, :s) REMOVE l ADD ns :ns",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":one": {"N": "1"}, ":s": {"S": "new"}, ":ns": {"NS": ["3"]}},
                ReturnValues="ALL_NEW",
            ),
        ),
        (
            "update with a missing value",
            lambda: ddb.update_item(TableName=TABLE, Key=KEY, UpdateExpression="SET n = :nope"),
        ),
        (
            "update, condition fails, old item returned",
            lambda: ddb.update_item(
                TableName=TABLE,
                Key=KEY,
                UpdateExpression="SET n = :v",
                ConditionExpression="n = :other",
                ExpressionAttributeValues={":v": {"N": "9"}, ":other": {"N": "0"}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            ),
        ),
        (
            "transaction",
            lambda: ddb.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": TABLE,
                            "Item": {
                                "pk": {"S": "b"},
                                "sk": {"S": "1"},
                                "gpk": {"S": "G"},
                                "gsk": {"S": "1"},
                            },
                        }
                    },
                    {
                        "ConditionCheck": {
                            "TableName": TABLE,
                            "Key": KEY,
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                ],
                ReturnConsumedCapacity="TOTAL",
            ),
        ),
        (
            "transaction canceled",
            lambda: ddb.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "c"}, "sk": {"S": "1"}}}},
                    {
                        "ConditionCheck": {
                            "TableName": TABLE,
                            "Key": KEY,
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            ),
        ),
        (
            "query, one page",
            lambda: ddb.query(
                TableName=TABLE,
                IndexName="gsi",
                KeyConditionExpression="gpk = :g",
                ExpressionAttributeValues={":g": {"S": "G"}},
                Limit=1,
                ScanIndexForward=False,
                ReturnConsumedCapacity="INDEXES",
            ),
        ),
        ("scan", lambda: ddb.scan(TableName=TABLE, Select="COUNT")),
        (
            "batch get",
            lambda: ddb.batch_get_item(
                RequestItems={TABLE: {"Keys": [KEY, {"pk": {"S": "b"}, "sk": {"S": "1"}}]}}
            ),
        ),
        (
            "batch write",
            lambda: ddb.batch_write_item(
                RequestItems={
                    TABLE: [
                        {"PutRequest": {"Item": {"pk": {"S": "d"}, "sk": {"S": "1"}}}},
                        {"DeleteRequest": {"Key": {"pk": {"S": "b"}, "sk": {"S": "1"}}}},
                    ]
                }
            ),
        ),
        (
            "transact get",
            lambda: ddb.transact_get_items(TransactItems=[{"Get": {"TableName": TABLE, "Key": KEY}}]),
        ),
        (
            "delete",
            lambda: ddb.delete_item(
                TableName=TABLE, Key={"pk": {"S": "d"}, "sk": {"S": "1"}}, ReturnValues="ALL_OLD"
            ),
        ),
        (
            "put binary",
            lambda: ddb.put_item(
                TableName=TABLE,
                Item={"pk": {"S": "bin"}, "sk": {"S": "1"}, "b": {"B": b"\x00\xff"}, "bs": {"BS": [b"1"]}},
            ),
        ),
        ("get binary", lambda: ddb.get_item(TableName=TABLE, Key={"pk": {"S": "bin"}, "sk": {"S": "1"}})),
        ("unknown table", lambda: ddb.get_item(TableName="nope", Key=KEY)),
    ]


def run_operations(ddb: Any) -> list[tuple[str, Any]]:
    """On a fresh table: every step's answer (metadata dropped) or error code, message and
    cancellation reasons, by step name; the table is deleted after."""
    create_gsi_table(ddb, TABLE)
    seen: list[tuple[str, Any]] = []
    try:
        for name, call in _operations(ddb):
            try:
                answer = call()
                answer.pop("ResponseMetadata", None)
                seen.append((name, answer))
            except ClientError as error:
                response = dict(error.response)
                response.pop("ResponseMetadata", None)
                seen.append((name, ("error", response)))
    finally:
        ddb.delete_table(TableName=TABLE)
    return seen


def _run(shimmed: bool) -> tuple[list[tuple[str, Any]], Counter[str]]:
    """Every step's answer (metadata dropped) or error code, message and cancellation reasons;
    and how often moto's own parser and serializer ran (with the shim: its fallbacks)."""
    from moto.core.responses import BaseResponse

    slow: Counter[str] = Counter()
    originals = (BaseResponse.parse_parameters, BaseResponse.serialized)

    def counting_parse(self: Any, request: Any) -> None:
        slow[f"parse {self._get_action()}"] += 1
        originals[0](self, request)

    def counting_serialized(self: Any, result: Any) -> Any:
        slow[f"serialize {self._get_action()}"] += 1
        return originals[1](self, result)

    BaseResponse.parse_parameters = counting_parse  # type: ignore[method-assign]
    BaseResponse.serialized = counting_serialized  # type: ignore[method-assign]
    wire = moto_wire.json_wire() if shimmed else contextlib.nullcontext()
    try:
        with wire, mock_aws():
            seen = run_operations(boto3.client("dynamodb", region_name="us-east-1"))
    finally:
        BaseResponse.parse_parameters, BaseResponse.serialized = originals  # type: ignore[method-assign]
    return seen, slow


@pytest.fixture(scope="module")
def runs() -> tuple[tuple[list[Any], Counter[str]], tuple[list[Any], Counter[str]]]:
    return _run(shimmed=False), _run(shimmed=True)


def test_every_answer_and_error_is_the_same_as_vanilla_motos(runs: Any) -> None:
    (vanilla, _), (shimmed, _) = runs
    assert [name for name, _ in shimmed] == [name for name, _ in vanilla]
    for (name, want), (_, got) in zip(vanilla, shimmed, strict=True):
        assert got == want, name
    # the comparison saw the cases it is meant to: a binary value, a canceled transaction
    answers = dict(vanilla)
    assert answers["get binary"]["Item"]["b"] == {"B": b"\x00\xff"}
    assert answers["transaction canceled"][1]["CancellationReasons"][1]["Code"] == "ConditionalCheckFailed"


def test_item_operations_take_the_json_path_and_the_rest_moto_s_own(runs: Any) -> None:
    (_, vanilla_slow), (_, fallbacks) = runs
    assert vanilla_slow["parse GetItem"] >= 3  # without the shim every request takes moto's parser
    assert fallbacks["parse GetItem"] == 0
    assert fallbacks["parse UpdateItem"] == 0
    assert fallbacks["parse TransactWriteItems"] == 0
    assert fallbacks["parse PutItem"] == 1  # the binary put
    assert fallbacks["serialize GetItem"] == 1  # the binary get (moto's errors never reach either)
    assert fallbacks["serialize Query"] == 0
    assert fallbacks["serialize UpdateItem"] == 0
    assert fallbacks["parse CreateTable"] == 1
    assert fallbacks["serialize CreateTable"] == 1

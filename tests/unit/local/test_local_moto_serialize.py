"""The direct attribute-value serializer (local/moto_serialize.py) writes exactly what moto's own
serializer writes: byte for byte on random items of every attribute type, and answer for answer on
the same DynamoDB requests (conditions, errors, pagination, LastEvaluatedKey) sent to moto alone."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.serialize import XFormedAttributePicker, get_serializer_class
from moto.core.utils import get_service_model
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.utilities import dynamo_to_dict

from local import moto_serialize
from local.moto_serialize import fast_attribute_values

TABLE = "serialize"


def random_value(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    """A DynamoDB attribute value of any type, in the wire form a client sends."""
    kinds = ["S", "N", "B", "SS", "NS", "BS", "NULL", "BOOL"] + (["M", "L"] if depth < 3 else [])
    kind = rng.choice(kinds)
    if kind == "S":
        return {"S": rng.choice(["", "plain", "ünïcödé ✓", 'quote " and \\ slash', "x" * 50])}
    if kind == "N":
        return {"N": rng.choice(["0", "-1", "3.25", "12345678901234567890", "1E+3"])}
    if kind == "B":
        return {"B": bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9)))}
    if kind == "SS":
        return {"SS": sorted({f"s{rng.randrange(20)}" for _ in range(rng.randrange(1, 4))})}
    if kind == "NS":
        return {"NS": sorted({str(rng.randrange(-50, 50)) for _ in range(rng.randrange(1, 4))})}
    if kind == "BS":
        return {"BS": sorted({bytes([rng.randrange(256), n]) for n in range(rng.randrange(1, 4))})}
    if kind == "NULL":
        return {"NULL": True}
    if kind == "BOOL":
        return {"BOOL": rng.random() < 0.5}
    if kind == "M":
        return {"M": {f"k{i}": random_value(rng, depth + 1) for i in range(rng.randrange(0, 4))}}
    return {"L": [random_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]}


def random_item(rng: random.Random, pk: str, sk: str) -> dict[str, Any]:
    return {
        "pk": {"S": pk},
        "sk": {"S": sk},
        **{f"a{i}": random_value(rng) for i in range(rng.randrange(1, 8))},
    }


def serialize(operation: str, result: dict[str, Any]) -> tuple[int, dict[str, Any], str]:
    """What moto's response path writes for this result (ActionResult.execute_result's steps)."""
    model = get_service_model("dynamodb")
    serializer = get_serializer_class("dynamodb", model.protocol)(
        operation_model=model.operation_model(operation),
        value_picker=XFormedAttributePicker(response_transformers=None),
    )
    out = serializer.serialize(result)
    return out["status_code"], out["headers"], out["body"]


def as_moto_item(item: dict[str, Any]) -> Any:
    """The dict moto's DynamoDB handlers hand the serializer for an item they read."""
    return dynamo_to_dict({name: DynamoType(value) for name, value in item.items()})


def test_every_attribute_type_serializes_byte_for_byte_as_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(20)
    direct_calls = 0
    original = moto_serialize._attribute

    def counted(*args: Any) -> Any:
        nonlocal direct_calls
        direct_calls += 1
        return original(*args)

    monkeypatch.setattr(moto_serialize, "_attribute", counted)
    for step in range(100):
        items = [as_moto_item(random_item(rng, "p", f"{n:03d}")) for n in range(rng.randrange(0, 4))]
        key = {"pk": {"S": "p"}, "sk": {"S": "009"}}
        results = {
            "GetItem": {"Item": items[0]} if items else {},
            "Query": {"Items": items, "Count": len(items), "ScannedCount": 9, "LastEvaluatedKey": key},
            "UpdateItem": {"Attributes": items[0] if items else {}},
            "BatchGetItem": {"Responses": {TABLE: items}, "UnprocessedKeys": {}},
            "TransactGetItems": {"Responses": [{"Item": item} for item in items]},
        }
        for operation, result in results.items():
            vanilla = serialize(operation, result)
            with fast_attribute_values():
                direct = serialize(operation, result)
            assert direct == vanilla, (step, operation)
    assert direct_calls > 500  # the direct path wrote them, not moto's fallback


@pytest.mark.parametrize(
    "value",
    [
        {"S": "x", "s": "lower"},  # a key that is no member name: moto's alias lookup decides
        {"M": {"": {"S": "x"}}},  # an empty name: moto writes its members into the map
        {"L": [None, {"S": "x"}]},
        {"M": {"a": None, "b": {"N": "1"}}},
        {"S": None},
        {"S": "x", "N": "2"},  # two types in one value
        {"N": 5},  # not a string: moto writes str(value)
        {"SS": ["a", None]},
    ],
)
def test_unusual_values_still_serialize_as_moto(value: dict[str, Any]) -> None:
    result = {"Item": {"a": value}}
    vanilla = serialize("GetItem", result)
    with fast_attribute_values():
        assert serialize("GetItem", result) == vanilla


@pytest.fixture
def ddb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk")],
        )
        yield client
        client.delete_table(TableName=TABLE)  # inside another module's moto world: leave nothing


def conversation(ddb: Any, rng: random.Random) -> list[Any]:
    """The same requests, with every answer (or error) they got, ResponseMetadata left out."""
    answers: list[Any] = []

    def ask(call: str, **kwargs: Any) -> None:
        try:
            answer = getattr(ddb, call)(**kwargs)
            answer.pop("ResponseMetadata", None)
        except ClientError as exc:
            answer = {k: v for k, v in exc.response.items() if k != "ResponseMetadata"}
        answers.append((call, answer))

    for n in range(12):
        ask("put_item", TableName=TABLE, Item=random_item(rng, "p", f"{n:02d}"), ReturnValues="ALL_OLD")
    ask("put_item", TableName=TABLE, Item=random_item(rng, "p", "03"), ReturnValues="ALL_OLD")
    for n in range(14):  # 12 and 13 do not exist
        ask("get_item", TableName=TABLE, Key={"pk": {"S": "p"}, "sk": {"S": f"{n:02d}"}})
    ask(
        "update_item",
        TableName=TABLE,
        Key={"pk": {"S": "p"}, "sk": {"S": "01"}},
        UpdateExpression="SET extra = :v",
        ConditionExpression="attribute_exists(pk)",
        ExpressionAttributeValues={":v": random_value(rng)},
        ReturnValues="ALL_NEW",
    )
    for returned in ("ALL_OLD", "NONE"):  # a failed condition, with and without the item
        ask(
            "put_item",
            TableName=TABLE,
            Item={"pk": {"S": "p"}, "sk": {"S": "02"}},
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure=returned,
        )
    ask("get_item", TableName=TABLE, Key={"pk": {"S": "p"}})  # a malformed key: ValidationException
    start: dict[str, Any] | None = None
    while True:  # every page of a paginated query
        page = {"ExclusiveStartKey": start} if start else {}
        ask(
            "query",
            TableName=TABLE,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "p"}},
            Limit=5,
            **page,
        )
        start = answers[-1][1].get("LastEvaluatedKey")
        if start is None:
            break
    ask("scan", TableName=TABLE, Limit=4)
    ask(
        "batch_get_item",
        RequestItems={TABLE: {"Keys": [{"pk": {"S": "p"}, "sk": {"S": f"{n:02d}"}} for n in (0, 5, 12)]}},
    )
    ask(
        "transact_write_items",
        TransactItems=[
            {
                "Put": {
                    "TableName": TABLE,
                    "Item": {"pk": {"S": "p"}, "sk": {"S": "04"}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
        ],
    )
    ask("delete_item", TableName=TABLE, Key={"pk": {"S": "p"}, "sk": {"S": "06"}}, ReturnValues="ALL_OLD")
    return answers


def test_the_same_requests_get_the_same_answers_as_from_moto_alone(ddb: Any) -> None:
    vanilla = conversation(ddb, random.Random(5))
    for n in range(14):
        ddb.delete_item(TableName=TABLE, Key={"pk": {"S": "p"}, "sk": {"S": f"{n:02d}"}})
    with fast_attribute_values():
        direct = conversation(ddb, random.Random(5))
    assert direct == vanilla
    calls = [call for call, answer in direct]
    assert calls.count("query") == 3  # 13 items at 5 a page: LastEvaluatedKey twice
    errors = {answer["Error"]["Code"] for _, answer in direct if "Error" in answer}
    assert errors == {
        "ConditionalCheckFailedException",
        "ValidationException",
        "TransactionCanceledException",
    }

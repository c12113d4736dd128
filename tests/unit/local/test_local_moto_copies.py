"""The direct item copies make what moto's ``__deepcopy__`` makes (every attribute type, nested
lists and maps, sets, items with and without a range key), and copies share nothing mutable with
their source; the cached action lookup answers what moto's does."""

from __future__ import annotations

import copy
import uuid
from contextlib import ExitStack
from typing import Any

import pytest
from moto.core import responses, utils
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.responses import DynamoHandler
from moto.sqs.responses import SQSResponse

from local.moto_copies import fast_copies

ATTRS: dict[str, Any] = {
    "s": {"S": "text"},
    "n": {"N": "12.5"},
    "b": {"B": b"\x00\x01"},
    "t": {"BOOL": True},
    "z": {"NULL": True},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2"]},
    "bs": {"BS": [b"x"]},
    "l": {"L": [{"S": "x"}, {"M": {"k": {"L": [{"N": "1"}, {"SS": ["q"]}]}}}]},
    "m": {"M": {"deep": {"M": {"list": {"L": [{"M": {}}]}}}, "empty": {"L": []}}},
}


def _shape(value: Any) -> Any:
    """Everything a copy carries: class, instance attributes, values, recursively."""
    if isinstance(value, DynamoType):
        return ("DynamoType", sorted(vars(value)), value.type, _shape(value.value))
    if isinstance(value, Item):
        return (
            type(value.attrs).__name__,
            _shape(value.hash_key),
            _shape(value.range_key),
            {k: _shape(v) for k, v in value.attrs.items()},
        )
    if isinstance(value, list):
        return [_shape(v) for v in value]
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    return value


def _item(range_key: bool) -> Item:
    return Item(DynamoType({"S": "P"}), DynamoType({"S": "R"}) if range_key else None, ATTRS)


def _nodes(value: Any) -> list[int]:
    """The ids of every mutable node (types, lists, dicts) of a copy."""
    if isinstance(value, DynamoType):
        return [id(value), *(_nodes(value.value) if isinstance(value.value, list | dict) else [])]
    if isinstance(value, Item):
        return [id(value), id(value.attrs), *_nodes(value.hash_key), *_nodes(value.range_key or [])] + [
            n for v in value.attrs.values() for n in _nodes(v)
        ]
    if isinstance(value, list):
        return [id(value), *(n for v in value for n in _nodes(v))]
    if isinstance(value, dict):
        return [id(value), *(n for v in value.values() for n in _nodes(v))]
    return []


@pytest.mark.parametrize("range_key", [True, False])
def test_an_item_copy_is_the_copy_moto_makes(range_key: bool) -> None:
    source = _item(range_key)
    vanilla = copy.deepcopy(source)
    with fast_copies():
        fast = copy.deepcopy(source)
        listed = copy.deepcopy([source, source])  # a query's results are copied as a list
    assert type(fast) is Item
    assert _shape(fast) == _shape(vanilla) == _shape(source)
    assert fast == source
    assert [_shape(i) for i in listed] == [_shape(vanilla)] * 2
    # and shares no mutable node with its source
    assert not set(_nodes(fast)) & set(_nodes(source))


def test_a_copy_changed_leaves_its_source_alone() -> None:
    source = _item(True)
    with fast_copies():
        fast = copy.deepcopy(source)
    fast.attrs["l"].value[1].value["k"].value.append(DynamoType({"S": "new"}))
    fast.attrs["ss"].value.append("c")
    fast.attrs["m"].value["deep"].value.clear()
    assert _shape(source) == _shape(_item(True))


def test_a_type_copy_is_the_copy_moto_makes() -> None:
    for name, attr in ATTRS.items():
        source = DynamoType(attr)
        with fast_copies():
            fast = copy.deepcopy(source)
        assert _shape(fast) == _shape(copy.deepcopy(source)), name


def test_the_action_lookup_answers_as_motos_and_is_put_back() -> None:
    with fast_copies():
        for handler in (DynamoHandler, SQSResponse):
            assert responses.method_names_from_class(handler) == utils.method_names_from_class(handler)
        for action in ("UpdateItem", "TransactWriteItems", "ReceiveMessage", "GetQueueUrl"):
            assert responses.camelcase_to_underscores(action) == utils.camelcase_to_underscores(action)
    assert responses.method_names_from_class is utils.method_names_from_class
    assert responses.camelcase_to_underscores is utils.camelcase_to_underscores


def _table(ddb: Any, name: str, *, stream: bool) -> None:
    extra: dict[str, Any] = (
        {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}}
        if stream
        else {}
    )
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        **extra,
    )
    # Every attribute type, nested: an ALL_NEW answer carries them all.
    ddb.put_item(TableName=name, Item={**ATTRS, "pk": {"S": "p"}, "n": {"N": "1"}, "tags": {"SS": ["a"]}})


def _update(ddb: Any, name: str, returns: str) -> dict[str, Any]:
    return ddb.update_item(
        TableName=name,
        Key={"pk": {"S": "p"}},
        UpdateExpression="ADD n :one, tags :t",
        ExpressionAttributeValues={":one": {"N": "1"}, ":t": {"SS": ["b"]}},
        ReturnValues=returns,
    )


@pytest.mark.parametrize("returns", ["NONE", "ALL_NEW", "ALL_OLD", "UPDATED_OLD", "UPDATED_NEW"])
def test_an_update_copies_the_item_only_for_an_answer_that_reads_the_copy(
    returns: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3
    from moto import mock_aws

    from local import moto_copies

    answers = []
    original = moto_copies._copy_item
    for lean in (False, True):
        with mock_aws(), fast_copies() if lean else ExitStack():
            ddb = boto3.client("dynamodb", region_name="us-east-1")
            name = f"copies-{uuid.uuid4().hex}"  # the session's moto may hold other tests' tables
            _table(ddb, name, stream=False)
            copies: list[int] = []

            def counted(*args: Any, copies: list[int] = copies) -> Any:
                copies.append(1)
                return original(*args)

            monkeypatch.setattr(moto_copies, "_copy_item", counted)
            answer = _update(ddb, name, returns)
            item = ddb.get_item(TableName=name, Key={"pk": {"S": "p"}})["Item"]
            answers.append((answer.get("Attributes"), item))
            if lean:
                assert bool(copies) == (returns not in ("NONE", "ALL_NEW"))
    assert answers[0] == answers[1]


def test_an_update_of_a_streamed_table_still_records_the_item_as_it_was() -> None:
    import boto3
    from moto import mock_aws

    with mock_aws(), fast_copies():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        name = f"streamed-{uuid.uuid4().hex}"
        _table(ddb, name, stream=True)
        _update(ddb, name, "NONE")
        from moto.dynamodb.models import dynamodb_backends

        account = boto3.client("sts", region_name="us-east-1").get_caller_identity()["Account"]
        table = dynamodb_backends[account]["us-east-1"].get_table(name)
        records = [r.to_json() for r in table.stream_shard.items]
    modify = [r["dynamodb"] for r in records if r["eventName"] == "MODIFY"]
    assert len(modify) == 1
    assert modify[0]["OldImage"]["n"] == {"N": "1"}
    assert modify[0]["NewImage"]["n"] == {"N": "2"}

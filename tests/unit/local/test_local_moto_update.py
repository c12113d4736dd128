"""moto with the local stack's shims answers every UpdateItem and TransactWriteItems as moto alone
does: the same sequence of requests (SET, REMOVE, ADD, DELETE, ``if_not_exists``, ``list_append``,
arithmetic, conditions that hold and fail, ReturnValues, refused requests of every kind moto
refuses, canceled transactions and their CancellationReasons) is sent to both, and every answer
and the final items are compared."""

from __future__ import annotations

import random
import re
from contextlib import ExitStack
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local import moto_update
from local.moto_shims import embedded_moto

TABLE = "updates"
Request = tuple[str, dict[str, Any]]


def _key(name: str) -> dict[str, Any]:
    return {"pk": {"S": "P"}, "sk": {"S": name}}


def _update(name: str, expression: str, values: dict[str, Any] | None = None, **extra: Any) -> Request:
    params: dict[str, Any] = {"TableName": TABLE, "Key": _key(name), "UpdateExpression": expression, **extra}
    if values is not None:
        params["ExpressionAttributeValues"] = values
    return "update_item", params


def _in_transaction(request: Request) -> dict[str, Any]:
    return {"Update": request[1]}


N1, S1 = {"N": "1"}, {"S": "one"}

SCRIPTED: list[Request] = [
    # SET on an existing item, by name and by placeholder, with every ReturnValues
    _update(
        "a",
        "SET x = :v, #y = :w",
        {":v": S1, ":w": {"N": "5"}},
        ExpressionAttributeNames={"#y": "y"},
        ReturnValues="ALL_NEW",
    ),
    _update("a", "SET x = :v", {":v": {"S": "two"}}, ReturnValues="UPDATED_OLD"),
    _update("a", "SET x = :v", {":v": {"S": "three"}}, ReturnValues="UPDATED_NEW"),
    _update("a", "SET z = :v", {":v": N1}, ReturnValues="ALL_OLD"),
    # a new item, created by the update
    _update(
        "new",
        "SET #c = if_not_exists(#c, :now), n = :one",
        {":now": S1, ":one": N1},
        ExpressionAttributeNames={"#c": "created"},
        ReturnValues="ALL_NEW",
    ),
    _update(
        "new",
        "SET #c = if_not_exists(#c, :now)",
        {":now": {"S": "later"}},
        ExpressionAttributeNames={"#c": "created"},
        ReturnValues="ALL_NEW",
    ),
    # REMOVE, present and absent, by name and by placeholder
    _update("a", "REMOVE x, #z, absent", ExpressionAttributeNames={"#z": "z"}, ReturnValues="ALL_NEW"),
    # ADD to numbers and sets, present and missing; DELETE from sets down to nothing
    _update("a", "ADD n :one, m :two", {":one": N1, ":two": {"N": "2.5"}}, ReturnValues="ALL_NEW"),
    _update("a", "ADD n :minus", {":minus": {"N": "-3"}}, ReturnValues="UPDATED_NEW"),
    _update("a", "ADD tags :t", {":t": {"SS": ["b", "a"]}}, ReturnValues="ALL_NEW"),
    _update("a", "ADD tags :t", {":t": {"SS": ["a", "c"]}}, ReturnValues="ALL_NEW"),
    _update("a", "DELETE tags :t", {":t": {"SS": ["a", "zz"]}}, ReturnValues="ALL_NEW"),
    _update("a", "DELETE tags :t", {":t": {"SS": ["b", "c"]}}, ReturnValues="ALL_NEW"),
    _update("a", "DELETE nothing_here :t", {":t": {"SS": ["b"]}}, ReturnValues="ALL_NEW"),
    # arithmetic, copies of attributes, list_append
    _update("a", "SET tat = :now + :i", {":now": {"N": "100"}, ":i": {"N": "7"}}),
    _update("a", "SET tat = tat + :i", {":i": {"N": "7"}}, ReturnValues="UPDATED_NEW"),
    _update("a", "SET tat = tat - :i, prev = tat", {":i": {"N": "0.5"}}, ReturnValues="ALL_NEW"),
    _update(
        "a",
        "SET d = :a - :b + :c",
        {":a": {"N": "10"}, ":b": {"N": "3"}, ":c": {"N": "1"}},
        ReturnValues="ALL_NEW",
    ),
    _update("a", "SET h = list_append(if_not_exists(h, :e), :x)", {":e": {"L": []}, ":x": {"L": [S1]}}),
    _update(
        "a",
        "SET h = list_append(if_not_exists(h, :e), :x)",
        {":e": {"L": []}, ":x": {"L": [N1]}},
        ReturnValues="ALL_NEW",
    ),
    _update("a", "SET h = list_append(:x, h)", {":x": {"L": [{"M": {"k": S1}}]}}, ReturnValues="ALL_NEW"),
    # every clause at once, in mixed order
    _update(
        "a",
        "REMOVE prev ADD cnt :one SET w1 = :v, w2 = :v DELETE nothing :s",
        {":one": N1, ":v": S1, ":s": {"NS": ["1"]}},
        ReturnValues="ALL_NEW",
    ),
    # shapes the fast path hands to moto: nested paths, list indexes, maps
    _update("a", "SET mp = :m", {":m": {"M": {"in": {"M": {"deep": N1}}}}}),
    _update(
        "a",
        "SET mp.#in.deep = :v, h[0] = :v",
        {":v": {"N": "9"}},
        ExpressionAttributeNames={"#in": "in"},
        ReturnValues="ALL_NEW",
    ),
    _update("a", "REMOVE mp.#in.deep, h[1]", ExpressionAttributeNames={"#in": "in"}, ReturnValues="ALL_NEW"),
    # conditions that hold and that fail
    _update(
        "a",
        "SET ok = :v",
        {":v": S1, ":one": {"N": "1"}},
        ConditionExpression="n = :one OR attribute_exists(x)",
    ),
    _update("a", "SET ok = :v", {":v": {"S": "no"}, ":big": {"N": "1000"}}, ConditionExpression="n > :big"),
    _update(
        "a",
        "SET ok = :v",
        {":v": {"S": "no"}, ":big": {"N": "1000"}},
        ConditionExpression="n > :big",
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    ),
    _update("nobody", "SET ok = :v", {":v": S1}, ConditionExpression="attribute_exists(pk)"),
    _update(
        "a",
        "SET ok = :v",
        {":v": S1},
        ConditionExpression="attribute_exists(#k)",  # names only it uses
        ExpressionAttributeNames={"#k": "pk"},
    ),
    (
        "transact_write_items",
        {
            "TransactItems": [
                _in_transaction(
                    _update(
                        "a",
                        "SET ok = :v",
                        {":v": S1},
                        ConditionExpression="attribute_exists(#k)",
                        ExpressionAttributeNames={"#k": "pk"},
                    )
                )
            ]
        },
    ),
    _update("a", "SET ok = :v", {":v": S1, ":a": S1, ":b": {"S": "x"}}, ConditionExpression="ok IN (:a, :b)"),
    # requests moto refuses (each must change nothing, or the same thing)
    _update("a", "SET x = :nope", {":v": S1}),
    _update("a", "SET x = :nope", {}),
    _update("a", "SET x = :v"),
    _update("a", "SET #nope = :v", {":v": S1}),
    _update("a", "SET x = :v, x = :w", {":v": S1, ":w": S1}),
    _update("a", "SET #x = :v, x = :w", {":v": S1, ":w": S1}, ExpressionAttributeNames={"#x": "x"}),
    _update("a", "SET sk = :v", {":v": S1}),
    _update("a", "SET #k = :v", {":v": S1}, ExpressionAttributeNames={"#k": "pk"}),
    _update("a", "SET x = pk", {}),
    _update("a", "SET x = missing_attribute"),
    _update("a", "SET x = missing_attribute + :one", {":one": N1}),
    _update("a", "SET x = if_not_exists(missing, other_missing)"),
    _update("a", "SET x = ok + :one", {":one": N1}),
    _update("a", "SET x = :s - :one", {":s": S1, ":one": N1}),
    _update("a", "SET x = list_append(missing, :l)", {":l": {"L": []}}),
    _update("a", "SET x = list_append(ok, :l)", {":l": {"L": []}}),
    _update("a", "SET x = list_append(h, missing)"),
    _update("a", "ADD ok :one", {":one": N1}),
    _update("a", "ADD n :s", {":s": S1}),
    _update("a", "ADD n :t", {":t": {"SS": ["a"]}}),
    _update("a", "ADD fresh :t", {":t": {"SS": []}}),
    _update("a", "DELETE n :t", {":t": {"SS": ["a"]}}),
    _update("a", "DELETE h :one", {":one": N1}),
    _update("a", "SET status = :v", {":v": S1}),
    _update("a", "REMOVE #name", ExpressionAttributeNames={"#name": "ok", "#unused": "u"}),
    _update("a", "SET x = :v", {":v": S1, ":unused": S1}),
    _update("a", "SET gpk = :n", {":n": N1}),
    _update("a", "SET gpk = :empty", {":empty": {"S": ""}}),
    _update("a", "SET x = :v SET y = :v", {":v": S1}),
    _update("a", "SET x = = :v", {":v": S1}),
    _update("a", "SET x = size(h)"),
    _update("a", "SET x = :v", {":v": S1}, ConditionExpression="n = :missing"),
    _update("a", "SET x = :v", {":v": S1}, ConditionExpression="n = = :v"),
    # an update that outgrows the item limit: moto leaves the earlier actions applied
    _update(
        "a",
        "SET before_big = :s, big = :big, after_big = :s",
        {
            ":s": S1,
            ":big": {"S": "x" * 300_000},
        },
    ),
    _update("a", "SET big2 = :big", {":big": {"S": "y" * 150_000}}),
    _update("a", "REMOVE big, big2, before_big, after_big", ReturnValues="UPDATED_OLD"),
    # transactions: committed, canceled by a condition (with the old item asked for), refused
    (
        "transact_write_items",
        {
            "TransactItems": [
                _in_transaction(
                    _update(
                        "a",
                        "SET #st = :d, dials = :n REMOVE ok",
                        {":d": {"S": "dialing"}, ":n": N1, ":p": {"S": "pending"}},
                        ExpressionAttributeNames={"#st": "st"},
                        ConditionExpression="attribute_not_exists(#st) OR #st = :p",
                    )
                ),
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": {**_key("attempt"), "state": {"S": "posting"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                _in_transaction(
                    _update(
                        "counts",
                        "ADD #c0 :c0, #c1 :c1",
                        {":c0": N1, ":c1": {"N": "-1"}},
                        ExpressionAttributeNames={"#c0": "dials", "#c1": "open"},
                    )
                ),
            ]
        },
    ),
    (
        "transact_write_items",
        {
            "TransactItems": [
                _in_transaction(
                    _update(
                        "a",
                        "SET #st = :d",
                        {":d": {"S": "again"}, ":p": {"S": "pending"}},
                        ExpressionAttributeNames={"#st": "st"},
                        ConditionExpression="#st = :p",
                        ReturnValuesOnConditionCheckFailure="ALL_OLD",
                    )
                ),
                _in_transaction(_update("counts", "ADD dials :one", {":one": N1})),
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": _key("attempt"),
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        },
    ),
    (
        "transact_write_items",
        {
            "TransactItems": [
                _in_transaction(_update("counts", "ADD dials :one", {":one": N1})),
                _in_transaction(
                    _update(
                        "attempt",
                        "SET #s = :v",
                        {":v": S1},
                        ExpressionAttributeNames={"#s": "state"},
                        ConditionExpression="attribute_not_exists(pk)",
                    )
                ),
            ]
        },
    ),
    (
        "transact_write_items",
        {
            "TransactItems": [
                _in_transaction(_update("counts", "ADD dials :one", {":one": N1})),
                _in_transaction(
                    _update(
                        "attempt", "SET #s = :missing", {":v": S1}, ExpressionAttributeNames={"#s": "state"}
                    )
                ),
            ]
        },
    ),
    (
        "transact_write_items",
        {
            "TransactItems": [
                _in_transaction(_update("counts", "ADD dials :one", {":one": N1})),
                _in_transaction(
                    _update("attempt", "ADD #s :one", {":one": N1}, ExpressionAttributeNames={"#s": "state"})
                ),
            ]
        },
    ),
    (
        "transact_write_items",
        {
            "TransactItems": [
                _in_transaction(_update("counts", "ADD dials :one REMOVE open", {":one": N1})),
                _in_transaction(
                    _update(
                        "fresh",
                        "SET h = list_append(if_not_exists(h, :e), :x)",
                        {":e": {"L": []}, ":x": {"L": [S1]}},
                    )
                ),
                {"Delete": {"TableName": TABLE, "Key": _key("new")}},
            ]
        },
    ),
]

NAMES = ("x", "y", "n", "tags", "h", "st")
KEYS = ("a", "b", "c", "d")


def _random_request(rng: random.Random) -> Request:
    """One update of the kinds the product sends, with values that sometimes make moto refuse it."""
    target, other = rng.sample(NAMES, 2)
    values = {
        ":s": rng.choice([S1, {"S": "two"}, {"S": ""}]),
        ":n": rng.choice([N1, {"N": "-2"}, {"N": "0.25"}]),
        ":set": rng.choice([{"SS": ["a"]}, {"SS": ["a", "b"]}, {"NS": ["1"]}]),
        ":list": {"L": [rng.choice([S1, N1])]},
        ":e": {"L": []},
    }
    clauses = rng.choice(
        [
            f"SET #t = :s, {other} = :n",
            "SET #t = if_not_exists(#t, :n)",
            f"SET #t = {other} + :n",
            "SET #t = list_append(if_not_exists(#t, :e), :list)",
            f"SET #t = {other}",
            "ADD #t :n",
            "ADD #t :set",
            "DELETE #t :set",
            f"REMOVE #t, {other}",
            f"SET #t = :s REMOVE {other}",
            f"ADD #t :n SET {other} = :s",
        ]
    )
    used = {p: v for p, v in values.items() if re.search(f"{p}\\b", clauses)}
    extra: dict[str, Any] = {"ExpressionAttributeNames": {"#t": target}}
    condition = rng.choice([None, "attribute_exists(pk)", "attribute_not_exists(#t)", "n > :zero"])
    if condition is not None:
        extra["ConditionExpression"] = condition
        if ":zero" in condition:
            used[":zero"] = {"N": "0"}
    extra["ReturnValues"] = rng.choice(["NONE", "ALL_NEW", "ALL_OLD", "UPDATED_NEW", "UPDATED_OLD"])
    request = _update(rng.choice(KEYS), clauses, used or None, **extra)
    if rng.random() < 0.3:  # the same update as part of a transaction, beside a counter
        params = {k: v for k, v in request[1].items() if k != "ReturnValues"}
        counter = _update("counts", "ADD #c :one", {":one": N1}, ExpressionAttributeNames={"#c": target})
        return "transact_write_items", {"TransactItems": [{"Update": params}, _in_transaction(counter)]}
    return request


def _script() -> list[Request]:
    rng = random.Random(20)
    return SCRIPTED + [_random_request(rng) for _ in range(250)]


def _answer(ddb: Any, operation: str, params: dict[str, Any]) -> Any:
    try:
        response = getattr(ddb, operation)(**params)
    except ClientError as exc:
        return {
            "error": exc.response["Error"],
            "reasons": exc.response.get("CancellationReasons"),
            "item": exc.response.get("Item"),
        }
    except Exception as exc:  # moto's own fault (a 500 from its server): the same fault, alike
        return {"fault": type(exc).__name__, "text": str(exc)}
    response.pop("ResponseMetadata")
    return response


def _run(script: list[Request], shimmed: bool) -> tuple[list[Any], list[Any]]:
    with mock_aws(), embedded_moto() if shimmed else ExitStack():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gpk")],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "gsi",
                    "KeySchema": [{"AttributeName": "gpk", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        )
        ddb.put_item(TableName=TABLE, Item={**_key("a"), "n": N1, "st": {"S": "pending"}})
        answers = [_answer(ddb, operation, params) for operation, params in script]
        items = sorted(ddb.scan(TableName=TABLE)["Items"], key=lambda item: item["sk"]["S"])
        # Inside another test module's moto world (xdist may run both in one worker) this mock does
        # not reset moto on exit: leave no table behind.
        ddb.delete_table(TableName=TABLE)
    return answers, items


def test_updates_answer_as_moto_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN one sequence of updates and transactions, sent to moto alone and to the shimmed moto
    script = _script()
    vanilla_answers, vanilla_items = _run(script, shimmed=False)
    applied = []  # updates the fast path applied itself (the rest went moto's way)
    original_apply = moto_update._apply
    monkeypatch.setattr(moto_update, "_apply", lambda *args: applied.append(1) or original_apply(*args))
    shimmed_answers, shimmed_items = _run(script, shimmed=True)
    # THEN every answer is the same, request by request, and so is every item at the end
    for step, (request, vanilla, shimmed) in enumerate(
        zip(script, vanilla_answers, shimmed_answers, strict=True)
    ):
        assert shimmed == vanilla, (step, request)
    assert shimmed_items == vanilla_items
    # AND the script exercised what it is meant to: the fast path, refusals, failed conditions,
    # canceled transactions
    assert len(applied) > 120
    codes = {answer["error"]["Code"] for answer in vanilla_answers if "error" in answer}
    assert {"ValidationException", "ConditionalCheckFailedException", "TransactionCanceledException"} <= codes
    assert sum("error" not in answer for answer in vanilla_answers) > 120

"""moto's update path with the product's shapes: UpdateItem and TransactWriteItems per second.

Runs the same requests (the shapes of ``dialer.adapters``: SET/REMOVE/ADD with ``if_not_exists``,
``list_append`` and ``+``, conditions with ``IN``, ``OR``, ``attribute_exists``; 3- and 4-item
transactions) against moto in-process (``mock_aws``, one boto3 client) three ways:

* ``vanilla``: moto alone;
* ``server``: the shims the local stack's moto server ran before issue 20's update path
  (``serialised_dynamodb`` and ``fast_attribute_values``);
* ``fast``: those plus :func:`local.moto_update.fast_updates` and
  :func:`local.moto_conditions.cached_conditions` (what ``local.moto_server`` runs now).

It prints requests per second as the client sees them (boto3's own work included) and the CPU
that moto's DynamoDB handler spends per request (the moto server's share; the client's work is
the Lambda processes' on the local stack). Run:
``PYTHONPATH=layers/telnyx_client:layers/core:. .venv/bin/python bench/moto_update.py [rounds]``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import boto3
from moto import mock_aws

TABLE = "bench"
ITEMS = 200
FILLER = {f"f{i:02d}": {"S": f"value {i} of a lead's attributes"} for i in range(16)}


def _key(i: int, sk: str = "LEAD") -> dict[str, Any]:
    return {"pk": {"S": f"T#bench#LEAD#{i % ITEMS}"}, "sk": {"S": sk}}


def _setup(ddb: Any) -> None:
    ddb.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "due_pk", "due_sk")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "due",
                "KeySchema": [
                    {"AttributeName": "due_pk", "KeyType": "HASH"},
                    {"AttributeName": "due_sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    for i in range(ITEMS):
        item = {
            **_key(i),
            "st": {"S": "pending"},
            "due_pk": {"S": "DUE#1"},
            "due_sk": {"S": f"{i:05d}"},
            **FILLER,
        }
        ddb.put_item(TableName=TABLE, Item=item)
        ddb.put_item(TableName=TABLE, Item={**_key(i, "RATE"), "tat": {"N": "1000"}})


def update_fields(ddb: Any, i: int) -> None:
    """``table_ops``: SET fields, if_not_exists, ADD a counter, REMOVE; ReturnValues ALL_NEW."""
    ddb.update_item(
        TableName=TABLE,
        Key=_key(i),
        UpdateExpression="SET #f0 = :f0, #f1 = :f1, #created = if_not_exists(#created, :now) "
        "ADD #c0 :c0 REMOVE #r0",
        ConditionExpression="attribute_exists(#pk)",
        ExpressionAttributeNames={
            "#f0": "name",
            "#f1": "attempts",
            "#created": "created_at",
            "#c0": "edits",
            "#r0": "note",
            "#pk": "pk",
        },
        ExpressionAttributeValues={
            ":f0": {"S": f"name {i}"},
            ":f1": {"N": str(i)},
            ":now": {"S": "2026-12-06"},
            ":c0": {"N": "1"},
        },
        ReturnValues="ALL_NEW",
    )


def update_rate(ddb: Any, i: int) -> None:
    """``dialing_rate``: a GCRA step, ``SET tat = tat + :i`` under a range condition."""
    ddb.update_item(
        TableName=TABLE,
        Key=_key(i, "RATE"),
        UpdateExpression="SET tat = tat + :i",
        ConditionExpression="tat >= :now AND tat <= :ahead",
        ExpressionAttributeValues={":i": {"N": "1"}, ":now": {"N": "0"}, ":ahead": {"N": "1000000000"}},
    )


def transact_claim(ddb: Any, i: int) -> None:
    """``dialing_claims``: the lead claimed (SET + REMOVE under a condition), the attempt put, the
    campaign's counters added."""
    ddb.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": _key(i),
                    "UpdateExpression": "SET #st = :dialing, dials = :n, current_attempt = :n, due_pk = :ipk, "
                    "due_sk = :isk, updated_at = :now REMOVE deferred_reason",
                    "ConditionExpression": "#st = :pending OR #st = :dialing",
                    "ExpressionAttributeNames": {"#st": "st"},
                    "ExpressionAttributeValues": {
                        ":dialing": {"S": "pending"},  # stays claimable round after round
                        ":pending": {"S": "pending"},
                        ":n": {"N": str(i)},
                        ":ipk": {"S": "DUE#1"},
                        ":isk": {"S": f"{i % ITEMS:05d}"},
                        ":now": {"S": "2026-12-06T10:00:00Z"},
                    },
                }
            },
            {
                "Put": {
                    "TableName": TABLE,
                    "Item": {**_key(i, f"ATTEMPT#{i}"), "state": {"S": "posting"}, "attempt": {"N": str(i)}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": {"pk": {"S": "T#bench#COUNTS"}, "sk": {"S": "C"}},
                    "UpdateExpression": "ADD #c0 :c0, #c1 :c1",
                    "ExpressionAttributeNames": {"#c0": "dials", "#c1": "in_flight"},
                    "ExpressionAttributeValues": {":c0": {"N": "1"}, ":c1": {"N": "1"}},
                }
            },
        ]
    )


def transact_settle(ddb: Any, i: int) -> None:
    """``dialing_attempts``: the attempt settled (SET, list_append(if_not_exists)) under ``IN``, the
    lead checked, a slot freed (ADD under an OR condition), the campaign's counters added."""
    ddb.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": _key(i, f"ATTEMPT#{i}"),
                    "UpdateExpression": "SET #state = :ended, outcome = :o, ended_at = :t, "
                    "outcome_history = list_append(if_not_exists(outcome_history, :empty), :entry)",
                    "ConditionExpression": "#state IN (:o0, :o1, :o2)",
                    "ExpressionAttributeNames": {"#state": "state"},
                    "ExpressionAttributeValues": {
                        ":ended": {"S": "ended"},
                        ":o": {"S": "no_answer"},
                        ":t": {"S": "2026-12-06T10:00:30Z"},
                        ":empty": {"L": []},
                        ":entry": {"L": [{"M": {"outcome": {"S": "no_answer"}, "at": {"S": "10:00:30"}}}]},
                        ":o0": {"S": "posting"},
                        ":o1": {"S": "accepted"},
                        ":o2": {"S": "unconfirmed"},
                    },
                }
            },
            {
                "ConditionCheck": {
                    "TableName": TABLE,
                    "Key": _key(i),
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": {"pk": {"S": "T#bench#SLOTS"}, "sk": {"S": f"S{i % 20}"}},
                    "UpdateExpression": "ADD in_use :d",
                    "ConditionExpression": "attribute_not_exists(in_use) OR in_use <= :room",
                    "ExpressionAttributeValues": {":d": {"N": "0"}, ":room": {"N": "20"}},
                }
            },
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": {"pk": {"S": "T#bench#COUNTS"}, "sk": {"S": "C"}},
                    "UpdateExpression": "ADD #c0 :c0, #c1 :c1",
                    "ExpressionAttributeNames": {"#c0": "ended", "#c1": "in_flight"},
                    "ExpressionAttributeValues": {":c0": {"N": "1"}, ":c1": {"N": "-1"}},
                }
            },
        ]
    )


SHAPES: dict[str, Callable[[Any, int], None]] = {
    "update_item.fields": update_fields,
    "update_item.rate": update_rate,
    "transact.claim": transact_claim,
    "transact.settle": transact_settle,
}


@contextmanager
def _variant(name: str) -> Iterator[None]:
    from local.moto_conditions import cached_conditions
    from local.moto_dynamo import serialised_dynamodb
    from local.moto_serialize import fast_attribute_values
    from local.moto_update import fast_updates

    with ExitStack() as stack:
        if name == "fast":
            stack.enter_context(fast_updates())
            stack.enter_context(cached_conditions())
        if name in ("server", "fast"):
            stack.enter_context(serialised_dynamodb())
            stack.enter_context(fast_attribute_values())
        yield


@contextmanager
def _moto_cpu(total: list[float]) -> Iterator[None]:
    """Adds the CPU time spent inside moto's DynamoDB handler to ``total[0]``."""
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        start = time.thread_time()
        try:
            return original(self)
        finally:
            total[0] += time.thread_time() - start

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    try:
        yield
    finally:
        DynamoHandler.call_action = original  # type: ignore[method-assign]


def measure(variant: str, rounds: int) -> dict[str, tuple[float, float]]:
    """Per shape: (requests per second, moto CPU milliseconds per request)."""
    found = {}
    with mock_aws(), _variant(variant):
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        _setup(ddb)
        for name, shape in SHAPES.items():
            for i in range(20):  # warm: first parses, first plans
                shape(ddb, i)
            cpu = [0.0]
            with _moto_cpu(cpu):
                start = time.perf_counter()
                for i in range(20, 20 + rounds):
                    shape(ddb, i)
                wall = time.perf_counter() - start
            found[name] = (rounds / wall, cpu[0] / rounds * 1000)
    return found


def main(rounds: int) -> int:
    """Measure each variant and print ``name value unit`` lines, then a table."""
    results = {variant: measure(variant, rounds) for variant in ("vanilla", "server", "fast")}
    for variant, shapes in results.items():
        for name, (rate, cpu) in shapes.items():
            print(f"moto_update.{variant}.{name}.rate {rate:.1f} requests/s")
            print(f"moto_update.{variant}.{name}.moto_cpu {cpu:.2f} ms")
    print(f"\n{'shape':22} " + " ".join(f"{v + ' req/s':>14} {v + ' ms':>11}" for v in results))
    for name in SHAPES:
        cells = " ".join(f"{results[v][name][0]:14.1f} {results[v][name][1]:11.2f}" for v in results)
        print(f"{name:22} {cells}")
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 300))

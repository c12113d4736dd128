"""The direct item sizes (local/moto_sizes.py) are moto's own: value by value on random values of
every attribute type and nesting, and item by item, so moto refuses the same writes."""

from __future__ import annotations

import random

from moto.dynamodb.models.dynamo_type import DynamoType, Item

from local.moto_sizes import fast_sizes, value_size
from tests.unit.local.test_local_moto_serialize import random_value


def test_every_value_measures_what_moto_measures() -> None:
    rng = random.Random(20)
    values = [random_value(rng) for _ in range(3000)]
    values += [{"BOOL": False}, {"NULL": True}, {"B": "AAE="}, {"M": {}}, {"L": []}, {"N": "1E+3"}]
    for wire in values:
        value = DynamoType(wire)
        assert value_size(value) == value.size(), wire
        assert value_size(wire) == value.size(), wire  # a raw value, as moto would wrap it


def test_items_measure_the_same_within_the_shim() -> None:
    rng = random.Random(21)
    items = [
        {"pk": {"S": f"k{n}"}, **{f"a{i}": random_value(rng) for i in range(rng.randrange(1, 12))}}
        for n in range(300)
    ]
    want = [Item(DynamoType(i["pk"]), None, i).size() for i in items]
    with fast_sizes():
        got = [Item(DynamoType(i["pk"]), None, i).size() for i in items]
        assert DynamoType.size is value_size  # type: ignore[comparison-overlap]
    assert got == want
    assert DynamoType.size is not value_size  # type: ignore[comparison-overlap]

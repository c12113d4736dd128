"""moto's item sizes without rebuilding every nested value.

moto refuses a write past its item size limit, so it measures items often: the whole item before
each attribute it sets (``LimitedSizeDict``), and :mod:`local.moto_update` once per update to do
the same. ``DynamoType.size`` measures a map by wrapping each of its values in a new
``DynamoType``, whose constructor wraps every nested value again, so a map nested ``d`` deep is
rebuilt ``d`` times over to be measured once. On the local stack that was a twelfth of the moto
server's busy time during a campaign (py-spy, the demo's first attempts): the product's lead and
call items hold maps (variables, facts).

:func:`value_size` gives the same number by walking the values as they are.
``tests/unit/local/test_local_moto_sizes.py`` compares it with moto's own on generated values.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.dynamodb.models.dynamo_type import DynamoType


def value_size(value: Any) -> int:
    """``DynamoType.size`` of ``value`` (a ``DynamoType``), computed without building new ones."""
    if type(value) is not DynamoType:
        return DynamoType(value).size()  # a raw {"S": ...} dict: moto's own way
    kind, raw = value.type, value.value
    if kind == "S":
        return len(raw.encode("utf-8")) if type(raw) is str else _bytes(raw)
    if kind == "N":
        return len(str(raw))
    if kind == "M":
        return sum(_bytes(key) + value_size(member) for key, member in raw.items())
    if kind == "L":
        return sum(value_size(member) for member in raw)
    if kind == "NS":
        return sum(len(str(member)) for member in raw)
    if kind in ("SS", "BS"):
        return sum(_bytes(member) for member in raw)
    if isinstance(raw, bool):  # BOOL, NULL
        return 1
    return _bytes(raw)


def _bytes(text: str | bytes) -> int:
    """moto's ``bytesize``."""
    return len(text if isinstance(text, bytes) else text.encode("utf-8"))


@contextmanager
def fast_sizes() -> Iterator[None]:
    """Within the block, moto measures values with :func:`value_size`."""
    original = DynamoType.size
    DynamoType.size = value_size  # type: ignore[method-assign]
    try:
        yield
    finally:
        DynamoType.size = original  # type: ignore[method-assign]

"""A direct serializer for DynamoDB's attribute values in moto's responses.

moto writes every response through a generic, model-driven serializer: for each attribute of each
item it walks the ten members of botocore's ``AttributeValue`` shape and looks each one up through
a chain of alias providers (``S``, ``s``, ``StringAttributeValue``, ...). On the local stack that
was a third of the moto server's busy time, more than DynamoDB's own work.

An attribute value that moto hands the serializer is a plain dict holding only ``AttributeValue``
member names (``moto.dynamodb.models.utilities.dynamo_to_dict``). For such a dict the generic
serializer's answer is fixed by the shape: strings and numbers as ``str``, binaries base64-encoded,
sets member by member, ``M`` and ``L`` recursively, ``NULL`` and ``BOOL`` as they are, members
that are ``None`` left out. :func:`fast_attribute_values` writes exactly that, and hands anything
else (a key that is not a member name, a value of another type) back to moto's serializer.
``tests/unit/local/test_local_moto_serialize.py`` compares the two, byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Any

_MEMBERS = frozenset(("S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"))


class _Unusual(Exception):
    """A value the direct path does not handle: moto's own serializer writes it."""


def _string(value: Any) -> Any:
    # moto's BaseJSONSerializer._serialize_type_string
    if isinstance(value, Enum):
        value = value.value
    return str(value) if value not in [None, {}, []] else value


def _attribute(base64: Callable[[Any], str], value: Any) -> dict[str, Any]:
    if type(value) is not dict or len(value) != 1:
        raise _Unusual  # moto's values hold one type each; anything else is moto's to write
    ((member, member_value),) = value.items()
    if member not in _MEMBERS:
        raise _Unusual
    if member_value is None:
        return {}  # moto leaves out a member whose value is None
    if member in ("S", "N"):
        return {member: member_value if type(member_value) is str else _string(member_value)}
    if member in ("NULL", "BOOL"):
        return {member: member_value}
    if member == "B":
        return {member: base64(member_value)}
    if member == "M":
        if type(member_value) is not dict or "" in member_value:
            raise _Unusual  # moto writes an empty name's members into the map itself
        return {member: {name: _attribute(base64, item) for name, item in member_value.items()}}
    if type(member_value) is not list:
        raise _Unusual
    if member == "L":
        return {member: [_attribute(base64, item) for item in member_value]}
    if member == "BS":
        if None in member_value:
            raise _Unusual
        return {member: [base64(item) for item in member_value]}
    return {member: [item if type(item) is str else _string(item) for item in member_value]}  # SS, NS


@contextmanager
def fast_attribute_values() -> Iterator[None]:
    """Within the block, moto's JSON serializer writes DynamoDB attribute values directly."""
    from moto.core.serialize import BaseJSONSerializer

    original = BaseJSONSerializer._serialize_type_structure

    def _serialize_type_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if key and shape.name == "AttributeValue" and self.service_model.service_name == "dynamodb":
            if value is None:
                return
            try:
                direct = _attribute(self._base64, value)
            except _Unusual:
                pass
            else:
                self._default_serialize(serialized, direct, shape, key)
                return
        original(self, serialized, value, shape, key)

    BaseJSONSerializer._serialize_type_structure = _serialize_type_structure  # type: ignore[method-assign]
    try:
        yield
    finally:
        BaseJSONSerializer._serialize_type_structure = original  # type: ignore[method-assign]

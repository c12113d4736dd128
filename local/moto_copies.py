"""moto's per-request constant costs, cut: item copies made directly, the action lookup cached.

Profiled on the moto server during the demo's dialing (py-spy, ``--gil``), a fifth of its CPU
went to ``copy.deepcopy`` of items (every UpdateItem copies the item it changes; every Query copies
its results) and a twentieth to finding the handler's method for the action, which lists the
handler class's members with ``inspect.getmembers`` on every request.

- :func:`_copy_type` / :func:`_copy_item` build the same copies as moto's ``__deepcopy__`` (the
  type, the value; lists and maps copied element by element, sets as new lists; an item's keys
  and attributes), without ``copy.deepcopy``'s dispatch and memo for every attribute value.
  DynamoDB values form trees (no value is shared or cyclic), so the memo has nothing to find.
- The method names of a response class do not change while the server runs: listed once per
  class. The action's snake-case name is cached per action name.

``tests/unit/local/test_local_moto_copies.py`` compares both with moto's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

_SETS = frozenset(("SS", "NS", "BS"))


def _copy_type(value: Any) -> Any:
    """A copy of a ``DynamoType`` tree, as its ``__deepcopy__`` makes it."""
    cls = value.__class__
    copied = cls.__new__(cls)
    kind = copied.type = value.type
    inner = value.value
    if kind == "L":
        copied.value = [_copy_type(v) for v in inner]
    elif kind == "M":
        copied.value = {k: _copy_type(v) for k, v in inner.items()}
    elif kind in _SETS:
        copied.value = list(inner)
    else:
        copied.value = inner
    return copied


def _copy_item(item: Any, attrs_class: Any) -> Any:
    """A copy of an ``Item``, as its ``__deepcopy__`` makes it (``attrs_class``: moto's
    ``LimitedSizeDict``, filled without its size check: the source item passed it)."""
    cls = item.__class__
    copied = cls.__new__(cls)
    copied.hash_key = _copy_type(item.hash_key)
    copied.range_key = None if item.range_key is None else _copy_type(item.range_key)
    attrs = attrs_class.__new__(attrs_class)
    dict.update(attrs, {k: _copy_type(v) for k, v in item.attrs.items()})
    copied.attrs = attrs
    return copied


@contextmanager
def fast_copies() -> Iterator[None]:
    """Within the block: direct item copies and the cached action lookup."""
    from moto.core import responses, utils
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    saved = (
        DynamoType.__deepcopy__,
        Item.__deepcopy__,
        responses.method_names_from_class,
        responses.camelcase_to_underscores,
    )
    DynamoType.__deepcopy__ = lambda self, memo: _copy_type(self)  # type: ignore[method-assign]
    Item.__deepcopy__ = lambda self, memo: _copy_item(self, LimitedSizeDict)  # type: ignore[method-assign]
    responses.method_names_from_class = cache(utils.method_names_from_class)  # type: ignore[attr-defined]
    responses.camelcase_to_underscores = cache(utils.camelcase_to_underscores)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        (
            DynamoType.__deepcopy__,  # type: ignore[method-assign]
            Item.__deepcopy__,  # type: ignore[method-assign]
            responses.method_names_from_class,  # type: ignore[attr-defined]
            responses.camelcase_to_underscores,  # type: ignore[attr-defined]
        ) = saved

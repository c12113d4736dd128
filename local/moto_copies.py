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

- An UpdateItem copies the item twice for answers nobody asked for: the request handler before
  the update (to list what changed, for ``UPDATED_*`` and ``ALL_OLD``), the backend the item as
  it was (for the table's stream). With ``ReturnValues`` ``NONE`` or ``ALL_NEW`` (every update
  the product makes outside a transaction) on a table without a stream, neither copy is read
  after the update, so :func:`_lean_update_item` lets ``Item.__deepcopy__`` hand the item itself
  for that request (a value's copy stays a copy). The handler still reads the item's attributes
  into fresh dicts before the update. Its answer is built from ``Item.to_json()``, plain JSON
  already, which moto's ``DynamoResult`` walks once more to convert the ``DynamoType`` values
  it could hold (a tenth of the server's CPU in the demo, for the ``ALL_NEW`` answers): for that
  request :class:`_PlainResult` takes it as it is.

``tests/unit/local/test_local_moto_copies.py`` compares all of these with moto's own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

_SETS = frozenset(("SS", "NS", "BS"))
_UNREAD_COPIES = threading.local()  # .on: this thread's UpdateItem reads no item copy
_NO_COPY_NEEDED = frozenset(("NONE", "ALL_NEW"))


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


def _deepcopy_item(item: Any, attrs_class: Any) -> Any:
    return item if getattr(_UNREAD_COPIES, "on", False) else _copy_item(item, attrs_class)


def _plain_result(dynamo_result: Any) -> Any:
    """moto's ``DynamoResult``, which takes the lean UpdateItem's answer (plain JSON) as it is."""
    from moto.core.responses import ActionResult

    class _PlainResult(dynamo_result):
        def __init__(self, result: object) -> None:
            if getattr(_UNREAD_COPIES, "on", False):
                ActionResult.__init__(self, result)
            else:
                super().__init__(result)

    return _PlainResult


def _lean_update_item(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """moto's UpdateItem handler, its item copies skipped when nothing reads them (see above)."""

    def update_item(self: Any) -> Any:
        if self.body.get("ReturnValues", "NONE") not in _NO_COPY_NEEDED:
            return original(self)
        try:
            streamed = self.dynamodb_backend.get_table(self.body["TableName"]).stream_shard is not None
        except Exception:  # moto's own handler answers a bad request its way
            return original(self)
        if streamed:
            return original(self)
        _UNREAD_COPIES.on = True
        try:
            return original(self)
        finally:
            _UNREAD_COPIES.on = False

    return update_item


@contextmanager
def fast_copies() -> Iterator[None]:
    """Within the block: direct item copies, the cached action lookup and the lean UpdateItem."""
    from moto.core import responses, utils
    from moto.dynamodb import responses as dynamodb_responses
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    saved = (
        DynamoType.__deepcopy__,
        Item.__deepcopy__,
        responses.method_names_from_class,
        responses.camelcase_to_underscores,
    )
    saved_update = dynamodb_responses.DynamoHandler.update_item
    saved_result = dynamodb_responses.DynamoResult
    dynamodb_responses.DynamoResult = _plain_result(saved_result)  # type: ignore[misc]
    DynamoType.__deepcopy__ = lambda self, memo: _copy_type(self)  # type: ignore[method-assign]
    Item.__deepcopy__ = lambda self, memo: _deepcopy_item(self, LimitedSizeDict)  # type: ignore[method-assign]
    dynamodb_responses.DynamoHandler.update_item = _lean_update_item(saved_update)  # type: ignore[method-assign]
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
        dynamodb_responses.DynamoHandler.update_item = saved_update  # type: ignore[method-assign]
        dynamodb_responses.DynamoResult = saved_result  # type: ignore[misc]

"""Make moto's DynamoDB behave like DynamoDB under concurrency.

The local stack's embedded moto server (``local.run``) serves every Lambda-like process at once,
and the dialing engine's in-process tests run dispatchers and dialers on threads. Three gaps
matter to both (a fourth is speed):

* moto's backend is not thread-safe (a query iterating a partition while another thread writes
  to it fails), while DynamoDB serialises each request per item. :func:`serialised_dynamodb`
  runs every DynamoDB request under one lock: each request is atomic, as in DynamoDB.
* moto tests, then sorts, every item of the table for every Query, index Queries included
  (see :func:`_query` and :class:`_IndexMap`);
* moto's ``TransactWriteItems`` deep-copies the whole table for each item of a transaction (to
  roll back on failure) and restores that copy on failure, which is O(table) per call and, with
  other writers, would undo *their* writes too. DynamoDB evaluates every condition of a
  transaction against the state before it and then applies all or nothing; with requests
  serialised that is exactly "check every condition, then apply every write", which
  :func:`_transact_write_items` does (the touched items are snapshotted, so an apply that fails
  halfway is undone item by item);
* moto checks an item's 400 KB limit by re-measuring the whole item for each attribute it sets,
  O(attributes²) per write (most of the 100,000-row import's time): :func:`_item_init` measures
  the finished item once, with the same limit and the same error;
* moto reads and writes the item operations' JSON through botocore's service model:
  :mod:`local.moto_wire` uses ``json`` where that changes nothing.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_LOCK = threading.RLock()


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    seen: set[tuple[str, str]] = set()
    plan: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = []
    errors: list[tuple[Any, Any, Any]] = []
    for entry in transact_items:
        if len(entry) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(entry.items()))
        table_name = op["TableName"]
        table = self.get_table(table_name)
        if op_type == "Put":
            attrs = op["Item"]
            key = {table.hash_key_attr: attrs[table.hash_key_attr]}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = attrs[table.range_key_attr]
        else:
            key = op["Key"]
        marker = (table_name, str(sorted(key.items())))
        if marker in seen:
            raise MultipleTransactionsException()
        seen.add(marker)
        current = self.get_item(table_name, key)
        condition = op.get("ConditionExpression")
        if condition is not None:
            try:
                check = get_filter_expression(
                    condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
                )
                held = check.expr(current)
            except MockValidationException:
                raise
            except Exception as exc:  # moto's own fault (e.g. `>` between a string and a number):
                errors.append((type(exc).__name__, str(exc), None))  # a reason, as moto alone gives
                continue
            if not held:
                old = None  # the item as it was, if asked for (as DynamoDB and moto answer)
                if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current is not None:
                    old = current.to_json()["Attributes"]
                errors.append(("ConditionalCheckFailed", "The conditional request failed", old))
                continue
        errors.append((None, None, None))
        plan.append((op_type, op, table_name, key))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    snapshots = [(name, key, copy.deepcopy(self.get_item(name, key))) for _, _, name, key in plan]
    try:
        for op_type, op, table_name, key in plan:
            names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            if op_type == "Put":
                self.put_item(table_name, op["Item"])
            elif op_type == "Delete":
                self.delete_item(table_name, key)
            elif op_type == "Update":
                self.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
    except Exception:
        for table_name, key, before in snapshots:
            if before is None:
                self.delete_item(table_name, key)
            else:
                self.get_table(table_name).put_item(before.to_json()["Attributes"])
        raise


def _item_init(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
    """moto's ``Item.__init__`` with one size check of the finished item instead of one per attribute
    (the sizes only grow as attributes are added, so the last check is the one that decides)."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    self.hash_key = hash_key
    self.range_key = range_key
    built = {key: DynamoType(value) for key, value in attrs.items()}
    if sum(bytesize(key) + value.size() for key, value in built.items()) > _MOTO_ITEM_LIMIT:
        raise ItemSizeTooLarge
    self.attrs = LimitedSizeDict()
    dict.update(self.attrs, built)  # later single-attribute sets keep moto's own check


_MOTO_ITEM_LIMIT = 405_000  # moto's own threshold (DynamoDB's 400 KB, measured 409-410 KB)


def _dkey(value: Any) -> tuple[str, str] | None:
    """A moto ``DynamoType`` as a hashable key (None for a missing attribute)."""
    return None if value is None else (value.type, str(value.value))


class _IndexMap:
    """Which items each index partition holds, kept up to date on every write (moto itself
    finds an index partition by testing every item of the table, O(table) per Query)."""

    def __init__(self, table: Any) -> None:
        self.attrs = {
            index.name: next(k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH")
            for index in table.all_indexes()
        }
        self.partitions: dict[str, dict[tuple[str, str], dict[Any, Any]]] = {n: {} for n in self.attrs}
        self.member: dict[Any, dict[str, tuple[str, str]]] = {}
        for item in _items(table):
            self.put(item)

    @staticmethod
    def key(item: Any) -> Any:
        return (_dkey(item.hash_key), _dkey(item.range_key))

    def remove(self, key: Any) -> None:
        for name, partition_key in self.member.pop(key, {}).items():
            partition = self.partitions[name].get(partition_key)
            if partition is not None:
                partition.pop(key, None)
                if not partition:
                    del self.partitions[name][partition_key]

    def put(self, item: Any) -> None:
        key = self.key(item)
        self.remove(key)
        found = {}
        for name, attr in self.attrs.items():
            partition_key = _dkey(item.attrs.get(attr))
            if partition_key is not None:
                self.partitions[name].setdefault(partition_key, {})[key] = item
                found[name] = partition_key
        if found:
            self.member[key] = found


def _items(table: Any) -> list[Any]:
    if table.range_key_attr:
        return [item for part in table.items.values() for item in part.values()]
    return list(table.items.values())


def _index_map(table: Any) -> _IndexMap:
    found = table.__dict__.get("_serialised_index_map")
    if found is None:
        found = table.__dict__["_serialised_index_map"] = _IndexMap(table)
    return found


def _query(original: Any) -> Any:
    """moto answers every Query by testing, then sorting, every item of the table. A Query on the
    table only ever matches its partition, and an index Query only the index partition's items
    (kept by :class:`_IndexMap`): hand ``query`` just those (same answers, O(partition))."""

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name", args[7] if len(args) > 7 else None)
        hash_key = kwargs.get("hash_key", args[0] if args else None)
        if hash_key is None or not self.range_key_attr:
            return original(self, *args, **kwargs)
        if index_name is None:
            partition = self.items.get(hash_key)
            candidates = list(partition.values()) if partition else []
        else:
            candidates = list(
                _index_map(self).partitions.get(index_name, {}).get(_dkey(hash_key), {}).values()
            )
        self.all_items = lambda: candidates  # shadows the method for this call (requests are serialised)
        try:
            return original(self, *args, **kwargs)
        finally:
            del self.all_items

    return query


def _indexed_put(original: Any) -> Any:
    def put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        item = original(self, *args, **kwargs)
        if item is not None and "_serialised_index_map" in self.__dict__:
            self.__dict__["_serialised_index_map"].put(item)
        return item

    return put_item


def _indexed_delete(original: Any) -> Any:
    def delete_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        item = original(self, *args, **kwargs)
        if item is not None and "_serialised_index_map" in self.__dict__:
            self.__dict__["_serialised_index_map"].remove(_IndexMap.key(item))
        return item

    return delete_item


def _indexed_update(original: Any) -> Any:
    def update_item(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
        item = original(self, table_name, *args, **kwargs)  # updates the item in place
        table = self.get_table(table_name)
        if item is not None and "_serialised_index_map" in table.__dict__:
            table.__dict__["_serialised_index_map"].put(item)
        return item

    return update_item


@contextmanager
def serialised_dynamodb() -> Iterator[None]:
    """Within the block: every moto DynamoDB request holds one lock, and transactions are applied
    as DynamoDB applies them (see the module doc)."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler

    from local import moto_wire

    originals = (
        DynamoHandler.call_action,
        DynamoDBBackend.transact_write_items,
        DynamoDBBackend.update_item,
        Table.query,
        Table.put_item,
        Table.delete_item,
        Item.__init__,
    )
    original_call = originals[0]

    def call_action(self: Any) -> Any:
        with _LOCK:
            return original_call(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    DynamoDBBackend.update_item = _indexed_update(originals[2])  # type: ignore[method-assign]
    Table.query = _query(originals[3])  # type: ignore[method-assign]
    Table.put_item = _indexed_put(originals[4])  # type: ignore[method-assign]
    Table.delete_item = _indexed_delete(originals[5])  # type: ignore[method-assign]
    Item.__init__ = _item_init  # type: ignore[method-assign]
    try:
        with moto_wire.json_wire():
            yield
    finally:
        (
            DynamoHandler.call_action,
            DynamoDBBackend.transact_write_items,
            DynamoDBBackend.update_item,
            Table.query,
            Table.put_item,
            Table.delete_item,
            Item.__init__,
        ) = originals  # type: ignore[method-assign]

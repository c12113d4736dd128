"""Make moto's DynamoDB behave like DynamoDB under concurrency.

The local stack's embedded moto server (``local.run``) serves every Lambda-like process at once,
and the dialing engine's in-process tests run dispatchers and dialers on threads. Three gaps
matter to both:

* moto's backend is not thread-safe (a query iterating a partition while another thread writes
  to it fails), while DynamoDB serialises each request per item. :func:`serialised_dynamodb`
  runs every DynamoDB request under one lock: each request is atomic, as in DynamoDB.
* moto sorts the whole table for every Query (see :func:`_query`);
* moto's ``TransactWriteItems`` deep-copies the whole table for each item of a transaction (to
  roll back on failure) and restores that copy on failure, which is O(table) per call and, with
  other writers, would undo *their* writes too. DynamoDB evaluates every condition of a
  transaction against the state before it and then applies all or nothing; with requests
  serialised that is exactly "check every condition, then apply every write", which
  :func:`_transact_write_items` does (the touched items are snapshotted, so an apply that fails
  halfway is undone item by item).
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
            check = get_filter_expression(
                condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            )
            if not check.expr(current):
                errors.append(("ConditionalCheckFailed", "The conditional request failed", None))
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


def _query(original: Any) -> Any:
    """moto answers every Query by sorting the whole table, then filtering it. A Query on the
    table only ever matches its partition, and an index Query sorts what it matched anyway: hand
    ``query`` just the partition, or the unsorted items (same answers, O(partition) or O(n))."""

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name", args[7] if len(args) > 7 else None)
        hash_key = kwargs.get("hash_key", args[0] if args else None)
        if index_name is None and hash_key is not None and self.range_key_attr:
            partition = self.items.get(hash_key)
            candidates = list(partition.values()) if partition else []
        elif self.range_key_attr:
            candidates = [item for part in self.items.values() for item in part.values()]
        else:
            return original(self, *args, **kwargs)
        self.all_items = lambda: candidates  # shadows the method for this call (requests are serialised)
        try:
            return original(self, *args, **kwargs)
        finally:
            del self.all_items

    return query


@contextmanager
def serialised_dynamodb() -> Iterator[None]:
    """Within the block: every moto DynamoDB request holds one lock, and transactions are applied
    as DynamoDB applies them (see the module doc)."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler

    original_call = DynamoHandler.call_action
    original_transact = DynamoDBBackend.transact_write_items
    original_query = Table.query

    def call_action(self: Any) -> Any:
        with _LOCK:
            return original_call(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    Table.query = _query(original_query)  # type: ignore[method-assign]
    try:
        yield
    finally:
        Table.query = original_query  # type: ignore[method-assign]
        DynamoHandler.call_action = original_call  # type: ignore[method-assign]
        DynamoDBBackend.transact_write_items = original_transact  # type: ignore[method-assign]

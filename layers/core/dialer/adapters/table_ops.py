"""Bulk and query operations the management helper (:class:`~dialer.adapters.dynamo.DynamoItems`)
does not have: paged queries on any index or partition, BatchGetItem/BatchWriteItem with retries
of unprocessed items, counters (ADD) and transactions. Same error mapping: every boto3 error is
:class:`~dialer.errors.TemporarilyUnavailable`, a failed condition is ``False``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dialer.adapters.dynamo import DynamoItems, storage_error
from dialer.errors import TemporarilyUnavailable

BATCH_WRITE = 25
BATCH_GET = 100
TRANSACTION = 100
_RETRIES = 8


class TableOps:
    """Queries, batches, counters and transactions over one :class:`DynamoItems` table."""

    def __init__(self, items: DynamoItems) -> None:
        self.items = items

    @property
    def table_name(self) -> str:
        """The table's name."""
        return self.items.table_name

    def query(
        self,
        pk_name: str,
        pk_value: str,
        *,
        index: str | None = None,
        sk_name: str = "sk",
        prefix: str | None = None,
        after: str | None = None,
        limit: int = 100,
        forward: bool = True,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of one partition (of the table or an index) in sort-key order.

        ``prefix`` keeps sort keys starting with it; ``after`` resumes a page (exclusive).
        Returns the items and the sort key to resume from (None when there are no more).
        """
        names = {"#pk": pk_name}
        values: dict[str, Any] = {":pk": pk_value}
        conditions = ["#pk = :pk"]
        if prefix is not None:
            low, high = prefix, prefix + "\uffff"
            if after is not None:
                low, high = (max(low, after), high) if forward else (low, min(high, after))
            names["#sk"] = sk_name
            conditions.append("#sk BETWEEN :lo AND :hi")
            values[":lo"], values[":hi"] = low, high
        elif after is not None:
            names["#sk"] = sk_name
            conditions.append("#sk > :after" if forward else "#sk < :after")
            values[":after"] = after
        out: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        while len(out) < limit:
            kwargs: dict[str, Any] = {
                "TableName": self.table_name,
                "KeyConditionExpression": " AND ".join(conditions),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": self.items.to_ddb(values),
                "ScanIndexForward": forward,
                "Limit": limit - len(out),
            }
            if index:
                kwargs["IndexName"] = index
            if start:
                kwargs["ExclusiveStartKey"] = start
            try:
                response = self.items.client.query(**kwargs)
            except (ClientError, BotoCoreError) as exc:
                raise storage_error(exc, "could not query the state table") from exc
            for item in response.get("Items", []):
                decoded = self.items.from_ddb(item)
                if after is not None and decoded.get(sk_name) == after:
                    continue  # BETWEEN is inclusive: drop the resume point itself
                out.append(decoded)
            start = response.get("LastEvaluatedKey")
            if not start:
                return out, None
        return out, (str(out[-1][sk_name]) if out else None)

    def batch_get(self, keys: Sequence[Mapping[str, str]]) -> list[dict[str, Any]]:
        """Every existing item among ``keys`` (strongly consistent), retrying unprocessed keys."""
        found: list[dict[str, Any]] = []
        unique = list({(k["pk"], k["sk"]): k for k in keys}.values())
        for i in range(0, len(unique), BATCH_GET):
            pending: dict[str, Any] = {
                self.table_name: {
                    "Keys": [self.items.to_ddb(k) for k in unique[i : i + BATCH_GET]],
                    "ConsistentRead": True,
                }
            }
            for attempt in range(_RETRIES):
                try:
                    response = self.items.client.batch_get_item(RequestItems=pending)
                except (ClientError, BotoCoreError) as exc:
                    raise storage_error(exc, "could not read from the state table") from exc
                found.extend(self.items.from_ddb(it) for it in response["Responses"].get(self.table_name, []))
                pending = response.get("UnprocessedKeys") or {}
                if not pending:
                    break
                _backoff(attempt)
            else:
                raise TemporarilyUnavailable("state table kept keys unprocessed")
        return found

    def batch_put(self, items: Iterable[Mapping[str, Any]]) -> int:
        """Put items 25 at a time, retrying unprocessed ones with backoff; returns how many."""
        requests = [{"PutRequest": {"Item": self.items.to_ddb(item)}} for item in items]
        for i in range(0, len(requests), BATCH_WRITE):
            self._batch_write(requests[i : i + BATCH_WRITE])
        return len(requests)

    def batch_delete(self, keys: Iterable[Mapping[str, str]]) -> None:
        """Delete items 25 at a time (missing items are fine)."""
        requests = [{"DeleteRequest": {"Key": self.items.to_ddb(key)}} for key in keys]
        for i in range(0, len(requests), BATCH_WRITE):
            self._batch_write(requests[i : i + BATCH_WRITE])

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        pending: dict[str, Any] = {self.table_name: requests}
        for attempt in range(_RETRIES):
            try:
                response = self.items.client.batch_write_item(RequestItems=pending)
            except (ClientError, BotoCoreError) as exc:
                raise storage_error(exc, "could not write to the state table") from exc
            pending = response.get("UnprocessedItems") or {}
            if not pending:
                return
            _backoff(attempt)
        raise TemporarilyUnavailable("state table kept writes unprocessed")

    def update(
        self,
        key: Mapping[str, str],
        *,
        set_fields: Mapping[str, Any] | None = None,
        add: Mapping[str, int] | None = None,
        remove: Sequence[str] = (),
        condition: str | None = None,
        values: Mapping[str, Any] | None = None,
        names: Mapping[str, str] | None = None,
        return_new: bool = False,
    ) -> dict[str, Any] | bool:
        """SET, ADD (counters) and REMOVE in one UpdateItem; False if ``condition`` failed.

        ``condition`` may name attributes as ``#name`` when given in ``names``. With
        ``return_new`` the updated item is returned instead of True.
        """
        operation = update_operation(
            key,
            set_fields=set_fields,
            add=add,
            remove=remove,
            condition=condition,
            values=values,
            names=names,
        )
        return self.run_update(operation, return_new=return_new)

    def run_update(self, operation: Mapping[str, Any], *, return_new: bool = False) -> dict[str, Any] | bool:
        """Apply one ``{"Update": ...}`` operation of :func:`update_operation` (see :meth:`update`)."""
        ((_, body),) = operation.items()
        kwargs: dict[str, Any] = {"TableName": self.table_name, **body, "Key": self.items.to_ddb(body["Key"])}
        if "ExpressionAttributeValues" in body:
            kwargs["ExpressionAttributeValues"] = self.items.to_ddb(body["ExpressionAttributeValues"])
        if return_new:
            kwargs["ReturnValues"] = "ALL_NEW"
        try:
            response = self.items.client.update_item(**kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise storage_error(exc, "could not write to the state table") from exc
        except BotoCoreError as exc:
            raise storage_error(exc, "could not write to the state table") from exc
        if return_new:
            return self.items.from_ddb(response.get("Attributes") or {})
        return True

    def wire(self, operation: Mapping[str, Any]) -> dict[str, Any]:
        """One transaction item given with plain values, as DynamoDB takes it."""
        ((kind, body),) = operation.items()
        body = dict(body)
        for field_name in ("Item", "Key", "ExpressionAttributeValues"):
            if field_name in body:
                body[field_name] = self.items.to_ddb(body[field_name])
        return {kind: {"TableName": self.table_name, **body}}

    def transact(self, operations: list[dict[str, Any]]) -> bool:
        """TransactWriteItems of ``Put``/``Delete`` operations given as plain dicts.

        Each operation is ``{"Put": {"Item": {...}, "ConditionExpression": ...}}`` or
        ``{"Delete": {"Key": {...}, "ConditionExpression": ...}}`` with plain values; returns False
        when a condition failed (nothing was written).
        """
        wire = [self.wire(op) for op in operations]
        try:
            self.items.client.transact_write_items(TransactItems=wire)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") == "TransactionCanceledException":
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                if "ConditionalCheckFailed" in reasons or "ConditionalCheckFailed" in error.get(
                    "Message", ""
                ):
                    return False
            raise storage_error(exc, "could not write to the state table") from exc
        except BotoCoreError as exc:
            raise storage_error(exc, "could not write to the state table") from exc
        return True


def _backoff(attempt: int) -> None:
    time.sleep(min(1.0, 0.02 * 2**attempt))


def update_operation(
    key: Mapping[str, str],
    *,
    set_fields: Mapping[str, Any] | None = None,
    add: Mapping[str, int] | None = None,
    remove: Sequence[str] = (),
    condition: str | None = None,
    values: Mapping[str, Any] | None = None,
    names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The ``{"Update": ...}`` operation (plain values) for :meth:`TableOps.update` and for
    transactions that write more than the one item (an update and its outbox event)."""
    expr_names = dict(names or {})
    expr_values = dict(values or {})
    parts: list[str] = []
    if set_fields:
        sets = []
        for i, (name, value) in enumerate(set_fields.items()):
            expr_names[f"#s{i}"] = name
            expr_values[f":s{i}"] = value
            sets.append(f"#s{i} = :s{i}")
        parts.append("SET " + ", ".join(sets))
    if add:
        adds = []
        for i, (name, amount) in enumerate(add.items()):
            expr_names[f"#a{i}"] = name
            expr_values[f":a{i}"] = amount
            adds.append(f"#a{i} :a{i}")
        parts.append("ADD " + ", ".join(adds))
    if remove:
        for i, name in enumerate(remove):
            expr_names[f"#r{i}"] = name
        parts.append("REMOVE " + ", ".join(f"#r{i}" for i in range(len(remove))))
    body: dict[str, Any] = {
        "Key": dict(key),
        "UpdateExpression": " ".join(parts),
        "ExpressionAttributeNames": expr_names,
    }
    if expr_values:
        body["ExpressionAttributeValues"] = expr_values
    if condition:
        body["ConditionExpression"] = condition
    return {"Update": body}

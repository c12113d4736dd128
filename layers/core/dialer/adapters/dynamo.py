"""A small typed helper over the DynamoDB client for the management records (issue 5).

Every boto3 error becomes a domain error here, at the adapter boundary (:func:`storage_error`:
:class:`~dialer.errors.StorageRejected` when DynamoDB refused the request as invalid,
:class:`~dialer.errors.TemporarilyUnavailable` otherwise); a failed condition is reported as
``False`` so callers can turn it into a domain error.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dialer.adapters import aws
from dialer.errors import DialerError, InvalidInput, StorageRejected, TemporarilyUnavailable


def storage_error(exc: ClientError | BotoCoreError, what: str) -> DialerError:
    """The domain error for a failed DynamoDB call: the one place that tells "retrying the same
    request cannot help" (a ``ValidationException``, or a transaction cancelled for a validation
    error: an item or key too large, a value DynamoDB cannot store) from "try again" (throttling,
    a network failure, an internal error). A failed condition never reaches here: callers read
    it as ``False``."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
        if error.get("Code") == "ValidationException" or "ValidationError" in reasons:
            return StorageRejected(f"{what}: {error.get('Message', '')}"[:300])
    return TemporarilyUnavailable(what)


class DynamoItems:
    """Get, put, update, delete and query plain dict items of the single table."""

    def __init__(self, table_name: str, *, client: Any = None) -> None:
        self.table_name = table_name
        self._client = client
        self._ser: Any = None
        self._de: Any = None

    @property
    def client(self) -> Any:
        """The boto3 DynamoDB client, built on first use."""
        if self._client is None:
            self._client = aws.client("dynamodb")
        return self._client

    def to_ddb(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """Serialise a plain item (None values are dropped)."""
        if self._ser is None:
            from boto3.dynamodb.types import TypeSerializer

            self._ser = TypeSerializer()
        return {k: self._ser.serialize(v) for k, v in item.items() if v is not None}

    def from_ddb(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """Deserialise a stored item (numbers come back as int where integral)."""
        if self._de is None:
            from boto3.dynamodb.types import TypeDeserializer

            self._de = TypeDeserializer()
        out = {k: self._de.deserialize(v) for k, v in item.items()}
        return {k: int(v) if _is_integral(v) else v for k, v in out.items()}

    def get(self, key: Mapping[str, str]) -> dict[str, Any] | None:
        """One item by key (strongly consistent), or None."""
        try:
            response = self.client.get_item(
                TableName=self.table_name, Key=self.to_ddb(key), ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            raise storage_error(exc, "could not read from the state table") from exc
        item = response.get("Item")
        return self.from_ddb(item) if item else None

    def put(
        self,
        item: Mapping[str, Any],
        *,
        condition: str | None = None,
        names: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
    ) -> bool:
        """Put an item; False if ``condition`` failed."""
        kwargs: dict[str, Any] = {"TableName": self.table_name, "Item": self.to_ddb(item)}
        if condition:
            kwargs["ConditionExpression"] = condition
        if names:
            kwargs["ExpressionAttributeNames"] = names
        if values:
            kwargs["ExpressionAttributeValues"] = self.to_ddb(values)
        return self._write("put_item", kwargs)

    def update(
        self,
        key: Mapping[str, str],
        fields: Mapping[str, Any],
        *,
        condition: str | None = None,
        values: dict[str, Any] | None = None,
        remove: tuple[str, ...] = (),
    ) -> bool:
        """SET ``fields`` (and REMOVE ``remove``) on an item; False if ``condition`` failed.

        ``condition`` may use ``#pk`` and any ``:name`` from ``values``.
        """
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        expr_values = {f":f{i}": value for i, value in enumerate(fields.values())}
        expression = "SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(fields)))
        if remove:
            names.update({f"#r{i}": name for i, name in enumerate(remove)})
            expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(remove)))
        names["#pk"] = "pk"
        expr_values.update(values or {})
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": self.to_ddb(key),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ConditionExpression": condition or "attribute_exists(#pk)",
        }
        if expr_values:
            kwargs["ExpressionAttributeValues"] = self.to_ddb(expr_values)
        return self._write("update_item", kwargs)

    def delete(self, key: Mapping[str, str]) -> bool:
        """Delete an item; False if it did not exist."""
        return self._write(
            "delete_item",
            {
                "TableName": self.table_name,
                "Key": self.to_ddb(key),
                "ConditionExpression": "attribute_exists(pk)",
            },
        )

    def query_index(
        self, gsi1pk: str, *, limit: int, after: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of gsi1 items for ``gsi1pk`` in gsi1sk order; returns (items, gsi1sk to resume after)."""
        items: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        condition = "gsi1pk = :pk" + (" AND gsi1sk > :after" if after else "")
        values: dict[str, Any] = {":pk": gsi1pk}
        if after:
            values[":after"] = after
        while len(items) < limit:
            kwargs: dict[str, Any] = {
                "TableName": self.table_name,
                "IndexName": "gsi1",
                "KeyConditionExpression": condition,
                "ExpressionAttributeValues": self.to_ddb(values),
                "Limit": limit - len(items),
            }
            if start:
                kwargs["ExclusiveStartKey"] = start
            try:
                response = self.client.query(**kwargs)
            except (ClientError, BotoCoreError) as exc:
                raise storage_error(exc, "could not query the state table") from exc
            items.extend(self.from_ddb(i) for i in response.get("Items", []))
            start = response.get("LastEvaluatedKey")
            if not start:
                return items, None
        return items, (str(items[-1]["gsi1sk"]) if items else None)

    def query_all(self, gsi1pk: str) -> list[dict[str, Any]]:
        """Every gsi1 item for ``gsi1pk`` (for small per-tenant sets such as keys and mirrors)."""
        items: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            page, after = self.query_index(gsi1pk, limit=100, after=after)
            items.extend(page)
            if after is None:
                return items

    def _write(self, operation: str, kwargs: dict[str, Any]) -> bool:
        try:
            getattr(self.client, operation)(**kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise storage_error(exc, "could not write to the state table") from exc
        except BotoCoreError as exc:
            raise storage_error(exc, "could not write to the state table") from exc
        return True


def encode_cursor(after: str | None) -> str | None:
    """An opaque page cursor for a sort-key value (None: no more pages)."""
    if after is None:
        return None
    return base64.urlsafe_b64encode(json.dumps({"after": after}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    """The sort-key value inside a cursor; InvalidInput (422) if it is not one of ours.

    The cursor carries only a sort key: the partition (and so the tenant) always comes from the
    authorizer, so a cursor can never page through another tenant's items.
    """
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        doc = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise _bad_cursor() from exc
    after = doc.get("after") if isinstance(doc, dict) else None
    if not isinstance(after, str) or not after:
        raise _bad_cursor()
    return after


def _bad_cursor() -> InvalidInput:
    return InvalidInput(
        "cursor is not valid",
        errors=[{"loc": ["query", "cursor"], "msg": "not a cursor this API returned", "type": "value_error"}],
    )


def _is_integral(value: Any) -> bool:
    from decimal import Decimal

    return isinstance(value, Decimal) and value == value.to_integral_value()

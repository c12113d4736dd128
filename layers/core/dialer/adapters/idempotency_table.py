"""Records of creates made under a client's ``Idempotency-Key`` (issue 14), in the single table.

A record is claimed before the create runs and completed with the answer after it, so a retry
with the same key gets that answer instead of a second create. Records expire by TTL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dialer import keys
from dialer.adapters.dynamo import DynamoItems


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """A claimed key: the request's fingerprint and, once the create is done, its answer."""

    fingerprint: str
    response_json: str | None


class IdempotencyTable:
    """Claim, complete, read and release idempotency records."""

    def __init__(self, table_name: str, *, client: object = None) -> None:
        self.items = DynamoItems(table_name, client=client)

    def claim(
        self,
        tenant_id: str,
        operation: str,
        key: str,
        fingerprint: str,
        *,
        now: datetime,
        lease: timedelta,
        keep: timedelta,
    ) -> bool:
        """Take ``key`` for a request: True if it is free, expired, or held by a crashed attempt of
        the same request whose lease has run out (False: someone else's record stands)."""
        epoch = int(now.timestamp())
        return self.items.put(
            {
                **keys.idempotency_key(tenant_id, operation, key),
                "entity": "idempotency",
                "tenant_id": tenant_id,
                "fingerprint": fingerprint,
                "lease_until": epoch + int(lease.total_seconds()),
                "expires_at": epoch + int(keep.total_seconds()),
            },
            condition="attribute_not_exists(pk) OR expires_at < :now"
            " OR (attribute_not_exists(response_json) AND fingerprint = :fp AND lease_until < :now)",
            values={":now": epoch, ":fp": fingerprint},
        )

    def get(self, tenant_id: str, operation: str, key: str, *, now: datetime) -> IdempotencyRecord | None:
        """The record of ``key`` (None if there is none or it has expired but TTL has not removed it)."""
        item = self.items.get(keys.idempotency_key(tenant_id, operation, key))
        if item is None or int(item.get("expires_at", 0)) < int(now.timestamp()):
            return None
        return IdempotencyRecord(str(item["fingerprint"]), item.get("response_json"))

    def complete(
        self, tenant_id: str, operation: str, key: str, fingerprint: str, response_json: str
    ) -> bool:
        """Store the answer of the create made under ``key`` (False if the claim was lost meanwhile)."""
        return self.items.update(
            keys.idempotency_key(tenant_id, operation, key),
            {"response_json": response_json},
            condition="attribute_exists(#pk) AND fingerprint = :fp",
            values={":fp": fingerprint},
        )

    def release(self, tenant_id: str, operation: str, key: str) -> None:
        """Give ``key`` back after a create that failed, so a retry runs it again."""
        self.items.delete(keys.idempotency_key(tenant_id, operation, key))

"""Per-person records of a tenant, keyed by phone number: the internal DNC list (with its
append-only audit trail) and the contact history that frequency caps count.

A DNC change and its audit item are written in one transaction: there is never a change without
its audit item, nor an audit item for a change that did not happen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from dialer import keys
from dialer.adapters.dynamo import DynamoItems
from dialer.adapters.table_ops import TableOps
from dialer.domain.leads import parse_instant

_TRANSACTION_PAIRS = 50  # two items per change, 100 per transaction


@dataclass(frozen=True, slots=True)
class DncEntry:
    """A number on the tenant's internal do-not-call list."""

    tenant_id: str
    phone: str
    reason: str
    source: str
    added_at: str
    added_by: str


@dataclass(frozen=True, slots=True)
class DncAudit:
    """One change to the DNC list: who, when, what, why."""

    audit_id: str
    phone: str
    action: str  # "added" | "removed"
    reason: str
    source: str
    actor: str
    at: str


class DncTable:
    """The internal DNC list of each tenant."""

    def __init__(self, table_name: str, *, client: Any = None) -> None:
        self.items = DynamoItems(table_name, client=client)
        self.ops = TableOps(self.items)

    def get(self, tenant_id: str, phone: str) -> DncEntry | None:
        """The entry for ``phone``, or None."""
        item = self.items.get(keys.dnc_key(tenant_id, phone))
        return _entry(item) if item else None

    def listed(self, tenant_id: str, phones: Sequence[str]) -> set[str]:
        """Which of ``phones`` are on the list (BatchGetItem)."""
        found = self.ops.batch_get([keys.dnc_key(tenant_id, p) for p in phones])
        return {str(item["phone"]) for item in found}

    def add(self, entry: DncEntry, audit: DncAudit, events: Sequence[dict[str, Any]] = ()) -> bool:
        """Put ``phone`` on the list with its audit item (and ``events``, outbox ``Put``s that
        report the listing, in the same transaction); False if it was already there."""
        return self.ops.transact([*self._add_ops(entry, audit), *events])

    def add_many(self, changes: Sequence[tuple[DncEntry, DncAudit]]) -> set[str]:
        """Add many numbers (up to 50 per transaction); returns the phones actually added."""
        added: set[str] = set()
        for i in range(0, len(changes), _TRANSACTION_PAIRS):
            group = changes[i : i + _TRANSACTION_PAIRS]
            operations = [op for entry, audit in group for op in self._add_ops(entry, audit)]
            if self.ops.transact(operations):
                added.update(entry.phone for entry, _ in group)
                continue
            for entry, audit in group:  # someone added one of them meanwhile: one by one
                if self.add(entry, audit):
                    added.add(entry.phone)
        return added

    def remove(self, tenant_id: str, phone: str, audit: DncAudit) -> bool:
        """Take ``phone`` off the list with its audit item; False if it was not there."""
        return self.ops.transact(
            [
                {
                    "Delete": {
                        "Key": keys.dnc_key(tenant_id, phone),
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
                self._audit_op(tenant_id, audit),
            ]
        )

    def audit_trail(
        self, tenant_id: str, phone: str, *, limit: int, after: str | None
    ) -> tuple[list[DncAudit], str | None]:
        """A page of the changes to ``phone``, newest first."""
        pk = keys.dnc_key(tenant_id, phone)["pk"]
        items, next_after = self.ops.query("pk", pk, prefix="AUDIT#", after=after, limit=limit, forward=False)
        return [_audit(i) for i in items], next_after

    def entries(self, tenant_id: str, *, limit: int, after: str | None) -> tuple[list[DncEntry], str | None]:
        """A page of the tenant's DNC list, by number."""
        items, next_after = self.items.query_index(
            keys.dnc_index(tenant_id)["gsi1pk"], limit=limit, after=after
        )
        return [_entry(i) for i in items], next_after

    def _add_ops(self, entry: DncEntry, audit: DncAudit) -> list[dict[str, Any]]:
        item = {
            **keys.dnc_key(entry.tenant_id, entry.phone),
            **keys.dnc_index(entry.tenant_id, entry.phone),
            "entity": "dnc",
            "tenant_id": entry.tenant_id,
            "phone": entry.phone,
            "reason": entry.reason,
            "source": entry.source,
            "added_at": entry.added_at,
            "added_by": entry.added_by,
        }
        return [
            {"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(pk)"}},
            self._audit_op(entry.tenant_id, audit),
        ]

    @staticmethod
    def _audit_op(tenant_id: str, audit: DncAudit) -> dict[str, Any]:
        item = {
            **keys.dnc_audit_key(tenant_id, audit.phone, audit.at, audit.audit_id),
            "entity": "dnc_audit",
            "tenant_id": tenant_id,
            "audit_id": audit.audit_id,
            "phone": audit.phone,
            "action": audit.action,
            "reason": audit.reason,
            "source": audit.source,
            "actor": audit.actor,
            "at": audit.at,
        }
        # Append-only: an audit item is never overwritten.
        return {"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}


class ContactHistory:
    """Calls to each person (phone number) of a tenant, across campaigns, for frequency caps.

    The dialer appends one item per call it places; eligibility reads the last 48 hours (the
    longest look-back of any cap is one lead-local day or 24 hours). Items expire by TTL.
    """

    def __init__(self, table_name: str, *, client: Any = None, keep: timedelta = timedelta(days=35)) -> None:
        self.items = DynamoItems(table_name, client=client)
        self.ops = TableOps(self.items)
        self.keep = keep

    def append(
        self,
        tenant_id: str,
        phone: str,
        at: datetime,
        *,
        call_id: str,
        campaign_id: str,
        lead_id: str,
    ) -> None:
        """Record a call to ``phone`` at ``at`` (idempotent per call id and instant)."""
        self.items.put(
            self.item(tenant_id, phone, at, call_id=call_id, campaign_id=campaign_id, lead_id=lead_id)
        )

    def item(
        self,
        tenant_id: str,
        phone: str,
        at: datetime,
        *,
        call_id: str,
        campaign_id: str,
        lead_id: str,
    ) -> dict[str, Any]:
        """The history item of a call (for a caller that writes it inside its own transaction)."""
        stamp = at.astimezone(UTC).isoformat(timespec="seconds")  # UTC: sort keys compare as text
        return {
            **keys.contact_key(tenant_id, phone, stamp, call_id),
            "entity": "contact",
            "tenant_id": tenant_id,
            "phone": phone,
            "at": stamp,
            "call_id": call_id,
            "campaign_id": campaign_id,
            "lead_id": lead_id,
            "expires_at": int((at + self.keep).timestamp()),
        }

    def recent(
        self, tenant_id: str, phone: str, since: datetime, *, limit: int = 200
    ) -> tuple[datetime, ...]:
        """Start instants of the calls to ``phone`` at or after ``since`` (oldest first)."""
        pk = keys.contact_key(tenant_id, phone, "", "")["pk"]
        lower = f"CALL#{since.astimezone(UTC).isoformat(timespec='seconds')}"
        items, _ = self.ops.query("pk", pk, prefix="CALL#", after=lower, limit=limit)
        return tuple(parse_instant(i["at"]) for i in items)


def _entry(item: dict[str, Any]) -> DncEntry:
    return DncEntry(
        item["tenant_id"],
        item["phone"],
        item.get("reason", ""),
        item.get("source", ""),
        item.get("added_at", ""),
        item.get("added_by", ""),
    )


def _audit(item: dict[str, Any]) -> DncAudit:
    return DncAudit(
        item["audit_id"],
        item["phone"],
        item["action"],
        item.get("reason", ""),
        item.get("source", ""),
        item.get("actor", ""),
        item["at"],
    )

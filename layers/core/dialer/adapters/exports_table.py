"""Asynchronous results exports in the single table (keys in :mod:`dialer.keys`).

An export record is ``pending`` until the worker stored the CSV (``completed``, with its S3 key
and row count) or gave up (``failed``, with a reason); it expires by TTL with the CSV itself.
A per-campaign pointer names the campaign's latest export, so repeated asks while one is running
share it instead of starting another job each.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dialer import keys
from dialer.adapters.dynamo import DynamoItems
from dialer.adapters.table_ops import TableOps


@dataclass(frozen=True, slots=True)
class ExportRecord:
    """One asynchronous results export."""

    tenant_id: str
    campaign_id: str
    export_id: str
    status: str  # pending | completed | failed
    created_at: str
    expires_at: int  # epoch seconds (the table's TTL attribute)
    object_key: str | None = None
    rows: int | None = None
    finished_at: str | None = None
    failure: str | None = None


class ResultsExports:
    """Export records of every tenant (each method takes the tenant first)."""

    def __init__(self, table_name: str, *, client: Any = None) -> None:
        self.items = DynamoItems(table_name, client=client)
        self.ops = TableOps(self.items)

    def create(self, record: ExportRecord) -> None:
        """Store a new pending export and make it the campaign's latest."""
        item = {
            **keys.results_export_key(record.tenant_id, record.export_id),
            "entity": "results_export",
            "tenant_id": record.tenant_id,
            "campaign_id": record.campaign_id,
            "export_id": record.export_id,
            "status": record.status,
            "created_at": record.created_at,
            "expires_at": record.expires_at,
        }
        self.items.put(item, condition="attribute_not_exists(pk)")
        self.items.put(
            {
                **keys.running_export_key(record.tenant_id, record.campaign_id),
                "entity": "results_export_latest",
                "export_id": record.export_id,
                "expires_at": record.expires_at,
            }
        )

    def get(self, tenant_id: str, export_id: str) -> ExportRecord | None:
        """One export of this tenant, or None."""
        item = self.items.get(keys.results_export_key(tenant_id, export_id))
        return _record(item) if item else None

    def latest(self, tenant_id: str, campaign_id: str) -> ExportRecord | None:
        """The campaign's latest export, or None."""
        pointer = self.items.get(keys.running_export_key(tenant_id, campaign_id))
        return self.get(tenant_id, str(pointer["export_id"])) if pointer else None

    def complete(self, tenant_id: str, export_id: str, *, object_key: str, rows: int, at: str) -> bool:
        """pending → completed; False if it was not pending (a duplicate job, or failed)."""
        return self._finish(
            tenant_id,
            export_id,
            {"status": "completed", "object_key": object_key, "rows": rows, "finished_at": at},
        )

    def fail(self, tenant_id: str, export_id: str, *, reason: str, at: str) -> bool:
        """pending → failed; False if it had ended already."""
        return self._finish(tenant_id, export_id, {"status": "failed", "failure": reason, "finished_at": at})

    def _finish(self, tenant_id: str, export_id: str, fields: Mapping[str, Any]) -> bool:
        return bool(
            self.ops.update(
                keys.results_export_key(tenant_id, export_id),
                set_fields=fields,
                condition="#st = :pending",
                names={"#st": "status"},
                values={":pending": "pending"},
            )
        )


def _record(item: Mapping[str, Any]) -> ExportRecord:
    return ExportRecord(
        tenant_id=item["tenant_id"],
        campaign_id=item["campaign_id"],
        export_id=item["export_id"],
        status=item["status"],
        created_at=item.get("created_at", ""),
        expires_at=int(item.get("expires_at", 0)),
        object_key=item.get("object_key"),
        rows=int(item["rows"]) if item.get("rows") is not None else None,
        finished_at=item.get("finished_at"),
        failure=item.get("failure"),
    )

"""A campaign's dial counts for its circuit breaker (issue 24): 10-second buckets (kept a day)
and a running total, added to in the same transaction that settles each attempt, read by the
dispatcher's check (one Query for the window, one GetItem for the baseline)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from dialer import keys
from dialer.adapters.table_ops import TableOps, update_operation
from dialer.domain.circuit_breaker import DialCounts

BUCKET_SECONDS = 10
_KEEP = timedelta(days=1)


def bucket_of(at: datetime) -> str:
    """The 10-second bucket an instant falls in (sorts as time)."""
    return "S#" + at.strftime("%Y-%m-%dT%H:%M:") + f"{at.second // BUCKET_SECONDS * BUCKET_SECONDS:02d}"


def count_ops(
    tenant_id: str, campaign_id: str, at: datetime, *, failed: bool, answered: bool
) -> list[dict[str, Any]]:
    """The two ``Update`` operations that count one dial (its bucket and the campaign's total)."""
    add = {"dials": 1, "failed": int(failed), "answered": int(answered)}
    bucket = update_operation(
        keys.breaker_counts_key(tenant_id, campaign_id, bucket_of(at)),
        add=add,
        set_fields={"expires_at": int((at + _KEEP).timestamp())},
    )
    total = update_operation(keys.breaker_counts_key(tenant_id, campaign_id, "TOTAL"), add=add)
    return [bucket, total]


class BreakerCounts:
    """Reads a campaign's window and baseline."""

    def __init__(self, ops: TableOps) -> None:
        self.ops = ops

    def window(self, tenant_id: str, campaign_id: str, since: datetime) -> DialCounts:
        """The counts of the buckets from ``since``'s on (the bound is inclusive)."""
        pk = keys.breaker_counts_key(tenant_id, campaign_id, "")["pk"]
        items, _ = self.ops.query("pk", pk, prefix="S#", after=bucket_of(since), limit=1000)
        return DialCounts(
            sum(int(i.get("dials") or 0) for i in items),
            sum(int(i.get("failed") or 0) for i in items),
            sum(int(i.get("answered") or 0) for i in items),
        )

    def baseline(self, tenant_id: str, campaign_id: str) -> DialCounts:
        """The campaign's counts since it started."""
        item = self.ops.items.get(keys.breaker_counts_key(tenant_id, campaign_id, "TOTAL")) or {}
        return DialCounts(
            int(item.get("dials") or 0), int(item.get("failed") or 0), int(item.get("answered") or 0)
        )

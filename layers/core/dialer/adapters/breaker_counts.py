"""A campaign's dial counts for its circuit breaker (issue 24), added to in the same transaction
that settles each attempt, read by the dispatcher's check (one Query for the window, one
BatchGetItem for the baseline).

* **The window**: 10-second bucket items (``T#…#BRK#{campaign}`` / ``S#…``, kept a day).
* **The running total** (the baseline): ``brk_*`` counters on the campaign's ``STATS#{shard}``
  item, which the settling transaction updates anyway (issue 21: one transaction item fewer per
  dial than a ``TOTAL`` item of its own). The ``TOTAL`` item the release before wrote is still
  read and added: nothing writes it any more, so a dial is in exactly one of the two.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple

from dialer import keys
from dialer.adapters.table_ops import TableOps, update_operation
from dialer.domain.circuit_breaker import DialCounts
from dialer.domain.dialing import DUE_SHARDS

BUCKET_SECONDS = 10
_KEEP = timedelta(days=1)
_FIELDS = ("dials", "failed", "answered")
#: The running total's counters on the campaign's ``STATS#{shard}`` items (``dials`` there is the
#: campaign's own count of accepted dials, hence the prefix).
TOTAL_PREFIX = "brk_"
#: The sort key of the running total's item written by the release before (read, never written).
LEGACY_TOTAL = "TOTAL"


def bucket_of(at: datetime) -> str:
    """The 10-second bucket an instant falls in (sorts as time)."""
    return "S#" + at.strftime("%Y-%m-%dT%H:%M:") + f"{at.second // BUCKET_SECONDS * BUCKET_SECONDS:02d}"


class DialCount(NamedTuple):
    """One dial's counts as its settling transaction writes them."""

    bucket: dict[str, Any]  # the ``Update`` of its 10-second bucket
    stats: dict[str, int]  # the counters added to the campaign's ``STATS#{shard}`` update


def count_dial(tenant_id: str, campaign_id: str, at: datetime, *, failed: bool, answered: bool) -> DialCount:
    """What counts one dial for the breaker (its bucket, and the running total's counters)."""
    add = {"dials": 1, "failed": int(failed), "answered": int(answered)}
    bucket = update_operation(
        keys.breaker_counts_key(tenant_id, campaign_id, bucket_of(at)),
        add=add,
        set_fields={"expires_at": int((at + _KEEP).timestamp())},
    )
    return DialCount(bucket, {TOTAL_PREFIX + name: n for name, n in add.items() if n})


class BreakerCounts:
    """Reads a campaign's window and baseline."""

    def __init__(self, ops: TableOps) -> None:
        self.ops = ops

    def window(self, tenant_id: str, campaign_id: str, since: datetime) -> DialCounts:
        """The counts of the buckets from ``since``'s on (the bound is inclusive)."""
        pk = keys.breaker_counts_key(tenant_id, campaign_id, "")["pk"]
        items, _ = self.ops.query("pk", pk, prefix="S#", after=bucket_of(since), limit=1000)
        return DialCounts(*(sum(int(i.get(f) or 0) for i in items) for f in _FIELDS))

    def baseline(self, tenant_id: str, campaign_id: str) -> DialCounts:
        """The campaign's counts since it started: its ``STATS`` shards' running total plus the
        previous release's ``TOTAL`` item (one strongly consistent BatchGetItem)."""
        shards = [keys.campaign_stats_key(tenant_id, campaign_id, s) for s in range(DUE_SHARDS)]
        legacy = keys.breaker_counts_key(tenant_id, campaign_id, LEGACY_TOTAL)
        out = DialCounts()
        for item in self.ops.batch_get([*shards, legacy]):
            prefix = "" if item["sk"] == LEGACY_TOTAL else TOTAL_PREFIX
            out = out + DialCounts(*(int(item.get(prefix + f) or 0) for f in _FIELDS))
        return out

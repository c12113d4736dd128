"""The dispatcher's breaker check on the real counts (moto): a failing window trips it once; a
campaign the operator resumed starts a fresh window (the dials that tripped it count no more)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from dialer.adapters.breaker_counts import BreakerCounts, count_dial
from dialer.adapters.campaigns_table import CampaignRecord
from dialer.adapters.dialing_base import stats_op
from dialer.adapters.table_ops import TableOps
from dialer.domain.campaigns import CampaignConfig, CampaignStatus
from dialer.domain.circuit_breaker import DialCounts
from dialer.domain.dialing import utc_iso
from dialer.services.circuit_breaker import BreakerWatch
from tests.support.aws import MotoStack


class Campaigns:
    """The campaign port: one active campaign; pauses are recorded."""

    def __init__(self, record: CampaignRecord) -> None:
        self.record = record
        self.paused: list[str] = []

    def get_campaign(self, tenant_id: str, campaign_id: str) -> CampaignRecord | None:
        return self.record

    def pause_for(self, tenant_id: str, campaign_id: str, *, reason: str, at: str) -> bool:
        self.paused.append(reason)
        return True


def watched(
    moto_stack: MotoStack,
) -> tuple[TableOps, datetime, str, str, CampaignRecord, Campaigns, BreakerWatch]:
    """An active campaign of a fresh tenant, started an hour ago, and the dispatcher's breaker
    check over its counts in the table (checked on every call: ``every=0``)."""
    from dialer.adapters.dynamo import DynamoItems

    ops = TableOps(DynamoItems(moto_stack.table_name))
    now = datetime.now(UTC)
    tenant, campaign_id = "brk-" + uuid.uuid4().hex[:8], "cmp_brk"
    started = utc_iso(now - timedelta(hours=1))
    record = CampaignRecord(
        tenant, campaign_id, CampaignStatus.ACTIVE, CampaignConfig(name="b"), started, started, 10, started
    )
    campaigns = Campaigns(record)
    watch = BreakerWatch(BreakerCounts(ops), campaigns, clock=lambda: now, monotonic=lambda: 0.0, every=0.0)
    return ops, now, tenant, campaign_id, record, campaigns, watch


def test_a_failing_window_trips_and_a_resumed_campaign_starts_afresh(
    moto_stack: MotoStack, aws: dict[str, Any]
) -> None:
    ops, now, tenant, campaign_id, record, campaigns, watch = watched(moto_stack)
    # GIVEN 20 dials in the last minute, 12 of them failed (counted as a settlement counts them:
    # the bucket, and the running total on a STATS shard)
    for i in range(20):
        dial = count_dial(
            tenant, campaign_id, now - timedelta(seconds=60 - i), failed=i < 12, answered=i >= 12
        )
        assert ops.transact([dial.bucket, stats_op(tenant, campaign_id, i % 4, dial.stats)])
    # WHEN the dispatcher checks THEN the campaign is paused with the numbers
    assert watch.tripped(record)
    assert campaigns.paused == ["circuit_breaker: 12 of 20 dials failed in 120 s (60% >= 50%)"]
    # WHEN the operator resumed it a few seconds ago THEN those dials count no more
    resumed = replace(record, status_changed_at=utc_iso(now - timedelta(seconds=5)))
    assert not watch.tripped(resumed)
    assert len(campaigns.paused) == 1


def test_a_baseline_counted_by_the_previous_release_still_judges_the_answer_rate(
    moto_stack: MotoStack, aws: dict[str, Any]
) -> None:
    from dialer import keys

    ops, now, tenant, campaign_id, record, campaigns, watch = watched(moto_stack)
    # GIVEN 100 dials, half answered, counted by the previous release on its TOTAL item
    ops.items.put({**keys.breaker_counts_key(tenant, campaign_id, "TOTAL"), "dials": 100, "answered": 50})
    # AND 20 dials since, in the window, none answered, counted on the STATS shards
    for i in range(20):
        dial = count_dial(tenant, campaign_id, now - timedelta(seconds=60 - i), failed=False, answered=False)
        assert ops.transact([dial.bucket, stats_op(tenant, campaign_id, i % 4, dial.stats)])
    # THEN the baseline is both, once each
    assert BreakerCounts(ops).baseline(tenant, campaign_id) == DialCounts(120, 0, 50)
    # AND the window's answer rate is judged against the history before it (the old total)
    assert watch.tripped(record)
    assert campaigns.paused == [
        "circuit_breaker: answer rate 0% over the last 20 dials, below 25% of the campaign's 50%"
    ]

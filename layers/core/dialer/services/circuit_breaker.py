"""Trips a campaign's circuit breaker (issue 24; the rules are :mod:`dialer.domain.circuit_breaker`).

A trip is :meth:`~dialer.adapters.campaigns_table.CampaignsTable.pause_for` with a
``circuit_breaker: …`` reason: active → paused once (the campaign leaves the dialing registry at
once, and its ``campaign.status_changed`` event is in the same write), a metric for the alarm,
one log line. The operator resumes it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from dialer.adapters.breaker_counts import BreakerCounts
from dialer.adapters.campaigns_table import CampaignRecord
from dialer.domain.circuit_breaker import DialCounts, window_verdict
from dialer.domain.dialing import parse_utc, utc_iso
from dialer.observability import CIRCUIT_BREAKER_TRIPPED, get_logger, record_metric


class Campaigns(Protocol):
    """What a trip needs of the campaigns table."""

    def get_campaign(self, tenant_id: str, campaign_id: str) -> CampaignRecord | None: ...

    def pause_for(self, tenant_id: str, campaign_id: str, *, reason: str, at: str) -> bool: ...


def trip_breaker(campaigns: Campaigns, tenant_id: str, campaign_id: str, reason: str, *, at: str) -> bool:
    """Pause the campaign for ``reason`` if its breaker is on and it is still active; True if
    this call paused it."""
    campaign = campaigns.get_campaign(tenant_id, campaign_id)
    if campaign is None or not campaign.config.circuit_breaker.enabled:
        return False
    if not campaigns.pause_for(tenant_id, campaign_id, reason=reason, at=at):
        return False
    record_metric(CIRCUIT_BREAKER_TRIPPED, 1, tenant_id=tenant_id, campaign_id=campaign_id)
    get_logger().warning("circuit breaker paused the campaign", campaign_id=campaign_id, reason=reason)
    return True


class BreakerWatch:
    """The dispatcher's check of each active campaign's window (at most every ``every`` seconds
    per campaign): a trip pauses it before its next claim."""

    def __init__(
        self,
        counts: BreakerCounts,
        campaigns: Campaigns,
        *,
        clock: Callable[[], datetime],
        monotonic: Callable[[], float],
        every: float = 5.0,
    ) -> None:
        self.counts = counts
        self.campaigns = campaigns
        self.clock = clock
        self.monotonic = monotonic
        self.every = every
        self._checked: dict[tuple[str, str], float] = {}

    def tripped(self, record: CampaignRecord) -> bool:
        """True when this check paused the campaign (do not dial it)."""
        settings = record.config.circuit_breaker
        if not settings.enabled:
            return False
        key = (record.tenant_id, record.campaign_id)
        last = self._checked.get(key)
        if last is not None and self.monotonic() - last < self.every:
            return False
        self._checked[key] = self.monotonic()
        now = self.clock()
        since = now - timedelta(seconds=settings.window_seconds)
        if record.status_changed_at:
            # A resumed campaign starts a fresh window: the dials that tripped it count no more.
            since = max(since, parse_utc(record.status_changed_at))
        window = self.counts.window(record.tenant_id, record.campaign_id, since)
        if window.dials < settings.min_dials:
            return False
        total = self.counts.baseline(record.tenant_id, record.campaign_id)
        before = DialCounts(
            total.dials - window.dials, total.failed - window.failed, total.answered - window.answered
        )
        reason = window_verdict(settings, window, before)
        if reason is None:
            return False
        return trip_breaker(self.campaigns, record.tenant_id, record.campaign_id, reason, at=utc_iso(now))

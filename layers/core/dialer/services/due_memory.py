"""What the dispatcher last learnt of each due partition: the moment it next has work.

A due partition (one campaign's shard and priority) that was read with nothing more due now is not
read again until the first of:

- the due time of its earliest waiting lead, as read: time alone makes that lead due, so it is
  read at its own moment, not later;
- ``staleness`` seconds after the read, on the engine's clock and on the monotonic one (a clock
  moved back does not stretch it, a clock moved forward ends it): the only bound on work that
  others add to a partition without a kick (a retry scheduled by a settlement, a claim the
  reaper puts back, leads imported into a running campaign, a callback booked).

A kick for a campaign (activation, resume) forgets it, a campaign that leaves the active set is
forgotten, and a new dispatcher starts knowing nothing. Nothing here decides a lead's fate: a
lead read late is checked and claimed as any other (the claim is conditional on what was read).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from dialer.domain.dialing import utc_iso

#: (tenant id, campaign id)
Campaign = tuple[str, str]


@dataclass(frozen=True, slots=True)
class _Quiet:
    until: str  # engine clock (utc_iso, as due keys sort): min(head's due time, read + staleness)
    until_monotonic: float  # read + staleness, in real seconds


class DueMemory:
    """Per campaign and (shard, priority): not worth asking before when."""

    def __init__(self, staleness: float, monotonic: Callable[[], float]) -> None:
        self.staleness = staleness
        self.monotonic = monotonic
        # campaign → (shard, priority) → until when that partition is known to have nothing due
        self._quiet: dict[Campaign, dict[tuple[int, int], _Quiet]] = {}

    def quiet(self, campaign: Campaign, shard: int, priority: int, now: datetime) -> bool:
        """True while the partition is known to have nothing due."""
        known = self._quiet.get(campaign, {}).get((shard, priority))
        return known is not None and utc_iso(now) < known.until and self.monotonic() < known.until_monotonic

    def learn(
        self, campaign: Campaign, shard: int, priority: int, now: datetime, head_at: str | None
    ) -> None:
        """The partition has nothing more due at ``now``; its earliest waiting lead falls due at
        ``head_at`` (utc_iso; None: no lead waits in it)."""
        if self.staleness <= 0:
            return
        until = utc_iso(now + timedelta(seconds=self.staleness))
        if head_at is not None:
            until = min(until, head_at)
        self._quiet.setdefault(campaign, {})[(shard, priority)] = _Quiet(
            until, self.monotonic() + self.staleness
        )

    def forget(self, tenant_id: str, campaign_id: str | None = None) -> None:
        """Ask this campaign's partitions (every campaign of the tenant's, when None) afresh."""
        for campaign in [c for c in self._quiet if c[0] == tenant_id and campaign_id in (None, c[1])]:
            del self._quiet[campaign]

    def retain(self, active: Iterable[Campaign], tenant_id: str | None = None) -> None:
        """Forget the campaigns no longer active (of ``tenant_id`` only, when given): a campaign
        paused and resumed starts afresh, and a long-lived process does not grow."""
        keep = set(active)
        for campaign in [c for c in self._quiet if c not in keep and tenant_id in (None, c[0])]:
            del self._quiet[campaign]

"""The dispatcher: active campaigns' due leads in, claimed attempts (dial jobs) out.

A run (every minute, or kicked by an activation/resume) loops sub-ticks of about a second until
its time is up, so dialling is continuous, not a burst per minute. Per sub-tick and tenant, while
holding the tenant's dispatch lease (two runs never pace one tenant):

1. the budget: min(dial-rate allowance for the sub-tick, free concurrency slots), shared fairly
   between the tenant's active campaigns, each capped by its own optional pacing;
2. per campaign, its due leads: callbacks (priority 0) first, then by ``next_attempt_at``, read
   with a ``Limit`` that matches the budget, so a tick reads about one item per lead it dials or
   defers (paused and canceled campaigns' partitions are never read); a due partition found with
   nothing more due is not read again until its next lead falls due or ``due_staleness_seconds``
   pass (:mod:`dialer.services.due_memory`), so an idle campaign costs a few queries a minute;
3. each lead through the compliance engine (:func:`dialer.services.eligibility.decide`):
   eligible → claimed (:meth:`~dialer.adapters.dialing_table.DialingTable.claim`, which also
   takes its slot) and a dial job queued; deferrable → moved to the next legal instant with its
   reason; blocked for good → ended with its reasons.

Between sub-ticks, a tenant whose slots were all taken (leads still due) looks for slots freed
since every ``refill_seconds`` (one read of its counter) and fills them within what is left of
the sub-tick's rate allowance: a freed channel waits a fraction of a sub-tick, not up to one.

A campaign whose leads have all ended, with no call in flight, completes by itself.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from dialer.adapters.breaker_counts import BreakerCounts
from dialer.adapters.campaigns_table import CampaignRecord, CampaignsTable, lead_from_item
from dialer.adapters.dialing_table import Claim, DialingTable, TenantLimits
from dialer.adapters.people_table import ContactHistory, DncTable
from dialer.domain.campaigns import CampaignStatus
from dialer.domain.dialing import (
    DUE_SHARDS,
    LeadStatus,
    primary_reason,
    split_budget,
    terminal_status_for,
    utc_iso,
)
from dialer.keys import due_time
from dialer.observability import get_logger
from dialer.services.circuit_breaker import BreakerWatch
from dialer.services.dialer import DialJob
from dialer.services.due_memory import DueMemory
from dialer.services.eligibility import HISTORY_WINDOW, caps_apply, decide

_SWEEP_PAGE = 100


class JobSink(Protocol):
    """Where dial jobs and continuation messages go (SQS)."""

    def send_many(self, bodies: list[str]) -> None:
        """Queue many messages."""
        ...


class MessageSink(Protocol):
    """The dispatch queue (continuations of sweeps)."""

    def send(self, body: str, *, delay_seconds: int = 0) -> object:
        """Queue one message."""
        ...


@dataclass(frozen=True, slots=True)
class DispatcherConfig:
    """The dispatcher's knobs (from settings)."""

    defaults: TenantLimits
    loop_seconds: float = 50.0
    tick_seconds: float = 1.0
    rate_headroom: float = 0.03
    slot_seconds: float = 2400.0  # a claimed slot's first lease: claim timeout + call + grace
    completion_check_seconds: float = 10.0  # how often a campaign without due leads is checked
    # How long a due partition found with nothing due is left unread (0: read at every sub-tick).
    due_staleness_seconds: float = 5.0
    # Between sub-ticks, how often a tenant whose last sub-tick filled every free slot looks for
    # slots freed since (one read of its counter) and fills them at once (0: it waits for the
    # next sub-tick). A freed channel then waits a fraction of this, not up to a whole sub-tick.
    refill_seconds: float = 0.1


@dataclass
class DispatchReport:
    """What a run did (logs, metrics, the bench's items-read ratio)."""

    ticks: int = 0
    items_read: int = 0  # due-index items read, due or not (the reads' cost)
    due: int = 0  # of which were due (claimed, deferred, ended or lost)
    claimed: int = 0
    deferred: int = 0
    ended: int = 0
    lost: int = 0
    completed: list[str] = field(default_factory=list)
    by_reason: Counter[str] = field(default_factory=Counter)
    active_tenants: int = 0  # tenants with an active campaign at the last tick

    def merge(self, other: DispatchReport) -> None:
        """Add ``other``'s counts."""
        self.items_read += other.items_read
        self.due += other.due
        self.claimed += other.claimed
        self.deferred += other.deferred
        self.ended += other.ended
        self.lost += other.lost
        self.completed.extend(other.completed)
        self.by_reason.update(other.by_reason)


class Dispatcher:
    """Turns due leads into claimed attempts and dial jobs."""

    def __init__(
        self,
        *,
        dialing: DialingTable,
        campaigns: CampaignsTable,
        dnc: DncTable,
        history: ContactHistory,
        jobs: JobSink,
        config: DispatcherConfig,
        clock: Callable[[], datetime],
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        epoch: Callable[[], float] = time.time,
        owner: str | None = None,
    ) -> None:
        self.dialing = dialing
        self.campaigns = campaigns
        self.dnc = dnc
        self.history = history
        self.jobs = jobs
        self.config = config
        self.clock = clock
        self.monotonic = monotonic
        self.sleep = sleep
        self.epoch = epoch
        self.owner = owner or uuid.uuid4().hex
        self._limits: dict[str, TenantLimits] = {}
        self._carry: dict[str, float] = defaultdict(float)
        self._left: dict[str, float] = {}  # allowance left in the current sub-tick, per tenant
        # Tenants held back by full slots → their dialable campaigns as the sub-tick read them.
        self._slot_bound: dict[str, list[CampaignRecord]] = {}
        self._checked: dict[tuple[str, str], float] = {}
        self._held: set[str] = set()
        self._lease_until: dict[str, float] = {}
        self.due = DueMemory(config.due_staleness_seconds, monotonic)
        self.breaker = BreakerWatch(BreakerCounts(campaigns.ops), campaigns, clock=clock, monotonic=monotonic)

    # --- the loop -------------------------------------------------------------------------------
    def run(self, *, seconds: float | None = None, tenant_id: str | None = None) -> DispatchReport:
        """Loop sub-ticks for ``seconds`` (default: the configured loop), then give the leases up.

        Stops at the first sub-tick that finds no active campaign: an idle stack then costs one
        short invocation a minute, not a minute of Lambda time, and a campaign activated or
        resumed meanwhile is started at once by its dispatch-queue kick, not by this loop.
        """
        report = DispatchReport()
        end = self.monotonic() + (self.config.loop_seconds if seconds is None else seconds)
        try:
            while True:
                started = self.monotonic()
                ticked = self.tick(report.ticks, tenant_id=tenant_id)
                report.merge(ticked)
                report.ticks += 1
                report.active_tenants = ticked.active_tenants
                next_at = started + self.config.tick_seconds
                if next_at >= end or not ticked.active_tenants:
                    return report
                self._refill_until(next_at, report, report.ticks)
        finally:
            for held in self._held:
                self.dialing.drop_lease(held, "DISPATCH", self.owner)
            self._held.clear()
            self._lease_until.clear()
            self._slot_bound.clear()

    def _refill_until(self, until: float, report: DispatchReport, number: int) -> None:
        """Wait for the next sub-tick; meanwhile, every ``refill_seconds`` (counted from the last
        refill's start, so a slow refill does not stretch the cadence), a tenant whose last
        (sub-)tick filled every free slot with leads still due fills the slots freed since, within
        what is left of the sub-tick's dial-rate allowance."""
        step = self.config.refill_seconds
        turn = number
        due_at = self.monotonic() + step
        while (pause := until - self.monotonic()) > 0:
            if step <= 0 or not self._slot_bound:
                self.sleep(pause)
                return
            self.sleep(max(0.0, min(due_at, until) - self.monotonic()))
            due_at = max(due_at + step, self.monotonic())
            if until - self.monotonic() < step / 2:
                continue  # the sub-tick is about due: it fills them
            turn += 1  # each refill starts the campaigns' shares at the next one (fairness)
            for tenant, records in list(self._slot_bound.items()):
                if self._hold_lease(tenant):
                    report.merge(self._dispatch_tenant(tenant, records, turn, refill=True))

    def tick(self, number: int = 0, *, tenant_id: str | None = None) -> DispatchReport:
        """One sub-tick over every tenant with active campaigns (or just ``tenant_id``)."""
        report = DispatchReport()
        by_tenant: dict[str, list[str]] = defaultdict(list)
        for tenant, campaign_id in self.dialing.active_campaigns():
            if tenant_id is None or tenant == tenant_id:
                by_tenant[tenant].append(campaign_id)
        report.active_tenants = len(by_tenant)
        self.due.retain(((t, c) for t, ids in by_tenant.items() for c in ids), tenant_id)
        for tenant, campaign_ids in by_tenant.items():
            if self._hold_lease(tenant):
                report.merge(self.tick_tenant(tenant, campaign_ids, number))
        return report

    def _hold_lease(self, tenant_id: str) -> bool:
        """Take or keep the tenant's dispatch lease (one dispatcher paces a tenant).

        Renewed only once under half its term is left: every sub-tick still starts with at least
        three sub-ticks (2 s at least) of it ahead, the margin a renewal at every sub-tick gave,
        at half the writes; a run that dies leaves it to expire within twice that."""
        ttl = 2 * max(3 * self.config.tick_seconds, 2.0)
        now = self.epoch()
        if tenant_id in self._held and self._lease_until[tenant_id] - now > ttl / 2:
            return True
        if not self.dialing.hold_lease(tenant_id, "DISPATCH", self.owner, now, ttl):
            self._held.discard(tenant_id)
            return False
        self._held.add(tenant_id)
        self._lease_until[tenant_id] = now + ttl
        return True

    # --- one tenant -----------------------------------------------------------------------------
    def tick_tenant(self, tenant_id: str, campaign_ids: Sequence[str], number: int = 0) -> DispatchReport:
        """Share the tenant's budget for one sub-tick between its active campaigns and dispatch."""
        return self._dispatch_tenant(tenant_id, self._dialable(tenant_id, campaign_ids), number)

    def _dialable(self, tenant_id: str, campaign_ids: Sequence[str]) -> list[CampaignRecord]:
        """The campaigns to dial this sub-tick: active, their breaker not tripped."""
        records = []
        for campaign_id in campaign_ids:
            record = self.campaigns.get_campaign(tenant_id, campaign_id)
            if record is None or record.status != CampaignStatus.ACTIVE:
                continue
            if self.breaker.tripped(record):
                continue  # its dials were failing: paused, nothing more is claimed
            records.append(record)
        return records

    def _dispatch_tenant(
        self, tenant_id: str, dialable: Sequence[CampaignRecord], number: int, *, refill: bool = False
    ) -> DispatchReport:
        """Dispatch the tenant's ``dialable`` campaigns (``refill``: into slots freed since the
        sub-tick, within what is left of its allowance; the campaigns as the sub-tick read them,
        under a second old: a campaign paused meanwhile is dropped by the dialer's own check)."""
        report = DispatchReport()
        limits = self._tenant_limits(tenant_id)
        free = limits.outbound_limit - self.dialing.slots_in_use(tenant_id)
        if refill:
            allowance = self._left.get(tenant_id, 0.0)
            if free <= 0 or allowance < 1:
                return report
        else:
            rate = min(float(limits.dials_per_second), limits.dials_per_5s / 5.0) * (
                1 - self.config.rate_headroom
            )
            allowance = rate * self.config.tick_seconds + self._carry[tenant_id]
        budget = max(0, min(free, int(allowance)))
        now = self.clock()
        records = {record.campaign_id: record for record in dialable}
        caps = {campaign_id: self._campaign_cap(record, now) for campaign_id, record in records.items()}
        shares = split_budget(budget, caps, start=number)
        used = 0
        for campaign_id, record in records.items():
            share = shares.get(campaign_id, 0)
            done = self.dispatch_campaign(record, share, limits) if share > 0 else DispatchReport()
            used += done.claimed
            report.merge(done)
            if done.due == 0:
                self._maybe_complete(record, report)
        # Only the fraction of a dial carries over: unused allowance never builds up into a burst.
        self._left[tenant_id] = allowance - used
        self._carry[tenant_id] = max(0.0, min(1.0, allowance - used))
        if records and free < int(allowance) and (free <= 0 or report.due >= budget):
            # Full slots held it back, not the rate, and leads may still be due: look for slots
            # freed before the next sub-tick.
            self._slot_bound[tenant_id] = list(records.values())
        else:
            self._slot_bound.pop(tenant_id, None)
        return report

    def _tenant_limits(self, tenant_id: str) -> TenantLimits:
        limits = self._limits.get(tenant_id)
        if limits is None:
            limits = self.dialing.tenant_limits(tenant_id, self.config.defaults)
            self._limits[tenant_id] = limits
        return limits

    def _campaign_cap(self, record: CampaignRecord, now: datetime) -> int | None:
        pacing = record.config.pacing
        caps: list[int] = []
        if pacing.max_dials_per_minute is not None:
            minute = now.strftime("%Y-%m-%dT%H:%M")
            used = self.dialing.pace(record.tenant_id, record.campaign_id, [minute]).get(minute, 0)
            caps.append(max(0, pacing.max_dials_per_minute - used))
        if pacing.max_concurrent is not None:
            stats = self.dialing.campaign_stats(record.tenant_id, record.campaign_id)
            caps.append(max(0, pacing.max_concurrent - stats.get("st_dialing", 0)))
        return min(caps) if caps else None

    # --- one campaign ---------------------------------------------------------------------------
    def dispatch_campaign(self, record: CampaignRecord, share: int, limits: TenantLimits) -> DispatchReport:
        """Read up to ``share`` due leads of the campaign and claim, defer or end each."""
        report = DispatchReport()
        now = self.clock()
        now_iso = utc_iso(now)
        items = self._read_due(record, share, now, report)
        report.due = len(items)
        if not items:
            return report
        claims = self._evaluate(record, items, now, report)
        if claims:
            won = self.dialing.claim(
                record.tenant_id,
                claims,
                now=now_iso,
                slot_limit=limits.outbound_limit,  # the inbound reserve, in the condition itself
                # On the engine clock: the dialer extends and the reaper expires slot leases by it.
                slot_until=self.clock().timestamp() + self.config.slot_seconds,
            )
            report.claimed = len(won)
            report.lost = len(claims) - len(won)
            if won:
                self.jobs.send_many(
                    [
                        DialJob(
                            record.tenant_id,
                            record.campaign_id,
                            str(c.item["lead_id"]),
                            c.n,
                            phone=str(c.item["phone"]),
                        ).to_json()
                        for c in won
                    ]
                )
                # Claims per minute: the campaign's optional cap, and its progress's dial rate.
                expires = int((now + timedelta(hours=1)).timestamp())
                minute = now.strftime("%Y-%m-%dT%H:%M")
                self.dialing.add_pace(record.tenant_id, record.campaign_id, minute, len(won), expires)
        if report.claimed + report.deferred + report.ended < len(items):
            # A lead read as due is due still (a claim lost to a race or to full slots, a deferral
            # refused): its partition may have been remembered as done for now. Read it afresh.
            self.due.forget(record.tenant_id, record.campaign_id)
        return report

    def _read_due(
        self, record: CampaignRecord, share: int, now: datetime, report: DispatchReport
    ) -> list[dict[str, Any]]:
        """Up to ``share`` leads due at ``now``: the due callbacks (priority 0) of every shard
        before any other lead (priority 1), each spread over the shards.

        A partition is read from its head without an upper bound: what it returns past ``now`` is
        not due, and the first such lead's due time is when the partition next has work; a
        partition with nothing more due is left unread until then (or the staleness bound)."""
        campaign = (record.tenant_id, record.campaign_id)
        now_iso = utc_iso(now)
        items: list[dict[str, Any]] = []
        for priority in (0, 1):
            horizon = f"{priority}#{now_iso}#\uffff"
            # Spread the share over the shards; a shard that had fewer is dropped and the others
            # are asked for the rest, continuing after what was already read.
            last: dict[int, str | None] = dict.fromkeys(range(DUE_SHARDS))
            pending_shards = [s for s in range(DUE_SHARDS) if not self.due.quiet(campaign, s, priority, now)]
            while pending_shards and len(items) < share:
                per_shard = math.ceil((share - len(items)) / len(pending_shards))
                still: list[int] = []
                for shard in pending_shards:
                    want = min(per_shard, share - len(items))
                    if want <= 0:
                        break
                    got = self.dialing.due_head(
                        record.tenant_id, record.campaign_id, shard, priority, want, last[shard]
                    )
                    report.items_read += len(got)
                    due = [item for item in got if str(item["due_sk"]) <= horizon]
                    items.extend(due)
                    if due:
                        last[shard] = str(due[-1]["due_sk"])
                    if len(due) < len(got):
                        self.due.learn(campaign, shard, priority, now, due_time(str(got[len(due)]["due_sk"])))
                    elif len(got) < want:
                        self.due.learn(campaign, shard, priority, now, None)
                    else:
                        still.append(shard)
                pending_shards = still
        return items

    def _evaluate(
        self, record: CampaignRecord, items: list[dict[str, Any]], now: datetime, report: DispatchReport
    ) -> list[Claim]:
        tenant_id = record.tenant_id
        listed = self.dnc.listed(tenant_id, [str(i["phone"]) for i in items])
        claims: list[Claim] = []
        now_iso = utc_iso(now)
        for item in items:
            lead = lead_from_item(item)
            recent = (
                self.history.recent(tenant_id, lead.lead.phone, now - HISTORY_WINDOW)
                if caps_apply(lead, record)
                else ()
            )
            callback = str(item.get("due_sk", "")).startswith("0#")
            result = decide(
                lead, record, now, dnc=lead.lead.phone in listed, recent_calls=recent, callback=callback
            )
            if result.decision.eligible:
                claims.append(Claim(item=item, n=int(item.get("dials") or 0) + 1, callback=callback))
                continue
            reasons = [str(r) for r in result.decision.reasons]
            if result.next_window_start is not None:
                primary = primary_reason(reasons)
                if self.dialing.defer(
                    tenant_id,
                    item,
                    at=utc_iso(result.next_window_start),
                    reasons=reasons,
                    deferred_reason=primary,
                    now=now_iso,
                ):
                    report.deferred += 1
                    report.by_reason[primary] += 1
            elif self.dialing.end_pending(
                tenant_id, item, status=terminal_status_for(reasons), reasons=reasons, now=now_iso
            ):
                report.ended += 1
                report.by_reason[primary_reason(reasons)] += 1
        return claims

    def _maybe_complete(self, record: CampaignRecord, report: DispatchReport) -> None:
        key = (record.tenant_id, record.campaign_id)
        checked = self._checked.get(key)
        if checked is not None and self.monotonic() - checked < self.config.completion_check_seconds:
            return
        self._checked[key] = self.monotonic()
        if record.lead_count == 0:
            return  # nothing imported yet: an empty active campaign waits for its leads
        # Calls in flight first (one read, and while a campaign runs it is the usual answer), then
        # the due index (a Query per shard). This order is also the safe one: a call that ends
        # into a retry moves a lead from dialing to pending at any moment, which a check of
        # pending then dialing could miss both sides of; the reverse move is a claim, made only
        # by the dispatcher holding the tenant's lease (this one).
        if self.dialing.campaign_stats(record.tenant_id, record.campaign_id).get("st_dialing", 0) > 0:
            return
        if self.dialing.any_pending(record.tenant_id, record.campaign_id):
            return
        at = self.clock().isoformat(timespec="milliseconds")
        if self.campaigns.complete_campaign(
            record.tenant_id, record.campaign_id, lead_count=record.lead_count, at=at
        ):
            report.completed.append(record.campaign_id)
            get_logger().info(
                "campaign completed", tenant_id=record.tenant_id, campaign_id=record.campaign_id
            )

    # --- the dispatch queue: kicks and sweeps ---------------------------------------------------
    def handle_message(
        self, body: str, *, remaining: Callable[[], float], continuations: MessageSink | None = None
    ) -> DispatchReport:
        """A dispatch-queue message: a kick (``activated``/``resumed``: dial this tenant now, not at
        the next minute) or a resumable ``cancel_sweep``."""
        doc = json.loads(body)
        if not isinstance(doc, dict) or "tenant_id" not in doc:
            raise ValueError("not a dispatch message")
        if doc.get("type") == "cancel_sweep":
            done = self.sweep_canceled(str(doc["tenant_id"]), str(doc["campaign_id"]), remaining=remaining)
            if not done and continuations is not None:
                continuations.send(body)
            return DispatchReport()
        # A kick says this campaign has work now (activated, resumed): what was known of its due
        # partitions may be out of date.
        self.due.forget(str(doc["tenant_id"]), str(doc["campaign_id"]) if "campaign_id" in doc else None)
        seconds = max(0.0, min(self.config.loop_seconds, remaining() - 2.0))
        return self.run(seconds=seconds, tenant_id=str(doc["tenant_id"]))

    def sweep_canceled(self, tenant_id: str, campaign_id: str, *, remaining: Callable[[], float]) -> bool:
        """End every pending lead of a canceled campaign (page by page; each ended lead leaves the
        due index, so a continuation starts again from the top). True when none is left."""
        now_iso = utc_iso(self.clock())
        for shard in range(DUE_SHARDS):
            while True:
                if remaining() < 3.0:
                    return False
                page = self.dialing.pending_leads(tenant_id, campaign_id, shard, _SWEEP_PAGE)
                if not page:
                    break
                for item in page:
                    self.dialing.end_pending(
                        tenant_id,
                        item,
                        status=LeadStatus.CANCELED,
                        reasons=["campaign_canceled"],
                        now=now_iso,
                    )
        return True


def kick_message(tenant_id: str, campaign_id: str, reason: str) -> str:
    """The dispatch-queue message sent on activation and resume."""
    return json.dumps({"tenant_id": tenant_id, "campaign_id": campaign_id, "reason": reason})


def cancel_sweep_message(tenant_id: str, campaign_id: str) -> str:
    """The dispatch-queue message that ends a canceled campaign's pending leads."""
    return json.dumps({"type": "cancel_sweep", "tenant_id": tenant_id, "campaign_id": campaign_id})

"""The reaper (every 5 minutes): nothing stays stuck, every lead ends up terminal or due again.

Per tenant, from the in-flight index (claims older than the claim timeout, oldest first):

* ``claimed`` and never taken by a dialer (the dispatcher died before queueing, or the job was
  lost) → the job is queued again (the dialer's state checks make a duplicate harmless);
* ``posting`` past Telnyx's de-duplication window (a dialer died mid-POST) → ``unconfirmed``;
* ``accepted`` with an ended call whose lead waits for facts that never came → settled with the
  outcome its record has once the settlement grace is over (``lead_effects``);
* ``accepted`` past the call's time limit plus grace with no outcome → looked up on Telnyx: a
  call that is over is settled with the outcome its record has, else ``unknown``;
* ``unconfirmed`` past the time limit plus grace → settled as ``unknown`` (no webhook ever named
  it, so no call is running; the attempt counts, so max attempts holds);
* an attempt already settled whose lead still points at it cannot happen (one transaction).

Slot leases past their expiry are given back (their calls are long over): an in-flight attempt's
with it, then the ``SLOT#`` items' (inbound calls, leases a contended settlement moved out).
Imports whose file never came are failed (:class:`~dialer.services.imports.ImportExpiry`), and,
where the tenant enabled Telnyx Number Reputation, spam-risky caller IDs are rested
(:class:`~dialer.services.number_reputation.ReputationSweep`, at most every
``check_every_minutes``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dialer.adapters.caller_id_health import CallerIdHealthTable
from dialer.adapters.calls_table import CallsTable
from dialer.adapters.campaigns_table import CampaignsTable
from dialer.adapters.dialing_table import AttemptRecord, DialingTable
from dialer.domain.dialing import (
    DUE_SHARDS,
    OPEN_ATTEMPT_STATES,
    AttemptState,
    parse_attempt_id,
    parse_utc,
    utc_iso,
)
from dialer.domain.outcomes import CallOutcome
from dialer.observability import get_logger
from dialer.services.dialer import DialJob, JobQueue, TelnyxClients
from dialer.services.imports import ImportExpiry
from dialer.services.lead_effects import LeadEffects
from dialer.services.number_reputation import ReputationSweep

_PAGE = 200


@dataclass(frozen=True, slots=True)
class ReaperConfig:
    """The reaper's knobs (from settings)."""

    claim_timeout_seconds: int = 300
    command_id_window_seconds: float = 60.0
    time_limit_seconds: int = 1800
    grace_seconds: int = 300


class Reaper:
    """Finds stuck claims, calls and slots and settles them."""

    def __init__(
        self,
        *,
        dialing: DialingTable,
        campaigns: CampaignsTable,
        calls: CallsTable,
        telnyx: TelnyxClients,
        jobs: JobQueue,
        config: ReaperConfig,
        clock: Callable[[], datetime],
        imports: ImportExpiry | None = None,
    ) -> None:
        self.dialing = dialing
        self.imports = imports
        self.campaigns = campaigns
        self.calls = calls
        self.telnyx = telnyx
        self.jobs = jobs
        self.config = config
        self.clock = clock
        self.effects = LeadEffects(dialing, campaigns, clock)
        self.reputation = ReputationSweep(CallerIdHealthTable(dialing.items), telnyx, clock)

    def run(self, tenant_ids: list[str] | None = None) -> Counter[str]:
        """One pass over every tenant (or ``tenant_ids``); returns what it did, by kind."""
        done: Counter[str] = Counter()
        for tenant_id in tenant_ids if tenant_ids is not None else self.dialing.tenant_ids():
            done.update(self.reap_tenant(tenant_id))
        return done

    def reap_tenant(self, tenant_id: str) -> Counter[str]:
        """Settle one tenant's stuck attempts and expired slot leases."""
        done: Counter[str] = Counter()
        now = self.clock()
        cutoff = utc_iso(now - timedelta(seconds=self.config.claim_timeout_seconds))
        for shard in range(DUE_SHARDS):
            for item in self.dialing.inflight(tenant_id, shard, cutoff, _PAGE):
                n = item.get("current_attempt")
                if n is None:
                    continue
                attempt = self.dialing.get_attempt(tenant_id, str(item["lead_id"]), int(n))
                if attempt is None:
                    continue
                lapsed = attempt.slot_until is not None and attempt.slot_until < now.timestamp()
                kind = self._settle(attempt, now, lease_expired=lapsed)
                if kind:
                    done[kind] += 1
                if lapsed and self.dialing.release_slot(tenant_id, attempt.attempt_id):
                    done["slot_reclaimed"] += 1
        # Leases on ``SLOT#`` items: inbound calls', and attempts' that a contended settlement
        # moved out (their attempt is settled) or that predate leases on attempts.
        for holder, until in self.dialing.slot_leases(tenant_id):
            if until < now.timestamp():
                parsed = parse_attempt_id(holder)
                attempt = self.dialing.get_attempt(tenant_id, *parsed) if parsed else None
                if attempt is not None and attempt.state in OPEN_ATTEMPT_STATES:
                    kind = self._settle(attempt, now, lease_expired=True)
                    if kind:
                        done[kind] += 1
                if self.dialing.release_lease_item(tenant_id, holder):
                    done["slot_reclaimed"] += 1
        if self.imports is not None and (failed := self.imports.expire(tenant_id)):
            done["import_expired"] += failed
        done.update(self.reputation.sweep(tenant_id))
        if done:
            get_logger().info("reaper settled stuck work", tenant_id=tenant_id, done=dict(done))
        return done

    def _settle(self, attempt: AttemptRecord, now: datetime, *, lease_expired: bool = False) -> str | None:
        call_over = timedelta(seconds=self.config.time_limit_seconds + self.config.grace_seconds)
        if attempt.state == AttemptState.CLAIMED:
            self.jobs.send(
                DialJob(attempt.tenant_id, attempt.campaign_id, attempt.lead_id, attempt.n).to_json()
            )
            return "claim_requeued"
        if attempt.state == AttemptState.POSTING:
            started = parse_utc(attempt.posting_at) if attempt.posting_at else now
            if (now - started).total_seconds() > self.config.command_id_window_seconds:
                self.dialing.mark_unconfirmed(
                    attempt.tenant_id, attempt.lead_id, attempt.n, now=utc_iso(now), reason="reaped_posting"
                )
                return "posting_unconfirmed"
            return None
        if attempt.state == AttemptState.UNCONFIRMED:
            started = parse_utc(attempt.posting_at) if attempt.posting_at else now
            if now - started > call_over or lease_expired:
                return (
                    "unconfirmed_settled" if self.effects.call_ended(attempt, CallOutcome.UNKNOWN) else None
                )
            return None
        if attempt.state == AttemptState.ACCEPTED and attempt.call_control_id:
            started = parse_utc(attempt.accepted_at) if attempt.accepted_at else now
            call = self.calls.get_call_item(attempt.tenant_id, attempt.call_control_id) or {}
            if call.get("state") == "ended" and call.get("outcome"):
                # The call ended and its lead is still waiting for a fact that never came (or a
                # crash lost the effect): settle it once the grace is over.
                return "ended_settled" if self.effects.settle_call(attempt, call) == "settled" else None
            if now - started > call_over or lease_expired:
                outcome = self._lookup(attempt, call)
                if outcome is None:
                    return None
                return "call_finalised" if self.effects.call_ended(attempt, outcome) else None
        return None

    def _lookup(self, attempt: AttemptRecord, call: dict[str, Any]) -> CallOutcome | None:
        """Ask Telnyx whether the call is over: its record's outcome, or ``unknown``; None while
        it is still alive."""
        from telnyx_client.errors import TelnyxError, TelnyxNotFound

        try:
            status = self.telnyx.client_for(attempt.tenant_id).calls.retrieve(str(attempt.call_control_id))
        except TelnyxNotFound:
            status = None
        except TelnyxError:
            return CallOutcome.UNKNOWN if attempt.method == "texml_ai" else None
        if status is not None and status.is_alive:
            return None
        outcome = call.get("outcome")
        return CallOutcome(str(outcome)) if outcome else CallOutcome.UNKNOWN

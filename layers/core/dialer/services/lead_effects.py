"""What the end of an attempt does to its lead, applied exactly once whoever gets there first.

The dialer (a refused dial, a re-check that fails), the event processor (a call that ended) and
the reaper (a call or claim that never settled) all end attempts through :class:`LeadEffects`.
Each effect is one transaction conditional on the attempt still being open
(:meth:`~dialer.adapters.dialing_table.DialingTable.finish`), so a duplicate, a redelivery or a
race between two of them changes nothing the second time. The attempt's slot is given back in
that same transaction (its lease's delete and the ``SLOTS`` decrement), so there is no crash
window between the two; a slot given back earlier (below: at the hangup, while the lead awaits
facts) costs the settlement one more request, made without the slot's items.

A lead's fate does not depend on the order its call's webhooks arrive in:

* **Settled when the facts are in.** An ended call whose outcome can still change class (a late
  ``call.answered``, the AMD result, the conversation or its ``start_failed``:
  :func:`~dialer.domain.calls.awaited_facts`) keeps its lead ``dialing`` (the slot is given back)
  until the awaited fact arrives - its event settles the lead - or until
  :data:`SETTLE_GRACE_SECONDS` after the hangup, when the next event or the reaper settles it
  with what it has. A retry is due a delay after the hangup (not after whenever we settled).
* **Late facts still correct it.** A fact after settlement that changes the call's outcome
  re-settles the lead (:meth:`LeadEffects.resettle`) while the lead is still where that
  settlement put it; once a later attempt was claimed, the lead stays and only the attempt
  records its corrected outcome (``outcome_history``, ``lead_outcome``: the one that moved it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from dialer import keys
from dialer.adapters.breaker_counts import count_dial
from dialer.adapters.caller_id_health import CallerIdHealthTable
from dialer.adapters.campaigns_table import (
    CampaignRecord,
    CampaignsTable,
    LeadRecord,
    campaign_from_item,
    lead_from_item,
)
from dialer.adapters.dialing_table import AttemptRecord, DialingTable, LeadChange
from dialer.adapters.outbox_events import settlement_events
from dialer.adapters.people_table import ContactHistory
from dialer.domain.calls import awaited_facts, facts_of_item
from dialer.domain.campaigns import CampaignStatus, compliance_policy
from dialer.domain.circuit_breaker import BREAKER_FAILURES
from dialer.domain.dialing import (
    AttemptState,
    LeadStatus,
    disposition_status,
    next_step,
    parse_utc,
    utc_iso,
)
from dialer.domain.outcomes import CallOutcome
from dialer.policies.compliance import next_legal_time
from dialer.services.caller_id_health import CallerIdHealth
from dialer.services.eligibility import lead_facts

#: How long after its hangup a call's lead waits for the facts still due (see the module doc).
#: Telnyx retries an undelivered webhook for at most 60 s (``webhook_retries_policies``: up to 5
#: retries summing to at most 60 000 ms), and a reordered webhook is seconds late; twice that
#: window also covers the intake queue's lag. The reaper (every 5 minutes) settles a lead whose
#: grace ran out with no further event, so the worst case is the grace plus one reaper period.
SETTLE_GRACE_SECONDS = 120

#: Decisions a settlement makes before it leaves an accepted attempt to its next event or the
#: reaper: each retry follows a write refused because the lead changed under the decision.
_SETTLE_TRIES = 3

#: Lead statuses a late fact may not move: a lead being dialled again, blocked (DNC, consent)
#: or canceled with its campaign.
_UNMOVABLE = frozenset({LeadStatus.DIALING.value, LeadStatus.BLOCKED.value, LeadStatus.CANCELED.value})


class LeadEffects:
    """Ends attempts and moves their leads on (the retry policy, callbacks, campaign state)."""

    def __init__(
        self, dialing: DialingTable, campaigns: CampaignsTable, clock: Callable[[], datetime]
    ) -> None:
        self.dialing = dialing
        self.campaigns = campaigns
        self.clock = clock
        self.caller_ids = CallerIdHealth(CallerIdHealthTable(dialing.items), clock)

    def settle_call(
        self,
        attempt: AttemptRecord,
        call: Mapping[str, Any],
        *,
        lead_item: Mapping[str, Any] | None = None,
        campaign: CampaignRecord | None = None,
    ) -> str | None:
        """Apply an ended call to its attempt's lead: settle an accepted attempt once no awaited
        fact can change its outcome's class (or the grace is over), re-settle an ended one whose
        call's outcome a late fact changed. Idempotent; returns what it did.

        ``lead_item`` / ``campaign``: read with ``attempt`` in its round trip (else read here when
        needed); the writes they feed are conditional on the attempt's and the lead's state."""
        outcome = call.get("outcome")
        if call.get("state") != "ended" or not outcome:
            return None
        ended_at = _instant(call.get("ended_at"))
        if attempt.state == AttemptState.ACCEPTED:
            waiting = awaited_facts(facts_of_item(call))
            since = ended_at or _instant(attempt.accepted_at) or self.clock()
            if waiting and self.clock() - since < timedelta(seconds=SETTLE_GRACE_SECONDS):
                # The line is free; the lead waits for the facts (its event, or the reaper).
                self.dialing.release_slot(attempt.tenant_id, attempt.attempt_id)
                return "awaiting_" + "_".join(waiting)
            for _ in range(_SETTLE_TRIES):
                if self.call_ended(
                    attempt,
                    CallOutcome(str(outcome)),
                    ended_at=ended_at,
                    call=call,
                    lead_item=lead_item,
                    campaign=campaign,
                ):
                    return "settled"
                # Another event of the call settled it first, while this one was being applied: it
                # may have decided on fewer facts (a hangup applied just before the speech's end),
                # so the call as stored now decides, and the lead as that settlement left it (read
                # again). Or nothing was settled because the lead changed under the decision (a
                # callback booked in the call meanwhile): decide again on the lead as it is now.
                attempt = self.dialing.get_attempt(attempt.tenant_id, attempt.lead_id, attempt.n) or attempt
                lead_item = campaign = None
                if attempt.state != AttemptState.ACCEPTED:
                    break
        if attempt.state == AttemptState.ENDED and attempt.outcome and attempt.outcome != outcome:
            return self._resettle_to_stored_call(attempt, ended_at, lead_item=lead_item, campaign=campaign)
        return None

    def _resettle_to_stored_call(
        self,
        attempt: AttemptRecord,
        ended_at: datetime | None,
        *,
        lead_item: Mapping[str, Any] | None = None,
        campaign: CampaignRecord | None = None,
    ) -> str | None:
        """Re-settle an ended attempt whose outcome differs from an event's view of its call, with
        the call's outcome as stored now: events are applied to the call one at a time, but their
        effects on the lead run side by side, so an earlier event's view (fewer facts) can reach
        here after a later one's and must not undo it."""
        if not attempt.call_control_id:
            return None
        stored = self.dialing.items.get(keys.call_key(attempt.tenant_id, attempt.call_control_id)) or {}
        outcome = stored.get("outcome")
        if stored.get("state") != "ended" or not outcome or outcome == attempt.outcome:
            return None
        return self.resettle(
            attempt, CallOutcome(str(outcome)), ended_at=ended_at, lead_item=lead_item, campaign=campaign
        )

    def call_ended(
        self,
        attempt: AttemptRecord,
        outcome: CallOutcome,
        *,
        failed: bool = False,
        ended_at: datetime | None = None,
        call: Mapping[str, Any] | None = None,
        lead_item: Mapping[str, Any] | None = None,
        campaign: CampaignRecord | None = None,
    ) -> bool:
        """Apply a call's outcome (``failed``: Telnyx refused the dial for good; ``ended_at``: the
        hangup, which a retry's delay counts from; ``call``: its record, for the
        ``call.completed`` event; ``lead_item`` / ``campaign``: read with the attempt, else read
        here). False when the effect had already been applied. The slot is given back either way
        (by ``finish``)."""
        # A lead read with the attempt (one request before a read here would be) decides the
        # same way: ``finish`` is conditional on the attempt still open and the lead still
        # dialing it, and what else may change on the lead meanwhile (a callback asked for in
        # the call) could as well change after a read here.
        if lead_item is not None and lead_item.get("lead_id") == attempt.lead_id:
            lead: LeadRecord | None = lead_from_item(lead_item)
        else:
            lead = self.campaigns.get_lead(attempt.tenant_id, attempt.lead_id)
        if campaign is None or campaign.campaign_id != attempt.campaign_id:
            campaign = self.campaigns.get_campaign(attempt.tenant_id, attempt.campaign_id)
        if lead is None or campaign is None:
            # Nothing to settle (the lead or campaign is gone), but the line is free all the same.
            self.dialing.release_slot(attempt.tenant_id, attempt.attempt_id)
            return False
        now = self.clock()
        # The attempt is counted here, in the settlement's transaction (``finish``): a placed call
        # uses the lead's budget once it is settled, by its events or by the reaper. ``counted``
        # is only set by that transaction, except on attempts accepted before the count moved
        # there (acceptance counted them): those are not counted twice.
        counted_now = not attempt.counted
        used = lead.attempts + (1 if counted_now and not attempt.callback else 0)
        change = replace(
            self._after_call(lead, campaign, outcome, used, _retry_base(attempt, ended_at, now)),
            checks_callback=True,
            callback_seen=lead.callback_at,
        )
        breaker = count_dial(
            attempt.tenant_id,
            attempt.campaign_id,
            now,
            failed=outcome in BREAKER_FAILURES,
            answered=outcome == CallOutcome.ANSWERED_HUMAN,
        )
        # A placed call counts on its caller ID's health in the same transaction: exactly once.
        health = (
            None
            if failed
            else self.caller_ids.count_op(attempt.tenant_id, attempt.caller_id_id, outcome, call)
        )
        settled = self.dialing.finish(
            attempt,
            change,
            final_state=AttemptState.FAILED if failed else AttemptState.ENDED,
            now=utc_iso(now),
            count_attempt=counted_now,
            events=[
                *settlement_events(
                    attempt, lead, change, call=None if failed else call or {}, at=utc_iso(now)
                ),
                breaker.bucket,
                *([health[0]] if health else []),
            ],
            counters=breaker.stats,
        )
        if settled and health and attempt.caller_id_id:
            self.caller_ids.counted(attempt.tenant_id, attempt.caller_id_id, health[1])
        return settled

    def resettle(
        self,
        attempt: AttemptRecord,
        outcome: CallOutcome,
        *,
        ended_at: datetime | None = None,
        lead_item: Mapping[str, Any] | None = None,
        campaign: CampaignRecord | None = None,
    ) -> str | None:
        """Decide an ended attempt's lead again: a late fact changed the call's ``outcome``, or
        its conversation's disposition now ends the lead. The lead moves while it is where that
        attempt's settlement put it (same decision rule, same attempts used); otherwise only a
        changed outcome is recorded on the attempt. Once; returns what it did.

        ``lead_item`` / ``campaign``: as the caller just wrote or read them (else read here). A
        stale lead item is safe: the write is conditional on the lead exactly as seen."""
        item = lead_item or self.dialing.items.get(keys.lead_key(attempt.tenant_id, attempt.lead_id))
        campaign = campaign or self.campaigns.get_campaign(attempt.tenant_id, attempt.campaign_id)
        if item is None or campaign is None or attempt.state != AttemptState.ENDED:
            return None
        lead = lead_from_item(item)
        movable = (
            lead.status not in _UNMOVABLE
            and item.get("current_attempt") is not None
            and int(item["current_attempt"]) == attempt.n
            and lead.last_outcome == attempt.outcome
        )
        now = self.clock()
        change = None
        if movable:
            # ``attempts`` already counts this attempt (its settlement, which ended it, did).
            base = _retry_base(attempt, ended_at, now)
            change = self._after_call(lead, campaign, outcome, lead.attempts, base)
            same = change.status.value == lead.status and change.next_at == item.get("next_attempt_at")
            if same and outcome.value == attempt.outcome:
                return None  # the lead already is where this decision puts it
        elif outcome.value == attempt.outcome:
            return None
        if not self.dialing.resettle(attempt, outcome.value, change, lead_seen=item, now=utc_iso(now)):
            return None
        return "resettled" if change is not None else "outcome_corrected"

    def drop(
        self,
        attempt: AttemptRecord,
        reasons: Sequence[str],
        *,
        status: LeadStatus = LeadStatus.PENDING,
        retry_at: datetime | None = None,
        deferred_reason: str | None = None,
        failed_dial: bool = False,
    ) -> bool:
        """Refuse an attempt before Telnyx accepted it: nothing is counted, the lead goes back to
        due at ``retry_at`` (default now), or ends with ``status``. A canceled campaign's lead is
        canceled; ``failed_dial``: Telnyx refused the dial (it counts for the circuit breaker).
        The slot is given back either way (by ``finish``)."""
        now = self.clock()
        if status == LeadStatus.PENDING:
            campaign = self.campaigns.get_campaign(attempt.tenant_id, attempt.campaign_id)
            if campaign is not None and campaign.status == CampaignStatus.CANCELED:
                status = LeadStatus.CANCELED
        change = LeadChange(
            status=status,
            next_at=utc_iso(retry_at or now) if status == LeadStatus.PENDING else None,
            priority=0 if attempt.callback else 1,
            reasons=tuple(reasons),
            deferred_reason=deferred_reason if status == LeadStatus.PENDING else None,
        )
        # ``failed_dial``: Telnyx refused the dial (our configuration): it counts for the breaker.
        breaker = count_dial(attempt.tenant_id, attempt.campaign_id, now, failed=True, answered=False)
        return self.dialing.finish(
            attempt,
            change,
            final_state=AttemptState.DROPPED,
            now=utc_iso(now),
            count_attempt=False,
            events=[breaker.bucket] if failed_dial else (),
            counters=breaker.stats if failed_dial else None,
        )

    def _after_call(
        self, lead: LeadRecord, campaign: CampaignRecord, outcome: CallOutcome, used: int, base: datetime
    ) -> LeadChange:
        """The one decision rule for a settled attempt's lead (``base``: what a retry's delay
        counts from). A pure function of the lead, the campaign and the outcome, so a
        re-settlement decides exactly as a first settlement with the same facts would."""
        if campaign.status == CampaignStatus.CANCELED:
            return LeadChange(LeadStatus.CANCELED, outcome=outcome.value)
        if lead.callback_at and outcome != CallOutcome.INVALID_NUMBER:
            # The person asked (during this call, or meanwhile) to be called back: that wins.
            return LeadChange(LeadStatus.PENDING, next_at=lead.callback_at, priority=0, outcome=outcome.value)
        ended_by = disposition_status(campaign.config, lead.result)
        if ended_by is not None:
            # The conversation's conclusion ends the lead, whatever the call's retry policy says.
            return LeadChange(ended_by, outcome=outcome.value)
        step = next_step(campaign.config, outcome, used)
        if not step.retry:
            return LeadChange(step.status, outcome=outcome.value)
        at = base + (step.delay or timedelta(0))
        facts = lead_facts(lead, dnc=False, recent_calls=())
        legal = next_legal_time(facts, compliance_policy(campaign.config), at)
        # No legal instant within reach (e.g. consent revoked meanwhile): keep the policy's time
        # and let the dispatcher's full check end or defer the lead with its reasons.
        return LeadChange(LeadStatus.PENDING, next_at=utc_iso(legal or at), outcome=outcome.value)


def _instant(value: Any) -> datetime | None:
    """A stored instant (ISO 8601 UTC), or None when absent or unreadable."""
    if not value:
        return None
    try:
        return parse_utc(str(value))
    except ValueError:
        return None


def _retry_base(attempt: AttemptRecord, ended_at: datetime | None, now: datetime) -> datetime:
    """What a retry's delay counts from: the hangup as Telnyx stamped it, so the next attempt's
    time does not depend on when the last fact arrived; ``now`` when there is no hangup time or
    it is not plausible (before the claim, or ahead of our clock)."""
    claimed = _instant(attempt.claimed_at)
    if ended_at is None or ended_at > now or (claimed is not None and ended_at < claimed):
        return now
    return ended_at


def due_time(value: str | None) -> datetime | None:
    """A stored due time as an instant."""
    return parse_utc(value) if value else None


#: An attempt, its lead's item and its campaign, as :meth:`CallOutcomes._read` read them.
_Reads = tuple[AttemptRecord | None, dict[str, Any] | None, CampaignRecord | None]

# Telnyx's ``direction`` of a call someone placed to one of our numbers (WIRE §7.2).
INBOUND = "incoming"


@dataclass(frozen=True, slots=True)
class Settled:
    """What :meth:`CallOutcomes.after_event` did (``effect``), and what it read that the
    after-call effects use instead of reading it again: the ``campaign`` (read strongly
    consistent after this event's commit, and no settlement writes the campaign's item) and the
    ``attempt`` as read, only when it was already ended and nothing here wrote it."""

    effect: str | None = None
    campaign: CampaignRecord | None = None
    attempt: AttemptRecord | None = None


class CallOutcomes:
    """The event processor's side of the engine: attach a call to its attempt and, once the call
    has ended, apply its outcome to the lead.

    Correlation: the link the dialer wrote on the call record; failing that (a webhook that beat
    the dialer's write, or a dialer that died after its POST), the call's ``client_state``, which
    only *names* an attempt: it is used only when our own attempt record exists in this tenant,
    belongs to that campaign, is still open and is not linked to another call.
    """

    def __init__(
        self,
        dialing: DialingTable,
        campaigns: CampaignsTable,
        history: ContactHistory,
        clock: Callable[[], datetime],
    ) -> None:
        self.dialing = dialing
        self.campaigns = campaigns
        self.history = history
        self.clock = clock
        self.effects = LeadEffects(dialing, campaigns, clock)

    def after_event(self, tenant_id: str, call: Mapping[str, Any]) -> Settled:
        """Link and settle the call (idempotent: safe on every delivery); returns what it did
        and what it read."""
        call_control_id = str(call.get("call_control_id") or "")
        if call.get("direction") == INBOUND:
            return Settled(self._link_inbound(tenant_id, call_control_id, call))
        if call.get("attempt_n") is not None and (call.get("state") != "ended" or not call.get("outcome")):
            # Linked to its attempt, which only the acceptance does (``mark_accepted``, in one
            # transaction with the attempt's ``accepted``), and not ended: nothing to link or
            # settle, so the attempt is not read. Most of a call's events stop here.
            return Settled()
        attempt, lead_item, campaign = self._attempt_of(tenant_id, call_control_id, call)
        if attempt is None:
            return Settled(campaign=campaign)
        did = None
        if attempt.state in (AttemptState.POSTING, AttemptState.UNCONFIRMED):
            # The webhook beat the dialer's write (or the dialer died after its POST): accept
            # the attempt here, exactly as the dialer would have.
            now = self.clock()
            lead = lead_from_item(lead_item) if lead_item is not None else None
            posted = parse_utc(attempt.posting_at) if attempt.posting_at else now
            contact = (
                self.history.item(
                    tenant_id,
                    lead.lead.phone,
                    posted,
                    call_id=attempt.attempt_id,
                    campaign_id=attempt.campaign_id,
                    lead_id=attempt.lead_id,
                )
                if lead is not None
                else None
            )
            if self.dialing.mark_accepted(
                attempt, call_control_id=call_control_id, now=utc_iso(now), contact=contact
            ):
                did = "linked"
            attempt = self.dialing.get_attempt(tenant_id, attempt.lead_id, attempt.n) or attempt
        effect = self.effects.settle_call(attempt, call, lead_item=lead_item, campaign=campaign) or did
        # An attempt this event found ended and left alone is still as read; any other may have
        # moved (settled, re-settled, another event's settlement raced this one).
        unchanged = effect is None and attempt.state == AttemptState.ENDED
        return Settled(effect, campaign, attempt if unchanged else None)

    def _link_inbound(self, tenant_id: str, call_control_id: str, call: Mapping[str, Any]) -> str | None:
        """An inbound call (someone called one of the tenant's numbers): linked once to the
        caller's lead by the one rule for callers, so its conversation, insights and cost join the
        lead. Nothing else: it is not an attempt of ours, so it uses no retry budget, moves no
        lead and counts in no campaign; a DNC caller was answered (their call) and stays blocked.
        A callback they ask for goes through the callback service like any other."""
        if call.get("caller_checked_at") or not call_control_id:
            return None  # linked (or found to be nobody we know) by an earlier event
        caller = str(call.get("from") or "")
        lead = self.campaigns.caller_lead(tenant_id, caller) if caller.startswith("+") else None
        fields: dict[str, Any] = {"inbound": True, "caller_checked_at": utc_iso(self.clock())}
        if lead is not None:
            fields.update({"lead_id": lead.lead_id, "campaign_id": lead.campaign_id})
        linked = self.dialing.link_inbound(tenant_id, call_control_id, fields)
        return ("linked_inbound" if lead is not None else "inbound_unknown") if linked else None

    def _attempt_of(self, tenant_id: str, call_control_id: str, call: Mapping[str, Any]) -> _Reads:
        """The call's attempt (None when it has none, or none it may act on), with the lead and
        campaign read in the same round trip (the campaign is handed on even then)."""
        if call.get("lead_id") and call.get("attempt_n") is not None:
            campaign_id = str(call["campaign_id"]) if call.get("campaign_id") else None
            attempt, lead_item, campaign = self._read(
                tenant_id, str(call["lead_id"]), int(call["attempt_n"]), campaign_id, call
            )
            if attempt is not None and attempt.call_control_id in (None, call_control_id):
                return attempt, lead_item, campaign
            return None, None, campaign
        claimed = client_state_attempt(call.get("client_state"))
        if claimed is None or claimed[0] != tenant_id:
            return None, None, None
        _, campaign_id, lead_id, n = claimed
        attempt, lead_item, campaign = self._read(tenant_id, lead_id, n, campaign_id, call)
        if attempt is None or attempt.campaign_id != campaign_id:
            return None, None, None  # the client_state names no attempt of ours: nor its campaign
        if attempt.call_control_id not in (None, call_control_id):
            return None, None, None  # another call already holds this attempt: the client_state lies
        if attempt.from_number and call.get("from") and call.get("from") != attempt.from_number:
            return None, None, None
        return attempt, lead_item, campaign

    def _read(
        self, tenant_id: str, lead_id: str, n: int, campaign_id: str | None, call: Mapping[str, Any]
    ) -> tuple[AttemptRecord | None, dict[str, Any] | None, CampaignRecord | None]:
        """The attempt with what acting on it needs, in one strongly consistent round trip: the
        lead (its settlement, or its acceptance's contact history) and, for an ended call (its
        settlement decides by the campaign's status and policy), the campaign. Nothing here is
        cached: each is a guarantee's input, read as fresh as a read of its own."""
        campaign_key = keys.campaign_key(tenant_id, campaign_id) if campaign_id else None
        settling = call.get("state") == "ended" and bool(call.get("outcome"))
        also = [campaign_key] if campaign_key and settling else []
        lead_item, attempt, found = self.dialing.dial_state(tenant_id, lead_id, n, also=also)
        campaign_item = found.get((campaign_key["pk"], campaign_key["sk"])) if campaign_key else None
        return attempt, lead_item, campaign_from_item(campaign_item) if campaign_item else None


def client_state_attempt(value: Any) -> tuple[str, str, str, int] | None:
    """(tenant, campaign, lead, n) named by a dial's ``client_state``, or None."""
    from telnyx_client.client_state import decode_client_state

    doc = decode_client_state(value) if isinstance(value, str) else None
    if not isinstance(doc, dict):
        return None
    try:
        return str(doc["t"]), str(doc["c"]), str(doc["l"]), int(doc["n"])
    except (KeyError, TypeError, ValueError):
        return None

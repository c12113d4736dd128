"""May a lead be dialled now, and if not, why and when? The ONE mapping of stored records onto
the compliance engine's :class:`~dialer.policies.compliance.LeadFacts` and
:class:`~dialer.policies.compliance.CampaignPolicy`; the dialer reuses :func:`lead_facts` and
:func:`decide` at claim time and again right before the dial.

Frequency caps count calls to the *person* (phone number) across campaigns, from the tenant's
contact history (:class:`~dialer.adapters.people_table.ContactHistory`); DNC is the tenant's
internal list at the moment of the check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from dialer import clock as engine_clock
from dialer.adapters.campaigns_table import CampaignRecord, CampaignsTable, LeadRecord
from dialer.adapters.people_table import ContactHistory, DncTable
from dialer.domain.campaigns import compliance_policy
from dialer.domain.compliance_reasons import Reason, ReasonCode
from dialer.domain.instants import in_range
from dialer.errors import NotFound
from dialer.policies.compliance import (
    CAP_PERIOD,
    Decision,
    LeadFacts,
    applicable_rules,
    evaluate,
    next_legal_time,
)
from dialer.services.campaign_models import EligibilityResponse, ReasonDetail

#: Look-back of the contact history: the longest cap looks back one lead-local day or 24 hours.
HISTORY_WINDOW = timedelta(hours=48)

_MESSAGES: dict[ReasonCode, str] = {
    ReasonCode.INVALID_NUMBER: "The phone number is not a valid E.164 number.",
    ReasonCode.UNKNOWN_TIMEZONE: "The lead's time zone is unknown and the campaign has no fallback zone.",
    ReasonCode.DNC: "The number is on the tenant's internal do-not-call list.",
    ReasonCode.NO_CONSENT: "The campaign requires consent and the lead has none in force.",
    ReasonCode.CONSENT_REVOKED: "The lead revoked consent.",
    ReasonCode.CONSENT_INSUFFICIENT: "The lead's consent is not of a type the campaign accepts.",
    ReasonCode.SCRUB_MISSING: "The campaign requires a national-DNC scrub and the lead has none.",
    ReasonCode.SCRUB_STALE: "The lead's national-DNC scrub is older than 31 days.",
    ReasonCode.MAX_ATTEMPTS: "The lead has used the campaign's attempts.",
    ReasonCode.EMERGENCY: "{scope} is under a declared state of emergency that forbids calls.",
    ReasonCode.HOLIDAY: "It is a holiday on which {scope} forbids calls (local date{where}).",
    ReasonCode.SUNDAY: "{scope} forbids calls on Sundays (local date{where}).",
    ReasonCode.OUTSIDE_WINDOW: "Outside the {scope} calling window (local time{where}).",
    ReasonCode.CAP_24H: "The person already had {scope}'s maximum calls in the last 24 hours.",
    ReasonCode.CAP_DAILY: "The person reached the campaign's daily call cap (local day{where}).",
}


@dataclass(frozen=True, slots=True)
class Eligibility:
    """The engine's decision plus when the lead may next be dialled."""

    decision: Decision
    next_window_start: datetime | None
    dnc: bool
    calls_last_24h: int


def lead_facts(record: LeadRecord, *, dnc: bool, recent_calls: tuple[datetime, ...]) -> LeadFacts:
    """The compliance engine's view of a stored lead, with the person's DNC state and calls."""
    lead = record.lead
    return LeadFacts(
        phone=lead.phone,
        zone=lead.zone,
        zones=tuple(c.zone for c in lead.zones),
        address_state=lead.state,
        area_code_state=lead.area_code_state,
        dnc=dnc,
        consent=lead.consent,
        dnc_scrubbed_at=lead.dnc_scrubbed_at,
        attempts=record.attempts,
        recent_calls=recent_calls,
    )


def caps_apply(lead: LeadRecord, campaign: CampaignRecord) -> bool:
    """Whether a frequency cap can refuse this lead (the campaign's daily cap, or a state rule's
    24-hour cap): only then is the person's contact history worth reading."""
    return campaign.config.consent.daily_cap is not None or any(
        rule.cap_24h is not None for rule in applicable_rules(lead.lead.state, lead.lead.area_code_state)
    )


def decide(
    lead: LeadRecord,
    campaign: CampaignRecord,
    at: datetime,
    *,
    dnc: bool,
    recent_calls: tuple[datetime, ...],
    emergencies: frozenset[str] = frozenset(),
    callback: bool = False,
) -> Eligibility:
    """Evaluate a lead of a campaign at ``at``, and find the next legal instant if it is deferred.

    ``callback``: the person asked to be called; that call does not use the retry budget, so the
    campaign's max attempts does not apply (every rule of the law still does)."""
    facts = lead_facts(lead, dnc=dnc, recent_calls=recent_calls)
    policy = compliance_policy(campaign.config)
    if callback:
        policy = replace(policy, max_attempts=None)
    decision = evaluate(facts, policy, at, emergencies=emergencies)
    if decision.eligible:
        upcoming: datetime | None = at
    elif all(Reason.parse(r).deferrable for r in decision.reasons):
        upcoming = next_legal_time(facts, policy, at, emergencies=emergencies)
    else:
        upcoming = None
    calls_24h = sum(1 for t in recent_calls if t >= at - CAP_PERIOD)
    return Eligibility(decision, upcoming, dnc, calls_24h)


def explain(reason: str, zones: tuple[str, ...] = ()) -> ReasonDetail:
    """A reason with its plain-language message; ``zones``: the candidate zones where it blocks."""
    parsed = Reason.parse(reason)
    scope = parsed.scope
    shown = {"federal": "federal", "campaign": "campaign"}.get(scope or "", scope or "")
    where = f" in {', '.join(zones)}" if zones else ""
    return ReasonDetail(
        reason=str(parsed),
        code=parsed.code.value,
        scope=scope,
        deferrable=parsed.deferrable,
        message=_MESSAGES[parsed.code].format(scope=shown, where=where),
        zones=list(zones),
        detail=f"{parsed}@{','.join(zones)}" if zones else str(parsed),
    )


class EligibilityService:
    """Eligibility of a tenant's leads, from the stored records."""

    def __init__(
        self,
        tenant_id: str,
        table: CampaignsTable,
        dnc: DncTable,
        history: ContactHistory,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.table = table
        self.dnc = dnc
        self.history = history
        self._clock = clock or engine_clock.now

    def check(self, lead_id: str, at: datetime | None = None) -> EligibilityResponse:
        """Explain whether the lead may be dialled at ``at`` (default now); an ``at`` outside
        [:data:`EARLIEST_AT`, :data:`LATEST_AT`) is :class:`InvalidInput`."""
        when = in_range(at, ["query", "at"]) if at is not None else self._clock().astimezone(UTC)
        lead = self.table.get_lead(self.tenant_id, lead_id)
        if lead is None:
            raise NotFound(f"lead {lead_id} not found")
        campaign = self.table.get_campaign(self.tenant_id, lead.campaign_id)
        if campaign is None:
            raise NotFound(f"lead {lead_id} not found")
        listed = self.dnc.get(self.tenant_id, lead.lead.phone) is not None
        calls = self.history.recent(self.tenant_id, lead.lead.phone, when - HISTORY_WINDOW)
        result = decide(lead, campaign, when, dnc=listed, recent_calls=calls)
        decision = result.decision
        return EligibilityResponse(
            lead_id=lead.lead_id,
            campaign_id=lead.campaign_id,
            campaign_status=campaign.status,
            eligible=decision.eligible,
            reasons=[str(r) for r in decision.reasons],
            details=[explain(r, decision.where(r)) for r in decision.reasons],
            next_window_start=result.next_window_start,
            zone=decision.zone,
            local_time=decision.local_time,
            zones=list(decision.zones),
            evaluated_at=when,
            dnc=listed,
            calls_last_24h=result.calls_last_24h,
        )

"""After the call: what the AI events on a call record set in motion, applied once.

Run by the event processor after every delivery of a call's event (duplicates included: a crash
between the call record's commit and these effects is repaired by the redelivery), after the
engine has linked and settled the call:

1. **Insights → disposition.** The conclusion the insights reached goes through
   :class:`~dialer.services.dispositions.Dispositions` (the one implementation shared with the
   in-call tool): ``do_not_call`` lists the number and ends its pending leads; then the lead
   effect: ``callback_requested`` schedules a callback through the engine's callback service
   (moved into the legal window), ``appointment_set`` stores the appointment on the lead,
   and a disposition the campaign's map ends leads with (``disposition_effects``: by default
   ``interested``, ``not_interested``, ``appointment_set`` → reached, ``wrong_number`` →
   invalid) ends the lead, overriding a pending retry whichever arrived first. The
   insight marker (its group's run) is stamped on the call after every effect, so a later
   duplicate changes nothing. A call already concluded ``do_not_call`` keeps it: no later
   insight has a lead effect.
2. **Totals.** The campaign's sharded counters are brought in line with the call record
   (:meth:`~dialer.adapters.totals_table.TotalsTable.sync_call`), in the same write as the
   insight marker.
3. **Budget.** A campaign with a budget pauses itself (``budget_reached``) when its spend plus
   the expected cost of its calls in flight reaches the cap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from dialer import clock as engine_clock
from dialer.adapters.calls_table import CallsTable
from dialer.adapters.campaigns_table import CampaignRecord, CampaignsTable
from dialer.adapters.dialing_table import AttemptRecord, DialingTable, TenantLimits
from dialer.adapters.dispositions_table import DispositionsTable
from dialer.adapters.people_table import ContactHistory, DncTable
from dialer.adapters.totals_table import TotalsTable
from dialer.domain.analytics import CONNECTED, COST, budget_reached
from dialer.domain.calls import insight_marker
from dialer.domain.campaigns import CampaignStatus
from dialer.domain.dialing import AttemptState, LeadStatus, disposition_status, utc_iso
from dialer.domain.outcomes import CallOutcome, Disposition
from dialer.errors import Conflict, InvalidInput, NotFound, TemporarilyUnavailable
from dialer.observability import CALL_CONNECTED, CALL_COST, MetricUnit, record_metric
from dialer.services.dialing_api import DialingApi
from dialer.services.dialing_models import CallbackRequest
from dialer.services.dispositions import Dispositions
from dialer.services.lead_effects import LeadEffects, Settled

BUDGET_REACHED = "budget_reached"


class AfterCall:
    """Insight effects, totals and the budget cap for calls of any tenant."""

    def __init__(
        self,
        *,
        table_name: str,
        calls: CallsTable,
        campaigns: CampaignsTable,
        dialing: DialingTable,
        dispositions: DispositionsTable,
        dnc: DncTable,
        history: ContactHistory,
        totals: TotalsTable,
        defaults: TenantLimits,
        clock: Callable[[], datetime] | None = None,
        default_region: str = "US",
    ) -> None:
        self.table_name = table_name
        self.calls = calls
        self.campaigns = campaigns
        self.dialing = dialing
        self.dispositions = dispositions
        self.dnc = dnc
        self.history = history
        self.totals = totals
        self.defaults = defaults
        self.clock = clock or engine_clock.now
        self.default_region = default_region

    def after_event(
        self,
        tenant_id: str,
        call: Mapping[str, Any],
        *,
        counted: Mapping[str, Decimal] | None = None,
        settled: Settled | None = None,
    ) -> list[str]:
        """Apply what is due for this call (idempotent); returns what it did. ``call`` is the
        call as the caller last wrote or read it; nothing here reads it again unless it changes
        it (an insight's disposition), when the write hands the new item back. ``counted``: what
        the event's own commit added to the totals (its metrics and the budget check are due
        here). ``settled``: what the settler read after this event's commit (the campaign, an
        ended attempt it left alone), used instead of reading them again."""
        done: list[str] = []
        call_control_id = str(call.get("call_control_id") or "")
        campaign = settled.campaign if settled is not None else None
        if campaign is not None and campaign.campaign_id != call.get("campaign_id"):
            campaign = None  # read for another campaign than the call names: not this one's
        attempt = settled.attempt if settled is not None else None
        effect, call, marker = self._insights(tenant_id, call, campaign, attempt)
        if effect:
            done.append(effect)
        added = dict(counted or {})
        # The insight marker goes last, with the counters its disposition moved (one write).
        stamp = {"insights_applied": marker} if marker else None
        synced = self.totals.sync_call(tenant_id, call_control_id, known=call, stamp=stamp)
        for name, amount in (synced or {}).items():
            added[name] = added.get(name, Decimal(0)) + amount
        if added:
            done.append("totals")
            _record_call_metrics(tenant_id, call, added)
        spent = bool(added) and COST in (added or {})
        if (
            spent
            and call.get("campaign_id")
            and self.check_budget(tenant_id, str(call["campaign_id"]), campaign=campaign)
        ):
            done.append(BUDGET_REACHED)
        return done

    # --- insights ---------------------------------------------------------------------------------
    def _insights(
        self,
        tenant_id: str,
        call: Mapping[str, Any],
        campaign: CampaignRecord | None,
        attempt: AttemptRecord | None,
    ) -> tuple[str | None, Mapping[str, Any], str | None]:
        """The insights' disposition and its lead effect, once per insight group's run: what it
        did, the call as it left it, and the marker to stamp on the call once everything else is
        written (None: nothing to stamp)."""
        insights = call.get("insights") or {}
        fact = (call.get("facts") or {}).get("insights") or {}
        marker = insight_marker(fact) if fact else ""
        if not insights.get("disposition") or not marker or call.get("insights_applied") == marker:
            return None, call, None
        if call.get("state") != "ended" and not call.get("lead_id"):
            return None, call, None  # not linked yet: the settler's link (or a later event) brings it back
        disposition = Disposition(str(insights["disposition"]))
        call_control_id = str(call["call_control_id"])
        lead_id = str(call["lead_id"]) if call.get("lead_id") else None
        phone = None
        if disposition == Disposition.DO_NOT_CALL:  # the number is needed only to list it
            lead = self.campaigns.get_lead(tenant_id, lead_id) if lead_id else None
            phone = lead.lead.phone if lead is not None else _person_number(call)
        status = None
        lead_fields: dict[str, Any] = {}
        if lead_id and disposition not in (Disposition.CALLBACK_REQUESTED, Disposition.DO_NOT_CALL):
            campaign = self._campaign_of(tenant_id, call, lead_id, campaign)
            status = disposition_status(campaign.config, disposition.value) if campaign else None
            lead_fields = _lead_fields(disposition, insights, status, utc_iso(self.clock()))
        service = Dispositions(
            tenant_id,
            self.dispositions,
            self.dnc,
            self.dialing,
            default_region=self.default_region,
            clock=self.clock,
        )
        result = service.record(
            disposition,
            call_control_id=call_control_id,
            lead_id=lead_id,
            phone=phone,
            note=insights.get("summary"),
            source="insight",
            lead_fields=lead_fields,
        )
        effect = f"disposition_{disposition.value}"
        # The call as the disposition left it (None: it already held do_not_call, which stays).
        stored = result.call or {}
        dnc_holds = stored.get("disposition") == Disposition.DO_NOT_CALL.value
        if lead_id and result.on_call and not dnc_holds:
            if disposition == Disposition.CALLBACK_REQUESTED:
                effect = self._callback(tenant_id, lead_id, insights)
            elif lead_fields and result.lead is not None:
                effect = self._lead_effect(
                    tenant_id, disposition, status, result.lead, stored, campaign, attempt
                )
        # The marker is stamped last (by the caller, with the totals), so that a crash before it
        # leaves the effects to the redelivery.
        return effect, result.call or call, marker

    def _campaign_of(
        self, tenant_id: str, call: Mapping[str, Any], lead_id: str, read: CampaignRecord | None
    ) -> CampaignRecord | None:
        """The call's campaign: as the settler read it after this event's commit, else read."""
        if read is not None:
            return read
        campaign_id = call.get("campaign_id")
        if not campaign_id:  # linked by an older writer without it: the lead names its campaign
            lead = self.campaigns.get_lead(tenant_id, lead_id)
            campaign_id = lead.campaign_id if lead else None
        return self.campaigns.get_campaign(tenant_id, str(campaign_id)) if campaign_id else None

    def _lead_effect(
        self,
        tenant_id: str,
        disposition: Disposition,
        status: LeadStatus | None,
        item: Mapping[str, Any],
        call: Mapping[str, Any],
        campaign: CampaignRecord | None,
        attempt: AttemptRecord | None,
    ) -> str:
        """What the stored ``result`` does to the lead (``item``: as its write left it)."""
        if status is None:
            return "appointment_stored"
        lead_id = str(item["lead_id"])
        now = utc_iso(self.clock())
        settled = self._settled_attempt(tenant_id, lead_id, item, call, attempt)
        if settled is not None:
            effects = LeadEffects(self.dialing, self.campaigns, self.clock)
            outcome = CallOutcome(str(settled.outcome))
            effects.resettle(
                settled,
                outcome,
                ended_at=_instant(str(call.get("ended_at") or "")),
                lead_item=item,
                campaign=campaign,
            )
        elif item.get("status") == LeadStatus.PENDING.value and item.get("due_sk"):
            ended = self.dialing.end_pending(
                tenant_id, item, status=status, reasons=[f"disposition_{disposition.value}"], now=now
            )
            if not ended:
                # The lead moved between the read and the write (claimed, re-settled): the
                # redelivery decides again, so the disposition still wins.
                raise TemporarilyUnavailable("the lead changed while its disposition was ending it")
        return f"lead_{disposition.value}"

    def _settled_attempt(
        self,
        tenant_id: str,
        lead_id: str,
        item: Mapping[str, Any] | None,
        call: Mapping[str, Any],
        read: AttemptRecord | None = None,
    ) -> AttemptRecord | None:
        """The lead's current attempt, when it is this call's and already settled (``read``: as
        the settler found it ended and left it, else read here)."""
        n = (item or {}).get("current_attempt")
        if n is None or call.get("attempt_n") is None or int(n) != int(call["attempt_n"]):
            return None
        same = read is not None and read.lead_id == lead_id and read.n == int(n)
        attempt = read if same else self.dialing.get_attempt(tenant_id, lead_id, int(n))
        if attempt is None or attempt.call_control_id != call.get("call_control_id"):
            return None
        return attempt if attempt.state == AttemptState.ENDED and attempt.outcome else None

    def _callback(self, tenant_id: str, lead_id: str, insights: Mapping[str, str]) -> str:
        at = _instant(insights.get("callback_at"))
        if at is None:
            return "callback_time_unknown"
        api = DialingApi(
            tenant_id,
            campaigns=self.campaigns,
            dialing=self.dialing,
            calls=self.calls,
            dnc=self.dnc,
            history=self.history,
            defaults=self.defaults,
            clock=self.clock,
        )
        try:
            scheduled = api.callback(
                lead_id, CallbackRequest(at=at, note=(insights.get("summary") or "")[:500] or None)
            )
        except (InvalidInput, Conflict, NotFound) as exc:
            return f"callback_refused: {exc}"
        return f"callback_{scheduled.applies}"

    # --- budget -----------------------------------------------------------------------------------
    def check_budget(
        self, tenant_id: str, campaign_id: str, *, campaign: CampaignRecord | None = None
    ) -> bool:
        """Pause the campaign (``budget_reached``) if its budget is reached; True if it did.
        ``campaign``: as read after the cost's commit (the settler's read), else read here."""
        if campaign is None or campaign.campaign_id != campaign_id:
            campaign = self.campaigns.get_campaign(tenant_id, campaign_id)
        if campaign is None or campaign.config.budget is None or campaign.status != CampaignStatus.ACTIVE:
            return False
        totals = self.totals.campaign_totals(tenant_id, campaign_id)
        in_flight = self.dialing.campaign_stats(tenant_id, campaign_id).get("st_dialing", 0)
        cap = Decimal(str(campaign.config.budget.max_cost))
        if not budget_reached(cap, totals, in_flight):
            return False
        return self.campaigns.pause_for(
            tenant_id, campaign_id, reason=BUDGET_REACHED, at=utc_iso(self.clock())
        )


def _record_call_metrics(tenant_id: str, call: Mapping[str, Any], added: Mapping[str, Decimal]) -> None:
    """Connects and cost as the totals counted them: once per call (the totals' delta), so a
    redelivered event or a later cost correction is not counted twice."""
    campaign_id = str(call.get("campaign_id") or "") or None
    if added.get(CONNECTED):
        record_metric(
            CALL_CONNECTED, 1, tenant_id=tenant_id, campaign_id=campaign_id, outcome=call.get("outcome")
        )
    if added.get(COST):
        record_metric(
            CALL_COST,
            float(added[COST]),
            unit=MetricUnit.NoUnit,
            tenant_id=tenant_id,
            campaign_id=campaign_id,
            currency=str(call.get("cost_currency") or "") or None,
        )


def _lead_fields(
    disposition: Disposition, insights: Mapping[str, Any], status: LeadStatus | None, now: str
) -> dict[str, Any]:
    """What a conclusion stores on the lead besides its last disposition: the ``result`` when the
    campaign's map ends leads with it (a call still settling, or a retry already dialled, ends
    the lead with it when it settles: lead_effects; a lead this call's attempt already settled
    is decided again with it), the appointment's time. Nothing for the others (e.g.
    voicemail_left, other: the outcome's retry policy decides)."""
    fields: dict[str, Any] = {}
    if disposition == Disposition.APPOINTMENT_SET:
        fields["appointment_at"] = insights.get("appointment_at") or "unspecified"
    if status is not None:
        fields["result"] = disposition.value
    return {**fields, "updated_at": now} if fields else {}


def _person_number(call: Mapping[str, Any]) -> str | None:
    """The other party's number: the callee of an outbound call, the caller of an inbound one."""
    inbound = call.get("direction") in ("incoming", "inbound")
    value = call.get("from") if inbound else call.get("to")
    return str(value) if value else None


def _instant(value: str | None) -> datetime | None:
    """An insight's callback time (ISO 8601, with or without an offset: without, lead-local)."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None

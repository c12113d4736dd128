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
   insight event id is stamped on the call afterwards, so a later duplicate changes nothing.
   A call already concluded ``do_not_call`` keeps it: no later insight has a lead effect.
2. **Totals.** The campaign's sharded counters are brought in line with the call record
   (:meth:`~dialer.adapters.totals_table.TotalsTable.sync_call`).
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
from dialer.adapters.campaigns_table import CampaignsTable
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
from dialer.services.lead_effects import LeadEffects

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
        self, tenant_id: str, call: Mapping[str, Any], *, counted: Mapping[str, Decimal] | None = None
    ) -> list[str]:
        """Apply what is due for this call (idempotent); returns what it did. ``call`` is the
        call as the caller last wrote or read it; nothing here reads it again unless it changes
        it (an insight's disposition), when the write hands the new item back. ``counted``: what
        the event's own commit added to the totals (its metrics and the budget check are due
        here)."""
        done: list[str] = []
        call_control_id = str(call.get("call_control_id") or "")
        effect, call = self._insights(tenant_id, call)
        if effect:
            done.append(effect)
        added = dict(counted or {})
        for name, amount in (self.totals.sync_call(tenant_id, call_control_id, known=call) or {}).items():
            added[name] = added.get(name, Decimal(0)) + amount
        if added:
            done.append("totals")
            _record_call_metrics(tenant_id, call, added)
        spent = bool(added) and COST in (added or {})
        if spent and call.get("campaign_id") and self.check_budget(tenant_id, str(call["campaign_id"])):
            done.append(BUDGET_REACHED)
        return done

    # --- insights ---------------------------------------------------------------------------------
    def apply_insights(self, tenant_id: str, call: Mapping[str, Any]) -> str | None:
        """The insights' disposition and its lead effect, once per insight event."""
        return self._insights(tenant_id, call)[0]

    def _insights(self, tenant_id: str, call: Mapping[str, Any]) -> tuple[str | None, Mapping[str, Any]]:
        """:meth:`apply_insights`, and the call as it left it."""
        insights = call.get("insights") or {}
        fact = (call.get("facts") or {}).get("insights") or {}
        marker = insight_marker(fact) if fact else ""
        if not insights.get("disposition") or not marker or call.get("insights_applied") == marker:
            return None, call
        if call.get("state") != "ended" and not call.get("lead_id"):
            return None, call  # not linked yet: the settler's link (or a later event) brings it back
        disposition = Disposition(str(insights["disposition"]))
        call_control_id = str(call["call_control_id"])
        lead_id = str(call["lead_id"]) if call.get("lead_id") else None
        phone = None
        if disposition == Disposition.DO_NOT_CALL:  # the number is needed only to list it
            lead = self.campaigns.get_lead(tenant_id, lead_id) if lead_id else None
            phone = lead.lead.phone if lead is not None else _person_number(call)
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
        )
        effect = f"disposition_{disposition.value}"
        # The call as the disposition left it (None: it already held do_not_call, which stays).
        stored = result.call or {}
        dnc_holds = stored.get("disposition") == Disposition.DO_NOT_CALL.value
        if lead_id and result.on_call and not dnc_holds:
            effect = self._lead_effect(tenant_id, lead_id, disposition, insights, stored) or effect
        # Last, so that a crash before it leaves the effects to the redelivery.
        marked = self.dispositions.record_on_call(tenant_id, call_control_id, {"insights_applied": marker})
        return effect, marked or call

    def _lead_effect(
        self,
        tenant_id: str,
        lead_id: str,
        disposition: Disposition,
        insights: Mapping[str, str],
        call: Mapping[str, Any],
    ) -> str | None:
        now = utc_iso(self.clock())
        if disposition == Disposition.CALLBACK_REQUESTED:
            return self._callback(tenant_id, lead_id, insights)
        campaign_id = call.get("campaign_id")
        if not campaign_id:  # linked by an older writer without it: the lead names its campaign
            lead = self.campaigns.get_lead(tenant_id, lead_id)
            campaign_id = lead.campaign_id if lead else None
        campaign = self.campaigns.get_campaign(tenant_id, str(campaign_id)) if campaign_id else None
        status = disposition_status(campaign.config, disposition.value) if campaign else None
        fields: dict[str, Any] = {"updated_at": now}
        if disposition == Disposition.APPOINTMENT_SET:
            fields["appointment_at"] = insights.get("appointment_at") or "unspecified"
        if status is not None:
            # The result is kept on the lead: a call still settling (or a retry already dialled)
            # ends the lead with it when it settles (lead_effects); a lead this call's attempt
            # already settled is decided again with it (the same rule, so the order of the
            # insight and the call's other facts does not matter); any other pending lead is
            # ended here.
            fields["result"] = disposition.value
        elif disposition != Disposition.APPOINTMENT_SET:
            return None  # e.g. voicemail_left, other: the outcome's retry policy decides
        item = self.dispositions.record_on_lead(tenant_id, lead_id, fields)
        if status is None:
            return "appointment_stored"
        attempt = self._settled_attempt(tenant_id, lead_id, item, call)
        if attempt is not None:
            effects = LeadEffects(self.dialing, self.campaigns, self.clock)
            outcome = CallOutcome(str(attempt.outcome))
            effects.resettle(
                attempt,
                outcome,
                ended_at=_instant(str(call.get("ended_at") or "")),
                lead_item=item,
                campaign=campaign,
            )
        elif item and item.get("status") == LeadStatus.PENDING.value and item.get("due_sk"):
            ended = self.dialing.end_pending(
                tenant_id, item, status=status, reasons=[f"disposition_{disposition.value}"], now=now
            )
            if not ended:
                # The lead moved between the read and the write (claimed, re-settled): the
                # redelivery decides again, so the disposition still wins.
                raise TemporarilyUnavailable("the lead changed while its disposition was ending it")
        return f"lead_{disposition.value}"

    def _settled_attempt(
        self, tenant_id: str, lead_id: str, item: Mapping[str, Any] | None, call: Mapping[str, Any]
    ) -> AttemptRecord | None:
        """The lead's current attempt, when it is this call's and already settled."""
        n = (item or {}).get("current_attempt")
        if n is None or call.get("attempt_n") is None or int(n) != int(call["attempt_n"]):
            return None
        attempt = self.dialing.get_attempt(tenant_id, lead_id, int(n))
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
    def check_budget(self, tenant_id: str, campaign_id: str) -> bool:
        """Pause the campaign (``budget_reached``) if its budget is reached; True if it did."""
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


def _lead_key(tenant_id: str, lead_id: str) -> dict[str, str]:
    from dialer import keys

    return keys.lead_key(tenant_id, lead_id)

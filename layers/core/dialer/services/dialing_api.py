"""The engine's management routes for one tenant: callbacks, campaign progress, a lead's attempts,
and what a campaign's status change sets in motion (a dispatcher kick, a cancel sweep)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from dialer import clock as engine_clock
from dialer import keys
from dialer.adapters import outbox_events
from dialer.adapters.calls_table import CallsTable
from dialer.adapters.campaigns_table import CampaignsTable, lead_from_item
from dialer.adapters.dialing_table import DialingTable, TenantLimits
from dialer.adapters.people_table import ContactHistory, DncTable
from dialer.adapters.table_ops import update_operation
from dialer.domain.campaigns import OPEN_STATUSES, CampaignStatus, compliance_policy
from dialer.domain.dialing import LeadStatus, leads_by_state, shard_of, utc_iso
from dialer.domain.instants import in_range, localize, zone_info
from dialer.errors import Conflict, InvalidInput, NotFound
from dialer.policies.compliance import evaluate, next_legal_time
from dialer.services.dialing_models import (
    AttemptView,
    CallbackRequest,
    CallbackResponse,
    LeadDetailResponse,
    ProgressResponse,
)
from dialer.services.eligibility import HISTORY_WINDOW, lead_facts
from dialer.services.leads import lead_view

#: Statuses a callback may reopen (the person asked to be called again).
_REOPENABLE = frozenset({LeadStatus.PENDING, LeadStatus.REACHED, LeadStatus.EXHAUSTED})
_PAST_TOLERANCE = timedelta(minutes=1)
#: Decisions a callback makes before it gives up on a lead that keeps moving under it (a call
#: settling is one move; more is a lead being worked on elsewhere at that very moment).
CALLBACK_TRIES = 3


class Notifier(Protocol):
    """The dispatch queue."""

    def send(self, body: str, *, delay_seconds: int = 0) -> object:
        """Queue one message."""
        ...


class DialingApi:
    """Callbacks, progress, lead history and status-change side effects for one tenant."""

    def __init__(
        self,
        tenant_id: str,
        *,
        campaigns: CampaignsTable,
        dialing: DialingTable,
        calls: CallsTable,
        dnc: DncTable,
        history: ContactHistory,
        defaults: TenantLimits,
        notifier: Notifier | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.campaigns = campaigns
        self.dialing = dialing
        self.calls = calls
        self.dnc = dnc
        self.history = history
        self.defaults = defaults
        self.notifier = notifier
        self.clock = clock or engine_clock.now

    # --- status changes -------------------------------------------------------------------------
    def campaign_moved(self, campaign_id: str, status: CampaignStatus) -> None:
        """Activation/resume: dial within seconds, not at the next minute. Cancel: end its
        pending leads in a resumable background sweep."""
        from dialer.services.dispatcher import cancel_sweep_message, kick_message

        if self.notifier is None:
            return
        if status == CampaignStatus.ACTIVE:
            self.notifier.send(kick_message(self.tenant_id, campaign_id, "active"))
        elif status == CampaignStatus.CANCELED:
            self.notifier.send(cancel_sweep_message(self.tenant_id, campaign_id))

    # --- callbacks ------------------------------------------------------------------------------
    def callback(self, lead_id: str, request: CallbackRequest) -> CallbackResponse:
        """Schedule a call back at ``request.at``, or at the next legal instant after it.

        Decided again when the lead moved between the read and the booking: a callback asked
        for on a call (the in-call tool) often lands as that call settles, and the lead it then
        finds (reached, or pending a retry) takes the callback as any other would."""
        for _ in range(CALLBACK_TRIES):
            answer = self._callback(lead_id, request)
            if answer is not None:
                return answer
        raise Conflict("the lead kept changing meanwhile; try again")

    def _callback(self, lead_id: str, request: CallbackRequest) -> CallbackResponse | None:
        """One decision and booking; None when the lead moved before the booking was written."""
        lead = self.campaigns.get_lead(self.tenant_id, lead_id)
        if lead is None:
            raise NotFound(f"lead {lead_id} not found")
        campaign = self.campaigns.get_campaign(self.tenant_id, lead.campaign_id)
        if campaign is None:
            raise NotFound(f"lead {lead_id} not found")
        # A draft or paused campaign keeps the callback and dials it once active; a finished one
        # makes no more calls.
        if campaign.status not in OPEN_STATUSES:
            raise Conflict(f"the campaign is {campaign.status.value}: no more calls")
        status = LeadStatus(lead.status)
        if status not in _REOPENABLE and status != LeadStatus.DIALING:
            raise Conflict(f"the lead is {status.value}: it cannot be called back")
        zone = lead.lead.zone or campaign.config.window.fallback_zone
        now = self.clock()
        requested = lead_instant(request.at, zone, now, what="the callback time")
        listed = self.dnc.get(self.tenant_id, lead.lead.phone) is not None
        calls = self.history.recent(self.tenant_id, lead.lead.phone, requested - HISTORY_WINDOW)
        facts = lead_facts(lead, dnc=listed, recent_calls=calls)
        # A callback does not use the retry budget: the attempts cap is not the law.
        policy = replace(compliance_policy(campaign.config), max_attempts=None)
        decision = evaluate(facts, policy, requested)
        legal = requested if decision.eligible else next_legal_time(facts, policy, requested)
        if legal is None:
            raise Conflict(
                "the lead cannot be called at or after that time: "
                + ", ".join(str(r) for r in decision.reasons)
            )
        at = utc_iso(legal)
        event = outbox_events.lead_callback_scheduled(
            self.tenant_id,
            lead_id=lead_id,
            campaign_id=campaign.campaign_id,
            callback_at=at,
            requested_at=utc_iso(requested),
            applies="after_call" if status == LeadStatus.DIALING else "now",
            at=utc_iso(now),
        )
        applies = self._schedule(lead_id, status, campaign.campaign_id, at, request.note, now, event)
        if applies is None:
            return None
        return CallbackResponse(
            lead_id=lead_id,
            requested_at=requested,
            scheduled_at=legal,
            adjusted=legal != requested,
            reasons=[] if decision.eligible else [str(r) for r in decision.reasons],
            zone=zone,
            applies=applies,
        )

    def _schedule(
        self,
        lead_id: str,
        status: LeadStatus,
        campaign_id: str,
        at: str,
        note: str | None,
        now: datetime,
        event: dict[str, Any],
    ) -> str | None:
        """Book the callback and its ``lead.callback_scheduled`` in one transaction. Only a change
        of the callback time writes: the same time again (a retried tool call, a redelivered
        insight) finds it booked and writes nothing, so it reports nothing twice. None: the lead
        moved between the read and this write (nothing written)."""
        # An empty note is no note: else the update below would both SET and REMOVE callback_note,
        # which DynamoDB refuses every time.
        note = note or None
        key = keys.lead_key(self.tenant_id, lead_id)
        new_time = {"names": {"#cb": "callback_at"}, "values": {":at": at}}
        if status == LeadStatus.DIALING:
            # Applied when the call in progress ends (dialer.services.lead_effects).
            update = update_operation(
                key,
                set_fields={
                    k: v
                    for k, v in {"callback_at": at, "callback_note": note, "updated_at": utc_iso(now)}.items()
                    if v is not None
                },
                condition="#st = :dialing AND (attribute_not_exists(#cb) OR #cb <> :at)",
                names={"#st": "status", **new_time["names"]},
                values={":dialing": LeadStatus.DIALING.value, **new_time["values"]},
            )
            if not self.campaigns.ops.transact([update, event]):
                return self._booked(lead_id, at)
            return "after_call"
        due = keys.due_index(self.tenant_id, campaign_id, shard_of(lead_id), 0, at, lead_id)
        fields = {
            "status": LeadStatus.PENDING.value,
            "due_pk": due["due_pk"],
            "due_sk": due["due_sk"],
            "next_attempt_at": at,
            "callback_at": at,
            "callback_note": note,
            "updated_at": utc_iso(now),
        }
        fields = {k: v for k, v in fields.items() if v is not None}
        # A pending lead already booked for this time is the same callback again; a lead this
        # reopens (reached, exhausted) changes whatever time it holds.
        same_time = status == LeadStatus.PENDING
        ops: list[dict[str, Any]] = [
            {
                "Update": {
                    "Key": key,
                    "UpdateExpression": "SET "
                    + ", ".join(f"#f{i} = :f{i}" for i in range(len(fields)))
                    + ("" if note else " REMOVE callback_note"),
                    "ConditionExpression": "#f0 = :seen"
                    + (" AND (attribute_not_exists(#cb) OR #cb <> :at)" if same_time else ""),
                    "ExpressionAttributeNames": {f"#f{i}": k for i, k in enumerate(fields)}
                    | (new_time["names"] if same_time else {}),
                    "ExpressionAttributeValues": {f":f{i}": v for i, v in enumerate(fields.values())}
                    | {":seen": status.value}
                    | (new_time["values"] if same_time else {}),
                }
            },
            event,
        ]
        if status != LeadStatus.PENDING:
            ops.append(
                {
                    "Update": {
                        "Key": keys.campaign_stats_key(self.tenant_id, campaign_id, shard_of(lead_id)),
                        "UpdateExpression": "ADD #c :minus",
                        "ExpressionAttributeNames": {"#c": f"st_{status.value}"},
                        "ExpressionAttributeValues": {":minus": -1},
                    }
                }
            )
        if not self.campaigns.ops.transact(ops):
            return self._booked(lead_id, at)
        return "now"

    def _booked(self, lead_id: str, at: str) -> str | None:
        """After a refused booking: the same callback already booked (answered as done, nothing
        written), else None (the lead moved between the read and the write: decide again)."""
        lead = self.campaigns.get_lead(self.tenant_id, lead_id)
        booked = (LeadStatus.PENDING.value, LeadStatus.DIALING.value)
        if lead is None or lead.callback_at != at or lead.status not in booked:
            return None
        return "after_call" if lead.status == LeadStatus.DIALING.value else "now"

    # --- progress -------------------------------------------------------------------------------
    def progress(self, campaign_id: str) -> ProgressResponse:
        """Leads by state, in flight, due now, deferrals by reason, dial rate and slots."""
        campaign = self.campaigns.get_campaign(self.tenant_id, campaign_id)
        if campaign is None:
            raise NotFound(f"campaign {campaign_id} not found")
        now = self.clock()
        minutes = [(now - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M"), now.strftime("%Y-%m-%dT%H:%M")]
        counters = self.dialing.progress_counters(self.tenant_id, campaign_id, minutes, self.defaults)
        stats, limits = counters.stats, counters.limits
        past_share = 1 - now.second / 60
        last_minute = round(counters.pace.get(minutes[1], 0) + counters.pace.get(minutes[0], 0) * past_share)
        # The due index is read only while the campaign can dial again (not once it is done).
        due_now, next_due_at = (
            self.dialing.due_summary(self.tenant_id, campaign_id, utc_iso(now))
            if campaign.status in (CampaignStatus.ACTIVE, CampaignStatus.PAUSED)
            else (0, None)
        )
        return ProgressResponse(
            campaign_id=campaign_id,
            status=campaign.status.value,
            lead_count=campaign.lead_count,
            leads_by_state=leads_by_state(stats, campaign.lead_count),
            in_flight=max(0, stats.get("st_dialing", 0)),
            due_now=due_now,
            deferred_by_reason={k[4:]: v for k, v in sorted(stats.items()) if k.startswith("def_") and v > 0},
            outcomes={k[4:]: v for k, v in sorted(stats.items()) if k.startswith("out_") and v > 0},
            dials_total=stats.get("dials", 0),
            dials_last_minute=last_minute,
            dial_limit_per_minute=min(limits.dials_per_second * 60, limits.dials_per_5s * 12),
            slots_in_use=counters.slots_in_use,
            slot_limit=limits.channel_limit,
            evaluated_at=utc_iso(now),
            next_due_at=next_due_at,
        )

    # --- a lead and its attempts ----------------------------------------------------------------
    def lead_detail(self, lead_id: str) -> LeadDetailResponse:
        """The lead, why it waits, and its attempts with their calls and outcomes (one Query for
        the lead and its attempts, one read per call)."""
        item, attempts = self.dialing.lead_with_attempts(self.tenant_id, lead_id)
        if item is None:
            raise NotFound(f"lead {lead_id} not found")
        view = lead_view(lead_from_item(item))
        history = []
        for attempt in attempts:
            call = (
                self.calls.get_call_item(self.tenant_id, attempt.call_control_id)
                if attempt.call_control_id
                else None
            )
            history.append(
                AttemptView(
                    n=attempt.n,
                    state=attempt.state.value,
                    callback=attempt.callback,
                    claimed_at=attempt.claimed_at,
                    posting_at=attempt.posting_at,
                    accepted_at=attempt.accepted_at,
                    ended_at=attempt.ended_at,
                    call_control_id=attempt.call_control_id,
                    outcome=attempt.outcome or (call or {}).get("outcome"),
                    assistant_id=attempt.assistant_id,
                    caller_id_id=attempt.caller_id_id,
                    method=attempt.method,
                    reason=attempt.reason,
                    call_state=(call or {}).get("state"),
                    duration_s=(call or {}).get("duration_s"),
                )
            )
        return LeadDetailResponse(
            **view.model_dump(),
            last_reasons=list(item.get("last_reasons") or []),
            callback_at=item.get("callback_at"),
            history=history,
        )


def lead_instant(at: datetime, zone: str | None, now: datetime, *, what: str) -> datetime:
    """A requested time as a UTC instant: lead-local (``zone``) unless it carries an offset; not in
    the past (a minute of tolerance, then "now"). InvalidInput names the ``at`` field otherwise."""
    if at.tzinfo is None:
        tz = zone_info(zone) if zone else None
        if tz is None:
            raise InvalidInput(
                "the lead's time zone is unknown: give the time with an offset",
                [
                    {
                        "loc": ["body", "at"],
                        "msg": "needs an offset (the lead has no zone)",
                        "type": "value_error",
                    }
                ],
            )
        when = localize(at, tz, ["body", "at"])
    else:
        when = in_range(at, ["body", "at"])
    if when < now - _PAST_TOLERANCE:
        raise InvalidInput(
            f"{what} is in the past",
            [{"loc": ["body", "at"], "msg": "must not be in the past", "type": "value_error"}],
        )
    return max(when, now)

"""Telnyx scheduled events for a lead, gated by the same compliance rules the dialer applies.

``POST /leads/{id}/scheduled-calls`` and ``…/scheduled-texts`` create a scheduled event on the
lead's campaign assistant (``POST /ai/assistants/{id}/scheduled_events``, WIRE §4) from one of the
campaign's caller IDs, only when the instant is inside the lead's legal window, the number is not
on the DNC list and consent allows (the compliance engine's :func:`evaluate`, with the callback
policy: a scheduled contact is not a retry, so the attempts cap does not apply; every rule of the
law does). A refusal names the reason codes and creates nothing: 422 when only time is wrong
(with the next legal instant), 409 when the lead may not be contacted at all.

Every event we create gets a record beside its lead; listing and canceling read our records, and
a DNC add or a consent revocation cancels the number's (or the lead's) pending events on Telnyx
through those records, never by listing Telnyx. A cancellation Telnyx did not confirm leaves the
record pending and raises, so the caller's retry (the API client, Telnyx retrying a tool call)
finishes it: the DNC entry itself is already durable and idempotent.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING

from dialer.adapters.campaigns_table import CampaignRecord, CampaignsTable, LeadRecord
from dialer.adapters.management_table import ManagementTable
from dialer.adapters.people_table import ContactHistory, DncTable
from dialer.adapters.scheduled_events_table import (
    SCHEDULED,
    ScheduledEventRecord,
    ScheduledEventsTable,
)
from dialer.domain.campaigns import OPEN_STATUSES, compliance_policy
from dialer.domain.dialing import CallerIdOption, choose_caller_id, choose_variant, parse_utc, utc_iso
from dialer.domain.variables import LEAD_FIELDS, CallbackContext, dynamic_variables
from dialer.errors import Conflict, InvalidInput, NotCallable, NotFound, UpstreamFailed
from dialer.observability import get_logger
from dialer.policies.compliance import evaluate, next_legal_time
from dialer.services.dialing_api import lead_instant
from dialer.services.eligibility import HISTORY_WINDOW, lead_facts
from dialer.services.scheduled_event_models import (
    Channel,
    ScheduledCallRequest,
    ScheduledEventListResponse,
    ScheduledEventResponse,
    ScheduledTextRequest,
)
from dialer.services.telnyx_accounts import TelnyxAccounts, telnyx_errors

if TYPE_CHECKING:
    from telnyx_client.client import TelnyxClient

logger = get_logger()
MAX_AHEAD = timedelta(days=90)
# A reconcile after an ambiguous create looks for our reference at exactly this instant.
_RECONCILE_SLACK = timedelta(seconds=1)


class ScheduledEvents:
    """Scheduled calls and texts of one tenant's leads."""

    def __init__(
        self,
        tenant_id: str,
        *,
        table: ScheduledEventsTable,
        campaigns: CampaignsTable,
        management: ManagementTable,
        dnc: DncTable,
        history: ContactHistory,
        telnyx: Callable[[], TelnyxClient],
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.table = table
        self.campaigns = campaigns
        self.management = management
        self.dnc = dnc
        self.history = history
        self._telnyx = telnyx
        if clock is None:
            from dialer import clock as engine_clock

            clock = engine_clock.now  # the compliance clock the dialer uses
        self.clock = clock

    # --- create ----------------------------------------------------------------------------------
    def schedule_call(self, lead_id: str, request: ScheduledCallRequest) -> ScheduledEventResponse:
        """A Telnyx scheduled phone call with the campaign's assistant, if it is legal then."""
        return self._schedule(lead_id, "phone_call", request.at, note=request.note, text=None)

    def schedule_text(self, lead_id: str, request: ScheduledTextRequest) -> ScheduledEventResponse:
        """A Telnyx scheduled SMS, if contacting the lead is legal then."""
        return self._schedule(lead_id, "sms_chat", request.at, note=None, text=request.text)

    def _schedule(
        self, lead_id: str, channel: Channel, at: datetime, *, note: str | None, text: str | None
    ) -> ScheduledEventResponse:
        lead, campaign = self._lead(lead_id)
        if campaign.status not in OPEN_STATUSES:
            raise Conflict(f"the campaign is {campaign.status.value}: no more contacts")
        zone = lead.lead.zone or campaign.config.window.fallback_zone
        when = self._instant(at, zone)
        self._check_legal(lead, campaign, when)
        assistant_id = choose_variant(campaign.config, lead.lead_id)
        if assistant_id is None:
            raise Conflict("the campaign has no assistant")
        from_number = self._caller_id(campaign, lead)
        reference = f"sev_{secrets.token_hex(8)}"
        variables = self._variables(lead, campaign, when, note)
        body = {
            "telnyx_conversation_channel": channel,
            "telnyx_end_user_target": lead.lead.phone,
            "telnyx_agent_target": from_number,
            "scheduled_at_fixed_datetime": when,
            "dynamic_variables": variables,
            # Joins the event's conversation to the lead, as the init webhook's metadata does.
            "conversation_metadata": {
                "tenant_id": self.tenant_id,
                "campaign_id": campaign.campaign_id,
                "lead_id": lead.lead_id,
                "scheduled_ref": reference,
            },
        }
        if text is not None:
            body["text"] = text
        event_id = self._create(assistant_id, body, when, reference)
        record = ScheduledEventRecord(
            tenant_id=self.tenant_id,
            lead_id=lead.lead_id,
            event_id=event_id,
            campaign_id=campaign.campaign_id,
            assistant_id=assistant_id,
            channel=channel,
            phone=lead.lead.phone,
            from_number=from_number,
            scheduled_at=utc_iso(when),
            created_at=utc_iso(self.clock()),
            text=text,
        )
        try:
            self.table.put(record)
        except Exception:
            # Without our record no DNC add could find it: take it back at Telnyx, then fail.
            self._take_back(assistant_id, event_id)
            raise
        return _view(record, zone)

    def _take_back(self, assistant_id: str, event_id: str) -> None:
        from telnyx_client.errors import TelnyxError

        try:
            self._telnyx().assistants.scheduled_events.delete(assistant_id, event_id)
        except TelnyxError:
            logger.error("scheduled event left at Telnyx without our record", event_id=event_id)

    def _create(self, assistant_id: str, body: dict[str, object], when: datetime, reference: str) -> str:
        """Create at Telnyx (never retried: it would schedule twice). If the answer is lost, the
        event may exist: look for our reference at that instant before giving up."""
        from telnyx_client.errors import TelnyxError, TelnyxTransportError
        from telnyx_client.models.scheduled_events import CreateScheduledEventRequest

        request = CreateScheduledEventRequest.model_validate(body)
        client = self._telnyx()
        with telnyx_errors("scheduled event"):
            try:
                created = client.assistants.scheduled_events.create(assistant_id, request)
            except TelnyxError as exc:
                ambiguous = isinstance(exc, TelnyxTransportError) or (exc.status or 0) >= 500
                found = self._find_created(client, assistant_id, when, reference) if ambiguous else None
                if found is None:
                    raise
                return found
        if not created.scheduled_event_id:
            raise UpstreamFailed("Telnyx created a scheduled event without an id")
        return created.scheduled_event_id

    def _find_created(
        self, client: TelnyxClient, assistant_id: str, when: datetime, reference: str
    ) -> str | None:
        try:
            for event in client.assistants.scheduled_events.iter_all(
                assistant_id, from_date=when - _RECONCILE_SLACK, to_date=when + _RECONCILE_SLACK
            ):
                if (event.conversation_metadata or {}).get("scheduled_ref") == reference:
                    return event.scheduled_event_id
        except Exception:  # noqa: BLE001 - the create's own error is the one to report
            return None
        return None

    # --- read and cancel -------------------------------------------------------------------------
    def of_lead(self, lead_id: str) -> ScheduledEventListResponse:
        """The lead's scheduled events (ours), newest first."""
        lead, campaign = self._lead(lead_id)
        zone = lead.lead.zone or campaign.config.window.fallback_zone
        records = sorted(
            self.table.of_lead(self.tenant_id, lead_id), key=lambda r: r.created_at, reverse=True
        )
        return ScheduledEventListResponse(data=[_view(r, zone) for r in records])

    def cancel(self, lead_id: str, event_id: str) -> None:
        """Cancel one event on Telnyx and here (idempotent: a canceled one stays canceled)."""
        record = self.table.get(self.tenant_id, lead_id, event_id)
        if record is None:
            raise NotFound(f"scheduled event {event_id} not found")
        if record.status == SCHEDULED:
            self._cancel([record], reason="api")

    def cancel_for_numbers(self, phones: Iterable[str], *, reason: str) -> int:
        """Cancel every pending event of these numbers (a DNC add); returns how many."""
        horizon = self.table.horizon(self.tenant_id)
        if horizon is None or parse_utc(horizon) < self.clock() - timedelta(hours=1):
            return 0  # nothing of this tenant can still be pending
        records = [r for phone in phones for r in self.table.pending_of_number(self.tenant_id, phone)]
        return self._cancel(records, reason=reason)

    def cancel_for_lead(self, lead_id: str, *, reason: str) -> int:
        """Cancel the lead's pending events (its consent was revoked); returns how many."""
        records = [r for r in self.table.of_lead(self.tenant_id, lead_id) if r.status == SCHEDULED]
        return self._cancel(records, reason=reason)

    def _cancel(self, records: list[ScheduledEventRecord], *, reason: str) -> int:
        if not records:
            return 0
        from telnyx_client.errors import TelnyxError, TelnyxNotFound

        client = self._telnyx()
        done = 0
        failed: list[str] = []
        for record in records:
            try:
                client.assistants.scheduled_events.delete(record.assistant_id, record.event_id)
            except TelnyxNotFound:
                pass  # already gone at Telnyx (deleted, or an assistant that no longer exists)
            except TelnyxError:
                failed.append(record.event_id)
                continue  # stays pending here: the retry cancels it
            if self.table.mark_canceled(record, reason=reason, at=utc_iso(self.clock())):
                done += 1
        if failed:
            raise UpstreamFailed(f"Telnyx did not cancel {len(failed)} scheduled event(s); retry")
        return done

    # --- helpers ---------------------------------------------------------------------------------
    def _lead(self, lead_id: str) -> tuple[LeadRecord, CampaignRecord]:
        lead = self.campaigns.get_lead(self.tenant_id, lead_id)
        campaign = self.campaigns.get_campaign(self.tenant_id, lead.campaign_id) if lead else None
        if lead is None or campaign is None:
            raise NotFound(f"lead {lead_id} not found")
        return lead, campaign

    def _instant(self, at: datetime, zone: str | None) -> datetime:
        now = self.clock()
        when = lead_instant(at, zone, now, what="the time")
        if when - now > MAX_AHEAD:
            raise InvalidInput(
                f"the time is more than {MAX_AHEAD.days} days ahead",
                [
                    {
                        "loc": ["body", "at"],
                        "msg": f"at most {MAX_AHEAD.days} days ahead",
                        "type": "value_error",
                    }
                ],
            )
        return max(when, now)

    def _check_legal(self, lead: LeadRecord, campaign: CampaignRecord, when: datetime) -> None:
        """The dialer's rules at that instant; refuse with every reason that blocks."""
        listed = self.dnc.get(self.tenant_id, lead.lead.phone) is not None
        calls = self.history.recent(self.tenant_id, lead.lead.phone, when - HISTORY_WINDOW)
        facts = lead_facts(lead, dnc=listed, recent_calls=calls)
        # Not a retry: the attempts cap is the campaign's, not the law's (as for callbacks).
        policy = replace(compliance_policy(campaign.config), max_attempts=None)
        decision = evaluate(facts, policy, when)
        if decision.eligible:
            return
        reasons = [str(r) for r in decision.reasons]
        if any(not r.deferrable for r in decision.reasons):
            raise NotCallable("the lead may not be contacted: " + ", ".join(reasons), reasons)
        legal = next_legal_time(facts, policy, when)
        hint = f"; the next legal time is {legal.isoformat()}" if legal else ""
        raise InvalidInput(
            "that time is outside the lead's legal window" + hint,
            [{"loc": ["body", "at"], "msg": f"not a legal time ({r}){hint}", "type": r} for r in reasons],
        )

    def _caller_id(self, campaign: CampaignRecord, lead: LeadRecord) -> str:
        """The campaign's caller ID the dialer would prefer for this lead (same area code, then
        state); the daily cap is counted on the day the dialer dials, not here."""
        pool = [
            CallerIdOption(
                r.caller_id_id,
                r.phone_number,
                r.daily_cap,
                r.area_code_state,
                0,
                parse_utc(r.rested_until) if r.rested_until else None,
            )
            for c in campaign.config.caller_ids
            if (r := self.management.get_caller_id(self.tenant_id, c)) is not None and r.enabled
        ]
        ranked = choose_caller_id(
            pool,
            lead.lead.phone,
            (lead.lead.state, lead.lead.area_code_state),
            now=self.clock(),
            tie_key=lead.lead_id,
        )
        if not ranked:
            raise Conflict("the campaign has no caller ID to use now (all disabled or rested)")
        return ranked[0].phone_number

    def _variables(
        self, lead: LeadRecord, campaign: CampaignRecord, when: datetime, note: str | None
    ) -> dict[str, str]:
        data = lead.lead
        return dynamic_variables(
            lead_fields={name: getattr(data, name) for name in LEAD_FIELDS},
            custom_fields=data.custom_fields,
            mapping=campaign.config.variables,
            zone=data.zone or campaign.config.window.fallback_zone,
            now=when,
            attempt_number=lead.attempts,
            lead_id=lead.lead_id,
            campaign_id=campaign.campaign_id,
            callback=CallbackContext(at=when, note=note) if note else None,
        )


def _view(record: ScheduledEventRecord, zone: str | None) -> ScheduledEventResponse:
    return ScheduledEventResponse(
        event_id=record.event_id,
        lead_id=record.lead_id,
        campaign_id=record.campaign_id,
        channel="sms_chat" if record.channel == "sms_chat" else "phone_call",
        scheduled_at=datetime.fromisoformat(record.scheduled_at.replace("Z", "+00:00")),
        zone=zone,
        assistant_id=record.assistant_id,
        from_number=record.from_number,
        text=record.text,
        status="canceled" if record.status != SCHEDULED else "scheduled",
        created_at=record.created_at,
        canceled_at=record.canceled_at,
        cancel_reason=record.cancel_reason,
    )


def scheduled_events_for(tenant_id: str) -> ScheduledEvents:
    """The service wired from settings (tables, the tenant's Telnyx client from its SSM key): one
    wiring for the scheduled-events routes and for every path that adds to the DNC list."""
    from dialer.adapters.people_table import ContactHistory as History
    from dialer.settings import get_settings

    settings = get_settings()
    accounts = _accounts(settings.param_prefix, settings.telnyx_base_url, settings.telnyx_timeout_seconds)
    return ScheduledEvents(
        tenant_id,
        table=ScheduledEventsTable(settings.table_name),
        campaigns=CampaignsTable(settings.table_name),
        management=ManagementTable(settings.table_name),
        dnc=DncTable(settings.table_name),
        history=History(settings.table_name, keep=timedelta(days=settings.contact_history_days)),
        telnyx=lambda: accounts.client_for(tenant_id),
    )


@cache
def _accounts(param_prefix: str, base_url: str, timeout: float) -> TelnyxAccounts:
    """One set of Telnyx clients per process (and per configuration, which tests change)."""
    from dialer.adapters.secrets import TenantSecrets
    from dialer.settings import get_settings

    settings = get_settings()
    secrets_ = TenantSecrets(
        param_prefix,
        max_age=settings.config_cache_seconds,
        miss_ttl=settings.unknown_tenant_cache_seconds,
    )
    return TelnyxAccounts(secrets_, base_url=base_url, timeout=timeout)

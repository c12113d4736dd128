"""The dialer: one dial job (a claimed attempt) in, at most one Telnyx call out.

Per job: re-check (campaign active, lead still dialing this attempt, DNC, consent, window, caps)
→ concurrency slot → dial-rate token → caller IDs ranked → variant → dynamic variables →
``claimed → posting`` with the caller ID's daily count taken, in one transaction (one dialer wins;
a number at its cap is skipped for the next) → POST → outcome of the POST:

* accepted → the attempt counts, the call is linked to lead/campaign/attempt/variant, the
  person's contact history records the call;
* 429 → slot back, the limiter holds off, the job comes back later; nothing counted;
* a definite 4xx about the number → ``invalid_number``, no retry; another definite 4xx (our
  configuration: key, connection) → the lead goes back to due, nothing counted;
* 5xx / timeout on ``call_control`` → the same POST again (same ``command_id``) while inside
  Telnyx's de-duplication window; still ambiguous, or any ambiguity on ``texml_ai`` →
  ``unconfirmed``: reconciled from webhooks (client_state names the attempt) or by the reaper,
  never re-dialled blindly.

A job delivered again (SQS redelivery, or the reaper putting a stuck claim back) finds the
attempt's state and continues from there; a dialer that died after its POST left the attempt in
``posting``, and the redelivery repeats the POST with the same ``command_id`` (Telnyx answers
with the call it already placed) or, outside the window, marks it unconfirmed.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, cast

from dialer import keys
from dialer.adapters.campaigns_table import (
    CampaignRecord,
    CampaignsTable,
    LeadRecord,
    campaign_from_item,
    lead_from_item,
)
from dialer.adapters.dialing_table import AttemptRecord, CallerTake, DialingTable, TenantLimits
from dialer.adapters.management_table import ManagementTable
from dialer.adapters.people_table import ContactHistory, DncTable
from dialer.adapters.totals_table import TotalsTable
from dialer.domain.analytics import budget_reached
from dialer.domain.campaigns import CampaignStatus, DialMethod
from dialer.domain.circuit_breaker import unfixable_dial_error
from dialer.domain.dialing import (
    AttemptState,
    CallbackContext,
    CallerIdOption,
    LeadStatus,
    choose_caller_id,
    choose_variant,
    dial_interval,
    dial_slack,
    dynamic_variables,
    parse_utc,
    primary_reason,
    rests_end,
    terminal_status_for,
    utc_iso,
)
from dialer.domain.outcomes import CallOutcome
from dialer.domain.variables import LEAD_FIELDS
from dialer.observability import DIAL_FAILED, DIAL_PLACED, DIAL_REFUSED_429, get_logger, record_metric
from dialer.services.circuit_breaker import trip_breaker
from dialer.services.eligibility import HISTORY_WINDOW, caps_apply, decide
from dialer.services.lead_effects import LeadEffects

if TYPE_CHECKING:
    from telnyx_client.client import TelnyxClient

#: Telnyx codes of a 4xx that is about the number itself (WIRE §2.2): not E.164, not routable.
_NUMBER_CODES = frozenset({"10016", "90036", "90037", "90038", "90039"})
_BACKOFF_429 = 2.0  # seconds the tenant's dial schedule is held after a 429
_TOKEN_LEAD = 0.03  # seconds ahead of now the earliest dial-rate token is: the work before the POST
_REQUEUE_NO_SLOT = 5  # seconds before a job without a slot is tried again
_CACHE_SECONDS = 2.0
_CAMPAIGN_CACHE_SECONDS = 1.0


class JobResult(StrEnum):
    """What handling one dial job did."""

    DIALED = "dialed"  # Telnyx accepted the call
    DROPPED = "dropped"  # refused at dial time; the lead went back to due or ended
    INVALID = "invalid"  # Telnyx refused the number for good
    REQUEUED = "requeued"  # no slot or token yet, or a 429: the job comes back later
    UNCONFIRMED = "unconfirmed"  # ambiguous POST; reconciled later
    SKIPPED = "skipped"  # nothing to do (a duplicate delivery of a settled attempt)


@dataclass(frozen=True, slots=True)
class DialJob:
    """The message the dispatcher queues per claimed attempt.

    ``phone``: the lead's number as the claim read it, so the dialer reads the number's DNC entry
    in the same round trip as the lead and its attempt (a job without it, or whose lead's number
    differs, reads the DNC entry on its own). The queue is encrypted; the number is never logged.
    """

    tenant_id: str
    campaign_id: str
    lead_id: str
    n: int
    phone: str | None = None

    def to_json(self) -> str:
        """The SQS body."""
        doc: dict[str, Any] = {
            "tenant_id": self.tenant_id,
            "campaign_id": self.campaign_id,
            "lead_id": self.lead_id,
            "n": self.n,
        }
        if self.phone:
            doc["phone"] = self.phone
        return json.dumps(doc, separators=(",", ":"))

    @classmethod
    def from_json(cls, body: str) -> DialJob:
        """Parse an SQS body; ValueError when it is not a dial job."""
        doc = json.loads(body)
        if not isinstance(doc, dict):
            raise ValueError("a dial job is a JSON object")
        phone = doc.get("phone")
        return cls(
            str(doc["tenant_id"]),
            str(doc["campaign_id"]),
            str(doc["lead_id"]),
            int(doc["n"]),
            str(phone) if phone else None,
        )


class JobQueue(Protocol):
    """Where dial jobs go (SQS)."""

    def send(self, body: str, *, delay_seconds: int = 0) -> object:
        """Queue one job, visible after ``delay_seconds``."""
        ...


class TelnyxClients(Protocol):
    """The tenant's Telnyx client."""

    def client_for(self, tenant_id: str) -> TelnyxClient:
        """The client (TenantNotConfigured without an API key)."""
        ...


@dataclass(frozen=True, slots=True)
class DialerConfig:
    """The dialer's knobs (from settings)."""

    api_url: str
    defaults: TenantLimits
    rate_headroom: float = 0.03
    max_wait_seconds: float = 2.0
    time_limit_seconds: int = 1800
    grace_seconds: int = 300
    command_id_window_seconds: float = 60.0
    post_timeout_seconds: float = 8.0
    contact_history_days: int = 35


class Dialer:
    """Handles dial jobs (thread-safe: one instance serves a batch's worker threads)."""

    def __init__(
        self,
        *,
        dialing: DialingTable,
        campaigns: CampaignsTable,
        management: ManagementTable,
        dnc: DncTable,
        history: ContactHistory,
        telnyx: TelnyxClients,
        jobs: JobQueue,
        config: DialerConfig,
        clock: Callable[[], datetime],
        monotonic: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        totals: TotalsTable | None = None,
    ) -> None:
        self.dialing = dialing
        self.campaigns = campaigns
        self.management = management
        self.dnc = dnc
        self.history = history
        self.telnyx = telnyx
        self.jobs = jobs
        self.config = config
        self.clock = clock
        self.epoch = monotonic  # epoch seconds: the limiter's schedule is shared across machines
        self.sleep = sleep
        # Campaign spend, for the budget re-check (same table as the dialing state).
        self.totals = totals or TotalsTable(dialing.table_name, client=dialing.client)
        self.effects = LeadEffects(dialing, campaigns, clock)
        self._cache: dict[tuple[str, ...], tuple[float, Any]] = {}
        self._cache_lock = threading.Lock()
        self._loading: dict[tuple[str, ...], threading.Lock] = {}

    # --- the job ----------------------------------------------------------------------------------
    def handle(self, job: DialJob) -> JobResult:
        """Handle one delivery of a dial job (see the module doc)."""
        # One consistent BatchGetItem: the lead, its attempt, the number's DNC entry and (when the
        # cached one is stale) the campaign: everything that can change between claim and dial.
        campaign = self._cached_campaign(job.tenant_id, job.campaign_id)
        dnc_key = keys.dnc_key(job.tenant_id, job.phone) if job.phone else None
        campaign_key = keys.campaign_key(job.tenant_id, job.campaign_id)
        also = [k for k in (dnc_key, None if campaign else campaign_key) if k is not None]
        item, attempt, found = self.dialing.dial_state(job.tenant_id, job.lead_id, job.n, also=also)
        if campaign is None:
            raw = found.get((campaign_key["pk"], campaign_key["sk"]))
            campaign = self._remember_campaign(
                job.tenant_id, job.campaign_id, campaign_from_item(raw) if raw else None
            )
        if attempt is None or item is None:
            return JobResult.SKIPPED
        lead = lead_from_item(item)
        if attempt.state == AttemptState.POSTING:
            return self._resume_posting(attempt, lead)
        if attempt.state != AttemptState.CLAIMED:
            return JobResult.SKIPPED  # settled already: a duplicate delivery
        if campaign is None:
            return JobResult.SKIPPED
        listed = None  # unknown: the job did not carry this lead's number
        if dnc_key is not None and job.phone == lead.lead.phone:
            listed = (dnc_key["pk"], dnc_key["sk"]) in found
        refused = self._recheck(attempt, campaign, lead, listed=listed)
        if refused is not None:
            return refused
        limits = self._limits(job.tenant_id)
        send_at = self._token(job.tenant_id, limits)
        if send_at is None:
            # The schedule is full for now: keep the slot (the dispatcher counted it), come back.
            self.jobs.send(job.to_json(), delay_seconds=1)
            return JobResult.REQUEUED
        plan = self._plan(attempt, campaign, lead, limits)
        if isinstance(plan, _NoCaller):
            return self._drop(attempt, [plan.reason], deferred=plan.reason, later=plan.later)
        posting_at = utc_iso(self.clock())
        started, caller = self._start_posting(attempt, posting_at, plan, limits)
        if started == "no_slot":
            self.jobs.send(job.to_json(), delay_seconds=_REQUEUE_NO_SLOT)
            return JobResult.REQUEUED
        if started == "lost":
            return JobResult.SKIPPED  # another delivery of this job took it
        if caller is None:
            # Every number the lead could use filled its cap since the pool was read.
            none = plan.callers.none_left(tried=plan.callers.ranked)
            return self._drop(attempt, [none.reason], deferred=none.reason, later=none.later)
        body = plan.body
        if caller != plan.callers.ranked[0]:
            body = self._body(attempt, campaign, lead, limits, plan.assistant_id, caller.phone_number)
        self._sleep_until(send_at, job.tenant_id, limits)
        posting = replace(
            attempt,
            state=AttemptState.POSTING,
            posting_at=posting_at,
            posts=attempt.posts + 1,
            **plan.details(caller),
        )
        return self._post(posting, lead, body, method=campaign.config.dial_method, connection=plan.connection)

    def _start_posting(
        self, attempt: AttemptRecord, now: str, plan: _Plan, limits: TenantLimits
    ) -> tuple[str, CallerIdOption | None]:
        """claimed → posting while holding a slot, with the call counted on the first ranked caller
        ID still under its daily cap, in one transaction: a start that fails counts nothing, and
        a number that filled up since the pool was read costs one more transaction and is
        skipped. A job whose slot was given back (a 429, the reaper) takes a new one first.

        Returns the start's result with the caller ID it counted on; ``("capped", None)`` when
        every ranked number was full."""
        slotted = False
        for caller in plan.callers.ranked:
            while True:
                started = self.dialing.start_posting(
                    attempt.tenant_id,
                    attempt.lead_id,
                    attempt.n,
                    now=now,
                    from_state=AttemptState.CLAIMED,
                    details=plan.details(caller),
                    take=plan.callers.take(caller),
                )
                if started != "no_slot" or slotted:
                    break
                until = self.clock().timestamp() + self.config.time_limit_seconds + self.config.grace_seconds
                if not self.dialing.acquire_slot(
                    attempt.tenant_id, attempt.attempt_id, limits.outbound_limit, until
                ):
                    return "no_slot", None
                slotted = True
            if started != "capped":
                return started, caller
            # The cached usage said it had room: the next dial reads the pool afresh rather than
            # pay a failed transaction on this number for the rest of the cache's life.
            self._cache.pop(plan.callers.cache_key, None)
        return "capped", None

    def _campaign(self, tenant_id: str, campaign_id: str) -> CampaignRecord | None:
        cached = self._cached_campaign(tenant_id, campaign_id)
        if cached is not None:
            return cached
        return self._remember_campaign(
            tenant_id, campaign_id, self.campaigns.get_campaign(tenant_id, campaign_id)
        )

    def _cached_campaign(self, tenant_id: str, campaign_id: str) -> CampaignRecord | None:
        # Cached for at most a second: a pause drops queued jobs within one tick.
        hit = self._cache.get(("campaign", tenant_id, campaign_id))
        if hit is not None and time.monotonic() - hit[0] < _CAMPAIGN_CACHE_SECONDS:
            return cast(CampaignRecord | None, hit[1])
        return None

    def _remember_campaign(
        self, tenant_id: str, campaign_id: str, record: CampaignRecord | None
    ) -> CampaignRecord | None:
        if record is not None:
            self._cache[("campaign", tenant_id, campaign_id)] = (time.monotonic(), record)
        return record

    # --- re-check ---------------------------------------------------------------------------------
    def _recheck(
        self, attempt: AttemptRecord, campaign: CampaignRecord, lead: LeadRecord, *, listed: bool | None
    ) -> JobResult | None:
        if campaign.status != CampaignStatus.ACTIVE:
            # Paused (back to due, nothing counted) or canceled (the lead is canceled).
            self.effects.drop(attempt, [f"campaign_{campaign.status.value}"])
            return JobResult.DROPPED
        if lead.status != LeadStatus.DIALING or lead.dials != attempt.n:
            self.effects.drop(attempt, ["lead_changed"])
            return JobResult.DROPPED
        if campaign.config.budget is not None and self._budget_reached(campaign):
            # Spend plus the calls in flight reach the cap: no call past it. The campaign pauses
            # itself; the lead goes back to due, nothing counted.
            self.campaigns.pause_for(
                campaign.tenant_id, campaign.campaign_id, reason="budget_reached", at=utc_iso(self.clock())
            )
            self.effects.drop(attempt, ["budget_reached"])
            return JobResult.DROPPED
        now = self.clock()
        if listed is None:
            listed = self.dnc.get(lead.tenant_id, lead.lead.phone) is not None
        calls = (
            self.history.recent(lead.tenant_id, lead.lead.phone, now - HISTORY_WINDOW)
            if caps_apply(lead, campaign)
            else ()
        )
        result = decide(lead, campaign, now, dnc=listed, recent_calls=calls, callback=attempt.callback)
        if result.decision.eligible:
            return None
        reasons = [str(r) for r in result.decision.reasons]
        if result.next_window_start is None:
            self.effects.drop(attempt, reasons, status=terminal_status_for(reasons))
        else:
            self.effects.drop(
                attempt, reasons, retry_at=result.next_window_start, deferred_reason=primary_reason(reasons)
            )
        return JobResult.DROPPED

    def _budget_reached(self, campaign: CampaignRecord) -> bool:
        budget = campaign.config.budget
        if budget is None:
            return False
        tenant_id, campaign_id = campaign.tenant_id, campaign.campaign_id
        totals = self._cached(
            ("totals", tenant_id, campaign_id), lambda: self.totals.campaign_totals(tenant_id, campaign_id)
        )
        in_flight = self._cached(
            ("in_flight", tenant_id, campaign_id),
            lambda: self.dialing.campaign_stats(tenant_id, campaign_id).get("st_dialing", 0),
        )
        return budget_reached(Decimal(str(budget.max_cost)), totals, int(in_flight))

    def _drop(
        self, attempt: AttemptRecord, reasons: list[str], *, deferred: str, later: timedelta
    ) -> JobResult:
        self.effects.drop(attempt, reasons, retry_at=self.clock() + later, deferred_reason=deferred)
        return JobResult.DROPPED

    # --- slot, token, plan ------------------------------------------------------------------------
    def _limits(self, tenant_id: str) -> TenantLimits:
        return self._cached(
            ("limits", tenant_id), lambda: self.dialing.tenant_limits(tenant_id, self.config.defaults)
        )

    def _interval(self, limits: TenantLimits) -> float:
        return dial_interval(limits.dials_per_second, limits.dials_per_5s, self.config.rate_headroom)

    def _token(self, tenant_id: str, limits: TenantLimits) -> float | None:
        interval = self._interval(limits)
        # The token is taken _TOKEN_LEAD ahead: the start transaction runs inside the lead and the
        # POST waits for its instant, so a schedule restarting from idle does not send its first
        # dials late and bunched (Telnyx counts a rolling second by arrival).
        return self.dialing.reserve_dial(
            tenant_id, self.epoch() + _TOKEN_LEAD, interval, self.config.max_wait_seconds
        )

    def _sleep_until(self, send_at: float, tenant_id: str, limits: TenantLimits) -> None:
        """Wait for the token's instant. A dial that finds itself more than the schedule's slack
        past its instant (its own work overran the token; the process was paused, or woke late)
        takes a fresh token: leaving late would land within one rolling second of the next 30
        dials, and the 429 Telnyx answers holds the whole schedule for ``_BACKOFF_429``. A late
        token is a hole in the schedule, one dial's worth of rate. With no fresh token soon (or
        late three times) it goes now, as it would have."""
        slack = dial_slack(limits.dials_per_second, limits.dials_per_5s, self._interval(limits))
        for _ in range(3):
            wait = send_at - self.epoch()
            if wait > 0:
                self.sleep(wait)
            if self.epoch() - send_at <= slack:
                return
            fresh = self._token(tenant_id, limits)
            if fresh is None:
                return
            send_at = fresh

    def _plan(
        self, attempt: AttemptRecord, campaign: CampaignRecord, lead: LeadRecord, limits: TenantLimits
    ) -> _Plan | _NoCaller:
        config = campaign.config
        callers = self._caller_ids(attempt.tenant_id, config.caller_ids, lead, self.clock())
        if isinstance(callers, _NoCaller):
            return callers
        assistant_id = choose_variant(config, lead.lead_id)
        if assistant_id is None:
            return _NO_CALLER
        connection = self._connection(attempt.tenant_id, config.dial_method, limits, assistant_id)
        if not connection:
            return _NO_CALLER
        body = self._body(attempt, campaign, lead, limits, assistant_id, callers.ranked[0].phone_number)
        return _Plan(body, connection, assistant_id, config.dial_method, callers)

    def _connection(
        self, tenant_id: str, method: DialMethod, limits: TenantLimits, assistant_id: str
    ) -> str | None:
        """Where the dial request goes: the assistant's TeXML app, or the tenant's connection."""
        if method == DialMethod.TEXML_AI:
            mirror = self._cached(
                ("mirror", tenant_id, assistant_id),
                lambda: self.management.get_mirror(tenant_id, assistant_id),
            )
            return mirror.texml_app_id if mirror else None
        return limits.connection_id

    def _body(
        self,
        attempt: AttemptRecord,
        campaign: CampaignRecord,
        lead: LeadRecord,
        limits: TenantLimits,
        assistant_id: str,
        from_number: str,
    ) -> dict[str, Any]:
        """The dial request of the campaign's method."""
        config = campaign.config
        now = self.clock()
        callback = CallbackContext(at=now, note=attempt.callback_note) if attempt.callback else None
        data = lead.lead
        variables = dynamic_variables(
            lead_fields={name: getattr(data, name) for name in LEAD_FIELDS},
            custom_fields=data.custom_fields,
            mapping=config.variables,
            zone=data.zone or config.window.fallback_zone,
            now=now,
            attempt_number=lead.attempts + 1,
            lead_id=lead.lead_id,
            campaign_id=campaign.campaign_id,
            callback=callback,
        )
        # Without a public API URL, Telnyx uses the connection's own webhook URL (which must then
        # point at this tenant's intake route).
        webhook_url = (
            f"{self.config.api_url.rstrip('/')}/webhooks/telnyx/{attempt.tenant_id}"
            if self.config.api_url
            else None
        )
        if config.dial_method == DialMethod.TEXML_AI:
            return {
                "From": from_number,
                "To": data.phone,
                "AIAssistantId": assistant_id,
                "AIAssistantDynamicVariables": variables,
                "MachineDetection": "Enable",
                "DetectionMode": "Premium",
                "StatusCallbackEvent": "initiated ringing answered completed",
                "TimeLimit": self.config.time_limit_seconds,
            } | ({"StatusCallback": webhook_url} if webhook_url else {})
        return {
            "connection_id": limits.connection_id,
            "to": data.phone,
            "from": from_number,
            "assistant": {"id": assistant_id, "dynamic_variables": variables},
            "answering_machine_detection": "premium",
            "command_id": attempt.attempt_id,
            "client_state": {
                "t": attempt.tenant_id,
                "c": attempt.campaign_id,
                "l": attempt.lead_id,
                "n": attempt.n,
            },
            "webhook_url": webhook_url,
            "time_limit_secs": self.config.time_limit_seconds,
        }

    def _caller_ids(
        self, tenant_id: str, pool_ids: list[str], lead: LeadRecord, now: datetime
    ) -> _Callers | _NoCaller:
        day = now.strftime("%Y-%m-%d")
        # The records (number, cap, rest) and today's usage (ordering only: the cap is the
        # start's conditional take) in one read, kept ``_CACHE_SECONDS``.
        cache_key = ("callers", tenant_id, day, *pool_ids)
        records, usage = self._cached(cache_key, lambda: self.dialing.caller_pool(tenant_id, pool_ids, day))
        pool = [
            CallerIdOption(
                r.caller_id_id,
                r.phone_number,
                r.daily_cap,
                r.area_code_state,
                usage.get(r.caller_id_id, 0),
                parse_utc(r.rested_until) if r.rested_until else None,
            )
            for r in records
            if r.enabled
        ]
        ranked = choose_caller_id(
            pool, lead.lead.phone, (lead.lead.state, lead.lead.area_code_state), now=now, tie_key=lead.lead_id
        )
        callers = _Callers(ranked, pool, now, cache_key)
        return callers if ranked else callers.none_left(tried=())

    def _cached(self, key: tuple[str, ...], load: Callable[[], Any]) -> Any:
        """``load()``, kept for ``_CACHE_SECONDS``; one loader per key at a time, so a batch's
        threads that miss together make one read, not one each."""
        hit = self._cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < _CACHE_SECONDS:
            return hit[1]
        with self._cache_lock:
            lock = self._loading.setdefault(key, threading.Lock())
        with lock:
            hit = self._cache.get(key)
            if hit is not None and time.monotonic() - hit[0] < _CACHE_SECONDS:
                return hit[1]
            value = load()
            self._cache[key] = (time.monotonic(), value)
            return value

    # --- POST and its outcome ---------------------------------------------------------------------
    def _post(
        self,
        attempt: AttemptRecord,
        lead: LeadRecord,
        body: dict[str, Any],
        *,
        method: DialMethod,
        connection: str,
    ) -> JobResult:
        from telnyx_client.errors import (
            TelnyxError,
            TelnyxRateLimited,
            TelnyxServerError,
            TelnyxTransportError,
        )

        client = self.telnyx.client_for(attempt.tenant_id)
        try:
            if method == DialMethod.TEXML_AI:
                result = client.texml.ai_call(connection, body, timeout=self.config.post_timeout_seconds)
                call_id = result.call_sid
            else:
                call = client.calls.dial(body, timeout=self.config.post_timeout_seconds)
                call_id = call.call_control_id
        except TelnyxRateLimited:
            return self._rate_limited(attempt, lead.lead.phone)
        except (TelnyxServerError, TelnyxTransportError) as exc:
            return self._ambiguous(attempt, lead, body, method=method, connection=connection, error=exc)
        except TelnyxError as exc:
            return self._refused(attempt, exc)
        if not call_id:
            return self._ambiguous(attempt, lead, body, method=method, connection=connection, error=None)
        return self._accepted(attempt, lead, call_id, method)

    def _accepted(
        self, attempt: AttemptRecord, lead: LeadRecord, call_control_id: str, method: DialMethod
    ) -> JobResult:
        now = self.clock()
        posted = parse_utc(attempt.posting_at) if attempt.posting_at else now
        contact = self.history.item(
            attempt.tenant_id,
            lead.lead.phone,
            posted,
            call_id=attempt.attempt_id,
            campaign_id=attempt.campaign_id,
            lead_id=attempt.lead_id,
        )
        if not self.dialing.mark_accepted(
            attempt, call_control_id=call_control_id, now=utc_iso(now), contact=contact
        ):
            return JobResult.SKIPPED  # another delivery (or a webhook) accepted this very call first
        if method == DialMethod.TEXML_AI:
            # TeXML callbacks carry no client_state: if every callback beat this link, nobody
            # else can settle the call, so look.
            call = self.dialing.items.get(keys.call_key(attempt.tenant_id, call_control_id)) or {}
            if call.get("state") == "ended" and call.get("outcome"):
                fresh = self.dialing.get_attempt(attempt.tenant_id, attempt.lead_id, attempt.n)
                if fresh is not None:
                    self.effects.call_ended(fresh, CallOutcome(call["outcome"]))
        record_metric(
            DIAL_PLACED, 1, tenant_id=attempt.tenant_id, campaign_id=attempt.campaign_id, method=method.value
        )
        return JobResult.DIALED

    def _rate_limited(self, attempt: AttemptRecord, phone: str | None = None) -> JobResult:
        self.dialing.release_slot(attempt.tenant_id, attempt.attempt_id)
        self.dialing.hold_dials_until(attempt.tenant_id, self.epoch() + _BACKOFF_429)
        self.dialing.back_to_claimed(attempt.tenant_id, attempt.lead_id, attempt.n)
        job = DialJob(attempt.tenant_id, attempt.campaign_id, attempt.lead_id, attempt.n, phone)
        self.jobs.send(job.to_json(), delay_seconds=int(_BACKOFF_429))
        get_logger().info("dial rate limited; job requeued", attempt_id=attempt.attempt_id)
        record_metric(DIAL_REFUSED_429, 1, tenant_id=attempt.tenant_id, campaign_id=attempt.campaign_id)
        return JobResult.REQUEUED

    def _refused(self, attempt: AttemptRecord, exc: Exception) -> JobResult:
        from telnyx_client.errors import TelnyxError

        codes = set(exc.codes) if isinstance(exc, TelnyxError) else set()
        pointers = (
            {str(e.source.get("pointer", "")) for e in exc.errors} if isinstance(exc, TelnyxError) else set()
        )
        if codes & _NUMBER_CODES or pointers & {"/to", "/To"}:
            self.effects.call_ended(attempt, CallOutcome.INVALID_NUMBER, failed=True)
            record_metric(
                DIAL_FAILED,
                1,
                tenant_id=attempt.tenant_id,
                campaign_id=attempt.campaign_id,
                reason="invalid_number",
            )
            return JobResult.INVALID
        # Not the number: our configuration (key, connection, assistant). Nothing is counted; the
        # lead waits and the operator sees the reason on it.
        get_logger().error("Telnyx refused the dial", attempt_id=attempt.attempt_id, error=str(exc))
        status = exc.status if isinstance(exc, TelnyxError) else None
        reason = unfixable_dial_error(status, pointers)
        if reason is not None:
            # No retry can fix it: the campaign stops now rather than failing every next dial.
            trip_breaker(
                self.campaigns, attempt.tenant_id, attempt.campaign_id, reason, at=utc_iso(self.clock())
            )
        self.effects.drop(
            attempt,
            ["dial_refused"],
            retry_at=self.clock() + timedelta(minutes=15),
            deferred_reason="dial_refused",
            failed_dial=True,
        )
        record_metric(
            DIAL_FAILED,
            1,
            tenant_id=attempt.tenant_id,
            campaign_id=attempt.campaign_id,
            reason="dial_refused",
        )
        return JobResult.DROPPED

    def _ambiguous(
        self,
        attempt: AttemptRecord,
        lead: LeadRecord,
        body: dict[str, Any],
        *,
        method: DialMethod,
        connection: str,
        error: Exception | None,
    ) -> JobResult:
        if method == DialMethod.CALL_CONTROL and attempt.posts < 4 and self._inside_window(attempt):
            # Same command_id inside Telnyx's window: a repeat cannot place a second call. The first
            # POST may never have reached Telnyx, so the repeat takes its own dial-rate token.
            self.sleep(min(2.0, 0.25 * 2**attempt.posts))
            limits = self._limits(attempt.tenant_id)
            while self._inside_window(attempt):
                send_at = self._token(attempt.tenant_id, limits)
                if send_at is None:
                    self.sleep(self.config.max_wait_seconds / 2)  # the schedule is full for now
                    continue
                if not self._restart_posting(attempt):
                    return JobResult.SKIPPED  # settled meanwhile (a webhook linked the call)
                self._sleep_until(send_at, attempt.tenant_id, limits)
                again = replace(attempt, posts=attempt.posts + 1)
                return self._post(again, lead, body, method=method, connection=connection)
        self.dialing.mark_unconfirmed(
            attempt.tenant_id,
            attempt.lead_id,
            attempt.n,
            now=utc_iso(self.clock()),
            reason=type(error).__name__ if error else "no_call_id",
        )
        return JobResult.UNCONFIRMED

    def _inside_window(self, attempt: AttemptRecord) -> bool:
        if not attempt.posting_at:
            return False
        age = (self.clock() - parse_utc(attempt.posting_at)).total_seconds()
        # Margin: the next POST must reach Telnyx well inside its window.
        return age < self.config.command_id_window_seconds - 2 * self.config.post_timeout_seconds

    def _resume_posting(self, attempt: AttemptRecord, lead: LeadRecord) -> JobResult:
        """A delivery that finds the attempt ``posting``: the previous dialer died or is still at
        it. Call Control: repeat the POST with the same command_id inside the window (Telnyx
        answers with the call it placed, or places it once). Otherwise: unconfirmed."""
        campaign = self._campaign(attempt.tenant_id, attempt.campaign_id)
        if (
            campaign is None
            or attempt.method != DialMethod.CALL_CONTROL.value
            or not self._inside_window(attempt)
        ):
            self.dialing.mark_unconfirmed(
                attempt.tenant_id, attempt.lead_id, attempt.n, now=utc_iso(self.clock()), reason="redelivered"
            )
            return JobResult.UNCONFIRMED
        limits = self._limits(attempt.tenant_id)
        send_at = self._token(attempt.tenant_id, limits)
        if send_at is None:
            job = DialJob(attempt.tenant_id, attempt.campaign_id, attempt.lead_id, attempt.n, lead.lead.phone)
            self.jobs.send(job.to_json(), delay_seconds=1)
            return JobResult.REQUEUED
        if not self._restart_posting(attempt):
            return JobResult.SKIPPED
        body = self._body(
            attempt, campaign, lead, limits, str(attempt.assistant_id), str(attempt.from_number)
        )
        self._sleep_until(send_at, attempt.tenant_id, limits)
        again = replace(attempt, posts=attempt.posts + 1)
        return self._post(
            again, lead, body, method=DialMethod.CALL_CONTROL, connection=str(limits.connection_id)
        )

    def _restart_posting(self, attempt: AttemptRecord) -> bool:
        """A repeat POST of an attempt still ``posting`` (same command_id): restamp it, unless a
        webhook or another delivery settled it meanwhile."""
        started = self.dialing.start_posting(
            attempt.tenant_id,
            attempt.lead_id,
            attempt.n,
            now=utc_iso(self.clock()),
            from_state=AttemptState.POSTING,
            details={},
        )
        return started == "ok"


@dataclass(frozen=True, slots=True)
class _Callers:
    """The caller IDs a lead may be dialled from at ``now``, best first (``ranked``), and the
    campaign's whole pool (why none is left, when none is)."""

    ranked: list[CallerIdOption]
    pool: list[CallerIdOption]
    now: datetime
    cache_key: tuple[str, ...]  # the pool's entry in the dialer's cache

    def take(self, caller: CallerIdOption) -> CallerTake:
        """One call counted on ``caller`` today (UTC), kept two days."""
        expires = int((self.now + timedelta(days=2)).timestamp())
        return CallerTake(caller.caller_id_id, self.now.strftime("%Y-%m-%d"), caller.daily_cap, expires)

    def none_left(self, *, tried: Sequence[CallerIdOption]) -> _NoCaller:
        """Why the lead has no number, ``tried`` having filled their caps (the take's count is
        fresher than the usage read)."""
        full = {o.caller_id_id for o in tried}
        back = rests_end([o for o in self.pool if o.caller_id_id not in full], self.now)
        if back is not None:
            # Every number the lead could use is rested: the lead waits (never a rested number),
            # until the first rest ends or a quarter hour, whichever is first (an operator may
            # restore one sooner).
            return _NoCaller(_CALLER_IDS_RESTED, min(back - self.now, _NO_CALLER.later) + _REST_MARGIN)
        return _NO_CALLER


@dataclass(frozen=True, slots=True)
class _Plan:
    body: dict[str, Any]  # from the first-ranked caller ID
    connection: str
    assistant_id: str
    method: DialMethod
    callers: _Callers

    def details(self, caller: CallerIdOption) -> dict[str, Any]:
        """What the attempt records of the dial."""
        return {
            "assistant_id": self.assistant_id,
            "caller_id_id": caller.caller_id_id,
            "from_number": caller.phone_number,
            "method": self.method.value,
        }


@dataclass(frozen=True, slots=True)
class _NoCaller:
    """Why the dial has no caller ID (or no assistant or connection), and when to try again."""

    reason: str
    later: timedelta


#: Deferral reasons of a lead that has no caller ID to dial from.
_NO_CALLER = _NoCaller("no_caller_id", timedelta(minutes=15))
_CALLER_IDS_RESTED = "caller_ids_rested"
#: A rest ends at an instant; the lead comes back just after it.
_REST_MARGIN = timedelta(seconds=1)

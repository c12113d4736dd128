"""Dispositions and opt-outs: the one implementation of what a conversation's conclusion does.

Independent of how the conclusion arrived: the in-call ``set_disposition`` and ``opt_out`` tools
call it today, insights (issue 10) call the same :meth:`Dispositions.record` later.

* An **opt-out** puts the number on the tenant's DNC list at once (audited, naming the call),
  cancels its pending Telnyx scheduled events, and ends every pending lead of that number in
  every campaign of the tenant (the dialer's
  dial-time DNC re-check covers a lead that is being dialled right now).
  Its ``lead.opted_out`` events (one per lead of the number) are written in the listing's own
  transaction: a number already listed (a retried tool call, the insight after the tool) writes
  none.
* A **disposition** is recorded on the call and, as ``last_disposition``, on the lead (the init
  webhook greets the next call with it). ``do_not_call`` has the opt-out's effects as well.
  Recording is idempotent: a retried tool call or a repeated insight writes the same values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dialer import clock as engine_clock
from dialer.adapters import outbox_events
from dialer.adapters.dialing_table import DialingTable
from dialer.adapters.dispositions_table import DispositionsTable
from dialer.adapters.people_table import DncTable
from dialer.domain.compliance_reasons import ReasonCode
from dialer.domain.dialing import LeadStatus, utc_iso
from dialer.domain.outcomes import Disposition
from dialer.observability import get_logger
from dialer.services.dnc import DncService

MAX_NOTE = 1000
#: A transaction holds 100 items: the DNC entry, its audit and this many lead.opted_out events.
MAX_OPT_OUT_EVENTS = 98
logger = get_logger()


@dataclass(frozen=True, slots=True)
class OptOutResult:
    """What an opt-out did."""

    phone: str
    newly_listed: bool
    leads_ended: int


@dataclass(frozen=True, slots=True)
class DispositionResult:
    """What recording a disposition did."""

    disposition: Disposition
    on_call: bool
    on_lead: bool
    opt_out: OptOutResult | None = None
    call: dict[str, Any] | None = None  # the call as recording the disposition left it
    lead: dict[str, Any] | None = None  # the lead as recording the disposition left it


class Dispositions:
    """Opt-outs and dispositions for one tenant."""

    def __init__(
        self,
        tenant_id: str,
        table: DispositionsTable,
        dnc: DncTable,
        dialing: DialingTable,
        *,
        default_region: str = "US",
        clock: Callable[[], datetime] | None = None,
        after_listed: Callable[[list[str]], object] | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.table = table
        self.dnc = dnc
        self.dialing = dialing
        self.default_region = default_region
        self._clock = clock or engine_clock.now
        self._after_listed = after_listed  # cancels the number's Telnyx scheduled events

    def opt_out(self, phone: str, *, call_control_id: str | None, source: str) -> OptOutResult:
        """The number joins the DNC list now, and its pending leads in every campaign end."""
        actor = f"call:{call_control_id}" if call_control_id else source
        service = DncService(
            self.tenant_id,
            self.dnc,
            actor=actor,
            default_region=self.default_region,
            clock=self._clock,
            after_listed=self._after_listed,
        )
        now = utc_iso(self._clock())
        leads: list[dict[str, Any]] = []

        def opted_out(e164: str) -> list[dict[str, Any]]:
            # One lead.opted_out per lead of the number, in the listing's own transaction: a
            # repeat (a retried tool call, the insight after the tool) finds the number listed
            # and reports nothing again. A number of no lead reports nothing (a payload names
            # leads, never numbers).
            leads.extend(self.table.leads_of_number(self.tenant_id, e164))
            if len(leads) > MAX_OPT_OUT_EVENTS:
                logger.warning(
                    "opt-out reported for the first leads of the number only",
                    leads=len(leads),
                    reported=MAX_OPT_OUT_EVENTS,
                )
            return [
                outbox_events.lead_opted_out(
                    self.tenant_id,
                    lead_id=str(item["lead_id"]),
                    campaign_id=str(item["campaign_id"]),
                    source=source,
                    call_id=call_control_id,
                    at=now,
                )
                for item in leads[:MAX_OPT_OUT_EVENTS]
            ]

        entry, added = service.add(phone, reason="opted out during a call", source=source, events=opted_out)
        # The engine's own transition (out of the due index, campaign counters kept right); a
        # lead that is being dialled right now is stopped by the dialer's DNC re-check instead.
        ended = sum(
            1
            for item in leads
            if item.get("status") == LeadStatus.PENDING.value
            and self.dialing.end_pending(
                self.tenant_id, item, status=LeadStatus.BLOCKED, reasons=[ReasonCode.DNC.value], now=now
            )
        )
        return OptOutResult(phone=entry.phone, newly_listed=added, leads_ended=ended)

    def record(
        self,
        disposition: Disposition,
        *,
        call_control_id: str | None,
        lead_id: str | None,
        phone: str | None,
        note: str | None,
        source: str,
        lead_fields: Mapping[str, Any] | None = None,
    ) -> DispositionResult:
        """Record ``disposition`` on the call and the lead (either may be unknown) and apply its
        effects; ``source`` says where it came from (``tool``, ``insight``, ``api``).

        ``lead_fields``: what the caller's own effect stores on the lead with it (an insight's
        ``result``, ``appointment_at``), in the same update, and only when the call took the
        disposition (a call that concluded ``do_not_call`` keeps it, and its lead gets no effect).
        """
        at = self._clock().isoformat(timespec="seconds")
        note = (note or "").strip()[:MAX_NOTE] or None
        call = None
        if call_control_id:
            fields = {"disposition": disposition.value, "disposition_source": source, "disposition_at": at}
            if note:
                fields["disposition_note"] = note
            # False when the call already holds do_not_call: that conclusion is never replaced.
            call = self.table.record_on_call(self.tenant_id, call_control_id, fields)
        lead = None
        if lead_id:
            on_lead: dict[str, Any] = {
                "last_disposition": disposition.value,
                "last_disposition_at": at,
                "last_disposition_note": note or "",
                **(lead_fields if lead_fields and (call is not None or not call_control_id) else {}),
            }
            lead = self.table.record_on_lead(self.tenant_id, lead_id, on_lead)
        opt_out = None
        if disposition == Disposition.DO_NOT_CALL and phone:
            opt_out = self.opt_out(phone, call_control_id=call_control_id, source=source)
        return DispositionResult(disposition, call is not None, lead is not None, opt_out, call, lead)

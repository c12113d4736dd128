"""Leads of a tenant: add (JSON batches and import chunks share one upsert), read, search, consent.

The upsert merges by phone number within a campaign: each lead's id is derived from (campaign,
E.164) (:func:`dialer.keys.lead_id_for`), duplicates within a batch are merged in memory, leads
that already exist are merged with a conditional UpdateItem (dialling state untouched), and only
leads that do not exist yet are written with BatchWriteItem. Nothing is written twice blindly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from dialer import clock as engine_clock
from dialer import keys
from dialer.adapters.campaigns_table import CampaignsTable, LeadRecord, lead_from_item
from dialer.adapters.dynamo import decode_cursor, encode_cursor
from dialer.domain.campaigns import OPEN_STATUSES
from dialer.domain.leads import (
    LeadFields,
    LeadRejected,
    NormalizedLead,
    consent_record,
    merge_leads,
    normalize_lead,
)
from dialer.domain.phones import InvalidPhoneNumber, normalize_phone
from dialer.errors import ConcurrentUpdate, Conflict, InvalidInput, NotFound
from dialer.services.campaign_models import (
    ConsentInput,
    ConsentResponse,
    ItemError,
    LeadBatchResponse,
    LeadInput,
    LeadListResponse,
    LeadResponse,
    ZoneCandidateResponse,
)
from dialer.services.campaigns import CampaignsService

_MERGE_RETRIES = 5


@dataclass(frozen=True, slots=True)
class IncomingLead:
    """A valid lead to upsert, and where it came from (batch index or CSV line)."""

    position: int
    lead: NormalizedLead


@dataclass
class UpsertResult:
    """Per position: the lead id, and whether it created a lead or merged into one."""

    lead_ids: dict[int, str] = field(default_factory=dict)
    created: set[int] = field(default_factory=set)
    merged: set[int] = field(default_factory=set)


class LeadsService:
    """Lead operations for one tenant."""

    def __init__(
        self,
        tenant_id: str,
        table: CampaignsTable,
        campaigns: CampaignsService,
        *,
        default_region: str = "US",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.table = table
        self.campaigns = campaigns
        self.default_region = default_region
        self._clock = clock or engine_clock.now

    # --- writes ----------------------------------------------------------------------------------
    def add_batch(self, campaign_id: str, inputs: Sequence[LeadInput]) -> LeadBatchResponse:
        """Add up to 1,000 leads: each is imported, merged or rejected with a reason."""
        self.open_campaign(campaign_id)
        errors: list[ItemError] = []
        incoming: list[IncomingLead] = []
        for index, item in enumerate(inputs):
            try:
                incoming.append(
                    IncomingLead(
                        index,
                        normalize_lead(
                            fields_of(item), default_region=self.default_region, now=self._clock()
                        ),
                    )
                )
            except LeadRejected as exc:
                errors.append(
                    ItemError(index=index, reason=exc.reason.value, field=exc.field, message=exc.message)
                )
        result = self.upsert(campaign_id, incoming, source="api")
        return LeadBatchResponse(
            received=len(inputs),
            imported=len(result.created),
            merged=len(result.merged),
            rejected=len(errors),
            lead_ids=[result.lead_ids.get(i) for i in range(len(inputs))],
            errors=errors,
        )

    def upsert(self, campaign_id: str, incoming: Sequence[IncomingLead], *, source: str) -> UpsertResult:
        """Create or merge leads of one campaign (see the module doc). ``source`` is ``api`` or
        ``import:{id}``; for an import, a row that already created its lead (a replayed chunk) counts
        as created again, not merged."""
        result = UpsertResult()
        now = self._now()
        # 1. Merge duplicates within the batch, first occurrence first.
        by_id: dict[str, IncomingLead] = {}
        for item in incoming:
            lead_id = keys.lead_id_for(campaign_id, item.lead.phone)
            result.lead_ids[item.position] = lead_id
            first = by_id.get(lead_id)
            if first is None:
                by_id[lead_id] = item
                result.created.add(item.position)
            else:
                by_id[lead_id] = IncomingLead(first.position, merge_leads(first.lead, item.lead))
                result.merged.add(item.position)
        if not by_id:
            return result
        # 2. Which exist already?
        existing = self.table.get_leads(self.tenant_id, list(by_id))
        fresh: list[LeadRecord] = []
        for lead_id, item in by_id.items():
            stored = existing.get(lead_id)
            if stored is None:
                fresh.append(
                    LeadRecord(
                        tenant_id=self.tenant_id,
                        lead_id=lead_id,
                        campaign_id=campaign_id,
                        lead=item.lead,
                        status="pending",
                        attempts=0,
                        created_at=now,
                        updated_at=now,
                        source=source,
                        source_line=item.position if source != "api" else None,
                    )
                )
                continue
            replay = (
                stored.get("source") == source
                and stored.get("source_line") == item.position
                and source != "api"
            )
            if not replay:
                result.created.discard(item.position)
                result.merged.add(item.position)
            self._merge(stored, item.lead, now)
        # 3. New leads in bulk, then count them on the campaign.
        self.table.put_new_leads(fresh)
        self.table.add_lead_count(self.tenant_id, campaign_id, len(fresh))
        return result

    def set_consent(self, lead_id: str, consent: ConsentInput) -> LeadResponse:
        """Replace the lead's consent record (set ``revoked_at`` to record a revocation)."""
        try:
            record = consent_record(
                consent.type.value, consent.source, consent.granted_at, consent.revoked_at, now=self._clock()
            )
        except LeadRejected as exc:
            field_name = exc.field.removeprefix("consent_")
            raise InvalidInput(
                exc.message, [{"loc": ["body", field_name], "msg": exc.message, "type": exc.reason.value}]
            ) from None
        assert record is not None  # a type is always given here
        updated = self.table.set_consent(self.tenant_id, lead_id, record, self._now())
        if updated is None:
            raise NotFound(f"lead {lead_id} not found")
        return lead_view(updated)

    # --- reads -----------------------------------------------------------------------------------
    def get(self, lead_id: str) -> LeadResponse:
        """One lead."""
        return lead_view(self.record(lead_id))

    def record(self, lead_id: str) -> LeadRecord:
        """The stored lead, or NotFound."""
        record = self.table.get_lead(self.tenant_id, lead_id)
        if record is None:
            raise NotFound(f"lead {lead_id} not found")
        return record

    def search(self, phone: str) -> LeadListResponse:
        """The tenant's leads with this phone number (any format), across campaigns."""
        try:
            e164 = normalize_phone(phone, default_region=self.default_region)
        except InvalidPhoneNumber as exc:
            raise _query_error(exc) from None
        return LeadListResponse(data=[lead_view(r) for r in self.table.leads_by_phone(self.tenant_id, e164)])

    def list(self, campaign_id: str, *, limit: int, cursor: str | None) -> LeadListResponse:
        """A page of a campaign's leads."""
        self.campaigns.record(campaign_id)
        records, after = self.table.leads_of_campaign(
            self.tenant_id, campaign_id, limit=limit, after=decode_cursor(cursor)
        )
        return LeadListResponse(data=[lead_view(r) for r in records], next_cursor=encode_cursor(after))

    def open_campaign(self, campaign_id: str) -> None:
        """NotFound, or Conflict when the campaign takes no more leads."""
        record = self.campaigns.record(campaign_id)
        if record.status not in OPEN_STATUSES:
            raise Conflict(f"a {record.status.value} campaign takes no more leads")

    def _merge(self, stored: dict[str, object], incoming: NormalizedLead, now: str) -> None:
        for _ in range(_MERGE_RETRIES):
            current = lead_from_item(stored)
            merged = replace(current, lead=merge_leads(current.lead, incoming), updated_at=now)
            if self.table.merge_lead(merged, expect_updated_at=current.updated_at):
                return
            fresh = self.table.get_leads(self.tenant_id, [current.lead_id]).get(current.lead_id)
            if fresh is None:  # gone meanwhile: write it as new
                self.table.put_new_leads([replace(merged, created_at=now, status="pending", attempts=0)])
                return
            stored = fresh
        raise ConcurrentUpdate(f"lead {current.lead_id} kept changing; try again")

    def _now(self) -> str:
        return self._clock().isoformat(timespec="milliseconds")


def fields_of(item: LeadInput) -> LeadFields:
    """A JSON lead as the normaliser's plain fields."""
    consent = item.consent
    return LeadFields(
        phone=item.phone,
        first_name=item.first_name or "",
        last_name=item.last_name or "",
        email=item.email or "",
        company=item.company or "",
        address=item.address or "",
        city=item.city or "",
        state=item.state or "",
        zip=item.zip or "",
        time_zone=item.time_zone or "",
        tags=tuple(item.tags),
        custom_fields=dict(item.custom_fields),
        consent_type=consent.type.value if consent else "",
        consent_source=consent.source if consent else "",
        consent_granted_at=consent.granted_at if consent else "",
        consent_revoked_at=(consent.revoked_at or "") if consent else "",
        dnc_scrubbed_at=item.dnc_scrubbed_at or "",
    )


def lead_view(record: LeadRecord) -> LeadResponse:
    """The API's view of a lead."""
    lead = record.lead
    consent = lead.consent
    return LeadResponse(
        id=record.lead_id,
        campaign_id=record.campaign_id,
        phone=lead.phone,
        first_name=lead.first_name,
        last_name=lead.last_name,
        email=lead.email,
        company=lead.company,
        address=lead.address,
        city=lead.city,
        state=lead.state,
        area_code_state=lead.area_code_state,
        zip=lead.zip,
        time_zone=lead.time_zone,
        zone=lead.zone,
        zone_source=lead.zone_source,
        zones=[
            ZoneCandidateResponse(zone=c.zone, evidence=[e.value for e in c.evidence]) for c in lead.zones
        ],
        location_issues=list(lead.location_issues),
        tags=list(lead.tags),
        custom_fields=dict(lead.custom_fields),
        consent=ConsentResponse(
            type=consent.type,
            source=consent.source,
            granted_at=consent.granted_at,
            revoked_at=consent.revoked_at,
        )
        if consent
        else None,
        dnc_scrubbed_at=lead.dnc_scrubbed_at,
        status=record.status,
        attempts=record.attempts,
        last_outcome=record.last_outcome,
        next_attempt_at=record.next_attempt_at,
        source=record.source,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


def _query_error(exc: InvalidPhoneNumber) -> Exception:
    return InvalidInput(
        str(exc), [{"loc": ["query", "phone"], "msg": str(exc), "type": exc.errors[0]["type"]}]
    )

"""Campaigns, leads and CSV imports in the single table (keys in :mod:`dialer.keys`).

Every method takes the tenant first and every key starts with ``T#{tenant}``: another tenant's
record is simply not found.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from dialer import keys
from dialer.adapters import outbox_events
from dialer.adapters.dynamo import DynamoItems
from dialer.adapters.table_ops import TableOps, update_operation
from dialer.domain.callers import preferred_lead
from dialer.domain.campaigns import CampaignConfig, CampaignStatus
from dialer.domain.dialing import LeadStatus, parse_utc, shard_of, utc_iso
from dialer.domain.leads import NormalizedLead, parse_instant
from dialer.domain.location import ZoneCandidate, ZoneEvidence, resolve_location
from dialer.errors import ConcurrentUpdate
from dialer.policies.compliance import ConsentRecord, ConsentType


@dataclass(frozen=True, slots=True)
class CampaignRecord:
    """A stored campaign."""

    tenant_id: str
    campaign_id: str
    status: CampaignStatus
    config: CampaignConfig
    created_at: str
    updated_at: str
    lead_count: int = 0
    status_changed_at: str | None = None
    paused_reason: str | None = None  # set when the system paused it (``budget_reached``)


@dataclass(frozen=True, slots=True)
class LeadRecord:
    """A stored lead: the normalised lead plus its dialling state."""

    tenant_id: str
    lead_id: str
    campaign_id: str
    lead: NormalizedLead
    status: str
    attempts: int
    created_at: str
    updated_at: str
    source: str = "api"
    source_line: int | None = None
    last_outcome: str | None = None
    next_attempt_at: str | None = None
    dials: int = 0
    last_reasons: tuple[str, ...] = ()
    callback_at: str | None = None
    result: str | None = None  # the disposition the lead ended with (interested, not_interested …)


@dataclass(frozen=True, slots=True)
class ImportRecord:
    """A CSV import: where it is in the file and what it has done so far."""

    tenant_id: str
    campaign_id: str
    import_id: str
    status: str
    object_key: str
    created_at: str
    updated_at: str
    filename: str | None = None
    offset: int = 0
    line: int = 0
    header: tuple[str, ...] = ()
    rows: int = 0
    imported: int = 0
    merged: int = 0
    rejected: int = 0
    object_size: int | None = None
    started_at: str | None = None
    finished_at: str | None = None
    failure: str | None = None
    counters: dict[str, int] = field(default_factory=dict)
    upload_until: str | None = None  # the upload URL's expiry (imports made before it have none)


@dataclass(frozen=True, slots=True)
class RowError:
    """One rejected import row."""

    line: int
    reason: str
    field: str | None
    message: str


class CampaignsTable:
    """Campaign, lead and import records."""

    def __init__(self, table_name: str, *, client: Any = None) -> None:
        self.items = DynamoItems(table_name, client=client)
        self.ops = TableOps(self.items)

    # --- campaigns -------------------------------------------------------------------------------
    def put_campaign(
        self,
        record: CampaignRecord,
        *,
        expect_updated_at: str | None = None,
        event: dict[str, Any] | None = None,
    ) -> bool:
        """Create (``expect_updated_at`` None: the id must be free) or replace a campaign whose
        ``updated_at`` is still ``expect_updated_at`` (optimistic concurrency); False otherwise.
        ``event``: the outbox item reporting the change, written in the same transaction."""
        # Active campaigns are in the dialing registry (sparse gsi2): the dispatcher's one Query.
        registry = (
            keys.dialing_registry(record.tenant_id, record.campaign_id)
            if record.status == CampaignStatus.ACTIVE
            else {}
        )
        item = {
            **keys.campaign_key(record.tenant_id, record.campaign_id),
            **keys.campaigns_index(record.tenant_id, record.campaign_id),
            **registry,
            "entity": "campaign",
            "tenant_id": record.tenant_id,
            "campaign_id": record.campaign_id,
            "status": record.status.value,
            "config_json": record.config.model_dump_json(),
            "created_at": record.created_at,
            "updated_at": record.updated_at,
            "status_changed_at": record.status_changed_at,
            "lead_count": record.lead_count,
            "paused_reason": record.paused_reason,
        }
        if expect_updated_at is None:
            return self.items.put(item, condition="attribute_not_exists(pk)")
        # lead_count is a counter other writers ADD to: keep theirs, not our snapshot.
        fields = {k: v for k, v in item.items() if k not in ("pk", "sk", "lead_count") and v is not None}
        return self._update_with(
            update_operation(
                keys.campaign_key(record.tenant_id, record.campaign_id),
                set_fields=fields,
                remove=(() if registry else ("gsi2pk", "gsi2sk"))
                + (() if record.paused_reason else ("paused_reason",)),
                condition="#u = :seen",
                names={"#u": "updated_at"},
                values={":seen": expect_updated_at},
            ),
            event,
        )

    def complete_campaign(self, tenant_id: str, campaign_id: str, *, lead_count: int, at: str) -> bool:
        """active → completed, only if still active and no lead was added since ``lead_count`` was
        read (the dispatcher saw every lead ended); its ``campaign.status_changed`` in the same
        write."""
        event = outbox_events.campaign_status_changed(
            tenant_id,
            campaign_id,
            before=CampaignStatus.ACTIVE.value,
            after=CampaignStatus.COMPLETED.value,
            at=at,
        )
        return self._update_with(
            update_operation(
                keys.campaign_key(tenant_id, campaign_id),
                set_fields={
                    "status": CampaignStatus.COMPLETED.value,
                    "updated_at": at,
                    "status_changed_at": at,
                },
                remove=("gsi2pk", "gsi2sk"),
                condition="#st = :active AND lead_count = :count",
                names={"#st": "status"},
                values={":active": CampaignStatus.ACTIVE.value, ":count": lead_count},
            ),
            event,
        )

    def pause_for(self, tenant_id: str, campaign_id: str, *, reason: str, at: str) -> bool:
        """active → paused by the system (``reason``: ``budget_reached``, ``circuit_breaker: …``),
        only if still active; out of the dialing registry so the dispatcher stops claiming at
        once. Its ``campaign.status_changed`` (with the reason) in the same write."""
        event = outbox_events.campaign_status_changed(
            tenant_id,
            campaign_id,
            before=CampaignStatus.ACTIVE.value,
            after=CampaignStatus.PAUSED.value,
            at=at,
            reason=reason,
        )
        return self._update_with(
            update_operation(
                keys.campaign_key(tenant_id, campaign_id),
                set_fields={
                    "status": CampaignStatus.PAUSED.value,
                    "paused_reason": reason,
                    "updated_at": at,
                    "status_changed_at": at,
                },
                remove=("gsi2pk", "gsi2sk"),
                condition="#st = :active",
                names={"#st": "status"},
                values={":active": CampaignStatus.ACTIVE.value},
            ),
            event,
        )

    def _update_with(self, update: dict[str, Any], event: dict[str, Any] | None) -> bool:
        """One update, alone or in one transaction with the outbox event that reports it."""
        if event is None:
            return bool(self.ops.run_update(update))
        return self.ops.transact([update, event])

    def get_campaign(self, tenant_id: str, campaign_id: str) -> CampaignRecord | None:
        """One campaign of this tenant, or None."""
        item = self.items.get(keys.campaign_key(tenant_id, campaign_id))
        return campaign_from_item(item) if item else None

    def list_campaigns(
        self, tenant_id: str, *, limit: int, after: str | None
    ) -> tuple[list[CampaignRecord], str | None]:
        """A page of this tenant's campaigns, oldest first."""
        items, next_after = self.items.query_index(
            keys.campaigns_index(tenant_id)["gsi1pk"], limit=limit, after=after
        )
        return [campaign_from_item(i) for i in items], next_after

    def delete_campaign(self, tenant_id: str, campaign_id: str, *, expect_updated_at: str) -> bool:
        """Delete a campaign that has not changed since it was read; False otherwise."""
        return self.ops.transact(
            [
                {
                    "Delete": {
                        "Key": keys.campaign_key(tenant_id, campaign_id),
                        "ConditionExpression": "updated_at = :seen AND lead_count = :zero",
                        "ExpressionAttributeValues": {":seen": expect_updated_at, ":zero": 0},
                    }
                }
            ]
        )

    def add_lead_count(self, tenant_id: str, campaign_id: str, amount: int) -> None:
        """Count new leads on the campaign (an atomic ADD)."""
        if amount:
            self.ops.update(keys.campaign_key(tenant_id, campaign_id), add={"lead_count": amount})

    # --- leads -----------------------------------------------------------------------------------
    def get_lead(self, tenant_id: str, lead_id: str) -> LeadRecord | None:
        """One lead of this tenant, or None."""
        item = self.items.get(keys.lead_key(tenant_id, lead_id))
        return lead_from_item(item) if item else None

    def get_leads(self, tenant_id: str, lead_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored items of the leads that exist among ``lead_ids`` (BatchGetItem)."""
        found = self.ops.batch_get([keys.lead_key(tenant_id, lead_id) for lead_id in lead_ids])
        return {str(item["lead_id"]): item for item in found}

    def put_new_leads(self, records: Sequence[LeadRecord]) -> None:
        """Write leads known not to exist yet, 25 per BatchWriteItem (unprocessed items retried)."""
        self.ops.batch_put(lead_item(r) for r in records)

    def merge_lead(self, record: LeadRecord, *, expect_updated_at: str) -> bool:
        """Overwrite the lead data (never the dialling state) of an existing lead, if it has not
        changed since ``expect_updated_at``; False otherwise (re-read and merge again)."""
        return bool(
            self.ops.update(
                keys.lead_key(record.tenant_id, record.lead_id),
                set_fields={"data": _data_json(record.lead), "updated_at": record.updated_at},
                condition="#u = :seen",
                names={"#u": "updated_at"},
                values={":seen": expect_updated_at},
            )
        )

    def set_consent(
        self, tenant_id: str, lead_id: str, consent: ConsentRecord, updated_at: str
    ) -> LeadRecord | None:
        """Replace a lead's consent record; None if there is no such lead."""
        for _ in range(5):
            item = self.items.get(keys.lead_key(tenant_id, lead_id))
            if item is None:
                return None
            current = lead_from_item(item)
            lead = replace(current.lead, consent=consent)
            if self.merge_lead(
                replace(current, lead=lead, updated_at=updated_at), expect_updated_at=current.updated_at
            ):
                return replace(current, lead=lead, updated_at=updated_at)
        raise ConcurrentUpdate(f"lead {lead_id} kept changing; try again")

    def leads_of_campaign(
        self, tenant_id: str, campaign_id: str, *, limit: int, after: str | None
    ) -> tuple[list[LeadRecord], str | None]:
        """A page of a campaign's leads by lead id (gsi2)."""
        index = keys.campaign_leads_index(tenant_id, campaign_id)
        items, next_after = self.ops.query(
            "gsi2pk", index["gsi2pk"], index="gsi2", sk_name="gsi2sk", after=after, limit=limit
        )
        return [lead_from_item(i) for i in items], next_after

    def leads_by_phone(self, tenant_id: str, e164: str, *, limit: int = 100) -> list[LeadRecord]:
        """This tenant's leads with this phone number, across campaigns (gsi1)."""
        index = keys.leads_by_phone_index(tenant_id, e164)
        items, _ = self.ops.query(
            "gsi1pk", index["gsi1pk"], index="gsi1", sk_name="gsi1sk", prefix="LEAD#", limit=limit
        )
        return [lead_from_item(i) for i in items]

    def caller_lead(self, tenant_id: str, e164: str) -> LeadRecord | None:
        """The lead a caller with this number is, by the one rule for callers
        (:func:`~dialer.domain.callers.preferred_lead`), or None."""
        leads = self.leads_by_phone(tenant_id, e164)
        statuses: dict[str, str | None] = {}
        for campaign_id in {lead.campaign_id for lead in leads}:
            campaign = self.get_campaign(tenant_id, campaign_id)
            statuses[campaign_id] = campaign.status.value if campaign else None
        return preferred_lead(leads, lambda lead: lead.campaign_id, statuses.get)

    # --- imports ---------------------------------------------------------------------------------
    def create_import(self, record: ImportRecord) -> bool:
        """Store a new import record; False if the id is taken."""
        item = {
            **keys.import_key(record.tenant_id, record.import_id),
            "entity": "import",
            "tenant_id": record.tenant_id,
            "campaign_id": record.campaign_id,
            "import_id": record.import_id,
            "status": record.status,
            "object_key": record.object_key,
            "filename": record.filename,
            "created_at": record.created_at,
            "updated_at": record.updated_at,
            "offset": 0,
            "line": 0,
            "rows": 0,
            "imported": 0,
            "merged": 0,
            "rejected": 0,
        }
        if record.upload_until:
            item["upload_until"] = record.upload_until
            item.update(keys.pending_imports_index(record.tenant_id, record.upload_until, record.import_id))
        return self.items.put(item, condition="attribute_not_exists(pk)")

    def get_import(self, tenant_id: str, import_id: str) -> ImportRecord | None:
        """One import of this tenant, or None."""
        item = self.items.get(keys.import_key(tenant_id, import_id))
        return _import(item) if item else None

    def start_import(self, tenant_id: str, import_id: str, *, size: int, at: str) -> bool:
        """pending → processing; False if it was not pending."""
        return bool(
            self.ops.update(
                keys.import_key(tenant_id, import_id),
                set_fields={"status": "processing", "object_size": size, "started_at": at, "updated_at": at},
                remove=_PENDING_INDEX,
                condition="#st = :pending",
                names={"#st": "status"},
                values={":pending": "pending"},
            )
        )

    def checkpoint_import(
        self,
        tenant_id: str,
        import_id: str,
        *,
        from_offset: int,
        to_offset: int,
        line: int,
        header: Sequence[str],
        counts: Mapping[str, int],
        at: str,
        finished: bool,
        campaign_id: str,
        totals: Mapping[str, int] | None = None,
    ) -> bool:
        """Move the checkpoint from ``from_offset`` to ``to_offset`` and add ``counts``.

        Conditional on the stored offset still being ``from_offset`` while processing, so a
        duplicate continuation message cannot count a chunk twice; False when it lost that race.
        The ``finished`` move writes ``import.completed`` (``totals``: the import's counts with
        this chunk's) in the same transaction: the worker that loses the race writes neither.
        """
        fields: dict[str, Any] = {"offset": to_offset, "line": line, "header": list(header), "updated_at": at}
        if finished:
            fields.update(status="completed", finished_at=at)
        operation = update_operation(
            keys.import_key(tenant_id, import_id),
            set_fields=fields,
            add={k: v for k, v in counts.items() if v},
            condition="#off = :from AND #st = :processing",
            names={"#off": "offset", "#st": "status"},
            values={":from": from_offset, ":processing": "processing"},
        )
        if not finished:
            return bool(self.ops.run_update(operation))
        event = outbox_events.import_completed(
            tenant_id,
            campaign_id=campaign_id,
            import_id=import_id,
            status="completed",
            counts=totals or counts,
            failure=None,
            at=at,
        )
        return self.ops.transact([operation, event])

    def fail_import(
        self,
        tenant_id: str,
        import_id: str,
        *,
        reason: str,
        at: str,
        campaign_id: str,
        counts: Mapping[str, int] | None = None,
    ) -> bool:
        """Mark an import failed (an unreadable or oversized file, every retry failed), unless
        it already ended; its ``import.completed`` (``failed``, ``counts``: the rows done before
        it stopped) in the same transaction. False if it had ended."""
        return self._end_import(
            tenant_id, import_id, ("pending", "processing"), reason, at, campaign_id, counts or {}
        )

    def expire_import(
        self, tenant_id: str, import_id: str, *, reason: str, at: str, campaign_id: str
    ) -> bool:
        """pending → failed (its file never came), with its ``import.completed``; False if it
        started or ended meanwhile."""
        return self._end_import(tenant_id, import_id, ("pending",), reason, at, campaign_id, {})

    def _end_import(
        self,
        tenant_id: str,
        import_id: str,
        from_statuses: Sequence[str],
        reason: str,
        at: str,
        campaign_id: str,
        counts: Mapping[str, int],
    ) -> bool:
        placeholders = {f":from{i}": s for i, s in enumerate(from_statuses)}
        operation = update_operation(
            keys.import_key(tenant_id, import_id),
            set_fields={"status": "failed", "failure": reason, "finished_at": at, "updated_at": at},
            remove=_PENDING_INDEX,
            condition=f"#st IN ({', '.join(placeholders)})",
            names={"#st": "status"},
            values=placeholders,
        )
        event = outbox_events.import_completed(
            tenant_id,
            campaign_id=campaign_id,
            import_id=import_id,
            status="failed",
            counts=counts,
            failure=reason,
            at=at,
        )
        return self.ops.transact([operation, event])

    def overdue_imports(self, tenant_id: str, before: str, *, limit: int = 100) -> list[ImportRecord]:
        """Imports still waiting for their file whose upload URL expired before ``before``,
        oldest deadline first (at most ``limit``)."""
        pk = keys.pending_imports_index(tenant_id)["gsi1pk"]
        items, _ = self.ops.query("gsi1pk", pk, index="gsi1", sk_name="gsi1sk", limit=limit)
        return [_import(i) for i in items if str(i.get("upload_until", "")) < before]

    def put_row_errors(self, tenant_id: str, import_id: str, errors: Sequence[RowError]) -> None:
        """Store rejected rows (keyed by line, so a replayed chunk overwrites, never duplicates)."""
        self.ops.batch_put(
            {
                **keys.import_error_key(tenant_id, import_id, e.line),
                "entity": "import_error",
                "line": e.line,
                "reason": e.reason,
                "field": e.field,
                "message": e.message,
            }
            for e in errors
        )

    def row_errors(
        self, tenant_id: str, import_id: str, *, limit: int, after: str | None
    ) -> tuple[list[RowError], str | None]:
        """A page of an import's rejected rows, by line."""
        key = keys.import_key(tenant_id, import_id)
        items, next_after = self.ops.query("pk", key["pk"], prefix="ERR#", after=after, limit=limit)
        return [
            RowError(int(i["line"]), i["reason"], i.get("field"), i.get("message", "")) for i in items
        ], next_after


# --- item mapping ---------------------------------------------------------------------------------
def lead_data(lead: NormalizedLead) -> dict[str, Any]:
    """The stored attributes of a normalised lead (None: absent)."""
    return {
        "phone": lead.phone,
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "email": lead.email,
        "company": lead.company,
        "address": lead.address,
        "city": lead.city,
        "state": lead.state,
        "zip": lead.zip,
        "time_zone": lead.time_zone,
        "zone": lead.zone,
        "zone_source": lead.zone_source,
        "area_code_state": lead.area_code_state,
        "location_issues": list(lead.location_issues) or None,
        # Always written, even empty: an item without it predates candidate zones (see _location).
        "zones": [{"zone": c.zone, "evidence": [e.value for e in c.evidence]} for c in lead.zones],
        "tags": list(lead.tags) or None,
        "custom_fields": dict(lead.custom_fields) or None,
        "consent": _consent_item(lead.consent) if lead.consent else None,
        "dnc_scrubbed_at": lead.dnc_scrubbed_at.isoformat() if lead.dnc_scrubbed_at else None,
    }


def lead_item(record: LeadRecord) -> dict[str, Any]:
    """The full item of a new lead. A pending lead gets its due entry (due at once): the dispatcher
    finds it as soon as its campaign is active, without any backfill."""
    due: dict[str, Any] = {}
    if record.status == LeadStatus.PENDING:
        at = utc_iso(parse_utc(record.next_attempt_at or record.created_at))
        due = {
            **keys.due_index(
                record.tenant_id, record.campaign_id, shard_of(record.lead_id), 1, at, record.lead_id
            ),
            "next_attempt_at": at,
        }
    return {
        **due,
        **keys.lead_key(record.tenant_id, record.lead_id),
        **keys.leads_by_phone_index(record.tenant_id, record.lead.phone, record.campaign_id, record.lead_id),
        **keys.campaign_leads_index(record.tenant_id, record.campaign_id, record.lead_id),
        "entity": "lead",
        "tenant_id": record.tenant_id,
        "lead_id": record.lead_id,
        "campaign_id": record.campaign_id,
        "status": record.status,
        "attempts": record.attempts,
        "dials": 0,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "source": record.source,
        "source_line": record.source_line,
        "phone": record.lead.phone,
        "data": _data_json(record.lead),
    }


def _data_json(lead: NormalizedLead) -> str:
    # One JSON attribute for the lead's profile: items stay small in attribute count (cheaper to
    # serialise, and moto's item-size check is quadratic in it) and nested values need no Decimals.
    data = {k: v for k, v in lead_data(lead).items() if v is not None and k != "phone"}
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def lead_from_item(item: Mapping[str, Any]) -> LeadRecord:
    """A stored lead item as a :class:`LeadRecord`."""
    data = json.loads(item.get("data") or "{}")
    consent = data.get("consent")
    scrubbed = data.get("dnc_scrubbed_at")
    lead = NormalizedLead(
        phone=item["phone"],
        first_name=data.get("first_name"),
        last_name=data.get("last_name"),
        email=data.get("email"),
        company=data.get("company"),
        address=data.get("address"),
        city=data.get("city"),
        state=data.get("state"),
        zip=data.get("zip"),
        time_zone=data.get("time_zone"),
        zone=data.get("zone"),
        zone_source=data.get("zone_source", "none"),
        area_code_state=data.get("area_code_state"),
        location_issues=tuple(data.get("location_issues") or ()),
        tags=tuple(data.get("tags") or ()),
        custom_fields={str(k): str(v) for k, v in (data.get("custom_fields") or {}).items()},
        consent=_consent_record(consent) if consent else None,
        dnc_scrubbed_at=parse_instant(scrubbed) if scrubbed else None,
    )
    lead = replace(lead, **_location(data, lead))
    return LeadRecord(
        tenant_id=item["tenant_id"],
        lead_id=item["lead_id"],
        campaign_id=item["campaign_id"],
        lead=lead,
        status=item.get("status", "pending"),
        attempts=int(item.get("attempts", 0)),
        created_at=item.get("created_at", ""),
        updated_at=item.get("updated_at", ""),
        source=item.get("source", "api"),
        source_line=int(item["source_line"]) if item.get("source_line") is not None else None,
        last_outcome=item.get("last_outcome"),
        next_attempt_at=item.get("next_attempt_at"),
        dials=int(item.get("dials") or 0),
        last_reasons=tuple(item.get("last_reasons") or ()),
        callback_at=item.get("callback_at"),
        result=item.get("result"),
    )


def _location(data: Mapping[str, Any], lead: NormalizedLead) -> dict[str, Any]:
    """The candidate zones of a stored lead.

    Items written before candidate zones existed (issue 13) hold one resolved ``zone``, possibly
    picked by the rule that let a number's zone stand for a multi-zone address state, or none where
    a state spanning several zones made it ``unknown_timezone``: the location is resolved again
    from the facts stored beside it (number, explicit zone, address state), so such a lead is read
    with every zone it may be in.
    """
    zones = data.get("zones")
    if zones is not None:
        return {
            "zones": tuple(
                ZoneCandidate(str(z["zone"]), tuple(ZoneEvidence(str(e)) for e in z.get("evidence") or ()))
                for z in zones
            )
        }
    location = resolve_location(lead.phone, explicit_zone=lead.time_zone, address_state=lead.state)
    if not location.candidates and data.get("zone"):  # not expected (the old evidence still counts)
        return {"zones": (ZoneCandidate(str(data["zone"]), ()),)}
    return {
        "zone": location.zone,
        "zone_source": location.source.value,
        "area_code_state": location.area_code_state,
        "location_issues": tuple(i.value for i in location.issues),
        "zones": location.candidates,
    }


def _consent_item(consent: ConsentRecord) -> dict[str, Any]:
    return {
        "type": consent.type.value,
        "source": consent.source,
        "granted_at": consent.granted_at.isoformat(),
        "revoked_at": consent.revoked_at.isoformat() if consent.revoked_at else None,
    }


def _consent_record(item: Mapping[str, Any]) -> ConsentRecord:
    revoked = item.get("revoked_at")
    return ConsentRecord(
        type=ConsentType(item["type"]),
        source=str(item.get("source") or ""),
        granted_at=parse_instant(item["granted_at"]),
        revoked_at=parse_instant(revoked) if revoked else None,
    )


def campaign_from_item(item: Mapping[str, Any]) -> CampaignRecord:
    """A stored campaign item as a :class:`CampaignRecord`."""
    return CampaignRecord(
        tenant_id=item["tenant_id"],
        campaign_id=item["campaign_id"],
        status=CampaignStatus(item["status"]),
        config=CampaignConfig.model_validate(json.loads(item["config_json"])),
        created_at=item.get("created_at", ""),
        updated_at=item.get("updated_at", ""),
        lead_count=int(item.get("lead_count", 0)),
        status_changed_at=item.get("status_changed_at"),
        paused_reason=item.get("paused_reason"),
    )


def _import(item: Mapping[str, Any]) -> ImportRecord:
    return ImportRecord(
        tenant_id=item["tenant_id"],
        campaign_id=item["campaign_id"],
        import_id=item["import_id"],
        status=item["status"],
        object_key=item["object_key"],
        created_at=item.get("created_at", ""),
        updated_at=item.get("updated_at", ""),
        filename=item.get("filename"),
        offset=int(item.get("offset", 0)),
        line=int(item.get("line", 0)),
        header=tuple(item.get("header") or ()),
        rows=int(item.get("rows", 0)),
        imported=int(item.get("imported", 0)),
        merged=int(item.get("merged", 0)),
        rejected=int(item.get("rejected", 0)),
        object_size=int(item["object_size"]) if item.get("object_size") is not None else None,
        started_at=item.get("started_at"),
        finished_at=item.get("finished_at"),
        failure=item.get("failure"),
        upload_until=item.get("upload_until"),
    )


#: The sparse gsi1 entry of a pending import (see :func:`dialer.keys.pending_imports_index`).
_PENDING_INDEX = ("gsi1pk", "gsi1sk")


def iso(at: datetime) -> str:
    """The stored form of an instant (UTC, seconds, ``Z``-less ISO 8601 with offset)."""
    return at.isoformat(timespec="seconds")

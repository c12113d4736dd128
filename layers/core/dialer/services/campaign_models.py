"""Request and response models of the campaigns API (issue 6): campaigns, leads, imports, DNC.

The campaign configuration itself is :class:`dialer.domain.campaigns.CampaignConfig` (one
definition for the API, the table and the dialer); this module adds the envelopes around it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from dialer.domain.campaigns import (
    AssistantVariant,
    Budget,
    CallingWindow,
    CampaignConfig,
    CampaignStatus,
    ConsentRequirement,
    DialMethod,
    Pacing,
    RetryPolicy,
)
from dialer.policies.compliance import ConsentType

MAX_BATCH = 1000
Text = Annotated[str, Field(max_length=500)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- campaigns ----------------------------------------------------------------------------------
class CampaignCreateRequest(CampaignConfig):
    """A new campaign (created as a draft)."""


class CampaignPatchRequest(_Strict):
    """Fields to change; a field sent as null is cleared (where it may be). Allowed until the
    campaign is completed or canceled."""

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    description: Annotated[str, Field(max_length=2000)] | None = None
    assistant_id: (
        Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")] | None
    ) = None
    assistant_variants: Annotated[list[AssistantVariant], Field(max_length=10)] | None = None
    dial_method: DialMethod | None = None
    caller_ids: (
        Annotated[
            list[Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]], Field(max_length=500)
        ]
        | None
    ) = None
    window: CallingWindow | None = None
    pacing: Pacing | None = None
    retry: RetryPolicy | None = None
    consent: ConsentRequirement | None = None
    budget: Budget | None = None
    variables: dict[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")], str] | None = None


class CampaignResponse(CampaignConfig):
    """A campaign: its configuration, status and lead count."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    status: CampaignStatus
    lead_count: int
    created_at: str
    updated_at: str
    status_changed_at: str | None = None
    paused_reason: str | None = Field(
        default=None, description="Why the system paused it (budget_reached); null when a user did."
    )


class CampaignListResponse(BaseModel):
    """A page of campaigns, oldest first."""

    data: list[CampaignResponse]
    next_cursor: str | None = None


class CampaignStatusRequest(_Strict):
    """Move the campaign: draft → active ⇄ paused → completed | canceled."""

    status: Literal["active", "paused", "completed", "canceled"]


# --- leads --------------------------------------------------------------------------------------
class ConsentInput(_Strict):
    """A person's consent to be called."""

    type: ConsentType
    source: Annotated[str, Field(min_length=1, max_length=500)] = Field(
        description="Where it was given (a form URL, a signed document id...)."
    )
    granted_at: datetime = Field(description="When it was given: not more than a day in the future.")
    revoked_at: datetime | None = Field(
        default=None,
        description="When it was revoked: not before granted_at, not more than a day in the future.",
    )


class LeadInput(_Strict):
    """A lead as a client sends it (the fields of a dial-smart-system lead)."""

    phone: Annotated[str, Field(min_length=1, max_length=64, description="Any format; normalised to E.164.")]
    first_name: Text | None = None
    last_name: Text | None = None
    email: Text | None = None
    company: Text | None = None
    address: Text | None = None
    city: Text | None = None
    state: Annotated[str, Field(max_length=64, description="US state code or name.")] | None = None
    zip: Annotated[str, Field(max_length=20)] | None = None
    time_zone: (
        Annotated[str, Field(max_length=64, description="IANA zone; wins over address and number.")] | None
    ) = None
    tags: Annotated[list[Text], Field(max_length=50)] = Field(default_factory=list)
    custom_fields: dict[Annotated[str, Field(max_length=64)], Text] = Field(default_factory=dict)
    consent: ConsentInput | None = None
    dnc_scrubbed_at: datetime | None = Field(default=None, description="Last national-DNC registry scrub.")


class LeadBatchRequest(_Strict):
    """Up to 1,000 leads; a phone number already in the campaign merges into its lead."""

    leads: Annotated[list[LeadInput], Field(min_length=1, max_length=MAX_BATCH)]


class ItemError(BaseModel):
    """Why one item of a batch was refused."""

    index: int
    reason: str
    field: str | None = None
    message: str


class LeadBatchResponse(BaseModel):
    """What a batch did: every item is imported, merged or rejected (with a reason)."""

    received: int
    imported: int
    merged: int
    rejected: int
    lead_ids: list[str | None] = Field(description="Per item, the lead it landed on (null: rejected).")
    errors: list[ItemError]


class ConsentResponse(BaseModel):
    """A consent record."""

    type: ConsentType
    source: str
    granted_at: datetime
    revoked_at: datetime | None = None


class ZoneCandidateResponse(BaseModel):
    """A zone the person may be in, and the facts that say so."""

    zone: str
    evidence: list[str] = Field(description="explicit_zone, address_state and/or number.")


class LeadResponse(BaseModel):
    """A lead."""

    id: str
    campaign_id: str
    phone: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    company: str | None = None
    address: str | None = None
    city: str | None = None
    state: str | None = Field(default=None, description="Address state (USPS code).")
    area_code_state: str | None = Field(default=None, description="State the number's area code presumes.")
    zip: str | None = None
    time_zone: str | None = Field(default=None, description="The explicit zone given, if any.")
    zone: str | None = Field(
        default=None,
        description="The lead-local zone (the address's, or the single candidate): the local time "
        "shown to the assistant. Calls must be legal in every zone of `zones`.",
    )
    zone_source: str
    zones: list[ZoneCandidateResponse] = Field(
        description="Every zone the person may be in, with its evidence; calling windows must hold "
        "in all of them (empty: unknown, not called without a campaign fallback zone)."
    )
    location_issues: list[str]
    tags: list[str]
    custom_fields: dict[str, str]
    consent: ConsentResponse | None = None
    dnc_scrubbed_at: datetime | None = None
    status: str
    attempts: int = Field(
        description="Calls counted against the campaign's max_attempts: each is counted when it is "
        "settled, so a lead on a call (status dialing) shows the calls before it. Callbacks the "
        "person asked for are not counted."
    )
    last_outcome: str | None = None
    next_attempt_at: str | None = None
    source: str
    created_at: str
    updated_at: str


class LeadListResponse(BaseModel):
    """A page of leads."""

    data: list[LeadResponse]
    next_cursor: str | None = None


class ReasonDetail(BaseModel):
    """One reason a lead may not be dialled now, explained."""

    reason: str
    code: str
    scope: str | None = None
    deferrable: bool = Field(description="True when time alone lifts it.")
    message: str
    zones: list[str] = Field(
        default_factory=list,
        description="For a window, Sunday, holiday or daily-cap reason: the candidate zones where it blocks.",
    )
    detail: str = Field(
        description="The reason with the zones it blocks in: `outside_window:federal@America/Chicago`."
    )


class EligibilityResponse(BaseModel):
    """May this lead be dialled at ``evaluated_at``, and if not, why and when."""

    lead_id: str
    campaign_id: str
    campaign_status: CampaignStatus
    eligible: bool
    reasons: list[str]
    details: list[ReasonDetail]
    next_window_start: datetime | None = Field(
        description="Earliest legal instant (now when eligible); null when time alone does not help."
    )
    zone: str | None = Field(default=None, description="The lead-local zone (`local_time` is in it).")
    local_time: datetime | None = None
    zones: list[str] = Field(
        default_factory=list,
        description="Every zone the windows were evaluated in (the lead-local one first).",
    )
    evaluated_at: datetime
    dnc: bool
    calls_last_24h: int


# --- imports ------------------------------------------------------------------------------------
class ImportCreateRequest(_Strict):
    """Start a CSV import: the answer carries the URL to PUT the file to."""

    filename: Annotated[str, Field(max_length=255)] | None = None


class ImportCreatedResponse(BaseModel):
    """Where to upload the CSV (an HTTP PUT of the raw file, before ``expires_in`` seconds pass)."""

    import_id: str
    campaign_id: str
    status: str
    upload_url: str
    upload_method: Literal["PUT"] = "PUT"
    expires_in: int


class RowErrorResponse(BaseModel):
    """A rejected CSV row: its line in the file (the header is line 1) and why."""

    line: int
    reason: str
    field: str | None = None
    message: str


class ImportProgress(BaseModel):
    """Counts so far: every data row is imported, merged (a phone already in the campaign) or rejected."""

    bytes_read: int
    total_bytes: int | None = None
    rows: int
    imported: int
    merged: int
    rejected: int


class ImportResponse(BaseModel):
    """A CSV import: pending → processing → completed | failed."""

    import_id: str
    campaign_id: str
    status: Literal["pending", "processing", "completed", "failed"]
    filename: str | None = None
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    failure: str | None = None
    progress: ImportProgress
    errors: list[RowErrorResponse]
    next_errors_cursor: str | None = None


# --- DNC ----------------------------------------------------------------------------------------
class DncAddRequest(_Strict):
    """Put a number on the tenant's do-not-call list."""

    phone: Annotated[str, Field(min_length=1, max_length=64)]
    reason: Annotated[str, Field(min_length=1, max_length=500)] = "requested"
    source: Annotated[str, Field(min_length=1, max_length=100)] = "api"


class DncBulkRequest(_Strict):
    """Up to 1,000 numbers with one reason."""

    phones: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=64)]], Field(min_length=1, max_length=MAX_BATCH)
    ]
    reason: Annotated[str, Field(min_length=1, max_length=500)] = "bulk import"
    source: Annotated[str, Field(min_length=1, max_length=100)] = "api"


class DncRemoveRequest(_Strict):
    """Take a number off the list; the reason is required and audited."""

    phone: Annotated[str, Field(min_length=1, max_length=64)]
    reason: Annotated[str, Field(min_length=3, max_length=500)]


class DncEntryResponse(BaseModel):
    """A number on the list."""

    phone: str
    reason: str
    source: str
    added_at: str
    added_by: str


class DncListResponse(BaseModel):
    """A page of the DNC list."""

    data: list[DncEntryResponse]
    next_cursor: str | None = None


class DncBulkResponse(BaseModel):
    """What a bulk add did."""

    received: int
    added: int
    already_listed: int
    rejected: int
    errors: list[ItemError]


class DncCheckResponse(BaseModel):
    """Whether a number is on the list."""

    phone: str
    dnc: bool
    entry: DncEntryResponse | None = None


class DncAuditResponse(BaseModel):
    """One change to the list."""

    audit_id: str
    phone: str
    action: Literal["added", "removed"]
    reason: str
    source: str
    actor: str
    at: str


class DncAuditListResponse(BaseModel):
    """A page of a number's DNC changes, newest first."""

    data: list[DncAuditResponse]
    next_cursor: str | None = None

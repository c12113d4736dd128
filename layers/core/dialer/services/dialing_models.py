"""API models of the dialing engine's routes: callbacks, campaign progress, a lead's attempts."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from dialer.services.campaign_models import LeadResponse


class CallbackRequest(BaseModel):
    """When to call the lead back."""

    model_config = ConfigDict(extra="forbid")

    at: datetime = Field(
        description="ISO 8601. With an offset (or Z): that instant. Without one: lead-local wall time."
    )
    note: str | None = Field(default=None, max_length=500, description="Context for the assistant.")


class CallbackResponse(BaseModel):
    """The callback as scheduled."""

    lead_id: str
    requested_at: datetime = Field(description="The requested instant (UTC).")
    scheduled_at: datetime = Field(
        description="When it will be dialled: the request, or the next legal instant."
    )
    adjusted: bool = Field(description="True when the requested instant was not legal and was moved.")
    reasons: list[str] = Field(
        description="Why the requested instant was not legal (empty when not adjusted)."
    )
    zone: str | None = None
    applies: str = Field(description="'now': the lead is due then; 'after_call': after the call in progress.")


class AttemptView(BaseModel):
    """One claimed attempt of a lead, with its call."""

    n: int
    state: str
    callback: bool
    claimed_at: str
    posting_at: str | None = None
    accepted_at: str | None = None
    ended_at: str | None = None
    call_control_id: str | None = None
    outcome: str | None = None
    assistant_id: str | None = None
    caller_id_id: str | None = None
    method: str | None = None
    reason: str | None = None
    call_state: str | None = Field(default=None, description="The call record's state, if it has one.")
    duration_s: int | None = None


class LeadDetailResponse(LeadResponse):
    """A lead with its dialling history."""

    last_reasons: list[str] = Field(default_factory=list, description="Why it was last deferred or ended.")
    callback_at: str | None = None
    history: list[AttemptView] = Field(default_factory=list, description="Attempts, oldest first.")


class ProgressResponse(BaseModel):
    """Where a campaign is."""

    campaign_id: str
    status: str
    lead_count: int
    leads_by_state: dict[str, int]
    in_flight: int
    due_now: int
    deferred_by_reason: dict[str, int]
    outcomes: dict[str, int]
    dials_total: int
    dials_last_minute: int = Field(description="Claims in the last minute (approximate: minute buckets).")
    dial_limit_per_minute: int
    slots_in_use: int
    slot_limit: int
    evaluated_at: str = Field(description="The engine's clock when this answer was computed (UTC).")
    next_due_at: str | None = Field(
        default=None,
        description="When the next lead that waits falls due (a retry delay, a callback, a state's "
        "cap), after evaluated_at; null when none waits for a later time.",
    )

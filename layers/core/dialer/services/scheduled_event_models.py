"""Request and response bodies of the scheduled-events routes (``/leads/{id}/scheduled-…``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Channel = Literal["phone_call", "sms_chat"]


class ScheduledCallRequest(BaseModel):
    """When Telnyx should call the lead with the campaign's assistant."""

    model_config = ConfigDict(extra="forbid")

    at: datetime = Field(
        description="ISO 8601. With an offset (or Z): that instant. Without one: lead-local wall time. "
        "Must be inside the lead's legal calling window."
    )
    note: str | None = Field(
        default=None,
        max_length=500,
        description="Context for the assistant (dynamic variable callback_note).",
    )


class ScheduledTextRequest(BaseModel):
    """When Telnyx should text the lead from one of the campaign's caller IDs."""

    model_config = ConfigDict(extra="forbid")

    at: datetime = Field(
        description="ISO 8601. With an offset (or Z): that instant. Without one: lead-local wall time. "
        "Must be inside the lead's legal contact window."
    )
    text: str = Field(min_length=1, max_length=1600, description="The message.")


class ScheduledEventResponse(BaseModel):
    """One scheduled call or text of a lead, as we created it at Telnyx."""

    event_id: str = Field(description="Telnyx's scheduled_event_id.")
    lead_id: str
    campaign_id: str
    channel: Channel
    scheduled_at: datetime = Field(description="When Telnyx places the call or sends the text (UTC).")
    zone: str | None = Field(default=None, description="The lead's zone (the time was checked there).")
    assistant_id: str
    from_number: str
    text: str | None = None
    status: Literal["scheduled", "canceled"]
    created_at: str
    canceled_at: str | None = None
    cancel_reason: str | None = Field(
        default=None, description="api, dnc or consent_revoked: who canceled it."
    )


class ScheduledEventListResponse(BaseModel):
    """A lead's scheduled events (newest first)."""

    data: list[ScheduledEventResponse]


class NotCallableResponse(BaseModel):
    """409: the lead may not be contacted at all; nothing was created."""

    error: Literal["not_callable"]
    message: str
    reasons: list[str] = Field(description="Stable compliance reason codes, e.g. dnc, consent_revoked.")

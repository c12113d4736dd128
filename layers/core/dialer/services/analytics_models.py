"""API models of the analytics routes: campaign stats with A/B variants, calls, a lead's calls."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class CallFigures(BaseModel):
    """Calls of a campaign (or of one variant), from counters kept as events are applied."""

    calls: int = Field(description="Ended calls.")
    connected: int = Field(description="Ended calls that were answered (a person or a machine).")
    answered_human: int
    voicemail: int = Field(
        description="Ended calls a machine answered (outcomes voicemail and voicemail_left)."
    )
    connect_rate: float | None
    human_rate: float | None
    voicemail_rate: float | None
    average_talk_s: float | None = Field(description="Conversation seconds per human-answered call.")
    cost_total: str = Field(description="Decimal string, as Telnyx sends money.")
    cost_per_call: str | None
    cost_per_connected_minute: str | None
    converted: int = Field(description="Calls concluded interested or appointment_set.")
    conversion_rate: float | None
    by_outcome: dict[str, int]
    by_disposition: dict[str, int]
    cost_by_outcome: dict[str, str] = Field(description="Spend of ended calls by outcome (decimal strings).")


class VariantStats(BaseModel):
    """One A/B variant against the first (the baseline): two-proportion z-test on conversion."""

    assistant_id: str
    figures: CallFigures
    baseline: bool
    conversion_difference: float | None = Field(description="This variant's rate minus the baseline's.")
    z: float | None
    p_value: float | None
    significant: bool = Field(description="p < 0.05 with a large enough sample.")
    sample_too_small: bool


class ResultsLink(BaseModel):
    """Where a big results export waits (the 303's body; the same URL is in ``Location``)."""

    url: str = Field(description="Presigned S3 URL of the CSV; fetch it without the API key.")
    expires_at: str = Field(description="When the link stops working (UTC).")
    rows: int = Field(description="Leads in the export.")


class ResultsExportStatus(BaseModel):
    """An asynchronous results export (a campaign too big to answer inline)."""

    id: str = Field(description="The export's id.")
    campaign_id: str
    status: Literal["pending", "completed", "failed"] = Field(
        description="`pending` while it is built; `completed` (the GET answers 303 to the CSV); `failed`."
    )
    created_at: str
    finished_at: str | None = None
    rows: int | None = Field(default=None, description="Leads in the export, once completed.")
    failure: str | None = Field(default=None, description="Why it failed (ask for the results again).")
    location: str = Field(description="Where to GET the export: 202 while pending, 303 to the CSV when done.")


class TimelineHour(BaseModel):
    """Calls that ended in one UTC hour."""

    hour: str = Field(description="Start of the hour, UTC (ISO 8601).")
    calls: int
    connected: int
    answered_human: int
    converted: int
    cost: str = Field(description="Spend of the hour's calls (decimal string).")


class CampaignStatsResponse(BaseModel):
    """A campaign's results so far."""

    campaign_id: str
    status: str
    paused_reason: str | None
    lead_count: int
    leads_by_state: dict[str, int]
    calls: CallFigures
    cost_per_reached_lead: str | None
    budget: str | None
    budget_left: str | None
    variants: list[VariantStats]
    timeline: list[TimelineHour] = Field(
        default_factory=list, description="Ended calls per UTC hour, oldest first (hours with calls)."
    )


class CallDetailResponse(BaseModel):
    """One call: lifecycle, conversation, insights, disposition and cost."""

    call_control_id: str
    lead_id: str | None = None
    campaign_id: str | None = None
    attempt_n: int | None = None
    assistant_id: str | None = None
    state: str | None = None
    outcome: str | None = None
    amd: str | None = None
    answered_at: str | None = None
    ended_at: str | None = None
    duration_s: int | None = None
    conversation: dict[str, str] = Field(default_factory=dict)
    insights: dict[str, str] = Field(default_factory=dict)
    disposition: str | None = None
    disposition_source: str | None = None
    cost: str | None = None
    cost_currency: str | None = None
    billed_s: int | None = None
    cost_parts: list[dict[str, Any]] = Field(default_factory=list)
    created_at: str | None = None
    transcript_status: str | None = Field(
        default=None,
        description="stored (GET /calls/{call_id}/transcript has it), not_kept (the assistant does "
        "not retain data) or empty; absent until the conversation's messages were fetched.",
    )
    transcript_messages: int | None = Field(default=None, description="Messages in the stored transcript.")
    voicemail: dict[str, str] | None = Field(
        default=None,
        description="The voicemail drop on a machine answer: status (speaking, left, skipped, missed), "
        "reason when skipped (no_voicemail_consent, message_cap_reached), the message read out.",
    )


class TranscriptMessage(BaseModel):
    """One message of the conversation, as Telnyx keeps it."""

    role: str | None = Field(default=None, description="user, assistant, tool, system...")
    text: str | None = None
    created_at: str | None = None
    sent_at: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


class TranscriptResponse(BaseModel):
    """The messages of a call's AI conversation, oldest first."""

    call_id: str
    conversation_id: str
    messages: list[TranscriptMessage]


class CallListResponse(BaseModel):
    """A lead's calls, newest first."""

    data: list[CallDetailResponse]

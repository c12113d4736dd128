"""Scheduled events of an assistant (WIRE §4)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from telnyx_client.models._base import RequestModel, ResponseModel
from telnyx_client.models._coerce import string_variables
from telnyx_client.models.common import PageMeta

SipRegion = Literal["US", "Europe", "Canada", "Australia", "Middle East"]
ConversationChannel = Literal["phone_call", "sms_chat"]


class ScheduledCallSettings(RequestModel):
    """Call settings of a scheduled phone call."""

    sip_region: SipRegion | None = None


class CreateScheduledEventRequest(RequestModel):
    """``POST /ai/assistants/{id}/scheduled_events`` body."""

    telnyx_conversation_channel: ConversationChannel
    telnyx_end_user_target: str
    telnyx_agent_target: str
    scheduled_at_fixed_datetime: datetime
    text: str | None = None
    dynamic_variables: dict[str, str] | None = None
    conversation_metadata: dict[str, str | int | bool] | None = None
    max_retries_client_errors: Annotated[int, Field(ge=0, le=10)] | None = None
    retry_interval_secs: Annotated[int, Field(ge=60, le=86400)] | None = None
    call_settings: ScheduledCallSettings | None = None

    _coerce_variables = field_validator("dynamic_variables", mode="before")(string_variables)

    @field_validator("scheduled_at_fixed_datetime")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        """A naive datetime would be read in an unknown zone; demand an explicit offset."""
        if value.tzinfo is None:
            raise ValueError("scheduled_at_fixed_datetime must be timezone-aware")
        return value


class ScheduledCallAttempt(ResponseModel):
    """One dial attempt of a scheduled phone call."""

    attempt_number: int | None = None
    attempted_at: str | None = None
    call_status: str | None = None
    call_duration: int | None = None
    telnyx_call_control_id: str | None = None


class ScheduledEvent(ResponseModel):
    """A scheduled phone call or SMS (one tolerant model for both response variants)."""

    scheduled_event_id: str | None = None
    assistant_id: str | None = None
    telnyx_conversation_channel: str | None = None
    telnyx_end_user_target: str | None = None
    telnyx_agent_target: str | None = None
    scheduled_at_fixed_datetime: str | None = None
    status: str | None = None
    text: str | None = None
    call_status: str | None = None
    call_duration: int | None = None
    conversation_id: str | None = None
    conversation_metadata: dict[str, Any] | None = None
    dynamic_variables: dict[str, Any] | None = None
    created_at: str | None = None
    dispatched_at: str | None = None
    errors: list[Any] | None = None
    max_retries_client_errors: int | None = None
    retry_attempts: int | None = None
    retry_count: int | None = None
    retry_interval_secs: int | None = None
    call_settings: dict[str, Any] | None = None
    call_attempts: list[ScheduledCallAttempt] | None = None


class ScheduledEventPage(ResponseModel):
    """A page of scheduled events."""

    data: list[ScheduledEvent] = Field(default_factory=list)
    meta: PageMeta | None = None

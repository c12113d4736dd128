"""Request and response models of the webhook-endpoints API (issue 24)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dialer.domain.event_webhooks import EventType
from dialer.services.api_models import ID_PATTERN

Url = Annotated[str, Field(min_length=8, max_length=2048, description="https URL the events are POSTed to.")]
Description = Annotated[str, Field(max_length=500)]
EventTypes = Annotated[
    list[EventType],
    Field(max_length=len(EventType), description="Event types to send; empty or absent: every type."),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebhookEndpointCreateRequest(_Strict):
    """A new endpoint. Its signing secret is in the answer, once."""

    url: Url
    event_types: EventTypes = Field(default_factory=list)
    description: Description = ""
    enabled: bool = True


class WebhookEndpointPatchRequest(_Strict):
    """Fields to change; absent fields are kept. Enabling an endpoint clears its failing streak."""

    url: Url | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    enabled: bool | None = None


class WebhookEndpointResponse(BaseModel):
    """An endpoint (never its secret)."""

    id: str
    url: str
    event_types: list[str]
    description: str
    enabled: bool
    created_at: str
    updated_at: str
    failing_since: str | None = None
    disabled_reason: str | None = None
    secret_rotation_ends_at: str | None = Field(
        default=None, description="While a rotated-out secret still signs (each delivery carries both)."
    )


class WebhookEndpointCreatedResponse(WebhookEndpointResponse):
    """A new endpoint with its secret: store it now, it is never shown again."""

    secret: str


class WebhookEndpointListResponse(BaseModel):
    """Every endpoint of the tenant."""

    data: list[WebhookEndpointResponse]


class SecretRotateRequest(_Strict):
    """Rotate the signing secret; the old one keeps signing beside the new one for the overlap."""

    overlap_hours: Annotated[int, Field(ge=0, le=72)] = 24


class SecretRotateResponse(BaseModel):
    """The new secret (shown once) and until when the old one still signs."""

    secret: str
    previous_secret_expires_at: str | None


class DeliveryAttemptView(BaseModel):
    """One attempt: when, the answer's status (none if no answer), latency, an excerpt or error."""

    at: str
    status_code: int | None = None
    latency_ms: int | None = None
    excerpt: str | None = None
    error: str | None = None


class DeliveryView(BaseModel):
    """One event's delivery to the endpoint."""

    event_id: str
    event_type: str
    event_created_at: str
    status: str = Field(description="pending, delivered, given_up (24 h without success) or skipped.")
    attempt_count: int
    next_attempt_at: str | None = None
    attempts: list[DeliveryAttemptView]


class DeliveryListResponse(BaseModel):
    """A page of deliveries, newest first."""

    data: list[DeliveryView]
    next_cursor: str | None = None


class ReplayRequest(_Strict):
    """Send again every event since an instant (at most 30 days back), or one event."""

    since: datetime | None = None
    event_id: Annotated[str, Field(pattern=ID_PATTERN, max_length=128)] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> ReplayRequest:
        if (self.since is None) == (self.event_id is None):
            raise ValueError("give exactly one of since and event_id")
        return self


class ReplayResponse(BaseModel):
    """How many deliveries were queued again (each under its event's original webhook-id)."""

    replayed: int

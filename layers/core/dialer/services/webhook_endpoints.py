"""The webhook-endpoints API's logic (issue 24): endpoints, their secrets, deliveries and replay.

A secret is shown once (in the create and rotate answers) and never again; a rotation keeps the
old secret signing beside the new one for an overlap (every delivery then carries two
signatures), so a receiver can switch without losing a delivery.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from dialer.adapters.dynamo import decode_cursor, encode_cursor
from dialer.adapters.webhooks_table import DeliveryRecord, EndpointRecord, WebhooksTable
from dialer.domain.destinations import check_url
from dialer.domain.dialing import utc_iso
from dialer.domain.event_webhooks import new_secret
from dialer.domain.instants import in_range
from dialer.errors import Conflict, InvalidInput, NotFound
from dialer.services.webhook_models import (
    DeliveryAttemptView,
    DeliveryListResponse,
    DeliveryView,
    ReplayRequest,
    ReplayResponse,
    SecretRotateRequest,
    SecretRotateResponse,
    WebhookEndpointCreatedResponse,
    WebhookEndpointCreateRequest,
    WebhookEndpointListResponse,
    WebhookEndpointPatchRequest,
    WebhookEndpointResponse,
)

#: Endpoints per tenant: a CRM, a warehouse, a chat hook; each event fans out to every one.
MAX_ENDPOINTS = 20
#: Deliveries one replay may queue (a bigger replay is several calls with a later ``since``).
MAX_REPLAY = 1000


class WebhookEndpoints:
    """One tenant's webhook endpoints."""

    def __init__(
        self, tenant_id: str, table: WebhooksTable, *, clock: Callable[[], datetime], allow_loopback: bool
    ) -> None:
        self.tenant_id = tenant_id
        self.table = table
        self.clock = clock
        self.allow_loopback = allow_loopback

    def create(self, request: WebhookEndpointCreateRequest) -> WebhookEndpointCreatedResponse:
        """A new endpoint and its secret (shown here only)."""
        check_url(request.url, allow_loopback=self.allow_loopback)
        if len(self.table.list_endpoints(self.tenant_id)) >= MAX_ENDPOINTS:
            raise Conflict(f"a tenant has at most {MAX_ENDPOINTS} webhook endpoints")
        now = utc_iso(self.clock())
        secret = new_secret()
        record = EndpointRecord(
            tenant_id=self.tenant_id,
            endpoint_id="we_" + uuid.uuid4().hex,
            url=request.url,
            event_types=tuple(dict.fromkeys(t.value for t in request.event_types)),
            description=request.description,
            enabled=request.enabled,
            created_at=now,
            updated_at=now,
            secrets=({"secret": secret, "expires_at": None},),
        )
        if not self.table.put_endpoint(record):
            raise Conflict("the endpoint id is taken; retry")
        return WebhookEndpointCreatedResponse(
            **endpoint_view(record, self.clock()).model_dump(), secret=secret
        )

    def list(self) -> WebhookEndpointListResponse:
        """Every endpoint of the tenant."""
        now = self.clock()
        return WebhookEndpointListResponse(
            data=[endpoint_view(e, now) for e in self.table.list_endpoints(self.tenant_id)]
        )

    def get(self, endpoint_id: str) -> WebhookEndpointResponse:
        """One endpoint."""
        return endpoint_view(self.record(endpoint_id), self.clock())

    def update(self, endpoint_id: str, patch: WebhookEndpointPatchRequest) -> WebhookEndpointResponse:
        """Change what the patch names; re-enabling clears the failing streak."""
        record = self.record(endpoint_id)
        if patch.url is not None:
            check_url(patch.url, allow_loopback=self.allow_loopback)
        changes: dict[str, object] = {"updated_at": utc_iso(self.clock())}
        if patch.url is not None:
            changes["url"] = patch.url
        if patch.event_types is not None:
            changes["event_types"] = tuple(dict.fromkeys(t.value for t in patch.event_types))
        if patch.description is not None:
            changes["description"] = patch.description
        if patch.enabled is not None:
            changes["enabled"] = patch.enabled
            if patch.enabled:
                changes.update(failing_since=None, disabled_reason=None)
        moved = replace(record, **changes)  # type: ignore[arg-type]
        if not self.table.put_endpoint(moved, expect_updated_at=record.updated_at):
            raise Conflict("the endpoint changed meanwhile; read it again")
        return endpoint_view(moved, self.clock())

    def delete(self, endpoint_id: str) -> None:
        """Delete an endpoint: nothing more is sent to it."""
        if not self.table.delete_endpoint(self.tenant_id, endpoint_id):
            raise NotFound(f"webhook endpoint {endpoint_id} not found")

    def rotate_secret(self, endpoint_id: str, request: SecretRotateRequest) -> SecretRotateResponse:
        """A new secret; the current one signs beside it for ``overlap_hours`` (0: stops now)."""
        record = self.record(endpoint_id)
        now = self.clock()
        ends = utc_iso(now + timedelta(hours=request.overlap_hours)) if request.overlap_hours else None
        secret = new_secret()
        current = utc_iso(now)
        kept = [
            {"secret": s["secret"], "expires_at": min(str(s.get("expires_at") or ends), str(ends))}
            for s in record.secrets
            if ends and (not s.get("expires_at") or str(s["expires_at"]) > current)
        ]
        moved = replace(
            record, secrets=({"secret": secret, "expires_at": None}, *kept), updated_at=utc_iso(now)
        )
        if not self.table.put_endpoint(moved, expect_updated_at=record.updated_at):
            raise Conflict("the endpoint changed meanwhile; rotate again")
        return SecretRotateResponse(secret=secret, previous_secret_expires_at=ends)

    def deliveries(self, endpoint_id: str, *, limit: int, cursor: str | None) -> DeliveryListResponse:
        """A page of the endpoint's deliveries, newest first."""
        self.record(endpoint_id)
        found, after = self.table.deliveries(
            self.tenant_id, endpoint_id, limit=limit, before=decode_cursor(cursor)
        )
        return DeliveryListResponse(data=[delivery_view(d) for d in found], next_cursor=encode_cursor(after))

    def replay(self, endpoint_id: str, request: ReplayRequest) -> ReplayResponse:
        """Queue the event (or every event since the instant that the endpoint subscribes to)
        for delivery again, under each event's original ``webhook-id``."""
        record = self.record(endpoint_id)
        if not record.enabled:
            raise Conflict("the endpoint is disabled: enable it first")
        now = self.clock()
        if request.event_id is not None:
            event = self.table.get_event(self.tenant_id, request.event_id)
            if event is None:
                raise NotFound(f"event {request.event_id} not found (events are kept 30 days)")
            events = [event]
        else:
            since = request.since
            assert since is not None  # the model requires one of the two
            if since.tzinfo is None:
                raise InvalidInput(
                    "since needs a UTC offset",
                    [
                        {
                            "loc": ["body", "since"],
                            "msg": "give an offset (Z or +hh:mm)",
                            "type": "value_error",
                        }
                    ],
                )
            # events_since reads no further back than the 30 days events are kept
            since = in_range(since, ["body", "since"])
            events = self.table.events_since(self.tenant_id, since, until=now, limit=MAX_REPLAY)
        at = utc_iso(now)
        count = 0
        for event in events:
            if record.wants(event.type):
                self.table.put_delivery(event, endpoint_id, now=at, replace=True)
                count += 1
        return ReplayResponse(replayed=count)

    def record(self, endpoint_id: str) -> EndpointRecord:
        """The stored endpoint, or NotFound."""
        record = self.table.get_endpoint(self.tenant_id, endpoint_id)
        if record is None:
            raise NotFound(f"webhook endpoint {endpoint_id} not found")
        return record


def endpoint_view(record: EndpointRecord, now: datetime) -> WebhookEndpointResponse:
    """The API's view of an endpoint (no secret)."""
    at = utc_iso(now)
    overlaps = [
        str(s["expires_at"]) for s in record.secrets if s.get("expires_at") and str(s["expires_at"]) > at
    ]
    return WebhookEndpointResponse(
        id=record.endpoint_id,
        url=record.url,
        event_types=list(record.event_types),
        description=record.description,
        enabled=record.enabled,
        created_at=record.created_at,
        updated_at=record.updated_at,
        failing_since=record.failing_since,
        disabled_reason=record.disabled_reason,
        secret_rotation_ends_at=max(overlaps) if overlaps else None,
    )


def delivery_view(record: DeliveryRecord) -> DeliveryView:
    """The API's view of a delivery."""
    return DeliveryView(
        event_id=record.event_id,
        event_type=record.event_type,
        event_created_at=record.event_created_at,
        status=record.status,
        attempt_count=record.attempt_count,
        next_attempt_at=record.next_at if record.status == "pending" else None,
        attempts=[DeliveryAttemptView(**a) for a in record.attempts],
    )

"""Webhook intake: verify, parse just enough, make durable. Nothing is acknowledged before SQS has it.

Order of checks, each failing closed with nothing enqueued:
size (413) → tenant known (401, same answer as a bad signature: no tenant oracle) →
signature and timestamp skew (401) → parseable (400) → durable in SQS, via S3 when large (else 5xx,
so Telnyx retries).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Protocol

from dialer import clock as engine_clock
from dialer.adapters.tenant_config import is_valid_tenant_id
from dialer.domain.stored_fields import MAX_STORED_TEXT, STORED_TEXT_FIELDS
from dialer.domain.webhook_message import WebhookMessage
from dialer.errors import BadRequest, PayloadTooLarge, Unauthorized
from dialer.request_body import read_form, read_json
from telnyx_client.signature import SignatureError, load_public_key, verify
from telnyx_client.webhooks import (
    INSIGHT_GROUP_EVENT,
    ParsedWebhook,
    WebhookParseError,
    is_form_encoded,
    webhook_from_form,
    webhook_from_json,
)

SIGNATURE_HEADER = "telnyx-signature-ed25519"


class TenantKeys(Protocol):
    """Where a tenant's webhook public key comes from."""

    def webhook_public_key(self, tenant_id: str) -> str | None:
        """The base64 Ed25519 public key, or None for an unknown tenant."""
        ...


class IntakeKeys(TenantKeys, Protocol):
    """The intake also reads the tenant's insight-webhook token."""

    def insights_token(self, tenant_id: str) -> str | None:
        """The token the tenant's insight-group webhook URL carries, or None."""
        ...


class Queue(Protocol):
    """A durable queue."""

    def send(self, body: str, attributes: dict[str, str] | None = None) -> str:
        """Send; return the message id; raise TemporarilyUnavailable on failure."""
        ...


class PayloadStore(Protocol):
    """Blob storage for bodies too large for the queue."""

    def put(self, key: str, body: bytes, content_type: str) -> None:
        """Store; raise TemporarilyUnavailable on failure."""
        ...


@dataclass(frozen=True, slots=True)
class InboundWebhook:
    """A webhook request as the route received it."""

    tenant_id: str
    raw_body: bytes
    headers: Mapping[str, str]
    content_type: str | None


@dataclass(frozen=True, slots=True)
class AcceptedWebhook:
    """The webhook is durable; Telnyx may be told 200."""

    event_id: str
    event_type: str
    message_id: str
    claim_checked: bool


@lru_cache(maxsize=256)
def _verify_key(public_key_b64: str):  # type: ignore[no-untyped-def] # nacl has no type hints
    return load_public_key(public_key_b64)


def verify_tenant_signature(
    tenant_keys: TenantKeys,
    tenant_id: str,
    raw_body: bytes,
    headers: Mapping[str, str],
    *,
    now: float | None = None,
) -> int:
    """Check that ``raw_body`` was signed by Telnyx with this tenant's key; return the signed
    timestamp. Every Telnyx-facing route uses this one check (intake, init webhook, tools).

    An unknown or malformed tenant id fails exactly like a bad signature (no tenant oracle); the
    key lookup caches misses, so random tenant ids do not turn into one SSM call each.
    """
    public_key = tenant_keys.webhook_public_key(tenant_id) if is_valid_tenant_id(tenant_id) else None
    if public_key is None:
        raise Unauthorized("signature could not be verified", reason="unknown_tenant")
    try:
        signed = verify(raw_body, headers, _verify_key(public_key), now=now)
    except SignatureError as exc:
        raise Unauthorized("signature could not be verified", reason=exc.reason.value) from exc
    return signed.value


class WebhookIntake:
    """Accepts signed Telnyx webhooks for any tenant of this deployment."""

    def __init__(
        self,
        *,
        tenant_keys: IntakeKeys,
        queue: Queue,
        payloads: PayloadStore,
        max_body_bytes: int,
        inline_max_bytes: int,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.tenant_keys = tenant_keys
        self.queue = queue
        self.payloads = payloads
        self.max_body_bytes = max_body_bytes
        self.inline_max_bytes = inline_max_bytes
        self._clock = clock

    def accept(self, inbound: InboundWebhook) -> AcceptedWebhook:
        """Verify and enqueue one webhook; raise a typed error (and enqueue nothing) otherwise."""
        if len(inbound.raw_body) > self.max_body_bytes:
            raise PayloadTooLarge(f"body is over {self.max_body_bytes} bytes")
        signed_at = verify_tenant_signature(
            self.tenant_keys,
            inbound.tenant_id,
            inbound.raw_body,
            inbound.headers,
            now=self._clock() if self._clock else None,
        )
        return self._enqueue(inbound, _parsed(inbound), signed_at)

    def accept_insights(self, inbound: InboundWebhook, token: str | None) -> AcceptedWebhook:
        """Authenticate and enqueue one insight-group webhook (``conversation.insights.completed``).

        Whether Telnyx signs it is unverified (WIRE §12.4): a signed delivery is verified like any
        other (a bad signature is refused even with a good token); an unsigned one must carry the
        tenant's insights token, which the group's webhook URL holds. Never an unauthenticated body.
        """
        if len(inbound.raw_body) > self.max_body_bytes:
            raise PayloadTooLarge(f"body is over {self.max_body_bytes} bytes")
        if any(name.lower() == SIGNATURE_HEADER for name in inbound.headers):
            signed_at = verify_tenant_signature(
                self.tenant_keys,
                inbound.tenant_id,
                inbound.raw_body,
                inbound.headers,
                now=self._clock() if self._clock else None,
            )
        else:
            expected = (
                self.tenant_keys.insights_token(inbound.tenant_id)
                if is_valid_tenant_id(inbound.tenant_id)
                else None
            )
            if not expected or not token or not hmac.compare_digest(expected.encode(), token.encode()):
                raise Unauthorized("signature could not be verified", reason="bad_insights_token")
            signed_at = int(self._clock() if self._clock else time.time())
        parsed = _parsed(inbound)
        if parsed.event_type != INSIGHT_GROUP_EVENT or not parsed.event_id.startswith("insights:"):
            raise BadRequest(f"expected {INSIGHT_GROUP_EVENT} with conversation_id and insight_group_id")
        return self._enqueue(inbound, parsed, signed_at)

    def _enqueue(self, inbound: InboundWebhook, parsed: ParsedWebhook, signed_at: int) -> AcceptedWebhook:
        content_type = inbound.content_type or "application/json"
        received = engine_clock.now()  # the same clock as the events it is compared with
        body_text = inbound.raw_body.decode("utf-8")  # parse_webhook proved it is UTF-8
        message = WebhookMessage(
            tenant_id=inbound.tenant_id,
            event_id=parsed.event_id,
            event_type=parsed.event_type,
            content_type=content_type,
            received_at=received.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            signed_at=signed_at,
            body=body_text,
            body_bytes=len(inbound.raw_body),
        )
        claim_checked = len(inbound.raw_body) > self.inline_max_bytes
        if claim_checked:
            key = f"webhooks/{inbound.tenant_id}/{received:%Y/%m/%d}/{_safe(parsed.event_id)}-{signed_at}"
            self.payloads.put(key, inbound.raw_body, content_type)
            message = replace(message, body=None, body_key=key)
        message_id = self.queue.send(
            message.to_json(), {"tenant_id": inbound.tenant_id, "event_type": parsed.event_type[:256]}
        )
        return AcceptedWebhook(parsed.event_id, parsed.event_type, message_id, claim_checked)


def _parsed(inbound: InboundWebhook) -> ParsedWebhook:
    """The webhook, read by the one body reader, and only if it can ever be applied: a body the
    processor would fail on every time is refused here (a 400) rather than retried into the
    events dead-letter queue and its alarm."""
    try:
        if is_form_encoded(inbound.content_type):
            parsed = webhook_from_form(read_form(inbound.raw_body))
        else:
            parsed = webhook_from_json(read_json(inbound.raw_body), inbound.raw_body)
    except WebhookParseError as exc:
        raise BadRequest(str(exc)) from exc
    problem = unapplicable(parsed)
    if problem:
        raise BadRequest(f"the webhook can never be applied: {problem}")
    return parsed


#: Longest id accepted in a webhook. Telnyx's call control ids and event ids are under 100
#: characters; ours go into DynamoDB keys (at most 1,024 bytes of sort key), S3 keys and logs.
MAX_WEBHOOK_ID = 256
#: Earliest ``occurred_at`` accepted; the latest is a few years past today. Beyond those the
#: processor's date arithmetic (retention, TTLs) overflows, and no real event is there.
EARLIEST_EVENT = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_EVENT_YEARS_AHEAD = 5


def unapplicable(parsed: ParsedWebhook) -> str | None:
    """Why ``parsed`` could never be applied (the field and the reason), or None if it can."""
    for name, value in (("event id", parsed.event_id), ("call_control_id", parsed.call_control_id)):
        if value is not None and len(value) > MAX_WEBHOOK_ID:
            return f"{name} is longer than {MAX_WEBHOOK_ID} characters"
    if parsed.occurred_at is not None:
        latest = datetime.now(UTC).replace(month=1, day=1) + timedelta(days=366 * LATEST_EVENT_YEARS_AHEAD)
        if not EARLIEST_EVENT <= parsed.occurred_at <= latest:
            return f"occurred_at {parsed.occurred_at.isoformat()} is out of range"
    for name in STORED_TEXT_FIELDS:
        value = parsed.payload.get(name)
        if value is not None and len(str(value)) > MAX_STORED_TEXT:
            return f"{name} is longer than {MAX_STORED_TEXT} characters"
    parts = parsed.payload.get("cost_parts")
    if parts is not None and not (isinstance(parts, list) and all(isinstance(p, dict) for p in parts)):
        return "cost_parts is not a list of objects"
    return None


def _safe(event_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in event_id)[:128]

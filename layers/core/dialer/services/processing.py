"""Event processing: one verified webhook message in, its effect applied exactly once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from dialer.adapters.calls_table import ApplyResult, EventReceipt
from dialer.domain.calls import Fact, facts_from_event, format_instant
from dialer.domain.webhook_message import MalformedMessage, WebhookMessage
from telnyx_client.webhooks import WebhookParseError, parse_webhook


class CallsRepository(Protocol):
    """Where call records and receipts live."""

    def apply_event(self, receipt: EventReceipt, facts: list[Fact]) -> ApplyResult:
        """Apply facts and write the receipt atomically; DUPLICATE if the receipt exists."""
        ...


class PayloadReader(Protocol):
    """Reads claim-checked bodies."""

    def get(self, key: str) -> bytes:
        """The stored body; raise TemporarilyUnavailable on failure."""
        ...


@dataclass(frozen=True, slots=True)
class ProcessedEvent:
    """What processing one message did (for logs and metrics)."""

    tenant_id: str
    event_id: str
    event_type: str
    call_control_id: str | None
    result: ApplyResult


class EventProcessor:
    """Applies webhook messages to the state table."""

    def __init__(self, *, calls: CallsRepository, payloads: PayloadReader) -> None:
        self.calls = calls
        self.payloads = payloads

    def process(self, message_body: str) -> ProcessedEvent:
        """Apply one SQS message. Raises on anything retryable or malformed (SQS retries, then DLQ)."""
        message = WebhookMessage.from_json(message_body)
        raw = (
            message.body.encode("utf-8")
            if message.body is not None
            else self.payloads.get(str(message.body_key))
        )
        try:
            parsed = parse_webhook(raw, message.content_type)
        except WebhookParseError as exc:
            # The intake parsed this very body before enqueueing it; failing here means corruption.
            raise MalformedMessage(f"stored body no longer parses: {exc}") from exc
        facts = facts_from_event(parsed.event_type, parsed.event_id, parsed.occurred_at, parsed.payload)
        receipt = EventReceipt(
            tenant_id=message.tenant_id,
            event_id=parsed.event_id,
            event_type=parsed.event_type,
            call_control_id=parsed.call_control_id,
            occurred_at=format_instant(parsed.occurred_at),
            attempt=parsed.attempt,
        )
        result = self.calls.apply_event(receipt, facts)
        return ProcessedEvent(
            message.tenant_id, parsed.event_id, parsed.event_type, parsed.call_control_id, result
        )

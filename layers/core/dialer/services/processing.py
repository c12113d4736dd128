"""Event processing: one verified webhook message in, its effect applied exactly once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from dialer.adapters.calls_table import ApplyResult, EventReceipt
from dialer.domain.calls import Fact, facts_from_event, format_instant
from dialer.domain.transcripts import TranscriptJob, job_for
from dialer.domain.webhook_message import MalformedMessage, WebhookMessage
from dialer.observability import WEBHOOK_LAG_SECONDS, MetricUnit, record_metric
from telnyx_client.webhooks import WebhookParseError, parse_webhook


class CallsRepository(Protocol):
    """Where call records and receipts live."""

    def apply_event(self, receipt: EventReceipt, facts: list[Fact]) -> ApplyResult:
        """Apply facts and write the receipt atomically; DUPLICATE if the receipt exists."""
        ...


class CallSettler(Protocol):
    """The dialing engine's side: links a call to its attempt and applies its outcome to the lead."""

    def after_event(self, tenant_id: str, call: Mapping[str, Any]) -> str | None:
        """Idempotent; returns what it did (None: nothing)."""
        ...


class AfterCallHook(Protocol):
    """What a call's AI events set in motion: insight effects, totals, the budget cap."""

    def after_event(self, tenant_id: str, call: Mapping[str, Any]) -> list[str]:
        """Idempotent; returns what it did."""
        ...


class TranscriptRequests(Protocol):
    """Where transcript jobs go (the transcripts queue)."""

    def request(self, job: TranscriptJob, *, delay_seconds: int = 0) -> None:
        """Enqueue one job; raise TemporarilyUnavailable on failure (the webhook is retried)."""
        ...


class CallReader(Protocol):
    """Reads the stored call record."""

    def get_call_item(self, tenant_id: str, call_control_id: str) -> dict[str, Any] | None:
        """The raw call item, or None."""
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
    lead_effect: str | None = None
    after_call: tuple[str, ...] = ()
    transcript_requested: bool = False


class EventProcessor:
    """Applies webhook messages to the state table."""

    def __init__(
        self,
        *,
        calls: CallsRepository,
        payloads: PayloadReader,
        settler: CallSettler | None = None,
        reader: CallReader | None = None,
        after_call: AfterCallHook | None = None,
        transcripts: TranscriptRequests | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.calls = calls
        self.clock = clock or (lambda: datetime.now(UTC))
        self.payloads = payloads
        self.settler = settler
        self.reader = reader
        self.after_call = after_call
        self.transcripts = transcripts

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
        if result != ApplyResult.DUPLICATE and parsed.occurred_at is not None:
            # First arrival only: a redelivery's lag is SQS's retry delay, not Telnyx's.
            lag = (self.clock() - parsed.occurred_at).total_seconds()
            record_metric(
                WEBHOOK_LAG_SECONDS,
                max(0.0, lag),
                unit=MetricUnit.Seconds,
                tenant_id=message.tenant_id,
                event_type=parsed.event_type,
            )
        effect = None
        if self.settler is not None and self.reader is not None and parsed.call_control_id and facts:
            # After the call record is durable, and again on every duplicate: a crash between the
            # commit above and the lead effect is repaired by the redelivery (the effect is
            # idempotent, conditional on the attempt still being open).
            call = self.reader.get_call_item(message.tenant_id, parsed.call_control_id)
            if call is not None:
                effect = self.settler.after_event(message.tenant_id, call)
        done: list[str] = []
        if self.after_call is not None and self.reader is not None and parsed.call_control_id and facts:
            # After the engine's link and settlement (the lead and campaign are known by then).
            call = self.reader.get_call_item(message.tenant_id, parsed.call_control_id)
            if call is not None:
                done = self.after_call.after_event(message.tenant_id, call)
        requested = self._request_transcript(
            job_for(parsed.event_type, message.tenant_id, parsed.call_control_id, parsed.payload), result
        )
        return ProcessedEvent(
            message.tenant_id,
            parsed.event_id,
            parsed.event_type,
            parsed.call_control_id,
            result,
            effect,
            tuple(done),
            requested,
        )

    def _request_transcript(self, job: TranscriptJob | None, result: ApplyResult) -> bool:
        """Hand the ended conversation to the transcripts consumer, once.

        Once: when this delivery applied the event. A redelivery (DUPLICATE) sends it again only
        while the call has no transcript status, which repairs a crash between the commit and
        the send; a second job for the same call is harmless (the fetch overwrites one key).
        """
        if job is None or self.transcripts is None:
            return False
        if result == ApplyResult.DUPLICATE:
            call = self.reader.get_call_item(job.tenant_id, job.call_control_id) if self.reader else None
            if call is None or call.get("transcript_status"):
                return False
        self.transcripts.request(job)
        return True

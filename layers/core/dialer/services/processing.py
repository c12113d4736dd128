"""Event processing: one verified webhook message in, its effect applied exactly once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from dialer import clock as engine_clock
from dialer.adapters.calls_table import Applied, ApplyResult, EventReceipt
from dialer.domain.calls import Fact, facts_from_event, format_instant
from dialer.domain.transcripts import TranscriptJob, job_for
from dialer.domain.webhook_message import MalformedMessage, WebhookMessage
from dialer.errors import TemporarilyUnavailable
from dialer.observability import WEBHOOK_LAG_SECONDS, MetricUnit, record_metric
from telnyx_client.webhooks import INSIGHT_GROUP_EVENT, WebhookParseError, parse_webhook

if TYPE_CHECKING:
    from dialer.services.lead_effects import Settled

INSIGHT_EVENTS = frozenset({"call.conversation_insights.generated", INSIGHT_GROUP_EVENT})
CONVERSATION_EVENTS = frozenset({"call.conversation.created", "call.conversation.ended"})


class ConversationNotLinked(TemporarilyUnavailable):
    """An insight-group webhook whose conversation no call event has named yet: retried by SQS
    (its ``call.conversation.created`` is usually a moment behind) and parked in the DLQ after
    ``maxReceiveCount``, never dropped."""


class CallsRepository(Protocol):
    """Where call records and receipts live."""

    def apply_event(self, receipt: EventReceipt, facts: list[Fact]) -> Applied:
        """Apply facts and record the event atomically (DUPLICATE if it was applied before), with
        the call as the commit left it (or as stored, for a duplicate)."""
        ...


class CallSettler(Protocol):
    """The dialing engine's side: links a call to its attempt and applies its outcome to the lead."""

    def after_event(self, tenant_id: str, call: Mapping[str, Any]) -> Settled:
        """Idempotent; returns what it did and what it read (handed on to the after-call hook)."""
        ...


class AfterCallHook(Protocol):
    """What a call's AI events set in motion: insight effects, totals, the budget cap."""

    def after_event(
        self,
        tenant_id: str,
        call: Mapping[str, Any],
        *,
        counted: Mapping[str, Decimal] | None = None,
        settled: Settled | None = None,
    ) -> list[str]:
        """Idempotent; returns what it did (``counted``: what the event's own commit added to
        the call's totals; ``settled``: what the settler did and read)."""
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


class InsightLookups(Protocol):
    """Insight names and conversation links (``dialer.services.insight_groups.InsightLookups``)."""

    def names_for(self, tenant_id: str, group_id: str | None) -> Mapping[str, str]:
        """insight id → field; {} when unknown (never raises)."""
        ...

    def link(self, tenant_id: str, conversation_id: str, call_control_id: str) -> None:
        """Remember a conversation's call (idempotent)."""
        ...

    def call_of(self, tenant_id: str, conversation_id: str) -> str | None:
        """The conversation's call, or None."""
        ...


class CallReactions(Protocol):
    """Commands an event sets off on its live call (``dialer.services.voicemail.VoicemailDrop``)."""

    events: frozenset[str]

    def after_event(self, tenant_id: str, event_type: str, call: Mapping[str, Any]) -> str | None:
        """Idempotent; returns what it did (None: nothing)."""
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
    reaction: str | None = None


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
        insights: InsightLookups | None = None,
        clock: Callable[[], datetime] | None = None,
        reactions: CallReactions | None = None,
    ) -> None:
        self.calls = calls
        self.clock = clock or engine_clock.now
        self.payloads = payloads
        self.settler = settler
        self.reader = reader
        self.after_call = after_call
        self.transcripts = transcripts
        self.insights = insights
        self.reactions = reactions

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
        tenant_id, payload = message.tenant_id, parsed.payload
        call_control_id = parsed.call_control_id
        if parsed.event_type == INSIGHT_GROUP_EVENT:
            call_control_id = self._call_of_conversation(tenant_id, payload.get("conversation_id"))
        names: Mapping[str, str] = {}
        if parsed.event_type in INSIGHT_EVENTS and self.insights is not None:
            names = self.insights.names_for(tenant_id, _text(payload.get("insight_group_id")))
        facts = facts_from_event(parsed.event_type, parsed.event_id, parsed.occurred_at, payload, names=names)
        receipt = EventReceipt(
            tenant_id=message.tenant_id,
            event_id=parsed.event_id,
            event_type=parsed.event_type,
            call_control_id=call_control_id,
            occurred_at=format_instant(parsed.occurred_at),
            attempt=parsed.attempt,
        )
        applied = self.calls.apply_event(receipt, facts)
        result = applied.result
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
        conversation_id = _text(payload.get("conversation_id"))
        if (
            parsed.event_type in CONVERSATION_EVENTS
            and conversation_id
            and call_control_id
            and self.insights is not None
        ):
            # After the commit, and on duplicates too (idempotent): the group webhook joins here.
            self.insights.link(tenant_id, conversation_id, call_control_id)
        effect = None
        settled = None
        done: list[str] = []
        call = applied.call
        if call is not None and self.settler is not None:
            # After the call record is durable, and again on every duplicate: a crash between the
            # commit above and the lead effect is repaired by the redelivery (the effect is
            # idempotent, conditional on the attempt still being open).
            settled = self.settler.after_event(message.tenant_id, call)
            effect = settled.effect
        if call is not None and self.after_call is not None:
            if not call.get("campaign_id") and self.reader is not None:
                # Not linked as this delivery saw it: the settler (or the dialer, meanwhile) may
                # just have linked it, and totals and insight effects need the link.
                call = self.reader.get_call_item(message.tenant_id, str(call_control_id)) or call
            done = self.after_call.after_event(
                message.tenant_id, call, counted=applied.counted, settled=settled
            )
        reaction = None
        reacts = self.reactions is not None and parsed.event_type in self.reactions.events
        if reacts and self.reactions is not None and call is not None and facts:
            # The one hook for commands on the live call (a machine's greeting ended → the
            # message); on duplicates too, like the effects above (commands carry command_ids).
            if not call.get("campaign_id") and self.reader is not None:
                call = self.reader.get_call_item(message.tenant_id, str(call_control_id)) or call
            reaction = self.reactions.after_event(message.tenant_id, parsed.event_type, call)
        requested = self._request_transcript(
            job_for(parsed.event_type, message.tenant_id, parsed.call_control_id, parsed.payload), applied
        )
        return ProcessedEvent(
            message.tenant_id,
            parsed.event_id,
            parsed.event_type,
            call_control_id,
            result,
            effect,
            tuple(done),
            requested,
            reaction,
        )

    def _request_transcript(self, job: TranscriptJob | None, applied: Applied) -> bool:
        """Hand the ended conversation to the transcripts consumer, once.

        Once: when this delivery applied the event. A redelivery (DUPLICATE) sends it again only
        while the call has no transcript status, which repairs a crash between the commit and
        the send; a second job for the same call is harmless (the fetch overwrites one key).
        """
        if job is None or self.transcripts is None:
            return False
        if applied.result == ApplyResult.DUPLICATE:
            call = applied.call  # as the refused write found it stored
            if call is None or call.get("transcript_status"):
                return False
        self.transcripts.request(job)
        return True

    def _call_of_conversation(self, tenant_id: str, conversation_id: Any) -> str:
        conversation = _text(conversation_id)
        if not conversation:
            raise MalformedMessage("insight-group webhook without a conversation_id")
        call_control_id = self.insights.call_of(tenant_id, conversation) if self.insights else None
        if not call_control_id:
            raise ConversationNotLinked(f"no call known for conversation {conversation} yet")
        return call_control_id


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None

"""Transcripts: fetch a call's conversation messages from Telnyx once it ends, keep them in S3.

The event processor hands a :class:`~dialer.domain.transcripts.TranscriptJob` to the transcripts
queue the first time a ``call.conversation.ended`` is applied (and again when a redelivery finds
the call without a transcript, which repairs a crash between the commit and the send). The
transcripts consumer runs :meth:`TranscriptFetcher.fetch` for each job:

* nothing is fetched when the assistant does not retain data (``privacy_settings.data_retention``
  is false): the call records ``not_kept``;
* the messages are read page by page (GETs, retried by the client: nothing on Telnyx changes) and
  written to ONE deterministic key per call, so a retry or a duplicate job overwrites the same
  object with the same bytes and nothing is ever duplicated;
* a job for a call whose transcript is settled (stored, not kept, empty) does nothing, so a
  second job for the same call costs one read;
* an empty conversation is not stored: a delayed copy of the job (``attempt`` + 1, 30 s doubling)
  asks again, up to ``max_tries`` asks, after which the call records ``empty``. A delayed copy
  rather than a failed record: "not yet" is expected, and must not count as a Lambda error
  (alarmed) or spend the receives that lead a real failure to the dead-letter queue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from dialer import clock as engine_clock
from dialer.domain.transcripts import (
    TranscriptJob,
    TranscriptStatus,
    give_up_waiting,
    retry_delay_seconds,
    transcript_document,
    transcript_key,
)
from dialer.errors import DialerError, NotFound
from dialer.services.telnyx_accounts import telnyx_errors


class TranscriptNotReady(DialerError):
    """Telnyx has no messages for the conversation yet and there is no queue to ask again through:
    the record fails and SQS brings it back after the visibility timeout."""


class FetchResult(StrEnum):
    """What one job did."""

    STORED = "stored"
    NOT_KEPT = "not_kept"
    EMPTY = "empty"
    UNKNOWN_CALL = "unknown_call"
    ALREADY = "already"
    ASK_AGAIN = "ask_again"


@dataclass(frozen=True, slots=True)
class Fetched:
    """The outcome of one job (for logs and metrics)."""

    result: FetchResult
    key: str | None = None
    messages: int = 0


class TranscriptRequests(Protocol):
    """The transcripts queue (the event processor's first ask, the consumer's later ones)."""

    def request(self, job: TranscriptJob, *, delay_seconds: int = 0) -> None:
        """Enqueue one job (raise TemporarilyUnavailable on failure: the sender is retried)."""
        ...


class TranscriptDocuments(Protocol):
    """Where transcripts are stored."""

    def put(self, key: str, document: dict[str, Any]) -> None:
        """Store (or replace) the document at ``key``."""
        ...

    def get(self, key: str) -> dict[str, Any] | None:
        """The document at ``key``, or None."""
        ...


class CallTranscriptLinks(Protocol):
    """The call record's side."""

    def get_call_item(self, tenant_id: str, call_control_id: str) -> dict[str, Any] | None:
        """The raw call item, or None."""
        ...

    def set_transcript(
        self,
        tenant_id: str,
        call_control_id: str,
        *,
        status: str,
        fetched_at: str,
        key: str | None = None,
        messages: int | None = None,
    ) -> bool:
        """Record the transcript's status (and key); False if the call does not exist."""
        ...


class TelnyxClients(Protocol):
    """Per-tenant Telnyx clients."""

    def client_for(self, tenant_id: str) -> Any:
        """The tenant's client (TenantNotConfigured without an API key)."""
        ...


class QueuedTranscriptRequests:
    """Transcript jobs onto the transcripts queue."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue

    def request(self, job: TranscriptJob, *, delay_seconds: int = 0) -> None:
        """Send the job, visible after ``delay_seconds`` (a duplicate job is harmless: the fetch is
        idempotent)."""
        self.queue.send(job.to_json(), delay_seconds=delay_seconds)


class TranscriptFetcher:
    """Fetches, stores and links one call's transcript per job."""

    def __init__(
        self,
        *,
        calls: CallTranscriptLinks,
        store: TranscriptDocuments,
        telnyx: TelnyxClients,
        retry: TranscriptRequests | None = None,
        max_tries: int = 5,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.calls = calls
        self.store = store
        self.telnyx = telnyx
        self.retry = retry
        self.max_tries = max_tries
        self.clock = clock or engine_clock.now

    def fetch(self, job: TranscriptJob) -> Fetched:
        """Run one job. Raises a domain error on failure (SQS retries it, then the DLQ)."""
        call = self.calls.get_call_item(job.tenant_id, job.call_control_id)
        if call is None:
            # The job is sent after the call record's commit, so this is another tenant's id or
            # a record that expired: nothing to link a transcript to.
            return Fetched(FetchResult.UNKNOWN_CALL)
        if call.get("transcript_status"):
            # A second job for the same call (a redelivered conversation.ended raced the first):
            # settled already, so Telnyx is not asked twice.
            return Fetched(FetchResult.ALREADY, call.get("transcript_key"))
        client = self.telnyx.client_for(job.tenant_id)
        if not self._retains_data(client, job.assistant_id):
            self._link(job, TranscriptStatus.NOT_KEPT)
            return Fetched(FetchResult.NOT_KEPT)
        with telnyx_errors("conversation"):
            messages = [m.model_dump(exclude_none=True) for m in _messages(client, job.conversation_id)]
        if not messages:
            if not give_up_waiting(job.attempt, self.max_tries):
                if self.retry is None:
                    raise TranscriptNotReady(f"conversation {job.conversation_id} has no messages yet")
                self.retry.request(job.next_attempt(), delay_seconds=retry_delay_seconds(job.attempt))
                return Fetched(FetchResult.ASK_AGAIN)
            self._link(job, TranscriptStatus.EMPTY)
            return Fetched(FetchResult.EMPTY)
        key = transcript_key(job.tenant_id, job.call_control_id)
        document = transcript_document(
            call_id=job.call_control_id, conversation_id=job.conversation_id, messages=messages
        )
        self.store.put(key, document)  # first: the call never links to an object that is not there
        self._link(job, TranscriptStatus.STORED, key=key, messages=len(messages))
        return Fetched(FetchResult.STORED, key, len(messages))

    def _retains_data(self, client: Any, assistant_id: str | None) -> bool:
        """False only when the assistant says so; an unknown or deleted assistant is asked about
        through its conversation instead (Telnyx keeps no messages where retention was off)."""
        if not assistant_id:
            return True
        try:
            with telnyx_errors("assistant"):
                assistant = client.assistants.retrieve(assistant_id)
        except NotFound:
            return True
        privacy = assistant.privacy_settings or {}
        return privacy.get("data_retention") is not False

    def _link(self, job: TranscriptJob, status: TranscriptStatus, **extra: Any) -> None:
        now = self.clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        self.calls.set_transcript(
            job.tenant_id, job.call_control_id, status=status.value, fetched_at=now, **extra
        )


def _messages(client: Any, conversation_id: str) -> Iterator[Any]:
    return client.conversations.iter_messages(conversation_id)


class Transcripts:
    """Reads a tenant's stored transcripts (the analytics API)."""

    def __init__(self, tenant_id: str, *, calls: CallTranscriptLinks, store: TranscriptDocuments) -> None:
        self.tenant_id = tenant_id
        self.calls = calls
        self.store = store

    def of_call(self, call_control_id: str) -> dict[str, Any]:
        """The call's transcript document; NotFound saying whether the call or its transcript is missing."""
        call = self.calls.get_call_item(self.tenant_id, call_control_id)
        if call is None:
            raise NotFound(f"call {call_control_id} not found")
        key = call.get("transcript_key")
        if not key:
            raise NotFound(f"call {call_control_id} has no transcript ({_why_none(call)})")
        document = self.store.get(str(key))
        if document is None:
            raise NotFound(f"call {call_control_id} has no transcript (expired under the retention period)")
        return document


def _why_none(call: dict[str, Any]) -> str:
    status = call.get("transcript_status")
    if status == TranscriptStatus.NOT_KEPT:
        return "the assistant does not retain conversation data"
    if status == TranscriptStatus.EMPTY:
        return "the conversation had no messages"
    if not (call.get("conversation") or {}).get("conversation_id"):
        return "the call had no AI conversation"
    if not call.get("ended_at") and "conversation_ended" not in (call.get("facts") or {}):
        return "the conversation has not ended"
    return "not fetched yet, or transcripts are off in this deployment"

"""Transcripts: the messages of a call's AI conversation, fetched once after it ends (issue 10).

Plain data and pure functions: the job the event processor hands to the transcripts consumer,
where a transcript lives (one deterministic S3 key per call, so a retry overwrites and never
duplicates), the document stored there, and when to give up waiting for Telnyx's messages.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

CONVERSATION_ENDED = "call.conversation.ended"
#: The stored document's format (bumped if its shape ever changes incompatibly).
TRANSCRIPT_FORMAT = 1


class TranscriptStatus(StrEnum):
    """What became of a call's transcript (``transcript_status`` on the call record)."""

    STORED = "stored"  # in S3 at ``transcript_key``
    NOT_KEPT = "not_kept"  # the assistant does not retain data (privacy_settings.data_retention)
    EMPTY = "empty"  # Telnyx had no messages after every try: nothing was said, or nothing kept


class MalformedJob(ValueError):
    """An SQS message on the transcripts queue that is not a transcript job."""


@dataclass(frozen=True, slots=True)
class TranscriptJob:
    """Fetch the messages of ``conversation_id`` for one call of one tenant."""

    tenant_id: str
    call_control_id: str
    conversation_id: str
    assistant_id: str | None = None
    # Which ask this is: an empty conversation is asked for again by a delayed copy (attempt + 1).
    attempt: int = 1

    def to_json(self) -> str:
        """The SQS message body."""
        doc = {
            "tenant_id": self.tenant_id,
            "call_control_id": self.call_control_id,
            "conversation_id": self.conversation_id,
            "assistant_id": self.assistant_id,
            "attempt": self.attempt if self.attempt > 1 else None,
        }
        return json.dumps({k: v for k, v in doc.items() if v}, separators=(",", ":"))

    def next_attempt(self) -> TranscriptJob:
        """The same job, one ask later."""
        return replace(self, attempt=self.attempt + 1)

    @classmethod
    def from_json(cls, text: str) -> TranscriptJob:
        """Parse an SQS message body; raise :class:`MalformedJob` if it is not a job."""
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise MalformedJob("message body is not JSON") from exc
        if not isinstance(doc, dict):
            raise MalformedJob("message body is not a JSON object")
        tenant_id, call_control_id, conversation_id = (
            doc.get(name) for name in ("tenant_id", "call_control_id", "conversation_id")
        )
        if not all(isinstance(v, str) and v for v in (tenant_id, call_control_id, conversation_id)):
            raise MalformedJob("a transcript job needs tenant_id, call_control_id and conversation_id")
        assistant = doc.get("assistant_id")
        attempt = doc.get("attempt", 1)
        if not isinstance(attempt, int) or isinstance(attempt, bool) or attempt < 1:
            raise MalformedJob("attempt must be a positive integer")
        return cls(
            str(tenant_id),
            str(call_control_id),
            str(conversation_id),
            assistant if isinstance(assistant, str) and assistant else None,
            attempt,
        )


def job_for(
    event_type: str, tenant_id: str, call_control_id: str | None, payload: Mapping[str, Any]
) -> TranscriptJob | None:
    """The transcript job a webhook calls for: only ``call.conversation.ended`` with a conversation."""
    if event_type != CONVERSATION_ENDED or not call_control_id:
        return None
    conversation_id = payload.get("conversation_id")
    if not isinstance(conversation_id, str) or not conversation_id:
        return None
    assistant_id = payload.get("assistant_id")
    return TranscriptJob(
        tenant_id,
        call_control_id,
        conversation_id,
        assistant_id if isinstance(assistant_id, str) and assistant_id else None,
    )


def transcript_key(tenant_id: str, call_control_id: str) -> str:
    """The S3 key of a call's transcript: under the tenant, one per call (a retry overwrites it).

    ``call_control_id`` is ``v3:…`` (a colon is a legal, unescaped S3 key character).
    """
    return f"tenants/{tenant_id}/transcripts/{call_control_id}.json"


def transcript_document(
    *,
    call_id: str,
    conversation_id: str,
    messages: Iterable[Mapping[str, Any]],
) -> dict[str, Any]:
    """The stored transcript: the messages oldest first (Telnyx lists them newest first).

    Sorted by ``created_at`` (ISO 8601 UTC sorts as text), so the same messages always give the
    same document: a retry writes the same bytes to the same key (when it was fetched is on the
    call record, not in here).
    """
    # Telnyx lists newest first: reversed, that is oldest first, and it breaks ties between equal
    # timestamps. The sort then fixes any page that came out of order.
    ordered = [_message(m) for m in reversed(list(messages))]
    if all(m.get("created_at") for m in ordered):
        ordered.sort(key=lambda m: str(m["created_at"]))
    return {
        "format": TRANSCRIPT_FORMAT,
        "call_id": call_id,
        "conversation_id": conversation_id,
        "messages": ordered,
    }


def _message(raw: Mapping[str, Any]) -> dict[str, Any]:
    """One message as stored: role, text, times and tool calls (nothing else Telnyx may add)."""
    out: dict[str, Any] = {
        "role": raw.get("role"),
        "text": raw.get("text") if raw.get("text") is not None else raw.get("content"),
        "created_at": raw.get("created_at"),
        "sent_at": raw.get("sent_at"),
    }
    if raw.get("tool_calls"):
        out["tool_calls"] = raw["tool_calls"]
    return {k: v for k, v in out.items() if v is not None}


def give_up_waiting(attempt: int, max_tries: int) -> bool:
    """True when an empty conversation has been asked for ``max_tries`` times: stop asking.

    Telnyx writes a conversation's messages shortly after it ends; an empty answer before the
    last try is asked again later (:func:`retry_delay_seconds`).
    """
    return attempt >= max_tries


def retry_delay_seconds(attempt: int) -> int:
    """How long to wait before ask ``attempt + 1``: 30 s, doubling, at most SQS's 15 minutes."""
    return int(min(900, 30 * 2 ** max(0, attempt - 1)))

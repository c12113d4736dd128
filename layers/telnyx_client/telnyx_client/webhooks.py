"""Parse what Telnyx POSTs to a webhook URL into one normalised shape.

Two wire formats arrive on the same route:

* JSON envelopes ``{"data": {"record_type", "event_type", "id", "occurred_at", "payload"}, "meta"}``
  for Call Control and AI events (``call.*``, ``assistant.initialization``), and a few top-level
  JSON shapes (the insight-group webhook ``conversation.insights.completed``);
* form-encoded TeXML callbacks (``CallSid``, ``CallStatus``, ``AnsweredBy`` …) for TeXML AI calls.

Real traffic carries fields the spec lacks and ``null`` where the spec says string, so parsing is
deliberately tolerant: only a body that is not an object/form at all is refused. Unknown event
types are normal. Everything here is stdlib-only on purpose: this runs in the intake's request
path, where importing pydantic would cost cold-start time for no benefit.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl


class WebhookFormat(StrEnum):
    """How the body was encoded on the wire."""

    JSON = "json"
    TEXML_FORM = "texml_form"


class WebhookParseError(ValueError):
    """The body is not a Telnyx webhook in any shape we know (maps to HTTP 400)."""


@dataclass(frozen=True, slots=True)
class ParsedWebhook:
    """One inbound webhook, normalised.

    ``event_id`` is the dedupe key: ``data.id`` for JSON envelopes; for bodies without an id
    (TeXML form callbacks, top-level JSON) a digest of the body's content, so a redelivery of the
    same callback dedupes and two different callbacks never collide.
    """

    event_id: str
    event_type: str
    format: WebhookFormat
    payload: dict[str, Any]
    occurred_at: datetime | None = None
    attempt: int | None = None
    call_control_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# TeXML callbacks have no event type; we name them so the processor can route on one string.
TEXML_STATUS = "texml.status"
TEXML_AMD = "texml.amd"
TEXML_CALLBACK = "texml.callback"
# The insight-group webhook (top-level JSON, no ``data`` envelope, no call_control_id).
INSIGHT_GROUP_EVENT = "conversation.insights.completed"


def is_form_encoded(content_type: str | None) -> bool:
    """True for ``application/x-www-form-urlencoded`` (with or without a charset)."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() == "application/x-www-form-urlencoded"


def parse_timestamp(value: Any) -> datetime | None:
    """Parse Telnyx timestamps leniently (ISO 8601 with ``Z``, or ``2021-04-28 21:51:18.731479Z``)."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace(" ", "T", 1)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _digest(prefix: str, parts: list[tuple[str, str]] | bytes) -> str:
    h = hashlib.sha256()
    if isinstance(parts, bytes):
        h.update(parts)
    else:
        for key, value in sorted(parts):
            h.update(key.encode() + b"\x00" + value.encode() + b"\x01")
    return f"{prefix}-{h.hexdigest()[:40]}"


def parse_webhook(raw_body: bytes, content_type: str | None) -> ParsedWebhook:
    """Parse a raw webhook body. Raises :class:`WebhookParseError` only for unparseable bodies.

    A service that reads bodies through its own checked reader calls :func:`webhook_from_json` or
    :func:`webhook_from_form` with what it read instead."""
    if is_form_encoded(content_type):
        try:
            text = raw_body.decode("utf-8")
            pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError) as exc:
            raise WebhookParseError("body is not a valid form-encoded document") from exc
        return webhook_from_form(pairs)
    try:
        doc = json.loads(raw_body)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise WebhookParseError("body is not valid JSON") from exc
    return webhook_from_json(doc, raw_body)


def webhook_from_json(doc: Any, raw_body: bytes) -> ParsedWebhook:
    """The webhook in a parsed JSON body (``raw_body``: its bytes, for the id of a body without one)."""
    if not isinstance(doc, dict):
        raise WebhookParseError("body must be a JSON object")
    data = doc.get("data")
    if isinstance(data, dict):
        payload = data.get("payload")
        payload = payload if isinstance(payload, dict) else {}
        event_id = data.get("id")
        meta = doc.get("meta")
        attempt = (
            meta.get("attempt") if isinstance(meta, dict) and isinstance(meta.get("attempt"), int) else None
        )
        return ParsedWebhook(
            event_id=str(event_id) if event_id not in (None, "") else _digest("body", raw_body),
            event_type=str(data.get("event_type") or "unknown"),
            format=WebhookFormat.JSON,
            payload=payload,
            occurred_at=parse_timestamp(data.get("occurred_at")),
            attempt=attempt,
            call_control_id=_str_or_none(payload.get("call_control_id")),
        )
    # Top-level shapes (e.g. the insight-group webhook): keep the whole document as payload.
    event_type = str(doc.get("event_type") or "unknown")
    event_id = _digest("body", raw_body)
    conversation, group = doc.get("conversation_id"), doc.get("insight_group_id")
    if event_type == INSIGHT_GROUP_EVENT and isinstance(conversation, str) and isinstance(group, str):
        # One group's results for one conversation, whatever the body's bytes (a redelivery may
        # reorder keys): the id that makes a redelivered group webhook a duplicate.
        event_id = f"insights:{conversation}:{group}"
    return ParsedWebhook(
        event_id=event_id,
        event_type=event_type,
        format=WebhookFormat.JSON,
        payload=doc,
        occurred_at=parse_timestamp(doc.get("occurred_at")),
    )


def webhook_from_form(pairs: list[tuple[str, str]]) -> ParsedWebhook:
    """The TeXML callback in a parsed form body (its fields in order)."""
    if not pairs:
        raise WebhookParseError("form body is empty")
    fields = dict(pairs)
    if "CallStatus" in fields:
        event_type = TEXML_STATUS
    elif "AnsweredBy" in fields:
        event_type = TEXML_AMD
    else:
        event_type = TEXML_CALLBACK
    occurred = parse_timestamp(fields.get("OccurredAt")) or parse_timestamp(fields.get("Timestamp"))
    return ParsedWebhook(
        event_id=_digest("texml", pairs),
        event_type=event_type,
        format=WebhookFormat.TEXML_FORM,
        payload=fields,
        occurred_at=occurred,
        call_control_id=_str_or_none(fields.get("CallSid")),
    )


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None

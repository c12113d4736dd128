"""The SQS message that carries one verified webhook from the intake to the processor.

The raw body travels as text (both wire formats are UTF-8) so the processor re-parses exactly
what Telnyx signed. A body too large for SQS travels by reference to S3 (claim check).
Version 1; the processor refuses versions it does not know (the message then ends in the DLQ
instead of being misread).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MESSAGE_VERSION = 1


class MalformedMessage(ValueError):
    """An SQS message that is not a webhook message this code understands."""


@dataclass(frozen=True, slots=True)
class WebhookMessage:
    """A verified webhook, durable in SQS: exactly one of ``body`` and ``body_key`` is set."""

    tenant_id: str
    event_id: str
    event_type: str
    content_type: str
    received_at: str
    signed_at: int
    body: str | None = None
    body_key: str | None = None
    body_bytes: int = 0

    def to_json(self) -> str:
        """Serialise for SQS."""
        doc: dict[str, Any] = {
            "v": MESSAGE_VERSION,
            "tenant_id": self.tenant_id,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "content_type": self.content_type,
            "received_at": self.received_at,
            "signed_at": self.signed_at,
            "body_bytes": self.body_bytes,
        }
        if self.body_key is not None:
            doc["body_key"] = self.body_key
        else:
            doc["body"] = self.body
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> WebhookMessage:
        """Parse an SQS message body; raise :class:`MalformedMessage` if it is not one of ours."""
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MalformedMessage("message body is not JSON") from exc
        if not isinstance(doc, dict) or doc.get("v") != MESSAGE_VERSION:
            raise MalformedMessage("unknown message version")
        try:
            message = cls(
                tenant_id=str(doc["tenant_id"]),
                event_id=str(doc["event_id"]),
                event_type=str(doc["event_type"]),
                content_type=str(doc.get("content_type") or "application/json"),
                received_at=str(doc.get("received_at") or ""),
                signed_at=int(doc.get("signed_at") or 0),
                body=doc.get("body"),
                body_key=doc.get("body_key"),
                body_bytes=int(doc.get("body_bytes") or 0),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedMessage("message is missing required fields") from exc
        if (message.body is None) == (message.body_key is None):
            raise MalformedMessage("message must carry exactly one of body and body_key")
        return message

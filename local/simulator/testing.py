"""Helpers for tests that drive the simulator (dial bodies, picking a call's events)."""

from __future__ import annotations

import base64
import json
from typing import Any

from local.simulator.receiver import WebhookReceiver

FROM = "+15550000100"
CLIENT_STATE = base64.b64encode(json.dumps({"lead_id": "lead_test_0001", "attempt": 1}).encode()).decode()


def dial_body(to: str, **extra: Any) -> dict[str, Any]:
    """A valid Call Control dial body with a base64 ``client_state``; ``extra`` adds or overrides fields."""
    body: dict[str, Any] = {
        "connection_id": "1000000000000000001",
        "to": to,
        "from": FROM,
        "client_state": CLIENT_STATE,
    }
    body.update(extra)
    return body


def events_for(receiver: WebhookReceiver, call_control_id: str) -> list[dict[str, Any]]:
    """JSON envelopes of one call that were accepted (2xx), in arrival order, duplicates removed."""
    seen: set[str] = set()
    out = []
    for event in receiver.events():
        data = event.get("data")
        if not isinstance(data, dict):
            continue  # a top-level body (the insight-group webhook) belongs to a conversation
        if data.get("payload", {}).get("call_control_id") == call_control_id and data["id"] not in seen:
            seen.add(data["id"])
            out.append(event)
    return out


def types_of(events: list[dict[str, Any]]) -> list[str]:
    """Event types of envelopes, in order."""
    return [e["data"]["event_type"] for e in events]

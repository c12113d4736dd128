"""The API Gateway (REST, proxy) event and answer, read and written by hand (stdlib only).

For the Telnyx-facing one-route functions (init webhook, in-call tools): Telnyx waits on them
mid-call, and Powertools' event handler is most of their cold import. The management API keeps
the event handler (many routes, OpenAPI) through :mod:`dialer.http_api`.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any


def raw_body(event: dict[str, Any]) -> bytes:
    """The request body as sent (base64-decoded when API Gateway encoded it; b"" if undecodable)."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body)
        except (binascii.Error, ValueError):
            return b""
    return body.encode("utf-8") if isinstance(body, str) else b""


def path_parameter(event: dict[str, Any], name: str) -> str:
    """A path parameter of the route ("" when absent)."""
    return str((event.get("pathParameters") or {}).get(name) or "")


def json_response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    """A proxy answer with a compact JSON body."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body, separators=(",", ":"), ensure_ascii=False),
    }

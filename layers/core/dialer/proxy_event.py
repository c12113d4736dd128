"""The API Gateway (REST, proxy) event and answer, read and written by hand (stdlib only).

For the Telnyx-facing one-route functions (init webhook, in-call tools): Telnyx waits on them
mid-call, and Powertools' event handler is most of their cold import. The management API keeps
the event handler (many routes, OpenAPI) through :mod:`dialer.http_api`. Bodies are read by
:mod:`dialer.request_body`, as everywhere.
"""

from __future__ import annotations

import json
from typing import Any


def method_not_allowed(event: dict[str, Any], allowed: str) -> dict[str, Any] | None:
    """The 405 for a request whose method is not ``allowed`` (the template may route more methods
    here than the function serves, and a local gateway routes anything); None when it is."""
    method = str(event.get("httpMethod") or allowed).upper()
    if method == allowed:
        return None
    answer = json_response(
        405, {"error": "method_not_allowed", "message": f"{method} is not served here; use {allowed}"}
    )
    answer["headers"]["Allow"] = allowed
    return answer


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

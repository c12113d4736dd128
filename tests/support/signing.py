"""Signing helpers for tests: a throwaway key pair and signed requests, as Telnyx would send them."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey

from telnyx_client.signature import sign
from tests.support.telnyx_fixtures import EVENTS_DIR

REPO = Path(__file__).resolve().parents[2]


def fixture_paths() -> list[Path]:
    """Every Telnyx webhook example (tests/fixtures/telnyx/events; the init *response* is ours, not a webhook)."""
    return sorted(p for p in EVENTS_DIR.glob("*.json") if not p.name.endswith(".response.json"))


def load_fixture(name: str) -> dict[str, Any]:
    """One example event by file stem, e.g. ``call.hangup``."""
    return json.loads((EVENTS_DIR / f"{name}.json").read_text())


@dataclass(frozen=True)
class WebhookSigner:
    """A throwaway Telnyx-like signing key."""

    signing_key: SigningKey

    @property
    def public_key_b64(self) -> str:
        return base64.b64encode(bytes(self.signing_key.verify_key)).decode()

    def headers(
        self, raw: bytes, *, timestamp: int | None = None, content_type: str = "application/json"
    ) -> dict[str, str]:
        """Headers Telnyx would send with ``raw``."""
        return {**sign(raw, self.signing_key, timestamp=timestamp), "content-type": content_type}


def new_signer(seed: int = 7) -> WebhookSigner:
    """A deterministic key (seeded) so failures reproduce."""
    return WebhookSigner(SigningKey(bytes([seed]) * 32))


def api_gateway_event(
    tenant_id: str,
    raw: bytes,
    headers: dict[str, str],
    *,
    base64_body: bool = False,
) -> dict[str, Any]:
    """A REST API (v1 proxy) event for POST /webhooks/telnyx/{tenant_id}, as API Gateway builds it.

    A body that is not UTF-8 is base64-encoded, as the local gateway sends it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        base64_body = True
    body = base64.b64encode(raw).decode() if base64_body else text
    return {
        "resource": "/webhooks/telnyx/{tenant_id}",
        "path": f"/webhooks/telnyx/{tenant_id}",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"tenant_id": tenant_id},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/webhooks/telnyx/{tenant_id}",
            "httpMethod": "POST",
            "path": f"/dev/webhooks/telnyx/{tenant_id}",
            "stage": "dev",
            "requestId": "test-request",
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": body,
        "isBase64Encoded": base64_body,
    }

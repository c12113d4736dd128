"""Event webhooks are signed exactly as the Standard Webhooks spec says: the spec's own Python
package (``standardwebhooks``) verifies every signature we make."""

from __future__ import annotations

import time

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from dialer.domain.event_webhooks import new_secret, retry_delay, signature_header
from dialer.errors import InvalidInput


def _headers(webhook_id: str, timestamp: int, header: str) -> dict[str, str]:
    return {"webhook-id": webhook_id, "webhook-timestamp": str(timestamp), "webhook-signature": header}


def test_the_reference_verifier_accepts_our_signature() -> None:
    # GIVEN a secret and an event body
    secret = new_secret()
    body = b'{"type":"call.completed","id":"evt_1","data":{"outcome":"answered_human","note":"\xc3\xa9"}}'
    now = int(time.time())
    # WHEN we sign it
    header = signature_header([secret], "evt_1", now, body)
    # THEN the spec's verifier accepts it, and refuses it for another body, id or secret
    assert Webhook(secret).verify(body, _headers("evt_1", now, header))["id"] == "evt_1"
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", _headers("evt_1", now, header))
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, _headers("evt_2", now, header))
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, _headers("evt_1", now, header))


def test_during_a_rotation_both_secrets_verify() -> None:
    old, new = new_secret(), new_secret()
    body = b'{"id":"evt_9"}'
    now = int(time.time())
    header = signature_header([new, old], "evt_9", now, body)
    assert len(header.split(" ")) == 2
    for secret in (old, new):
        Webhook(secret).verify(body, _headers("evt_9", now, header))


def test_a_secret_is_whsec_and_32_random_bytes() -> None:
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_")
    assert first != second
    with pytest.raises(InvalidInput):
        signature_header(["not-a-secret"], "evt", 1, b"{}")


def test_backoff_doubles_from_30_seconds_and_fits_the_day() -> None:
    delays = [retry_delay(n).total_seconds() for n in range(1, 20)]
    assert delays[:4] == [30, 60, 120, 240]
    assert max(delays) == 4 * 3600
    # enough tries inside the 24 h horizon that an outage of hours is bridged
    assert sum(delays[:13]) < 24 * 3600 < sum(delays[:14])  # 14 tries in the 24 h horizon

"""Event webhooks out (issue 24): the event types, the Standard Webhooks signature, secrets and the
retry schedule. Pure: no AWS, no sockets, no clock of its own.

The signature is the Standard Webhooks one (https://www.standardwebhooks.com): ``webhook-id``,
``webhook-timestamp`` (Unix seconds) and ``webhook-signature`` = ``v1,`` + base64 of
HMAC-SHA256(secret, ``{id}.{timestamp}.{body}``), where the secret is ``whsec_`` + base64 of the
key bytes. A few lines of HMAC rather than a runtime dependency; the tests verify every signature
with the ``standardwebhooks`` package itself. During a rotation's overlap the header carries one
signature per live secret, space-separated, which the spec's verifiers accept.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from dialer.domain.dialing import utc_iso
from dialer.errors import InvalidInput

#: The payload envelope's version: a receiver may switch on it when a payload changes shape.
PAYLOAD_VERSION = 1
SECRET_PREFIX = "whsec_"  # noqa: S105 - the spec's prefix, not a secret
#: Key bytes of a new secret (the spec allows 24 to 64).
SECRET_BYTES = 32
#: An event is retried for this long after it was recorded, then given up on for that endpoint.
DELIVERY_HORIZON = timedelta(hours=24)
#: An endpoint whose deliveries have all failed for this long is disabled.
DISABLE_AFTER = timedelta(days=3)
#: How long one delivery may take (connect, TLS, request, answer).
DELIVERY_TIMEOUT_SECONDS = 10.0
#: What is kept of a receiver's answer: enough to see an error, never a stored copy of its data.
RESPONSE_EXCERPT_CHARS = 256
#: Longest a rotated-out secret keeps signing, and the default overlap.
MAX_ROTATION_OVERLAP = timedelta(hours=72)
DEFAULT_ROTATION_OVERLAP = timedelta(hours=24)


class EventType(StrEnum):
    """Every event a webhook endpoint can subscribe to: the one list (API, CLI and docs read it)."""

    CALL_COMPLETED = "call.completed"
    LEAD_STATUS_CHANGED = "lead.status_changed"
    LEAD_OPTED_OUT = "lead.opted_out"
    LEAD_CALLBACK_SCHEDULED = "lead.callback_scheduled"
    CAMPAIGN_STATUS_CHANGED = "campaign.status_changed"
    IMPORT_COMPLETED = "import.completed"
    ENDPOINT_DISABLED = "webhook_endpoint.disabled"


#: Event ids: ``evt_`` + the 32 hex digits of a UUIDv7 (48-bit Unix milliseconds of the event's
#: ``created_at``, version 7, then 74 random bits), so an event's key comes from its id alone.
#: Events of the previous release carry a uuid4 (version digit 4) and live under their old key.
_EVENT_ID = re.compile(r"evt_([0-9a-f]{12})7[0-9a-f]{3}[89ab][0-9a-f]{15}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def new_event_id(at: datetime) -> tuple[str, str]:
    """A fresh event id for an event recorded at ``at`` (the engine's time, not the wall clock's:
    the id places the event in its day's listing), and the ``created_at`` it carries (``at`` to
    the millisecond). Within one millisecond the order of ids is random."""
    ms = (at - _EPOCH) // _MS
    rand = secrets.randbits(74)
    value = (ms << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return f"evt_{value:032x}", utc_iso(_EPOCH + ms * _MS)


def event_created_at(event_id: str) -> str | None:
    """The ``created_at`` (fixed-width UTC, millisecond precision) an id of :func:`new_event_id`
    was made for; None for any other id (a previous release's uuid4 id, or no event id at all)."""
    found = _EVENT_ID.fullmatch(event_id)
    if found is None:
        return None
    return utc_iso(_EPOCH + int(found.group(1), 16) * _MS)


def new_secret() -> str:
    """A fresh signing secret (``whsec_`` + base64 of 32 random bytes)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret; InvalidInput for anything else."""
    if not secret.startswith(SECRET_PREFIX):
        raise _bad_secret("a secret starts with whsec_")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except ValueError:
        raise _bad_secret("a secret is whsec_ + base64") from None
    if not key:
        raise _bad_secret("the secret is empty")
    return key


def signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of ``body`` sent as ``webhook_id`` at ``timestamp``."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets_in_use: Sequence[str], webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: one signature per live secret (a rotation's overlap)."""
    return " ".join(signature(s, webhook_id, timestamp, body) for s in secrets_in_use)


def retry_delay(attempts: int) -> timedelta:
    """How long after failed attempt number ``attempts`` (1-based) the next one is due:
    exponential from 30 s, doubling, capped at 4 h so a receiver back after an outage hears
    from us within hours; 14 tries fit the 24 h horizon."""
    seconds = 30 * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, 4 * 3600))


def excerpt(body: bytes) -> str:
    """The short excerpt of a receiver's answer that a delivery record keeps."""
    return body[: RESPONSE_EXCERPT_CHARS * 4].decode("utf-8", "replace")[:RESPONSE_EXCERPT_CHARS]


def _bad_secret(message: str) -> InvalidInput:
    return InvalidInput(message, [{"loc": ["secret"], "msg": message, "type": "value_error"}])

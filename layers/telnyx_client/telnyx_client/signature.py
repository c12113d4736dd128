"""Ed25519 webhook signatures, exactly as Telnyx signs them.

Telnyx signs the UTF-8 bytes of ``f"{telnyx-timestamp}|{raw body}"`` with its account key and
sends ``telnyx-timestamp`` (unix seconds) and ``telnyx-signature-ed25519`` (base64, 64 bytes).
The public key is base64 (32 bytes). A timestamp more than 300 s away from now, either way, is
rejected, as the official SDK does. Verification is over the raw body bytes: never re-serialise
JSON, never URL-decode a form body first.

The simulator signs with :func:`sign` and the intake verifies with :func:`verify`, so both sides
share one implementation (and the SDK's ``webhooks.unwrap`` is the external oracle in tests).
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

TIMESTAMP_HEADER = "telnyx-timestamp"
SIGNATURE_HEADER = "telnyx-signature-ed25519"
MAX_SKEW_SECONDS = 300


class SignatureFailure(StrEnum):
    """Why a webhook was refused. Stable codes: they appear in logs and metrics."""

    MISSING_HEADERS = "missing_headers"
    BAD_TIMESTAMP = "bad_timestamp"
    STALE_TIMESTAMP = "stale_timestamp"
    MALFORMED_SIGNATURE = "malformed_signature"
    BAD_SIGNATURE = "bad_signature"
    BAD_PUBLIC_KEY = "bad_public_key"


class SignatureError(Exception):
    """The request is not provably from Telnyx; ``reason`` says which check failed."""

    def __init__(self, reason: SignatureFailure, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """Case-insensitive header lookup (API Gateway keeps the client's casing)."""
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def load_public_key(public_key_b64: str) -> VerifyKey:
    """Parse a base64 Ed25519 public key as Telnyx shows it in the portal (32 bytes)."""
    try:
        raw = base64.b64decode(public_key_b64.strip(), validate=True)
        if len(raw) != 32:
            raise ValueError(f"expected 32 bytes, got {len(raw)}")
        return VerifyKey(raw)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError(SignatureFailure.BAD_PUBLIC_KEY, "webhook public key is not valid") from exc


@dataclass(frozen=True, slots=True)
class VerifiedTimestamp:
    """The signed timestamp of a verified request (unix seconds)."""

    value: int


def verify(
    raw_body: bytes,
    headers: Mapping[str, str] | None,
    public_key: VerifyKey | str,
    *,
    now: float | None = None,
    max_skew: int = MAX_SKEW_SECONDS,
) -> VerifiedTimestamp:
    """Verify a Telnyx webhook signature over the raw body; raise :class:`SignatureError` if not valid."""
    timestamp = _header(headers, TIMESTAMP_HEADER)
    signature = _header(headers, SIGNATURE_HEADER)
    if not timestamp or not signature:
        raise SignatureError(SignatureFailure.MISSING_HEADERS, "signature headers are missing")
    try:
        ts = int(timestamp.strip())
    except ValueError as exc:
        raise SignatureError(SignatureFailure.BAD_TIMESTAMP, "telnyx-timestamp is not an integer") from exc
    current = time.time() if now is None else now
    if abs(current - ts) > max_skew:
        raise SignatureError(SignatureFailure.STALE_TIMESTAMP, "telnyx-timestamp is too old or too new")
    try:
        sig = base64.b64decode(signature.strip(), validate=True)
    except binascii.Error as exc:
        raise SignatureError(SignatureFailure.MALFORMED_SIGNATURE, "signature is not base64") from exc
    if len(sig) != 64:
        raise SignatureError(SignatureFailure.MALFORMED_SIGNATURE, "signature is not 64 bytes")
    key = load_public_key(public_key) if isinstance(public_key, str) else public_key
    try:
        key.verify(timestamp.strip().encode() + b"|" + raw_body, sig)
    except BadSignatureError as exc:
        raise SignatureError(SignatureFailure.BAD_SIGNATURE, "signature does not match payload") from exc
    return VerifiedTimestamp(ts)


def sign(raw_body: bytes, signing_key: SigningKey, *, timestamp: int | None = None) -> dict[str, str]:
    """Return the two headers Telnyx would send with ``raw_body`` (used by the simulator and tests)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = signing_key.sign(ts.encode() + b"|" + raw_body).signature
    return {TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: base64.b64encode(signature).decode()}


def new_key_pair() -> tuple[SigningKey, str]:
    """A fresh signing key and its base64 public key (simulator, tests, local bootstrap)."""
    key = SigningKey.generate()
    return key, base64.b64encode(bytes(key.verify_key)).decode()

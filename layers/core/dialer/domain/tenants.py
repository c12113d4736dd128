"""Tenants, their API keys and the authenticated principal: plain data and pure functions.

An API key looks like ``tdk_<key_id>_<secret>``: the key id (16 hex characters) finds the stored
record without a scan, the secret (256 random bits, URL-safe base64) is never stored, only its
SHA-256. With 256 bits of entropy a fast hash is enough: there is nothing to brute-force, so a
slow KDF or a pepper would only add latency to every cache miss of the authorizer.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum

API_KEY_PREFIX = "tdk"
_KEY_ID = re.compile(r"^[0-9a-f]{16}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{32,128}$")
# Tenant ids appear in URLs, SSM paths and DynamoDB keys: a safe, boring alphabet.
TENANT_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"


class TenantStatus(StrEnum):
    """Whether a tenant may use the management API."""

    ACTIVE = "active"
    DISABLED = "disabled"


class AuthMethod(StrEnum):
    """How the caller proved who it is."""

    API_KEY = "api_key"
    JWT = "jwt"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the tenant, how it authenticated, and the key id or JWT subject."""

    tenant_id: str
    method: AuthMethod
    subject: str


@dataclass(frozen=True, slots=True)
class NewApiKey:
    """A freshly generated key: ``plaintext`` is shown once; only ``secret_hash`` is stored."""

    key_id: str
    plaintext: str
    secret_hash: str


@dataclass(frozen=True, slots=True)
class ParsedApiKey:
    """The two halves of a presented API key."""

    key_id: str
    secret: str


def generate_api_key() -> NewApiKey:
    """A new API key from the OS's secure random source."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return NewApiKey(key_id, f"{API_KEY_PREFIX}_{key_id}_{secret}", hash_secret(secret))


def hash_secret(secret: str) -> str:
    """The stored form of a key's secret (hex SHA-256)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_api_key(token: str) -> ParsedApiKey | None:
    """Split ``tdk_<key_id>_<secret>``; None if the token is not shaped like one of our keys."""
    prefix, _, rest = token.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != API_KEY_PREFIX or not _KEY_ID.fullmatch(key_id) or not _SECRET.fullmatch(secret):
        return None
    return ParsedApiKey(key_id, secret)


def secret_matches(secret: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented secret with the stored hash."""
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def looks_like_api_key(token: str) -> bool:
    """True when the bearer token claims to be one of our API keys (rather than a JWT)."""
    return token.startswith(f"{API_KEY_PREFIX}_")


def is_valid_tenant_id(tenant_id: str | None) -> bool:
    """True if ``tenant_id`` is a well-formed tenant id."""
    return bool(tenant_id) and re.fullmatch(TENANT_ID_PATTERN, tenant_id or "") is not None

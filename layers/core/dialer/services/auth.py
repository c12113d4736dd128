"""Who is calling the management API: an API key (hashed, per tenant) or, optionally, a JWT.

Used by the authorizer function only; the API handlers take the tenant from the authorizer's
context and never see credentials. Every failure is the same :class:`Unauthorized` to the
caller (the reason is for our logs), so the API is no oracle for which tenants or keys exist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from dialer import clock as engine_clock
from dialer.adapters.tenants_table import ApiKeyRecord, TenantRecord
from dialer.domain.tenants import (
    AuthMethod,
    Principal,
    is_valid_tenant_id,
    looks_like_api_key,
    parse_api_key,
    secret_matches,
)
from dialer.errors import Unauthorized


class TenantDirectory(Protocol):
    """What authentication reads (and the one thing it writes: last use of a key)."""

    def get_tenant(self, tenant_id: str) -> TenantRecord | None:
        """A tenant by id."""
        ...

    def get_api_key(self, key_id: str) -> ApiKeyRecord | None:
        """An API key by id."""
        ...

    def touch_api_key(self, key_id: str, now: str, not_since: str) -> None:
        """Record that a key was used."""
        ...


@dataclass(frozen=True)
class JwtSettings:
    """JWT mode: tokens from an existing login. Keys from ``jwks_url``, else ``hs256_secret()``."""

    issuer: str
    audience: str
    tenant_claim: str = "tenant_id"
    jwks_url: str = ""
    hs256_secret: Callable[[], str | None] = lambda: None
    leeway_seconds: int = 30


class Authenticator:
    """Turns a bearer token into a :class:`Principal` or raises :class:`Unauthorized`."""

    def __init__(
        self,
        directory: TenantDirectory,
        *,
        jwt: JwtSettings | None = None,
        touch_every: timedelta = timedelta(seconds=60),
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.directory = directory
        self.jwt = jwt
        self.touch_every = touch_every
        self._clock = clock or engine_clock.now
        self._jwks: Any = None

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal behind an ``Authorization`` header value (``Bearer <token>`` or the bare token)."""
        token = _bearer(authorization)
        if not token:
            raise Unauthorized("no credentials", reason="missing")
        if looks_like_api_key(token):
            return self._api_key(token)
        if self.jwt is not None and token.count(".") == 2:
            return self._jwt(token)
        raise Unauthorized("unrecognised credentials", reason="malformed")

    def _api_key(self, token: str) -> Principal:
        parsed = parse_api_key(token)
        if parsed is None:
            raise Unauthorized("malformed API key", reason="malformed")
        record = self.directory.get_api_key(parsed.key_id)
        if record is None:
            raise Unauthorized("unknown API key", reason="unknown_key")
        if not secret_matches(parsed.secret, record.secret_hash):
            raise Unauthorized("wrong API key secret", reason="bad_secret")
        if record.revoked:
            raise Unauthorized("revoked API key", reason="revoked")
        self._require_active(record.tenant_id)
        now = self._clock()
        self.directory.touch_api_key(record.key_id, _iso(now), _iso(now - self.touch_every))
        return Principal(record.tenant_id, AuthMethod.API_KEY, record.key_id)

    def _jwt(self, token: str) -> Principal:
        import jwt as pyjwt

        assert self.jwt is not None
        settings = self.jwt
        try:
            if settings.jwks_url:
                if self._jwks is None:
                    self._jwks = pyjwt.PyJWKClient(settings.jwks_url, cache_keys=True, lifespan=300)
                key: Any = self._jwks.get_signing_key_from_jwt(token).key
                algorithms = ["RS256", "ES256", "PS256", "EdDSA"]
            else:
                key = settings.hs256_secret()
                if not key:
                    raise Unauthorized("JWT mode has no HS256 secret", reason="jwt_not_configured")
                algorithms = ["HS256"]
            claims = pyjwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=settings.audience or None,
                issuer=settings.issuer,
                leeway=settings.leeway_seconds,
                options={"require": ["exp", "iss"], "verify_aud": bool(settings.audience)},
            )
        except pyjwt.PyJWTError as exc:
            raise Unauthorized("invalid JWT", reason=f"jwt:{type(exc).__name__}") from exc
        tenant_id = claims.get(settings.tenant_claim)
        if not isinstance(tenant_id, str) or not is_valid_tenant_id(tenant_id):
            raise Unauthorized("JWT names no valid tenant", reason="jwt_no_tenant")
        self._require_active(tenant_id)
        return Principal(tenant_id, AuthMethod.JWT, str(claims.get("sub") or ""))

    def _require_active(self, tenant_id: str) -> None:
        tenant = self.directory.get_tenant(tenant_id)
        if tenant is None or not tenant.active:
            raise Unauthorized("tenant unknown or disabled", reason="tenant_inactive")


def _bearer(authorization: str | None) -> str:
    value = (authorization or "").strip()
    scheme, _, rest = value.partition(" ")
    if scheme.lower() == "bearer":
        return rest.strip()
    return value


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

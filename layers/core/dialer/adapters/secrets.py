"""Per-tenant secrets in SSM Parameter Store (SecureString), read through Powertools with caching.

Layout under ``{PARAM_PREFIX}/tenants/{tenant_id}/``: ``telnyx_api_key`` (SecureString),
``tool_secret`` (SecureString), ``webhook_public_key`` (String, read by the webhook routes).
The optional JWT HS256 secret lives at ``{PARAM_PREFIX}/auth/jwt_hs256_secret``.
SSM SecureString rather than Secrets Manager: the same path layout, the same Powertools cache,
and no per-secret monthly cost for a per-tenant set of small values (docs/decisions.md).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dialer.adapters import aws
from dialer.adapters.tenant_config import SsmTenantConfig
from dialer.errors import TemporarilyUnavailable

TELNYX_API_KEY = "telnyx_api_key"
TOOL_SECRET = "tool_secret"  # noqa: S105 - a parameter name, not a secret
WEBHOOK_PUBLIC_KEY = "webhook_public_key"
INSIGHTS_TOKEN = "insights_token"  # noqa: S105 - a parameter name, not a secret
SECURE = {TELNYX_API_KEY, TOOL_SECRET, INSIGHTS_TOKEN}


class TenantSecrets(SsmTenantConfig):
    """Reads (cached) and writes (bootstrap) a tenant's Telnyx API key, tool secret and webhook key."""

    def telnyx_api_key(self, tenant_id: str) -> str | None:
        """The tenant's Telnyx API key, or None if it was never stored."""
        return self._get(self.parameter_name(tenant_id, TELNYX_API_KEY), decrypt=True)

    def tool_secret(self, tenant_id: str) -> str | None:
        """The shared secret Telnyx sends on this deployment's tool calls, or None."""
        return self._get(self.parameter_name(tenant_id, TOOL_SECRET), decrypt=True)

    def jwt_hs256_secret(self) -> str | None:
        """The HS256 secret of JWT mode, or None."""
        return self._get(f"{self.prefix}/auth/jwt_hs256_secret", decrypt=True)

    def put(self, tenant_id: str, name: str, value: str) -> str:
        """Store one tenant secret (SecureString, or String for the public key); returns its name."""
        if name not in SECURE | {WEBHOOK_PUBLIC_KEY}:
            raise ValueError(f"unknown tenant secret {name!r}")
        parameter = self.parameter_name(tenant_id, name)
        client = self._client or aws.client("ssm")
        try:
            client.put_parameter(
                Name=parameter,
                Value=value,
                Type="SecureString" if name in SECURE else "String",
                Overwrite=True,
            )
        except (ClientError, BotoCoreError) as exc:
            raise TemporarilyUnavailable(f"could not store {parameter}") from exc
        self._misses.pop(parameter, None)
        return parameter

    def put_jwt_secret(self, value: str) -> str:
        """Store the JWT HS256 secret; returns its parameter name."""
        parameter = f"{self.prefix}/auth/jwt_hs256_secret"
        client: Any = self._client or aws.client("ssm")
        try:
            client.put_parameter(Name=parameter, Value=value, Type="SecureString", Overwrite=True)
        except (ClientError, BotoCoreError) as exc:
            raise TemporarilyUnavailable(f"could not store {parameter}") from exc
        return parameter

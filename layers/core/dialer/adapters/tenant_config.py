"""Per-tenant configuration from SSM Parameter Store, through Powertools Parameters (cached).

Layout: ``{PARAM_PREFIX}/tenants/{tenant_id}/webhook_public_key`` (String: the base64 Ed25519 key
from the tenant's Telnyx portal) and ``…/insights_token`` (SecureString: the token the tenant's
insight-group webhook URL carries). Secrets of the same tenant (API key, tool secret) live beside
it as SecureString and are read by the functions that need them, never by the intake.
"""

from __future__ import annotations

import re
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dialer.adapters import aws
from dialer.errors import TemporarilyUnavailable

# Tenant ids appear in URLs and SSM paths: keep them to a safe, boring alphabet.
TENANT_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def is_valid_tenant_id(tenant_id: str | None) -> bool:
    """True if ``tenant_id`` is a well-formed tenant id (lowercase letters, digits, _ and -)."""
    return bool(tenant_id) and TENANT_ID_PATTERN.fullmatch(tenant_id or "") is not None


class SsmTenantConfig:
    """Reads tenant configuration; caches hits (Powertools) and misses (here) for a while.

    Caching misses matters: the webhook route is public, and requests for random tenant ids
    must not turn into one SSM call each.
    """

    def __init__(self, prefix: str, *, max_age: int = 300, miss_ttl: int = 60, client: Any = None) -> None:
        self.prefix = prefix.rstrip("/")
        self.max_age = max_age
        self.miss_ttl = miss_ttl
        self._client = client
        self._provider: Any = None
        self._misses: dict[str, float] = {}

    @property
    def provider(self) -> Any:
        """The Powertools SSM provider, built on first use."""
        if self._provider is None:
            from aws_lambda_powertools.utilities.parameters import SSMProvider

            self._provider = SSMProvider(boto3_client=self._client or aws.client("ssm"))
        return self._provider

    def parameter_name(self, tenant_id: str, name: str) -> str:
        """The full SSM name of one tenant setting."""
        return f"{self.prefix}/tenants/{tenant_id}/{name}"

    def webhook_public_key(self, tenant_id: str) -> str | None:
        """The tenant's Telnyx webhook public key, or None if the tenant is unknown."""
        return self._get(self.parameter_name(tenant_id, "webhook_public_key"), decrypt=False)

    def insights_token(self, tenant_id: str) -> str | None:
        """The secret the tenant's insight-group webhook URL carries (SecureString), or None.

        The insight-group webhook's signing is unverified (WIRE §12.4), so this token is what
        authenticates an unsigned one.
        """
        return self._get(self.parameter_name(tenant_id, "insights_token"), decrypt=True)

    def _get(self, name: str, *, decrypt: bool) -> str | None:
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        missed_at = self._misses.get(name)
        if missed_at is not None and time.monotonic() - missed_at < self.miss_ttl:
            return None
        try:
            value = self.provider.get(name, max_age=self.max_age, decrypt=decrypt)
        except GetParameterError as exc:
            cause = exc.__cause__ or exc.__context__
            if (
                isinstance(cause, ClientError)
                and cause.response.get("Error", {}).get("Code") == "ParameterNotFound"
            ):
                self._misses[name] = time.monotonic()
                return None
            raise TemporarilyUnavailable("could not read tenant configuration") from exc
        except (ClientError, BotoCoreError) as exc:
            raise TemporarilyUnavailable("could not read tenant configuration") from exc
        self._misses.pop(name, None)
        return str(value) if value is not None else None

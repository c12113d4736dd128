"""Tenant administration: create tenants, issue and revoke API keys, store Telnyx secrets.

Used by the bootstrap CLI (``scripts/tenant.py``) and by the ``/tenants/me`` routes.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from dialer import clock as engine_clock
from dialer.adapters.secrets import TELNYX_API_KEY, TOOL_SECRET, WEBHOOK_PUBLIC_KEY, TenantSecrets
from dialer.adapters.tenants_table import ApiKeyRecord, TenantRecord, TenantsTable
from dialer.domain.tenants import TenantStatus, generate_api_key, is_valid_tenant_id
from dialer.errors import BadRequest, Conflict, NotFound


@dataclass(frozen=True, slots=True)
class IssuedApiKey:
    """A new key: ``plaintext`` is shown once and never stored."""

    record: ApiKeyRecord
    plaintext: str


class TenantAdmin:
    """Tenants, their API keys and their secrets."""

    def __init__(
        self, table: TenantsTable, secrets_store: TenantSecrets, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.table = table
        self.secrets = secrets_store
        self._clock = clock or engine_clock.now

    def create_tenant(self, tenant_id: str, name: str | None = None) -> TenantRecord:
        """A new active tenant; Conflict if the id is taken."""
        if not is_valid_tenant_id(tenant_id):
            raise BadRequest("tenant id must be 1-63 of a-z, 0-9, _ and -, starting with a letter or digit")
        record = TenantRecord(tenant_id, name or tenant_id, TenantStatus.ACTIVE, self._now())
        if not self.table.create_tenant(record):
            raise Conflict(f"tenant {tenant_id} already exists")
        return record

    def get_tenant(self, tenant_id: str) -> TenantRecord:
        """A tenant; NotFound if it does not exist."""
        tenant = self.table.get_tenant(tenant_id)
        if tenant is None:
            raise NotFound(f"tenant {tenant_id} not found")
        return tenant

    def issue_api_key(self, tenant_id: str, name: str) -> IssuedApiKey:
        """A new named API key for an existing tenant."""
        self.get_tenant(tenant_id)
        new = generate_api_key()
        record = ApiKeyRecord(new.key_id, tenant_id, name, new.secret_hash, self._now())
        if not self.table.put_api_key(record):
            raise Conflict("key id collision, try again")
        return IssuedApiKey(record, new.plaintext)

    def list_api_keys(self, tenant_id: str) -> list[ApiKeyRecord]:
        """The tenant's keys, revoked ones included."""
        return self.table.list_api_keys(tenant_id)

    def revoke_api_key(self, tenant_id: str, key_id: str) -> None:
        """Revoke one of the tenant's keys (the authorizer's cache may honour it for up to its TTL)."""
        if not self.table.revoke_api_key(tenant_id, key_id, self._now()):
            raise NotFound("API key not found")

    def set_secrets(
        self,
        tenant_id: str,
        *,
        telnyx_api_key: str | None = None,
        webhook_public_key: str | None = None,
        tool_secret: str | None = None,
        generate_tool_secret: bool = False,
    ) -> list[str]:
        """Store the given secrets of a tenant; returns the parameter names written (never values)."""
        self.get_tenant(tenant_id)
        if generate_tool_secret and tool_secret is None and self.secrets.tool_secret(tenant_id) is None:
            tool_secret = secrets.token_urlsafe(32)
        written = []
        for name, value in (
            (TELNYX_API_KEY, telnyx_api_key),
            (WEBHOOK_PUBLIC_KEY, webhook_public_key),
            (TOOL_SECRET, tool_secret),
        ):
            if value:
                written.append(self.secrets.put(tenant_id, name, value))
        return written

    def _now(self) -> str:
        return self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

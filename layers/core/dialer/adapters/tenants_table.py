"""Tenant and API key records in the single table.

Keys: ``TENANT#{id}``/``TENANT`` and ``APIKEY#{key_id}``/``APIKEY`` (global partitions: the
authorizer has only the key in hand), with gsi1 ``T#{tenant}#APIKEYS`` to list a tenant's keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dialer import keys
from dialer.adapters.dynamo import DynamoItems
from dialer.domain.tenants import TenantStatus


@dataclass(frozen=True, slots=True)
class TenantRecord:
    """A tenant as stored."""

    tenant_id: str
    name: str
    status: TenantStatus
    created_at: str

    @property
    def active(self) -> bool:
        """True if the tenant may use the API."""
        return self.status == TenantStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """An API key as stored (never the secret itself)."""

    key_id: str
    tenant_id: str
    name: str
    secret_hash: str
    created_at: str
    revoked_at: str | None = None
    last_used_at: str | None = None

    @property
    def revoked(self) -> bool:
        """True once the key has been revoked."""
        return self.revoked_at is not None


class TenantsTable:
    """Tenants and their API keys."""

    def __init__(self, table_name: str, *, client: Any = None) -> None:
        self.items = DynamoItems(table_name, client=client)

    # --- tenants -------------------------------------------------------------------------------
    def create_tenant(self, record: TenantRecord) -> bool:
        """Store a new tenant; False if one with that id exists."""
        item = {
            **keys.tenant_key(record.tenant_id),
            **keys.tenants_index(record.tenant_id),
            "entity": "tenant",
            "tenant_id": record.tenant_id,
            "name": record.name,
            "status": record.status.value,
            "created_at": record.created_at,
        }
        return self.items.put(item, condition="attribute_not_exists(pk)")

    def get_tenant(self, tenant_id: str) -> TenantRecord | None:
        """A tenant by id, or None."""
        item = self.items.get(keys.tenant_key(tenant_id))
        if item is None:
            return None
        return TenantRecord(
            item["tenant_id"],
            item.get("name", ""),
            TenantStatus(item.get("status", "active")),
            item.get("created_at", ""),
        )

    def set_tenant_status(self, tenant_id: str, status: TenantStatus) -> bool:
        """Enable or disable a tenant; False if it does not exist."""
        return self.items.update(keys.tenant_key(tenant_id), {"status": status.value})

    # --- API keys ------------------------------------------------------------------------------
    def put_api_key(self, record: ApiKeyRecord) -> bool:
        """Store a new API key; False on a (vanishingly unlikely) key id collision."""
        item = {
            **keys.api_key_key(record.key_id),
            **keys.api_keys_index(record.tenant_id, record.created_at, record.key_id),
            "entity": "api_key",
            "key_id": record.key_id,
            "tenant_id": record.tenant_id,
            "name": record.name,
            "secret_hash": record.secret_hash,
            "created_at": record.created_at,
        }
        return self.items.put(item, condition="attribute_not_exists(pk)")

    def get_api_key(self, key_id: str) -> ApiKeyRecord | None:
        """An API key by id, or None."""
        item = self.items.get(keys.api_key_key(key_id))
        return _api_key(item) if item else None

    def list_api_keys(self, tenant_id: str) -> list[ApiKeyRecord]:
        """Every API key of a tenant (revoked ones included), oldest first."""
        return [_api_key(i) for i in self.items.query_all(keys.api_keys_index(tenant_id)["gsi1pk"])]

    def revoke_api_key(self, tenant_id: str, key_id: str, revoked_at: str) -> bool:
        """Revoke a key of this tenant; False if no such key belongs to the tenant."""
        return self.items.update(
            keys.api_key_key(key_id),
            {"revoked_at": revoked_at},
            condition="attribute_exists(#pk) AND tenant_id = :tenant",
            values={":tenant": tenant_id},
        )

    def touch_api_key(self, key_id: str, now: str, not_since: str) -> None:
        """Record use of a key, at most once per window (``last_used_at`` older than ``not_since``)."""
        self.items.update(
            keys.api_key_key(key_id),
            {"last_used_at": now},
            condition="attribute_exists(#pk) AND (attribute_not_exists(last_used_at) OR last_used_at < :since)",
            values={":since": not_since},
        )


def _api_key(item: dict[str, Any]) -> ApiKeyRecord:
    return ApiKeyRecord(
        key_id=item["key_id"],
        tenant_id=item["tenant_id"],
        name=item.get("name", ""),
        secret_hash=item["secret_hash"],
        created_at=item.get("created_at", ""),
        revoked_at=item.get("revoked_at"),
        last_used_at=item.get("last_used_at"),
    )

"""Tenant-scoped management records: assistant mirrors, number assignments, caller-ID pool.

Every key starts with ``T#{tenant}``, and every method takes the tenant first, so a record of
another tenant is simply not found (the API answers 404, never 403).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from dialer import keys
from dialer.adapters.dynamo import DynamoItems
from dialer.domain.assistants import settings_json


@dataclass(frozen=True, slots=True)
class AssistantMirror:
    """Our copy of a Telnyx assistant: what Telnyx last told us, and when."""

    tenant_id: str
    assistant_id: str
    name: str | None
    version_id: str | None
    version_name: str | None
    texml_app_id: str | None
    synced_at: str
    created_at: str
    deleted_upstream: bool = False
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NumberAssignment:
    """A tenant's Telnyx number pointed at an assistant's TeXML app by this deployment."""

    tenant_id: str
    number_id: str
    phone_number: str
    assistant_id: str
    texml_app_id: str
    assigned_at: str


@dataclass(frozen=True, slots=True)
class CallerIdRecord:
    """A caller ID campaigns may dial from, with a per-day cap."""

    tenant_id: str
    caller_id_id: str
    phone_number: str
    daily_cap: int
    enabled: bool
    created_at: str
    updated_at: str
    # A rest (issue 23: caller-ID health): no dial uses the number before ``rested_until`` (UTC
    # text, the engine's clock), set by the health rule or an operator (``rested_by``).
    rested_until: str | None = None
    rest_reason: str | None = None
    rested_by: str | None = None
    rested_at: str | None = None
    # The state the number's area code presumes (local presence), stored when the number is
    # added so a dialer never loads the ~0.3 s phonenumbers geocoder to rank its pool.
    area_code_state: str | None = None


class ManagementTable:
    """Mirrors, assignments and caller IDs in the single table."""

    def __init__(self, table_name: str, *, client: Any = None) -> None:
        self.items = DynamoItems(table_name, client=client)

    # --- assistant mirrors -----------------------------------------------------------------------
    def put_mirror(self, mirror: AssistantMirror) -> None:
        """Create or replace the mirror of one assistant."""
        self.items.put(
            {
                **keys.assistant_key(mirror.tenant_id, mirror.assistant_id),
                **keys.assistants_index(mirror.tenant_id, mirror.assistant_id),
                "entity": "assistant",
                "tenant_id": mirror.tenant_id,
                "assistant_id": mirror.assistant_id,
                "name": mirror.name,
                "version_id": mirror.version_id,
                "version_name": mirror.version_name,
                "texml_app_id": mirror.texml_app_id,
                "synced_at": mirror.synced_at,
                "created_at": mirror.created_at,
                "deleted_upstream": mirror.deleted_upstream,
                # JSON, not a DynamoDB map: Telnyx floats would need Decimals and empty keys are legal there.
                "settings_json": settings_json(mirror.settings),
            }
        )

    def get_mirror(self, tenant_id: str, assistant_id: str) -> AssistantMirror | None:
        """The mirror of one assistant of this tenant, or None."""
        item = self.items.get(keys.assistant_key(tenant_id, assistant_id))
        return _mirror(item) if item else None

    def list_mirrors(
        self, tenant_id: str, *, limit: int, after: str | None
    ) -> tuple[list[AssistantMirror], str | None]:
        """A page of this tenant's mirrors by assistant id."""
        items, next_after = self.items.query_index(
            keys.assistants_index(tenant_id)["gsi1pk"], limit=limit, after=after
        )
        return [_mirror(i) for i in items], next_after

    def all_mirrors(self, tenant_id: str) -> list[AssistantMirror]:
        """Every mirror of this tenant (sync)."""
        return [_mirror(i) for i in self.items.query_all(keys.assistants_index(tenant_id)["gsi1pk"])]

    def delete_mirror(self, tenant_id: str, assistant_id: str) -> bool:
        """Forget an assistant; False if there was no mirror."""
        return self.items.delete(keys.assistant_key(tenant_id, assistant_id))

    # --- number assignments ----------------------------------------------------------------------
    def put_assignment(self, assignment: NumberAssignment) -> None:
        """Record that a number now points at an assistant."""
        self.items.put(
            {
                **keys.number_assignment_key(assignment.tenant_id, assignment.number_id),
                **keys.number_assignments_index(assignment.tenant_id, assignment.number_id),
                "entity": "number_assignment",
                "tenant_id": assignment.tenant_id,
                "number_id": assignment.number_id,
                "phone_number": assignment.phone_number,
                "assistant_id": assignment.assistant_id,
                "texml_app_id": assignment.texml_app_id,
                "assigned_at": assignment.assigned_at,
            }
        )

    def get_assignment(self, tenant_id: str, number_id: str) -> NumberAssignment | None:
        """The assignment of one number of this tenant, or None."""
        item = self.items.get(keys.number_assignment_key(tenant_id, number_id))
        return _assignment(item) if item else None

    def all_assignments(self, tenant_id: str) -> list[NumberAssignment]:
        """Every assignment of this tenant."""
        return [
            _assignment(i) for i in self.items.query_all(keys.number_assignments_index(tenant_id)["gsi1pk"])
        ]

    def delete_assignment(self, tenant_id: str, number_id: str) -> bool:
        """Remove an assignment; False if there was none."""
        return self.items.delete(keys.number_assignment_key(tenant_id, number_id))

    # --- caller IDs ------------------------------------------------------------------------------
    def put_caller_id(self, record: CallerIdRecord, *, new: bool) -> bool:
        """Store a caller ID; with ``new``, False if the id is taken (without, False if it is gone)."""
        item = {
            **keys.caller_id_key(record.tenant_id, record.caller_id_id),
            **keys.caller_ids_index(record.tenant_id, record.caller_id_id),
            "entity": "caller_id",
            "tenant_id": record.tenant_id,
            "caller_id_id": record.caller_id_id,
            "phone_number": record.phone_number,
            "daily_cap": record.daily_cap,
            "enabled": record.enabled,
            "created_at": record.created_at,
            "updated_at": record.updated_at,
        }
        if new:
            # Placed once, when added ("" where the area code presumes no state: toll-free, non-US).
            item["area_code_state"] = _derived_state(record.phone_number) or ""
            return self.items.put(item, condition="attribute_not_exists(pk)")
        # An update, not a put: a rest written meanwhile (the health rule) must survive it.
        return self.items.update(
            keys.caller_id_key(record.tenant_id, record.caller_id_id),
            {"daily_cap": record.daily_cap, "enabled": record.enabled, "updated_at": record.updated_at},
        )

    def get_caller_id(self, tenant_id: str, caller_id_id: str) -> CallerIdRecord | None:
        """One caller ID of this tenant, or None."""
        item = self.items.get(keys.caller_id_key(tenant_id, caller_id_id))
        return caller_id_record(item) if item else None

    def list_caller_ids(
        self, tenant_id: str, *, limit: int, after: str | None
    ) -> tuple[list[CallerIdRecord], str | None]:
        """A page of this tenant's caller IDs."""
        items, next_after = self.items.query_index(
            keys.caller_ids_index(tenant_id)["gsi1pk"], limit=limit, after=after
        )
        return [caller_id_record(i) for i in items], next_after

    def delete_caller_id(self, tenant_id: str, caller_id_id: str) -> bool:
        """Remove a caller ID (and its health counters, so the pool no longer counts it); False
        if there was none."""
        self.items.delete(keys.caller_id_health_key(tenant_id, caller_id_id))
        return self.items.delete(keys.caller_id_key(tenant_id, caller_id_id))


def _mirror(item: dict[str, Any]) -> AssistantMirror:
    return AssistantMirror(
        tenant_id=item["tenant_id"],
        assistant_id=item["assistant_id"],
        name=item.get("name"),
        version_id=item.get("version_id"),
        version_name=item.get("version_name"),
        texml_app_id=item.get("texml_app_id"),
        synced_at=item.get("synced_at", ""),
        created_at=item.get("created_at", ""),
        deleted_upstream=bool(item.get("deleted_upstream")),
        settings=json.loads(item.get("settings_json") or "{}"),
    )


def _assignment(item: dict[str, Any]) -> NumberAssignment:
    return NumberAssignment(
        item["tenant_id"],
        item["number_id"],
        item.get("phone_number", ""),
        item["assistant_id"],
        item.get("texml_app_id", ""),
        item.get("assigned_at", ""),
    )


def caller_id_record(item: dict[str, Any]) -> CallerIdRecord:
    """A stored caller-ID item as its record."""
    return CallerIdRecord(
        item["tenant_id"],
        item["caller_id_id"],
        item["phone_number"],
        int(item["daily_cap"]),
        bool(item["enabled"]),
        item.get("created_at", ""),
        item.get("updated_at", ""),
        rested_until=item.get("rested_until"),
        rest_reason=item.get("rest_reason"),
        rested_by=item.get("rested_by"),
        rested_at=item.get("rested_at"),
        area_code_state=_stored_state(item),
    )


def _stored_state(item: dict[str, Any]) -> str | None:
    """The caller ID's area-code state as stored; derived (geocoder) only for an item written
    before the state was stored with it."""
    stored = item.get("area_code_state")
    if stored is None:
        return _derived_state(str(item["phone_number"]))
    return str(stored) or None


def _derived_state(phone_number: str) -> str | None:
    from dialer.domain.phones import area_code_state  # phonenumbers: only where a number is placed

    return area_code_state(phone_number)

"""Every DynamoDB key format, in one place.

Items are scoped by tenant in their partition key, so no query can cross tenants by accident.
Partitions are per entity (not per tenant) to keep writes spread out.
"""

from __future__ import annotations


def call_key(tenant_id: str, call_control_id: str) -> dict[str, str]:
    """A call record: one per tenant and Telnyx ``call_control_id`` (TeXML ``CallSid``)."""
    return {"pk": f"T#{tenant_id}#CALL#{call_control_id}", "sk": "CALL"}


def receipt_key(tenant_id: str, event_id: str) -> dict[str, str]:
    """The receipt of one applied webhook event (dedupe on ``data.id``), expires by TTL."""
    return {"pk": f"T#{tenant_id}#EVENT#{event_id}", "sk": "RECEIPT"}


# --- management API (issue 5) ------------------------------------------------------------------
# Tenants and API keys are looked up by id without a tenant in hand (the authorizer only has the
# key), so their partitions are global; everything else stays under ``T#{tenant}``.


def tenant_key(tenant_id: str) -> dict[str, str]:
    """A tenant record."""
    return {"pk": f"TENANT#{tenant_id}", "sk": "TENANT"}


def api_key_key(key_id: str) -> dict[str, str]:
    """An API key record, found by the key id embedded in the key itself (no scan, no tenant)."""
    return {"pk": f"APIKEY#{key_id}", "sk": "APIKEY"}


def api_keys_index(tenant_id: str, created_at: str = "", key_id: str = "") -> dict[str, str]:
    """gsi1 keys listing a tenant's API keys, oldest first."""
    return {"gsi1pk": f"T#{tenant_id}#APIKEYS", "gsi1sk": f"{created_at}#{key_id}" if key_id else ""}


def assistant_key(tenant_id: str, assistant_id: str) -> dict[str, str]:
    """The mirror of one Telnyx assistant."""
    return {"pk": f"T#{tenant_id}#ASSISTANT#{assistant_id}", "sk": "ASSISTANT"}


def assistants_index(tenant_id: str, assistant_id: str = "") -> dict[str, str]:
    """gsi1 keys listing a tenant's assistant mirrors by id."""
    return {"gsi1pk": f"T#{tenant_id}#ASSISTANTS", "gsi1sk": assistant_id}


def number_assignment_key(tenant_id: str, number_id: str) -> dict[str, str]:
    """Which assistant a tenant's Telnyx number is assigned to."""
    return {"pk": f"T#{tenant_id}#NUMBER#{number_id}", "sk": "ASSIGNMENT"}


def number_assignments_index(tenant_id: str, number_id: str = "") -> dict[str, str]:
    """gsi1 keys listing a tenant's number assignments."""
    return {"gsi1pk": f"T#{tenant_id}#NUMBERS", "gsi1sk": number_id}


def caller_id_key(tenant_id: str, caller_id_id: str) -> dict[str, str]:
    """One caller-ID pool entry of a tenant."""
    return {"pk": f"T#{tenant_id}#CALLERID#{caller_id_id}", "sk": "CALLERID"}


def caller_ids_index(tenant_id: str, caller_id_id: str = "") -> dict[str, str]:
    """gsi1 keys listing a tenant's caller-ID pool."""
    return {"gsi1pk": f"T#{tenant_id}#CALLERIDS", "gsi1sk": caller_id_id}

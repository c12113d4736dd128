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

"""A tenant's insight group mapping, and the conversation → call links the insight-group webhook
is joined through. Keys from :mod:`dialer.keys`; every item is scoped by tenant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dialer import keys
from dialer.adapters.dynamo import DynamoItems
from dialer.domain.insight_group import InsightMapping

# A conversation's insights arrive within minutes of the call; the link only has to outlive
# the webhook's retries and the queue's redeliveries.
CONVERSATION_LINK_DAYS = 14


class InsightsTable:
    """Insight group mappings and conversation links in the state table."""

    def __init__(self, table_name: str, *, client: Any = None) -> None:
        self.items = DynamoItems(table_name, client=client)

    def get_mapping(self, tenant_id: str) -> InsightMapping | None:
        """The tenant's insight group and names, or None if it has none yet."""
        item = self.items.get(keys.insight_group_key(tenant_id))
        if not item or not item.get("group_id"):
            return None
        return InsightMapping(
            group_id=str(item["group_id"]),
            names={str(k): str(v) for k, v in (item.get("names") or {}).items()},
            fields={str(k): str(v) for k, v in (item.get("fields") or {}).items()},
            source=str(item.get("source") or "default"),
        )

    def put_mapping(self, tenant_id: str, mapping: InsightMapping, *, now: str) -> None:
        """Store (replace) the tenant's mapping."""
        self.items.put(
            {
                **keys.insight_group_key(tenant_id),
                "entity": "insight_group",
                "tenant_id": tenant_id,
                "group_id": mapping.group_id,
                "names": dict(mapping.names),
                "fields": dict(mapping.fields),
                "source": mapping.source,
                "updated_at": now,
            }
        )

    def link_conversation(self, tenant_id: str, conversation_id: str, call_control_id: str) -> None:
        """Remember which call a conversation belongs to (idempotent: the first link stays)."""
        expires = datetime.now(UTC) + timedelta(days=CONVERSATION_LINK_DAYS)
        self.items.put(
            {
                **keys.conversation_key(tenant_id, conversation_id),
                "entity": "conversation",
                "call_control_id": call_control_id,
                "expires_at": int(expires.timestamp()),
            },
            condition="attribute_not_exists(pk)",
        )

    def call_of_conversation(self, tenant_id: str, conversation_id: str) -> str | None:
        """The call a conversation belongs to, or None if no event linked them yet."""
        item = self.items.get(keys.conversation_key(tenant_id, conversation_id))
        return str(item["call_control_id"]) if item and item.get("call_control_id") else None

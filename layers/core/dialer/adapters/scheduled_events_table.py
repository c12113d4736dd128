"""Our records of Telnyx scheduled events (``SCHED#{event_id}`` beside the lead).

A record exists for every event we created at Telnyx, so a DNC add or a consent revocation finds
the events to cancel in our own table (a pending record also sits in the number's gsi1 partition,
beside the number's leads; canceling removes it from the index). The tenant's ``HORIZON`` item
holds the latest time any of its events is due: after it, nothing can be pending.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from dialer import keys
from dialer.adapters.dynamo import DynamoItems
from dialer.adapters.table_ops import TableOps

SCHEDULED = "scheduled"
CANCELED = "canceled"
MAX_PER_LEAD = 200


@dataclass(frozen=True, slots=True)
class ScheduledEventRecord:
    """One Telnyx scheduled call or text we created for a lead."""

    tenant_id: str
    lead_id: str
    event_id: str  # Telnyx's scheduled_event_id
    campaign_id: str
    assistant_id: str
    channel: str  # phone_call | sms_chat
    phone: str
    from_number: str
    scheduled_at: str  # UTC ISO
    created_at: str
    status: str = SCHEDULED
    text: str | None = None
    canceled_at: str | None = None
    cancel_reason: str | None = None


class ScheduledEventsTable:
    """Scheduled-event records of a tenant's leads."""

    def __init__(self, table_name: str, *, client: Any = None) -> None:
        self.items = DynamoItems(table_name, client=client)
        self.ops = TableOps(self.items)

    def put(self, record: ScheduledEventRecord) -> None:
        """Store a new record (pending: indexed by number) and push the tenant's horizon out."""
        item = {
            **keys.scheduled_event_key(record.tenant_id, record.lead_id, record.event_id),
            **keys.pending_scheduled_index(record.tenant_id, record.phone, record.event_id),
            "entity": "scheduled_event",
            **{k: v for k, v in asdict(record).items() if v is not None},
        }
        self.items.put(item)
        self.ops.update(
            keys.scheduled_horizon_key(record.tenant_id),
            set_fields={"latest_at": record.scheduled_at},
            condition="attribute_not_exists(latest_at) OR latest_at < :at",
            values={":at": record.scheduled_at},
        )

    def get(self, tenant_id: str, lead_id: str, event_id: str) -> ScheduledEventRecord | None:
        """One record of this tenant's lead, or None."""
        item = self.items.get(keys.scheduled_event_key(tenant_id, lead_id, event_id))
        return _record(item) if item else None

    def of_lead(self, tenant_id: str, lead_id: str) -> list[ScheduledEventRecord]:
        """The lead's records, oldest event id first."""
        pk = keys.scheduled_event_key(tenant_id, lead_id, "")["pk"]
        items, _ = self.ops.query("pk", pk, prefix="SCHED#", limit=MAX_PER_LEAD)
        return [_record(i) for i in items]

    def pending_of_number(self, tenant_id: str, e164: str) -> list[ScheduledEventRecord]:
        """The number's pending records across the tenant's leads (gsi1)."""
        index = keys.pending_scheduled_index(tenant_id, e164)
        items, _ = self.ops.query(
            "gsi1pk", index["gsi1pk"], index="gsi1", sk_name="gsi1sk", prefix="SCHED#", limit=MAX_PER_LEAD
        )
        return [_record(i) for i in items if i.get("status") == SCHEDULED]

    def horizon(self, tenant_id: str) -> str | None:
        """The latest time any of the tenant's events is due (UTC ISO), or None if it has none."""
        item = self.items.get(keys.scheduled_horizon_key(tenant_id))
        return str(item["latest_at"]) if item and item.get("latest_at") else None

    def mark_canceled(self, record: ScheduledEventRecord, *, reason: str, at: str) -> bool:
        """Canceled (and out of the number's index); False if it already was."""
        return bool(
            self.ops.update(
                keys.scheduled_event_key(record.tenant_id, record.lead_id, record.event_id),
                set_fields={"status": CANCELED, "canceled_at": at, "cancel_reason": reason},
                remove=("gsi1pk", "gsi1sk"),
                condition="#st = :scheduled",
                names={"#st": "status"},
                values={":scheduled": SCHEDULED},
            )
        )


def _record(item: dict[str, Any]) -> ScheduledEventRecord:
    fields: Sequence[str] = ScheduledEventRecord.__dataclass_fields__.keys()  # type: ignore[assignment]
    return ScheduledEventRecord(**{k: item[k] for k in fields if k in item})

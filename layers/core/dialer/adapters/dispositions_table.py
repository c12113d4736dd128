"""Where a disposition and an opt-out leave their marks: the call record, the lead, and the
person's pending leads in every campaign of the tenant. Keys from :mod:`dialer.keys`; every write
is scoped by tenant."""

from __future__ import annotations

from typing import Any

from dialer import keys
from dialer.adapters.campaigns_table import CampaignsTable, LeadRecord, lead_from_item
from dialer.adapters.dynamo import DynamoItems
from dialer.adapters.table_ops import TableOps
from dialer.domain.outcomes import Disposition


class DispositionsTable:
    """Dispositions on calls and leads, and blocking a number's pending leads."""

    def __init__(self, table_name: str, *, client: Any = None) -> None:
        self.items = DynamoItems(table_name, client=client)
        self.ops = TableOps(self.items)
        self.campaigns = CampaignsTable(table_name, client=client)

    def call_item(self, tenant_id: str, call_control_id: str) -> dict[str, Any] | None:
        """The call record (with the dialer's link to its lead), or None."""
        return self.items.get(keys.call_key(tenant_id, call_control_id))

    def get_lead(self, tenant_id: str, lead_id: str) -> LeadRecord | None:
        """One lead of this tenant, or None."""
        item = self.items.get(keys.lead_key(tenant_id, lead_id))
        return lead_from_item(item) if item else None

    def caller_lead(self, tenant_id: str, e164: str) -> LeadRecord | None:
        """The lead a caller with this number is (the init webhook's rule), or None."""
        return self.campaigns.caller_lead(tenant_id, e164)

    def record_on_call(
        self, tenant_id: str, call_control_id: str, fields: dict[str, Any]
    ) -> dict[str, Any] | None:
        """SET the disposition attributes on the call record (an upsert: the event processor
        and the dialer only SET their own attributes, so all three writers coexist); returns the
        call as the write left it. A recorded ``do_not_call`` is never replaced by another
        disposition (None then)."""
        item = self.ops.update(
            keys.call_key(tenant_id, call_control_id),
            set_fields={
                "entity": "call",
                "tenant_id": tenant_id,
                "call_control_id": call_control_id,
                **fields,
            },
            return_new=True,
            **_keeps_dnc("disposition", fields.get("disposition")),
        )
        return item if isinstance(item, dict) else None

    def record_on_lead(self, tenant_id: str, lead_id: str, fields: dict[str, Any]) -> dict[str, Any] | None:
        """SET the lead's last-disposition (and result) attributes; returns the lead item as the
        write left it, None if there is no such lead or it already ended with ``do_not_call``."""
        guard = _keeps_dnc("last_disposition", fields.get("last_disposition"))
        condition = "attribute_exists(pk)" + (f" AND ({guard['condition']})" if guard else "")
        item = self.ops.update(
            keys.lead_key(tenant_id, lead_id),
            set_fields=fields,
            condition=condition,
            names=guard.get("names"),
            values=guard.get("values"),
            return_new=True,
        )
        return item if isinstance(item, dict) else None

    def leads_of_number(self, tenant_id: str, e164: str) -> list[dict[str, Any]]:
        """The raw lead items of this number across the tenant's campaigns (gsi1)."""
        index = keys.leads_by_phone_index(tenant_id, e164)
        items, _ = self.ops.query(
            "gsi1pk", index["gsi1pk"], index="gsi1", sk_name="gsi1sk", prefix="LEAD#", limit=1000
        )
        return items


def _keeps_dnc(attribute: str, new: Any) -> dict[str, Any]:
    """The condition that keeps a stored ``do_not_call`` (DNC wins over whatever comes later)."""
    if new is None or new == Disposition.DO_NOT_CALL.value:
        return {}
    return {
        "condition": "attribute_not_exists(#disp) OR #disp <> :dnc",
        "names": {"#disp": attribute},
        "values": {":dnc": Disposition.DO_NOT_CALL.value},
    }

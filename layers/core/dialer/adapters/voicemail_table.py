"""Where the voicemail drop keeps its marks: the ``voicemail`` attribute of a call record, and the
calls that left a message for each lead (the per-lead cap). Keys from :mod:`dialer.keys`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dialer import keys
from dialer.adapters.dynamo import DynamoItems
from dialer.adapters.table_ops import TableOps


class VoicemailTable:
    """The voicemail drop's writes."""

    def __init__(self, table_name: str, *, client: Any = None) -> None:
        self.items = DynamoItems(table_name, client=client)
        self.ops = TableOps(self.items)

    def record_on_call(self, tenant_id: str, call_control_id: str, voicemail: Mapping[str, str]) -> bool:
        """SET the call's ``voicemail`` attribute: an UpdateItem of an attribute only this writer
        sets (the version-checked fact merge keeps it), so it never races event processing.
        False if the call record does not exist."""
        return self.items.update(keys.call_key(tenant_id, call_control_id), {"voicemail": dict(voicemail)})

    def claim_message(self, tenant_id: str, lead_id: str, call_control_id: str, limit: int) -> bool:
        """Count this call among the lead's messages if the lead has fewer than ``limit``.

        Idempotent per call (a redelivered greeting finds its own call already counted), and
        atomic: two calls of one lead racing for the last message cannot both get it.
        """
        result = self.ops.update(
            keys.voicemail_key(tenant_id, lead_id),
            add={"calls": {call_control_id}},  # type: ignore[dict-item]  # a string set
            set_fields={"entity": "voicemail", "tenant_id": tenant_id, "lead_id": lead_id},
            condition="attribute_not_exists(#c) OR contains(#c, :call) OR size(#c) < :limit",
            names={"#c": "calls"},
            values={":call": call_control_id, ":limit": limit},
        )
        return bool(result)

    def unclaim_message(self, tenant_id: str, lead_id: str, call_control_id: str) -> None:
        """Take the call back out of the lead's messages: it never reached the mailbox (idempotent)."""
        self.items._write(
            "update_item",
            {
                "TableName": self.items.table_name,
                "Key": self.items.to_ddb(keys.voicemail_key(tenant_id, lead_id)),
                "UpdateExpression": "DELETE #c :ids",
                "ExpressionAttributeNames": {"#c": "calls"},
                "ExpressionAttributeValues": self.items.to_ddb({":ids": {call_control_id}}),
            },
        )

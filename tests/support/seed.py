"""Seed campaigns, leads, attempts and linked calls through the product's own writers (moto)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dialer import keys
from dialer.adapters.campaigns_table import CampaignRecord, CampaignsTable, LeadRecord
from dialer.domain.campaigns import CampaignConfig, CampaignStatus
from dialer.domain.leads import LeadFields, normalize_lead

NOW = "2026-11-29T15:00:00+00:00"


@dataclass
class Seeder:
    """Writes one tenant's records into the state table."""

    table: CampaignsTable

    def campaign(
        self,
        tenant_id: str,
        campaign_id: str,
        *,
        status: CampaignStatus = CampaignStatus.ACTIVE,
        variables: dict[str, str] | None = None,
    ) -> CampaignRecord:
        record = CampaignRecord(
            tenant_id=tenant_id,
            campaign_id=campaign_id,
            status=status,
            config=CampaignConfig(name=campaign_id, assistant_id="asst-a", variables=variables or {}),
            created_at=NOW,
            updated_at=NOW,
        )
        self.table.put_campaign(record)  # the moto world is per session: a rerun finds it there
        return record

    def lead(self, tenant_id: str, campaign_id: str, phone: str, **fields: Any) -> LeadRecord:
        custom = fields.pop("custom_fields", {})
        lead = normalize_lead(LeadFields(phone=phone, custom_fields=custom, **fields))
        record = LeadRecord(
            tenant_id=tenant_id,
            lead_id=keys.lead_id_for(campaign_id, lead.phone),
            campaign_id=campaign_id,
            lead=lead,
            status="pending",
            attempts=0,
            created_at=NOW,
            updated_at=NOW,
        )
        self.table.put_new_leads([record])
        return record

    def set_lead(self, tenant_id: str, lead_id: str, **attributes: Any) -> None:
        """Set plain attributes on a lead item (what later writers such as dispositions add)."""
        self.table.ops.update(keys.lead_key(tenant_id, lead_id), set_fields=attributes)

    def attempt(self, lead: LeadRecord, n: int, **attributes: Any) -> dict[str, Any]:
        """An attempt record beside its lead, as the dialing engine stores it."""
        item = {
            **keys.lead_key(lead.tenant_id, lead.lead_id),
            "sk": f"ATTEMPT#{n:04d}",
            "entity": "attempt",
            "tenant_id": lead.tenant_id,
            "lead_id": lead.lead_id,
            "campaign_id": lead.campaign_id,
            "n": n,
            "state": "accepted",
            "claimed_at": "2026-11-29T14:59:00.000000Z",
            **attributes,
        }
        self.table.items.put(item)
        return item

    def linked_call(
        self, lead: LeadRecord, n: int, call_control_id: str, assistant_id: str = "asst-a"
    ) -> None:
        """The call record the dialer links to its lead, campaign, attempt and variant."""
        self.table.items.put(
            {
                **keys.call_key(lead.tenant_id, call_control_id),
                "entity": "call",
                "tenant_id": lead.tenant_id,
                "call_control_id": call_control_id,
                "lead_id": lead.lead_id,
                "campaign_id": lead.campaign_id,
                "attempt_n": n,
                "attempt_id": f"{lead.lead_id}#attempt-{n}",
                "assistant_id": assistant_id,
                "linked_at": NOW,
            }
        )


def client_state(tenant_id: str, campaign_id: str, lead_id: str, n: int) -> str:
    """The dialer's client_state for an attempt (base64 JSON)."""
    doc = {"t": tenant_id, "c": campaign_id, "l": lead_id, "n": n}
    return base64.b64encode(json.dumps(doc).encode()).decode()


def init_event(
    *,
    call_control_id: str | None = "v3:call-1",
    end_user: str = "+15550000200",
    agent: str = "+15550000100",
    variant: str = "documented",
    client_state: str | None = None,
) -> bytes:
    """An assistant.initialization body; ``variant`` "edge" is the other shape seen (WIRE §12.3)."""
    payload: dict[str, Any] = {
        "telnyx_conversation_channel": "phone_call" if variant == "documented" else "voice",
        "telnyx_agent_target": agent,
        "telnyx_end_user_target": end_user,
        "telnyx_end_user_target_verified": False,
        "assistant_id": "assistant-00000000-0000-4000-8000-0000000000a1",
    }
    if call_control_id:
        payload["call_control_id"] = call_control_id
    if client_state:
        payload["client_state"] = client_state
    return json.dumps(
        {
            "data": {
                "record_type": "event",
                "event_type": "assistant.initialization" if variant == "documented" else "dynamic_variables",
                "id": "00000000-0000-4000-8000-0000000e000d",
                "occurred_at": datetime.now(UTC).isoformat(),
                "payload": payload,
            }
        }
    ).encode()

"""The reads behind the dynamic-variables (init) webhook: lean on purpose.

The init webhook is on the path Telnyx waits on, so these reads use plain items and the standard
library only: no campaign model graph (pydantic), no compliance engine. The lead item's layout is
written by :func:`dialer.adapters.campaigns_table.lead_item`; :class:`LeadView` reads the few
fields the assistant needs from it, and a unit test round-trips one through the other so the two
cannot drift.

Hot path per call: one GetItem (the call record, which the dialer links to its lead) and one
Query (the lead's partition: the lead and its attempts). Campaign settings change rarely and are
cached in the process for a minute.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dialer import keys
from dialer.adapters.dynamo import DynamoItems
from dialer.adapters.table_ops import TableOps

CAMPAIGN_CACHE_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class LeadView:
    """What the init webhook needs of a stored lead."""

    lead_id: str
    campaign_id: str
    phone: str
    fields: dict[str, str | None]
    custom_fields: dict[str, str]
    zone: str | None
    status: str
    attempts: int
    last_disposition: str | None = None
    last_disposition_note: str | None = None
    last_summary: str | None = None
    callback_at: str | None = None

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> LeadView:
        """Read a lead item (see :func:`~dialer.adapters.campaigns_table.lead_item`)."""
        data = json.loads(item.get("data") or "{}")
        names = ("first_name", "last_name", "email", "company", "address", "city", "state", "zip")
        fields: dict[str, str | None] = {n: data.get(n) for n in names}
        fields["phone"] = str(item.get("phone") or "")
        fields["time_zone"] = data.get("time_zone")
        return cls(
            lead_id=str(item["lead_id"]),
            campaign_id=str(item["campaign_id"]),
            phone=str(item.get("phone") or ""),
            fields=fields,
            custom_fields={str(k): str(v) for k, v in (data.get("custom_fields") or {}).items()},
            zone=data.get("zone"),
            status=str(item.get("status") or ""),
            attempts=int(item.get("attempts") or 0),
            last_disposition=item.get("last_disposition"),
            last_disposition_note=item.get("last_disposition_note"),
            last_summary=item.get("last_summary"),
            callback_at=item.get("callback_at"),
        )


@dataclass(frozen=True, slots=True)
class CampaignView:
    """What the init webhook needs of a campaign: its status and its variable mapping."""

    campaign_id: str
    status: str
    variables: dict[str, str] = field(default_factory=dict)
    fallback_zone: str | None = None

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> CampaignView:
        """Read a campaign item (``config_json`` is a validated ``CampaignConfig``)."""
        config = json.loads(item.get("config_json") or "{}")
        return cls(
            campaign_id=str(item["campaign_id"]),
            status=str(item.get("status") or ""),
            variables={str(k): str(v) for k, v in (config.get("variables") or {}).items()},
            fallback_zone=(config.get("window") or {}).get("fallback_zone"),
        )


@dataclass(frozen=True, slots=True)
class LeadPartition:
    """A lead and its attempt records (one Query of the lead's partition)."""

    lead: LeadView
    attempts: dict[int, dict[str, Any]]


class InitContextTable:
    """Reads the call link, a lead's partition, a number's leads and campaigns for one tenant."""

    def __init__(self, table_name: str, *, client: Any = None, clock: Any = time.monotonic) -> None:
        self.items = DynamoItems(table_name, client=client)
        self.ops = TableOps(self.items)
        self._clock = clock
        self._campaigns: dict[tuple[str, str], tuple[float, CampaignView | None]] = {}

    def call_link(self, tenant_id: str, call_control_id: str) -> dict[str, Any] | None:
        """The call record (with the dialer's link to lead, campaign and attempt), or None."""
        return self.items.get(keys.call_key(tenant_id, call_control_id))

    def lead_partition(self, tenant_id: str, lead_id: str) -> LeadPartition | None:
        """The lead and its attempts, by attempt number; None if there is no such lead."""
        items, _ = self.ops.query("pk", keys.lead_key(tenant_id, lead_id)["pk"], limit=200)
        lead = next((i for i in items if i.get("sk") == "LEAD"), None)
        if lead is None:
            return None
        attempts = {}
        for item in items:
            sk = str(item.get("sk", ""))
            if sk.startswith("ATTEMPT#") and sk[8:].isdigit():
                attempts[int(sk[8:])] = item
        return LeadPartition(LeadView.from_item(lead), attempts)

    def leads_by_phone(self, tenant_id: str, e164: str) -> list[LeadView]:
        """This tenant's leads with this number, across campaigns (gsi1, projection ALL)."""
        index = keys.leads_by_phone_index(tenant_id, e164)
        items, _ = self.ops.query(
            "gsi1pk", index["gsi1pk"], index="gsi1", sk_name="gsi1sk", prefix="LEAD#", limit=100
        )
        return [LeadView.from_item(i) for i in items]

    def campaigns(self, tenant_id: str, campaign_ids: Sequence[str]) -> dict[str, CampaignView]:
        """The campaigns among ``campaign_ids`` that exist (cached a minute per campaign)."""
        now = self._clock()
        out: dict[str, CampaignView] = {}
        missing: list[str] = []
        for campaign_id in dict.fromkeys(campaign_ids):
            hit = self._campaigns.get((tenant_id, campaign_id))
            if hit is not None and now - hit[0] < CAMPAIGN_CACHE_SECONDS:
                if hit[1] is not None:
                    out[campaign_id] = hit[1]
            else:
                missing.append(campaign_id)
        if missing:
            found = {
                str(i["campaign_id"]): CampaignView.from_item(i)
                for i in self.ops.batch_get([keys.campaign_key(tenant_id, c) for c in missing])
            }
            for campaign_id in missing:
                self._campaigns[(tenant_id, campaign_id)] = (now, found.get(campaign_id))
            out.update(found)
        return out


def fast_dynamodb_client() -> Any:
    """A DynamoDB client for the init webhook: short timeouts and one retry, so a lookup that
    overran the webhook's deadline does not hold its worker thread for a minute."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "dynamodb",
        config=Config(
            connect_timeout=0.5, read_timeout=0.8, retries={"total_max_attempts": 2, "mode": "standard"}
        ),
    )

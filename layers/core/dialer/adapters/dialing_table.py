"""The dialing engine's records in the single table (keys in :mod:`dialer.keys`).

Every state change of a lead is a conditional write naming what the writer saw, so two writers
can never both win:

* **claim** - one transaction per batch of leads: each lead ``pending → dialing`` on the
  condition that it is still pending with the due entry and dial count that were read, its
  attempt record ``ATTEMPT#n`` created only if absent (the claim names the attempt), its slot
  lease created, and the tenant's slot counter raised only while under the channel limit;
* **posting** - ``claimed → posting`` on the attempt: exactly one dialer sends the POST;
* **accepted / finished / dropped** - transactions conditional on the attempt's state, so the
  lead effect of an attempt is applied once, whoever (dialer, event processor, reaper) gets there
  first.

Counters a campaign's progress needs (leads by state, deferrals by reason, outcomes) are kept in
``STATS#{shard}`` items updated inside the same transactions.

The records live in one module per concept, composed here: :mod:`dialing_claims` (due leads and
claims), :mod:`dialing_attempts`, :mod:`dialing_slots`, :mod:`dialing_rate` (the dial-rate
limiter), on :mod:`dialing_base` (records and plumbing); this module adds the active-campaign
registry, tenants' limits, leases and the campaign counters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from dialer import keys
from dialer.adapters.dialing_attempts import AttemptsMixin, CallerTake
from dialer.adapters.dialing_base import (
    AttemptRecord,
    Claim,
    DialingBase,
    LeadChange,
    TenantLimits,
    attempt_from_item,
    error_code,
    to_decimal,
)
from dialer.adapters.dialing_claims import CLAIM_BATCH, ClaimsMixin
from dialer.adapters.dialing_rate import RateMixin
from dialer.adapters.dialing_slots import SlotsMixin
from dialer.adapters.dynamo import storage_error
from dialer.adapters.management_table import CallerIdRecord, caller_id_record
from dialer.domain.dialing import DUE_SHARDS

__all__ = [
    "CLAIM_BATCH",
    "AttemptRecord",
    "CallerTake",
    "Claim",
    "DialingTable",
    "LeadChange",
    "ProgressCounters",
    "TenantLimits",
    "attempt_from_item",
]


class DialingTable(ClaimsMixin, AttemptsMixin, SlotsMixin, RateMixin, DialingBase):
    """Claims, attempts, slots, the dial-rate limiter, leases and counters."""

    # --- registry, tenants, leases --------------------------------------------------------------
    def active_campaigns(self) -> list[tuple[str, str]]:
        """(tenant, campaign) of every active campaign, from the sparse registry (one Query)."""
        out: list[tuple[str, str]] = []
        after: str | None = None
        while True:
            page, after = self.ops.query(
                "gsi2pk", "DIALING", index="gsi2", sk_name="gsi2sk", after=after, limit=1000
            )
            for item in page:
                tenant_id, _, campaign_id = str(item["gsi2sk"]).partition("#")
                out.append((tenant_id, campaign_id))
            if after is None:
                return out

    def tenant_ids(self) -> list[str]:
        """Every tenant id (gsi1 ``TENANTS``)."""
        return [str(i["tenant_id"]) for i in self.items.query_all(keys.tenants_index()["gsi1pk"])]

    def tenant_limits(self, tenant_id: str, defaults: TenantLimits) -> TenantLimits:
        """The tenant's limits: its record's overrides on top of ``defaults``."""
        return limits_from_item(self.items.get(keys.tenant_key(tenant_id)) or {}, defaults)

    def set_tenant_limits(self, tenant_id: str, **values: int | str | None) -> bool:
        """Override some of a tenant's limits (``channel_limit``, ``dials_per_second``,
        ``dials_per_5s``, ``inbound_reserve``, ``call_control_connection_id``); False if there is
        no such tenant."""
        fields = {k: v for k, v in values.items() if v is not None}
        return self.items.update(keys.tenant_key(tenant_id), fields) if fields else True

    def hold_lease(self, tenant_id: str, name: str, owner: str, now: float, ttl: float) -> bool:
        """Take or renew the tenant's ``LEASE#{name}`` for ``owner`` until ``now + ttl``; False
        while another owner holds an unexpired lease."""
        return self.items.put(
            {
                **keys.dialing_state_key(tenant_id, f"LEASE#{name}"),
                "owner": owner,
                "lease_until": to_decimal(now + ttl),
            },
            condition="attribute_not_exists(pk) OR lease_until < :now OR #o = :me",
            names={"#o": "owner"},
            values={":now": to_decimal(now), ":me": owner},
        )

    def drop_lease(self, tenant_id: str, name: str, owner: str) -> None:
        """Give the lease up (only if still ours)."""
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key=self.items.to_ddb(keys.dialing_state_key(tenant_id, f"LEASE#{name}")),
                ConditionExpression="#o = :me",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues=self.items.to_ddb({":me": owner}),
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise storage_error(exc, "could not drop the lease") from exc

    # --- counters -------------------------------------------------------------------------------
    def campaign_stats(self, tenant_id: str, campaign_id: str) -> Counter[str]:
        """The campaign's counters summed over their shards."""
        return summed_stats(
            self.ops.batch_get(
                [keys.campaign_stats_key(tenant_id, campaign_id, s) for s in range(DUE_SHARDS)]
            )
        )

    def progress_counters(
        self, tenant_id: str, campaign_id: str, minutes: Sequence[str], defaults: TenantLimits
    ) -> ProgressCounters:
        """What a campaign's progress reads besides the campaign and its due index, in one
        BatchGetItem: its counters' shards, its claims in ``minutes``, the tenant's limits and
        the slots it holds."""
        stats_keys = [keys.campaign_stats_key(tenant_id, campaign_id, s) for s in range(DUE_SHARDS)]
        pace_keys = [keys.campaign_pace_key(tenant_id, campaign_id, m) for m in minutes]
        tenant = keys.tenant_key(tenant_id)
        slots = keys.dialing_state_key(tenant_id, "SLOTS")
        found = {
            (str(i["pk"]), str(i["sk"])): i
            for i in self.ops.batch_get([*stats_keys, *pace_keys, tenant, slots])
        }

        def item(key: dict[str, str]) -> dict[str, Any] | None:
            return found.get((key["pk"], key["sk"]))

        return ProgressCounters(
            stats=summed_stats(i for k in stats_keys if (i := item(k)) is not None),
            pace={
                m: int(i.get("claims") or 0)
                for m, k in zip(minutes, pace_keys, strict=True)
                if (i := item(k))
            },
            limits=limits_from_item(item(tenant) or {}, defaults),
            slots_in_use=int((item(slots) or {}).get("in_use") or 0),
        )

    def add_pace(self, tenant_id: str, campaign_id: str, minute: str, amount: int, expires_at: int) -> None:
        """Count ``amount`` claims of the campaign in ``minute``."""
        if amount:
            self.ops.update(
                keys.campaign_pace_key(tenant_id, campaign_id, minute),
                set_fields={"expires_at": expires_at},
                add={"claims": amount},
            )

    def pace(self, tenant_id: str, campaign_id: str, minutes: Iterable[str]) -> dict[str, int]:
        """Claims of the campaign per minute."""
        found = self.ops.batch_get([keys.campaign_pace_key(tenant_id, campaign_id, m) for m in minutes])
        return {str(i["sk"]).removeprefix("PACE#"): int(i.get("claims") or 0) for i in found}

    def caller_pool(
        self, tenant_id: str, caller_ids: Sequence[str], day: str
    ) -> tuple[list[CallerIdRecord], dict[str, int]]:
        """The caller IDs' records that exist (number, cap, rest), in ``caller_ids``' order, and
        the calls placed today from each: one BatchGetItem for both (the dialer keeps them for
        the same few seconds)."""
        records = [keys.caller_id_key(tenant_id, c) for c in caller_ids]
        usage = [keys.caller_id_usage_key(tenant_id, c, day) for c in caller_ids]
        found = {(str(i["pk"]), str(i["sk"])): i for i in self.ops.batch_get([*records, *usage])}

        def item(key: dict[str, str]) -> dict[str, Any] | None:
            return found.get((key["pk"], key["sk"]))

        return (
            [caller_id_record(i) for k in records if (i := item(k)) is not None],
            {c: int(i.get("used") or 0) for c, k in zip(caller_ids, usage, strict=True) if (i := item(k))},
        )


@dataclass(frozen=True)
class ProgressCounters:
    """The counters a campaign's progress shows (see :meth:`DialingTable.progress_counters`)."""

    stats: Counter[str]
    pace: dict[str, int]  # claims by minute ("YYYY-MM-DDTHH:MM"), minutes with none left out
    limits: TenantLimits
    slots_in_use: int


def summed_stats(items: Iterable[dict[str, Any]]) -> Counter[str]:
    """A campaign's counters summed over the ``STATS`` shards given."""
    total: Counter[str] = Counter()
    for item in items:
        for name, value in item.items():
            if name.startswith(("st_", "def_", "out_")) or name == "dials":
                total[name] += int(value)
    return total


def limits_from_item(item: dict[str, Any], defaults: TenantLimits) -> TenantLimits:
    """A tenant's limits: its record's overrides (``item``, empty for none) on top of ``defaults``."""
    return TenantLimits(
        channel_limit=int(item.get("channel_limit") or defaults.channel_limit),
        dials_per_second=int(item.get("dials_per_second") or defaults.dials_per_second),
        dials_per_5s=int(item.get("dials_per_5s") or defaults.dials_per_5s),
        connection_id=item.get("call_control_connection_id") or defaults.connection_id,
        inbound_reserve=int(item.get("inbound_reserve") or defaults.inbound_reserve),
    )

"""Due leads and claims: reading the due index, claiming leads (lead, attempt with its slot lease,
and counters in one transaction), deferring and ending pending leads, and the in-flight index.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from dialer import keys
from dialer.adapters.dialing_base import (
    Claim,
    DialingBase,
    inflight_values,
    slot_counter_op,
    stats_op,
    to_decimal,
)
from dialer.domain.dialing import DUE_SHARDS, AttemptState, LeadStatus, attempt_id, shard_of
from dialer.errors import TemporarilyUnavailable

#: Leads per claim transaction: 2 items each (the lead, its attempt holding the slot's lease), plus
#: the slot counter and a stats shard per campaign and shard (at most 100 items in all).
CLAIM_BATCH = 30


class ClaimsMixin(DialingBase):
    """Due leads, claims, deferrals and the in-flight index."""

    def due_head(
        self,
        tenant_id: str,
        campaign_id: str,
        shard: int,
        priority: int,
        limit: int,
        after: str | None = None,
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` leads of one due shard and priority in due order, due now or later,
        after the due key ``after`` (exclusive) when given: the caller takes those due, and the
        first one that is not tells when the partition next has work."""
        index = keys.due_index(tenant_id, campaign_id, shard, priority)
        low = after + "\x00" if after else f"{priority}#"
        response = self._query(
            IndexName="due",
            KeyConditionExpression="due_pk = :pk AND due_sk BETWEEN :lo AND :hi",
            ExpressionAttributeValues=self.items.to_ddb(
                {":pk": index["due_pk"], ":lo": low, ":hi": f"{priority}#\uffff"}
            ),
            Limit=limit,
        )
        return [self.items.from_ddb(i) for i in response.get("Items", [])]

    def any_pending(self, tenant_id: str, campaign_id: str) -> bool:
        """True while any lead of the campaign has a due entry (now or later)."""
        for shard in range(DUE_SHARDS):
            index = keys.due_index(tenant_id, campaign_id, shard)
            response = self._query(
                IndexName="due",
                KeyConditionExpression="due_pk = :pk",
                ExpressionAttributeValues=self.items.to_ddb({":pk": index["due_pk"]}),
                Limit=1,
            )
            if response.get("Items"):
                return True
        return False

    def due_summary(
        self, tenant_id: str, campaign_id: str, now: str, *, page: int = 100
    ) -> tuple[int, str | None]:
        """How many leads are due at ``now`` (both priorities, every shard), and the earliest
        later instant at which one falls due (None: no lead waits for a later time).

        One Query a partition while its due leads fit in ``page``: the items come in due order,
        so counting them up to the first that is not yet due also finds that one. A partition
        with more due leads is counted on (``Select COUNT``, no items sent) and its head past
        ``now`` read with a query of its own, as two separate reads always did."""
        due = 0
        heads: list[str] = []
        for shard in range(DUE_SHARDS):
            for priority in (0, 1):
                pk = keys.due_index(tenant_id, campaign_id, shard, priority)["due_pk"]
                last_due = f"{priority}#{now}#\uffff"  # every due key of a lead due at now sorts before
                response = self._query(
                    IndexName="due",
                    KeyConditionExpression="due_pk = :pk AND due_sk BETWEEN :lo AND :hi",
                    ExpressionAttributeValues=self.items.to_ddb(
                        {":pk": pk, ":lo": f"{priority}#", ":hi": f"{priority}#\uffff"}
                    ),
                    ProjectionExpression="due_sk",
                    Limit=page,
                )
                head = None
                for item in response.get("Items", []):
                    due_sk = str(self.items.from_ddb(item)["due_sk"])
                    if due_sk > last_due:
                        head = due_sk
                        break
                    due += 1
                start = response.get("LastEvaluatedKey")
                if head is None and start:
                    due += self._count_range(pk, start, f"{priority}#", last_due)
                    after = self.due_head(tenant_id, campaign_id, shard, priority, 1, after=last_due)
                    head = str(after[0]["due_sk"]) if after else None
                if head is not None:
                    heads.append(head.split("#")[1])
        return due, min(heads, default=None)

    def _count_range(self, pk: str, start: dict[str, Any] | None, low: str, high: str) -> int:
        """Due entries of the partition ``pk`` between ``low`` and ``high``, from ``start`` on."""
        total = 0
        while start:
            response = self._query(
                IndexName="due",
                KeyConditionExpression="due_pk = :pk AND due_sk BETWEEN :lo AND :hi",
                ExpressionAttributeValues=self.items.to_ddb({":pk": pk, ":lo": low, ":hi": high}),
                Select="COUNT",
                ExclusiveStartKey=start,
            )
            total += int(response.get("Count", 0))
            start = response.get("LastEvaluatedKey")
        return total

    def pending_leads(self, tenant_id: str, campaign_id: str, shard: int, limit: int) -> list[dict[str, Any]]:
        """Any pending leads of one shard (due or not): the cancel sweep's page."""
        index = keys.due_index(tenant_id, campaign_id, shard)
        response = self._query(
            IndexName="due",
            KeyConditionExpression="due_pk = :pk",
            ExpressionAttributeValues=self.items.to_ddb({":pk": index["due_pk"]}),
            Limit=limit,
        )
        return [self.items.from_ddb(i) for i in response.get("Items", [])]

    def claim(
        self, tenant_id: str, claims: Sequence[Claim], *, now: str, slot_limit: int, slot_until: float
    ) -> list[Claim]:
        """Claim leads (see the module doc); returns the claims won. A claim whose lead changed
        meanwhile (another dispatcher, a callback) is left out; when the slot counter is full, the
        rest are left out too."""
        won: list[Claim] = []
        for i in range(0, len(claims), CLAIM_BATCH):
            batch = list(claims[i : i + CLAIM_BATCH])
            while batch:
                ops, lead_positions = self._claim_ops(tenant_id, batch, now, slot_limit, slot_until)
                failed = self._transact_all(ops)
                if failed is None:
                    won.extend(batch)
                    break
                if -1 in failed:
                    raise TemporarilyUnavailable("claims kept conflicting")
                lost = {lead_positions[i] for i in failed if i in lead_positions}
                # Each lead is two operations; either failing loses that lead.
                lost |= {lead_positions[i - 1] for i in failed if i - 1 in lead_positions}
                if lost:
                    batch = [c for j, c in enumerate(batch) if j not in lost]
                    continue
                if 0 in failed:  # only the slot counter: the channel limit is reached, claim fewer
                    if len(batch) == 1:
                        return won
                    batch = batch[: len(batch) // 2]
                    continue
                return won  # a stats update cannot fail its condition; be safe anyway
        return won

    def _claim_ops(
        self, tenant_id: str, batch: Sequence[Claim], now: str, slot_limit: int, slot_until: float
    ) -> tuple[list[dict[str, Any]], dict[int, int]]:
        ops: list[dict[str, Any]] = [slot_counter_op(tenant_id, len(batch), slot_limit)]
        stats: dict[tuple[str, int], Counter[str]] = {}
        positions: dict[int, int] = {}
        for j, claim in enumerate(batch):
            item = claim.item
            lead_id = str(item["lead_id"])
            campaign_id = str(item["campaign_id"])
            shard = shard_of(lead_id)
            change = stats.setdefault((campaign_id, shard), Counter())
            change["st_dialing"] += 1
            if item.get("deferred_reason"):
                change[f"def_{item['deferred_reason']}"] -= 1
            aid = attempt_id(lead_id, claim.n)
            positions[len(ops)] = j
            ops.append(
                {
                    "Update": {
                        "Key": keys.lead_key(tenant_id, lead_id),
                        "UpdateExpression": "SET #st = :dialing, dials = :n, current_attempt = :n, "
                        "due_pk = :ipk, due_sk = :isk, updated_at = :now REMOVE deferred_reason"
                        + (", callback_at, callback_note" if claim.callback else ""),
                        "ConditionExpression": "#st = :pending AND due_sk = :seen AND "
                        "(attribute_not_exists(dials) OR dials = :prev)",
                        "ExpressionAttributeNames": {"#st": "status"},
                        "ExpressionAttributeValues": {
                            ":dialing": LeadStatus.DIALING.value,
                            ":pending": LeadStatus.PENDING.value,
                            ":n": claim.n,
                            ":prev": claim.n - 1,
                            ":seen": item["due_sk"],
                            ":now": now,
                            **inflight_values(keys.inflight_index(tenant_id, shard, now, lead_id), ":i"),
                        },
                    }
                }
            )
            ops.append(
                {
                    "Put": {
                        "Item": {
                            **keys.attempt_key(tenant_id, lead_id, claim.n),
                            "entity": "attempt",
                            "tenant_id": tenant_id,
                            "lead_id": lead_id,
                            "campaign_id": campaign_id,
                            "n": claim.n,
                            "attempt_id": aid,
                            "state": AttemptState.CLAIMED.value,
                            "claimed_at": now,
                            "callback": claim.callback,
                            "callback_note": item.get("callback_note"),
                            "counted": False,
                            "posts": 0,
                            "slot_until": to_decimal(slot_until),
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        for (campaign_id, shard), change in stats.items():
            ops.append(stats_op(tenant_id, campaign_id, shard, change))
        return ops, positions

    def defer(
        self,
        tenant_id: str,
        item: Mapping[str, Any],
        *,
        at: str,
        reasons: Sequence[str],
        deferred_reason: str,
        now: str,
    ) -> bool:
        """Move a pending lead's due entry to ``at`` and record why; False if the lead changed."""
        lead_id = str(item["lead_id"])
        shard = shard_of(lead_id)
        priority = str(item["due_sk"]).split("#", 1)[0]
        due = keys.due_index(tenant_id, str(item["campaign_id"]), shard, int(priority), at, lead_id)
        change: Counter[str] = Counter()
        old = item.get("deferred_reason")
        if old != deferred_reason:
            change[f"def_{deferred_reason}"] += 1
            if old:
                change[f"def_{old}"] -= 1
        ops: list[dict[str, Any]] = [
            {
                "Update": {
                    "Key": keys.lead_key(tenant_id, lead_id),
                    "UpdateExpression": "SET due_sk = :due, next_attempt_at = :at, last_reasons = :r, "
                    "deferred_reason = :d, updated_at = :now",
                    "ConditionExpression": "#st = :pending AND due_sk = :seen",
                    "ExpressionAttributeNames": {"#st": "status"},
                    "ExpressionAttributeValues": {
                        ":due": due["due_sk"],
                        ":at": at,
                        ":r": list(reasons),
                        ":d": deferred_reason,
                        ":now": now,
                        ":pending": LeadStatus.PENDING.value,
                        ":seen": item["due_sk"],
                    },
                }
            }
        ]
        if change:
            ops.append(stats_op(tenant_id, str(item["campaign_id"]), shard, change))
        return self._transact(ops) is None

    def end_pending(
        self,
        tenant_id: str,
        item: Mapping[str, Any],
        *,
        status: LeadStatus,
        reasons: Sequence[str],
        now: str,
    ) -> bool:
        """End a pending lead without dialling it (blocked, invalid, exhausted, canceled): out of
        the due index; False if the lead changed meanwhile."""
        lead_id = str(item["lead_id"])
        change: Counter[str] = Counter({f"st_{status.value}": 1})
        if item.get("deferred_reason"):
            change[f"def_{item['deferred_reason']}"] -= 1
        ops: list[dict[str, Any]] = [
            {
                "Update": {
                    "Key": keys.lead_key(tenant_id, lead_id),
                    "UpdateExpression": "SET #st = :status, last_reasons = :r, updated_at = :now "
                    "REMOVE due_pk, due_sk, deferred_reason, next_attempt_at",
                    "ConditionExpression": "#st = :pending AND due_sk = :seen",
                    "ExpressionAttributeNames": {"#st": "status"},
                    "ExpressionAttributeValues": {
                        ":status": status.value,
                        ":r": list(reasons),
                        ":now": now,
                        ":pending": LeadStatus.PENDING.value,
                        ":seen": item["due_sk"],
                    },
                }
            },
            stats_op(tenant_id, str(item["campaign_id"]), shard_of(lead_id), change),
        ]
        return self._transact(ops) is None

    # --- in-flight ------------------------------------------------------------------------------
    def inflight(self, tenant_id: str, shard: int, before: str, limit: int) -> list[dict[str, Any]]:
        """Dialing leads of one shard claimed before ``before`` (oldest first)."""
        index = keys.inflight_index(tenant_id, shard)
        response = self._query(
            IndexName="due",
            KeyConditionExpression="due_pk = :pk AND due_sk < :before",
            ExpressionAttributeValues=self.items.to_ddb({":pk": index["due_pk"], ":before": before}),
            Limit=limit,
        )
        return [self.items.from_ddb(i) for i in response.get("Items", [])]

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
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dialer import keys
from dialer.adapters.dynamo import DynamoItems, storage_error
from dialer.adapters.table_ops import TableOps
from dialer.domain.dialing import (
    DUE_SHARDS,
    OPEN_ATTEMPT_STATES,
    AttemptState,
    LeadStatus,
    attempt_id,
    shard_of,
)
from dialer.errors import TemporarilyUnavailable

#: Leads per claim transaction: 3 items each, plus the slot counter and up to 4 stats shards.
CLAIM_BATCH = 30
_CONFLICT_RETRIES = 6


@dataclass(frozen=True, slots=True)
class TenantLimits:
    """A tenant's Telnyx limits and dial connection (defaults from settings)."""

    channel_limit: int
    dials_per_second: int
    dials_per_5s: int
    connection_id: str | None = None


@dataclass(frozen=True, slots=True)
class Claim:
    """One lead to claim: the item as read from the due index, and its attempt."""

    item: Mapping[str, Any]
    n: int  # the attempt number (the lead's dials + 1)
    callback: bool


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """A claimed attempt as stored."""

    tenant_id: str
    lead_id: str
    campaign_id: str
    n: int
    state: AttemptState
    claimed_at: str
    callback: bool = False
    counted: bool = False
    posting_at: str | None = None
    accepted_at: str | None = None
    ended_at: str | None = None
    call_control_id: str | None = None
    outcome: str | None = None
    lead_outcome: str | None = None  # the outcome that moved the lead (differs after a late fact)
    assistant_id: str | None = None
    caller_id_id: str | None = None
    from_number: str | None = None
    method: str | None = None
    reason: str | None = None
    posts: int = 0
    callback_note: str | None = None

    @property
    def attempt_id(self) -> str:
        """The attempt's id (the Telnyx ``command_id``)."""
        return attempt_id(self.lead_id, self.n)


@dataclass(frozen=True, slots=True)
class LeadChange:
    """How an attempt's end moves its lead: to ``status``; pending ones get a due entry at
    ``next_at`` (priority 0 for a callback)."""

    status: LeadStatus
    next_at: str | None = None
    priority: int = 1
    outcome: str | None = None
    reasons: tuple[str, ...] = ()
    deferred_reason: str | None = None


class DialingTable:
    """Claims, attempts, slots, the dial-rate limiter, leases and counters."""

    def __init__(self, table_name: str, *, client: Any = None) -> None:
        self.items = DynamoItems(table_name, client=client)
        self.ops = TableOps(self.items)
        self.table_name = table_name
        self._busy: dict[str, bool] = {}  # per tenant: did the limiter's "busy" branch work last?

    @property
    def client(self) -> Any:
        """The boto3 client."""
        return self.items.client

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
        item = self.items.get(keys.tenant_key(tenant_id)) or {}
        return TenantLimits(
            channel_limit=int(item.get("channel_limit") or defaults.channel_limit),
            dials_per_second=int(item.get("dials_per_second") or defaults.dials_per_second),
            dials_per_5s=int(item.get("dials_per_5s") or defaults.dials_per_5s),
            connection_id=item.get("call_control_connection_id") or defaults.connection_id,
        )

    def set_tenant_limits(self, tenant_id: str, **values: int | str | None) -> bool:
        """Override some of a tenant's limits (``channel_limit``, ``dials_per_second``,
        ``dials_per_5s``, ``call_control_connection_id``); False if there is no such tenant."""
        fields = {k: v for k, v in values.items() if v is not None}
        return self.items.update(keys.tenant_key(tenant_id), fields) if fields else True

    def hold_lease(self, tenant_id: str, name: str, owner: str, now: float, ttl: float) -> bool:
        """Take or renew the tenant's ``LEASE#{name}`` for ``owner`` until ``now + ttl``; False
        while another owner holds an unexpired lease."""
        return self.items.put(
            {
                **keys.dialing_state_key(tenant_id, f"LEASE#{name}"),
                "owner": owner,
                "lease_until": _dec(now + ttl),
            },
            condition="attribute_not_exists(pk) OR lease_until < :now OR #o = :me",
            names={"#o": "owner"},
            values={":now": _dec(now), ":me": owner},
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
            if _code(exc) != "ConditionalCheckFailedException":
                raise storage_error(exc, "could not drop the lease") from exc

    # --- concurrency slots ----------------------------------------------------------------------
    def slots_in_use(self, tenant_id: str) -> int:
        """Slots the tenant holds now."""
        item = self.items.get(keys.dialing_state_key(tenant_id, "SLOTS")) or {}
        return int(item.get("in_use") or 0)

    def acquire_slot(self, tenant_id: str, attempt: str, limit: int, until: float) -> bool:
        """Hold a slot for ``attempt`` until ``until`` (epoch seconds): extends a lease the attempt
        already holds, else takes a new one while the tenant is under ``limit``. False: no slot."""
        lease = keys.dialing_state_key(tenant_id, f"SLOT#{attempt}")
        if self.ops.update(lease, set_fields={"lease_until": _dec(until)}, condition="attribute_exists(pk)"):
            return True
        ops = [
            {
                "Put": {
                    "Item": {**lease, "attempt_id": attempt, "lease_until": _dec(until), "entity": "slot"},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            _counter_op(tenant_id, +1, limit),
        ]
        return self._transact(ops) is None

    def release_slot(self, tenant_id: str, attempt: str) -> bool:
        """Give an attempt's slot back (idempotent: False when it held none)."""
        ops = [
            {
                "Delete": {
                    "Key": keys.dialing_state_key(tenant_id, f"SLOT#{attempt}"),
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
            _counter_op(tenant_id, -1, None),
        ]
        return self._transact(ops) is None

    def slot_leases(self, tenant_id: str) -> list[tuple[str, float]]:
        """(attempt id, lease until) of every slot the tenant holds."""
        pk = keys.dialing_state_key(tenant_id, "")["pk"]
        out: list[tuple[str, float]] = []
        after: str | None = None
        while True:
            page, after = self.ops.query("pk", pk, prefix="SLOT#", after=after, limit=500)
            out.extend((str(i["attempt_id"]), float(i["lease_until"])) for i in page)
            if after is None:
                return out

    # --- dial-rate limiter ----------------------------------------------------------------------
    def reserve_dial(self, tenant_id: str, now: float, interval: float, max_ahead: float) -> float | None:
        """A dial-rate token (:func:`dialer.domain.dialing.gcra_reserve` as two atomic updates, so
        any number of dialers share it without read-modify-write): the epoch second to send at,
        or None when the schedule is full for ``max_ahead`` seconds."""
        key = keys.dialing_state_key(tenant_id, "RATE")
        # Two conditional updates: "the schedule is running" (take its next instant) or "idle"
        # (start it now). The branch that worked last time for this tenant goes first, so a busy
        # dialer and an idle one each pay one request. A writer can move the schedule between
        # our tries; a few rounds settle it, and only a schedule full for max_ahead answers None.
        busy_first = self._busy.get(tenant_id, True)
        for _ in range(3):
            for busy in (busy_first, not busy_first):
                got = (
                    self._reserve_busy(key, now, interval, max_ahead)
                    if busy
                    else self._reserve_idle(key, now, interval)
                )
                if got is not None:
                    self._busy[tenant_id] = busy
                    return got
            state = self.items.get(key) or {}
            if float(state.get("tat") or 0) > now + max_ahead:
                return None
        return None

    def _reserve_busy(
        self, key: Mapping[str, str], now: float, interval: float, max_ahead: float
    ) -> float | None:
        try:
            response = self.client.update_item(
                TableName=self.table_name,
                Key=self.items.to_ddb(key),
                UpdateExpression="SET tat = tat + :i",
                ConditionExpression="tat >= :now AND tat <= :ahead",
                ExpressionAttributeValues=self.items.to_ddb(
                    {":now": _dec(now), ":ahead": _dec(now + max_ahead), ":i": _dec(interval)}
                ),
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as exc:
            if _code(exc) != "ConditionalCheckFailedException":
                raise storage_error(exc, "could not reserve a dial") from exc
            return None
        except BotoCoreError as exc:
            raise storage_error(exc, "could not reserve a dial") from exc
        return float(response["Attributes"]["tat"]["N"]) - interval

    def _reserve_idle(self, key: Mapping[str, str], now: float, interval: float) -> float | None:
        started = self.ops.update(
            key,
            set_fields={"tat": _dec(now + interval)},
            condition="attribute_not_exists(tat) OR tat < :now",
            values={":now": _dec(now)},
        )
        return now if started else None

    def hold_dials_until(self, tenant_id: str, until: float) -> None:
        """After a 429: no token before ``until`` (pushes the schedule forward, never back)."""
        self.ops.update(
            keys.dialing_state_key(tenant_id, "RATE"),
            set_fields={"tat": _dec(until)},
            condition="attribute_not_exists(tat) OR tat < :u",
            values={":u": _dec(until)},
        )

    # --- due leads and claims -------------------------------------------------------------------
    def due_leads(
        self,
        tenant_id: str,
        campaign_id: str,
        shard: int,
        priority: int,
        now: str,
        limit: int,
        after: str | None = None,
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` leads of one due shard and priority with ``next_attempt_at <= now``,
        in due order, after the due key ``after`` (exclusive) when given."""
        index = keys.due_index(tenant_id, campaign_id, shard, priority)
        low = after + "\x00" if after else f"{priority}#"
        response = self._query(
            IndexName="due",
            KeyConditionExpression="due_pk = :pk AND due_sk BETWEEN :lo AND :hi",
            ExpressionAttributeValues=self.items.to_ddb(
                {":pk": index["due_pk"], ":lo": low, ":hi": f"{priority}#{now}#\uffff"}
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

    def count_due(self, tenant_id: str, campaign_id: str, now: str) -> int:
        """Leads due now (both priorities, every shard)."""
        total = 0
        for shard in range(DUE_SHARDS):
            for priority in (0, 1):
                index = keys.due_index(tenant_id, campaign_id, shard, priority)
                start: dict[str, Any] | None = None
                while True:
                    kwargs: dict[str, Any] = {
                        "IndexName": "due",
                        "KeyConditionExpression": "due_pk = :pk AND due_sk BETWEEN :lo AND :hi",
                        "ExpressionAttributeValues": self.items.to_ddb(
                            {":pk": index["due_pk"], ":lo": f"{priority}#", ":hi": f"{priority}#{now}#\uffff"}
                        ),
                        "Select": "COUNT",
                    }
                    if start:
                        kwargs["ExclusiveStartKey"] = start
                    response = self._query(**kwargs)
                    total += int(response.get("Count", 0))
                    start = response.get("LastEvaluatedKey")
                    if not start:
                        break
        return total

    def next_due_at(self, tenant_id: str, campaign_id: str, after: str) -> str | None:
        """The earliest instant after ``after`` at which a pending lead falls due (None: no lead
        waits for a later time): the head of each due partition past ``after``, one item each."""
        found: list[str] = []
        for shard in range(DUE_SHARDS):
            for priority in (0, 1):
                index = keys.due_index(tenant_id, campaign_id, shard, priority)
                response = self._query(
                    IndexName="due",
                    KeyConditionExpression="due_pk = :pk AND due_sk BETWEEN :lo AND :hi",
                    ExpressionAttributeValues=self.items.to_ddb(
                        {
                            ":pk": index["due_pk"],
                            ":lo": f"{priority}#{after}#\uffff",
                            ":hi": f"{priority}#\uffff",
                        }
                    ),
                    ProjectionExpression="due_sk",
                    Limit=1,
                )
                found += [
                    self.items.from_ddb(item)["due_sk"].split("#")[1] for item in response.get("Items", [])
                ]
        return min(found, default=None)

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
                # Each lead is three operations; any of them failing loses that lead.
                lost |= {lead_positions[i - 1] for i in failed if i - 1 in lead_positions}
                lost |= {lead_positions[i - 2] for i in failed if i - 2 in lead_positions}
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
        ops: list[dict[str, Any]] = [_counter_op(tenant_id, len(batch), slot_limit)]
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
                            **_prefixed(keys.inflight_index(tenant_id, shard, now, lead_id), ":i"),
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
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
            ops.append(
                {
                    "Put": {
                        "Item": {
                            **keys.dialing_state_key(tenant_id, f"SLOT#{aid}"),
                            "entity": "slot",
                            "attempt_id": aid,
                            "lease_until": _dec(slot_until),
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        for (campaign_id, shard), change in stats.items():
            ops.append(_stats_op(tenant_id, campaign_id, shard, change))
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
            ops.append(_stats_op(tenant_id, str(item["campaign_id"]), shard, change))
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
            _stats_op(tenant_id, str(item["campaign_id"]), shard_of(lead_id), change),
        ]
        return self._transact(ops) is None

    # --- attempts -------------------------------------------------------------------------------
    def get_attempt(self, tenant_id: str, lead_id: str, n: int) -> AttemptRecord | None:
        """One attempt, or None."""
        item = self.items.get(keys.attempt_key(tenant_id, lead_id, n))
        return attempt_from_item(item) if item else None

    def lead_and_attempt(
        self, tenant_id: str, lead_id: str, n: int
    ) -> tuple[dict[str, Any] | None, AttemptRecord | None]:
        """A lead's item and its attempt ``n`` in one Query (they share a partition)."""
        response = self._query(
            KeyConditionExpression="pk = :pk AND sk BETWEEN :lo AND :hi",
            ExpressionAttributeValues=self.items.to_ddb(
                {":pk": keys.lead_key(tenant_id, lead_id)["pk"], ":lo": f"ATTEMPT#{n:04d}", ":hi": "LEAD"}
            ),
            ConsistentRead=True,
        )
        lead: dict[str, Any] | None = None
        attempt: AttemptRecord | None = None
        for raw in response.get("Items", []):
            item = self.items.from_ddb(raw)
            if item["sk"] == "LEAD":
                lead = item
            elif item["sk"] == f"ATTEMPT#{n:04d}":
                attempt = attempt_from_item(item)
        return lead, attempt

    def lead_with_attempts(
        self, tenant_id: str, lead_id: str
    ) -> tuple[dict[str, Any] | None, list[AttemptRecord]]:
        """A lead's item and its attempts, oldest first (one Query of the lead's partition)."""
        pk = keys.lead_key(tenant_id, lead_id)["pk"]
        lead: dict[str, Any] | None = None
        attempts: list[AttemptRecord] = []
        after: str | None = None
        while True:
            page, after = self.ops.query("pk", pk, after=after, limit=500)
            for item in page:
                if item["sk"] == "LEAD":
                    lead = item
                elif str(item["sk"]).startswith("ATTEMPT#"):
                    attempts.append(attempt_from_item(item))
            if after is None:
                return lead, attempts

    def start_posting(
        self,
        tenant_id: str,
        lead_id: str,
        n: int,
        *,
        now: str,
        from_state: AttemptState,
        details: Mapping[str, Any],
    ) -> str:
        """``from_state → posting`` (claimed, or posting again for a repeated POST) with what is
        being dialled, only while the attempt holds its slot lease (no dial without a slot).
        Returns ``"ok"``, ``"lost"`` (the attempt is not in ``from_state`` any more) or
        ``"no_slot"``."""
        fields = {"state": AttemptState.POSTING.value, "last_post_at": now, **details}
        if from_state == AttemptState.CLAIMED:
            fields["posting_at"] = fields.get("posting_at") or now
        fields = {k: v for k, v in fields.items() if v is not None}
        names = {f"#f{i}": k for i, k in enumerate(fields)} | {"#state": "state"}
        values = {f":f{i}": v for i, v in enumerate(fields.values())} | {":from": from_state.value, ":one": 1}
        ops: list[dict[str, Any]] = [
            {
                "Update": {
                    "Key": keys.attempt_key(tenant_id, lead_id, n),
                    "UpdateExpression": "SET "
                    + ", ".join(f"#f{i} = :f{i}" for i in range(len(fields)))
                    + " ADD posts :one",
                    "ConditionExpression": "#state = :from",
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": values,
                }
            },
            {
                "ConditionCheck": {
                    "Key": keys.dialing_state_key(tenant_id, f"SLOT#{attempt_id(lead_id, n)}"),
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
        ]
        failed = self._transact(ops)
        if failed is None:
            return "ok"
        if failed == 1:
            return "no_slot"
        if failed == -1:
            raise TemporarilyUnavailable("attempt kept conflicting")
        return "lost"

    def back_to_claimed(self, tenant_id: str, lead_id: str, n: int) -> bool:
        """``posting → claimed`` after a definite refusal that nothing counts (429): the job is
        retried later."""
        return bool(
            self.ops.update(
                keys.attempt_key(tenant_id, lead_id, n),
                set_fields={"state": AttemptState.CLAIMED.value},
                condition="#state = :posting",
                names={"#state": "state"},
                values={":posting": AttemptState.POSTING.value},
            )
        )

    def mark_unconfirmed(self, tenant_id: str, lead_id: str, n: int, *, now: str, reason: str) -> bool:
        """``posting → unconfirmed``: the POST was ambiguous; webhooks or the reaper settle it."""
        return bool(
            self.ops.update(
                keys.attempt_key(tenant_id, lead_id, n),
                set_fields={"state": AttemptState.UNCONFIRMED.value, "reason": reason, "unconfirmed_at": now},
                condition="#state = :posting",
                names={"#state": "state"},
                values={":posting": AttemptState.POSTING.value},
            )
        )

    def mark_accepted(
        self,
        attempt: AttemptRecord,
        *,
        call_control_id: str,
        now: str,
        contact: Mapping[str, Any] | None = None,
    ) -> bool:
        """Telnyx accepted the call, in one transaction applied once (conditional on the attempt
        being open): the attempt counts, the lead's retry budget is used unless this is a
        callback, the campaign counts the dial, the call record is linked to its lead, campaign,
        attempt and variant, and the person's contact history (``contact``: a
        :meth:`~dialer.adapters.people_table.ContactHistory.item`) records the call. False when
        the attempt was already accepted or settled (by the dialer or a webhook)."""
        counts_budget = not attempt.callback
        link = {
            "entity": "call",
            "tenant_id": attempt.tenant_id,
            "call_control_id": call_control_id,
            "lead_id": attempt.lead_id,
            "campaign_id": attempt.campaign_id,
            "attempt_n": attempt.n,
            "attempt_id": attempt.attempt_id,
            "assistant_id": attempt.assistant_id,
            "caller_id_id": attempt.caller_id_id,
            "dial_method": attempt.method,
            "linked_at": now,
        }
        link = {k: v for k, v in link.items() if v is not None}
        ops: list[dict[str, Any]] = [
            {
                "Update": {
                    "Key": keys.attempt_key(attempt.tenant_id, attempt.lead_id, attempt.n),
                    "UpdateExpression": "SET #state = :accepted, call_control_id = :cc, accepted_at = :now, "
                    "counted = :true",
                    "ConditionExpression": "#state IN (:posting, :unconfirmed)",
                    "ExpressionAttributeNames": {"#state": "state"},
                    "ExpressionAttributeValues": {
                        ":accepted": AttemptState.ACCEPTED.value,
                        ":posting": AttemptState.POSTING.value,
                        ":unconfirmed": AttemptState.UNCONFIRMED.value,
                        ":cc": call_control_id,
                        ":now": now,
                        ":true": True,
                    },
                }
            },
            {
                "Update": {
                    "Key": keys.lead_key(attempt.tenant_id, attempt.lead_id),
                    "UpdateExpression": "SET last_call_control_id = :cc, updated_at = :now"
                    + (" ADD attempts :one" if counts_budget else ""),
                    "ExpressionAttributeValues": {
                        ":cc": call_control_id,
                        ":now": now,
                        **({":one": 1} if counts_budget else {}),
                    },
                }
            },
            _stats_op(
                attempt.tenant_id, attempt.campaign_id, shard_of(attempt.lead_id), Counter({"dials": 1})
            ),
            {
                "Update": {
                    "Key": keys.call_key(attempt.tenant_id, call_control_id),
                    "UpdateExpression": "SET " + ", ".join(f"#l{i} = :l{i}" for i in range(len(link))),
                    "ExpressionAttributeNames": {f"#l{i}": k for i, k in enumerate(link)},
                    "ExpressionAttributeValues": {f":l{i}": v for i, v in enumerate(link.values())},
                }
            },
        ]
        if contact:
            ops.append({"Put": {"Item": dict(contact)}})
        return self._transact(ops) is None

    def finish(
        self,
        attempt: AttemptRecord,
        change: LeadChange,
        *,
        final_state: AttemptState,
        now: str,
        count_attempt: bool,
    ) -> bool:
        """Apply an attempt's end to its lead, once: the attempt moves from an open state to
        ``final_state``, the lead (still dialing this attempt) to ``change``, and the campaign's
        counters follow. False when it was already applied."""
        open_states = [s.value for s in OPEN_ATTEMPT_STATES] + [AttemptState.CLAIMED.value]
        names = {"#state": "state"}
        values: dict[str, Any] = {":final": final_state.value, ":now": now}
        for i, state in enumerate(open_states):
            values[f":o{i}"] = state
        attempt_set = "SET #state = :final, ended_at = :now"
        if change.outcome:
            # ``lead_outcome``: the outcome that moved the lead (a late fact may correct
            # ``outcome`` after the lead has moved on; see :meth:`resettle`).
            attempt_set += ", outcome = :outcome, lead_outcome = :outcome"
            values[":outcome"] = change.outcome
        if change.reasons:
            attempt_set += ", reason = :reason"
            values[":reason"] = ",".join(change.reasons)
        if count_attempt:
            attempt_set += ", counted = :true"
            values[":true"] = True
        ops: list[dict[str, Any]] = [
            {
                "Update": {
                    "Key": keys.attempt_key(attempt.tenant_id, attempt.lead_id, attempt.n),
                    "UpdateExpression": attempt_set,
                    "ConditionExpression": f"#state IN ({', '.join(f':o{i}' for i in range(len(open_states)))})",
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": values,
                }
            },
            self._lead_change_op(attempt, change, now, count_attempt=count_attempt),
        ]
        stats: Counter[str] = Counter({"st_dialing": -1})
        if change.status != LeadStatus.PENDING:
            stats[f"st_{change.status.value}"] += 1
        if change.outcome and final_state in (AttemptState.ENDED, AttemptState.FAILED):
            stats[f"out_{change.outcome}"] += 1
        if change.deferred_reason:
            stats[f"def_{change.deferred_reason}"] += 1
        ops.append(_stats_op(attempt.tenant_id, attempt.campaign_id, shard_of(attempt.lead_id), stats))
        return self._transact(ops) is None

    def resettle(
        self,
        attempt: AttemptRecord,
        outcome: str,
        change: LeadChange | None,
        *,
        lead_seen: Mapping[str, Any],
        now: str,
    ) -> bool:
        """A late fact changed an ended attempt's outcome, or its conversation's disposition
        ended the lead: record a changed outcome on the attempt (its history keeps both) and,
        with ``change``, move the lead again - conditional on the attempt still holding the
        outcome it was settled with and the lead being exactly as read (``lead_seen``), so the
        correction is applied once. The campaign's counters follow: the attempt counts under its
        new outcome, the lead under its new state. False when another writer applied it first;
        :class:`TemporarilyUnavailable` when the lead moved meanwhile (the redelivery decides
        again)."""
        old = str(attempt.outcome)
        ops: list[dict[str, Any]] = []
        stats: Counter[str] = Counter()
        if outcome != old:
            attempt_set = (
                "SET outcome = :new, "
                "outcome_history = list_append(if_not_exists(outcome_history, :empty), :entry)"
            )
            if change is not None:
                attempt_set += ", lead_outcome = :new"
            ops.append(
                {
                    "Update": {
                        "Key": keys.attempt_key(attempt.tenant_id, attempt.lead_id, attempt.n),
                        "UpdateExpression": attempt_set,
                        "ConditionExpression": "#state = :ended AND outcome = :old",
                        "ExpressionAttributeNames": {"#state": "state"},
                        "ExpressionAttributeValues": {
                            ":new": outcome,
                            ":old": old,
                            ":ended": AttemptState.ENDED.value,
                            ":entry": [{"outcome": outcome, "at": now, "lead": change is not None}],
                            ":empty": [],
                        },
                    }
                }
            )
            stats.update({f"out_{outcome}": 1, f"out_{old}": -1})
        if change is not None:
            seen_status = str(lead_seen.get("status"))
            condition = "#st = :seen AND current_attempt = :n AND last_outcome = :old"
            extra: dict[str, Any] = {":seen": seen_status, ":old": str(lead_seen.get("last_outcome"))}
            if lead_seen.get("due_sk"):
                condition += " AND due_sk = :seen_due"
                extra[":seen_due"] = lead_seen["due_sk"]
            else:
                condition += " AND attribute_not_exists(due_sk)"
            ops.append(self._lead_op(attempt, change, now, condition=condition, extra=extra))
            if seen_status != LeadStatus.PENDING.value:
                stats[f"st_{seen_status}"] -= 1
            if change.status != LeadStatus.PENDING:
                stats[f"st_{change.status.value}"] += 1
            if lead_seen.get("deferred_reason"):
                stats[f"def_{lead_seen['deferred_reason']}"] -= 1
        if not ops:
            return False
        changed = {k: v for k, v in stats.items() if v}
        if changed:
            ops.append(_stats_op(attempt.tenant_id, attempt.campaign_id, shard_of(attempt.lead_id), changed))
        failed = self._transact(ops)
        if failed is None:
            return True
        if failed == 0 and outcome != old:
            return False
        raise TemporarilyUnavailable("the lead moved while a late fact was re-settling it")

    def _lead_change_op(
        self, attempt: AttemptRecord, change: LeadChange, now: str, *, count_attempt: bool
    ) -> dict[str, Any]:
        return self._lead_op(
            attempt,
            change,
            now,
            condition="#st = :dialing AND current_attempt = :n",
            extra={":dialing": LeadStatus.DIALING.value},
            count_attempt=count_attempt,
        )

    def _lead_op(
        self,
        attempt: AttemptRecord,
        change: LeadChange,
        now: str,
        *,
        condition: str,
        extra: Mapping[str, Any],
        count_attempt: bool = False,
    ) -> dict[str, Any]:
        """The lead's update for ``change``, conditional on ``condition`` (``:n`` is the attempt)."""
        tenant_id, lead_id = attempt.tenant_id, attempt.lead_id
        values: dict[str, Any] = {":status": change.status.value, ":now": now, ":n": attempt.n, **extra}
        sets = ["#st = :status", "updated_at = :now"]
        removes = ["callback_at", "callback_note"] if attempt.callback else []
        if change.outcome:
            sets.append("last_outcome = :outcome")
            values[":outcome"] = change.outcome
        if change.reasons:
            sets.append("last_reasons = :r")
            values[":r"] = list(change.reasons)
        if change.deferred_reason:
            sets.append("deferred_reason = :d")
            values[":d"] = change.deferred_reason
        if change.status == LeadStatus.PENDING and change.next_at:
            due = keys.due_index(
                tenant_id, attempt.campaign_id, shard_of(lead_id), change.priority, change.next_at, lead_id
            )
            sets += ["due_pk = :dpk", "due_sk = :dsk", "next_attempt_at = :next"]
            values.update({":dpk": due["due_pk"], ":dsk": due["due_sk"], ":next": change.next_at})
            if change.priority == 0:
                removes = [r for r in removes if r not in ("callback_at", "callback_note")]
        else:
            removes += ["due_pk", "due_sk", "next_attempt_at"]
        expression = "SET " + ", ".join(sets)
        if count_attempt and not attempt.callback:
            expression += " ADD attempts :one"
            values[":one"] = 1
        if removes:
            expression += " REMOVE " + ", ".join(dict.fromkeys(removes))
        return {
            "Update": {
                "Key": keys.lead_key(tenant_id, lead_id),
                "UpdateExpression": expression,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#st": "status"},
                "ExpressionAttributeValues": values,
            }
        }

    def link_call(self, attempt: AttemptRecord, call_control_id: str, now: str) -> dict[str, Any]:
        """Link the call record to its lead, campaign, attempt and variant (other writers' fields
        are kept); returns the call item as it is now (it may already have ended)."""
        fields = {
            "tenant_id": attempt.tenant_id,
            "call_control_id": call_control_id,
            "lead_id": attempt.lead_id,
            "campaign_id": attempt.campaign_id,
            "attempt_n": attempt.n,
            "attempt_id": attempt.attempt_id,
            "assistant_id": attempt.assistant_id,
            "caller_id_id": attempt.caller_id_id,
            "dial_method": attempt.method,
            "linked_at": now,
        }
        result = self.ops.update(
            keys.call_key(attempt.tenant_id, call_control_id),
            set_fields={k: v for k, v in fields.items() if v is not None},
            return_new=True,
        )
        return result if isinstance(result, dict) else {}

    def link_inbound(self, tenant_id: str, call_control_id: str, fields: Mapping[str, Any]) -> bool:
        """Mark an inbound call record (and link it to its caller's lead) once; False if an
        earlier event already did. Other writers' attributes are kept."""
        return bool(
            self.ops.update(
                keys.call_key(tenant_id, call_control_id),
                set_fields=fields,
                condition="attribute_exists(pk) AND attribute_not_exists(caller_checked_at)",
            )
        )

    # --- counters -------------------------------------------------------------------------------
    def campaign_stats(self, tenant_id: str, campaign_id: str) -> Counter[str]:
        """The campaign's counters summed over their shards."""
        found = self.ops.batch_get(
            [keys.campaign_stats_key(tenant_id, campaign_id, s) for s in range(DUE_SHARDS)]
        )
        total: Counter[str] = Counter()
        for item in found:
            for name, value in item.items():
                if name.startswith(("st_", "def_", "out_")) or name == "dials":
                    total[name] += int(value)
        return total

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

    def caller_usage(self, tenant_id: str, caller_ids: Sequence[str], day: str) -> dict[str, int]:
        """Calls placed today from each caller ID."""
        found = self.ops.batch_get([keys.caller_id_usage_key(tenant_id, c, day) for c in caller_ids])
        return {str(i["pk"]).rsplit("#", 1)[-1]: int(i.get("used") or 0) for i in found}

    def take_caller_id(self, tenant_id: str, caller_id_id: str, day: str, cap: int, expires_at: int) -> bool:
        """Count one call from the caller ID today, while under its daily ``cap``."""
        return bool(
            self.ops.update(
                keys.caller_id_usage_key(tenant_id, caller_id_id, day),
                set_fields={"expires_at": expires_at},
                add={"used": 1},
                condition="attribute_not_exists(used) OR used < :cap",
                values={":cap": cap},
            )
        )

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

    # --- plumbing -------------------------------------------------------------------------------
    def _query(self, **kwargs: Any) -> dict[str, Any]:
        try:
            return dict(self.client.query(TableName=self.table_name, **kwargs))
        except (ClientError, BotoCoreError) as exc:
            raise storage_error(exc, "could not query the state table") from exc

    def _transact(self, operations: list[dict[str, Any]]) -> int | None:
        """TransactWriteItems; None when committed, else the index of the first operation whose
        condition failed (-1: it kept conflicting with other transactions)."""
        failed = self._transact_all(operations)
        return None if failed is None else min(failed)

    def _transact_all(self, operations: list[dict[str, Any]]) -> set[int] | None:
        """TransactWriteItems; None when committed, else the indexes of every operation whose
        condition failed ({-1}: it kept conflicting). Transaction conflicts (another transaction
        on one of the items) are retried with jittered backoff."""
        wire = []
        for op in operations:
            ((kind, body),) = op.items()
            body = dict(body)
            for name in ("Item", "Key", "ExpressionAttributeValues"):
                if name in body:
                    body[name] = self.items.to_ddb(body[name])
            wire.append({kind: {"TableName": self.table_name, **body}})
        for attempt in range(_CONFLICT_RETRIES):
            try:
                self.client.transact_write_items(TransactItems=wire)
                return None
            except ClientError as exc:
                if _code(exc) != "TransactionCanceledException":
                    raise storage_error(exc, "could not write to the state table") from exc
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                failed = {i for i, reason in enumerate(reasons) if reason == "ConditionalCheckFailed"}
                if failed:
                    return failed
                if not reasons and "ConditionalCheckFailed" in str(exc):
                    return {0}
                time.sleep(random.uniform(0, 0.01 * 2**attempt))
            except BotoCoreError as exc:
                raise storage_error(exc, "could not write to the state table") from exc
        return {-1}


def attempt_from_item(item: Mapping[str, Any]) -> AttemptRecord:
    """A stored attempt item as an :class:`AttemptRecord`."""
    return AttemptRecord(
        tenant_id=item["tenant_id"],
        lead_id=item["lead_id"],
        campaign_id=item["campaign_id"],
        n=int(item["n"]),
        state=AttemptState(item["state"]),
        claimed_at=item.get("claimed_at", ""),
        callback=bool(item.get("callback")),
        counted=bool(item.get("counted")),
        posting_at=item.get("posting_at"),
        accepted_at=item.get("accepted_at"),
        ended_at=item.get("ended_at"),
        call_control_id=item.get("call_control_id"),
        outcome=item.get("outcome"),
        lead_outcome=item.get("lead_outcome"),
        assistant_id=item.get("assistant_id"),
        caller_id_id=item.get("caller_id_id"),
        from_number=item.get("from_number"),
        method=item.get("method"),
        reason=item.get("reason"),
        posts=int(item.get("posts") or 0),
        callback_note=item.get("callback_note"),
    )


def _counter_op(tenant_id: str, amount: int, limit: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Key": keys.dialing_state_key(tenant_id, "SLOTS"),
        "UpdateExpression": "ADD in_use :d",
        "ExpressionAttributeValues": {":d": amount},
    }
    if limit is not None:
        body["ConditionExpression"] = "attribute_not_exists(in_use) OR in_use <= :room"
        body["ExpressionAttributeValues"][":room"] = limit - amount
    return {"Update": body}


def _stats_op(tenant_id: str, campaign_id: str, shard: int, change: Mapping[str, int]) -> dict[str, Any]:
    names = {f"#c{i}": name for i, name in enumerate(change)}
    values = {f":c{i}": amount for i, amount in enumerate(change.values())}
    return {
        "Update": {
            "Key": keys.campaign_stats_key(tenant_id, campaign_id, shard),
            "UpdateExpression": "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(change))),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def _prefixed(values: Mapping[str, str], prefix: str) -> dict[str, str]:
    return {":ipk": values["due_pk"], ":isk": values["due_sk"]} if prefix == ":i" else {}


def _dec(value: float) -> Any:
    from decimal import Decimal

    return Decimal(str(round(value, 6)))


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))

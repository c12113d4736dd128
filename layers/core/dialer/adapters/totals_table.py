"""Campaign call totals: sharded counters kept equal to the sum of the calls' contributions (see
:mod:`dialer.domain.analytics`), so stats read a handful of items, never the calls. A tenant's
totals are the sum of its campaigns' (a campaign that has leads cannot be deleted), so they have
no counters of their own (those cost every call 2 write units, and nothing read them).

A call's shard is derived from its ``call_control_id``: different calls spread over
:data:`~dialer.keys.TOTALS_SHARDS` partitions; all writes of one call go to one shard item,
in one transaction with the call's own ``totals`` (what it has contributed so far).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from dialer import keys
from dialer.adapters.dynamo import DynamoItems
from dialer.adapters.table_ops import TableOps
from dialer.domain.analytics import COST, contribution, delta
from dialer.errors import ConcurrentUpdate

#: Conditional writes of one call item tried before an event is left to SQS's redelivery, which
#: comes after the queue's visibility timeout (3 minutes: its lead unsettled, its channel held).
#: A refusal means another writer of the same call committed since this one's copy, and the
#: next try starts from the call as it now is (returned by the refusal, or read), so a writer is
#: refused at most once per other writer: a call has about a dozen (its webhooks, the dialer's
#: acceptance, the totals sync). Five gave up once in an e2e run (a burst of one call's events
#: on four processor environments).
CALL_WRITE_ATTEMPTS = 12


def totals_shard(call_control_id: str) -> int:
    """The totals shard a call writes to (stable)."""
    return int(hashlib.sha256(call_control_id.encode()).hexdigest()[:8], 16) % keys.TOTALS_SHARDS


class TotalsTable:
    """Sharded call totals per campaign."""

    def __init__(self, table_name: str, *, client: Any = None) -> None:
        self.items = DynamoItems(table_name, client=client)
        self.ops = TableOps(self.items)

    def sync_call(
        self,
        tenant_id: str,
        call_control_id: str,
        *,
        known: Mapping[str, Any] | None = None,
        stamp: Mapping[str, Any] | None = None,
    ) -> dict[str, Decimal] | None:
        """Bring the counters in line with the call record, once: returns what was added (None
        when nothing was due). Safe to call any number of times, concurrently.

        ``known``: the call as the caller just wrote or read it, used instead of a first read.
        A stale copy is safe: the commit is conditional on the ``totals_rev`` it shows (a copy
        older than the last sync fails it and the call is read), and a copy missing a later
        event's facts leaves them to that event's own sync.

        ``stamp``: attributes SET on the call in the same write (the insight marker: it lands
        with the counters its disposition moved, and alone when nothing is due), so a caller
        that marks an effect done last pays no write of its own for the mark."""
        for attempt in range(CALL_WRITE_ATTEMPTS):
            call = (
                known
                if attempt == 0 and known is not None
                else self.items.get(keys.call_key(tenant_id, call_control_id))
            )
            if call is None:
                return None
            due = totals_due(call)
            if due is None:
                # Nothing due, or not linked to a campaign (yet): the link's sync counts it.
                if stamp:
                    self.ops.update(keys.call_key(tenant_id, call_control_id), set_fields=stamp)
                return None
            set_fields, condition, values = due.call_update()
            names = {f"#s{i}": name for i, name in enumerate(stamp or {})}
            stamped = ", ".join(f"#s{i} = :s{i}" for i in range(len(names)))
            ops: list[dict[str, Any]] = [
                {
                    "Update": {
                        "Key": keys.call_key(tenant_id, call_control_id),
                        "UpdateExpression": "SET totals = :t, totals_rev = :next"
                        + (f", {stamped}" if stamped else ""),
                        "ConditionExpression": condition,
                        **({"ExpressionAttributeNames": names} if names else {}),
                        "ExpressionAttributeValues": {
                            ":t": set_fields["totals"],
                            **values,
                            **{f":s{i}": value for i, value in enumerate((stamp or {}).values())},
                        },
                    }
                },
                *due.counter_ops(tenant_id, call),
            ]
            if self.ops.transact(ops):
                return due.change
        raise ConcurrentUpdate(f"call {call_control_id} totals kept changing")

    def campaign_totals(self, tenant_id: str, campaign_id: str) -> dict[str, Decimal]:
        """The campaign's counters summed over their shards (one BatchGetItem)."""
        return _summed(
            self.ops.batch_get(
                [keys.campaign_totals_key(tenant_id, campaign_id, s) for s in range(keys.TOTALS_SHARDS)]
            )
        )


@dataclass(frozen=True, slots=True)
class TotalsDue:
    """What a call record adds to its counters that they do not count yet: the ``change``, the
    call's ``totals`` once it is added (``target``) and the ``totals_rev`` it was computed from.

    Written by whoever changes the call or syncs it (the event's own transaction, or
    :meth:`TotalsTable.sync_call`), always with :meth:`call_update`'s condition on ``rev``: a
    change computed from a stale copy is refused, never counted twice."""

    change: dict[str, Decimal]
    target: dict[str, Decimal]
    rev: int

    def call_update(self) -> tuple[dict[str, Any], str, dict[str, Any]]:
        """The call's new ``totals``/``totals_rev`` (SET), the condition, and its values."""
        condition = "totals_rev = :rev"
        if self.rev == 0:
            condition = "(attribute_not_exists(totals_rev) OR totals_rev = :rev)"
        fields = {"totals": self.target, "totals_rev": self.rev + 1}
        return fields, condition, {":next": self.rev + 1, ":rev": self.rev}

    def counter_ops(self, tenant_id: str, call: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The counters' ADDs, as plain transaction items: the campaign's shard and the lead's own
        spend (the results export reads it with the lead, no call reads)."""
        shard = totals_shard(str(call["call_control_id"]))
        ops = [_add_op(keys.campaign_totals_key(tenant_id, str(call["campaign_id"]), shard), self.change)]
        if call.get("lead_id") and COST in self.change:
            ops.append(_add_op(keys.lead_key(tenant_id, str(call["lead_id"])), {COST: self.change[COST]}))
        return ops


def totals_due(call: Mapping[str, Any]) -> TotalsDue | None:
    """What the call adds to its campaign's counters beyond what they count; None when nothing
    is due or the call is not linked to a campaign."""
    if not call.get("campaign_id") or not call.get("call_control_id"):
        return None
    counted = call.get("totals") or {}
    change = delta(contribution(call), counted)
    if not change:
        return None
    target = {n: Decimal(str(v)) for n, v in counted.items()}
    for name, amount in change.items():
        target[name] = target.get(name, Decimal(0)) + amount
    target = {n: v for n, v in target.items() if v}
    return TotalsDue(change, target, int(call.get("totals_rev") or 0))


def _add_op(key: Mapping[str, str], change: Mapping[str, Decimal]) -> dict[str, Any]:
    names = {f"#c{i}": name for i, name in enumerate(change)}
    values = {f":c{i}": amount for i, amount in enumerate(change.values())}
    return {
        "Update": {
            "Key": dict(key),
            "UpdateExpression": "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(change))),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def _summed(items: list[dict[str, Any]]) -> dict[str, Decimal]:
    total: dict[str, Decimal] = {}
    for item in items:
        for name, value in item.items():
            if name in ("pk", "sk") or not isinstance(value, int | float | Decimal):
                continue
            total[name] = total.get(name, Decimal(0)) + Decimal(str(value))
    return total

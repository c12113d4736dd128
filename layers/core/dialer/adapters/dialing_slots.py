"""Concurrency slots: a tenant's ``SLOTS`` counter, kept under its channel limit, and one lease per
call holding a slot: on the outbound attempt's own item (``slot_until``), or on a ``SLOT#{holder}``
item for an inbound call (``dialing_base.slot_lease_key``). The reaper gives back leases whose
owner died: attempts' through the in-flight index, ``SLOT#`` items by listing them.
"""

from __future__ import annotations

from typing import Any

from dialer import keys
from dialer.adapters.dialing_base import (
    DialingBase,
    slot_counter_op,
    slot_lease_key,
    slot_release_ops,
    to_decimal,
)
from dialer.domain.dialing import DUE_SHARDS, UNSETTLED_ATTEMPT_STATES, parse_attempt_id

#: An attempt takes a new lease only while it is unsettled: a settled attempt holding a slot would
#: be out of the in-flight index, where the reaper looks.
_OPEN = sorted(s.value for s in UNSETTLED_ATTEMPT_STATES)


class SlotsMixin(DialingBase):
    """Concurrency slots and their leases."""

    def slots_in_use(self, tenant_id: str) -> int:
        """Slots the tenant holds now."""
        item = self.items.get(keys.dialing_state_key(tenant_id, "SLOTS")) or {}
        return int(item.get("in_use") or 0)

    def acquire_slot(self, tenant_id: str, holder: str, limit: int | None, until: float) -> bool:
        """Hold a slot for ``holder`` (an attempt id, or ``inbound:{call_control_id}``) until
        ``until`` (epoch seconds): extends a lease it already holds, else takes a new one while
        the tenant is under ``limit`` (None: always, for an inbound call, which is already there).
        False: no slot (or the attempt is no longer open)."""
        key = slot_lease_key(tenant_id, holder)
        on_attempt = parse_attempt_id(holder) is not None
        field = "slot_until" if on_attempt else "lease_until"
        if self.ops.update(
            key, set_fields={field: to_decimal(until)}, condition=f"attribute_exists({field})"
        ):
            return True
        take: dict[str, Any]
        if on_attempt:
            names = {"#state": "state"}
            values = {f":o{i}": state for i, state in enumerate(_OPEN)} | {":until": to_decimal(until)}
            take = {
                "Update": {
                    "Key": key,
                    "UpdateExpression": "SET slot_until = :until",
                    "ConditionExpression": "attribute_not_exists(slot_until) AND #state IN ("
                    + ", ".join(f":o{i}" for i in range(len(_OPEN)))
                    + ")",
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": values,
                }
            }
        else:
            take = {
                "Put": {
                    "Item": {**key, "attempt_id": holder, "lease_until": to_decimal(until), "entity": "slot"},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        return self._transact([take, slot_counter_op(tenant_id, +1, limit)]) is None

    def release_slot(self, tenant_id: str, holder: str) -> bool:
        """Give ``holder``'s slot back (idempotent: False when it held none)."""
        return self._transact(slot_release_ops(tenant_id, holder)) is None

    def release_lease_item(self, tenant_id: str, holder: str) -> bool:
        """Give back the slot of a ``SLOT#{holder}`` item (what :meth:`slot_leases` lists)."""
        return self._transact(slot_release_ops(tenant_id, holder, lease_item=True)) is None

    def slot_leases(self, tenant_id: str) -> list[tuple[str, float]]:
        """(holder, lease until) of every ``SLOT#`` item: inbound calls, and attempts whose
        lease a contended settlement moved out."""
        pk = keys.dialing_state_key(tenant_id, "")["pk"]
        out: list[tuple[str, float]] = []
        after: str | None = None
        while True:
            page, after = self.ops.query("pk", pk, prefix="SLOT#", after=after, limit=500)
            out.extend((str(i["attempt_id"]), float(i["lease_until"])) for i in page)
            if after is None:
                return out

    def held_slots(self, tenant_id: str) -> list[tuple[str, float]]:
        """(holder, lease until) of every slot the tenant holds: its ``SLOT#`` items and the
        attempts of its in-flight leads that hold a lease. What ``SLOTS`` should equal in
        count; for checks and reports (a query of each in-flight shard and a read of each
        attempt)."""
        held = self.slot_leases(tenant_id)
        attempt_keys = []
        for shard in range(DUE_SHARDS):
            pk = keys.inflight_index(tenant_id, shard)["due_pk"]
            after: str | None = None
            while True:
                page, after = self.ops.query(
                    "due_pk", pk, index="due", sk_name="due_sk", after=after, limit=500
                )
                attempt_keys += [
                    keys.attempt_key(tenant_id, str(i["lead_id"]), int(i["current_attempt"]))
                    for i in page
                    if i.get("current_attempt") is not None
                ]
                if after is None:
                    break
        for item in self.ops.batch_get(attempt_keys):
            if item.get("slot_until") is not None:
                held.append((str(item["attempt_id"]), float(item["slot_until"])))
        return held

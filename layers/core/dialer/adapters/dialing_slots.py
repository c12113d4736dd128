"""Concurrency slots: a tenant's ``SLOTS`` counter, kept under its channel limit, and one
``SLOT#{attempt}`` lease per call holding a slot (the reaper expires leases whose owner died).
"""

from __future__ import annotations

from dialer import keys
from dialer.adapters.dialing_base import DialingBase, slot_counter_op, slot_release_ops, to_decimal


class SlotsMixin(DialingBase):
    """Concurrency slots and their leases."""

    def slots_in_use(self, tenant_id: str) -> int:
        """Slots the tenant holds now."""
        item = self.items.get(keys.dialing_state_key(tenant_id, "SLOTS")) or {}
        return int(item.get("in_use") or 0)

    def acquire_slot(self, tenant_id: str, attempt: str, limit: int | None, until: float) -> bool:
        """Hold a slot for ``attempt`` until ``until`` (epoch seconds): extends a lease the attempt
        already holds, else takes a new one while the tenant is under ``limit`` (None: always, for
        an inbound call, which is already there). False: no slot."""
        lease = keys.dialing_state_key(tenant_id, f"SLOT#{attempt}")
        if self.ops.update(
            lease, set_fields={"lease_until": to_decimal(until)}, condition="attribute_exists(pk)"
        ):
            return True
        ops = [
            {
                "Put": {
                    "Item": {
                        **lease,
                        "attempt_id": attempt,
                        "lease_until": to_decimal(until),
                        "entity": "slot",
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            slot_counter_op(tenant_id, +1, limit),
        ]
        return self._transact(ops) is None

    def release_slot(self, tenant_id: str, attempt: str) -> bool:
        """Give an attempt's slot back (idempotent: False when it held none)."""
        return self._transact(slot_release_ops(tenant_id, attempt)) is None

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

"""Caller-ID health in the state table: rolling counters per number, the tenant's rule, rests.

The counters are two buckets on one item per number (``T#…#CIDHEALTH`` / ``N#{id}``). A settled
call is ADDed to ``cur_*`` by an item of its settlement's transaction (:meth:`count_op`), so it
counts exactly once, with no request of its own; only when ``cur`` is full (``window_calls``)
does a conditional update move it to ``prev`` (:meth:`roll`, rare). The window is ``prev + cur``:
between ``window_calls`` and twice that many recent calls once the number has been judged once.
A roll that comes late leaves ``cur`` a little over full; the roll moves all of it.

The Number Reputation sweep's last read (``reputation_checked_at``) sits on the settings item:
one conditional update claims a due read, so reapers running at once read Telnyx once; putting
new settings replaces the item and so makes the next pass read at once.

A rest is written on the caller-ID record (which the dialer already reads, cached) in one
transaction with the reset of the number's counters: after the rest the number starts a fresh
window instead of being re-rested by the calls that rested it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dialer import keys
from dialer.adapters.dynamo import DynamoItems, storage_error
from dialer.adapters.management_table import CallerIdRecord, caller_id_record
from dialer.adapters.table_ops import TableOps, update_operation
from dialer.domain.caller_id_health import CallerIdHealthSettings, HealthWindow
from dialer.domain.dialing import utc_iso

_FIELDS = ("calls", "answered", "short")
_ZERO = {f"{b}_{f}": 0 for b in ("cur", "prev") for f in _FIELDS}
_REST_FIELDS = ("rested_until", "rest_reason", "rested_by", "rested_at")


def window_of(item: dict[str, Any]) -> HealthWindow:
    """The number's window (``prev + cur``) from its counters item."""
    return HealthWindow(*(int(item.get(f"prev_{f}") or 0) + int(item.get(f"cur_{f}") or 0) for f in _FIELDS))


@dataclass(frozen=True)
class NumberCounters:
    """A number's window and how many calls its current bucket holds (what triggers the roll)."""

    window: HealthWindow = field(default_factory=HealthWindow)
    cur_calls: int = 0

    def plus(self, counts: HealthWindow) -> NumberCounters:
        """The counters after ``counts`` were ADDed to ``cur``."""
        return NumberCounters(self.window + counts, self.cur_calls + counts.calls)


def counters_of(item: dict[str, Any]) -> NumberCounters:
    """A number's counters from its item."""
    return NumberCounters(window_of(item), int(item.get("cur_calls") or 0))


class CallerIdHealthTable:
    """Counters, settings and rests of a tenant's caller IDs."""

    def __init__(self, items: DynamoItems) -> None:
        self.items = items  # shared with the table object that made it (one lazy client)
        self.ops = TableOps(items)

    @classmethod
    def named(cls, table_name: str, *, client: Any = None) -> CallerIdHealthTable:
        """Over the state table ``table_name``."""
        return cls(DynamoItems(table_name, client=client))

    # --- counters -------------------------------------------------------------------------------
    def count_op(self, tenant_id: str, caller_id_id: str, counts: HealthWindow) -> dict[str, Any]:
        """The settlement transaction's item that counts a settled call (``counts``: its calls,
        answered, short) on its number."""
        return update_operation(
            keys.caller_id_health_key(tenant_id, caller_id_id),
            set_fields={"caller_id_id": caller_id_id},
            add={"cur_calls": counts.calls, "cur_answered": counts.answered, "cur_short": counts.short},
        )

    def number(self, tenant_id: str, caller_id_id: str) -> NumberCounters:
        """One number's counters as stored now (strongly consistent)."""
        return counters_of(self.items.get(keys.caller_id_health_key(tenant_id, caller_id_id)) or {})

    def roll(self, tenant_id: str, caller_id_id: str, window_calls: int) -> NumberCounters:
        """Move a full ``cur`` bucket (``window_calls`` or more) to ``prev``; the number's counters
        as they are after that (one conditional update: the old item comes back when nothing moved,
        so a roll asked for on an estimate costs no read)."""
        try:
            response = self.items.client.update_item(
                TableName=self.items.table_name,
                Key=self.items.to_ddb(keys.caller_id_health_key(tenant_id, caller_id_id)),
                UpdateExpression="SET " + ", ".join(f"prev_{f} = cur_{f}, cur_{f} = :zero" for f in _FIELDS),
                ConditionExpression="cur_calls >= :full",
                ExpressionAttributeValues=self.items.to_ddb({":full": window_calls, ":zero": 0}),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise storage_error(exc, "could not update the caller ID's health") from exc
            return counters_of(self.items.from_ddb(exc.response.get("Item") or {}))
        except BotoCoreError as exc:
            raise storage_error(exc, "could not update the caller ID's health") from exc
        return counters_of(self.items.from_ddb(response.get("Attributes") or {}))

    def windows(self, tenant_id: str) -> dict[str, HealthWindow]:
        """Every caller ID's window of the tenant (one Query of the health partition)."""
        return {caller_id: c.window for caller_id, c in self.counters(tenant_id).items()}

    def counters(self, tenant_id: str) -> dict[str, NumberCounters]:
        """Every caller ID's counters of the tenant (one Query of the health partition)."""
        pk = keys.caller_id_health_key(tenant_id, "")["pk"]
        out: dict[str, NumberCounters] = {}
        after: str | None = None
        while True:
            items, after = self.ops.query("pk", pk, prefix="N#", after=after, limit=1000)
            for item in items:
                out[str(item["sk"]).removeprefix("N#")] = counters_of(item)
            if after is None:
                return out

    # --- settings -------------------------------------------------------------------------------
    def settings(self, tenant_id: str) -> CallerIdHealthSettings:
        """The tenant's rule (the defaults until it set one)."""
        item = self.items.get(keys.caller_id_health_settings_key(tenant_id))
        if not item or not item.get("settings"):
            return CallerIdHealthSettings()
        return CallerIdHealthSettings.model_validate(json.loads(str(item["settings"])))

    def put_settings(self, tenant_id: str, settings: CallerIdHealthSettings, at: datetime) -> None:
        """Replace the tenant's rule (kept as JSON: its ratios stay floats)."""
        self.items.put(
            {
                **keys.caller_id_health_settings_key(tenant_id),
                "settings": settings.model_dump_json(),
                "updated_at": utc_iso(at),
            }
        )

    # --- Number Reputation ----------------------------------------------------------------------
    def claim_reputation_check(self, tenant_id: str, now: datetime, every: timedelta) -> bool:
        """Take the tenant's reputation read when its last one is ``every`` old (or there was
        none); False when it is not due or another process took it."""
        return bool(
            self.ops.update(
                keys.caller_id_health_settings_key(tenant_id),
                set_fields={"reputation_checked_at": utc_iso(now)},
                condition="attribute_exists(pk) AND (attribute_not_exists(reputation_checked_at) "
                "OR reputation_checked_at <= :due)",
                values={":due": utc_iso(now - every)},
            )
        )

    def release_reputation_check(self, tenant_id: str, claimed_at: datetime) -> None:
        """Give a failed read back (the next pass tries again), unless another process claimed since."""
        self.ops.update(
            keys.caller_id_health_settings_key(tenant_id),
            remove=("reputation_checked_at",),
            condition="reputation_checked_at = :mine",
            values={":mine": utc_iso(claimed_at)},
        )

    def caller_ids(self, tenant_id: str) -> list[CallerIdRecord]:
        """Every caller ID of the tenant with its rest (the gsi1 list the API pages through)."""
        return [caller_id_record(i) for i in self.items.query_all(keys.caller_ids_index(tenant_id)["gsi1pk"])]

    # --- rests ----------------------------------------------------------------------------------
    def rest(
        self,
        tenant_id: str,
        caller_id_id: str,
        *,
        until: datetime,
        reason: str,
        by: str,
        now: datetime,
        only_if_not_rested: bool,
    ) -> bool:
        """Rest the number until ``until`` with its reason and reset its counters, in one
        transaction. False when the caller ID is gone or (``only_if_not_rested``: the automatic
        rule, so two settlements that both see the bad window rest it once) already rested."""
        condition = "attribute_exists(pk)"
        values: dict[str, Any] = {}
        if only_if_not_rested:
            condition += " AND (attribute_not_exists(rested_until) OR rested_until <= :now)"
            values[":now"] = utc_iso(now)
        record = update_operation(
            keys.caller_id_key(tenant_id, caller_id_id),
            set_fields={
                "rested_until": utc_iso(until),
                "rest_reason": reason,
                "rested_by": by,
                "rested_at": utc_iso(now),
            },
            condition=condition,
            values=values or None,
        )
        counters = update_operation(
            keys.caller_id_health_key(tenant_id, caller_id_id),
            set_fields={"caller_id_id": caller_id_id, **_ZERO},
        )
        return self.ops.transact([record, counters])

    def restore(self, tenant_id: str, caller_id_id: str) -> bool:
        """End the number's rest now; False when the caller ID is gone."""
        return bool(
            self.ops.update(
                keys.caller_id_key(tenant_id, caller_id_id),
                remove=_REST_FIELDS,
                condition="attribute_exists(pk)",
            )
        )

"""DynamoDB adapter for call records and webhook receipts.

Exactly-once application: the receipt of an event and the call record it changes are written in
ONE transaction. The receipt put is conditional on the receipt not existing, and the call put
is conditional on the version we read (optimistic concurrency). So there is no moment at which
the receipt exists but the effect does not: a crash anywhere before the commit leaves neither,
and the SQS redelivery applies both. A duplicate fails the receipt's condition and changes
nothing; the receipt is never read first (its condition is the check).

An event costs two requests: the call read (the merge needs its facts) and the transaction. The
call as the transaction left it is handed back (:class:`Applied`), so what runs after the commit
(the lead's effects, totals) reads no call again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dialer import clock as engine_clock
from dialer import keys
from dialer.adapters.dynamo import DynamoItems, storage_error
from dialer.adapters.table_ops import TableOps
from dialer.adapters.totals_table import TotalsDue, totals_due
from dialer.domain.calls import CallFacts, Fact, FactKind, identity_of, merge_facts, summarize
from dialer.errors import ConcurrentUpdate

MAX_ATTEMPTS = 5


class ApplyResult(StrEnum):
    """What applying one event did."""

    APPLIED = "applied"  # the call record changed (or was created) and the receipt was written
    RECORDED = "recorded"  # no call effect in this slice; the receipt records that it arrived
    DUPLICATE = "duplicate"  # a receipt already existed: nothing changed


@dataclass(frozen=True, slots=True)
class EventReceipt:
    """What we keep about an event we have applied (for dedupe and audit; expires by TTL)."""

    tenant_id: str
    event_id: str
    event_type: str
    call_control_id: str | None
    occurred_at: str
    attempt: int | None


@dataclass(frozen=True, slots=True)
class Applied:
    """What applying one event did, and the call record as this delivery knows it.

    ``call`` is the stored item as the commit left it (APPLIED), as read after a duplicate
    (DUPLICATE: a redelivery repairs what the first delivery may not have finished), or None
    (RECORDED, or no such call). A write by another writer after the commit is not in it.
    """

    result: ApplyResult
    call: dict[str, Any] | None = None
    counted: dict[str, Decimal] | None = None  # what the commit added to the call's totals


@dataclass(frozen=True, slots=True)
class CallRecord:
    """A call as stored: its facts plus the summary derived from them."""

    tenant_id: str
    call_control_id: str
    facts: dict[FactKind, Fact]
    version: int
    item: dict[str, Any]


class CallsTable:
    """Call records and receipts in the single table."""

    def __init__(
        self,
        table_name: str,
        *,
        receipt_ttl_days: int = 7,
        client: Any = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.items = DynamoItems(table_name, client=client)
        self.ops = TableOps(self.items)
        self.table_name = table_name
        self.receipt_ttl = timedelta(days=receipt_ttl_days)
        self._clock = clock or engine_clock.now  # the call's times are the engine's (one clock)

    # --- reads -----------------------------------------------------------------------------
    def get_call(self, tenant_id: str, call_control_id: str) -> CallRecord | None:
        """Read a call record (strongly consistent), or None."""
        item = self.items.get(keys.call_key(tenant_id, call_control_id))
        if item is None:
            return None
        facts = {FactKind(k): Fact.from_item(k, v) for k, v in (item.get("facts") or {}).items()}
        return CallRecord(tenant_id, call_control_id, facts, int(item.get("version") or 0), item)

    def get_call_item(self, tenant_id: str, call_control_id: str) -> dict[str, Any] | None:
        """The raw stored call item (for APIs and tests)."""
        return self.items.get(keys.call_key(tenant_id, call_control_id))

    def receipt_exists(self, tenant_id: str, event_id: str) -> bool:
        """True if the event was already applied."""
        return self.items.get(keys.receipt_key(tenant_id, event_id)) is not None

    # --- writes ----------------------------------------------------------------------------
    def apply_event(self, receipt: EventReceipt, facts: list[Fact]) -> Applied:
        """Apply an event's facts to its call and write its receipt, atomically and at most once.

        Events without facts (or without a call) only get a receipt. Losing an optimistic-
        concurrency race re-reads and re-merges; after ``MAX_ATTEMPTS`` losses the message is
        left for SQS to redeliver (``ConcurrentUpdate``).
        """
        receipt_item = self._receipt_item(receipt)
        if not facts or not receipt.call_control_id:
            recorded = self.items.put(receipt_item, condition="attribute_not_exists(pk)")
            return Applied(ApplyResult.RECORDED if recorded else ApplyResult.DUPLICATE)

        tenant_id, call_control_id = receipt.tenant_id, receipt.call_control_id
        receipt_put = {
            "TableName": self.table_name,
            "Item": self.items.to_ddb(receipt_item),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        for _ in range(MAX_ATTEMPTS):
            current = self.get_call(tenant_id, call_control_id)
            call_update, after, due = self._call_update(tenant_id, call_control_id, current, facts)
            counters = [self.ops.wire(op) for op in due.counter_ops(tenant_id, after)] if due else []
            try:
                self.items.client.transact_write_items(
                    TransactItems=[{"Put": receipt_put}, {"Update": call_update}, *counters]
                )
            except ClientError as exc:
                if _error_code(exc) != "TransactionCanceledException":
                    raise storage_error(exc, "could not apply the event") from exc
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                if reasons and reasons[0] == "ConditionalCheckFailed":
                    # Applied before (this is a redelivery), or a concurrent delivery won.
                    return Applied(ApplyResult.DUPLICATE, self.get_call_item(tenant_id, call_control_id))
                if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                    continue  # another event of this call won the race: re-read and re-merge
                raise storage_error(exc, "could not apply the event") from exc
            except BotoCoreError as exc:
                raise storage_error(exc, "could not apply the event") from exc
            return Applied(ApplyResult.APPLIED, after, due.change if due else None)
        raise ConcurrentUpdate(f"call record kept changing while applying event {receipt.event_id}")

    def set_transcript(
        self,
        tenant_id: str,
        call_control_id: str,
        *,
        status: str,
        fetched_at: str,
        key: str | None = None,
        messages: int | None = None,
    ) -> bool:
        """Record what became of the call's transcript; False if the call record does not exist.

        A plain UpdateItem of attributes only this writer sets: it neither reads nor bumps
        ``version``, so it never races the version-checked fact merge (which SETs only its own
        attributes and keeps these).
        """
        fields: dict[str, Any] = {"transcript_status": status, "transcript_fetched_at": fetched_at}
        if key is not None:
            fields["transcript_key"] = key
        if messages is not None:
            fields["transcript_messages"] = messages
        return self.items.update(keys.call_key(tenant_id, call_control_id), fields)

    def _receipt_item(self, receipt: EventReceipt) -> dict[str, Any]:
        now = self._clock()
        return {
            **keys.receipt_key(receipt.tenant_id, receipt.event_id),
            "entity": "receipt",
            "tenant_id": receipt.tenant_id,
            "event_id": receipt.event_id,
            "event_type": receipt.event_type,
            "call_control_id": receipt.call_control_id,
            "occurred_at": receipt.occurred_at or None,
            "attempt": receipt.attempt,
            "applied_at": _iso(now),
            "expires_at": int((now + self.receipt_ttl).timestamp()),
        }

    def _call_update(
        self, tenant_id: str, call_control_id: str, current: CallRecord | None, facts: list[Fact]
    ) -> tuple[dict[str, Any], dict[str, Any], TotalsDue | None]:
        """An UpdateItem that SETs only the attributes this module owns, the item it leaves, and
        what it adds to the campaign's totals.

        Other writers (the dialer's attempt link, later conversation and cost data) keep their
        attributes; the version condition makes the read-merge-write safe against a concurrent
        event of the same call. A linked call's totals move in the same write (the counters'
        ADDs join the transaction), conditional on the ``totals_rev`` read, as every totals
        writer's are (:class:`~dialer.adapters.totals_table.TotalsDue`).
        """
        base: CallFacts = current.facts if current else {}
        merged = merge_facts(base, facts)
        summary = summarize(merged)
        now = _iso(self._clock())
        fields: dict[str, Any] = {
            "entity": "call",
            "tenant_id": tenant_id,
            "call_control_id": call_control_id,
            **identity_of(merged),
            "state": summary.state.value,
            "outcome": summary.outcome.value if summary.outcome else None,
            "answered_at": summary.answered_at,
            "ended_at": summary.ended_at,
            "duration_s": summary.duration_s,
            "amd": summary.amd.value if summary.amd else None,
            "hangup_cause": summary.hangup_cause,
            "conversation": summary.conversation or None,
            "insights": summary.insights or None,
            "cost": summary.cost,
            "cost_currency": summary.cost_currency,
            "billed_s": summary.billed_s,
            "facts": {kind.value: fact.to_item() for kind, fact in merged.items()},
            "version": (current.version if current else 0) + 1,
            "updated_at": now,
        }
        fields = {k: v for k, v in fields.items() if v is not None}
        after = {**(current.item if current else {}), **fields}
        after.setdefault("created_at", now)
        due = totals_due(self.items.from_ddb(self.items.to_ddb(after)))
        if due is not None:
            totals, _, _ = due.call_update()
            fields.update(totals)
            after.update(totals)
        names = {f"#a{i}": name for i, name in enumerate(fields)}
        values = {f":a{i}": value for i, value in enumerate(fields.values())}
        sets = [f"#a{i} = :a{i}" for i in range(len(fields))]
        sets.append("#created = if_not_exists(#created, :now)")
        names["#created"] = "created_at"
        values[":now"] = now
        names["#version"] = "version"
        if current is None or current.version == 0:  # no record yet, or one another writer created
            condition = "attribute_not_exists(#version)"
        else:
            condition = "#version = :expected"
            values[":expected"] = current.version
        if due is not None:
            names["#trev"] = "totals_rev"
            values[":trev"] = due.rev
            condition += " AND (#trev = :trev" + (" OR attribute_not_exists(#trev))" if due.rev == 0 else ")")
        update = {
            "TableName": self.table_name,
            "Key": self.items.to_ddb(keys.call_key(tenant_id, call_control_id)),
            "UpdateExpression": "SET " + ", ".join(sets),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": self.items.to_ddb(values),
        }
        # Through DynamoDB's types and back, so it reads exactly as a GetItem would return it.
        after = self.items.from_ddb(self.items.to_ddb({**keys.call_key(tenant_id, call_control_id), **after}))
        return update, after, due


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

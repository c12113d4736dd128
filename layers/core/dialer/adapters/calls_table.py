"""DynamoDB adapter for call records and webhook receipts.

Exactly-once application, one write per event: an event that changes a call is applied by ONE
conditional write of the call item that also adds the event to the call's own ``receipts``
(:func:`receipt_tag`). Its condition is "this event is not in the receipts" beside the call's
``version`` as this process last knew it (:class:`KnownCalls`; no read first). So there is no
moment at which the receipt exists but the effect does not: a crash before the commit leaves
neither, and the SQS redelivery applies both. A refused write hands back the item as stored
(``ReturnValuesOnConditionCheckFailure=ALL_OLD``): the event in its receipts is a duplicate,
answered from that item; otherwise the facts are merged again onto it and written again.

A call with nothing to add to its counters is one ``UpdateItem`` (``ReturnValues=ALL_NEW``: the
committed item is handed on, :class:`Applied`); a linked call whose totals move is one
transaction of the call's update and the counters' ``ADD``\\ s. Events without facts or a call
get a receipt item of their own (its ``attribute_not_exists`` condition is the check).
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
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
from dialer.adapters.totals_table import CALL_WRITE_ATTEMPTS, TotalsDue, totals_due
from dialer.domain.analytics import contribution
from dialer.domain.calls import CallFacts, Fact, FactKind, identity_of, merge_facts, summarize
from dialer.errors import ConcurrentUpdate

RECEIPTS = "receipts"  # the call item's string set of applied events (receipt_tag of each)
KNOWN_CALLS = 1024  # calls a process remembers (~11 KiB of objects for a completed call: ~11 MB)


class ApplyResult(StrEnum):
    """What applying one event did."""

    APPLIED = "applied"  # the call record changed (or was created) and the event is in its receipts
    RECORDED = "recorded"  # no call effect in this slice; a receipt item records that it arrived
    DUPLICATE = "duplicate"  # applied (or recorded) before: nothing changed


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

    ``call`` is the stored item as the commit left it (APPLIED: returned by the write, or for a
    transaction the item the write was conditional on plus what it set), as the refused write
    found it (DUPLICATE: a redelivery repairs what the first delivery may not have finished), or
    None (RECORDED, or no such call). A write by another writer after the commit is not in it.
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


def receipt_tag(event_id: str) -> str:
    """What a call's ``receipts`` keep of an event: 72 bits of the SHA-256 of its id, as 12
    base64url characters (a Telnyx event id is a 36-character UUID).

    Dedupe compares the tags of one call's own events only (a few dozen at most), so two
    different events of a call share a tag with a probability of about n²/2^73 (≈ 4e-20 for 20
    events): far below any other failure, and the set stays ~13 bytes per event."""
    digest = hashlib.sha256(event_id.encode("utf-8")).digest()[:9]
    return base64.urlsafe_b64encode(digest).decode("ascii")


class KnownCalls:
    """What this process last knew of each call: the item as its last write left it or as a
    refused write returned it, least recently used first out. A guess, never trusted: every
    write is conditional on what the guess shows (see :meth:`CallsTable.apply_event`)."""

    def __init__(self, size: int = KNOWN_CALLS) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, tenant_id: str, call_control_id: str) -> dict[str, Any] | None:
        """The call as last known, or None ("no version yet")."""
        with self._lock:
            item = self._items.get((tenant_id, call_control_id))
            if item is not None:
                self._items.move_to_end((tenant_id, call_control_id))
            return item

    def put(self, tenant_id: str, call_control_id: str, item: dict[str, Any] | None) -> None:
        """Remember the call (None forgets it)."""
        with self._lock:
            if item is None:
                self._items.pop((tenant_id, call_control_id), None)
                return
            self._items[(tenant_id, call_control_id)] = item
            self._items.move_to_end((tenant_id, call_control_id))
            while len(self._items) > self.size:
                self._items.popitem(last=False)


@dataclass(frozen=True, slots=True)
class _CallWrite:
    """One try at applying an event: the call's update, the counters that join it, the item it
    leaves and what it counts."""

    update: dict[str, Any]
    counters: list[dict[str, Any]]
    after: dict[str, Any]
    due: TotalsDue | None


class _Refused(Exception):
    """The call's condition failed; ``item`` is the call as stored (None: no such item)."""

    def __init__(self, item: dict[str, Any] | None) -> None:
        super().__init__("call condition failed")
        self.item = item


class CallsTable:
    """Call records and receipts in the single table."""

    def __init__(
        self,
        table_name: str,
        *,
        receipt_ttl_days: int = 7,
        client: Any = None,
        clock: Callable[[], datetime] | None = None,
        known: KnownCalls | None = None,
    ) -> None:
        self.items = DynamoItems(table_name, client=client)
        self.ops = TableOps(self.items)
        self.table_name = table_name
        self.receipt_ttl = timedelta(days=receipt_ttl_days)
        self._clock = clock or engine_clock.now  # the call's times are the engine's (one clock)
        self.known = known or KnownCalls()

    # --- reads -----------------------------------------------------------------------------
    def get_call(self, tenant_id: str, call_control_id: str) -> CallRecord | None:
        """Read a call record (strongly consistent), or None."""
        item = self.items.get(keys.call_key(tenant_id, call_control_id))
        return _record(tenant_id, call_control_id, item) if item is not None else None

    def get_call_item(self, tenant_id: str, call_control_id: str) -> dict[str, Any] | None:
        """The raw stored call item (for APIs and tests)."""
        return self.items.get(keys.call_key(tenant_id, call_control_id))

    def receipt_exists(self, tenant_id: str, event_id: str) -> bool:
        """True if the event has a receipt item (an event without a call effect, or one applied
        by a release before receipts moved onto the call)."""
        return self.items.get(keys.receipt_key(tenant_id, event_id)) is not None

    # --- writes ----------------------------------------------------------------------------
    def apply_event(self, receipt: EventReceipt, facts: list[Fact]) -> Applied:
        """Apply an event's facts to its call and record it there, atomically and at most once.

        No read first: the write is conditional on the call as this process last knew it (its
        ``version``; its ``totals_rev`` and link when totals are involved) and on the event not
        being in its receipts. A refusal returns the stored item: the event in its receipts is a
        DUPLICATE (that item is the call handed on); otherwise a concurrent writer moved the
        call, and the facts are merged again onto the returned item. After ``CALL_WRITE_ATTEMPTS``
        refusals the message is left for SQS to redeliver (``ConcurrentUpdate``). Events without
        facts (or without a call) only get a receipt item.
        """
        if not facts or not receipt.call_control_id:
            recorded = self.items.put(self._receipt_item(receipt), condition="attribute_not_exists(pk)")
            return Applied(ApplyResult.RECORDED if recorded else ApplyResult.DUPLICATE)

        tenant_id, call_control_id = receipt.tenant_id, receipt.call_control_id
        tag = receipt_tag(receipt.event_id)
        guess = self.known.get(tenant_id, call_control_id)
        for _ in range(CALL_WRITE_ATTEMPTS):
            if _predates_receipts(guess) and self.receipt_exists(tenant_id, receipt.event_id):
                # A call written by the release before this one keeps its events' receipts as
                # items: an event applied then is a duplicate now (calls live at the deploy only).
                self.known.put(tenant_id, call_control_id, guess)
                return Applied(ApplyResult.DUPLICATE, guess)
            write = self._call_write(tenant_id, call_control_id, guess, facts, tag)
            try:
                stored = self._commit(write)
            except _Refused as refused:
                guess = refused.item
                if guess is not None and tag in (guess.get(RECEIPTS) or ()):
                    # Applied before (a redelivery), or a concurrent delivery of it won.
                    self.known.put(tenant_id, call_control_id, guess)
                    return Applied(ApplyResult.DUPLICATE, guess)
                continue  # another writer moved the call: merge again onto it as stored
            self.known.put(tenant_id, call_control_id, stored)
            return Applied(ApplyResult.APPLIED, stored, write.due.change if write.due else None)
        self.known.put(tenant_id, call_control_id, None)
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

    def _commit(self, write: _CallWrite) -> dict[str, Any]:
        """Send the write; returns the call as it left it, raises :class:`_Refused`."""
        try:
            if not write.counters:
                response = self.items.client.update_item(
                    **write.update, ReturnValues="ALL_NEW", ReturnValuesOnConditionCheckFailure="ALL_OLD"
                )
                return self.items.from_ddb(response["Attributes"])
            self.items.client.transact_write_items(
                TransactItems=[
                    {"Update": {**write.update, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
                    *write.counters,
                ]
            )
            return write.after
        except ClientError as exc:
            code = _error_code(exc)
            if code == "ConditionalCheckFailedException":
                raise _Refused(self._item_of(exc.response.get("Item"))) from exc
            # The call's update is the transaction's first item (the counters have no condition).
            reasons = exc.response.get("CancellationReasons") or [{}]
            if code == "TransactionCanceledException" and reasons[0].get("Code") == "ConditionalCheckFailed":
                raise _Refused(self._item_of(reasons[0].get("Item"))) from exc
            raise storage_error(exc, "could not apply the event") from exc
        except BotoCoreError as exc:
            raise storage_error(exc, "could not apply the event") from exc

    def _item_of(self, raw: Mapping[str, Any] | None) -> dict[str, Any] | None:
        return self.items.from_ddb(raw) if raw else None

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

    def _call_write(
        self,
        tenant_id: str,
        call_control_id: str,
        guess: dict[str, Any] | None,
        facts: list[Fact],
        tag: str,
    ) -> _CallWrite:
        """The event's write against ``guess`` (the call as last known; None: no version yet):
        an update that SETs only the attributes this module owns and adds ``tag`` to the
        receipts, the counters' ADDs when the call's totals move, the item it leaves and what it
        counts.

        Its condition guards everything the merge and what is handed on read from the guess:
        the facts (``version``: only this module writes them and bumps it), the receipts (not
        this event), the totals (``totals_rev`` as every totals writer's, when the write moves
        them), the dialer's link (which bumps no version: a guess without it whose facts would
        count is written only while the call is really unlinked, so a linked call's totals move
        in this commit or, unlinked, in the link's own sync), and, for a transaction (which
        returns no item), the insight marker the after-call effects act on.
        """
        current = _record(tenant_id, call_control_id, guess) if guess is not None else None
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
        after = {**(guess or {}), **fields}
        after.setdefault("created_at", now)
        after[RECEIPTS] = {*(after.get(RECEIPTS) or ()), tag}
        after = self.items.from_ddb(self.items.to_ddb(after))  # as a read would return it
        due = totals_due(after)
        if due is not None:
            totals, _, _ = due.call_update()
            fields.update(totals)
            after.update(self.items.from_ddb(self.items.to_ddb(totals)))
        names = {f"#a{i}": name for i, name in enumerate(fields)}
        values: dict[str, Any] = {f":a{i}": value for i, value in enumerate(fields.values())}
        sets = [f"#a{i} = :a{i}" for i in range(len(fields))]
        sets.append("#created = if_not_exists(#created, :now)")
        names.update({"#created": "created_at", "#version": "version", "#rc": RECEIPTS})
        values.update({":now": now, ":tags": {tag}, ":tag": tag})
        if current is None or current.version == 0:  # no record yet, or one another writer created
            conditions = ["attribute_not_exists(#version)"]
        else:
            conditions = ["#version = :expected"]
            values[":expected"] = current.version
        conditions.append("NOT contains(#rc, :tag)")
        if due is not None:
            names["#trev"] = "totals_rev"
            values[":trev"] = due.rev
            conditions.append(
                "(#trev = :trev" + (" OR attribute_not_exists(#trev))" if due.rev == 0 else ")")
            )
            conditions.append(
                _as_guessed(names, values, "#ia", "insights_applied", after.get("insights_applied"))
            )
        elif not after.get("campaign_id") and contribution(after):
            names["#cmp"] = "campaign_id"
            conditions.append("attribute_not_exists(#cmp)")
        update = {
            "TableName": self.table_name,
            "Key": self.items.to_ddb(keys.call_key(tenant_id, call_control_id)),
            "UpdateExpression": "SET " + ", ".join(sets) + " ADD #rc :tags",
            "ConditionExpression": " AND ".join(conditions),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": self.items.to_ddb(values),
        }
        counters = [self.ops.wire(op) for op in due.counter_ops(tenant_id, after)] if due else []
        after.update(keys.call_key(tenant_id, call_control_id))
        return _CallWrite(update, counters, after, due)


def _record(tenant_id: str, call_control_id: str, item: Mapping[str, Any]) -> CallRecord:
    facts = {FactKind(k): Fact.from_item(k, v) for k, v in (item.get("facts") or {}).items()}
    return CallRecord(tenant_id, call_control_id, facts, int(item.get("version") or 0), dict(item))


def _predates_receipts(item: Mapping[str, Any] | None) -> bool:
    """A call item an event was applied to by the release that kept receipts as items."""
    return item is not None and int(item.get("version") or 0) > 0 and RECEIPTS not in item


def _as_guessed(names: dict[str, str], values: dict[str, Any], name: str, attribute: str, value: Any) -> str:
    """A condition that ``attribute`` is as the guess shows it (absent or equal)."""
    names[name] = attribute
    if value is None:
        return f"attribute_not_exists({name})"
    values[f":{name[1:]}"] = value
    return f"{name} = :{name[1:]}"


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

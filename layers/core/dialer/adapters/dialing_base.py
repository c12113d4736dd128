"""What the dialing table's modules share: the records (limits, claims, attempts, lead changes),
the table plumbing (queries, transactions with their conflict retries) and the operations several
concepts write (the slot counter, the campaign's counters).
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dialer import keys
from dialer.adapters.dynamo import DynamoItems, storage_error
from dialer.adapters.table_ops import TableOps
from dialer.domain.dialing import AttemptState, LeadStatus, attempt_id, parse_attempt_id

_CONFLICT_RETRIES = 6


@dataclass(frozen=True, slots=True)
class TenantLimits:
    """A tenant's Telnyx limits and dial connection (defaults from settings)."""

    channel_limit: int
    dials_per_second: int
    dials_per_5s: int
    connection_id: str | None = None
    # Channels outbound dials may never take: kept for inbound calls (issue 23).
    inbound_reserve: int = 0

    @property
    def outbound_limit(self) -> int:
        """Slots outbound dials may hold: the channels less the inbound reserve. Inbound calls
        hold slots too, so they count against it while they last."""
        return max(0, self.channel_limit - self.inbound_reserve)


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
    # Epoch seconds until which the attempt holds a concurrency slot (None: it holds none).
    slot_until: float | None = None

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
    # A settlement decides on the lead's ``callback_at`` as it read it (a callback asked for in
    # the call wins): with ``checks_callback`` the lead's update is conditional on that value, so
    # a callback booked between the read and the write is never overwritten by a decision made
    # without it (the settlement reads again and decides again).
    checks_callback: bool = False
    callback_seen: str | None = None


class DialingBase:
    """The state table and its plumbing; the concept mixins build on it."""

    def __init__(self, table_name: str, *, client: Any = None) -> None:
        self.items = DynamoItems(table_name, client=client)
        self.ops = TableOps(self.items)
        self.table_name = table_name
        self._tat_seen: dict[str, float] = {}  # per tenant: the rate schedule after our last token

    @property
    def client(self) -> Any:
        """The boto3 client."""
        return self.items.client

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
                if error_code(exc) != "TransactionCanceledException":
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
        slot_until=float(item["slot_until"]) if item.get("slot_until") is not None else None,
    )


def slot_counter_op(tenant_id: str, amount: int, limit: int | None) -> dict[str, Any]:
    """The tenant's ``SLOTS`` counter moved by ``amount``, only while it stays within ``limit``."""
    body: dict[str, Any] = {
        "Key": keys.dialing_state_key(tenant_id, "SLOTS"),
        "UpdateExpression": "ADD in_use :d",
        "ExpressionAttributeValues": {":d": amount},
    }
    if limit is not None:
        body["ConditionExpression"] = "attribute_not_exists(in_use) OR in_use <= :room"
        body["ExpressionAttributeValues"][":room"] = limit - amount
    return {"Update": body}


def slot_lease_key(tenant_id: str, holder: str) -> dict[str, str]:
    """Where a slot's lease lives: an outbound attempt holds it on its own item (``slot_until``,
    written by the claim with the attempt: no item of its own to put, check and delete on the
    tenant's busiest partition); anything else (an inbound call, ``inbound:{call_control_id}``)
    on a ``SLOT#{holder}`` item of the tenant's dialing state (``lease_until``)."""
    parsed = parse_attempt_id(holder)
    if parsed is not None:
        return keys.attempt_key(tenant_id, *parsed)
    return keys.dialing_state_key(tenant_id, f"SLOT#{holder}")


def slot_release_ops(tenant_id: str, holder: str, *, lease_item: bool = False) -> list[dict[str, Any]]:
    """A slot given back: its lease removed, only while it exists, and the ``SLOTS`` counter
    lowered with it. The two always go together in one transaction, so the counter is never
    lowered for a lease that was not removed (a repeated release changes nothing).

    ``lease_item``: the lease is a ``SLOT#{holder}`` item even for an attempt (one the reaper
    found there: a settlement that moved its lease out, or a lease taken before leases moved
    onto attempts)."""
    if lease_item or parse_attempt_id(holder) is None:
        release: dict[str, Any] = {
            "Delete": {
                "Key": keys.dialing_state_key(tenant_id, f"SLOT#{holder}"),
                "ConditionExpression": "attribute_exists(pk)",
            }
        }
    else:
        release = {
            "Update": {
                "Key": slot_lease_key(tenant_id, holder),
                "UpdateExpression": "REMOVE slot_until",
                "ConditionExpression": "attribute_exists(slot_until)",
            }
        }
    return [release, slot_counter_op(tenant_id, -1, None)]


def stats_op(tenant_id: str, campaign_id: str, shard: int, change: Mapping[str, int]) -> dict[str, Any]:
    """One ``STATS#{shard}`` item of the campaign moved by ``change`` (a transaction operation)."""
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


def inflight_values(values: Mapping[str, str], prefix: str) -> dict[str, str]:
    """The in-flight index entry as the claim's ``:ipk``/``:isk`` expression values."""
    return {":ipk": values["due_pk"], ":isk": values["due_sk"]} if prefix == ":i" else {}


def to_decimal(value: float) -> Any:
    """A float as the Decimal boto3 stores (rounded to microseconds)."""
    from decimal import Decimal

    return Decimal(str(round(value, 6)))


def error_code(exc: ClientError) -> str:
    """The DynamoDB error code of a ClientError."""
    return str(exc.response.get("Error", {}).get("Code", ""))

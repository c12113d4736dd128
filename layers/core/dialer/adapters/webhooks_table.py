"""Event webhooks out in the state table: endpoints, the outbox and deliveries (issue 24).

**The outbox.** An event is an item written *in the same transaction* as the state change it
reports (:func:`outbox_put` returns that transaction's extra ``Put``), so a state change without
its event, or an event without its state change, cannot exist. The event carries a sparse gsi2
marker (``WHOUTBOX#shard``) until the deliverer has fanned it out into one delivery per
subscribed endpoint; each delivery carries its own marker (``WHDUE#shard``, sorted by due time)
until it is delivered or given up. A deliverer that dies anywhere leaves a marker behind, so the
next run picks the work up again: at least once, under the event's stable id.

**The listing.** An event's id carries its time (:func:`~dialer.domain.event_webhooks.new_event_id`),
so its key is the tenant's day partition (one of a few shards) sorted by ``created_at#id``:
replay by id derives the key, replay since an instant reads the days in order, and no index
entry is written per event (issue 21). Events of the previous release (uuid4 ids, one partition
each, listed in gsi1 ``T#…#WHEVTS``) are read beside them until their 30-day TTL has removed
them all: :func:`_event_key` and :meth:`WebhooksTable.events_since`.
"""

from __future__ import annotations

import heapq
import json
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import chain, islice
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dialer import keys
from dialer.adapters.dynamo import DynamoItems, storage_error
from dialer.adapters.table_ops import TableOps
from dialer.domain.dialing import utc_iso
from dialer.domain.event_webhooks import EventType, event_created_at, new_event_id

#: Outbox events are kept this long for replay (then DynamoDB's TTL removes them).
EVENT_RETENTION = timedelta(days=30)
#: Attempts kept on a delivery record (the latest ones).
KEPT_ATTEMPTS = 20


def shard_of(text: str) -> int:
    """A stable shard for the global work lists."""
    return zlib.crc32(text.encode()) % keys.WEBHOOK_SHARDS


def outbox_put(
    tenant_id: str,
    event_type: EventType,
    data: Mapping[str, Any],
    *,
    at: datetime,
    lead_id: str | None = None,
) -> dict[str, Any]:
    """The ``Put`` a state change's transaction appends to record ``event_type`` (plain values,
    as :meth:`TableOps.transact` and the dialing tables' transactions take them). Its id (the
    ``webhook-id`` of every delivery) carries ``at`` to the millisecond, and so does
    ``created_at``: the key is derived from the id alone."""
    event_id, created_at = new_event_id(at)
    item = {
        **keys.webhook_event_key(tenant_id, created_at, event_id),
        **keys.webhook_outbox_index(shard_of(event_id), f"{created_at}#{tenant_id}#{event_id}"),
        "entity": "webhook_event",
        "tenant_id": tenant_id,
        "event_id": event_id,
        "type": event_type.value,
        "created_at": created_at,
        "data_json": json.dumps(dict(data), sort_keys=True, separators=(",", ":"), default=str),
        "lead_id": lead_id,
        "expires_at": int((at + EVENT_RETENTION).timestamp()),
    }
    return {"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}


@dataclass(frozen=True)
class EndpointRecord:
    """A stored webhook endpoint (``secrets``: newest first, each ``{secret, expires_at}``)."""

    tenant_id: str
    endpoint_id: str
    url: str
    event_types: tuple[str, ...]
    description: str
    enabled: bool
    created_at: str
    updated_at: str
    secrets: tuple[dict[str, Any], ...]
    failing_since: str | None = None
    disabled_reason: str | None = None

    def live_secrets(self, now: datetime) -> list[str]:
        """The secrets that sign now: the current one and any rotated-out one still in overlap."""
        at = utc_iso(now)
        return [s["secret"] for s in self.secrets if not s.get("expires_at") or s["expires_at"] > at]

    def wants(self, event_type: str) -> bool:
        """Whether this endpoint subscribes to ``event_type`` (no types listed: every type)."""
        return not self.event_types or event_type in self.event_types


@dataclass(frozen=True)
class EventRecord:
    """A stored outbox event."""

    tenant_id: str
    event_id: str
    type: str
    created_at: str
    data: dict[str, Any]
    lead_id: str | None = None
    sequence: int | None = None

    @property
    def sort_key(self) -> str:
        """Where the event stands in its tenant's listing (``events_since``'s ``after``)."""
        return f"{self.created_at}#{self.event_id}"

    def payload(self) -> bytes:
        """The body every delivery of this event sends (the same bytes each time)."""
        doc: dict[str, Any] = {
            "type": self.type,
            "id": self.event_id,
            "created_at": self.created_at,
            "version": 1,
            "data": self.data,
        }
        if self.sequence is not None:
            doc["sequence"] = self.sequence
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class DeliveryRecord:
    """One event's delivery to one endpoint."""

    tenant_id: str
    endpoint_id: str
    event_id: str
    event_type: str
    event_created_at: str
    status: str  # pending | delivered | given_up | skipped
    attempts: list[dict[str, Any]] = field(default_factory=list)
    attempt_count: int = 0
    next_at: str | None = None
    due_sort: str | None = None


class WebhooksTable:
    """Endpoints, outbox events and deliveries."""

    def __init__(self, table_name: str, *, client: Any = None) -> None:
        self.items = DynamoItems(table_name, client=client)
        self.ops = TableOps(self.items)

    # --- endpoints -------------------------------------------------------------------------------
    def put_endpoint(self, record: EndpointRecord, *, expect_updated_at: str | None = None) -> bool:
        """Create (``expect_updated_at`` None) or replace an endpoint not changed since it was read."""
        item = {
            **keys.webhook_endpoint_key(record.tenant_id, record.endpoint_id),
            **keys.webhook_endpoints_index(record.tenant_id, record.endpoint_id),
            "entity": "webhook_endpoint",
            "tenant_id": record.tenant_id,
            "endpoint_id": record.endpoint_id,
            "url": record.url,
            "event_types": list(record.event_types),
            "description": record.description,
            "enabled": record.enabled,
            "created_at": record.created_at,
            "updated_at": record.updated_at,
            "secrets": [dict(s) for s in record.secrets],
            "failing_since": record.failing_since,
            "disabled_reason": record.disabled_reason,
        }
        if expect_updated_at is None:
            return self.items.put(item, condition="attribute_not_exists(pk)")
        return self.items.put(item, condition="updated_at = :seen", values={":seen": expect_updated_at})

    def get_endpoint(self, tenant_id: str, endpoint_id: str) -> EndpointRecord | None:
        """One endpoint of this tenant, or None."""
        item = self.items.get(keys.webhook_endpoint_key(tenant_id, endpoint_id))
        return _endpoint(item) if item else None

    def list_endpoints(self, tenant_id: str) -> list[EndpointRecord]:
        """Every endpoint of the tenant (a handful), by id."""
        return [_endpoint(i) for i in self.items.query_all(keys.webhook_endpoints_index(tenant_id)["gsi1pk"])]

    def delete_endpoint(self, tenant_id: str, endpoint_id: str) -> bool:
        """Delete an endpoint (its deliveries stay until their TTL; none is sent any more)."""
        return self.items.delete(keys.webhook_endpoint_key(tenant_id, endpoint_id))

    def note_failure(self, tenant_id: str, endpoint_id: str, at: str) -> None:
        """Remember when the endpoint started failing (kept while it keeps failing)."""
        self.ops.update(
            keys.webhook_endpoint_key(tenant_id, endpoint_id),
            set_fields={"failing_since": at},
            condition="attribute_exists(pk) AND attribute_not_exists(failing_since)",
        )

    def note_success(self, tenant_id: str, endpoint_id: str) -> None:
        """A delivery succeeded: the endpoint is healthy again."""
        self.ops.update(
            keys.webhook_endpoint_key(tenant_id, endpoint_id),
            remove=("failing_since",),
            condition="attribute_exists(failing_since)",
        )

    def disable(
        self, tenant_id: str, endpoint_id: str, *, reason: str, at: str, event: dict[str, Any]
    ) -> bool:
        """Disable a failing endpoint and record ``event`` (its outbox Put) in the same write;
        once (False when it was disabled meanwhile)."""
        return self.ops.transact(
            [
                {
                    "Update": {
                        "Key": keys.webhook_endpoint_key(tenant_id, endpoint_id),
                        "UpdateExpression": "SET enabled = :false, disabled_reason = :r, updated_at = :at",
                        "ConditionExpression": "enabled = :true",
                        "ExpressionAttributeValues": {
                            ":false": False,
                            ":true": True,
                            ":r": reason,
                            ":at": at,
                        },
                    }
                },
                event,
            ]
        )

    # --- outbox ----------------------------------------------------------------------------------
    def record_event(self, put: dict[str, Any]) -> None:
        """Write an event alone (an event whose state change is not ours to write, e.g. a test)."""
        self.ops.transact([put])

    def pending_events(self, shard: int, limit: int) -> list[EventRecord]:
        """Events of one shard not yet fanned out, oldest first."""
        items, _ = self.ops.query(
            "gsi2pk", keys.webhook_outbox_index(shard)["gsi2pk"], index="gsi2", sk_name="gsi2sk", limit=limit
        )
        return [_event(i) for i in items]

    def get_event(self, tenant_id: str, event_id: str) -> EventRecord | None:
        """One event of this tenant (until its retention ends), or None: one read, at the key
        its id gives (the day listing, or a previous release's own partition)."""
        item = self.items.get(_event_key(tenant_id, event_id))
        return _event(item) if item else None

    def events_since(
        self, tenant_id: str, since: datetime, *, until: datetime, limit: int, after: str | None = None
    ) -> list[EventRecord]:
        """The tenant's events recorded at or after ``since`` (and within the retention before
        ``until``, the caller's now and the last day read), oldest first (by ``created_at``, then
        id), at most ``limit``; ``after`` (the last one's :attr:`EventRecord.sort_key`) continues
        a listing past it.

        The days from ``since`` are read in order, each day's shards merged, and the previous
        release's gsi1 listing merged in; every partition is read a page at a time, and only as
        far as the merge needs: at most 31 days x 4 shards + 1 queries before a page runs out.
        """
        start = max(utc_iso(since), utc_iso(until - EVENT_RETENTION), after or "")
        if limit <= 0:
            return []
        page = -(-limit // keys.WEBHOOK_EVENT_SHARDS)
        listed = chain.from_iterable(
            heapq.merge(
                *(
                    self._listing("pk", keys.webhook_events_partition(tenant_id, day, shard), start, page)
                    for shard in range(keys.WEBHOOK_EVENT_SHARDS)
                ),
                key=_sort_key,
            )
            for day in _days(start[:10], until)
        )
        legacy = self._listing("gsi1pk", keys.legacy_webhook_events_index(tenant_id)["gsi1pk"], start, limit)
        return [_event(i) for i in islice(heapq.merge(listed, legacy, key=_sort_key), limit)]

    def _listing(self, pk_name: str, pk: str, after: str, page: int) -> Iterator[dict[str, Any]]:
        """One partition's events past ``after`` in sort-key order, a page read when the last is
        used up (the table's own ``sk`` or the legacy listing's ``gsi1sk``: both ``created_at#id``)."""
        index, sk_name = ("gsi1", "gsi1sk") if pk_name == "gsi1pk" else (None, "sk")
        cursor: str | None = after
        while cursor is not None:
            items, cursor = self.ops.query(
                pk_name, pk, index=index, sk_name=sk_name, after=cursor, limit=page
            )
            yield from items

    def next_sequence(self, tenant_id: str, lead_id: str, count: int = 1) -> int:
        """The first of the lead's next ``count`` event sequence numbers (an atomic counter: one
        write draws them all). A number drawn and never fixed on an event is a gap, never a
        repeat."""
        new = self.ops.update(keys.lead_sequence_key(tenant_id, lead_id), add={"seq": count}, return_new=True)
        return (int(new["seq"]) if isinstance(new, dict) else count) - count + 1

    def fan_out(
        self, event: EventRecord, endpoints: Sequence[EndpointRecord], *, now: str, leased_until: str
    ) -> tuple[EventRecord, list[DeliveryRecord]]:
        """One pending delivery per endpoint (kept if it exists: a rerun adds nothing), then the
        event leaves the outbox. The sequence is fixed on the event the first time; returns the
        event as stored (with the sequence it kept, which a concurrent fan-out may have fixed)
        and the deliveries this call wrote.

        A new delivery is written already leased to the caller until ``leased_until`` (due
        then, not now), so the pass that wrote it sends it without a claim of its own: nobody
        else can take it meanwhile, and if that pass dies it is due again when the lease ends.
        A delivery that existed (an earlier fan-out's) is not returned: the due index has it."""
        created: list[DeliveryRecord] = []
        for endpoint in endpoints:
            item = self._delivery_item(event, endpoint.endpoint_id, due_at=leased_until)
            if self.items.put(item, condition="attribute_not_exists(pk)"):
                created.append(_delivery(item))
        names = {"#p": "gsi2pk", "#s": "gsi2sk"}
        expression = "REMOVE #p, #s"
        values: dict[str, Any] = {}
        if event.sequence is not None:
            expression = "SET #seq = if_not_exists(#seq, :seq) " + expression
            names["#seq"] = "sequence"
            values[":seq"] = event.sequence
        key = _event_key(event.tenant_id, event.event_id)
        kwargs: dict[str, Any] = {
            "TableName": self.items.table_name,
            "Key": self.items.to_ddb(key),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
        }
        if values:
            kwargs["ExpressionAttributeValues"] = self.items.to_ddb(values)
            # The whole item: DynamoDB may leave out of UPDATED_NEW a value if_not_exists kept.
            kwargs["ReturnValues"] = "ALL_NEW"
        try:
            answer = self.items.client.update_item(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise storage_error(exc, "could not take the event out of the outbox") from exc
        kept = self.items.from_ddb(answer.get("Attributes") or {}).get("sequence")
        return (event if kept is None else replace(event, sequence=int(kept))), created

    # --- deliveries ------------------------------------------------------------------------------
    def put_delivery(self, event: EventRecord, endpoint_id: str, *, now: str, replace: bool) -> bool:
        """A pending delivery of ``event`` to the endpoint, due ``now`` (``replace``: a replay
        re-opens a finished one, attempts kept)."""
        if replace:
            key = keys.webhook_delivery_key(event.tenant_id, endpoint_id, event.created_at, event.event_id)
            due = keys.webhook_due_index(
                shard_of(event.event_id), _due_sort(now, event.tenant_id, endpoint_id, event)
            )
            return bool(
                self.ops.update(
                    key,
                    set_fields={**due, "status": "pending", "next_at": now, "replayed_at": now},
                    condition="attribute_exists(pk)",
                )
            ) or self.put_delivery(event, endpoint_id, now=now, replace=False)
        return self.items.put(
            self._delivery_item(event, endpoint_id, due_at=now), condition="attribute_not_exists(pk)"
        )

    def _delivery_item(self, event: EventRecord, endpoint_id: str, *, due_at: str) -> dict[str, Any]:
        """A new pending delivery of ``event`` to the endpoint, due at ``due_at``."""
        due = keys.webhook_due_index(
            shard_of(event.event_id), _due_sort(due_at, event.tenant_id, endpoint_id, event)
        )
        return {
            **keys.webhook_delivery_key(event.tenant_id, endpoint_id, event.created_at, event.event_id),
            **due,
            "entity": "webhook_delivery",
            "tenant_id": event.tenant_id,
            "endpoint_id": endpoint_id,
            "event_id": event.event_id,
            "event_type": event.type,
            "event_created_at": event.created_at,
            "status": "pending",
            "attempt_count": 0,
            "attempts": [],
            "next_at": due_at,
            "expires_at": int(
                datetime.fromisoformat(event.created_at).timestamp() + EVENT_RETENTION.total_seconds()
            ),
        }

    def due_deliveries(self, shard: int, now: str, limit: int) -> list[DeliveryRecord]:
        """Deliveries of one shard due at ``now`` or earlier, most overdue first (the list is in
        due-time order, so the page read starts with every due one)."""
        items, _ = self.ops.query(
            "gsi2pk", keys.webhook_due_index(shard)["gsi2pk"], index="gsi2", sk_name="gsi2sk", limit=limit
        )
        return [_delivery(i) for i in items if str(i.get("next_at") or "") <= now]

    def claim(self, delivery: DeliveryRecord, *, until: str) -> bool:
        """Take a due delivery for one attempt (its due time moves to ``until``, the lease): two
        deliverers never send it at once, and a deliverer that dies leaves it due again then."""
        event_sort = str(delivery.due_sort).split("#", 1)[1]
        return bool(
            self.ops.update(
                keys.webhook_delivery_key(
                    delivery.tenant_id, delivery.endpoint_id, delivery.event_created_at, delivery.event_id
                ),
                set_fields={"gsi2sk": f"{until}#{event_sort}", "next_at": until},
                condition="gsi2sk = :seen",
                values={":seen": delivery.due_sort},
            )
        )

    def record_attempt(
        self,
        delivery: DeliveryRecord,
        attempt: Mapping[str, Any],
        *,
        status: str,
        next_at: str | None,
    ) -> None:
        """Keep an attempt's outcome; the delivery is due again at ``next_at`` or done (``status``)."""
        key = keys.webhook_delivery_key(
            delivery.tenant_id, delivery.endpoint_id, delivery.event_created_at, delivery.event_id
        )
        attempts = [*delivery.attempts, dict(attempt)][-KEPT_ATTEMPTS:]
        fields: dict[str, Any] = {
            "status": status,
            "attempts": attempts,
            "attempt_count": delivery.attempt_count + 1,
        }
        remove: tuple[str, ...] = ("gsi2pk", "gsi2sk", "next_at")
        if next_at is not None:
            event_sort = str(delivery.due_sort).split("#", 1)[1]
            fields.update({"gsi2sk": f"{next_at}#{event_sort}", "next_at": next_at})
            remove = ()
        self.ops.update(key, set_fields=fields, remove=remove, condition="attribute_exists(pk)")

    def finish_unsent(self, delivery: DeliveryRecord, status: str) -> None:
        """Close a delivery that is not sent at all (its endpoint was deleted or disabled)."""
        self.ops.update(
            keys.webhook_delivery_key(
                delivery.tenant_id, delivery.endpoint_id, delivery.event_created_at, delivery.event_id
            ),
            set_fields={"status": status},
            remove=("gsi2pk", "gsi2sk", "next_at"),
            condition="attribute_exists(pk)",
        )

    def deliveries(
        self, tenant_id: str, endpoint_id: str, *, limit: int, before: str | None
    ) -> tuple[list[DeliveryRecord], str | None]:
        """A page of an endpoint's deliveries, newest first."""
        items, after = self.ops.query(
            "pk",
            keys.webhook_endpoint_key(tenant_id, endpoint_id)["pk"],
            prefix="DELIV#",
            after=before,
            limit=limit,
            forward=False,
        )
        return [_delivery(i) for i in items], after


def _event_key(tenant_id: str, event_id: str) -> dict[str, str]:
    """An event's item key, from its id: a time-carrying id's day listing, else (a uuid4 id of
    the previous release, or no event id at all) the old per-event key."""
    created_at = event_created_at(event_id)
    if created_at is None:
        return keys.legacy_webhook_event_key(tenant_id, event_id)
    return keys.webhook_event_key(tenant_id, created_at, event_id)


def _days(first: str, until: datetime) -> Iterator[str]:
    """``first`` (``yyyy-mm-dd``) and each day after it through ``until``'s, in UTC."""
    day = datetime.fromisoformat(first).date()
    last = until.astimezone(UTC).date()
    while day <= last:
        yield day.isoformat()
        day += timedelta(days=1)


def _sort_key(item: Mapping[str, Any]) -> str:
    return f"{item['created_at']}#{item['event_id']}"


def _due_sort(at: str, tenant_id: str, endpoint_id: str, event: EventRecord) -> str:
    return f"{at}#{tenant_id}#{endpoint_id}#{event.event_id}"


def _endpoint(item: Mapping[str, Any]) -> EndpointRecord:
    return EndpointRecord(
        tenant_id=str(item["tenant_id"]),
        endpoint_id=str(item["endpoint_id"]),
        url=str(item["url"]),
        event_types=tuple(str(t) for t in item.get("event_types") or ()),
        description=str(item.get("description") or ""),
        enabled=bool(item.get("enabled")),
        created_at=str(item["created_at"]),
        updated_at=str(item["updated_at"]),
        secrets=tuple(dict(s) for s in item.get("secrets") or ()),
        failing_since=item.get("failing_since"),
        disabled_reason=item.get("disabled_reason"),
    )


def _event(item: Mapping[str, Any]) -> EventRecord:
    return EventRecord(
        tenant_id=str(item["tenant_id"]),
        event_id=str(item["event_id"]),
        type=str(item["type"]),
        created_at=str(item["created_at"]),
        data=json.loads(str(item["data_json"])),
        lead_id=item.get("lead_id"),
        sequence=int(item["sequence"]) if item.get("sequence") is not None else None,
    )


def _delivery(item: Mapping[str, Any]) -> DeliveryRecord:
    return DeliveryRecord(
        tenant_id=str(item["tenant_id"]),
        endpoint_id=str(item["endpoint_id"]),
        event_id=str(item["event_id"]),
        event_type=str(item["event_type"]),
        event_created_at=str(item["event_created_at"]),
        status=str(item["status"]),
        attempts=[dict(a) for a in item.get("attempts") or ()],
        attempt_count=int(item.get("attempt_count") or 0),
        next_at=item.get("next_at"),
        due_sort=item.get("gsi2sk"),
    )

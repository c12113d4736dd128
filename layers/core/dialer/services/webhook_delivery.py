"""Delivers the outbox's events to the tenants' webhook endpoints (issue 24).

One run: fan every pending outbox event out into a delivery per subscribed, enabled endpoint
(fixing the lead's ``sequence`` number on the way), then send every due delivery once. A failed
attempt is due again after :func:`~dialer.domain.event_webhooks.retry_delay`; an event still
undelivered 24 h after it was recorded is given up for that endpoint; an endpoint that has failed
without one success for 3 days is disabled (an alarm metric and a ``webhook_endpoint.disabled``
event). Every attempt of an event carries the event's id as ``webhook-id``, so a receiver that
saw it already can drop it.

At least once, never lost: every step leaves the work visible until it is done (the outbox
marker until the fan-out wrote its deliveries, the delivery's due marker until an answer was
recorded), and a delivery is leased before it is sent, so two runs never send it at once. A
delivery is written already leased to the pass that fans its event out, which sends it without
claiming it again; its lease ends, and the delivery is due, if that pass dies first.

Sends run side by side (:data:`SENDS_AT_ONCE`, at most :data:`SENDS_PER_ENDPOINT` to one
endpoint): one after another, a receiver answering in 100 ms took 10 events a second, and a
tenant dialling 30 calls a second makes about 70. A lead's events to one endpoint still go one
after another, in the pass's order (its sequence numbers').
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from dialer import keys
from dialer.adapters.webhook_sender import SendResult
from dialer.adapters.webhooks_table import (
    DeliveryRecord,
    EndpointRecord,
    EventRecord,
    WebhooksTable,
    outbox_put,
)
from dialer.domain.dialing import parse_utc, utc_iso
from dialer.domain.event_webhooks import (
    DELIVERY_HORIZON,
    DELIVERY_TIMEOUT_SECONDS,
    DISABLE_AFTER,
    EventType,
    retry_delay,
    signature_header,
)
from dialer.observability import (
    ENDPOINT_DISABLED,
    EVENT_DELIVERED,
    EVENT_DELIVERY_FAILED,
    EVENT_GIVEN_UP,
    get_logger,
    record_metric,
)

#: A delivery is leased for this long while it is sent (the timeout, with room).
LEASE = timedelta(seconds=DELIVERY_TIMEOUT_SECONDS * 3)
#: A lease taken at the fan-out is used for a send only while this much of it is left (a send
#: takes up to the timeout); a pass that reaches the delivery later claims it again.
SEND_ROOM = timedelta(seconds=DELIVERY_TIMEOUT_SECONDS * 2)
USER_AGENT = "telnyx-ai-dialer-webhooks/1"
#: Sends in flight at once in a pass, and to one endpoint (a receiver is not flooded).
SENDS_AT_ONCE = 32
SENDS_PER_ENDPOINT = 16


class Sender(Protocol):
    """Sends one signed POST (:class:`~dialer.adapters.webhook_sender.HttpSender`)."""

    def send(self, url: str, headers: dict[str, str], body: bytes) -> SendResult: ...


@dataclass
class RunStats:
    """What one run did (counts by what happened)."""

    counts: Counter[str] = field(default_factory=Counter)


class WebhookDeliverer:
    """Fans out and sends event webhooks."""

    def __init__(
        self,
        table: WebhooksTable,
        sender: Sender,
        *,
        clock: Callable[[], datetime],
        wall_clock: Callable[[], datetime],
        sends_at_once: int = SENDS_AT_ONCE,
        sends_per_endpoint: int = SENDS_PER_ENDPOINT,
    ) -> None:
        self.table = table
        self.sender = sender
        self.clock = clock
        self.sends_at_once = sends_at_once
        self.sends_per_endpoint = sends_per_endpoint
        self._pool: ThreadPoolExecutor | None = None
        # The signature's timestamp is checked by the receiver against its own wall clock.
        self.wall_clock = wall_clock
        # What this pass read or wrote already, so its sends need no read of their own: the
        # tenants' endpoints (listed for the fan-out) and the events it fanned out (as stored,
        # sequence included; an event does not change after its fan-out). Both are dropped at
        # the start of every pass, so an endpoint disabled meanwhile is seen by the next pass.
        self._endpoints: dict[str, list[EndpointRecord]] = {}
        self._events: dict[tuple[str, str], EventRecord] = {}

    def run_once(self, *, limit: int = 100) -> RunStats:
        """Fan out what is pending and send what that wrote, then send what else is due (up to
        ``limit`` of each per shard)."""
        stats = RunStats()
        self._endpoints.clear()
        self._events.clear()
        # Oldest first across the shards: a lead's sequence numbers follow its state changes.
        pending = [e for shard in range(keys.WEBHOOK_SHARDS) for e in self.table.pending_events(shard, limit)]
        ordered = sorted(pending, key=lambda e: (e.created_at, e.event_id))
        # A lead's numbers for this pass, drawn in one counter write per lead and given in order
        # while every fix of this pass's keeps its number. When another pass fixed one of the
        # lead's events first, the rest of them draw one at a time after that fix (fan_out's
        # own draw), so a later event never gets a smaller number than an earlier one.
        numbers = self._draw(ordered)
        written: list[DeliveryRecord] = []
        for event in ordered:
            lead = (event.tenant_id, event.lead_id)
            if event.sequence is None and lead in numbers:
                event = replace(event, sequence=numbers[lead])
                numbers[lead] += 1
            stored, deliveries = self._fan_out(event)
            if stored.sequence != event.sequence:
                numbers.pop(lead, None)
            written += deliveries
            stats.counts["fanned_out"] += 1
        stats.counts.update(self._send_all([(d, True) for d in written]))
        due = [
            (delivery, False)
            for shard in range(keys.WEBHOOK_SHARDS)
            for delivery in self.table.due_deliveries(shard, utc_iso(self.clock()), limit)
        ]
        stats.counts.update(self._send_all(due))
        return stats

    def _send_all(self, deliveries: list[tuple[DeliveryRecord, bool]]) -> Counter[str]:
        """Send ``(delivery, leased to this pass)`` pairs side by side, a lead's to one endpoint in
        their order, and count what became of them. A send that raised is raised here once every
        other one has finished (each of them is recorded, or its lease lets the next pass see it)."""
        lines: dict[tuple[str, str, str], list[tuple[DeliveryRecord, bool]]] = {}
        for delivery, leased in deliveries:
            event = self._events.get((delivery.tenant_id, delivery.event_id))
            lead = event.lead_id if event is not None and event.lead_id else delivery.event_id
            lines.setdefault((delivery.tenant_id, delivery.endpoint_id, lead), []).append((delivery, leased))
        gates = {
            (tenant, endpoint): threading.BoundedSemaphore(self.sends_per_endpoint)
            for tenant, endpoint, _ in lines
        }

        def send_line(line: list[tuple[DeliveryRecord, bool]]) -> Counter[str]:
            done: Counter[str] = Counter()
            for delivery, leased in line:
                with gates[(delivery.tenant_id, delivery.endpoint_id)]:
                    done[self._deliver_leased(delivery) if leased else self.deliver(delivery)] += 1
            return done

        if self.sends_at_once <= 1 or len(lines) <= 1:
            return sum((send_line(line) for line in lines.values()), Counter())
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.sends_at_once, thread_name_prefix="webhook-send")
        futures: list[Future[Counter[str]]] = [self._pool.submit(send_line, line) for line in lines.values()]
        counts: Counter[str] = Counter()
        failure: BaseException | None = None
        for future in futures:
            try:
                counts.update(future.result())
            except BaseException as exc:  # noqa: BLE001 - raised below, after the rest finished
                failure = failure or exc
        if failure is not None:
            raise failure
        return counts

    def fan_out(self, event: EventRecord) -> list[DeliveryRecord]:
        """One delivery per enabled endpoint subscribed to the event's type, written leased to
        this pass; the lead's next sequence number on the event the first time (the outbox is
        read oldest first). Returns the deliveries it wrote."""
        return self._fan_out(event)[1]

    def _fan_out(self, event: EventRecord) -> tuple[EventRecord, list[DeliveryRecord]]:
        """:meth:`fan_out`, with the event as stored (its sequence: this pass's, or the one
        another pass fixed first)."""
        if event.lead_id and event.sequence is None:
            event = replace(event, sequence=self.table.next_sequence(event.tenant_id, event.lead_id))
        wanted = [e for e in self._tenant_endpoints(event.tenant_id) if e.enabled and e.wants(event.type)]
        now = self.clock()
        stored, written = self.table.fan_out(
            event, wanted, now=utc_iso(now), leased_until=utc_iso(now + LEASE)
        )
        self._events[(stored.tenant_id, stored.event_id)] = stored
        return stored, written

    def _draw(self, events: list[EventRecord]) -> dict[tuple[str, str | None], int]:
        """The first of the numbers each lead's unnumbered ``events`` need (one counter write a
        lead: a settlement's two events of a lead come in one pass)."""
        wanted = Counter((e.tenant_id, e.lead_id) for e in events if e.lead_id and e.sequence is None)
        return {lead: self.table.next_sequence(lead[0], str(lead[1]), n) for lead, n in wanted.items()}

    def deliver(self, delivery: DeliveryRecord) -> str:
        """Send one due delivery once, leased first; returns what became of it."""
        now = self.clock()
        if not self.table.claim(delivery, until=utc_iso(now + LEASE)):
            return "taken"
        return self._send(
            DeliveryRecord(**{**delivery.__dict__, "due_sort": _leased(delivery, now + LEASE)}), now
        )

    def _deliver_leased(self, delivery: DeliveryRecord) -> str:
        """Send a delivery this pass's fan-out wrote leased to it: without a claim while its lease
        leaves room for a whole send (a slow pass may reach it late), else claimed like any other."""
        now = self.clock()
        if delivery.next_at is None or parse_utc(delivery.next_at) - now < SEND_ROOM:
            return self.deliver(delivery)
        return self._send(delivery, now)

    def _send(self, delivery: DeliveryRecord, now: datetime) -> str:
        """Send a delivery this pass holds the lease of; returns what became of it."""
        endpoint = self._endpoint(delivery.tenant_id, delivery.endpoint_id)
        event = self._events.get((delivery.tenant_id, delivery.event_id)) or self.table.get_event(
            delivery.tenant_id, delivery.event_id
        )
        if endpoint is None or event is None:
            self.table.finish_unsent(delivery, "skipped")
            return "skipped"
        if not endpoint.enabled:
            self.table.finish_unsent(delivery, "skipped")
            return "skipped"
        body = event.payload()
        sent_at = self.wall_clock()
        timestamp = int(sent_at.timestamp())
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": event.event_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(
                endpoint.live_secrets(now), event.event_id, timestamp, body
            ),
        }
        result = self.sender.send(endpoint.url, headers, body)
        attempt = {
            "at": utc_iso(now),
            "status_code": result.status,
            "latency_ms": result.latency_ms,
            "excerpt": result.excerpt,
            "error": result.error,
        }
        if result.ok:
            self.table.record_attempt(delivery, attempt, status="delivered", next_at=None)
            if endpoint.failing_since:
                self.table.note_success(endpoint.tenant_id, endpoint.endpoint_id)
                self._remember(replace(endpoint, failing_since=None))
            record_metric(EVENT_DELIVERED, 1, tenant_id=delivery.tenant_id)
            return "delivered"
        record_metric(EVENT_DELIVERY_FAILED, 1, tenant_id=delivery.tenant_id)
        get_logger().info(
            "event webhook attempt failed",
            endpoint_id=endpoint.endpoint_id,
            event_id=event.event_id,
            status_code=result.status,
            error=result.error,
        )
        self._note_failure(endpoint, now)
        retry_at = now + retry_delay(delivery.attempt_count + 1)
        if retry_at - parse_utc(event.created_at) > DELIVERY_HORIZON:
            self.table.record_attempt(delivery, attempt, status="given_up", next_at=None)
            record_metric(EVENT_GIVEN_UP, 1, tenant_id=delivery.tenant_id)
            return "given_up"
        self.table.record_attempt(delivery, attempt, status="pending", next_at=utc_iso(retry_at))
        return "failed"

    def _note_failure(self, endpoint: EndpointRecord, now: datetime) -> None:
        """Start or continue the endpoint's failing streak; disable it after 3 days of it."""
        if endpoint.failing_since is None:
            self.table.note_failure(endpoint.tenant_id, endpoint.endpoint_id, utc_iso(now))
            self._remember(replace(endpoint, failing_since=utc_iso(now)))
            return
        failing_for = now - parse_utc(endpoint.failing_since)
        if failing_for < DISABLE_AFTER:
            return
        reason = f"every delivery failed since {endpoint.failing_since}"
        event = outbox_put(
            endpoint.tenant_id,
            EventType.ENDPOINT_DISABLED,
            {"endpoint_id": endpoint.endpoint_id, "url": endpoint.url, "reason": reason},
            at=now,
        )
        if self.table.disable(
            endpoint.tenant_id, endpoint.endpoint_id, reason=reason, at=utc_iso(now), event=event
        ):
            record_metric(ENDPOINT_DISABLED, 1, tenant_id=endpoint.tenant_id)
            get_logger().warning("webhook endpoint disabled", endpoint_id=endpoint.endpoint_id, reason=reason)
            self._endpoints.pop(endpoint.tenant_id, None)

    def _tenant_endpoints(self, tenant_id: str) -> list[EndpointRecord]:
        if tenant_id not in self._endpoints:
            self._endpoints[tenant_id] = self.table.list_endpoints(tenant_id)
        return self._endpoints[tenant_id]

    def _endpoint(self, tenant_id: str, endpoint_id: str) -> EndpointRecord | None:
        """The endpoint as this pass listed it; one read when the pass has not listed it (a retry
        of another tenant's delivery) or the listing lacks it (the index lags a new endpoint)."""
        listed = self._endpoints.get(tenant_id, ())
        found = next((e for e in listed if e.endpoint_id == endpoint_id), None)
        return found or self.table.get_endpoint(tenant_id, endpoint_id)

    def _remember(self, endpoint: EndpointRecord) -> None:
        """Keep this pass's listing in step with what it wrote to the endpoint."""
        listed = self._endpoints.get(endpoint.tenant_id)
        if listed is not None:
            self._endpoints[endpoint.tenant_id] = [
                endpoint if e.endpoint_id == endpoint.endpoint_id else e for e in listed
            ]


def _leased(delivery: DeliveryRecord, until: datetime) -> str:
    return f"{utc_iso(until)}#{str(delivery.due_sort).split('#', 1)[1]}"

"""Event webhooks are delivered at least once from the outbox, signed, under a stable id, with
backoff, given up after 24 h, and an endpoint failing for 3 days is disabled (moto + a real HTTP
receiver on loopback)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks import Webhook

from dialer import keys
from dialer.adapters.webhook_sender import HttpSender, SendResult
from dialer.adapters.webhooks_table import EndpointRecord, WebhooksTable, outbox_put
from dialer.domain.dialing import utc_iso
from dialer.domain.event_webhooks import EventType, new_secret
from dialer.services.webhook_delivery import WebhookDeliverer
from tests.support.aws import MotoStack
from tests.support.receiver import Received, receiver


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **kwargs: float) -> None:
        self.at += timedelta(**kwargs)


@pytest.fixture
def table(moto_stack: MotoStack, aws: dict[str, Any]) -> WebhooksTable:
    from dialer.settings import get_settings

    return WebhooksTable(get_settings().table_name)


@pytest.fixture
def tenant() -> str:
    return "wh-" + uuid.uuid4().hex[:10]


@pytest.fixture
def hook() -> Iterator[Received]:
    with receiver() as got:
        yield got


def _endpoint(table: WebhooksTable, tenant: str, url: str, secret: str, **changes: Any) -> EndpointRecord:
    now = utc_iso(datetime.now(UTC))
    record = EndpointRecord(
        tenant_id=tenant,
        endpoint_id="we_" + uuid.uuid4().hex[:8],
        url=url,
        event_types=changes.pop("event_types", ()),
        description="crm",
        enabled=True,
        created_at=now,
        updated_at=now,
        secrets=({"secret": secret, "expires_at": None},),
        **changes,
    )
    assert table.put_endpoint(record)
    return record


def _deliverer(table: WebhooksTable, clock: Clock, sender: Any = None, **options: int) -> WebhookDeliverer:
    return WebhookDeliverer(
        table,
        sender or HttpSender(allow_loopback=True, timeout=2),
        clock=clock,
        wall_clock=lambda: datetime.now(UTC),
        **options,
    )


def _event(
    table: WebhooksTable, tenant: str, clock: Clock, kind: EventType = EventType.CALL_COMPLETED, **data: Any
) -> str:
    put = outbox_put(tenant, kind, {"lead_id": "L1", **data}, at=clock(), lead_id=data.get("lead_id", "L1"))
    table.record_event(put)
    return str(put["Put"]["Item"]["event_id"])


def test_an_outbox_event_arrives_signed_under_its_own_id(
    table: WebhooksTable, tenant: str, hook: Received
) -> None:
    # GIVEN an endpoint and an event recorded in the outbox
    clock = Clock()
    secret = new_secret()
    endpoint = _endpoint(table, tenant, hook.url, secret)
    event_id = _event(table, tenant, clock, outcome="answered_human")
    # WHEN the deliverer runs
    _deliverer(table, clock).run_once()
    # THEN the receiver got it once, verified by the spec's reference verifier
    ((headers, body),) = hook.requests
    doc = Webhook(secret).verify(body, headers)
    assert headers["webhook-id"] == event_id == doc["id"]
    assert doc["type"] == "call.completed"
    assert doc["data"]["outcome"] == "answered_human"
    assert doc["version"] == 1
    assert doc["sequence"] == 1
    # AND the delivery is recorded with its status code and latency, and not sent again
    (delivery,), _ = table.deliveries(tenant, endpoint.endpoint_id, limit=10, before=None)
    assert delivery.status == "delivered"
    assert delivery.attempts[0]["status_code"] == 200
    _deliverer(table, clock).run_once()
    assert len(hook.requests) == 1


def test_only_subscribed_types_are_sent_and_sequences_count_per_lead(
    table: WebhooksTable, tenant: str, hook: Received
) -> None:
    clock = Clock()
    _endpoint(table, tenant, hook.url, new_secret(), event_types=("call.completed", "lead.status_changed"))
    _event(table, tenant, clock, EventType.CALL_COMPLETED)
    clock.advance(seconds=1)
    _event(table, tenant, clock, EventType.CAMPAIGN_STATUS_CHANGED)
    clock.advance(seconds=1)
    _event(table, tenant, clock, EventType.LEAD_STATUS_CHANGED)
    clock.advance(seconds=1)
    _event(table, tenant, clock, EventType.CALL_COMPLETED, lead_id="L2")
    _deliverer(table, clock).run_once()
    docs = [json.loads(body) for _, body in hook.requests]
    assert sorted(d["type"] for d in docs) == ["call.completed", "call.completed", "lead.status_changed"]
    by_lead = sorted((d["data"]["lead_id"], d["sequence"]) for d in docs)
    assert by_lead == [("L1", 1), ("L1", 3), ("L2", 1)]  # the campaign event took L1's 2 (test data)


def test_a_failing_receiver_is_retried_with_backoff_under_the_same_id(
    table: WebhooksTable, tenant: str, hook: Received
) -> None:
    # GIVEN a receiver that is down (500)
    clock = Clock()
    endpoint = _endpoint(table, tenant, hook.url, new_secret())
    event_id = _event(table, tenant, clock)
    hook.answer = 500
    deliverer = _deliverer(table, clock)
    deliverer.run_once()
    assert len(hook.requests) == 1
    (delivery,), _ = table.deliveries(tenant, endpoint.endpoint_id, limit=10, before=None)
    assert delivery.status == "pending"
    assert delivery.attempts[0]["status_code"] == 500
    assert len(delivery.attempts[0]["excerpt"]) <= 256  # never more than an excerpt is kept
    # WHEN it runs again before the backoff is over THEN nothing is sent
    clock.advance(seconds=29)
    deliverer.run_once()
    assert len(hook.requests) == 1
    # WHEN the receiver is back and the backoff (30 s, then 60 s) is over THEN it arrives
    clock.advance(seconds=2)
    deliverer.run_once()
    assert len(hook.requests) == 2
    hook.answer = 204
    clock.advance(seconds=59)
    deliverer.run_once()
    assert len(hook.requests) == 2
    clock.advance(seconds=2)
    deliverer.run_once()
    assert [h["webhook-id"] for h, _ in hook.requests] == [event_id] * 3
    (delivery,), _ = table.deliveries(tenant, endpoint.endpoint_id, limit=10, before=None)
    assert delivery.status == "delivered"
    assert [a["status_code"] for a in delivery.attempts] == [500, 500, 204]
    # AND the endpoint is healthy again
    assert table.get_endpoint(tenant, endpoint.endpoint_id).failing_since is None  # type: ignore[union-attr]


def test_an_event_is_given_up_after_24_hours_and_an_endpoint_disabled_after_3_days(
    table: WebhooksTable, tenant: str, hook: Received
) -> None:
    clock = Clock()
    endpoint = _endpoint(table, tenant, hook.url, new_secret())
    hook.answer = 503
    deliverer = _deliverer(table, clock)
    _event(table, tenant, clock)
    for _ in range(13):  # retry on schedule for a day
        deliverer.run_once()
        clock.advance(hours=2)
    (delivery,), _ = table.deliveries(tenant, endpoint.endpoint_id, limit=10, before=None)
    assert delivery.status == "given_up"
    assert 10 <= delivery.attempt_count <= 14
    assert table.get_endpoint(tenant, endpoint.endpoint_id).enabled  # type: ignore[union-attr]
    # WHEN it keeps failing for 3 days
    for _ in range(3):
        clock.advance(hours=23)
        _event(table, tenant, clock)
        deliverer.run_once()
    # THEN it is disabled with its reason, and a webhook_endpoint.disabled event is recorded
    disabled = table.get_endpoint(tenant, endpoint.endpoint_id)
    assert disabled is not None
    assert not disabled.enabled
    assert "failed since" in str(disabled.disabled_reason)
    events = table.events_since(tenant, clock() - timedelta(days=5), until=clock(), limit=100)
    assert any(
        e.type == "webhook_endpoint.disabled" and e.data["endpoint_id"] == endpoint.endpoint_id
        for e in events
    )
    # AND nothing more is sent to it
    sent = len(hook.requests)
    clock.advance(hours=1)
    _event(table, tenant, clock)
    deliverer.run_once()
    assert len(hook.requests) == sent


class Crash(Exception):
    """The deliverer dies here."""


def test_a_deliverer_killed_between_the_state_change_and_the_send_loses_nothing(
    table: WebhooksTable, tenant: str, hook: Received
) -> None:
    # GIVEN an event recorded with its state change, and a deliverer that dies while sending
    clock = Clock()
    secret = new_secret()
    _endpoint(table, tenant, hook.url, secret)
    event_id = _event(table, tenant, clock)

    class DiesOnSend:
        def send(self, url: str, headers: dict[str, str], body: bytes) -> SendResult:
            raise Crash

    with pytest.raises(Crash):
        _deliverer(table, clock, DiesOnSend()).run_once()
    assert hook.requests == []
    # WHEN a new deliverer runs once the dead one's lease is over
    clock.advance(seconds=31)
    _deliverer(table, clock).run_once()
    # THEN the event arrives, under its id
    ((headers, body),) = hook.requests
    assert Webhook(secret).verify(body, headers)["id"] == event_id


def test_a_deliverer_killed_during_the_fan_out_loses_nothing_and_sends_once(
    table: WebhooksTable, tenant: str, hook: Received, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    _endpoint(table, tenant, hook.url, new_secret())
    event_id = _event(table, tenant, clock)
    real = WebhooksTable.fan_out

    def dies_after_writing_deliveries(
        self: WebhooksTable, event: Any, endpoints: Any, *, now: str, leased_until: str
    ) -> None:
        for endpoint in endpoints:
            self.items.put(self._delivery_item(event, endpoint.endpoint_id, due_at=leased_until))
        raise Crash

    monkeypatch.setattr(WebhooksTable, "fan_out", dies_after_writing_deliveries)
    with pytest.raises(Crash):
        _deliverer(table, clock).run_once()
    monkeypatch.setattr(WebhooksTable, "fan_out", real)
    # The dead pass's deliveries are leased to it: a pass meanwhile fans the event out again
    # (the delivery exists: nothing new) and sends nothing ...
    _deliverer(table, clock).run_once()
    assert hook.requests == []
    # ... and once the lease is over, the delivery is due and sent, once.
    clock.advance(seconds=31)
    _deliverer(table, clock).run_once()
    _deliverer(table, clock).run_once()
    assert [h["webhook-id"] for h, _ in hook.requests] == [event_id]


def test_two_deliverers_with_the_same_stale_view_send_once(
    table: WebhooksTable, tenant: str, hook: Received
) -> None:
    # GIVEN two runs that both read the same pending event and then the same due delivery
    clock = Clock()
    endpoint = _endpoint(table, tenant, hook.url, new_secret())
    event_id = _event(table, tenant, clock)
    first, second = _deliverer(table, clock), _deliverer(table, clock)
    event = table.get_event(tenant, event_id)
    assert event is not None
    first.fan_out(event)
    (due,), _ = table.deliveries(tenant, endpoint.endpoint_id, limit=10, before=None)
    # WHEN both send it, and the second also fans the event out again afterwards
    assert first.deliver(due) == "delivered"
    assert second.deliver(due) == "taken"  # the lease (a conditional write) was the first one's
    second.fan_out(event)
    second.run_once()
    # THEN the receiver got it once, and the delivery stays delivered
    assert [h["webhook-id"] for h, _ in hook.requests] == [event_id]
    (delivery,), _ = table.deliveries(tenant, endpoint.endpoint_id, limit=10, before=None)
    assert delivery.status == "delivered"


def test_a_pass_sends_what_it_fanned_out_without_reading_it_back(
    table: WebhooksTable, tenant: str, hook: Received
) -> None:
    # GIVEN an endpoint and three events in the outbox
    clock = Clock()
    secret = new_secret()
    _endpoint(table, tenant, hook.url, secret)
    ids = []
    for n in range(3):
        ids.append(_event(table, tenant, clock, lead_id=f"L{n}"))
        clock.advance(seconds=1)
    reads: list[str] = []

    def seen(params: dict[str, Any], **_: Any) -> None:
        reads.append(params["Key"]["pk"]["S"])

    # The client is the process's (cached): the hook must not outlive the test.
    events = table.items.client.meta.events
    events.register("provide-client-params.dynamodb.GetItem", seen)
    # WHEN one pass fans them out and sends them
    try:
        _deliverer(table, clock).run_once()
    finally:
        events.unregister("provide-client-params.dynamodb.GetItem", seen)
    # THEN every event arrived as stored (its sequence included), and the pass read neither the
    # endpoint nor any event item back: it sends what it listed and what it wrote
    docs = [Webhook(secret).verify(body, headers) for headers, body in hook.requests]
    assert sorted(d["id"] for d in docs) == sorted(ids)
    assert all(d["sequence"] == 1 for d in docs)
    assert reads == []


def test_a_second_fan_out_of_an_event_sends_the_sequence_the_first_fixed(
    table: WebhooksTable, tenant: str, hook: Received
) -> None:
    # GIVEN two runs that both read the same pending event before either fanned it out
    clock = Clock()
    endpoint = _endpoint(table, tenant, hook.url, new_secret())
    event_id = _event(table, tenant, clock)
    event = table.get_event(tenant, event_id)
    assert event is not None
    assert event.sequence is None
    first, second = _deliverer(table, clock), _deliverer(table, clock)
    first.fan_out(event)
    # WHEN the second fans it out too (drawing the lead's next number, 2) and sends it
    second.fan_out(event)
    (due,), _ = table.deliveries(tenant, endpoint.endpoint_id, limit=10, before=None)
    assert second.deliver(due) == "delivered"
    # THEN it sent the event as stored: with the first fan-out's sequence, 1
    ((_, body),) = hook.requests
    assert json.loads(body)["sequence"] == 1
    assert table.get_event(tenant, event_id).sequence == 1  # type: ignore[union-attr]


def _writes(table: WebhooksTable) -> tuple[list[str], Any]:
    """Collects the partition key of every UpdateItem the process's client sends; returns the
    list and the hook to unregister (the client is cached: the hook must not outlive the test)."""
    writes: list[str] = []

    def seen(params: dict[str, Any], **_: Any) -> None:
        writes.append(params["Key"]["pk"]["S"])

    table.items.client.meta.events.register("provide-client-params.dynamodb.UpdateItem", seen)
    return writes, seen


def test_a_pass_draws_a_leads_sequence_numbers_at_once_and_sends_without_claiming(
    table: WebhooksTable, tenant: str, hook: Received
) -> None:
    # GIVEN three events of one lead (a settlement's two, then a callback) and one of another
    clock = Clock()
    endpoint = _endpoint(table, tenant, hook.url, new_secret())
    for kind in (EventType.CALL_COMPLETED, EventType.LEAD_STATUS_CHANGED, EventType.LEAD_CALLBACK_SCHEDULED):
        _event(table, tenant, clock, kind)
        clock.advance(seconds=1)
    _event(table, tenant, clock, lead_id="L2")
    writes, seen = _writes(table)
    # WHEN one pass delivers them
    try:
        _deliverer(table, clock).run_once()
    finally:
        table.items.client.meta.events.unregister("provide-client-params.dynamodb.UpdateItem", seen)
    # THEN each lead's numbers follow its events' order
    docs = [json.loads(body) for _, body in hook.requests]
    assert sorted((d["data"]["lead_id"], d["sequence"], d["type"]) for d in docs) == [
        ("L1", 1, "call.completed"),
        ("L1", 2, "lead.status_changed"),
        ("L1", 3, "lead.callback_scheduled"),
        ("L2", 1, "call.completed"),
    ]
    # AND one counter write per lead drew them, and each delivery was written once after its
    # put (its outcome): the fan-out's lease served the send, with no claim of its own
    assert sum("#WHSEQ#" in pk for pk in writes) == 2
    delivered, _ = table.deliveries(tenant, endpoint.endpoint_id, limit=10, before=None)
    assert [d.status for d in delivered] == ["delivered"] * 4
    endpoint_pk = keys.webhook_delivery_key(tenant, endpoint.endpoint_id, "", "")["pk"]
    assert sum(pk == endpoint_pk for pk in writes) == 4


def test_a_pass_that_reaches_its_leased_delivery_too_late_claims_it_and_never_sends_it_twice(
    table: WebhooksTable, tenant: str, hook: Received
) -> None:
    # GIVEN five events fanned out by one pass whose sends take 9 s each (under the 10 s timeout)
    # and go one at a time: its fan-out's leases (30 s) are over by its fourth send, when another
    # pass runs
    clock = Clock()
    _endpoint(table, tenant, hook.url, new_secret())
    started = clock()
    ids = []
    for n in range(5):
        ids.append(_event(table, tenant, clock, lead_id=f"L{n}"))
    real = HttpSender(allow_loopback=True, timeout=2)
    other: list[dict[str, int]] = []

    class SlowSends:
        def send(self, url: str, headers: dict[str, str], body: bytes) -> SendResult:
            clock.advance(seconds=9)
            if clock() - started > timedelta(seconds=30) and not other:
                other.append(dict(_deliverer(table, clock).run_once().counts))
            return real.send(url, headers, body)

    # WHEN the slow pass goes on to its last delivery
    counts = _deliverer(table, clock, SlowSends(), sends_at_once=1).run_once().counts
    # THEN the other pass sent only the delivery nobody held (the last: its fan-out lease was
    # over), and the slow pass, which claimed every delivery it reached with little of its lease
    # left, found that one taken: every event arrived once
    assert other == [{"delivered": 1}]
    assert counts == {"fanned_out": 5, "delivered": 4, "taken": 1}
    assert sorted(h["webhook-id"] for h, _ in hook.requests) == sorted(ids)


def test_passes_that_number_a_leads_events_at_once_keep_them_in_order_when_they_race(
    table: WebhooksTable, tenant: str, hook: Received, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a lead's two events (a settlement's) read by two passes, each drawing its numbers for
    # both at once: A draws 1 and 2, then B draws 3 and 4 and fixes the first event first
    clock = Clock()
    _endpoint(table, tenant, hook.url, new_secret())
    first = _event(table, tenant, clock, EventType.CALL_COMPLETED)
    clock.advance(seconds=1)
    second = _event(table, tenant, clock, EventType.LEAD_STATUS_CHANGED)
    stale = [table.get_event(tenant, first), table.get_event(tenant, second)]
    assert all(e is not None and e.sequence is None for e in stale)
    other = _deliverer(table, clock)
    real = WebhooksTable.fan_out
    raced: list[int] = []

    def fan_out(self: WebhooksTable, event: Any, endpoints: Any, **kwargs: Any) -> Any:
        if not raced:  # pass A's first fix: pass B gets there first
            raced.append(table.next_sequence(tenant, "L1", 2))
            other.fan_out(replace(stale[0], sequence=raced[0]))  # type: ignore[arg-type]
        return real(self, event, endpoints, **kwargs)

    monkeypatch.setattr(WebhooksTable, "fan_out", fan_out)
    # WHEN pass A goes on to the second event, and B fixes it afterwards with its own number
    _deliverer(table, clock).run_once()
    monkeypatch.setattr(WebhooksTable, "fan_out", real)
    other.fan_out(replace(stale[1], sequence=raced[0] + 1))  # type: ignore[arg-type]
    # THEN B's number stayed on the first event, and the second one's is larger: A saw its first
    # number refused and drew the second afresh (its batch's 2 would have come before B's 3)
    numbers = [table.get_event(tenant, first).sequence, table.get_event(tenant, second).sequence]  # type: ignore[union-attr]
    assert numbers[0] == raced[0] == 3
    assert numbers[1] is not None
    assert numbers[1] > numbers[0]


def test_sends_run_side_by_side_capped_per_endpoint_with_a_leads_events_in_order(
    table: WebhooksTable, tenant: str, hook: Received
) -> None:
    # GIVEN two endpoints and six leads with two events each (a settlement's), and a receiver
    # that takes 0.2 s to answer
    clock = Clock()
    endpoints = {_endpoint(table, tenant, f"{hook.url}/{n}", new_secret()).endpoint_id: n for n in (1, 2)}
    for n in range(6):
        _event(table, tenant, clock, EventType.CALL_COMPLETED, lead_id=f"L{n}")
        _event(table, tenant, clock, EventType.LEAD_STATUS_CHANGED, lead_id=f"L{n}")
    real = HttpSender(allow_loopback=True, timeout=2)
    lock = threading.Lock()
    in_flight: Counter[str] = Counter()
    most: Counter[str] = Counter()
    spans: dict[tuple[str, str], list[tuple[int, float, float]]] = {}

    class SlowReceiver:
        def send(self, url: str, headers: dict[str, str], body: bytes) -> SendResult:
            doc = json.loads(body)
            with lock:
                in_flight[url] += 1
                in_flight["all"] += 1
                most[url] = max(most[url], in_flight[url])
                most["all"] = max(most["all"], in_flight["all"])
            started = time.monotonic()
            time.sleep(0.2)
            with lock:
                in_flight[url] -= 1
                in_flight["all"] -= 1
            spans.setdefault((url, doc["data"]["lead_id"]), []).append(
                (doc["sequence"], started, time.monotonic())
            )
            return real.send(url, headers, body)

    # WHEN one pass delivers them, 6 sends at once, 2 to an endpoint
    counts = _deliverer(table, clock, SlowReceiver(), sends_at_once=6, sends_per_endpoint=2).run_once().counts
    # THEN every event reached both endpoints once
    assert counts == {"fanned_out": 12, "delivered": 24}
    assert len(hook.requests) == 24
    # AND the sends overlapped, never more than 2 to one endpoint (both endpoints reached 2)
    assert most["all"] > 2
    assert {url: most[url] for url in most if url != "all"} == {
        f"{hook.url}/{n}": 2 for n in endpoints.values()
    }
    # AND each lead's two events went to each endpoint one after the other, in sequence order
    assert len(spans) == 12
    for (first, _, first_done), (second, second_started, _) in spans.values():
        assert first < second
        assert second_started >= first_done


def test_a_send_that_raises_beside_others_is_raised_after_they_are_delivered(
    table: WebhooksTable, tenant: str, hook: Received
) -> None:
    # GIVEN three leads' events, and a sender that dies on the second lead's
    clock = Clock()
    _endpoint(table, tenant, hook.url, new_secret())
    for n in range(3):
        _event(table, tenant, clock, lead_id=f"L{n}")
    real = HttpSender(allow_loopback=True, timeout=2)

    class DiesOnOne:
        def send(self, url: str, headers: dict[str, str], body: bytes) -> SendResult:
            if json.loads(body)["data"]["lead_id"] == "L1":
                raise Crash
            return real.send(url, headers, body)

    # WHEN one pass sends them side by side THEN it raises what the send raised
    with pytest.raises(Crash):
        _deliverer(table, clock, DiesOnOne(), sends_at_once=3).run_once()
    # AND the other two arrived, and the dead send's event arrives once its lease is over
    assert sorted(json.loads(body)["data"]["lead_id"] for _, body in hook.requests) == ["L0", "L2"]
    clock.advance(seconds=31)
    _deliverer(table, clock).run_once()
    assert sorted(json.loads(body)["data"]["lead_id"] for _, body in hook.requests) == ["L0", "L1", "L2"]

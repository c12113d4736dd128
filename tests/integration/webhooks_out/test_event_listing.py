"""A tenant's events are listed by the table's own key (day partitions, a shard each, sorted by
``created_at#id``), with no gsi1 entry per event (issue 21), and the previous release's events
(uuid4 ids, one partition each, listed in gsi1) are still replayed, by id and since an instant,
and delivered until their retention ends (moto, the real deliverer, a receiver on loopback)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dialer import keys
from dialer.adapters.webhook_sender import HttpSender
from dialer.adapters.webhooks_table import EndpointRecord, WebhooksTable, outbox_put, shard_of
from dialer.domain.dialing import utc_iso
from dialer.domain.event_webhooks import EventType, new_secret
from dialer.services.webhook_delivery import WebhookDeliverer
from dialer.services.webhook_endpoints import WebhookEndpoints
from dialer.services.webhook_models import ReplayRequest
from tests.support.aws import MotoStack
from tests.support.receiver import receiver

MIDNIGHT = datetime(2026, 12, 7, tzinfo=UTC)


@pytest.fixture
def table(moto_stack: MotoStack, aws: dict[str, Any]) -> WebhooksTable:
    from dialer.settings import get_settings

    return WebhooksTable(get_settings().table_name)


@pytest.fixture
def tenant() -> str:
    return "wl-" + uuid.uuid4().hex[:10]


def _event(table: WebhooksTable, tenant: str, at: datetime, lead_id: str = "L1") -> str:
    put = outbox_put(tenant, EventType.LEAD_STATUS_CHANGED, {"lead_id": lead_id}, at=at, lead_id=lead_id)
    table.record_event(put)
    return str(put["Put"]["Item"]["event_id"])


def _legacy_event(table: WebhooksTable, tenant: str, at: datetime, lead_id: str = "L1") -> str:
    """An event exactly as the previous release wrote it: a uuid4 id, a partition of its own, a
    gsi1 listing entry and the outbox marker (until fanned out)."""
    event_id = "evt_" + uuid.uuid4().hex
    created_at = utc_iso(at)
    item = {
        "pk": f"T#{tenant}#WHEVT#{event_id}",
        "sk": "WHEVT",
        "gsi1pk": f"T#{tenant}#WHEVTS",
        "gsi1sk": f"{created_at}#{event_id}",
        "gsi2pk": f"WHOUTBOX#{shard_of(event_id)}",
        "gsi2sk": f"{created_at}#{tenant}#{event_id}",
        "entity": "webhook_event",
        "tenant_id": tenant,
        "event_id": event_id,
        "type": "lead.status_changed",
        "created_at": created_at,
        "data_json": json.dumps({"lead_id": lead_id}),
        "lead_id": lead_id,
        "expires_at": int((at + timedelta(days=30)).timestamp()),
    }
    assert table.items.put(item, condition="attribute_not_exists(pk)")
    return event_id


def test_replay_since_an_instant_crosses_the_day_boundary_in_order_with_a_legacy_event_between(
    table: WebhooksTable, tenant: str
) -> None:
    # GIVEN events on both sides of midnight (UTC), one of them written by the previous release
    _event(table, tenant, MIDNIGHT - timedelta(minutes=5))  # before `since`
    expected = [
        _event(table, tenant, MIDNIGHT - timedelta(seconds=2)),
        _event(table, tenant, MIDNIGHT - timedelta(seconds=1)),
        _legacy_event(table, tenant, MIDNIGHT - timedelta(milliseconds=300)),
        _event(table, tenant, MIDNIGHT),
        _event(table, tenant, MIDNIGHT + timedelta(milliseconds=1)),
        _event(table, tenant, MIDNIGHT + timedelta(hours=3)),
    ]
    since, now = MIDNIGHT - timedelta(minutes=1), MIDNIGHT + timedelta(hours=4)
    # WHEN they are listed since a minute before midnight, two at a time
    pages: list[list[str]] = []
    after = None
    while True:
        page = table.events_since(tenant, since, until=now, limit=2, after=after)
        if not page:
            break
        pages.append([e.event_id for e in page])
        after = page[-1].sort_key
    # THEN every one comes once, oldest first, the legacy event in its place
    assert [e for p in pages for e in p] == expected
    assert [len(p) for p in pages] == [2, 2, 2]
    # AND one listing at once is the same
    assert [e.event_id for e in table.events_since(tenant, since, until=now, limit=100)] == expected
    # AND since the first event after midnight, only the day after's
    later = table.events_since(tenant, MIDNIGHT, until=now, limit=100)
    assert [e.event_id for e in later] == expected[3:]


def test_a_new_event_is_listed_by_its_key_and_writes_no_gsi1_entry(table: WebhooksTable, tenant: str) -> None:
    # GIVEN an event recorded now
    at = MIDNIGHT + timedelta(hours=1, microseconds=123456)
    put = outbox_put(tenant, EventType.CALL_COMPLETED, {"lead_id": "L1"}, at=at, lead_id="L1")
    item = put["Put"]["Item"]
    table.record_event(put)
    # THEN its item has no gsi1 key (no listing entry per event), only the outbox marker
    assert not {"gsi1pk", "gsi1sk"} & set(item)
    assert item["gsi2pk"].startswith("WHOUTBOX#")
    stored = table.items.get({"pk": item["pk"], "sk": item["sk"]})
    assert stored is not None
    assert not {"gsi1pk", "gsi1sk"} & set(stored)
    assert item["pk"].startswith(f"T#{tenant}#WHEVT#2026-12-07#")
    assert item["created_at"] == "2026-12-07T01:00:00.123000Z"
    # AND the tenant's legacy listing stays empty
    legacy, _ = table.ops.query(
        "gsi1pk", keys.legacy_webhook_events_index(tenant)["gsi1pk"], index="gsi1", sk_name="gsi1sk"
    )
    assert legacy == []


def test_new_and_legacy_events_are_replayed_by_id_and_since_and_delivered(
    table: WebhooksTable, tenant: str
) -> None:
    # GIVEN a legacy event still in the outbox, a new one, and an endpoint
    now = datetime.now(UTC)
    legacy_id = _legacy_event(table, tenant, now - timedelta(minutes=2), lead_id="L7")
    new_id = _event(table, tenant, now - timedelta(minutes=1), lead_id="L7")
    secret = new_secret()
    with receiver() as hook:
        stamp = utc_iso(now)
        endpoint = EndpointRecord(
            tenant, "we_" + uuid.uuid4().hex[:8], hook.url, (), "crm", True, stamp, stamp,
            ({"secret": secret, "expires_at": None},),
        )  # fmt: skip
        assert table.put_endpoint(endpoint)
        deliverer = WebhookDeliverer(
            table, HttpSender(allow_loopback=True, timeout=2), clock=lambda: now, wall_clock=lambda: now
        )
        # WHEN the deliverer runs THEN both arrive, the lead's sequence numbers in the events' order
        deliverer.run_once()
        sent = [json.loads(body) for _, body in hook.requests]
        assert sorted((d["sequence"], d["id"]) for d in sent) == [(1, legacy_id), (2, new_id)]
        # AND the legacy event left the outbox at its own key (no stray item at a derived one)
        legacy = table.items.get(keys.legacy_webhook_event_key(tenant, legacy_id))
        assert legacy is not None
        assert "gsi2pk" not in legacy
        assert legacy["sequence"] == 1
        # WHEN each is replayed by id THEN each is found and sent again under its id
        api = WebhookEndpoints(tenant, table, clock=lambda: now, allow_loopback=True)
        for event_id in (legacy_id, new_id):
            assert api.replay(endpoint.endpoint_id, ReplayRequest(event_id=event_id)).replayed == 1
        assert table.get_event(tenant, "evt_" + uuid.uuid4().hex) is None
        assert table.get_event(tenant, new_id.replace(new_id[-6:], "000000")) is None
        deliverer.run_once()
        # AND replayed since an instant THEN both again
        since = ReplayRequest(since=now - timedelta(minutes=3))
        assert api.replay(endpoint.endpoint_id, since).replayed == 2
        deliverer.run_once()
    ids = [json.loads(body)["id"] for _, body in hook.requests]
    assert sorted(ids[:2]) == sorted(ids[2:4]) == sorted(ids[4:]) == sorted([legacy_id, new_id])


def test_a_replay_since_long_ago_reads_the_retention_only(table: WebhooksTable, tenant: str) -> None:
    # GIVEN an event 29 days old and one 31 days old (past its retention, its TTL not run yet)
    now = MIDNIGHT + timedelta(hours=12)
    kept = _event(table, tenant, now - timedelta(days=29))
    _event(table, tenant, now - timedelta(days=31))
    queries: list[str] = []

    def count(params: dict[str, Any], **_: Any) -> None:
        queries.append(params["ExpressionAttributeValues"][":pk"]["S"])

    table.items.client.meta.events.register("provide-client-params.dynamodb.Query", count)
    try:
        # WHEN the tenant's events since years ago are listed
        listed = table.events_since(tenant, datetime(2020, 1, 1, tzinfo=UTC), until=now, limit=1000)
    finally:
        table.items.client.meta.events.unregister("provide-client-params.dynamodb.Query", count)
    # THEN only the retention's days are read (31 days x 4 shards, the legacy listing once)
    assert [e.event_id for e in listed] == [kept]
    assert len(queries) == 31 * keys.WEBHOOK_EVENT_SHARDS + 1
    assert len(set(queries)) == len(queries)

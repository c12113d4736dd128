"""The /webhook-endpoints API in-process (authorizer + handler on moto): the secret is shown once,
rotation keeps the old secret signing for the overlap, unsafe URLs are refused and change
nothing, deliveries are listed, replay re-sends under the original webhook-id, tenants are apart."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks import Webhook

from dialer.adapters.webhook_sender import HttpSender
from dialer.adapters.webhooks_table import WebhooksTable, outbox_put
from dialer.domain.event_webhooks import EventType
from dialer.services.webhook_delivery import WebhookDeliverer
from tests.integration.conftest import load_handler
from tests.integration.management.conftest import Tenant
from tests.support.management import InProcessApi
from tests.support.receiver import receiver


@pytest.fixture
def api(aws: dict[str, Any], tenants: dict[str, Tenant]) -> InProcessApi:
    """The API as deployed: https to public hosts only."""
    return InProcessApi(load_handler("authorizer"), load_handler("assistants_api"))


@pytest.fixture
def local_api(
    aws: dict[str, Any], tenants: dict[str, Tenant], monkeypatch: pytest.MonkeyPatch
) -> Iterator[InProcessApi]:
    """The API as the local stack runs it: its explicit setting lets receivers on loopback (http)."""
    from dialer.settings import get_settings

    monkeypatch.setenv("STAGE", "local")
    monkeypatch.setenv("WEBHOOK_ALLOW_LOOPBACK", "true")
    get_settings.cache_clear()
    yield InProcessApi(load_handler("authorizer"), load_handler("assistants_api"))
    monkeypatch.undo()
    get_settings.cache_clear()


def _table() -> WebhooksTable:
    from dialer.settings import get_settings

    return WebhooksTable(get_settings().table_name)


def _deliver() -> None:
    WebhookDeliverer(
        _table(),
        HttpSender(allow_loopback=True, timeout=2),
        clock=lambda: datetime.now(UTC),
        wall_clock=lambda: datetime.now(UTC),
    ).run_once()


def test_an_endpoint_lifecycle_with_secret_rotation_and_replay(
    local_api: InProcessApi, alpha: Tenant, bravo: Tenant
) -> None:
    api = local_api
    with receiver() as hook:
        # GIVEN an endpoint: its secret is in the create answer only
        made = api.post("/webhook-endpoints", alpha.api_key, {"url": hook.url, "description": "CRM"})
        assert made.status == 201, made.body
        endpoint_id, first = made.body["id"], made.body["secret"]
        assert first.startswith("whsec_")
        shown = api.get(f"/webhook-endpoints/{endpoint_id}", alpha.api_key)
        assert shown.status == 200
        assert "secret" not in shown.body
        assert first not in str(api.get("/webhook-endpoints", alpha.api_key).body)
        # AND another tenant cannot see, change or replay it
        for method, path in [
            ("GET", ""),
            ("PATCH", ""),
            ("DELETE", ""),
            ("POST", "/replay"),
            ("GET", "/deliveries"),
        ]:
            body = (
                {"description": "x"}
                if method == "PATCH"
                else {"event_id": "evt_x"}
                if path == "/replay"
                else None
            )
            answer = api.request(
                method, f"/webhook-endpoints/{endpoint_id}{path}", token=bravo.api_key, body=body
            )
            assert answer.status == 404, (method, path, answer.body)
        # WHEN the secret is rotated with an overlap
        rotated = api.post(
            f"/webhook-endpoints/{endpoint_id}/rotate-secret", alpha.api_key, {"overlap_hours": 1}
        )
        assert rotated.status == 200, rotated.body
        second = rotated.body["secret"]
        assert second != first
        assert rotated.body["previous_secret_expires_at"]
        # AND an event is delivered
        event = outbox_put(
            alpha.tenant_id, EventType.LEAD_OPTED_OUT, {"lead_id": "L9"}, at=datetime.now(UTC), lead_id="L9"
        )
        _table().record_event(event)
        event_id = event["Put"]["Item"]["event_id"]
        _deliver()
        # THEN both secrets verify it (a receiver may switch at its own pace)
        ((headers, body),) = [r for r in hook.requests if r[0]["webhook-id"] == event_id]
        Webhook(first).verify(body, headers)
        Webhook(second).verify(body, headers)
        # AND the delivery is listed with its attempt
        page = api.get(f"/webhook-endpoints/{endpoint_id}/deliveries", alpha.api_key)
        assert page.status == 200
        [listed] = [d for d in page.body["data"] if d["event_id"] == event_id]
        assert listed["status"] == "delivered"
        assert listed["attempts"][0]["status_code"] == 200
        # WHEN it is replayed (by id, then since an instant) THEN it is sent again under the same id
        assert api.post(
            f"/webhook-endpoints/{endpoint_id}/replay", alpha.api_key, {"event_id": event_id}
        ).body == {"replayed": 1}
        _deliver()
        since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
        assert (
            api.post(f"/webhook-endpoints/{endpoint_id}/replay", alpha.api_key, {"since": since}).body[
                "replayed"
            ]
            >= 1
        )
        _deliver()
        assert [h["webhook-id"] for h, _ in hook.requests].count(event_id) == 3
        # WHEN it is disabled THEN replay is refused; deleted THEN it is gone
        assert (
            api.patch(f"/webhook-endpoints/{endpoint_id}", alpha.api_key, {"enabled": False}).body["enabled"]
            is False
        )
        assert (
            api.post(f"/webhook-endpoints/{endpoint_id}/replay", alpha.api_key, {"event_id": event_id}).status
            == 409
        )
        assert api.delete(f"/webhook-endpoints/{endpoint_id}", alpha.api_key).status == 204
        assert api.get(f"/webhook-endpoints/{endpoint_id}", alpha.api_key).status == 404


@pytest.mark.parametrize(
    "body",
    [
        {"url": "https://169.254.169.254/latest/meta-data/"},
        {"url": "https://2130706433/"},
        {"url": "https://[::ffff:127.0.0.1]/"},
        {"url": "ftp://example.com/"},
        {"url": "https://example.com/", "event_types": ["call.nope"]},
        {"url": "https://example.com/", "secret": "whsec_mine"},
    ],
)
def test_bad_endpoints_are_refused_and_create_nothing(
    api: InProcessApi, bravo: Tenant, body: dict[str, Any]
) -> None:
    before = api.get("/webhook-endpoints", bravo.api_key).body["data"]
    answer = api.post("/webhook-endpoints", bravo.api_key, body)
    assert answer.status == 422, answer.body
    assert api.get("/webhook-endpoints", bravo.api_key).body["data"] == before


def test_replay_needs_exactly_one_of_since_and_event_id(api: InProcessApi, alpha: Tenant) -> None:
    made = api.post("/webhook-endpoints", alpha.api_key, {"url": "https://crm.example.com/hooks"})
    endpoint_id = made.body["id"]
    for body in (
        {},
        {"since": "2026-01-01T00:00:00Z", "event_id": "evt_1"},
        {"since": "2026-01-01T00:00:00"},
    ):
        assert api.post(f"/webhook-endpoints/{endpoint_id}/replay", alpha.api_key, body).status == 422, body
    assert api.delete(f"/webhook-endpoints/{endpoint_id}", alpha.api_key).status == 204


def test_an_operators_campaign_move_records_its_event_in_the_same_write(
    api: InProcessApi, bravo: Tenant
) -> None:
    # GIVEN a draft campaign
    made = api.post("/campaigns", bravo.api_key, {"name": "Outbox"})
    assert made.status == 201, made.body
    campaign_id = made.body["id"]
    since = datetime.now(UTC) - timedelta(minutes=5)
    events_before = _table().events_since(bravo.tenant_id, since, until=datetime.now(UTC), limit=1000)
    # WHEN it is canceled, and then asked for a move a canceled campaign cannot make
    assert api.post(f"/campaigns/{campaign_id}/status", bravo.api_key, {"status": "canceled"}).status == 200
    assert api.post(f"/campaigns/{campaign_id}/status", bravo.api_key, {"status": "active"}).status == 409
    # THEN exactly one event reports the one move that happened
    new = [
        e
        for e in _table().events_since(bravo.tenant_id, since, until=datetime.now(UTC), limit=1000)
        if e not in events_before
    ]
    assert [(e.type, e.data["previous_status"], e.data["status"]) for e in new] == [
        ("campaign.status_changed", "draft", "canceled")
    ]

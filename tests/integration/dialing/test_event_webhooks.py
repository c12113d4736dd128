"""Event webhooks from a real campaign (in-process engine + the Telnyx simulator): every call the
simulator placed is reported once as ``call.completed`` (recorded in the settling transaction,
whatever duplicated and reordered webhooks did), the campaign's completion as
``campaign.status_changed``, and a receiver that was down for a while gets every one of them,
signed, under stable webhook-ids."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from typing import Any

from standardwebhooks import Webhook

from tests.integration.dialing.test_after_call import run_until_quiet, sim_calls
from tests.support.receiver import receiver


def test_every_call_is_reported_once_and_reaches_a_receiver_that_was_down(make_harness: Any) -> None:
    from datetime import UTC, datetime

    from dialer import keys
    from dialer.adapters.webhook_sender import HttpSender
    from dialer.adapters.webhooks_table import EndpointRecord, WebhooksTable
    from dialer.domain.dialing import utc_iso
    from dialer.domain.event_webhooks import new_secret
    from dialer.services.webhook_delivery import WebhookDeliverer

    # GIVEN a campaign whose webhooks the simulator duplicates and reorders
    h = make_harness(
        scenario_mix={"human": 0.5, "no_answer": 0.3, "busy": 0.2},
        duplicate_rate=0.3,
        reorder_rate=0.3,
        tool_calls=False,
    )
    table = WebhooksTable(h.table_name)
    secret = new_secret()
    with receiver() as hook:
        now = utc_iso(h.clock())
        endpoint = EndpointRecord(
            h.tenant,
            "we_crm",
            hook.url,
            ("call.completed", "campaign.status_changed"),
            "crm",
            True,
            now,
            now,
            ({"secret": secret, "expires_at": None},),
        )
        assert table.put_endpoint(endpoint)
        campaign_id = h.campaign(8, retry={"max_attempts": 1})
        # WHEN it runs to its end
        run_until_quiet(h, campaign_id)
        h.dispatcher().tick()  # notices the campaign is done
        # AND the receiver is down for the first delivery run, then back
        hook.answer = 503
        deliverer = WebhookDeliverer(
            table,
            HttpSender(allow_loopback=True, timeout=2),
            clock=h.clock,
            wall_clock=lambda: datetime.now(UTC),
        )
        deliverer.run_once()
        refused = len(hook.requests)
        hook.answer = 200
        h.clock.offset += timedelta(minutes=1)
        deliverer.run_once()
        # THEN every call the simulator placed arrived once as call.completed (after the refused try)
        placed = {c.call_control_id for c in sim_calls(h)}
        assert placed
        assert refused >= len(placed)
        delivered = hook.requests[refused:]
        docs = [Webhook(secret).verify(body, headers) for headers, body in delivered]
        completed = [d for d in docs if d["type"] == "call.completed"]
        assert Counter(d["data"]["call_id"] for d in completed) == Counter(placed)
        assert all(d["data"]["campaign_id"] == campaign_id and d["data"]["outcome"] for d in completed)
        # AND the retry carried the refused attempt's webhook-id
        first_ids = {headers["webhook-id"] for headers, _ in hook.requests[:refused]}
        assert first_ids == {headers["webhook-id"] for headers, _ in delivered}
        # AND the campaign's completion was reported with it
        statuses = [d["data"]["status"] for d in docs if d["type"] == "campaign.status_changed"]
        assert statuses == ["completed"], statuses
        assert all(json.loads(body)["id"] == headers["webhook-id"] for headers, body in delivered)
    # AND the events are listed by the table's own key, replayable since the campaign's start,
    # with no gsi1 listing entry written for any of them (issue 21)
    listed = table.events_since(h.tenant, h.clock() - timedelta(hours=1), until=h.clock(), limit=1000)
    assert {e.event_id for e in listed} >= {d["id"] for d in docs}
    legacy, _ = table.ops.query(
        "gsi1pk", keys.legacy_webhook_events_index(h.tenant)["gsi1pk"], index="gsi1", sk_name="gsi1sk"
    )
    assert legacy == []

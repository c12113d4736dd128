"""Benchmark after-the-call processing and campaign stats (in-process, moto).

Prints ``name value unit`` lines:

- ``event_processor_<event type>``: median milliseconds to apply one event of that type through
  the event processor with the engine's settler and the after-call effects (insight disposition,
  totals sync, budget), over ``CALLS`` linked calls. moto answers in-process, so the figures
  are the code's cost plus moto's, not DynamoDB latency; ``..._requests`` is the DynamoDB
  requests per event (what production pays) when the environment applied the call's earlier
  events, ``..._requests_unseen_call`` when it did not (its write is refused once, then made
  on the item the refusal returned).
- ``stats_*``: ``GET /campaigns/{id}/stats`` (the service) on a campaign whose counters stand for
  ``LEADS`` leads and ``LEADS`` ended calls (written as the counters those calls leave; the query
  reads only counters, so the calls themselves need not exist): milliseconds, requests and items
  read. A table scan would read ``LEADS`` items or more.

Run: ``.venv/bin/python bench/insights.py``
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "core"), str(ROOT / "layers" / "telnyx_client")]

CALLS = 20
LEADS = 100_000
TENANT = "bench-insights"
EVENTS = (
    "call.initiated",
    "call.answered",
    "call.machine.premium.detection.ended",
    "call.conversation.created",
    "call.hangup",
    "call.conversation.ended",
    "call.cost",
    "call.conversation_insights.generated",
)


def main() -> int:
    import boto3
    from moto import mock_aws

    from bench.dynamo_meter import DynamoMeter
    from local.moto_shims import embedded_moto
    from tests.support.aws import aws_env_defaults, function_environment, provision

    aws_env_defaults()
    with mock_aws(), embedded_moto():  # moto as the local stack runs it
        meter = DynamoMeter().install()
        stack = provision(lambda service: boto3.client(service, region_name="us-east-1"))
        os.environ.update(function_environment(stack))
        events(stack.table_name, meter)
        stats(stack.table_name, meter)
    return 0


def _message(name: str, call_id: str, suffix: str) -> str:
    """The SQS message of the fixture event ``name`` for ``call_id`` (its id made unique)."""
    from dialer.domain.webhook_message import WebhookMessage
    from tests.support.signing import load_fixture

    doc = json.loads(json.dumps(load_fixture(name)))
    doc["data"]["id"] = f"{doc['data']['id']}-{suffix}"
    doc["data"]["payload"]["call_control_id"] = call_id
    if name == "call.conversation_insights.generated":
        doc["data"]["payload"]["results"] = [
            {
                "insight_id": "i-1",
                "result": json.dumps({"disposition": "not_interested", "summary": "no"}),
            }
        ]
    body = json.dumps(doc)
    return WebhookMessage(
        tenant_id=TENANT,
        event_id="",
        event_type="",
        content_type="application/json",
        received_at="",
        signed_at=0,
        body=body,
        body_bytes=len(body),
    ).to_json()


def events(table: str, meter: Any) -> None:
    from dialer.adapters.campaigns_table import CampaignsTable
    from dialer.services.engine import build_after_call
    from dialer.services.lead_effects import CallOutcomes
    from dialer.services.processing import EventProcessor
    from dialer.settings import get_settings
    from tests.support.seed import Seeder

    settings = get_settings()
    from dialer import clock
    from dialer.adapters.calls_table import CallsTable, KnownCalls
    from dialer.adapters.dialing_table import DialingTable
    from dialer.adapters.people_table import ContactHistory

    calls = CallsTable(table)
    campaigns = CampaignsTable(table)
    processor = EventProcessor(
        calls=calls,
        payloads=_NoPayloads(),
        settler=CallOutcomes(DialingTable(table), campaigns, ContactHistory(table), clock.now),
        reader=calls,
        after_call=build_after_call(settings, calls),
    )
    seed = Seeder(campaigns)
    seed.campaign(TENANT, "cmp_bench")
    timings: dict[str, list[float]] = defaultdict(list)
    requests: dict[str, list[int]] = defaultdict(list)
    breakdown: dict[str, Any] = defaultdict(lambda: [defaultdict(int), defaultdict(float)])
    for i in range(CALLS):
        call_id = f"v3:bench-{i:04d}"
        lead = seed.lead(TENANT, "cmp_bench", f"+1312555{i:04d}")
        seed.linked_call(lead, 1, call_id)
        for name in EVENTS:
            message = _message(name, call_id, str(i))
            meter.reset()
            start = time.perf_counter()
            processor.process(message)
            timings[name].append((time.perf_counter() - start) * 1000)
            used = meter.meter
            requests[name].append(used.total_requests())
            for target, count in used.targets.items():
                breakdown[name][0][target] += count
            for (index, cls), units in used.by_class(used.write_units).items():
                breakdown[name][1][f"{index} {cls}"] += units
    # The same events once more, each applied by an environment that has not seen its call (a
    # fresh cache of known calls): SQS hands a call's events to any Lambda environment, and
    # there the call's write is refused once and made again on the item the refusal returned.
    cold: dict[str, list[int]] = defaultdict(list)
    for i in range(CALLS):
        call_id = f"v3:bench-cold-{i:04d}"
        lead = seed.lead(TENANT, "cmp_bench", f"+1312556{i:04d}")
        seed.linked_call(lead, 1, call_id)
        for name in EVENTS:
            calls.known = KnownCalls()
            meter.reset()
            processor.process(_message(name, call_id, f"cold-{i}"))
            cold[name].append(meter.meter.total_requests())
    for name in EVENTS:
        print(f"event_processor_{name.replace('.', '_')} {statistics.median(timings[name]):.2f} ms")
        print(
            f"event_processor_{name.replace('.', '_')}_requests {statistics.median(requests[name]):.0f} count"
        )
        print(
            f"event_processor_{name.replace('.', '_')}_requests_unseen_call "
            f"{statistics.median(cold[name]):.0f} count"
        )
        targets, units = breakdown[name]
        print(f"event_processor_{name.replace('.', '_')}_wcu {sum(units.values()) / CALLS:.1f} WCU")
        for target, count in sorted(targets.items(), key=lambda kv: -kv[1]):
            print(f"#   {count / CALLS:.2f} requests/event: {target}")
        for where, value in sorted(units.items(), key=lambda kv: -kv[1]):
            print(f"#   {value / CALLS:.2f} WCU/event: {where}")


def stats(table: str, meter: Any) -> None:
    from dialer import keys
    from dialer.adapters.calls_table import CallsTable
    from dialer.adapters.campaigns_table import CampaignsTable
    from dialer.adapters.dialing_table import DialingTable
    from dialer.adapters.totals_table import TotalsTable
    from dialer.domain.dialing import DUE_SHARDS
    from dialer.services.analytics import AnalyticsService
    from tests.support.seed import Seeder

    campaigns = CampaignsTable(table)
    Seeder(campaigns).campaign(TENANT, "cmp_big")
    campaigns.add_lead_count(TENANT, "cmp_big", LEADS)
    per_state = LEADS // DUE_SHARDS
    for shard in range(DUE_SHARDS):
        campaigns.ops.update(
            keys.campaign_stats_key(TENANT, "cmp_big", shard),
            add={
                "st_reached": per_state // 2,
                "st_exhausted": per_state - per_state // 2,
                "dials": per_state,
            },
        )
    per_shard = LEADS // keys.TOTALS_SHARDS
    for shard in range(keys.TOTALS_SHARDS):
        campaigns.ops.update(
            keys.campaign_totals_key(TENANT, "cmp_big", shard),
            add={
                "calls": per_shard,
                "connected": per_shard // 2,
                "out:answered_human": per_shard // 2,
                "out:no_answer": per_shard - per_shard // 2,
                "talk_s": per_shard * 40,
                "cost": Decimal("0.0140") * per_shard,  # type: ignore[dict-item]
                "disp:interested": per_shard // 10,
            },
        )
    service = AnalyticsService(
        TENANT,
        campaigns=campaigns,
        dialing=DialingTable(table),
        calls=CallsTable(table),
        totals=TotalsTable(table),
    )
    samples = []
    for _ in range(20):
        meter.reset()
        start = time.perf_counter()
        result = service.stats("cmp_big")
        samples.append((time.perf_counter() - start) * 1000)
    assert result.calls.calls == per_shard * keys.TOTALS_SHARDS
    print(f"stats_100k_leads_100k_calls {statistics.median(samples):.2f} ms")
    print(f"stats_requests {meter.meter.total_requests()} count")
    print(f"stats_items_read {meter.meter.items_read} count")


class _NoPayloads:
    def get(self, key: str) -> bytes:
        raise AssertionError("no claim-checked bodies here")


if __name__ == "__main__":
    raise SystemExit(main())

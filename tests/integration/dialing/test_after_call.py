"""After the call, end to end in-process: the simulator's conversations, insights (objects and
stringified JSON) and costs land on the call records; dispositions change leads and the DNC list
as the simulator's ground truth says; the campaign totals equal the calls; a budget stops dialling."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from decimal import Decimal
from typing import Any

from tests.integration.dialing.conftest import Harness


def run_until_quiet(h: Harness, campaign_id: str, *, rounds: int = 200) -> None:
    """Dial until nothing is in flight or due (callbacks wait for next week)."""
    from dialer.domain.dialing import utc_iso

    dispatcher = h.dispatcher()
    workers = [h.dialer() for _ in range(2)]
    for _ in range(rounds):
        dispatcher.tick()
        h.pump_dials(workers, max_idle_rounds=1)
        h.settle(5.0)
        stats = h.dialing.campaign_stats(h.tenant, campaign_id)
        if (
            stats["st_dialing"] == 0
            and h.dialing.due_summary(h.tenant, campaign_id, utc_iso(h.clock()))[0] == 0
        ):
            return
    raise AssertionError(f"still dialling: {h.dialing.campaign_stats(h.tenant, campaign_id)}")


STRUCTURED = {
    "id": "insight-disposition-0001",
    "name": "Disposition",
    "instructions": "Classify the call.",
    "insight_type": "custom",
    "json_schema": json.dumps(
        {
            "type": "object",
            "properties": {
                "disposition": {
                    "type": "string",
                    "enum": [
                        "interested",
                        "not_interested",
                        "callback_requested",
                        "appointment_set",
                        "do_not_call",
                        "wrong_number",
                        "voicemail_left",
                        "other",
                    ],
                },
                "callback_at": {"type": "string"},
                "appointment_at": {"type": "string"},
                "summary": {"type": "string"},
                "sentiment": {"type": "string"},
            },
        }
    ),
}


def with_after_call(h: Harness) -> None:
    """The harness's processor, plus the after-call effects (as the event processor wires them)."""
    from dialer.adapters.dispositions_table import DispositionsTable
    from dialer.adapters.totals_table import TotalsTable
    from dialer.services.after_call import AfterCall
    from dialer.services.lead_effects import CallOutcomes
    from dialer.services.processing import EventProcessor

    h.totals = TotalsTable(h.table_name)  # type: ignore[attr-defined]
    h.processor = EventProcessor(
        calls=h.calls,
        payloads=h.processor.payloads,
        settler=CallOutcomes(h.dialing, h.campaigns, h.history, h.clock),
        reader=h.calls,
        after_call=AfterCall(
            table_name=h.table_name,
            calls=h.calls,
            campaigns=h.campaigns,
            dialing=h.dialing,
            dispositions=DispositionsTable(h.table_name),
            dnc=h.dnc,
            history=h.history,
            totals=h.totals,  # type: ignore[attr-defined]
            defaults=h.defaults,
            clock=h.clock,
        ),
    )
    account = h.sim.account()
    with account.lock:
        account.insight_groups[account.default_group_id]["insights"].append(STRUCTURED)


def sim_calls(h: Harness) -> list[Any]:
    account = h.sim.account()
    with account.lock:
        return [c for c in account.calls.values() if c.kind == "call_control"]


def test_every_disposition_reaches_leads_dnc_and_totals_as_the_simulator_said(make_harness: Any) -> None:
    # GIVEN answered humans concluding every disposition, insights from a structured template
    h = make_harness(
        scenario_mix={"human": 1.0},
        disposition_mix={
            d: 1.0
            for d in (
                "interested",
                "not_interested",
                "callback_requested",
                "appointment_set",
                "dnc",
                "wrong_number",
            )
        },
        tool_calls=False,
    )
    with_after_call(h)
    campaign_id = h.campaign(18, retry={"max_attempts": 1})
    # WHEN the campaign runs to its end and every late event (cost, insights) has arrived
    run_until_quiet(h, campaign_id)
    h.settle(30.0)

    calls = sim_calls(h)
    assert len(calls) == 18
    said = Counter(c.disposition for c in calls)
    assert len(said) >= 4, said  # the mix really covers several dispositions
    leads = {i["phone"]: i for i in h.leads(campaign_id)}
    for sim_call in calls:
        record = h.calls.get_call_item(h.tenant, sim_call.call_control_id)
        assert record is not None
        lead = leads[sim_call.to]
        canonical = {"dnc": "do_not_call"}.get(sim_call.disposition, sim_call.disposition)
        # THEN the call record holds the conversation, the insight's conclusion and its cost
        assert record["conversation"]["conversation_id"] == sim_call.conversation_id
        assert record["disposition"] == canonical
        assert record["disposition_source"] == "insight"
        assert isinstance(record["cost"], Decimal)
        assert record["cost"] > 0
        listed = h.dnc.get(h.tenant, sim_call.to) is not None
        # AND the lead changed as the disposition says
        assert listed is (canonical == "do_not_call"), (canonical, sim_call.to)
        if canonical == "callback_requested":
            assert lead["status"] == "pending", lead
            assert lead.get("callback_at"), lead
        elif canonical == "appointment_set":
            assert lead.get("appointment_at"), lead
        elif canonical in ("interested", "not_interested", "wrong_number"):
            assert lead.get("result") == canonical, lead
    # AND the campaign totals are the sum over the calls (exactly once each)
    totals = h.totals.campaign_totals(h.tenant, campaign_id)  # type: ignore[attr-defined]
    records = [h.calls.get_call_item(h.tenant, c.call_control_id) or {} for c in calls]
    assert totals["cost"] == sum(Decimal(str(r["cost"])) for r in records)
    assert totals["calls"] == 18
    for disposition, n in Counter(r["disposition"] for r in records).items():
        assert totals[f"disp:{disposition}"] == n
    # AND the stats API reads the same figures from the counters
    from dialer.services.analytics import AnalyticsService

    analytics = AnalyticsService(
        h.tenant,
        campaigns=h.campaigns,
        dialing=h.dialing,
        calls=h.calls,
        totals=h.totals,  # type: ignore[attr-defined]
    )
    stats = analytics.stats(campaign_id)
    assert stats.calls.calls == 18
    assert stats.calls.answered_human == 18
    assert Decimal(stats.calls.cost_total) == totals["cost"]
    assert stats.calls.by_disposition == dict(Counter(r["disposition"] for r in records))
    assert stats.calls.average_talk_s is not None
    assert stats.calls.average_talk_s > 0
    # AND the hourly timeline holds the same calls and spend, hour by hour
    assert stats.timeline
    assert sum(h.calls for h in stats.timeline) == 18
    assert sum(Decimal(h.cost) for h in stats.timeline) == totals["cost"]
    assert [h.hour for h in stats.timeline] == sorted({r["ended_at"][:13] + ":00:00Z" for r in records})
    # AND the results export has every lead once, with its disposition and cost
    rows = list(csv.DictReader(io.StringIO("".join(analytics.results_csv(campaign_id)))))
    assert sorted(r["phone"] for r in rows) == sorted(leads)
    assert sum(Decimal(r["cost"]) for r in rows) == totals["cost"]
    # AND an export too big to answer inline waits in S3 behind a presigned link, byte for byte
    import boto3

    from dialer.adapters.import_files import ImportFiles

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="results-exports")
    inline = analytics.export_results(campaign_id, store=ImportFiles("results-exports", client=s3))
    assert inline.csv is not None
    assert inline.rows == 18
    linked = analytics.export_results(
        campaign_id, store=ImportFiles("results-exports", client=s3), inline_max=1000
    )
    assert linked.csv is None
    assert linked.url
    assert linked.rows == 18
    key = next(o["Key"] for o in s3.list_objects_v2(Bucket="results-exports")["Contents"])
    assert key.startswith(f"exports/{h.tenant}/{campaign_id}/")
    assert key in linked.url
    assert s3.get_object(Bucket="results-exports", Key=key)["Body"].read().decode() == inline.csv
    # AND a call's detail and the lead's calls show the call
    some = calls[0]
    assert analytics.call(some.call_control_id).conversation["conversation_id"] == some.conversation_id
    lead_id = leads[some.to]["lead_id"]
    assert [c.call_control_id for c in analytics.lead_calls(lead_id).data] == [some.call_control_id]
    # AND delivering every webhook again changes nothing
    before = (dict(totals), {p: (i["status"], i.get("result")) for p, i in leads.items()})
    h.processed = 0
    h.deliver_webhooks()
    again = h.totals.campaign_totals(h.tenant, campaign_id)  # type: ignore[attr-defined]
    leads_again = {i["phone"]: (i["status"], i.get("result")) for i in h.leads(campaign_id)}
    assert (dict(again), leads_again) == before


def test_a_budget_pauses_the_campaign_and_the_dialer_refuses_past_it(make_harness: Any) -> None:
    # GIVEN a campaign with a small budget (a call costs about 0.007 USD here), two channels
    h = make_harness(scenario_mix={"human": 1.0}, tool_calls=False)
    with_after_call(h)
    h.dialing.set_tenant_limits(
        h.tenant, channel_limit=2, dials_per_second=30, dials_per_5s=150, call_control_connection_id="conn-1"
    )
    cap = Decimal("0.12")
    campaign_id = h.campaign(60, retry={"max_attempts": 1}, budget={"max_cost": float(cap)})
    dispatcher = h.dispatcher()
    workers = [h.dialer()]
    # WHEN it dials until it stops
    status = "active"
    for _ in range(200):
        dispatcher.tick()
        h.pump_dials(workers, max_idle_rounds=1)
        h.settle(10.0)
        record = h.campaigns.get_campaign(h.tenant, campaign_id)
        assert record is not None
        status = record.status.value
        if status != "active":
            break
    # THEN it paused itself for its budget before its leads ran out
    assert status == "paused"
    assert record.paused_reason == "budget_reached"
    placed = len(sim_calls(h))
    assert 5 <= placed < 60, placed
    # AND what it spent stays within the cap plus what the last calls in flight cost
    spent = h.totals.campaign_totals(h.tenant, campaign_id)["cost"]  # type: ignore[attr-defined]
    assert spent <= cap + 2 * Decimal("0.014"), spent
    # AND nothing more is dialled while it stays paused
    dispatcher.tick()
    h.pump_dials(workers, max_idle_rounds=1)
    h.settle(10.0)
    assert len(sim_calls(h)) == placed


def test_any_order_and_duplication_of_every_event_gives_the_same_effects(make_harness: Any) -> None:
    """Each call's webhooks (lifecycle, AMD, conversation, insights, cost) delivered shuffled and
    partly twice, calls interleaved: the call records equal the in-order summaries, and leads, DNC
    list and totals follow the simulator's ground truth exactly as with in-order delivery."""
    import random

    from dialer.domain.calls import facts_from_event, merge_facts, summarize
    from dialer.domain.webhook_message import WebhookMessage
    from telnyx_client.webhooks import parse_webhook

    h = make_harness(
        scenario_mix={"human": 1.0},
        disposition_mix={d: 1.0 for d in ("interested", "callback_requested", "appointment_set", "dnc")},
        tool_calls=False,
    )
    with_after_call(h)
    campaign_id = h.campaign(8, retry={"max_attempts": 1})
    dispatcher = h.dispatcher()
    workers = [h.dialer()]
    # WHEN every lead is dialled and played out with no webhook applied yet
    for _ in range(20):
        dispatcher.tick()
        h.pump_dials(workers, max_idle_rounds=1, webhooks=False)
        if len(sim_calls(h)) == 8:
            break
    assert h.sim.wait_idle(30.0)
    received = [i for i in h.receiver.items() if i.verified and 200 <= i.status < 300]
    by_call: dict[str, list[bytes]] = {}
    for item in received:
        parsed = parse_webhook(item.body, item.headers.get("content-type", "application/json"))
        by_call.setdefault(str(parsed.call_control_id), []).append(item.body)
    rng = random.Random(10)
    plan = []
    for bodies in by_call.values():
        unique = list(dict.fromkeys(bodies))
        chosen = unique + [rng.choice(unique) for _ in range(len(unique) // 2)]
        rng.shuffle(chosen)
        plan.append(chosen)
    # AND the calls' shuffled events are interleaved
    delivery: list[bytes] = []
    while any(plan):
        queue = rng.choice([p for p in plan if p])
        delivery.append(queue.pop(0))
    h.processed = len(h.receiver.items())
    for body in delivery:
        message = WebhookMessage(
            tenant_id=h.tenant,
            event_id="",
            event_type="",
            content_type="application/json",
            received_at="",
            signed_at=0,
            body=body.decode(),
            body_bytes=len(body),
        )
        h.processor.process(message.to_json())
    # THEN each call record is the in-order summary of its events
    for call_control_id, bodies in by_call.items():
        facts: dict = {}
        for body in dict.fromkeys(bodies):
            p = parse_webhook(body, "application/json")
            facts = merge_facts(facts, facts_from_event(p.event_type, p.event_id, p.occurred_at, p.payload))
        expected = summarize(facts)
        record = h.calls.get_call_item(h.tenant, call_control_id)
        assert record is not None
        assert record["outcome"] == (expected.outcome.value if expected.outcome else None)
        assert Decimal(str(record["cost"])) == expected.cost
        assert record.get("insights", {}) == expected.insights
    # AND leads, the DNC list and the totals are what the simulator's conversations concluded
    leads = {i["phone"]: i for i in h.leads(campaign_id)}
    records = []
    for sim_call in sim_calls(h):
        record = h.calls.get_call_item(h.tenant, sim_call.call_control_id) or {}
        records.append(record)
        canonical = {"dnc": "do_not_call"}.get(sim_call.disposition, sim_call.disposition)
        assert record["disposition"] == canonical
        assert (h.dnc.get(h.tenant, sim_call.to) is not None) is (canonical == "do_not_call")
        lead = leads[sim_call.to]
        if canonical == "callback_requested":
            assert lead.get("callback_at"), lead
        if canonical == "appointment_set":
            assert lead.get("appointment_at"), lead
        if canonical == "interested":
            assert lead.get("result") == "interested", lead
    totals = h.totals.campaign_totals(h.tenant, campaign_id)  # type: ignore[attr-defined]
    assert totals["calls"] == 8
    assert totals["cost"] == sum(Decimal(str(r["cost"])) for r in records)
    for disposition, n in Counter(r["disposition"] for r in records).items():
        assert totals[f"disp:{disposition}"] == n

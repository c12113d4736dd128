"""Guarantees of the dialing path that the end-to-end tests cannot tell apart from their backups.

Each guarantee here has a second line of defence elsewhere (the dialer re-checks what the
dispatcher checked, the after-call effect and the dialer both pause a campaign at its budget, a
claim writes three conditional items): a run of the whole engine stays green when one of them is
removed. So each test below drives one service, on moto and the simulator, into the one state
where only that line decides, and asserts what it decided. Each is fast (one simulator, a handful
of leads, no waiting on the engine's schedules).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from tests.integration.dialing.conftest import Harness, phone

FLORIDA = 1  # phone(1) is a 305 number: Florida, 3 calls per person per 24 hours (across campaigns)


def take_jobs(h: Harness) -> list[Any]:
    """Every dial job queued now, taken off the queue (acked): the test hands them to a dialer."""
    from dialer.services.dialer import DialJob

    jobs = []
    while True:
        got = h.sqs.receive_message(QueueUrl=h.dials_url, MaxNumberOfMessages=10, VisibilityTimeout=30).get(
            "Messages", []
        )
        if not got:
            return jobs
        for m in got:
            jobs.append(DialJob.from_json(m["Body"]))
            h.sqs.delete_message(QueueUrl=h.dials_url, ReceiptHandle=m["ReceiptHandle"])


def pending_items(h: Harness, campaign_id: str) -> list[dict[str, Any]]:
    """The campaign's pending leads as the dispatcher reads them (from the due index)."""
    from dialer.domain.dialing import DUE_SHARDS

    return [
        i for shard in range(DUE_SHARDS) for i in h.dialing.pending_leads(h.tenant, campaign_id, shard, 100)
    ]


def lead(h: Harness, campaign_id: str, lead_id: str | None = None) -> dict[str, Any]:
    leads = h.leads(campaign_id)
    return next(i for i in leads if lead_id is None or i["lead_id"] == lead_id)


def called_before(h: Harness, number: str, times: int, *, campaign: str = "cmp_other") -> None:
    """``times`` calls to ``number`` in the last hours, placed by another campaign."""
    for k in range(times):
        at = h.clock() - timedelta(hours=2 + k)
        h.history.append(h.tenant, number, at, call_id=f"other#{k}", campaign_id=campaign, lead_id=f"o{k}")


def emf(out: str) -> Counter[str]:
    """Metric names in the EMF lines printed."""
    names: Counter[str] = Counter()
    for line in out.splitlines():
        if line.startswith('{"_aws"'):
            doc = json.loads(line)
            for directive in doc["_aws"]["CloudWatchMetrics"]:
                names.update(m["Name"] for m in directive["Metrics"])
    return names


# --- the claim ------------------------------------------------------------------------------------
def test_claimants_contesting_one_attempt_exactly_one_wins(make_harness: Any) -> None:
    from dialer.adapters.dialing_table import Claim, DialingTable
    from dialer.domain.dialing import utc_iso

    # GIVEN one pending lead, read by four dispatchers at once (as with a broken lease)
    h: Harness = make_harness(webhooks=False)
    campaign_id = h.campaign(1)
    [item] = pending_items(h, campaign_id)
    racers = 4
    barrier = threading.Barrier(racers)
    won: list[int] = []

    def claim() -> None:
        table = DialingTable(h.table_name)  # a client of its own, as another Lambda has
        barrier.wait(timeout=10)
        won.append(
            len(
                table.claim(
                    h.tenant,
                    [Claim(item=item, n=1, callback=False)],
                    now=utc_iso(h.clock()),
                    slot_limit=10,
                    slot_until=h.clock().timestamp() + 600,
                )
            )
        )

    # WHEN they all claim its first attempt at the same moment
    threads = [threading.Thread(target=claim) for _ in range(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    # THEN exactly one wins: one claim, one slot, one dialing lead in the counters
    assert sorted(won) == [0] * (racers - 1) + [1]
    assert lead(h, campaign_id)["status"] == "dialing"
    assert h.dialing.slots_in_use(h.tenant) == 1
    assert h.dialing.campaign_stats(h.tenant, campaign_id)["st_dialing"] == 1


@pytest.mark.parametrize("meanwhile", ["deferred", "blocked", "ended-keeping-its-due-key"])
def test_a_claim_on_a_stale_read_of_the_lead_wins_nothing(make_harness: Any, meanwhile: str) -> None:
    from dialer import keys
    from dialer.adapters.dialing_table import Claim
    from dialer.domain.dialing import LeadStatus, utc_iso

    # GIVEN a pending lead read by a dispatcher, which another dispatcher then deferred (outside
    # a window) or ended (its number went on the DNC list) before the first one claims it; or
    # which a writer ended without taking it out of the due index (the claim's own condition on
    # the status is then all that keeps it from being dialled)
    h: Harness = make_harness(webhooks=False)
    campaign_id = h.campaign(1)
    [item] = pending_items(h, campaign_id)
    now = utc_iso(h.clock())
    if meanwhile == "deferred":
        later = utc_iso(h.clock() + timedelta(hours=12))
        assert h.dialing.defer(
            h.tenant, item, at=later, reasons=["outside_window"], deferred_reason="outside_window", now=now
        )
    elif meanwhile == "blocked":
        assert h.dialing.end_pending(h.tenant, item, status=LeadStatus.BLOCKED, reasons=["dnc"], now=now)
    else:
        assert h.dialing.ops.update(
            keys.lead_key(h.tenant, str(item["lead_id"])), set_fields={"status": LeadStatus.CANCELED.value}
        )
    before = lead(h, campaign_id)

    # WHEN the first dispatcher claims it on what it read
    won = h.dialing.claim(
        h.tenant,
        [Claim(item=item, n=1, callback=False)],
        now=now,
        slot_limit=10,
        slot_until=h.clock().timestamp() + 600,
    )

    # THEN it wins nothing and the lead is as the other dispatcher left it
    assert won == []
    assert lead(h, campaign_id) == before
    assert h.dialing.slots_in_use(h.tenant) == 0


# --- the dispatcher's own checks ------------------------------------------------------------------
def test_the_dispatcher_never_claims_a_number_on_the_dnc_list(make_harness: Any) -> None:
    from dialer.adapters.people_table import DncAudit, DncEntry

    # GIVEN two leads, one of whose numbers is on the tenant's DNC list
    h: Harness = make_harness(webhooks=False)
    campaign_id = h.campaign(2)
    now = h.clock().isoformat()
    listed = phone(0)
    h.dnc.add(
        DncEntry(h.tenant, listed, "asked", "api", now, "test"),
        DncAudit("a1", listed, "added", "asked", "api", "test", now),
    )
    # WHEN the dispatcher ticks
    report = h.dispatcher(tick_seconds=1.0).tick()
    # THEN it claims only the other: the listed lead is blocked for DNC with no job queued for it
    assert (report.claimed, report.ended) == (1, 1)
    blocked = next(i for i in h.leads(campaign_id) if i["phone"] == listed)
    assert blocked["status"] == "blocked"
    assert "dnc" in blocked["last_reasons"]
    [job] = take_jobs(h)
    assert job.lead_id != blocked["lead_id"]


def test_the_dispatcher_defers_a_person_another_campaign_already_called_to_the_cap(
    make_harness: Any,
) -> None:
    # GIVEN a Florida lead whose number another campaign called three times in the last hours
    h: Harness = make_harness(webhooks=False)
    campaign_id = h.campaign(1, start=FLORIDA)
    called_before(h, phone(FLORIDA), 3)
    # WHEN the dispatcher ticks
    report = h.dispatcher(tick_seconds=1.0).tick()
    # THEN it does not claim it: the lead waits for the cap's 24 hours to pass, no job queued
    assert (report.claimed, report.deferred) == (0, 1)
    item = lead(h, campaign_id)
    assert item["status"] == "pending"
    assert item["deferred_reason"] == "cap_24h"
    assert take_jobs(h) == []


def test_the_dispatcher_applies_the_rules_of_the_leads_address_state_as_well_as_its_numbers(
    make_harness: Any,
) -> None:
    from dialer.domain.campaigns import CampaignStatus
    from dialer.services.campaign_models import LeadInput
    from dialer.services.campaigns import CampaignsService
    from dialer.services.leads import LeadsService

    # GIVEN a lead living in Florida (3 calls per person per 24 hours) with a New York number (no
    # state cap), whose number another campaign called three times in the last hours
    h: Harness = make_harness(webhooks=False)
    campaign_id = h.campaign(0, status="draft")
    now = h.clock()
    service = CampaignsService(h.tenant, h.campaigns, h.management, clock=h.clock)
    added = LeadsService(h.tenant, h.campaigns, service, clock=h.clock).add_batch(
        campaign_id,
        [
            LeadInput.model_validate(
                {
                    "phone": phone(0),
                    "state": "FL",
                    "consent": {
                        "type": "express_written",
                        "source": "web",
                        "granted_at": now - timedelta(days=3),
                    },
                    "dnc_scrubbed_at": now - timedelta(days=1),
                }
            )
        ],
    )
    assert added.rejected == 0, added.errors
    h.move(campaign_id, CampaignStatus.ACTIVE)
    called_before(h, phone(0), 3)
    # WHEN the dispatcher ticks
    report = h.dispatcher(tick_seconds=1.0).tick()
    # THEN Florida's cap holds it: deferred for the cap, no job queued
    assert (report.claimed, report.deferred) == (0, 1)
    item = lead(h, campaign_id)
    assert (item["status"], item["deferred_reason"]) == ("pending", "cap_24h")
    assert take_jobs(h) == []


# --- the campaign's pacing -----------------------------------------------------------------------
def test_the_dispatcher_claims_no_more_than_a_campaigns_max_concurrent(make_harness: Any) -> None:
    # GIVEN a campaign of five leads that may have two calls in flight at once (the tenant's
    # budget for a tick, 10 channels and 30 dials a second, would claim all five)
    h: Harness = make_harness(webhooks=False)
    campaign_id = h.campaign(5, pacing={"max_concurrent": 2})
    dispatcher = h.dispatcher(tick_seconds=1.0)
    # WHEN the dispatcher ticks
    first = dispatcher.tick()
    # THEN it claims two: two jobs queued, two slots held, the other three still pending
    assert first.claimed == 2
    assert len(take_jobs(h)) == 2
    assert h.dialing.slots_in_use(h.tenant) == 2
    assert Counter(i["status"] for i in h.leads(campaign_id)) == {"dialing": 2, "pending": 3}
    # AND while those two are in flight, the next tick claims none
    assert dispatcher.tick(1).claimed == 0
    assert take_jobs(h) == []


def test_the_dispatcher_claims_no_more_than_a_campaigns_max_dials_per_minute(make_harness: Any) -> None:
    # GIVEN a campaign of six leads that may be dialled three times a minute, at the start of a
    # minute of the engine's clock (both ticks below fall in one minute)
    h: Harness = make_harness(webhooks=False)
    now = h.clock()
    h.clock.offset += timedelta(seconds=60 - now.second + 1, microseconds=-now.microsecond)
    campaign_id = h.campaign(6, pacing={"max_dials_per_minute": 3})
    dispatcher = h.dispatcher(tick_seconds=1.0)
    # WHEN the dispatcher ticks
    first = dispatcher.tick()
    # THEN it claims three, the minute's allowance
    assert first.claimed == 3
    assert len(take_jobs(h)) == 3
    # AND the next tick in the same minute claims none, though calls could be in flight: the
    # minute's claims are counted, not the calls
    minute = h.clock().strftime("%Y-%m-%dT%H:%M")
    assert h.dialing.pace(h.tenant, campaign_id, [minute]) == {minute: 3}
    assert dispatcher.tick(1).claimed == 0
    assert take_jobs(h) == []
    assert Counter(i["status"] for i in h.leads(campaign_id)) == {"dialing": 3, "pending": 3}


# --- the dialer's re-checks -----------------------------------------------------------------------
def test_the_dialer_refuses_a_person_called_to_the_cap_after_the_claim(make_harness: Any) -> None:
    # GIVEN a claimed Florida lead, whose number another campaign then called three times
    h: Harness = make_harness(webhooks=False)
    campaign_id = h.campaign(1, start=FLORIDA)
    assert h.dispatcher(tick_seconds=1.0).tick().claimed == 1
    called_before(h, phone(FLORIDA), 3)
    # WHEN the dialer handles the job
    [job] = take_jobs(h)
    result = h.dialer().handle(job)
    # THEN nothing is dialled: the lead is deferred for the cap, its slot back, nothing counted
    assert result == "dropped"
    assert h.sim_attempts() == Counter()
    item = lead(h, campaign_id)
    assert (item["status"], item["deferred_reason"]) == ("pending", "cap_24h")
    assert int(item["attempts"]) == 0
    assert h.dialing.slots_in_use(h.tenant) == 0


def test_the_dialer_records_each_call_in_the_persons_contact_history(make_harness: Any) -> None:
    # GIVEN a claimed Florida lead with no calls before
    h: Harness = make_harness(webhooks=False)
    campaign_id = h.campaign(1, start=FLORIDA)
    assert h.dispatcher(tick_seconds=1.0).tick().claimed == 1
    # WHEN the dialer places its call
    [job] = take_jobs(h)
    assert h.dialer().handle(job) == "dialed"
    # THEN the person's history (read by every campaign's caps) holds that call, once
    recent = h.history.recent(h.tenant, phone(FLORIDA), h.clock() - timedelta(hours=1))
    assert len(recent) == 1
    # AND so two more calls from any campaign reach Florida's cap of 3: the next is refused
    called_before(h, phone(FLORIDA), 2)
    other = h.campaign(1, start=FLORIDA)
    assert h.dispatcher(tick_seconds=1.0).tick().claimed == 0
    assert lead(h, other)["deferred_reason"] == "cap_24h"
    assert lead(h, campaign_id)["status"] == "dialing"


def test_the_dialer_refuses_a_call_that_would_go_past_the_budget(make_harness: Any) -> None:
    # GIVEN a claimed lead of a campaign whose budget one call in flight already reaches
    # (before any cost report a call is expected to cost 0.05 USD)
    h: Harness = make_harness(webhooks=False)
    campaign_id = h.campaign(1, budget={"max_cost": 0.05})
    assert h.dispatcher(tick_seconds=1.0).tick().claimed == 1
    # WHEN the dialer handles its job
    [job] = take_jobs(h)
    result = h.dialer().handle(job)
    # THEN nothing is dialled, the lead goes back to due uncounted and the campaign pauses itself
    assert result == "dropped"
    assert h.sim_attempts() == Counter()
    item = lead(h, campaign_id)
    assert (item["status"], int(item["attempts"])) == ("pending", 0)
    record = h.campaigns.get_campaign(h.tenant, campaign_id)
    assert record is not None
    assert (record.status.value, record.paused_reason) == ("paused", "budget_reached")


def test_a_429_gives_the_slot_back_and_is_not_a_failed_call(
    make_harness: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from dialer.observability import discard_business_metrics, flush_business_metrics

    discard_business_metrics()  # facts other tests of this process left unflushed
    # GIVEN Telnyx allowing one dial per second (the tenant's limits think 30), two claimed leads
    h: Harness = make_harness(webhooks=False, dials_per_second=1, dials_per_5s=1)
    campaign_id = h.campaign(2)
    assert h.dispatcher(tick_seconds=1.0).tick().claimed == 2
    first, second = take_jobs(h)
    dialer = h.dialer()
    capsys.readouterr()
    # WHEN the two jobs are handled at once: the second dial gets a 429
    results = [dialer.handle(first), dialer.handle(second)]
    # THEN the first is dialled and the second waits to come back: re-queued, not failed
    assert results == ["dialed", "requeued"]
    assert take_jobs(h) == []  # its job comes back only after the hold (below)
    assert h.sim.stats()["rate_limited_429"] == 1
    flush_business_metrics()  # what the dialer handler's metrics decorator does at its end
    metrics = emf(capsys.readouterr().out)
    assert (metrics["DialRefused429"], metrics["DialFailed"]) == (1, 0)
    # AND its slot came back (one call in flight holds one), its attempt is claimed again,
    # nothing counted, no reason on the lead
    assert h.dialing.slots_in_use(h.tenant) == 1
    refused = lead(h, campaign_id, second.lead_id)
    assert (refused["status"], int(refused["attempts"]), refused.get("deferred_reason")) == (
        "dialing",
        0,
        None,
    )
    attempt = h.dialing.get_attempt(h.tenant, second.lead_id, second.n)
    assert attempt is not None
    assert attempt.state == "claimed"
    # AND the tenant's whole dial schedule is held: no dialer gets a token within the hold
    from dialer.services.dialer import _BACKOFF_429

    refused_at = dialer.epoch()
    assert h.dialing.reserve_dial(h.tenant, refused_at, 0.01, _BACKOFF_429 / 2) is None
    assert (
        h.dialing.reserve_dial(h.tenant, refused_at, 0.01, _BACKOFF_429) or 0
    ) >= refused_at + _BACKOFF_429 / 2
    # AND the job is queued again, for after the hold
    assert [j.lead_id for j in take_jobs_after(h, seconds=3)] == [second.lead_id]


def test_a_job_that_finds_the_dial_schedule_full_keeps_its_slot_and_comes_back(make_harness: Any) -> None:
    # GIVEN a claimed lead and a tenant whose dial schedule is held further ahead than a dialer
    # waits in-process (after a 429, or other dialers' tokens)
    h: Harness = make_harness(webhooks=False)
    campaign_id = h.campaign(1)
    assert h.dispatcher(tick_seconds=1.0).tick().claimed == 1
    [job] = take_jobs(h)
    dialer = h.dialer()
    h.dialing.hold_dials_until(h.tenant, dialer.epoch() + 10 * dialer.config.max_wait_seconds)

    # WHEN a dialer handles its job
    assert dialer.handle(job) == "requeued"

    # THEN nothing was dialled, the attempt is still claimed and keeps the slot the dispatcher
    # counted for it, nothing counted on the lead
    assert h.sim.dials()["count"] == 0
    attempt = h.dialing.get_attempt(h.tenant, job.lead_id, job.n)
    assert attempt is not None
    assert attempt.state == "claimed"
    assert h.dialing.slots_in_use(h.tenant) == 1
    assert int(lead(h, campaign_id, job.lead_id)["attempts"]) == 0
    # AND the job is queued again (a lost job would hold the lead and the slot until the reaper)
    assert [j.lead_id for j in take_jobs_after(h, seconds=3)] == [job.lead_id]


@pytest.mark.parametrize(
    "change",
    [{"status": "canceled"}, {"dials": 2}],
    ids=["settled-by-another-writer", "claimed-again-for-a-later-attempt"],
)
def test_a_lead_that_changed_since_its_claim_is_not_dialled(
    make_harness: Any, change: dict[str, Any]
) -> None:
    from dialer import keys

    # GIVEN a claimed lead whose job waits in the queue
    h: Harness = make_harness(webhooks=False)
    campaign_id = h.campaign(1)
    assert h.dispatcher(tick_seconds=1.0).tick().claimed == 1
    [job] = take_jobs(h)
    # AND the lead moved on before a dialer took the job (its attempt is still `claimed`)
    h.dialing.ops.update(keys.lead_key(h.tenant, job.lead_id), set_fields=change)

    # WHEN a dialer handles the job
    assert h.dialer().handle(job) == "dropped"

    # THEN nothing was dialled, and the lead is what the other writer left
    assert h.sim.dials()["count"] == 0
    stored = lead(h, campaign_id, job.lead_id)
    assert all(str(stored[name]) == str(value) for name, value in change.items())


def take_jobs_after(h: Harness, *, seconds: float) -> list[Any]:
    """The jobs that become visible within ``seconds`` (a re-queued job is delayed)."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        jobs = take_jobs(h)
        if jobs:
            return jobs
        time.sleep(0.2)
    return []


# --- after the call -------------------------------------------------------------------------------
def test_a_cost_report_reaching_the_budget_pauses_the_campaign(make_harness: Any) -> None:
    from dialer.domain.webhook_message import WebhookMessage
    from tests.integration.dialing.test_after_call import with_after_call
    from tests.support.signing import load_fixture

    # GIVEN a campaign with a 0.10 USD budget and its one call in flight (0.05 expected)
    h: Harness = make_harness(webhooks=False)
    with_after_call(h)
    campaign_id = h.campaign(1, budget={"max_cost": 0.10})
    assert h.dispatcher(tick_seconds=1.0).tick().claimed == 1
    [job] = take_jobs(h)
    assert h.dialer().handle(job) == "dialed"
    item = lead(h, campaign_id)
    attempt = h.dialing.get_attempt(h.tenant, item["lead_id"], int(item["current_attempt"]))
    assert attempt is not None
    assert attempt.call_control_id
    call_id = attempt.call_control_id
    # WHEN Telnyx reports the call cost 0.12 USD
    doc = load_fixture("call.cost")
    doc["data"]["payload"].update(
        call_control_id=call_id,
        total_cost="0.1200",
        cost_parts=[
            {
                "billed_duration_secs": 120,
                "call_part": "call-control",
                "cost": "0.1200",
                "currency": "USD",
                "rate": "0.06",
            }
        ],
    )
    body = json.dumps(doc)
    message = WebhookMessage(
        tenant_id=h.tenant,
        event_id=doc["data"]["id"],
        event_type="call.cost",
        content_type="application/json",
        received_at="",
        signed_at=0,
        body=body,
        body_bytes=len(body),
    )
    h.processor.process(message.to_json())
    # THEN the campaign pauses itself for its budget, with no dial in between to notice
    record = h.campaigns.get_campaign(h.tenant, campaign_id)
    assert record is not None
    assert (record.status.value, record.paused_reason) == ("paused", "budget_reached")

"""Faults: Telnyx answering 429, 5xx and timeouts on about a fifth of the dials (some 5xx after
the call was placed), webhooks duplicated and reordered, and a crash between a call's commit and
its lead effect. No double dial, no lost lead, every slot released, every effect applied once."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from tests.integration.dialing.conftest import Harness

RETRIED = ("no_answer", "busy", "voicemail", "failed", "unknown")
RETRY_NOW = {"max_attempts": 2, "outcomes": {o: {"delay_minutes": 0, "max_attempts": 2} for o in RETRIED}}


def drive(h: Harness, campaign_id: str, *, seconds: float, dialers: int = 2) -> None:
    """Dispatcher ticks, dialers, webhooks and (with the clock moved on) the reaper, until the
    campaign completes."""
    dispatcher = h.dispatcher()
    workers = [h.dialer() for _ in range(dialers)]
    reaper = h.reaper()
    end = time.monotonic() + seconds
    rounds = 0
    while time.monotonic() < end:
        rounds += 1
        dispatcher.tick(rounds)
        h.pump_dials(workers, max_idle_rounds=1)
        h.settle(5.0)
        if rounds % 3 == 0:
            # Time passes for the reaper: ambiguous dials and silent calls get settled.
            h.clock.offset += timedelta(minutes=5)
            reaper.run([h.tenant])
        record = h.campaigns.get_campaign(h.tenant, campaign_id)
        if record is not None and record.status.value == "completed":
            return
    leads = Counter(
        (i["status"], i.get("last_outcome"), str(i.get("last_reasons"))) for i in h.leads(campaign_id)
    )
    raise AssertionError(f"campaign did not complete: {leads}")


def test_faults_on_a_fifth_of_the_dials_lose_nothing_and_dial_nothing_twice(make_harness: Any) -> None:
    # GIVEN Telnyx failing ~20 % of dials: 5xx (half of them after placing the call), responses
    # slower than our timeout, and a dial rate lower than the tenant thinks (429s); webhooks
    # duplicated and reordered
    h: Harness = make_harness(
        error_5xx_rate=0.12,
        error_5xx_commit_fraction=0.5,
        slow_response_rate=0.05,
        slow_response_s=2.5,
        dials_per_second=4,
        dials_per_5s=12,
        duplicate_rate=0.3,
        reorder_rate=0.3,
        channel_limit=50,
        scenario_mix={"human": 0.4, "no_answer": 0.3, "busy": 0.1, "invalid_number": 0.1, "voicemail": 0.1},
    )
    campaign_id = h.campaign(20, retry=RETRY_NOW)

    # WHEN the engine runs the campaign to its end
    drive(h, campaign_id, seconds=400)

    # THEN no attempt was ever placed twice (the simulator's ground truth)
    placed = h.sim_attempts()
    assert placed
    assert max(placed.values()) == 1, [a for a, c in placed.items() if c > 1]
    # AND the faults really happened
    stats = h.sim.stats()
    faults = {
        k: stats[k] for k in ("injected_5xx", "injected_5xx_committed", "slow_responses", "rate_limited_429")
    }
    print(f"faults: {faults}, dials {stats['dials_accepted']}, duplicates {stats['duplicates_sent']}")
    assert sum(faults.values()) > 0, stats
    # AND every lead ended (no lost lead), within its attempts, each call applied once
    leads = h.leads(campaign_id)
    assert {str(i["status"]) for i in leads} <= {"reached", "exhausted", "invalid"}
    per_lead = Counter(a.rsplit("#", 1)[0] for a in placed)
    assert max(per_lead.values()) <= 2
    for item in leads:
        assert int(item["attempts"]) <= 2
    counters = h.dialing.campaign_stats(h.tenant, campaign_id)
    assert counters["st_dialing"] == 0
    assert sum(v for k, v in counters.items() if k.startswith("st_")) == len(leads)
    # AND every slot was given back
    assert h.dialing.slots_in_use(h.tenant) == 0
    assert h.dialing.held_slots(h.tenant) == []


class CrashOnce:
    """The event processor's lead effect, dying once right after the call record committed."""

    def __init__(self, settler: Any) -> None:
        self.settler = settler
        self.crashed: set[str] = set()

    def after_event(self, tenant_id: str, call: Any) -> Any:
        ccid = str(call.get("call_control_id"))
        if call.get("state") == "ended" and ccid not in self.crashed:
            self.crashed.add(ccid)
            raise RuntimeError("crash between the call commit and the lead effect")
        return self.settler.after_event(tenant_id, call)


def test_a_crash_between_the_call_commit_and_the_lead_effect_loses_nothing(make_harness: Any) -> None:
    from dialer.domain.webhook_message import WebhookMessage

    # GIVEN dialled calls whose processor dies after committing each hangup, before the lead effect
    h: Harness = make_harness(scenario_mix={"no_answer": 1.0})
    campaign_id = h.campaign(5, retry={"max_attempts": 3})
    h.processor.settler = CrashOnce(h.processor.settler)
    h.dispatcher().tick()
    h.pump_dials([h.dialer()], max_idle_rounds=1, webhooks=False)
    h.sim.wait_idle(10)
    failed: list[str] = []
    for item in h.receiver.items():
        message = WebhookMessage(
            tenant_id=item.path.rsplit("/", 1)[-1],
            event_id="",
            event_type="",
            content_type="application/json",
            received_at="",
            signed_at=0,
            body=item.body.decode(),
        ).to_json()
        try:
            h.processor.process(message)
        except RuntimeError:
            failed.append(message)  # SQS keeps it and delivers it again
    h.processed = len(h.receiver.items())
    assert len(failed) == 5
    leads = {i["lead_id"]: i for i in h.leads(campaign_id)}
    assert {i["status"] for i in leads.values()} == {"dialing"}  # the effect did not happen yet

    # WHEN SQS redelivers the failed messages (the call records already have them: duplicates)
    for message in failed:
        h.processor.process(message)
    # AND delivers them once more still
    for message in failed:
        h.processor.process(message)

    # THEN each lead effect was applied exactly once: one attempt counted, retry scheduled
    for item in h.leads(campaign_id):
        assert item["status"] == "pending"
        assert int(item["attempts"]) == 1
        assert item["last_outcome"] == "no_answer"
    counters = h.dialing.campaign_stats(h.tenant, campaign_id)
    assert counters["out_no_answer"] == 5
    assert counters["st_dialing"] == 0
    assert h.dialing.slots_in_use(h.tenant) == 0


@pytest.mark.parametrize("target", ["paused", "canceled"])
def test_queued_jobs_of_a_paused_or_canceled_campaign_are_dropped_at_dial_time(
    make_harness: Any, target: str
) -> None:
    from dialer.domain.campaigns import CampaignStatus
    from dialer.services.dispatcher import cancel_sweep_message

    # GIVEN claimed, queued dial jobs
    h: Harness = make_harness()
    campaign_id = h.campaign(6)
    report = h.dispatcher(tick_seconds=1.0).tick()
    assert report.claimed == 6

    # WHEN the campaign is paused (or canceled) before the dialers take the jobs
    h.move(campaign_id, CampaignStatus(target))
    time.sleep(1.1)  # the dialers' campaign cache lives one second (one tick)
    results = h.pump_dials([h.dialer()], max_idle_rounds=1)

    # THEN nothing was dialled, nothing counted, every slot is back
    assert results == Counter({"dropped": 6})
    assert h.sim_attempts() == Counter()
    counters = h.dialing.campaign_stats(h.tenant, campaign_id)
    assert counters["dials"] == 0
    assert counters["st_dialing"] == 0
    assert h.dialing.slots_in_use(h.tenant) == 0
    leads = h.leads(campaign_id)
    if target == "paused":
        # AND the leads are due again, unattempted; resuming dials them
        assert {(i["status"], int(i["attempts"])) for i in leads} == {("pending", 0)}
        h.move(campaign_id, CampaignStatus.ACTIVE)
        assert h.dispatcher(tick_seconds=1.0).tick().claimed == 6
        assert h.pump_dials([h.dialer()], max_idle_rounds=1)["dialed"] == 6
        assert set(h.sim_attempts().values()) == {1}
    else:
        assert {i["status"] for i in leads} == {"canceled"}
        # AND the cancel sweep has nothing left to do (and is idempotent)
        assert (
            h.dispatcher()
            .handle_message(cancel_sweep_message(h.tenant, campaign_id), remaining=lambda: 60.0)
            .claimed
            == 0
        )


def test_cancel_sweeps_every_pending_lead(make_harness: Any) -> None:
    from dialer.domain.campaigns import CampaignStatus
    from dialer.services.dispatcher import cancel_sweep_message

    h: Harness = make_harness()
    campaign_id = h.campaign(30)
    h.move(campaign_id, CampaignStatus.CANCELED)
    dispatcher = h.dispatcher()
    # A sweep that runs out of time leaves the rest for its continuation
    continued: list[str] = []

    class Sink:
        def send(self, body: str, *, delay_seconds: int = 0) -> object:
            continued.append(body)
            return "m"

    budget = iter([10.0, 10.0, 0.0] + [10.0] * 100)
    dispatcher.handle_message(
        cancel_sweep_message(h.tenant, campaign_id), remaining=lambda: next(budget), continuations=Sink()
    )
    assert continued
    dispatcher.handle_message(continued[0], remaining=lambda: 60.0, continuations=Sink())
    assert {i["status"] for i in h.leads(campaign_id)} == {"canceled"}
    assert h.dialing.campaign_stats(h.tenant, campaign_id)["st_canceled"] == 30

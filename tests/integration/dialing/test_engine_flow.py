"""The engine end to end in-process: claims, dials, webhooks, outcomes, retries, completion."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from tests.integration.dialing.conftest import Harness


def run_until_done(h: Harness, campaign_id: str, *, seconds: float = 120.0, dialers: int = 2) -> None:
    dispatcher = h.dispatcher()
    workers = [h.dialer() for _ in range(dialers)]
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        dispatcher.tick()
        h.pump_dials(workers, max_idle_rounds=1)
        h.settle(5.0)
        record = h.campaigns.get_campaign(h.tenant, campaign_id)
        if record is not None and record.status.value == "completed":
            return
    leads = h.leads(campaign_id)
    detail = Counter((i["status"], i.get("last_outcome"), str(i.get("last_reasons"))) for i in leads)
    raise AssertionError(
        f"campaign did not complete: {detail} {h.dialing.campaign_stats(h.tenant, campaign_id)}"
    )


def test_a_campaign_dials_every_lead_once_and_completes_by_itself(make_harness: Any) -> None:
    h = make_harness(scenario_mix={"human": 0.5, "no_answer": 0.5})
    campaign_id = h.campaign(20, retry={"max_attempts": 1})
    run_until_done(h, campaign_id)
    placed = h.sim_attempts()
    assert placed
    assert max(placed.values()) == 1
    leads = h.leads(campaign_id)
    assert Counter(i["status"] for i in leads) <= Counter({"reached": 20, "exhausted": 20})
    assert all(i["status"] in ("reached", "exhausted") for i in leads)
    stats = h.dialing.campaign_stats(h.tenant, campaign_id)
    assert stats["st_dialing"] == 0
    assert h.dialing.slots_in_use(h.tenant) == 0


def test_the_dispatch_loop_stops_at_once_when_no_campaign_is_active(make_harness: Any) -> None:
    # GIVEN a tenant whose only campaign is paused, and a dispatcher asked to loop for 50 s
    h = make_harness()
    campaign_id = h.campaign(3)
    from dialer.domain.campaigns import CampaignStatus

    h.move(campaign_id, CampaignStatus.PAUSED)
    slept: list[float] = []
    dispatcher = h.dispatcher(tick_seconds=1.0)
    dispatcher.sleep = slept.append
    # WHEN the scheduled run starts
    report = dispatcher.run(seconds=50.0)
    # THEN one sub-tick found nothing to dial and the run ended without sleeping the minute away
    assert report.ticks == 1
    assert report.active_tenants == 0
    assert slept == []
    # AND with the campaign active again, the run keeps ticking through its time
    h.move(campaign_id, CampaignStatus.ACTIVE)
    fake = iter(range(1000))
    dispatcher.monotonic = lambda: float(next(fake))
    report = dispatcher.run(seconds=5.0)
    assert report.ticks >= 2
    assert report.active_tenants == 1

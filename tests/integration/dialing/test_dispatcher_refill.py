"""Between sub-ticks the dispatcher fills slots freed since the last one (`refill_seconds`), within
what is left of the sub-tick's dial-rate allowance: a freed channel waits a fraction of a sub-tick,
and the refills never dial past the rate."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from dialer.domain.campaigns import CampaignStatus
from tests.integration.dialing.conftest import Harness


class _VirtualTime:
    """The dispatcher's monotonic clock and sleep: a sleep advances the time and then runs
    ``on_sleep`` (what happened meanwhile); every batch of dial jobs queued is recorded with the
    time it was queued at."""

    def __init__(self, dispatcher: Any, on_sleep: Any) -> None:
        self.now, self.on_sleep, self.queued = 0.0, on_sleep, []
        self.campaigns: list[str] = []  # the campaign of each job queued, in order
        self.jobs = dispatcher.jobs
        dispatcher.monotonic, dispatcher.sleep, dispatcher.jobs = self.monotonic, self.sleep, self

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now = round(self.now + seconds, 6)
        self.on_sleep()

    def send_many(self, bodies: list[str]) -> None:
        self.queued.append((self.now, len(bodies)))
        self.campaigns.extend(json.loads(body)["campaign_id"] for body in bodies)
        self.jobs.send_many(bodies)


def _release_one_slot(h: Harness) -> None:
    """One call ends: its slot is given back."""
    attempt, _ = h.dialing.held_slots(h.tenant)[0]
    assert h.dialing.release_slot(h.tenant, attempt)


def test_a_slot_freed_between_sub_ticks_is_filled_at_the_next_refill(make_harness: Any) -> None:
    # GIVEN a tenant with 2 channels and 4 due leads, a dispatcher with 1 s sub-ticks that looks
    # for freed slots every 0.25 s, and one call that ends during its first pause
    h: Harness = make_harness(limits={"channel_limit": 2})
    h.campaign(4)
    dispatcher = h.dispatcher(tick_seconds=1.0, refill_seconds=0.25)
    released: list[bool] = []

    def one_call_ends() -> None:
        if not released:
            released.append(True)
            _release_one_slot(h)

    time = _VirtualTime(dispatcher, one_call_ends)

    # WHEN it runs for a sub-tick and a half
    report = dispatcher.run(seconds=1.5)

    # THEN the freed slot was filled at the first refill, 0.25 s in, not at the next sub-tick
    assert time.queued == [(0.0, 2), (0.25, 1)]
    assert report.claimed == 3


def test_refills_never_dial_past_the_sub_ticks_rate_allowance(make_harness: Any) -> None:
    # GIVEN a tenant allowed 3 dials/s (2.91 with the headroom) with 1 channel, 6 due leads, and a
    # call that ends during every pause of the dispatcher
    h: Harness = make_harness(limits={"channel_limit": 1, "dials_per_second": 3})
    h.campaign(6)
    dispatcher = h.dispatcher(tick_seconds=1.0, refill_seconds=0.25)
    time = _VirtualTime(dispatcher, lambda: _release_one_slot(h))

    # WHEN it runs for two sub-ticks and a half
    dispatcher.run(seconds=2.5)

    # THEN each sub-tick's dials, refills included, stayed within its allowance: 2 of 2.91 in the
    # first; 3 of 3.82 (0.91 carried over) in the second; a slot freed every 0.25 s would have
    # allowed 4 in each
    queued = [at for at, count in time.queued for _ in range(count)]
    per_sub_tick = [sum(1 for at in queued if k <= at < k + 1) for k in range(3)]
    assert queued[:2] == [0.0, 0.25]
    assert per_sub_tick[:2] == [2, 3]
    assert per_sub_tick[2] <= 3


def test_refills_take_the_campaigns_in_turn(make_harness: Any) -> None:
    # GIVEN a tenant with 1 channel and two active campaigns of 3 due leads each, and a call that
    # ends during every pause of the dispatcher
    h: Harness = make_harness(limits={"channel_limit": 1})
    first, second = h.campaign(3), h.campaign(3, start=3)
    dispatcher = h.dispatcher(tick_seconds=1.0, refill_seconds=0.25)
    time = _VirtualTime(dispatcher, lambda: _release_one_slot(h))

    # WHEN it runs for a sub-tick and a half (the sub-tick, three refills, the next sub-tick)
    dispatcher.run(seconds=1.5)

    # THEN the single freed channel went to each campaign in turn, not always to the same one
    assert len(time.campaigns) == 5
    assert Counter(time.campaigns) in (Counter({first: 3, second: 2}), Counter({first: 2, second: 3}))


def test_a_slow_refill_does_not_stretch_the_refill_cadence(make_harness: Any) -> None:
    # GIVEN a tenant with 1 channel and 5 due leads, a dispatcher whose every claim batch takes
    # 0.1 s to queue, and a call that ends during every pause
    h: Harness = make_harness(limits={"channel_limit": 1})
    h.campaign(5)
    dispatcher = h.dispatcher(tick_seconds=1.0, refill_seconds=0.25)
    time = _VirtualTime(dispatcher, lambda: _release_one_slot(h))
    queue = time.send_many

    def slow_queue(bodies: list[str]) -> None:
        queue(bodies)
        time.now = round(time.now + 0.1, 6)

    time.send_many = slow_queue  # type: ignore[method-assign]
    dispatcher.jobs = time

    # WHEN it runs for a sub-tick and a half
    dispatcher.run(seconds=1.5)

    # THEN the refills kept their 0.25 s cadence from the first one (0.35, 0.6, 0.85), not 0.25 s
    # after each slow refill ended (0.35, 0.7)
    assert [at for at, _ in time.queued] == [0.0, 0.35, 0.6, 0.85, 1.0]


def test_a_campaign_paused_between_sub_ticks_is_not_dialled_from_a_refill(make_harness: Any) -> None:
    # GIVEN a tenant with 2 channels and 4 due leads; during the dispatcher's first pause the
    # campaign is paused and a channel frees (the refills reuse the sub-tick's campaign read)
    h: Harness = make_harness(limits={"channel_limit": 2})
    campaign_id = h.campaign(4)
    dispatcher = h.dispatcher(tick_seconds=1.0, refill_seconds=0.25)
    paused: list[bool] = []

    def pause_and_free_a_channel() -> None:
        if not paused:
            paused.append(True)
            h.move(campaign_id, CampaignStatus.PAUSED)
            _release_one_slot(h)

    _VirtualTime(dispatcher, pause_and_free_a_channel)
    assert dispatcher.run(seconds=1.5).claimed == 3  # the freed channel refilled after the pause

    # WHEN the dial jobs queued reach the dialer
    h.pump_dials([h.dialer()])

    # THEN nothing was dialled, no lead is left dialling, and no slot is held
    assert h.sim_attempts() == Counter()
    assert {str(lead["status"]) for lead in h.leads(campaign_id)} == {"pending"}
    assert h.dialing.held_slots(h.tenant) == []

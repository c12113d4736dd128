"""Caller-ID health in-process (the real dispatcher, dialer and event processor on moto, the
simulator as Telnyx): a number whose calls nobody answers is rested with its reason once it has
its window of calls, no dial uses it after, the lead waits rather than burn it, and the rest ends
on the engine's clock; the counters equal the simulator's calls under duplicated webhooks."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta
from typing import Any

from dialer import keys
from tests.integration.dialing.conftest import CALLER_IDS, Harness
from tests.integration.dialing.test_after_call import sim_calls

NUMBERS = dict(CALLER_IDS)
NY, FL, CA = NUMBERS["cid_ny"], NUMBERS["cid_fl"], NUMBERS["cid_ca"]
WINDOW = 50
CAP = 2  # Florida's and California's daily cap: they fill up at once, New York carries the rest
#: The pool's history (each of Florida and California): half of its calls answered.
HISTORY = {"prev_calls": 100, "prev_answered": 50, "prev_short": 4}


def _placed(h: Harness) -> Counter[str]:
    """Calls the simulator placed, per caller ID (our ``from``)."""
    return Counter(c.from_ for c in sim_calls(h))


def _run(h: Harness, workers: list[Any], *, rounds: int, on_round: Any = None) -> list[Any]:
    """Dispatch, dial and settle until a round places no call; ``on_round`` may swap the dialers."""
    dispatcher = h.dispatcher(tick_seconds=0.6)  # a tick claims 0.6 s worth of dials (18)
    for _ in range(rounds):
        before = sum(_placed(h).values())
        dispatcher.tick()
        h.pump_dials(workers, max_idle_rounds=1)
        h.settle(10.0)
        if on_round is not None:
            workers = on_round(workers)
        if sum(_placed(h).values()) == before:
            break
    return workers


def test_a_number_nobody_answers_is_rested_and_no_dial_uses_it_until_the_rest_ends(make_harness: Any) -> None:
    from dialer.adapters.caller_id_health import CallerIdHealthTable
    from dialer.domain.caller_id_health import CallerIdHealthSettings
    from dialer.domain.dialing import parse_utc

    # GIVEN a pool where every call is answered except New York's (labelled spam: nobody picks up),
    # webhooks duplicated, and a rule judging 50-call windows with 2-hour rests
    h = make_harness(
        scenario_mix={"human": 1.0},
        caller_scenarios={NY: "no_answer"},
        tool_calls=False,
        duplicate_rate=0.3,
        channel_limit=30,
        limits={"channel_limit": 30},
    )
    for caller_id in ("cid_fl", "cid_ca"):
        record = h.management.get_caller_id(h.tenant, caller_id)
        assert record is not None
        assert h.management.put_caller_id(replace(record, daily_cap=CAP), new=False)
    health = CallerIdHealthTable.named(h.table_name)
    health.put_settings(h.tenant, CallerIdHealthSettings(window_calls=WINDOW, rest_hours=2), h.clock())
    for caller_id in ("cid_fl", "cid_ca"):  # the pool's earlier calls (cheaper than placing them)
        health.items.put(
            {**keys.caller_id_health_key(h.tenant, caller_id), "caller_id_id": caller_id, **HISTORY}
        )
    campaign_id = h.campaign(75, retry={"max_attempts": 1}, circuit_breaker={"enabled": False})
    seen: dict[str, int] = {}

    def fresh_dialers_once_rested(workers: list[Any]) -> list[Any]:
        # The dialers cache caller-ID records for 2 s; fresh ones make "no dial after" exact.
        record = h.management.get_caller_id(h.tenant, "cid_ny")
        if record is not None and record.rested_until and "ny" not in seen:
            seen["ny"] = _placed(h)[NY]
            return [h.dialer() for _ in range(2)]
        return workers

    # WHEN the campaign dials
    _run(h, [h.dialer() for _ in range(2)], rounds=40, on_round=fresh_dialers_once_rested)

    # THEN New York was rested by the rule, with the numbers that rested it
    ny = h.management.get_caller_id(h.tenant, "cid_ny")
    assert ny is not None
    assert ny.rested_until, "the unanswered number was never rested"
    assert ny.rested_by == "health"
    assert ny.rest_reason == (
        f"answer rate 0% over its last {WINDOW} calls, below 50% of the pool's "
        f"{(50 + CAP) / (100 + CAP):.0%} ({2 * (100 + CAP)} calls)"
    )
    assert parse_utc(ny.rested_until) - parse_utc(str(ny.rested_at)) == timedelta(hours=2)
    # AND not before it had its window of settled calls (at most the calls then in flight more)
    assert WINDOW <= seen["ny"] <= WINDOW + 18, seen
    # AND no dial used it after: the others filled their caps, then the leads waited
    placed = _placed(h)
    assert placed[NY] == seen["ny"], placed
    assert placed[FL] == placed[CA] == CAP, placed
    stats = h.dialing.campaign_stats(h.tenant, campaign_id)
    assert stats["def_caller_ids_rested"] > 0, dict(stats)
    # AND every settled call was counted once on its number, duplicated webhooks or not
    windows = health.windows(h.tenant)
    assert (windows["cid_fl"].calls, windows["cid_fl"].answered) == (100 + CAP, 50 + CAP)
    assert (windows["cid_ca"].calls, windows["cid_ca"].answered) == (100 + CAP, 50 + CAP)
    # AND the rest started a fresh window: only calls settled after it are in New York's
    # (webhooks are applied one by one here, so the rest came with its 50th settled call)
    assert windows["cid_ny"].calls == seen["ny"] - WINDOW

    # WHEN the engine's clock reaches a minute before the rest ends, the waiting leads are due
    # again (they wait a quarter of an hour at most) but New York is still resting
    until = parse_utc(ny.rested_until)
    h.clock.offset += until - h.clock() - timedelta(minutes=1)
    _run(h, [h.dialer()], rounds=3)
    assert _placed(h)[NY] == seen["ny"]
    # WHEN it passes the rest's end
    h.clock.offset += timedelta(minutes=15, seconds=2)
    _run(h, [h.dialer() for _ in range(2)], rounds=6)
    # THEN New York dials again (a fresh window: it is judged again only after 50 more calls)
    assert _placed(h)[NY] > seen["ny"]


def test_with_every_number_rested_the_leads_wait_with_the_reason_and_a_restore_resumes_dialling(
    make_harness: Any,
) -> None:
    from dialer.adapters.caller_id_health import CallerIdHealthTable
    from dialer.domain.dialing import parse_utc

    # GIVEN an operator rested every number of the pool for six hours
    h = make_harness(scenario_mix={"busy": 1.0}, tool_calls=False)
    health = CallerIdHealthTable.named(h.table_name)
    now = h.clock()
    for caller_id, _ in CALLER_IDS:
        assert health.rest(
            h.tenant,
            caller_id,
            until=now + timedelta(hours=6),
            reason="carrier complaint",
            by="operator",
            now=now,
            only_if_not_rested=False,
        )
    campaign_id = h.campaign(4, retry={"max_attempts": 1})
    # WHEN the campaign runs
    _run(h, [h.dialer()], rounds=3)
    # THEN nothing is dialled: each lead waits, saying why, for at most a quarter of an hour
    assert sum(_placed(h).values()) == 0
    leads = h.leads(campaign_id)
    assert {(lead["status"], lead.get("deferred_reason")) for lead in leads} == {
        ("pending", "caller_ids_rested")
    }
    for lead in leads:
        wait = parse_utc(lead["next_attempt_at"]) - h.clock()
        assert timedelta(minutes=14) < wait <= timedelta(minutes=15, seconds=1), wait
    # WHEN the operator restores one number and the leads fall due
    assert health.restore(h.tenant, "cid_ca")
    h.clock.offset += timedelta(minutes=15, seconds=2)
    _run(h, [h.dialer()], rounds=4)
    # THEN every lead is dialled, from that number only
    assert _placed(h) == Counter({NUMBERS["cid_ca"]: 4})


def test_the_pool_is_read_once_per_30_seconds_of_the_engines_clock_and_a_stale_pool_rests_later(
    make_harness: Any,
) -> None:
    from dialer.adapters.caller_id_health import CallerIdHealthTable
    from dialer.domain.caller_id_health import CallerIdHealthSettings, HealthWindow
    from dialer.services.caller_id_health import POOL_STALENESS, CallerIdHealth

    # GIVEN New York answered 30 of its last 100 calls, and a pool answering half of its calls:
    # New York's window could rest it (under 50 %), the pool's says not (30 % is not below 25 %)
    h = make_harness(tool_calls=False)
    table = CallerIdHealthTable.named(h.table_name)
    table.put_settings(h.tenant, CallerIdHealthSettings(window_calls=WINDOW), h.clock())

    def seed(caller_id: str, calls: int, answered: int) -> None:
        table.items.put(
            {
                **keys.caller_id_health_key(h.tenant, caller_id),
                "caller_id_id": caller_id,
                "prev_calls": calls,
                "prev_answered": answered,
            }
        )

    seed("cid_ny", 100, 30)
    seed("cid_fl", 100, 50)
    seed("cid_ca", 100, 50)
    pool_reads: list[str] = []

    def seen(params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "Query" and "CIDHEALTH" in str(params.get("ExpressionAttributeValues")):
            pool_reads.append(model.name)

    table.items.client.meta.events.register("provide-client-params.dynamodb.*", seen)
    health = CallerIdHealth(table, h.clock)

    # WHEN New York is judged after each of three settlements within a few seconds (its window as
    # its count returned it)
    ny = HealthWindow(100, 30)
    # THEN the pool is read once, and New York is not rested
    assert [health.judge(h.tenant, "cid_ny", ny) for _ in range(3)] == [None, None, None]
    assert len(pool_reads) == 1

    # WHEN every pool call starts being answered (the pool's rate is now 100 %)
    seed("cid_fl", 100, 100)
    seed("cid_ca", 100, 100)
    # THEN within the staleness the cached pool still decides: not rested yet
    h.clock.offset += POOL_STALENESS - timedelta(seconds=1)
    assert health.judge(h.tenant, "cid_ny", ny) is None
    assert len(pool_reads) == 1
    # AND once it is 30 s old on the engine's clock, the pool is read again and New York rested
    h.clock.offset += timedelta(seconds=1)
    assert health.judge(h.tenant, "cid_ny", ny) == (
        f"answer rate 30% over its last 100 calls, below 50% of the pool's 100% ({2 * 100} calls)"
    )
    assert len(pool_reads) == 2
    # AND the rest dropped the cached pool (New York's counters were reset): the next judgment
    # that needs the pool reads it
    seed("cid_ca", 100, 40)
    health.judge(h.tenant, "cid_ca", HealthWindow(100, 40))
    assert len(pool_reads) == 3

"""The engine's pure decisions: budget split, variant stickiness, caller-ID choice, dynamic
variables, retry scheduling and the dial-rate limiter's arithmetic."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.domain.campaigns import CampaignConfig
from dialer.domain.dialing import (
    CallbackContext,
    CallerIdOption,
    LeadStatus,
    attempt_id,
    choose_caller_id,
    choose_variant,
    dial_interval,
    dial_slack,
    dynamic_variables,
    gcra_reserve,
    next_step,
    parse_attempt_id,
    shard_of,
    split_budget,
    terminal_status_for,
)
from dialer.domain.outcomes import CallOutcome


@given(
    total=st.integers(min_value=0, max_value=500),
    caps=st.dictionaries(
        st.text(min_size=1, max_size=4), st.none() | st.integers(min_value=0, max_value=100), max_size=6
    ),
    start=st.integers(min_value=0, max_value=10),
)
def test_budget_split_is_fair_capped_and_uses_what_it_can(
    total: int, caps: dict[str, int | None], start: int
) -> None:
    shares = split_budget(total, caps, start=start)
    assert set(shares) == set(caps)
    for name, share in shares.items():
        cap = caps[name]
        assert share >= 0
        assert cap is None or share <= cap
    room = sum(total if c is None else c for c in caps.values())
    assert sum(shares.values()) == min(total, room)
    uncapped = [shares[n] for n, c in caps.items() if c is None]
    if uncapped:
        assert max(uncapped) - min(uncapped) <= 1  # equal shares, remainder round robin


def test_budget_split_gives_what_a_capped_campaign_cannot_use_to_the_others() -> None:
    assert split_budget(30, {"a": 5, "b": None, "c": None}) == {"a": 5, "b": 13, "c": 12}
    assert split_budget(3, {"a": None, "b": None}, start=1)["b"] == 2  # the remainder rotates


def config(**extra: object) -> CampaignConfig:
    return CampaignConfig.model_validate({"name": "c", **extra})


def test_variants_are_weighted_and_sticky_per_lead() -> None:
    cfg = config(assistant_variants=[{"assistant_id": "a", "weight": 3}, {"assistant_id": "b", "weight": 1}])
    picks = Counter(choose_variant(cfg, f"ld_{i}") for i in range(4000))
    assert 0.7 < picks["a"] / 4000 < 0.8
    assert all(choose_variant(cfg, f"ld_{i}") == choose_variant(cfg, f"ld_{i}") for i in range(100))
    assert choose_variant(config(assistant_id="solo"), "ld_1") == "solo"


def test_caller_id_prefers_same_area_code_then_state_then_least_used_under_cap() -> None:
    pool = [
        CallerIdOption("far", "+14155550100", 100, "CA", used_today=0),
        CallerIdOption("state", "+13155550100", 100, "NY", used_today=50),
        CallerIdOption("local", "+12125550100", 100, "NY", used_today=99),
        CallerIdOption("full", "+12125550101", 10, "NY", used_today=10),
    ]
    now = datetime(2026, 12, 2, 21, 0, tzinfo=UTC)
    order = [o.caller_id_id for o in choose_caller_id(pool, "+12125550999", ("NY", "NY"), now=now)]
    assert order == ["local", "state", "far"]  # a number at its daily cap is not offered
    order = [o.caller_id_id for o in choose_caller_id(pool, "+13055550999", ("FL", "FL"), now=now)]
    assert order == ["far", "state", "local"]  # no local presence: least used first


def test_dynamic_variables_are_flat_strings() -> None:
    at = datetime(2026, 12, 2, 21, 0, tzinfo=UTC)
    out = dynamic_variables(
        lead_fields={"first_name": "Ada", "last_name": "Lovelace", "company": None, "state": "NY"},
        custom_fields={"Plan Tier": "gold", "empty": ""},
        mapping={"greeting_name": "first_name", "tier": "custom.Plan Tier"},
        zone="America/New_York",
        now=at,
        attempt_number=2,
        lead_id="ld_1",
        campaign_id="cmp_1",
        callback=CallbackContext(at=at, note="after lunch"),
    )
    assert all(isinstance(v, str) for v in out.values())
    assert out["full_name"] == "Ada Lovelace"
    assert out["custom_plan_tier"] == "gold"
    assert out["tier"] == "gold"
    assert out["greeting_name"] == "Ada"
    assert (out["local_date"], out["local_time"], out["local_weekday"]) == (
        "2026-12-02",
        "16:00",
        "Wednesday",
    )
    assert out["attempt_number"] == "2"
    assert out["is_callback"] == "true"
    assert out["callback_note"] == "after lunch"
    assert "company" not in out
    assert "custom_empty" not in out


@pytest.mark.parametrize(
    ("outcome", "used", "expected"),
    [
        (CallOutcome.ANSWERED_HUMAN, 1, LeadStatus.REACHED),
        (CallOutcome.INVALID_NUMBER, 1, LeadStatus.INVALID),
        (CallOutcome.NO_ANSWER, 1, LeadStatus.PENDING),
        (CallOutcome.NO_ANSWER, 3, LeadStatus.EXHAUSTED),
        (CallOutcome.CANCELED, 1, LeadStatus.EXHAUSTED),  # not retried by default
    ],
)
def test_retry_policy(outcome: CallOutcome, used: int, expected: LeadStatus) -> None:
    step = next_step(config(), outcome, used)
    assert step.status == expected
    if expected == LeadStatus.PENDING:
        assert step.delay == timedelta(minutes=30)


def test_per_outcome_cap_is_tighter_than_the_overall_one() -> None:
    cfg = config(retry={"max_attempts": 5, "outcomes": {"busy": {"delay_minutes": 5, "max_attempts": 2}}})
    assert next_step(cfg, CallOutcome.BUSY, 1).delay == timedelta(minutes=5)
    assert next_step(cfg, CallOutcome.BUSY, 2).status == LeadStatus.EXHAUSTED


def test_blocked_reasons_map_to_lead_ends() -> None:
    assert terminal_status_for(["max_attempts"]) == LeadStatus.EXHAUSTED
    assert terminal_status_for(["invalid_number", "dnc"]) == LeadStatus.INVALID
    assert terminal_status_for(["dnc"]) == LeadStatus.BLOCKED
    assert terminal_status_for(["consent_revoked", "max_attempts"]) == LeadStatus.BLOCKED


@given(arrivals=st.lists(st.floats(min_value=0, max_value=20), min_size=1, max_size=400))
def test_the_limiter_never_puts_more_than_the_rate_in_any_second(arrivals: list[float]) -> None:
    interval = dial_interval(30, 150, 0.03)
    tat = None
    sends: list[float] = []
    for now in sorted(arrivals):
        got = gcra_reserve(tat, now, interval, max_ahead=2.0)
        if got is None:
            continue
        assert now <= got.send_at <= now + 2.0
        sends.append(got.send_at)
        tat = got.new_tat
    sends.sort()
    for i, start in enumerate(sends):
        in_window = sum(1 for t in sends[i:] if t - start <= 1.0)
        assert in_window <= 30  # Telnyx's rolling second (closed window: 30 dials at 29.1/s)
        assert sum(1 for t in sends[i:] if t - start <= 5.0) <= 150


def test_limiter_paces_at_the_rate_under_pressure() -> None:
    interval = dial_interval(30, 150, 0.03)
    tat, sends = None, []
    for _ in range(100):
        got = gcra_reserve(tat, 0.0, interval, max_ahead=10.0)
        assert got is not None
        tat = got.new_tat
        sends.append(got.send_at)
    rate = (len(sends) - 1) / (sends[-1] - sends[0])
    assert 0.95 * 30 <= rate <= 30
    assert gcra_reserve(tat, 0.0, interval, max_ahead=1.0) is None  # full for the next second


def _fullest_window(sends: list[float], seconds: float) -> int:
    sends = sorted(sends)
    return max(sum(1 for t in sends[i:] if t - start <= seconds) for i, start in enumerate(sends))


@pytest.mark.parametrize(("per_s", "per_5s"), [(30, 150), (1, 5), (10, 20)])
def test_a_dial_up_to_the_slack_late_keeps_every_window_within_the_limit_and_later_does_not(
    per_s: int, per_5s: int
) -> None:
    # GIVEN a schedule kept full for 12 seconds
    interval = dial_interval(per_s, per_5s, 0.03)
    slack = dial_slack(per_s, per_5s, interval)
    on_time = [i * interval for i in range(int(12 / interval))]
    late_one = len(on_time) // 2
    # WHEN one dial leaves its instant just inside the slack late, every rolling window still
    # holds at most the limit; just past it, one holds a dial too many
    for delay, fits in ((slack - 0.001, True), (slack + 0.001, False)):
        sends = [t + (delay if i == late_one else 0.0) for i, t in enumerate(on_time)]
        within = _fullest_window(sends, 1.0) <= per_s and _fullest_window(sends, 5.0) <= per_5s
        assert within is fits
    # AND the slack is the headroom's share of the tighter window (1 s, or 5 s for 10/s & 20/5 s)
    assert slack == pytest.approx((1.0 if 5 * per_s <= per_5s else 5.0) * 0.03 / 0.97)


def test_attempt_ids_and_shards() -> None:
    assert parse_attempt_id(attempt_id("ld_abc", 12)) == ("ld_abc", 12)
    assert parse_attempt_id("nonsense") is None
    assert {shard_of(f"ld_{i}") for i in range(100)} == {0, 1, 2, 3}

"""Caller-ID health's rule (issue 23), pure: what a call counts, when a number is rested against
the pool, the minimum sample, the settings' bounds, and a rest ending on the engine's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from dialer.domain.caller_id_health import (
    CallerIdHealthSettings,
    HealthWindow,
    call_counts,
    rest_end,
    rest_reason,
    rested,
)
from dialer.domain.dialing import CallerIdOption, choose_caller_id, rests_end
from dialer.domain.outcomes import CallOutcome

NOW = datetime(2026, 12, 2, 21, 0, tzinfo=UTC)
RULE = CallerIdHealthSettings()  # window 50, rest below half the pool's rate
HEALTHY_POOL = HealthWindow(calls=200, answered=100, short=5)  # 50 %


@pytest.mark.parametrize(
    ("outcome", "duration", "counts"),
    [
        (CallOutcome.ANSWERED_HUMAN, 40, HealthWindow(1, 1, 0)),
        (CallOutcome.ANSWERED_HUMAN, 3, HealthWindow(1, 1, 1)),  # answered and gone within 6 s
        (CallOutcome.ANSWERED_HUMAN, 6, HealthWindow(1, 1, 0)),  # the threshold itself is not short
        (CallOutcome.ANSWERED_HUMAN, None, HealthWindow(1, 1, 0)),  # no duration known: not short
        (CallOutcome.ASSISTANT_FAILED, 2, HealthWindow(1, 1, 1)),  # a person picked up
        (CallOutcome.VOICEMAIL, 20, HealthWindow(1, 0, 0)),
        (CallOutcome.VOICEMAIL_LEFT, 30, HealthWindow(1, 0, 0)),
        (CallOutcome.NO_ANSWER, None, HealthWindow(1, 0, 0)),
        (CallOutcome.BUSY, None, HealthWindow(1, 0, 0)),
        # not about the number's reputation: our failure, the lead's number, a canceled dial
        (CallOutcome.FAILED, None, None),
        (CallOutcome.INVALID_NUMBER, None, None),
        (CallOutcome.CANCELED, None, None),
        (CallOutcome.UNKNOWN, 1, None),
    ],
)
def test_what_one_settled_call_counts(
    outcome: CallOutcome, duration: int | None, counts: HealthWindow | None
) -> None:
    assert call_counts(outcome.value, duration, short_call_seconds=6) == counts


def test_a_number_well_below_the_pools_answer_rate_is_rested_with_the_numbers() -> None:
    own = HealthWindow(calls=60, answered=12)  # 20 % against the pool's 50 %: below half of it
    reason = rest_reason(RULE, own, HEALTHY_POOL)
    assert reason == "answer rate 20% over its last 60 calls, below 50% of the pool's 50% (200 calls)"


def test_a_number_merely_below_the_pool_is_not_rested() -> None:
    own = HealthWindow(calls=60, answered=16)  # 27 %: lower, but above half of 50 %
    assert rest_reason(RULE, own, HEALTHY_POOL) is None


def test_no_number_is_judged_on_fewer_calls_than_the_window() -> None:
    silent = HealthWindow(calls=49, answered=0)
    assert rest_reason(RULE, silent, HEALTHY_POOL) is None
    assert rest_reason(RULE, HealthWindow(calls=50, answered=0), HEALTHY_POOL) is not None
    bigger = RULE.model_copy(update={"window_calls": 120})
    assert rest_reason(bigger, HealthWindow(calls=119, answered=0), HEALTHY_POOL) is None


def test_a_pool_too_small_to_compare_with_rests_nothing() -> None:
    # One number (or its only peers barely used): there is no pool rate to fall below.
    own = HealthWindow(calls=100, answered=0)
    assert rest_reason(RULE, own, HealthWindow()) is None
    assert rest_reason(RULE, own, HealthWindow(calls=49, answered=40)) is None
    assert rest_reason(RULE, own, HealthWindow(calls=80, answered=0)) is None  # nobody answers anyone


def test_the_short_call_share_rests_only_when_the_operator_set_a_limit() -> None:
    own = HealthWindow(calls=60, answered=30, short=24)  # 80 % hang up within seconds
    assert rest_reason(RULE, own, HEALTHY_POOL) is None
    strict = RULE.model_copy(update={"max_short_share": 0.75})
    assert (
        rest_reason(strict, own, HEALTHY_POOL) == "80% of its 30 answered calls ended within 6 s (limit 75%)"
    )


def test_a_disabled_rule_rests_nothing() -> None:
    off = RULE.model_copy(update={"enabled": False})
    assert rest_reason(off, HealthWindow(calls=500, answered=0), HEALTHY_POOL) is None


def test_a_rest_ends_at_its_instant_on_the_given_clock() -> None:
    until = rest_end(NOW, 24)
    assert until == NOW + timedelta(hours=24)
    assert rested(until, NOW)
    assert rested(until, until - timedelta(microseconds=1))
    assert not rested(until, until)
    assert not rested(None, NOW)


def test_the_choice_skips_rested_numbers_until_their_rest_ends() -> None:
    until = NOW + timedelta(hours=2)
    pool = [
        CallerIdOption("local", "+12125550100", 100, "NY", rested_until=until),
        CallerIdOption("far", "+14155550100", 100, "CA", used_today=50),
    ]
    assert [o.caller_id_id for o in choose_caller_id(pool, "+12125550999", ("NY",), now=NOW)] == ["far"]
    assert rests_end(pool, NOW) is None  # another number is there: nothing waits
    back = [o.caller_id_id for o in choose_caller_id(pool, "+12125550999", ("NY",), now=until)]
    assert back == ["local", "far"]


def test_when_every_open_number_is_rested_the_lead_waits_for_the_first_to_come_back() -> None:
    pool = [
        CallerIdOption("a", "+12125550100", 100, "NY", rested_until=NOW + timedelta(hours=3)),
        CallerIdOption("b", "+12125550101", 100, "NY", rested_until=NOW + timedelta(hours=1)),
        CallerIdOption("full", "+12125550102", 10, "NY", used_today=10),  # capped: not a way out
    ]
    assert choose_caller_id(pool, "+12125550999", ("NY",), now=NOW) == []
    assert rests_end(pool, NOW) == NOW + timedelta(hours=1)
    # Capped numbers alone (none rested) are not a rest: the dialer's "no caller ID" applies.
    assert rests_end(pool[2:], NOW) is None


@pytest.mark.parametrize(
    "bad",
    [
        {"window_calls": 49},  # the floor: at least 50 recent calls
        {"window_calls": 10_001},
        {"rest_below_ratio": 0},
        {"rest_below_ratio": 1},
        {"rest_hours": 0},
        {"rest_hours": 721},
        {"short_call_seconds": 0},
        {"max_short_share": 0},
        {"max_short_share": 1.5},
        {"window": 50},  # unknown field: a typo is refused, not ignored
        {"enabled": "yes please"},
    ],
)
def test_settings_out_of_bounds_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        CallerIdHealthSettings.model_validate(bad)

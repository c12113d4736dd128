"""The circuit breaker's rules (pure): which Telnyx refusals no retry can fix, and when a window
of dials trips it."""

from __future__ import annotations

from dialer.domain.circuit_breaker import (
    CircuitBreaker,
    DialCounts,
    total,
    unfixable_dial_error,
    window_verdict,
)


def test_refusals_no_retry_can_fix() -> None:
    for status in (401, 402, 403):
        assert str(unfixable_dial_error(status, [])).startswith("circuit_breaker: ")
    assert (
        unfixable_dial_error(422, ["/connection_id"])
        == "circuit_breaker: Telnyx refused the connection_id (422)"
    )
    # the number's fault, a bad request of ours elsewhere, rate limits and outages: not the breaker's
    for status, pointers in ((422, ["/to"]), (400, []), (429, []), (500, []), (None, [])):
        assert unfixable_dial_error(status, pointers) is None


def test_a_failed_share_at_the_threshold_trips_once_the_window_is_big_enough() -> None:
    settings = CircuitBreaker()
    assert window_verdict(settings, DialCounts(19, 19, 0), DialCounts()) is None  # too few dials
    assert window_verdict(settings, DialCounts(20, 9, 5), DialCounts()) is None  # 45 %
    reason = window_verdict(settings, DialCounts(20, 10, 5), DialCounts())  # 50 %
    assert reason == "circuit_breaker: 10 of 20 dials failed in 120 s (50% >= 50%)"
    assert window_verdict(CircuitBreaker(enabled=False), DialCounts(20, 20, 0), DialCounts()) is None


def test_an_answer_rate_collapsing_below_the_baseline_trips() -> None:
    settings = CircuitBreaker()
    baseline = DialCounts(200, 10, 80)  # answers 40 %
    assert window_verdict(settings, DialCounts(20, 0, 3), baseline) is None  # 15 % >= 10 %
    assert "answer rate 5%" in str(window_verdict(settings, DialCounts(20, 0, 1), baseline))
    # no baseline yet: no verdict on answers
    assert window_verdict(settings, DialCounts(20, 0, 0), DialCounts(40, 0, 20)) is None
    assert total([DialCounts(1, 1, 0), DialCounts(2, 0, 1)]) == DialCounts(3, 1, 1)

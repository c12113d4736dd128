"""After the call, pure parts: AI events on the call summary (any order, any duplication),
insight results (objects and stringified JSON), money as Decimal, counters and the z-test."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.domain.analytics import (
    budget_reached,
    contribution,
    delta,
    figures,
    timeline,
    two_proportion_test,
)
from dialer.domain.calls import Fact, facts_from_event, merge_facts, summarize
from dialer.domain.insights import conclusion, normalize_disposition, parse_result
from dialer.domain.outcomes import CallOutcome, Disposition
from tests.support.signing import load_fixture

T0 = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def fixture_facts(name: str, **payload_changes: object) -> list[Fact]:
    doc = load_fixture(name)["data"]
    payload = {**doc["payload"], **payload_changes}
    when = datetime.fromisoformat(doc["occurred_at"].replace("Z", "+00:00"))
    return facts_from_event(doc["event_type"], doc["id"], when, payload)


def event(event_type: str, seconds: float, event_id: str | None = None, **payload: object) -> list[Fact]:
    return facts_from_event(
        event_type, event_id or f"{event_type}@{seconds}", T0 + timedelta(seconds=seconds), payload
    )


def play(*events: list[Fact]):  # type: ignore[no-untyped-def]
    facts: dict = {}
    for facts_of_event in events:
        facts = merge_facts(facts, facts_of_event)
    return summarize(facts)


STRUCTURED = {
    "disposition": "callback_requested",
    "callback_at": "2026-12-01T15:00:00",
    "summary": "Call Tuesday",
}
FULL_CALL = [
    event("call.initiated", 0),
    event("call.answered", 8),
    event("call.conversation.created", 9, conversation_id="conv-1"),
    event("call.hangup", 120, hangup_cause="normal_clearing"),
    event(
        "call.conversation.ended",
        121,
        conversation_id="conv-1",
        assistant_id="assistant-a",
        duration_sec=110,
        llm_model="m",
        reason=None,
    ),
    event(
        "call.cost",
        130,
        total_cost="0.0140",
        billed_duration_secs=120,
        status="success",
        cost_parts=[
            {"call_part": "call-control", "cost": "0.0040", "rate": "0.00200", "currency": "USD"},
            {"call_part": "sip-trunking", "cost": "0.0100", "rate": "0.00500", "currency": "USD"},
        ],
    ),
    event(
        "call.conversation_insights.generated",
        140,
        insight_group_id="g-1",
        results=[{"insight_id": "i-1", "result": json.dumps(STRUCTURED)}],
    ),
]


def test_fixtures_land_on_the_call() -> None:
    summary = play(
        *(
            fixture_facts(n)
            for n in (
                "call.initiated",
                "call.answered",
                "call.conversation.created",
                "call.hangup",
                "call.conversation.ended",
                "call.cost",
                "call.conversation_insights.generated",
            )
        )
    )
    assert summary.conversation["conversation_id"] == "00000000-0000-4000-8000-00000000c0a1"
    assert summary.conversation["duration_sec"] == "116"
    assert summary.conversation["llm_model"] == "moonshotai/Kimi-K2.6"
    assert summary.cost == Decimal("0.0140")
    assert summary.billed_s == 120
    assert summary.cost_currency == "USD"
    # The fixture's structured result has a sentiment but no disposition: nothing invented.
    assert summary.insights == {
        "insight_group_id": "00000000-0000-4000-8000-0000000019a1",
        "sentiment": "positive",
    }


def test_a_start_failure_is_its_own_outcome() -> None:
    summary = play(
        event("call.initiated", 0),
        event("call.answered", 5),
        event("call.conversation.start_failed", 6, reason="invalid_request", assistant_id="a-x"),
        event("call.hangup", 30, hangup_cause="normal_clearing"),
    )
    assert summary.outcome is CallOutcome.ASSISTANT_FAILED
    assert summary.conversation["start_failed"] == "invalid_request"


def test_the_fixture_start_failure_makes_the_answered_call_an_assistant_failure() -> None:
    summary = play(
        fixture_facts("call.initiated"),
        fixture_facts("call.answered"),
        fixture_facts("call.conversation.start_failed"),
        fixture_facts("call.hangup"),
    )
    assert summary.outcome is CallOutcome.ASSISTANT_FAILED


def test_cost_is_exact_decimal_and_falls_back_to_the_parts_sum() -> None:
    parts = [
        {"call_part": "a", "cost": "0.1", "currency": "USD"},
        {"call_part": "b", "cost": "0.2", "currency": "USD"},
    ]
    summary = play(event("call.cost", 1, total_cost=None, cost_parts=parts))
    assert summary.cost == Decimal("0.3")  # 0.1 + 0.2 as floats would be 0.30000000000000004


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ({"disposition": "interested"}, {"disposition": "interested"}),
        ('{"disposition": "interested"}', {"disposition": "interested"}),
        ("Lead is interested.", "Lead is interested."),
        ("{not json", "{not json"),
        ("", None),
        (None, None),
        (42, None),
    ],
)
def test_results_parse_as_objects_or_stringified_json(value: object, parsed: object) -> None:
    assert parse_result(value) == parsed


def test_named_insights_fill_their_field_and_dispositions_are_canonical() -> None:
    results = [
        {"insight_id": "i-disp", "result": "Do Not Call"},
        {"insight_id": "i-when", "result": "2026-12-01T15:00:00"},
        {"insight_id": "i-free", "result": "whatever"},
    ]
    found = conclusion(results, {"i-disp": "disposition", "i-when": "callback_time"})
    assert found == {"disposition": "do_not_call", "callback_at": "2026-12-01T15:00:00"}
    assert normalize_disposition("DNC") is Disposition.DO_NOT_CALL
    assert normalize_disposition("maybe later") is Disposition.OTHER


# --- order and duplication ----------------------------------------------------------------------


@st.composite
def deliveries(draw):  # type: ignore[no-untyped-def]
    order = draw(st.permutations(range(len(FULL_CALL))))
    duplicates = draw(st.lists(st.integers(0, len(FULL_CALL) - 1), max_size=len(FULL_CALL) * 2))
    return draw(st.permutations([FULL_CALL[i] for i in order] + [FULL_CALL[i] for i in duplicates]))


@settings(max_examples=300, deadline=None)
@given(deliveries())
def test_any_order_and_duplication_of_ai_events_gives_the_same_call(delivered) -> None:  # type: ignore[no-untyped-def]
    in_order = play(*FULL_CALL)
    assert play(*delivered) == in_order
    assert in_order.insights["disposition"] == "callback_requested"
    assert in_order.cost == Decimal("0.0140")


@settings(max_examples=200, deadline=None)
@given(st.permutations(range(3)))
def test_insight_result_order_inside_an_event_does_not_matter(order) -> None:  # type: ignore[no-untyped-def]
    results = [
        {"insight_id": "a", "result": {"disposition": "interested", "summary": "one"}},
        {"insight_id": "b", "result": json.dumps({"disposition": "not_interested", "sentiment": "neg"})},
        {"insight_id": "c", "result": "free text"},
    ]
    assert conclusion([results[i] for i in order]) == conclusion(results)


# --- counters -----------------------------------------------------------------------------------

CALL = {
    "state": "ended",
    "outcome": "answered_human",
    "answered_at": "x",
    "duration_s": 100,
    "conversation": {"duration_sec": "90"},
    "cost": Decimal("0.0140"),
    "billed_s": 120,
    "disposition": "interested",
    "assistant_id": "a",
}


def test_contribution_and_delta_converge_to_the_target() -> None:
    target = contribution(CALL)
    assert target["cost"] == Decimal("0.0140")
    assert target["talk_s"] == 90
    assert target["v:a:converted"] == 1
    counted = contribution({**CALL, "disposition": "callback_requested"})
    change = delta(target, counted)
    assert change == {
        "disp:interested": 1,
        "disp:callback_requested": -1,
        "converted": 1,
        "v:a:disp:interested": 1,
        "v:a:disp:callback_requested": -1,
        "v:a:converted": 1,
    }
    assert delta(target, target) == {}


def test_figures() -> None:
    f = figures({k: Decimal(v) for k, v in contribution(CALL).items()})
    assert f.calls == 1
    assert f.connect_rate == 1.0
    assert f.cost_per_connected_minute == (Decimal("0.0140") / (Decimal(90) / 60)).quantize(
        Decimal("0.000001")
    )
    assert f.by_disposition == {"interested": 1}


def test_two_proportion_test() -> None:
    big = two_proportion_test(100, 1000, 150, 1000)
    assert big.significant
    assert not big.sample_too_small
    assert big.p_value is not None
    assert big.p_value < 0.01
    same = two_proportion_test(100, 1000, 101, 1000)
    assert not same.significant
    small = two_proportion_test(1, 10, 5, 10)
    assert small.sample_too_small
    assert not small.significant


def test_budget_counts_spend_and_the_expected_cost_of_calls_in_flight() -> None:
    cap = Decimal("1.00")
    assert not budget_reached(cap, {"cost": Decimal("0.50"), "calls": Decimal(10)}, 9)  # 0.50 + 9 x 0.05
    assert budget_reached(cap, {"cost": Decimal("0.50"), "calls": Decimal(10)}, 10)  # 0.50 + 10 x 0.05
    assert budget_reached(cap, {"cost": Decimal("1.00"), "calls": Decimal(10)}, 0)
    assert budget_reached(cap, {}, 20)  # before any cost: 20 x the default 0.05


def test_the_z_test_survives_more_conversions_than_calls_counted_so_far() -> None:
    # Counters are summed shard by shard while events land: never a math domain error.
    from dialer.domain.analytics import two_proportion_test

    result = two_proportion_test(7, 5, 3, 40)
    assert result.sample_too_small
    assert result.difference is not None


def test_a_conversion_counts_once_its_call_has_ended() -> None:
    from dialer.domain.analytics import CONVERTED, contribution

    talking = {"disposition": "interested", "state": "answered"}
    assert CONVERTED not in contribution(talking)
    assert contribution({**talking, "state": "ended", "outcome": "answered_human"})[CONVERTED] == 1


def test_the_hourly_timeline_counts_calls_by_the_hour_they_ended() -> None:
    # GIVEN two calls ending at 14:xx and one at 15:xx (UTC), and one still talking
    def ended(at: str, **extra: object) -> dict[str, object]:
        return {**CALL, "ended_at": at, **extra}

    calls = [
        ended("2026-11-30T14:05:00.000000Z"),
        ended("2026-11-30T14:59:59.999999Z", outcome="voicemail", disposition=None, cost=Decimal("0.007")),
        ended(
            "2026-11-30T15:00:00.000000Z", answered_at=None, outcome="no_answer", disposition=None, cost=None
        ),
        {**CALL, "state": "answered", "ended_at": None},
    ]
    summed: dict[str, Decimal] = {}
    for call in calls:
        for name, value in contribution(call).items():
            summed[name] = summed.get(name, Decimal(0)) + value
    # WHEN the timeline is read from the counters
    hours = timeline(summed)
    # THEN each hour has its own calls, connects, human answers, conversions and spend
    assert [(h.hour, h.calls, h.connected, h.answered_human, h.converted, h.cost) for h in hours] == [
        ("2026-11-30T14:00:00Z", 2, 2, 1, 1, Decimal("0.0210")),
        ("2026-11-30T15:00:00Z", 1, 0, 0, 0, Decimal(0)),
    ]
    # AND the hour keys never leak into the campaign's figures
    assert figures(summed).by_outcome == {"answered_human": 1, "no_answer": 1, "voicemail": 1}


def test_a_call_without_a_readable_end_instant_has_no_hour() -> None:
    assert not [k for k in contribution({**CALL, "ended_at": "soon"}) if k.startswith("t:")]

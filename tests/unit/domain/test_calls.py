"""The call state machine: outcome mapping, and order/duplication independence (hypothesis)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.domain.calls import (
    AwaitedFact,
    CallSummary,
    Fact,
    FactKind,
    awaited_facts,
    classify_outcome,
    facts_from_event,
    format_instant,
    merge_facts,
    summarize,
)
from dialer.domain.outcomes import AmdCategory, CallOutcome, CallState, amd_category
from telnyx_client.webhooks import parse_webhook
from tests.support.signing import fixture_paths, load_fixture

T0 = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def event(event_type: str, seconds: float, event_id: str | None = None, **payload: str) -> list[Fact]:
    """Facts from a synthetic Call Control event at T0 + seconds."""
    return facts_from_event(
        event_type, event_id or f"{event_type}@{seconds}", T0 + timedelta(seconds=seconds), payload
    )


def texml(seconds: float, **fields: str) -> list[Fact]:
    parsed = parse_webhook(
        urlencode({"CallSid": "v3:t", **fields}).encode(), "application/x-www-form-urlencoded"
    )
    return facts_from_event(
        parsed.event_type, parsed.event_id, T0 + timedelta(seconds=seconds), parsed.payload
    )


def play(*events: list[Fact]) -> CallSummary:
    facts: dict = {}
    for facts_of_event in events:
        facts = merge_facts(facts, facts_of_event)
    return summarize(facts)


# --- scenarios: (events in delivery order, expected outcome) ---------------------------------
SCENARIOS = {
    "human": (
        [
            event("call.initiated", 0),
            event("call.answered", 8),
            event("call.machine.premium.detection.ended", 10, result="human_residence"),
            event("call.conversation.created", 11),
            event("call.hangup", 124, hangup_cause="normal_clearing", sip_hangup_cause="200"),
            event("call.conversation.ended", 125),
        ],
        CallOutcome.ANSWERED_HUMAN,
    ),
    "voicemail": (
        [
            event("call.initiated", 0),
            event("call.answered", 6),
            event("call.machine.premium.detection.ended", 9, result="machine"),
            event("call.machine.premium.greeting.ended", 20, result="beep_detected"),
            event("call.hangup", 35, hangup_cause="normal_clearing"),
        ],
        CallOutcome.VOICEMAIL,
    ),
    "busy": (
        [
            event("call.initiated", 0),
            event("call.hangup", 4, hangup_cause="user_busy", sip_hangup_cause="486"),
        ],
        CallOutcome.BUSY,
    ),
    "no_answer": (
        [event("call.initiated", 0), event("call.hangup", 30, hangup_cause="timeout")],
        CallOutcome.NO_ANSWER,
    ),
    "invalid": (
        [
            event("call.initiated", 0),
            event("call.hangup", 1, hangup_cause="not_found", sip_hangup_cause="404"),
        ],
        CallOutcome.INVALID_NUMBER,
    ),
    "canceled": (
        [event("call.initiated", 0), event("call.hangup", 3, hangup_cause="originator_cancel")],
        CallOutcome.CANCELED,
    ),
    "rejected": (
        [
            event("call.initiated", 0),
            event("call.hangup", 1, hangup_cause="call_rejected", sip_hangup_cause="403"),
        ],
        CallOutcome.FAILED,
    ),
    "texml_human": (
        [
            texml(0, CallStatus="initiated", SequenceNumber="1"),
            texml(2, CallStatus="ringing", SequenceNumber="2"),
            texml(9, CallStatus="in-progress", SequenceNumber="3"),
            texml(10, AnsweredBy="human"),
            texml(60, CallStatus="completed", CallDuration="51", SequenceNumber="4"),
        ],
        CallOutcome.ANSWERED_HUMAN,
    ),
    "texml_busy": ([texml(0, CallStatus="initiated"), texml(3, CallStatus="busy")], CallOutcome.BUSY),
    "texml_voicemail": (
        [
            texml(0, CallStatus="initiated"),
            texml(8, CallStatus="in-progress"),
            texml(9, AnsweredBy="machine_end_beep"),
            texml(40, CallStatus="completed", CallDuration="31"),
        ],
        CallOutcome.VOICEMAIL,
    ),
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_outcomes(name):
    events, expected = SCENARIOS[name]
    summary = play(*events)
    assert summary.state is CallState.ENDED
    assert summary.outcome is expected


def test_human_call_duration_is_answer_to_hangup():
    summary = play(*SCENARIOS["human"][0])
    assert summary.duration_s == 116
    assert summary.answered_at == "2026-11-24T15:00:08.000000Z"
    assert summary.amd is AmdCategory.HUMAN


def test_states_before_the_end():
    assert play(event("call.initiated", 0)).state is CallState.INITIATED
    assert play(texml(0, CallStatus="ringing")).state is CallState.RINGING
    assert play(event("call.initiated", 0), event("call.answered", 5)).state is CallState.ANSWERED
    assert play(event("call.initiated", 0)).outcome is None


def test_late_answer_never_reopens_a_hung_up_call():
    hung_up = play(event("call.initiated", 0), event("call.hangup", 9, hangup_cause="normal_clearing"))
    assert hung_up.state is CallState.ENDED
    late = play(
        event("call.initiated", 0),
        event("call.hangup", 9, hangup_cause="normal_clearing"),
        event("call.answered", 5),
    )
    assert late.state is CallState.ENDED


def test_premium_amd_wins_over_standard_whatever_the_order():
    premium = event("call.machine.premium.detection.ended", 5, result="human_business")
    standard = event("call.machine.detection.ended", 9, result="machine")
    assert play(premium, standard).amd is AmdCategory.HUMAN
    assert play(standard, premium).amd is AmdCategory.HUMAN


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"answered": True, "amd": AmdCategory.MACHINE}, CallOutcome.VOICEMAIL),
        ({"answered": True, "amd": AmdCategory.FAX}, CallOutcome.FAILED),
        ({"answered": True, "amd": AmdCategory.UNDECIDED, "duration_s": 30}, CallOutcome.ANSWERED_HUMAN),
        ({"answered": True, "amd": AmdCategory.UNDECIDED, "duration_s": 1}, CallOutcome.UNKNOWN),
        ({"answered": True, "amd": None, "duration_s": None}, CallOutcome.ANSWERED_HUMAN),
        ({"answered": False, "hangup_cause": "no_answer"}, CallOutcome.NO_ANSWER),
        ({"answered": False, "hangup_cause": "normal_clearing"}, CallOutcome.NO_ANSWER),
        ({"answered": False, "hangup_cause": "unspecified", "sip_cause": "486"}, CallOutcome.BUSY),
        ({"answered": False, "hangup_cause": "unspecified", "sip_cause": "484"}, CallOutcome.INVALID_NUMBER),
        ({"answered": False, "hangup_cause": "unspecified", "sip_cause": "480"}, CallOutcome.NO_ANSWER),
        ({"answered": False, "hangup_cause": "unspecified"}, CallOutcome.FAILED),
        ({"answered": False, "hangup_cause": "time_limit"}, CallOutcome.NO_ANSWER),
        ({"answered": False, "hangup_cause": "something_new"}, CallOutcome.UNKNOWN),
        ({"answered": False, "texml_status": "failed", "sip_cause": "404"}, CallOutcome.INVALID_NUMBER),
        ({"answered": False, "texml_status": "failed"}, CallOutcome.FAILED),
        ({"answered": False, "texml_status": "canceled"}, CallOutcome.CANCELED),
        ({"answered": False, "texml_status": "completed"}, CallOutcome.NO_ANSWER),
    ],
)
def test_classify_outcome(kwargs, expected):
    args = {
        "answered": False,
        "amd": None,
        "duration_s": None,
        "hangup_cause": None,
        "sip_cause": None,
        "texml_status": None,
    }
    assert classify_outcome(**{**args, **kwargs}) is expected


@pytest.mark.parametrize(
    ("result", "category"),
    [
        ("human_residence", AmdCategory.HUMAN),
        ("machine_end_silence", AmdCategory.MACHINE),
        ("fax_detected", AmdCategory.FAX),
        ("silence", AmdCategory.UNDECIDED),
        ("brand_new_value", AmdCategory.UNDECIDED),
        ("", None),
        (None, None),
    ],
)
def test_amd_category(result, category):
    assert amd_category(result) is category


def test_all_shared_fixtures_make_one_answered_human_call():
    """The shared fixtures are one call (with a busy hangup variant earlier): the richest facts win."""
    facts: dict = {}
    for path in fixture_paths():
        parsed = parse_webhook(path.read_bytes(), "application/json")
        facts = merge_facts(
            facts, facts_from_event(parsed.event_type, parsed.event_id, parsed.occurred_at, parsed.payload)
        )
    summary = summarize(facts)
    assert summary.state is CallState.ENDED
    assert summary.outcome is CallOutcome.ANSWERED_HUMAN
    assert summary.hangup_cause == "normal_clearing"
    assert summary.duration_s == 116


def test_fact_storage_round_trip():
    (fact,) = facts_from_event(
        "call.hangup", "e1", T0, json.loads(json.dumps(load_fixture("call.hangup")["data"]["payload"]))
    )
    assert Fact.from_item(fact.kind.value, fact.to_item()) == fact
    assert fact.kind is FactKind.HANGUP


# --- properties --------------------------------------------------------------------------


@st.composite
def deliveries(draw):
    """A scenario, then its events permuted and some of them duplicated (Telnyx retries)."""
    name = draw(st.sampled_from(sorted(SCENARIOS)))
    events = SCENARIOS[name][0]
    order = draw(st.permutations(range(len(events))))
    duplicates = draw(st.lists(st.integers(0, len(events) - 1), max_size=len(events) * 2))
    delivered = [events[i] for i in order] + [events[i] for i in duplicates]
    shuffled = draw(st.permutations(delivered))
    return name, list(shuffled)


@settings(max_examples=300, deadline=None)
@given(deliveries())
def test_any_order_and_duplication_gives_the_in_order_result(case):
    name, delivered = case
    in_order = play(*SCENARIOS[name][0])
    assert play(*delivered) == in_order


@settings(max_examples=200, deadline=None)
@given(deliveries())
def test_state_never_moves_backwards(case):
    from dialer.domain.outcomes import STATE_RANK

    _, delivered = case
    facts: dict = {}
    rank = -1
    for facts_of_event in delivered:
        facts = merge_facts(facts, facts_of_event)
        now = STATE_RANK[summarize(facts).state]
        assert now >= rank
        rank = now


# --- timestamps that disagree with arrival order ---------------------------------------------
# Telnyx stamps each event where it happened; clocks of different components drift, so an
# ``answered`` may carry a later ``occurred_at`` than the hangup of the same call (or none at all).
# The state machine must not care: an ended call stays ended whatever the stamps say.


@st.composite
def skewed_deliveries(draw):
    """A scenario whose events carry arbitrary timestamps (up to 10 min off, or missing), then
    delivered permuted and duplicated."""
    name = draw(st.sampled_from(sorted(SCENARIOS)))
    stamps = st.one_of(
        st.just(""),
        st.integers(-600_000, 600_000).map(lambda ms: format_instant(T0 + timedelta(milliseconds=ms))),
    )
    original = SCENARIOS[name][0]
    restamped = draw(st.lists(stamps, min_size=len(original), max_size=len(original)))
    events = [
        [replace(fact, occurred_at=stamp) for fact in facts_of_event]
        for facts_of_event, stamp in zip(original, restamped, strict=True)
    ]
    order = draw(st.permutations(range(len(events))))
    duplicates = draw(st.lists(st.integers(0, len(events) - 1), max_size=len(events)))
    delivered = draw(st.permutations([events[i] for i in order] + [events[i] for i in duplicates]))
    return name, events, list(delivered)


@settings(max_examples=400, deadline=None)
@given(skewed_deliveries())
def test_skewed_timestamps_never_reopen_an_ended_call(case):
    from dialer.domain.outcomes import STATE_RANK

    name, events, delivered = case
    facts: dict = {}
    rank, ended = -1, False
    for facts_of_event in delivered:
        facts = merge_facts(facts, facts_of_event)
        summary = summarize(facts)
        # THEN the state only moves forward, and once the call has ended it stays ended
        assert STATE_RANK[summary.state] >= rank
        rank = STATE_RANK[summary.state]
        ended = ended or any(f.kind in (FactKind.HANGUP, FactKind.TEXML_FINAL) for f in facts_of_event)
        assert summary.state is (CallState.ENDED if ended else summary.state)
        assert summary.duration_s is None or summary.duration_s >= 0
    # AND the result is the same as delivering the same events in order, once each
    final = play(*delivered)
    assert final == play(*events)
    assert final.state is CallState.ENDED
    # AND the outcome does not depend on the stamps (a human call is not turned into a
    # failure because its answer looks later than its hangup)
    assert final.outcome is SCENARIOS[name][1]


def test_an_answer_stamped_after_the_hangup_does_not_reopen_the_call():
    # GIVEN a hangup, then an answer whose own timestamp is later than the hangup's
    ended = play(event("call.initiated", 0), event("call.hangup", 30, hangup_cause="normal_clearing"))
    late = play(
        event("call.initiated", 0),
        event("call.hangup", 30, hangup_cause="normal_clearing"),
        event("call.answered", 45),
    )
    # THEN the call stays ended, with no negative duration
    assert ended.state is late.state is CallState.ENDED
    assert late.ended_at == "2026-11-24T15:00:30.000000Z"
    assert late.duration_s == 0


# --- what an ended call still waits for (issue 19) ---------------------------------------------
def facts_of(*events: list[Fact]) -> dict:
    facts: dict = {}
    for facts_of_event in events:
        facts = merge_facts(facts, facts_of_event)
    return facts


HANGUP_200 = {"hangup_cause": "normal_clearing", "sip_hangup_cause": "200"}


@pytest.mark.parametrize(
    ("events", "awaited"),
    [
        # a hangup answered calls end with too, no answer yet: the answer may be on its way
        ([event("call.hangup", 60, **HANGUP_200)], (AwaitedFact.ANSWER,)),
        # a cause that rules an answer out awaits nothing
        ([event("call.hangup", 30, hangup_cause="timeout", sip_hangup_cause="487")], ()),
        ([event("call.hangup", 3, hangup_cause="user_busy")], ()),
        # answered, no AMD result yet
        ([event("call.answered", 8), event("call.hangup", 60, **HANGUP_200)], (AwaitedFact.AMD,)),
        # a person answered: the conversation or its start_failed is due
        (
            [
                event("call.answered", 8),
                event("call.machine.premium.detection.ended", 10, result="human_residence"),
                event("call.hangup", 60, **HANGUP_200),
            ],
            (AwaitedFact.ASSISTANT,),
        ),
        (
            [
                event("call.machine.premium.detection.ended", 10, result="human_residence"),
                event("call.conversation.start_failed", 11, reason="service_error"),
                event("call.hangup", 15, **HANGUP_200),
            ],
            (),
        ),
        # a machine answered: nothing else can change a voicemail
        (
            [
                event("call.machine.premium.detection.ended", 21, result="machine"),
                event("call.hangup", 45, **HANGUP_200),
            ],
            (),
        ),
        # not ended: nothing to settle yet
        ([event("call.answered", 8)], ()),
        # a TeXML final status carries its own answer facts
        ([texml(30, CallStatus="no-answer")], ()),
    ],
    ids=[
        "hangup-only",
        "timeout",
        "busy",
        "no-amd",
        "no-conversation",
        "start-failed",
        "machine",
        "live",
        "texml",
    ],
)
def test_awaited_facts(events, awaited):
    assert awaited_facts(facts_of(*events)) == awaited


def test_an_amd_result_says_the_call_was_answered_when_call_answered_is_late():
    # GIVEN a voicemail whose call.answered has not arrived
    summary = play(
        event("call.machine.premium.detection.ended", 21, result="machine"),
        event("call.hangup", 45, **HANGUP_200),
    )
    # THEN it is a voicemail already, not an unanswered call
    assert summary.outcome == CallOutcome.VOICEMAIL

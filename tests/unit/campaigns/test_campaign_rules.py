"""Campaign configuration, lifecycle and the mapping onto the compliance engine (pure)."""

from __future__ import annotations

from datetime import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from dialer.domain.campaigns import (
    TRANSITIONS,
    CampaignConfig,
    CampaignStatus,
    check_transition,
    compliance_policy,
)
from dialer.domain.outcomes import CallOutcome
from dialer.errors import IllegalTransition
from dialer.policies.compliance import ConsentType

LEGAL = {
    ("draft", "active"),
    ("draft", "canceled"),
    ("active", "paused"),
    ("active", "completed"),
    ("active", "canceled"),
    ("paused", "active"),
    ("paused", "completed"),
    ("paused", "canceled"),
}


@pytest.mark.parametrize("current", list(CampaignStatus))
@pytest.mark.parametrize("target", list(CampaignStatus))
def test_only_the_documented_moves_are_legal(current: CampaignStatus, target: CampaignStatus) -> None:
    if (current.value, target.value) in LEGAL:
        check_transition(current, target)
    else:
        with pytest.raises(IllegalTransition, match=current.value):
            check_transition(current, target)


@given(st.lists(st.sampled_from(list(CampaignStatus)), max_size=30))
def test_any_sequence_of_attempted_moves_never_leaves_a_final_state(moves: list[CampaignStatus]) -> None:
    status = CampaignStatus.DRAFT
    for target in moves:
        final = not TRANSITIONS[status]
        try:
            check_transition(status, target)
        except IllegalTransition:
            continue
        assert not final
        status = target
    if status in (CampaignStatus.COMPLETED, CampaignStatus.CANCELED):
        assert not TRANSITIONS[status]


def test_defaults_follow_the_design() -> None:
    config = CampaignConfig(name="x")
    assert set(config.retry.outcomes) == {
        CallOutcome.NO_ANSWER,
        CallOutcome.BUSY,
        CallOutcome.VOICEMAIL,
        CallOutcome.FAILED,
        CallOutcome.ASSISTANT_FAILED,  # issue 10: the assistant never spoke, the callee heard nothing
        CallOutcome.UNKNOWN,
        CallOutcome.VOICEMAIL_LEFT,  # issue 23: a message was left, the lead gets two days to call back
    }
    left = config.retry.outcomes[CallOutcome.VOICEMAIL_LEFT]
    assert (left.delay_minutes, left.max_attempts) == (2 * 24 * 60, 3)
    assert all(
        r.delay_minutes == 30 and r.max_attempts == 3
        for o, r in config.retry.outcomes.items()
        if o != CallOutcome.VOICEMAIL_LEFT
    )
    assert config.consent.required is True
    assert config.consent.accepted_types == [ConsentType.EXPRESS_WRITTEN]
    assert config.dial_method == "call_control"


def test_the_campaign_maps_onto_the_engine_policy() -> None:
    config = CampaignConfig(
        name="x",
        window={"days": ["mon", "fri"], "start": "10:30", "end": "24:00", "fallback_zone": "America/Chicago"},
        retry={"max_attempts": 5},
        consent={"required": False, "require_national_dnc_scrub": False, "daily_cap": 2},
    )
    policy = compliance_policy(config)
    assert policy.window_days == frozenset({0, 4})
    assert policy.window_start == time(10, 30)
    assert policy.window_end > time(23, 59)
    assert policy.fallback_zone == "America/Chicago"
    assert (policy.requires_consent, policy.requires_scrub, policy.daily_cap, policy.max_attempts) == (
        False,
        False,
        2,
        5,
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"assistant_id": "a", "assistant_variants": [{"assistant_id": "b"}]},
        {"assistant_variants": [{"assistant_id": "b"}, {"assistant_id": "b"}]},
        {"caller_ids": ["c1", "c1"]},
        {"window": {"days": ["mon", "mon"]}},
        {"window": {"start": "9:00"}},
        {"variables": {"v": "custom."}},
        {"retry": {"outcomes": {"no_answer": {"delay_minutes": -1}}}},
        {"pacing": {"max_dials_per_minute": 0}},
        {"budget": {"max_cost": 0}},
    ],
)
def test_inconsistent_configurations_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        CampaignConfig.model_validate({"name": "x", **changes})

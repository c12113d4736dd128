"""Number Reputation's rule (issue 23), pure: which spam_risk rests a number at the tenant's
level, an unknown or missing risk rests nothing, a number already rested (an operator's rest)
keeps its rest, and the settings refuse what cannot work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from dialer.domain.caller_id_health import CallerIdHealthSettings, CallerIdRest, reputation_rests
from dialer.domain.number_reputation import ReputationSettings, SpamRisk, reputation_rest_reason

ENTERPRISE = "4a6192a4-573d-446d-b3ce-aff9117272a6"


@pytest.mark.parametrize(
    ("level", "risk", "rests"),
    [
        (SpamRisk.HIGH, "high", True),
        (SpamRisk.HIGH, "medium", False),  # below the level
        (SpamRisk.HIGH, "low", False),
        (SpamRisk.MEDIUM, "high", True),  # above the level
        (SpamRisk.MEDIUM, "medium", True),  # at the level
        (SpamRisk.MEDIUM, "low", False),
        # unknown: no data yet, or a bucket the spec does not list (a guess would rest a good number)
        (SpamRisk.MEDIUM, None, False),
        (SpamRisk.MEDIUM, "critical", False),
        (SpamRisk.MEDIUM, "HIGH", False),
        (SpamRisk.MEDIUM, "", False),
    ],
)
def test_a_number_rests_at_or_above_the_level_only(level: SpamRisk, risk: str | None, rests: bool) -> None:
    assert (reputation_rest_reason(level, risk) is not None) is rests


def test_the_reason_names_the_spam_risk_the_level_and_a_bounded_category() -> None:
    assert reputation_rest_reason(SpamRisk.MEDIUM, "high") == (
        "Telnyx Number Reputation: spam_risk high (rests at medium or above)"
    )
    reason = reputation_rest_reason(SpamRisk.HIGH, "high", "  robocall " + "x" * 200)
    assert reason is not None
    assert reason.startswith(
        "Telnyx Number Reputation: spam_risk high (rests at high or above), category robocall"
    )
    assert len(reason) < 140


def test_reputation_is_off_by_default_and_rests_only_high_risk_numbers() -> None:
    settings = CallerIdHealthSettings()
    assert settings.reputation == ReputationSettings(enabled=False, rest_at_spam_risk=SpamRisk.HIGH)
    # settings stored before reputation existed read as "off"
    assert CallerIdHealthSettings.model_validate({"window_calls": 60}).reputation.enabled is False


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ({"enabled": True}, "enterprise_id is required"),
        ({"enterprise_id": "4A6192A4-573D-446D-B3CE-AFF9117272A6"}, "lowercase UUID"),
        ({"enterprise_id": "not-an-id"}, "lowercase UUID"),
        ({"enterprise_id": ENTERPRISE, "rest_at_spam_risk": "low"}, "medium or high"),
        ({"enterprise_id": ENTERPRISE, "rest_at_spam_risk": "severe"}, "rest_at_spam_risk"),
        ({"enterprise_id": ENTERPRISE, "check_every_minutes": 14}, "check_every_minutes"),
        ({"enterprise_id": ENTERPRISE, "check_every_minutes": 1441}, "check_every_minutes"),
        ({"enterprise_id": ENTERPRISE, "spam_risk": "high"}, "spam_risk"),  # unknown field
    ],
)
def test_settings_that_cannot_work_are_refused(bad: dict[str, object], says: str) -> None:
    with pytest.raises(ValidationError) as raised:
        CallerIdHealthSettings.model_validate({"reputation": bad})
    assert says in str(raised.value)


def test_enabled_with_an_enterprise_is_accepted() -> None:
    settings = ReputationSettings(enabled=True, enterprise_id=ENTERPRISE, rest_at_spam_risk=SpamRisk.MEDIUM)
    assert settings.check_every_minutes == 60


NOW = datetime(2026, 12, 2, 21, 0, tzinfo=UTC)
SNAPSHOTS = {
    "+12125550100": ("high", "robocall"),
    "+13055550100": ("high", None),
    "+14155550100": ("low", None),
    "+15125550100": (None, None),
}


def test_only_unrested_monitored_numbers_at_the_level_are_rested_and_existing_rests_stand() -> None:
    caller_ids = [
        CallerIdRest("cid_ny", "+12125550100"),  # high, not rested: rested
        CallerIdRest("cid_fl", "+13055550100", rested_until=NOW + timedelta(hours=3)),  # rested: kept
        CallerIdRest("cid_ca", "+14155550100"),  # low: not rested
        CallerIdRest("cid_tx", "+15125550100"),  # no data yet: not rested
        CallerIdRest("cid_il", "+13125550100"),  # not monitored at Telnyx: not rested
    ]
    assert reputation_rests(SpamRisk.HIGH, SNAPSHOTS, caller_ids, NOW) == [
        ("cid_ny", "Telnyx Number Reputation: spam_risk high (rests at high or above), category robocall")
    ]


def test_a_rest_that_ended_while_the_risk_stays_high_is_rested_again() -> None:
    ended = [CallerIdRest("cid_fl", "+13055550100", rested_until=NOW)]  # ends at NOW: over
    assert [cid for cid, _ in reputation_rests(SpamRisk.HIGH, SNAPSHOTS, ended, NOW)] == ["cid_fl"]
    running = [CallerIdRest("cid_fl", "+13055550100", rested_until=NOW + timedelta(seconds=1))]
    assert reputation_rests(SpamRisk.HIGH, SNAPSHOTS, running, NOW) == []

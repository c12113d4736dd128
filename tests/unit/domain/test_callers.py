"""The one rule for which of a number's leads a caller is."""

from __future__ import annotations

from dialer.domain.callers import preferred_lead

STATUS = {"cmp_01": "active", "cmp_02": "completed", "cmp_03": "active", "cmp_04": "paused"}


def pick(*campaigns: str) -> str | None:
    return preferred_lead(list(campaigns), lambda c: c, STATUS.get)


def test_the_most_recent_active_campaign_wins_over_newer_inactive_ones() -> None:
    assert pick("cmp_01", "cmp_02", "cmp_03", "cmp_04") == "cmp_03"
    assert pick("cmp_01", "cmp_02") == "cmp_01"


def test_without_an_active_campaign_the_most_recent_of_any_status() -> None:
    assert pick("cmp_02", "cmp_04") == "cmp_04"
    assert pick("cmp_09") == "cmp_09"  # a campaign that no longer exists still names the person


def test_nobody() -> None:
    assert pick() is None

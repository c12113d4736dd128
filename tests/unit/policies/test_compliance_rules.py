"""The engine's non-window rules, the address/area-code intersection, zones, and next_legal_time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from dialer.policies.compliance import (
    CampaignPolicy,
    ConsentRecord,
    ConsentType,
    LeadFacts,
    evaluate,
    legal_window_on,
    next_legal_time,
)

NY = ZoneInfo("America/New_York")
WEDNESDAY_NOON = datetime(2026, 1, 14, 12, 0, tzinfo=NY)
GRANTED = datetime(2025, 12, 1, tzinfo=UTC)
WRITTEN = ConsentRecord(type=ConsentType.EXPRESS_WRITTEN, source="web_form", granted_at=GRANTED)
STRICT = CampaignPolicy()  # requires written consent and a fresh scrub; law-only window
OPEN = CampaignPolicy(
    window_start=time(0, 0), window_end=time(23, 59), requires_consent=False, requires_scrub=False
)


def lead(**overrides) -> LeadFacts:
    """A lead in New York (no state rules) that STRICT may call on WEDNESDAY_NOON."""
    values = {
        "phone": "+12125550123",
        "zone": "America/New_York",
        "address_state": "NY",
        "area_code_state": "NY",
        "consent": WRITTEN,
        "dnc_scrubbed_at": datetime(2026, 1, 10, tzinfo=UTC),
    }
    values.update(overrides)
    return LeadFacts(**values)


def test_the_baseline_lead_is_callable():
    decision = evaluate(lead(), STRICT, WEDNESDAY_NOON)
    assert decision.eligible
    assert decision.reasons == ()
    assert decision.zone == "America/New_York"
    assert decision.local_time == WEDNESDAY_NOON


# --- DNC, consent, scrub, attempts ----------------------------------------------------------


def test_dnc_blocks_for_good():
    assert evaluate(lead(dnc=True), STRICT, WEDNESDAY_NOON).reasons == ("dnc",)
    assert next_legal_time(lead(dnc=True), STRICT, WEDNESDAY_NOON) is None


def test_missing_consent_blocks_when_required_only():
    assert evaluate(lead(consent=None), STRICT, WEDNESDAY_NOON).reasons == ("no_consent",)
    assert next_legal_time(lead(consent=None), STRICT, WEDNESDAY_NOON) is None
    informational = CampaignPolicy(requires_consent=False)
    assert evaluate(lead(consent=None), informational, WEDNESDAY_NOON).eligible


def test_revoked_consent_blocks_every_campaign():
    revoked = ConsentRecord(
        type=ConsentType.EXPRESS_WRITTEN,
        source="web_form",
        granted_at=GRANTED,
        revoked_at=WEDNESDAY_NOON - timedelta(minutes=5),
    )
    assert evaluate(lead(consent=revoked), STRICT, WEDNESDAY_NOON).reasons == ("consent_revoked",)
    # FCC 24-18: a revocation is an opt-out, even for a campaign that needs no consent.
    informational = CampaignPolicy(requires_consent=False)
    assert evaluate(lead(consent=revoked), informational, WEDNESDAY_NOON).reasons == ("consent_revoked",)
    assert next_legal_time(lead(consent=revoked), informational, WEDNESDAY_NOON) is None


def test_consent_revoked_later_allows_until_then():
    revoking = ConsentRecord(
        type=ConsentType.EXPRESS_WRITTEN,
        source="web_form",
        granted_at=GRANTED,
        revoked_at=WEDNESDAY_NOON + timedelta(hours=1),
    )
    assert evaluate(lead(consent=revoking), STRICT, WEDNESDAY_NOON).eligible
    late = WEDNESDAY_NOON.replace(hour=20)
    assert next_legal_time(lead(consent=revoking), STRICT, late) is None


def test_consent_starting_later_defers_to_its_start():
    pending = ConsentRecord(
        type=ConsentType.EXPRESS_WRITTEN, source="web_form", granted_at=WEDNESDAY_NOON + timedelta(minutes=42)
    )
    assert evaluate(lead(consent=pending), STRICT, WEDNESDAY_NOON).reasons == ("no_consent",)
    assert next_legal_time(lead(consent=pending), STRICT, WEDNESDAY_NOON) == pending.granted_at


def test_consent_of_the_wrong_type_is_insufficient():
    oral = ConsentRecord(type=ConsentType.EXPRESS, source="call", granted_at=GRANTED)
    assert evaluate(lead(consent=oral), STRICT, WEDNESDAY_NOON).reasons == ("consent_insufficient",)
    informational = CampaignPolicy(accepted_consent=frozenset(ConsentType))
    assert evaluate(lead(consent=oral), informational, WEDNESDAY_NOON).eligible


def test_scrub_must_be_present_and_at_most_31_days_old():
    at = WEDNESDAY_NOON
    assert evaluate(lead(dnc_scrubbed_at=None), STRICT, at).reasons == ("scrub_missing",)
    assert evaluate(lead(dnc_scrubbed_at=at - timedelta(days=31)), STRICT, at).eligible
    stale = lead(dnc_scrubbed_at=at - timedelta(days=31, seconds=1))
    assert evaluate(stale, STRICT, at).reasons == ("scrub_stale",)
    assert next_legal_time(stale, STRICT, at) is None
    assert evaluate(stale, CampaignPolicy(requires_scrub=False), at).eligible


def test_a_scrub_going_stale_before_the_window_opens_means_never():
    # Scrubbed 31 days before tonight 22:00: by tomorrow 08:00 it is stale.
    tonight = WEDNESDAY_NOON.replace(hour=22)
    soon_stale = lead(dnc_scrubbed_at=tonight - timedelta(days=31))
    assert evaluate(soon_stale, STRICT, tonight).reasons == (
        "outside_window:federal",
        "outside_window:campaign",
    )
    assert next_legal_time(soon_stale, STRICT, tonight) is None


def test_max_attempts():
    campaign = CampaignPolicy(max_attempts=3)
    assert evaluate(lead(attempts=2), campaign, WEDNESDAY_NOON).eligible
    assert evaluate(lead(attempts=3), campaign, WEDNESDAY_NOON).reasons == ("max_attempts",)
    assert next_legal_time(lead(attempts=3), campaign, WEDNESDAY_NOON) is None


def test_invalid_number():
    for phone in ("2125550123", "+0125550123", "+1 212 555 0123", ""):
        assert evaluate(lead(phone=phone), STRICT, WEDNESDAY_NOON).reasons == ("invalid_number",)
    assert next_legal_time(lead(phone="nope"), STRICT, WEDNESDAY_NOON) is None


def test_every_blocking_reason_is_reported_not_just_the_first():
    # GIVEN a lead that breaks every rule at once, at 07:00 on a Sunday, in Florida
    sunday_7am = datetime(2026, 1, 18, 7, 0, tzinfo=NY)
    bad = LeadFacts(
        phone="555",
        zone="America/New_York",
        address_state="AL",
        area_code_state="FL",
        dnc=True,
        consent=None,
        dnc_scrubbed_at=None,
        attempts=5,
        recent_calls=tuple(sunday_7am - timedelta(hours=h) for h in (1, 2, 3)),
    )
    campaign = CampaignPolicy(window_days=frozenset(range(5)), daily_cap=1, max_attempts=5)
    # WHEN evaluated
    decision = evaluate(bad, campaign, sunday_7am, emergencies=frozenset({"AL"}))
    # THEN all of them, in the documented order (AL has no emergency rule)
    assert decision.reasons == (
        "invalid_number",
        "dnc",
        "no_consent",
        "scrub_missing",
        "max_attempts",
        "outside_window:federal",
        "sunday:AL",
        "outside_window:FL",
        "outside_window:campaign",
        "cap_24h:FL",
        "cap_daily",
    )


# --- Address state vs area-code state -------------------------------------------------------


def test_address_and_area_code_states_both_apply():
    # GIVEN a Kentucky resident (10:00-21:00) with a Rhode Island number (09:00-18:00)
    both = lead(address_state="KY", area_code_state="RI")
    # THEN only 10:00-18:00 remains, and each side names its own state
    assert evaluate(both, OPEN, WEDNESDAY_NOON.replace(hour=9, minute=30)).reasons == ("outside_window:KY",)
    assert evaluate(both, OPEN, WEDNESDAY_NOON.replace(hour=18, minute=30)).reasons == ("outside_window:RI",)
    assert evaluate(both, OPEN, WEDNESDAY_NOON).eligible
    assert legal_window_on(both, OPEN, date(2026, 1, 14)) == (time(10, 0), time(18, 0))
    assert evaluate(both, OPEN, datetime(2026, 1, 18, 12, tzinfo=NY)).reasons == ("sunday:RI",)


def test_florida_area_code_presumes_residence_for_a_new_yorker():
    # A New York address with a Florida number: FL's 20:00 end and 3-per-24h cap apply.
    lead_fl = lead(address_state="NY", area_code_state="FL")
    assert evaluate(lead_fl, STRICT, WEDNESDAY_NOON.replace(hour=20, minute=30)).reasons == (
        "outside_window:FL",
    )
    calls = tuple(WEDNESDAY_NOON - timedelta(hours=h) for h in (1, 5, 20))
    assert evaluate(
        lead(address_state="NY", area_code_state="FL", recent_calls=calls), STRICT, WEDNESDAY_NOON
    ).reasons == ("cap_24h:FL",)


def test_same_state_twice_is_reported_once():
    both = lead(address_state="FL", area_code_state="fl")
    assert evaluate(both, STRICT, WEDNESDAY_NOON.replace(hour=20, minute=30)).reasons == (
        "outside_window:FL",
    )


# --- Zones ----------------------------------------------------------------------------------


def test_unknown_zone_is_not_callable_without_a_fallback():
    nowhere = lead(zone=None)
    decision = evaluate(nowhere, STRICT, WEDNESDAY_NOON)
    assert decision.reasons == ("unknown_timezone",)
    assert decision.zone is None
    assert decision.local_time is None
    assert next_legal_time(nowhere, STRICT, WEDNESDAY_NOON) is None


def test_an_invalid_zone_counts_as_unknown():
    assert evaluate(lead(zone="Mars/Olympus"), STRICT, WEDNESDAY_NOON).reasons == ("unknown_timezone",)


def test_campaign_fallback_zone_is_used_when_the_operator_named_one():
    campaign = CampaignPolicy(fallback_zone="America/Los_Angeles")
    nowhere = lead(zone=None)
    # 12:00 in New York is 09:00 in Los Angeles: fine; 09:00 in New York is 06:00 there: too early.
    decision = evaluate(nowhere, campaign, WEDNESDAY_NOON)
    assert decision.eligible
    assert decision.zone == "America/Los_Angeles"
    assert "outside_window:federal" in evaluate(nowhere, campaign, WEDNESDAY_NOON.replace(hour=9)).reasons
    assert next_legal_time(nowhere, campaign, WEDNESDAY_NOON.replace(hour=9)) == WEDNESDAY_NOON.replace(
        hour=11
    )
    # The lead's own zone, when known, wins over the fallback.
    assert evaluate(lead(), campaign, WEDNESDAY_NOON).zone == "America/New_York"


def test_windows_are_evaluated_in_the_lead_zone_not_the_callers():
    hawaii = lead(zone="Pacific/Honolulu", address_state="HI", area_code_state="HI")
    # 12:00 in New York is 07:00 in Honolulu (January: UTC-10 vs UTC-5).
    # (STRICT's own window is the legal 08:00-21:00, so it reports too.)
    assert evaluate(hawaii, STRICT, WEDNESDAY_NOON).reasons == (
        "outside_window:federal",
        "outside_window:campaign",
    )
    assert next_legal_time(hawaii, STRICT, WEDNESDAY_NOON) == WEDNESDAY_NOON + timedelta(hours=1)


# --- Caps -----------------------------------------------------------------------------------


def test_state_cap_is_a_rolling_24_hours_across_campaigns():
    at = WEDNESDAY_NOON
    calls = (at - timedelta(hours=23), at - timedelta(hours=10), at - timedelta(minutes=30))
    florida = lead(address_state="FL", area_code_state="FL", recent_calls=calls)
    assert evaluate(florida, STRICT, at).reasons == ("cap_24h:FL",)
    # Frees exactly 24 h after the oldest of the three.
    assert next_legal_time(florida, STRICT, at) == calls[0] + timedelta(hours=24)
    # Two calls are fine; a call 24 h ago or more no longer counts.
    assert evaluate(
        lead(address_state="FL", area_code_state="FL", recent_calls=calls[1:]), STRICT, at
    ).eligible
    old = (at - timedelta(hours=24), *calls[1:])
    assert evaluate(lead(address_state="FL", area_code_state="FL", recent_calls=old), STRICT, at).eligible


@pytest.mark.parametrize("state", ["OK", "MD"])
def test_other_capped_states(state):
    calls = tuple(WEDNESDAY_NOON - timedelta(hours=h) for h in (1, 2, 3))
    capped = lead(address_state=state, area_code_state=state, zone="America/Chicago", recent_calls=calls)
    assert evaluate(capped, OPEN, WEDNESDAY_NOON).reasons == (f"cap_24h:{state}",)


def test_uncapped_state_has_no_24h_cap():
    calls = tuple(WEDNESDAY_NOON - timedelta(hours=h) for h in (1, 2, 3, 4, 5))
    assert evaluate(lead(recent_calls=calls), STRICT, WEDNESDAY_NOON).eligible


def test_campaign_daily_cap_counts_the_lead_local_day():
    campaign = CampaignPolicy(daily_cap=2)
    at = WEDNESDAY_NOON
    today = (at.replace(hour=8, minute=30), at.replace(hour=10))
    capped = lead(recent_calls=today)
    assert evaluate(capped, campaign, at).reasons == ("cap_daily",)
    # Resumes at the next day's window opening (08:00), after local midnight.
    assert next_legal_time(capped, campaign, at) == datetime(2026, 1, 15, 8, 0, tzinfo=NY)
    # Yesterday's calls do not count toward today, even within 24 h.
    yesterday = (at - timedelta(hours=15), at - timedelta(hours=14))
    assert evaluate(lead(recent_calls=yesterday), campaign, at).eligible


def test_daily_cap_uses_the_lead_zone_day_boundary():
    # 23:30 in Los Angeles is already tomorrow in UTC; it is still "today" for a LA lead.
    la = ZoneInfo("America/Los_Angeles")
    campaign = CampaignPolicy(daily_cap=1)
    at = datetime(2026, 1, 14, 12, 0, tzinfo=la)
    call = datetime(2026, 1, 14, 8, 30, tzinfo=la)
    west = lead(zone="America/Los_Angeles", address_state="CA", area_code_state="CA", recent_calls=(call,))
    assert evaluate(west, campaign, at).reasons == ("cap_daily",)
    assert next_legal_time(west, campaign, at) == datetime(2026, 1, 15, 8, 0, tzinfo=la)


# --- Campaign window and next_legal_time ------------------------------------------------------


def test_campaign_window_intersects_the_legal_one():
    weekdays_10_to_18 = CampaignPolicy(
        window_days=frozenset(range(5)), window_start=time(10), window_end=time(18)
    )
    assert evaluate(lead(), weekdays_10_to_18, WEDNESDAY_NOON.replace(hour=9)).reasons == (
        "outside_window:campaign",
    )
    saturday = datetime(2026, 1, 17, 12, tzinfo=NY)
    assert evaluate(lead(), weekdays_10_to_18, saturday).reasons == ("outside_window:campaign",)
    assert next_legal_time(lead(), weekdays_10_to_18, saturday) == datetime(2026, 1, 19, 10, tzinfo=NY)
    assert legal_window_on(lead(), weekdays_10_to_18, date(2026, 1, 17)) is None


def test_a_campaign_that_never_meets_the_law_gets_none():
    # Sundays only, for a lead in Alabama (no Sundays): never.
    sundays = CampaignPolicy(window_days=frozenset({6}))
    alabama = lead(zone="America/Chicago", address_state="AL", area_code_state="AL")
    assert next_legal_time(alabama, sundays, WEDNESDAY_NOON) is None
    # Early mornings only: never inside 08:00-21:00.
    dawn = CampaignPolicy(window_start=time(5), window_end=time(7, 30))
    assert next_legal_time(lead(), dawn, WEDNESDAY_NOON) is None


def test_next_legal_time_is_the_instant_itself_when_eligible():
    at = WEDNESDAY_NOON.replace(second=17, microsecond=5)
    assert next_legal_time(lead(), STRICT, at) == at


def test_next_legal_time_respects_the_horizon():
    sundays = CampaignPolicy(window_days=frozenset({6}))
    assert next_legal_time(lead(), sundays, WEDNESDAY_NOON, horizon=timedelta(days=2)) is None
    assert next_legal_time(lead(), sundays, WEDNESDAY_NOON) == datetime(2026, 1, 18, 8, tzinfo=NY)


def test_window_and_cap_together_take_the_later():
    # FL cap frees at 21:00 tonight, after FL's 20:00 close: so tomorrow 08:00.
    at = WEDNESDAY_NOON
    calls = (at.replace(hour=21) - timedelta(hours=24), at - timedelta(hours=2), at - timedelta(hours=1))
    florida = lead(address_state="FL", area_code_state="FL", recent_calls=calls)
    assert evaluate(florida, STRICT, at).reasons == ("cap_24h:FL",)
    assert next_legal_time(florida, STRICT, at) == datetime(2026, 1, 15, 8, tzinfo=NY)


# --- Inputs ---------------------------------------------------------------------------------


def test_naive_instants_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate(lead(), STRICT, datetime(2026, 1, 14, 12))
    with pytest.raises(ValueError, match="timezone-aware"):
        next_legal_time(lead(), STRICT, datetime(2026, 1, 14, 12))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"window_days": frozenset()},
        {"window_days": frozenset({7})},
        {"window_start": time(18), "window_end": time(9)},
        {"window_start": time(9), "window_end": time(9)},
        {"fallback_zone": "Mars/Olympus"},
        {"daily_cap": 0},
        {"max_attempts": 0},
    ],
)
def test_campaign_policy_refuses_nonsense(kwargs):
    with pytest.raises(ValueError, match=r".+"):
        CampaignPolicy(**kwargs)

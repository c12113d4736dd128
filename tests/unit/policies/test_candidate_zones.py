"""Issue 13: a call must be legal in every zone the person may be in.

Each example resolves a lead from its facts (number, address state) the way intake does, then asks
the engine. Every one of them was decided the other way before candidate zones.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dialer.domain.location import resolve_location
from dialer.policies.compliance import CampaignPolicy, LeadFacts, evaluate, next_legal_time

# The law's windows only (the campaign's own window spans the whole day).
LAW_ONLY = CampaignPolicy(
    window_start=time(0, 0), window_end=time(23, 59), requires_consent=False, requires_scrub=False
)
CT = ZoneInfo("America/Chicago")

WEST_TEXAS = "+14322668574"  # area code 432, Central time
ILLINOIS = "+13125550123"  # Chicago, Central time
ORLANDO = "+14075550123"  # Florida, Eastern time
TOLL_FREE = "+18005551234"


def located(phone: str, state: str | None = None, zone: str | None = None) -> LeadFacts:
    """The engine's view of a lead whose location was resolved from these facts."""
    loc = resolve_location(phone, explicit_zone=zone, address_state=state)
    return LeadFacts(
        phone=phone,
        zone=loc.zone,
        zones=loc.zones,
        address_state=loc.address_state,
        area_code_state=loc.area_code_state,
    )


def test_a_michigan_address_with_a_west_texas_number_is_not_called_at_2106_in_detroit():
    # GIVEN a Michigan address and a Central-time Texas number (not from Michigan)
    lead = located(WEST_TEXAS, "MI")
    at = datetime(2026, 3, 16, 1, 6, 22, tzinfo=UTC)  # 20:06 CDT, 21:06 EDT
    # WHEN the engine is asked at 21:06 in Detroit
    decision = evaluate(lead, LAW_ONLY, at)
    # THEN the call is refused, and the refusal names the eastern zones that block it
    assert not decision.eligible
    assert decision.reasons == ("outside_window:federal", "outside_window:MI")
    assert set(decision.where("outside_window:federal")) == {"America/Detroit", "America/New_York"}
    assert decision.detail("outside_window:federal").startswith("outside_window:federal@America/")
    assert decision.zone == "America/Detroit"  # the address zone is the lead-local one
    assert decision.local_time is not None
    assert decision.local_time.hour == 21


def test_an_illinois_number_with_a_new_york_address_waits_for_0800_central():
    lead = located(ILLINOIS, "NY")
    at = datetime(2026, 1, 14, 13, 56, tzinfo=UTC)  # 08:56 EST, 07:56 CST
    decision = evaluate(lead, LAW_ONLY, at)
    assert decision.reasons == ("outside_window:federal",)
    assert decision.where("outside_window:federal") == ("America/Chicago",)
    # The next legal instant is 08:00 in Chicago, to the second (found exactly, not by stepping).
    assert next_legal_time(lead, LAW_ONLY, at + timedelta(seconds=30)) == datetime(
        2026, 1, 14, 14, 0, tzinfo=UTC
    )


def test_an_orlando_number_with_a_mississippi_address_keeps_floridas_2000_in_eastern_time():
    lead = located(ORLANDO, "MS")
    at = datetime(2026, 6, 11, 0, 57, tzinfo=UTC)  # Wednesday 19:57 CDT = 20:57 EDT
    decision = evaluate(lead, LAW_ONLY, at)
    # FL presumes residence from the area code: its 20:00 limit (and MS's) holds where the number is.
    assert decision.reasons == ("outside_window:MS", "outside_window:FL")
    assert decision.where("outside_window:FL") == ("America/New_York",)
    assert decision.detail("outside_window:FL") == "outside_window:FL@America/New_York"
    assert evaluate(lead, LAW_ONLY, at - timedelta(hours=1)).eligible  # 18:57 CDT = 19:57 EDT


def test_a_texas_address_without_a_usable_number_is_callable_0900_to_2100_central():
    # Before: unknown_timezone, never called. Now: legal 08:00 MT - 21:00 CT, i.e. 09:00-21:00 CT.
    lead = located(TOLL_FREE, "TX")
    assert set(lead.zones) == {"America/Chicago", "America/Denver"}
    day = datetime(2026, 1, 14, tzinfo=CT)  # a Wednesday
    opens = day.replace(hour=9)
    closes = day.replace(hour=21)
    assert next_legal_time(lead, LAW_ONLY, day.replace(hour=7)) == opens
    assert evaluate(lead, LAW_ONLY, opens).eligible
    early = evaluate(lead, LAW_ONLY, opens - timedelta(seconds=1))
    assert (early.reasons, early.where("outside_window:federal")) == (
        ("outside_window:federal",),
        ("America/Denver",),
    )
    assert evaluate(lead, LAW_ONLY, closes - timedelta(seconds=1)).eligible
    late = evaluate(lead, LAW_ONLY, closes)
    assert late.where("outside_window:federal") == ("America/Chicago",)


def test_an_explicit_zone_is_trusted_alone():
    lead = located(ILLINOIS, "NY", zone="America/New_York")
    assert lead.zones == ("America/New_York",)
    assert evaluate(lead, LAW_ONLY, datetime(2026, 1, 14, 13, 56, tzinfo=UTC)).eligible


def test_a_lead_with_no_evidence_stays_unknown_unless_the_campaign_names_a_fallback():
    lead = located(TOLL_FREE)
    assert lead.zones == ()
    at = datetime(2026, 1, 14, 18, tzinfo=UTC)
    assert evaluate(lead, LAW_ONLY, at).reasons == ("unknown_timezone",)
    fallback = replace(LAW_ONLY, fallback_zone="America/Denver")
    decision = evaluate(lead, fallback, at)
    assert (decision.eligible, decision.zones) == (True, ("America/Denver",))


def test_windows_that_never_meet_in_every_zone_give_no_next_time():
    # Honolulu and New York share no minute of 08:00-21:00 under a 08:00-12:00 campaign window.
    morning = replace(LAW_ONLY, window_start=time(8, 0), window_end=time(12, 0))
    lead = LeadFacts(phone="+12125550123", zone="America/New_York", zones=("Pacific/Honolulu",))
    assert next_legal_time(lead, morning, datetime(2026, 1, 14, tzinfo=UTC)) is None


def test_the_daily_cap_counts_the_local_day_of_every_zone():
    capped = replace(LAW_ONLY, daily_cap=1)
    # One call at 00:30 Eastern on Thursday = 23:30 Central on Wednesday.
    call = datetime(2026, 1, 15, 5, 30, tzinfo=UTC)
    lead = LeadFacts(
        phone="+12125550123", zone="America/New_York", zones=("America/Chicago",), recent_calls=(call,)
    )
    # Wednesday afternoon: the call is on Wednesday only in Chicago.
    wednesday = datetime(2026, 1, 14, 23, 0, tzinfo=UTC)
    decision = evaluate(lead, capped, wednesday)
    assert decision.reasons == ("cap_daily",)
    assert decision.where("cap_daily") == ("America/Chicago",)
    # Thursday it is the Eastern day of the call; Friday 08:00 Central is the first free legal minute.
    assert next_legal_time(lead, capped, wednesday) == datetime(2026, 1, 16, 14, 0, tzinfo=UTC)

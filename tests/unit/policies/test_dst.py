"""DST: both transitions, 2025-2028, in six US zones, checked against hand-written UTC offsets.

The oracle does not use zoneinfo: US DST runs from the second Sunday of March to the first Sunday
of November (Energy Policy Act of 2005), and each zone's standard/daylight offsets are written out.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta

import pytest

from dialer.policies.compliance import CampaignPolicy, LeadFacts, evaluate, next_legal_time

# zone: (standard offset, daylight offset) in hours
OFFSETS = {
    "America/New_York": (-5, -4),
    "America/Chicago": (-6, -5),
    "America/Denver": (-7, -6),
    "America/Phoenix": (-7, -7),  # no DST
    "America/Los_Angeles": (-8, -7),
    "Pacific/Honolulu": (-10, -10),  # no DST
}
YEARS = (2025, 2026, 2027, 2028)
OPEN = CampaignPolicy(
    window_start=time(0, 0), window_end=time(23, 59), requires_consent=False, requires_scrub=False
)


def nth_sunday(year: int, month: int, n: int) -> date:
    sundays = [week[calendar.SUNDAY] for week in calendar.monthcalendar(year, month) if week[calendar.SUNDAY]]
    return date(year, month, sundays[n - 1])


def transitions(year: int) -> tuple[date, date]:
    return nth_sunday(year, 3, 2), nth_sunday(year, 11, 1)


def in_dst(day: date) -> bool:
    """Whether 08:00-21:00 local on ``day`` is daylight time (transitions happen at 02:00)."""
    start, end = transitions(day.year)
    return start <= day < end


def utc_of(zone: str, day: date, hour: int, minute: int = 0) -> datetime:
    standard, daylight = OFFSETS[zone]
    offset = daylight if in_dst(day) else standard
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=offset)


def lead_in(zone: str) -> LeadFacts:
    return LeadFacts(phone="+12025550123", zone=zone)


CASES = [
    pytest.param(zone, day, id=f"{zone}-{day.isoformat()}")
    for zone in OFFSETS
    for year in YEARS
    for transition in transitions(year)
    for day in (transition - timedelta(days=1), transition, transition + timedelta(days=1))
]


@pytest.mark.parametrize(("zone", "day"), CASES)
def test_federal_window_edges_around_transitions(zone, day):
    lead = lead_in(zone)
    opens, closes = utc_of(zone, day, 8), utc_of(zone, day, 21)
    assert evaluate(lead, OPEN, opens).eligible
    assert evaluate(lead, OPEN, opens - timedelta(minutes=1)).reasons == ("outside_window:federal",)
    assert evaluate(lead, OPEN, closes - timedelta(minutes=1)).eligible
    assert evaluate(lead, OPEN, closes).reasons == ("outside_window:federal",)
    # From the small hours, 7 real hours earlier (across the 02:00 transition itself on transition
    # days), the next legal time is 08:00 local.
    assert next_legal_time(lead, OPEN, opens - timedelta(hours=7)) == opens
    # From after 21:00 the day before, it is 08:00 on this day.
    assert next_legal_time(lead, OPEN, utc_of(zone, day - timedelta(days=1), 21, 30)) == opens


@pytest.mark.parametrize("zone", list(OFFSETS))
@pytest.mark.parametrize("year", YEARS)
def test_decision_reports_the_local_time_with_the_right_offset(zone, year):
    spring, fall = transitions(year)
    for day in (spring, fall):
        decision = evaluate(lead_in(zone), OPEN, utc_of(zone, day, 12))
        assert decision.local_time is not None
        assert (decision.local_time.hour, decision.local_time.minute) == (12, 0)
        standard, daylight = OFFSETS[zone]
        expected = daylight if in_dst(day) else standard
        assert decision.local_time.utcoffset() == timedelta(hours=expected)


def test_the_spring_forward_night_is_an_hour_shorter_and_fall_back_an_hour_longer():
    # 21:00 -> 08:00 across the night: 10 h in spring (EST->EDT), 12 h in autumn, 11 h otherwise.
    lead = lead_in("America/New_York")
    spring, fall = transitions(2026)
    for day, hours in ((spring, 10), (fall, 12), (spring + timedelta(days=7), 11)):
        evening = utc_of("America/New_York", day - timedelta(days=1), 21)
        assert next_legal_time(lead, OPEN, evening) - evening == timedelta(hours=hours)


def test_wall_times_in_a_gap_start_at_the_transition():
    # Private helper, tested directly: it is what every window opening and midnight goes through.
    from zoneinfo import ZoneInfo

    from dialer.policies.compliance import _first_instant_at

    new_york = ZoneInfo("America/New_York")
    spring, fall = transitions(2026)
    early = datetime(2026, 1, 1, tzinfo=UTC)
    # 02:30 does not exist on the spring day: the first instant at or after it is 03:00 EDT.
    assert _first_instant_at(spring, 150, new_york, early) == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    # 01:30 happens twice on the autumn day: first at 05:30 UTC (EDT), then 06:30 UTC (EST).
    assert _first_instant_at(fall, 90, new_york, early) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    second = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
    assert _first_instant_at(fall, 90, new_york, second) == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    # Havana springs forward at midnight: the day starts at 01:00 CDT (05:00 UTC).
    havana = ZoneInfo("America/Havana")
    assert _first_instant_at(date(2026, 3, 8), 0, havana, early) == datetime(2026, 3, 8, 5, 0, tzinfo=UTC)

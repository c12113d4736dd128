"""Every state in compliance.md: the table is pinned, and each window, Sunday and holiday rule bites."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from dialer.policies.compliance import (
    CampaignPolicy,
    LeadFacts,
    evaluate,
    legal_window_on,
    next_legal_time,
    rule_book,
)

# compliance.md, stricter where sources disagree (see each state's "source" in state_rules.json).
# state: (weekday window, Saturday window, Sunday window or None = banned, holidays banned, cap 24 h)
EXPECTED = {
    "AL": (("08:00", "20:00"), ("08:00", "20:00"), None, True, None),
    "CT": (("09:00", "20:00"), ("09:00", "20:00"), ("09:00", "20:00"), False, None),
    "FL": (("08:00", "20:00"), ("08:00", "20:00"), ("08:00", "20:00"), False, 3),
    "KY": (("10:00", "21:00"), ("10:00", "21:00"), ("10:00", "21:00"), False, None),
    "LA": (("08:00", "20:00"), ("08:00", "20:00"), None, True, None),
    "MD": (("08:00", "20:00"), ("08:00", "20:00"), ("08:00", "20:00"), False, 3),
    "MA": (("08:00", "20:00"), ("08:00", "20:00"), ("08:00", "20:00"), False, None),
    "MI": (("09:00", "21:00"), ("09:00", "21:00"), ("09:00", "21:00"), False, None),
    "MN": (("09:00", "21:00"), ("09:00", "21:00"), ("09:00", "21:00"), False, None),
    "NM": (("09:00", "21:00"), ("09:00", "21:00"), ("09:00", "21:00"), False, None),
    "MS": (("08:00", "20:00"), ("08:00", "20:00"), None, False, None),
    "NV": (("09:00", "20:00"), ("09:00", "20:00"), ("09:00", "20:00"), False, None),
    "OK": (("08:00", "20:00"), ("08:00", "20:00"), ("08:00", "20:00"), False, 3),
    "PA": (("08:00", "21:00"), ("08:00", "20:00"), ("13:30", "21:00"), True, None),
    "RI": (("09:00", "18:00"), ("10:00", "17:00"), None, True, None),
    "UT": (("08:00", "21:00"), ("08:00", "21:00"), None, True, None),
}
ZONE = {
    "AL": "America/Chicago",
    "CT": "America/New_York",
    "FL": "America/New_York",
    "KY": "America/New_York",
    "LA": "America/Chicago",
    "MD": "America/New_York",
    "MA": "America/New_York",
    "MI": "America/Detroit",
    "MN": "America/Chicago",
    "NM": "America/Denver",
    "MS": "America/Chicago",
    "NV": "America/Los_Angeles",
    "OK": "America/Chicago",
    "PA": "America/New_York",
    "RI": "America/New_York",
    "UT": "America/Denver",
}
WEDNESDAY, SATURDAY, SUNDAY = date(2026, 1, 14), date(2026, 1, 17), date(2026, 1, 18)  # no holidays
FEDERAL = (8 * 60, 21 * 60)
# Wide open campaign: only the law limits it.
OPEN = CampaignPolicy(
    window_start=time(0, 0), window_end=time(23, 59), requires_consent=False, requires_scrub=False
)


def lead_in(state: str, **overrides) -> LeadFacts:
    values = {
        "phone": "+12025550123",
        "zone": ZONE[state],
        "address_state": state,
        "area_code_state": state,
    }
    values.update(overrides)
    return LeadFacts(**values)


def local(day: date, hhmm: str, zone: str) -> datetime:
    hours, minutes = (int(part) for part in hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=ZoneInfo(zone))


def minutes(hhmm: str) -> int:
    hours, mins = (int(part) for part in hhmm.split(":"))
    return hours * 60 + mins


def test_every_state_in_compliance_md_is_covered_and_pinned():
    book = rule_book()
    assert set(book.states) == set(EXPECTED)
    assert book.federal_window == FEDERAL
    assert book.scrub_max_age == timedelta(days=31)
    for state, (weekday, saturday, sunday, no_holidays, cap) in EXPECTED.items():
        rule = book.states[state]
        expected_windows = [(minutes(weekday[0]), minutes(weekday[1]))] * 5
        expected_windows.append((minutes(saturday[0]), minutes(saturday[1])))
        expected_windows.append(None if sunday is None else (minutes(sunday[0]), minutes(sunday[1])))
        assert list(rule.windows) == expected_windows, state
        assert rule.no_holidays is no_holidays, state
        assert rule.cap_24h == cap, state
        assert rule.no_calls_in_emergency is (state == "LA"), state
        assert rule.source, state


def _window_cases():
    for state, (weekday, saturday, sunday, _, _) in EXPECTED.items():
        for day, window in ((WEDNESDAY, weekday), (SATURDAY, saturday), (SUNDAY, sunday)):
            if window is not None:
                yield pytest.param(state, day, window, id=f"{state}-{day:%a}")


@pytest.mark.parametrize(("state", "day", "window"), list(_window_cases()))
def test_state_window_boundaries(state, day, window):
    # GIVEN a lead living in the state, called by a campaign the law alone limits
    lead = lead_in(state)
    start, end = minutes(window[0]), minutes(window[1])
    zone = ZONE[state]
    # WHEN evaluated at the first and last minute inside the window THEN eligible
    first = local(day, window[0], zone)
    last = local(day, window[1], zone) - timedelta(minutes=1)
    assert evaluate(lead, OPEN, first).eligible
    assert evaluate(lead, OPEN, last).eligible
    # WHEN one minute outside on either side THEN blocked by the state (and federal where it also bites)
    for at, minute in ((first - timedelta(minutes=1), start - 1), (last + timedelta(minutes=1), end)):
        decision = evaluate(lead, OPEN, at)
        expected = {f"outside_window:{state}"}
        if not FEDERAL[0] <= minute < FEDERAL[1]:
            expected.add("outside_window:federal")
        assert set(decision.reasons) == expected, (state, at)
    # AND the next legal time from just before the window is its opening
    assert next_legal_time(lead, OPEN, first - timedelta(minutes=1)) == first


@pytest.mark.parametrize("state", [s for s, spec in EXPECTED.items() if spec[2] is None])
def test_sunday_bans(state):
    lead = lead_in(state)
    decision = evaluate(lead, OPEN, local(SUNDAY, "12:00", ZONE[state]))
    assert decision.reasons == (f"sunday:{state}",)
    # Deferred to Monday at the weekday window's opening (MLK day 2026-01-19 is a holiday in
    # holiday-ban states, so those resume on Tuesday).
    monday = SUNDAY + timedelta(days=1)
    resume = monday + timedelta(days=1) if EXPECTED[state][3] else monday
    expected = local(resume, EXPECTED[state][0][0], ZONE[state])
    assert next_legal_time(lead, OPEN, local(SUNDAY, "12:00", ZONE[state])) == expected


@pytest.mark.parametrize(
    ("state", "day", "name"),
    [
        ("AL", date(2026, 7, 3), "Independence Day observed on Friday (weekend holiday moves)"),
        ("AL", date(2026, 4, 27), "Confederate Memorial Day (state holiday)"),
        ("AL", date(2027, 12, 31), "New Year's Day 2028 observed on Friday"),
        ("LA", date(2026, 2, 17), "Mardi Gras"),
        ("LA", date(2026, 11, 26), "Thanksgiving"),
        ("PA", date(2026, 11, 27), "Day after Thanksgiving"),
        ("PA", date(2026, 12, 25), "Christmas"),
        ("RI", date(2026, 8, 10), "Victory Day"),
        ("RI", date(2026, 1, 19), "MLK day"),
        ("UT", date(2026, 7, 24), "Pioneer Day"),
        ("UT", date(2027, 7, 23), "Pioneer Day observed (Friday)"),
    ],
)
def test_holiday_bans(state, day, name):
    lead = lead_in(state)
    decision = evaluate(lead, OPEN, local(day, "12:00", ZONE[state]))
    assert f"holiday:{state}" in decision.reasons, name
    assert legal_window_on(lead, OPEN, day) is None
    resume = next_legal_time(lead, OPEN, local(day, "12:00", ZONE[state]))
    assert resume is not None
    assert resume.astimezone(ZoneInfo(ZONE[state])).date() > day


@pytest.mark.parametrize(
    ("state", "day"), [("FL", date(2026, 7, 3)), ("MS", date(2026, 12, 25)), ("NY", date(2026, 12, 25))]
)
def test_states_without_holiday_bans_call_on_holidays(state, day):
    lead = LeadFacts(
        phone="+12025550123", zone="America/New_York", address_state=state, area_code_state=state
    )
    assert evaluate(lead, OPEN, local(day, "12:00", "America/New_York")).eligible


def test_saturday_rules_are_shorter_in_ri_and_pa():
    ri, pa = lead_in("RI"), lead_in("PA")
    zone = "America/New_York"
    assert evaluate(ri, OPEN, local(SATURDAY, "09:30", zone)).reasons == ("outside_window:RI",)
    assert evaluate(ri, OPEN, local(WEDNESDAY, "09:30", zone)).eligible
    assert evaluate(ri, OPEN, local(SATURDAY, "17:00", zone)).reasons == ("outside_window:RI",)
    assert evaluate(pa, OPEN, local(SATURDAY, "20:30", zone)).reasons == ("outside_window:PA",)
    assert evaluate(pa, OPEN, local(WEDNESDAY, "20:30", zone)).eligible
    assert evaluate(pa, OPEN, local(SUNDAY, "13:00", zone)).reasons == ("outside_window:PA",)
    assert evaluate(pa, OPEN, local(SUNDAY, "13:30", zone)).eligible
    assert next_legal_time(ri, OPEN, local(SATURDAY, "08:00", zone)) == local(SATURDAY, "10:00", zone)


def test_louisiana_state_of_emergency_is_an_input():
    lead = lead_in("LA")
    at = local(WEDNESDAY, "12:00", "America/Chicago")
    assert evaluate(lead, OPEN, at).eligible
    blocked = evaluate(lead, OPEN, at, emergencies=frozenset({"LA"}))
    assert blocked.reasons == ("emergency:LA",)
    assert next_legal_time(lead, OPEN, at, emergencies=frozenset({"LA"})) is None
    # Only states whose rule forbids calls during an emergency are affected.
    assert evaluate(
        lead_in("FL"), OPEN, local(WEDNESDAY, "12:00", "America/New_York"), emergencies=frozenset({"FL"})
    ).eligible


def test_caps_per_state():
    for state, spec in EXPECTED.items():
        at = local(WEDNESDAY, "12:00", ZONE[state]).astimezone(UTC)
        calls = tuple(at - timedelta(hours=h) for h in (1, 2, 3))
        decision = evaluate(lead_in(state, recent_calls=calls), OPEN, at)
        if spec[4] is None:
            assert decision.eligible, state
        else:
            assert decision.reasons == (f"cap_24h:{state}",), state

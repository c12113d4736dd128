"""Properties over random leads, candidate zones, states, campaigns and instants.

Instants are drawn uniformly over five years *and* (half of the time) within 45 minutes of a window
boundary (federal, state, campaign) in one of the lead's zones, on an ordinary day, a DST
transition day, a Sunday or a holiday: so a window edge moved by 30 minutes is caught every run.

(a) ``evaluate`` agrees with an independent oracle written from compliance.md and the raw JSON: it
    says eligible exactly when the local time in *every* candidate zone is inside every applicable
    window and no rule blocks (so eligible => inside every window everywhere; every block is
    reported).
(b) ``next_legal_time`` returns an eligible instant, and no minute between ``after`` and it is
    eligible (every minute when the gap is under 12 hours, else 600 random ones plus two hours at
    each end); ``None``
    only when no sampled minute of the horizon is eligible.
(c) eligible at t => ``next_legal_time(t) == t``.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

import holidays
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialer.policies.compliance import (
    CampaignPolicy,
    ConsentRecord,
    ConsentType,
    LeadFacts,
    evaluate,
    next_legal_time,
)

RULES = json.loads(resources.files("dialer.policies").joinpath("state_rules.json").read_text("utf-8"))
RULE_STATES = sorted(RULES["states"])
ZONES = [
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "America/Adak",
    "Pacific/Honolulu",
    "America/Puerto_Rico",
    "America/St_Johns",  # UTC-3:30 with DST
    "America/Havana",  # DST transitions at midnight
    "Europe/London",
    "Asia/Kolkata",
    "Australia/Lord_Howe",  # 30-minute DST
]
START = datetime(2025, 1, 1, tzinfo=UTC)
END = datetime(2029, 12, 31, tzinfo=UTC)
HORIZON = timedelta(days=14)
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- The oracle -----------------------------------------------------------------------------


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _state_window(state: str, weekday: int) -> tuple[int, int] | None:
    spec = RULES["states"][state]
    key = "sunday" if weekday == 6 else "saturday" if weekday == 5 else "weekday"
    window = spec[key]
    return None if window is None else (_minutes(window[0]), _minutes(window[1]))


def oracle_allows(
    lead: LeadFacts, campaign: CampaignPolicy, at: datetime, emergencies: frozenset[str]
) -> bool:
    """Written from compliance.md and the JSON, sharing no code with the engine."""
    import re

    if not re.fullmatch(r"\+[1-9]\d{6,14}", lead.phone) or lead.dnc:
        return False
    consent = lead.consent
    if consent is not None and consent.revoked_at is not None and consent.revoked_at <= at:
        return False
    if campaign.requires_consent and (
        consent is None or consent.granted_at > at or consent.type not in campaign.accepted_consent
    ):
        return False
    if campaign.requires_scrub and (
        lead.dnc_scrubbed_at is None or at - lead.dnc_scrubbed_at > timedelta(days=31)
    ):
        return False
    if campaign.max_attempts is not None and lead.attempts >= campaign.max_attempts:
        return False
    states = {s.upper() for s in (lead.address_state, lead.area_code_state) if s} & set(RULE_STATES)
    if any(RULES["states"][s]["no_calls_in_emergency"] and s in emergencies for s in states):
        return False
    for s in states:
        cap = RULES["states"][s]["cap_24h"]
        if cap is not None and sum(1 for c in lead.recent_calls if c > at - timedelta(hours=24)) >= cap:
            return False
    # The person may be in any candidate zone: the call must be legal in each of them.
    zone_keys = {z for z in (lead.zone, *lead.zones) if z in ZONES}
    if not zone_keys and campaign.fallback_zone is not None:
        zone_keys = {campaign.fallback_zone}
    if not zone_keys:
        return False
    return all(_legal_in(zone_key, states, lead, campaign, at) for zone_key in zone_keys)


def _legal_in(
    zone_key: str, states: set[str], lead: LeadFacts, campaign: CampaignPolicy, at: datetime
) -> bool:
    local = at.astimezone(ZoneInfo(zone_key))
    minute = local.hour * 60 + local.minute
    if not 8 * 60 <= minute < 21 * 60:  # 47 CFR 64.1200(c)(1)
        return False
    for s in states:
        window = _state_window(s, local.weekday())
        if window is None or not window[0] <= minute < window[1]:
            return False
        if RULES["states"][s]["no_holidays"] and local.date() in holidays.US(
            subdiv=s, years=local.year, observed=True
        ):
            return False
    start = campaign.window_start.hour * 60 + campaign.window_start.minute
    end = campaign.window_end.hour * 60 + campaign.window_end.minute
    if local.weekday() not in campaign.window_days or not start <= minute < end:
        return False
    if campaign.daily_cap is not None:
        same_day = sum(
            1 for c in lead.recent_calls if c.astimezone(ZoneInfo(zone_key)).date() == local.date()
        )
        if same_day >= campaign.daily_cap:
            return False
    return True


# --- Strategies -----------------------------------------------------------------------------

instants = st.datetimes(
    min_value=START.replace(tzinfo=None), max_value=END.replace(tzinfo=None), timezones=st.just(UTC)
)
mostly_false = st.sampled_from([False] * 9 + [True])
states = st.one_of(st.none(), st.sampled_from([*RULE_STATES, "NY", "TX", "CA", "HI"]))
YEARS = range(START.year, END.year + 1)


def _nth_sunday(year: int, month: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(6 - first.weekday()) % 7 + 7 * (n - 1))


# US DST transition days (second Sunday of March, first Sunday of November), and every holiday of
# a holiday-ban state (observed days included): the days where an edge is most likely to slip.
DST_DAYS = sorted(d for y in YEARS for d in (_nth_sunday(y, 3, 2), _nth_sunday(y, 11, 1)))
HOLIDAYS = sorted(
    {
        d
        for s in RULE_STATES
        if RULES["states"][s]["no_holidays"]
        for d in holidays.US(subdiv=s, years=YEARS, observed=True)
    }
)
local_days = st.one_of(
    st.dates(min_value=START.date() + timedelta(days=2), max_value=END.date() - timedelta(days=2)),
    st.sampled_from(DST_DAYS),
    st.sampled_from(HOLIDAYS),
    st.integers(min_value=0, max_value=255).map(lambda w: _nth_sunday(2025, 1, 1) + timedelta(weeks=w)),
)
# Window edges, minutes after local midnight: federal, every state window, typical campaign edges.
EDGES = sorted(
    {8 * 60, 21 * 60}
    | {
        _minutes(edge)
        for spec in RULES["states"].values()
        for key in ("weekday", "saturday", "sunday")
        if spec[key] is not None
        for edge in spec[key]
    }
)


@st.composite
def instants_near_edges(draw: st.DrawFn, zones: list[str]) -> datetime:
    """An instant within 45 minutes of a window edge in one of ``zones`` (federal edges most often)."""
    zone = ZoneInfo(draw(st.sampled_from(zones)))
    day = draw(local_days)
    edge = draw(st.one_of(st.sampled_from([8 * 60, 21 * 60]), st.sampled_from(EDGES)))
    seconds = (edge + draw(st.integers(min_value=-45, max_value=44))) * 60 + draw(
        st.integers(min_value=0, max_value=59)
    )
    wall = datetime(day.year, day.month, day.day) + timedelta(seconds=seconds)
    return wall.replace(tzinfo=zone, fold=draw(st.integers(0, 1))).astimezone(UTC)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[LeadFacts, CampaignPolicy, datetime, frozenset[str]]:
    # Candidate zones first (so instants can be drawn near their edges): half the leads have one,
    # the others two or three (an address and a number that disagree, a multi-zone state).
    zone = draw(st.one_of(st.sampled_from(ZONES), st.none(), st.just("Not/AZone")))
    extra = draw(
        st.one_of(
            st.just(()),
            st.lists(st.sampled_from([*ZONES, "Not/AZone"]), min_size=1, max_size=2).map(tuple),
        )
    )
    callable_lead = draw(st.sampled_from([True] * 7 + [False] * 3))
    if callable_lead and zone not in ZONES:
        zone = draw(st.sampled_from(ZONES))
    near = [z for z in (zone, *extra) if z in ZONES]
    at = draw(instants_near_edges(near)) if near and draw(st.booleans()) else draw(instants)
    offset = st.integers(min_value=-3 * 24 * 60, max_value=60).map(lambda m: at + timedelta(minutes=m))
    consent = draw(
        st.one_of(
            st.none(),
            st.builds(
                ConsentRecord,
                type=st.sampled_from(list(ConsentType)),
                source=st.just("web_form"),
                granted_at=st.integers(min_value=-90 * 24 * 60, max_value=6 * 60).map(
                    lambda m: at + timedelta(minutes=m)
                ),
                revoked_at=st.one_of(st.none(), st.none(), st.none(), offset),
            ),
        )
    )
    if consent is not None and draw(st.booleans()):
        consent = ConsentRecord(type=ConsentType.EXPRESS_WRITTEN, source="web_form", granted_at=START)
    lead = LeadFacts(
        phone=draw(st.sampled_from(["+12125550123"] * 9 + ["12125550123"])),
        zone=zone,
        zones=extra,
        address_state=draw(states),
        area_code_state=draw(states),
        dnc=draw(mostly_false),
        consent=consent,
        dnc_scrubbed_at=draw(
            st.one_of(
                st.none(),
                st.integers(min_value=0, max_value=40 * 24 * 60).map(lambda m: at - timedelta(minutes=m)),
            )
        ),
        attempts=draw(st.integers(min_value=0, max_value=4)),
        recent_calls=tuple(draw(st.lists(offset, max_size=5))),
    )
    if draw(st.sampled_from([True] * 3 + [False])):  # mostly windows that meet the legal one
        start = draw(st.sampled_from([6 * 60, 7 * 60, 7 * 60 + 30, draw(st.integers(6 * 60, 12 * 60))]))
        end = draw(st.sampled_from([21 * 60 + 30, 23 * 60 + 59, draw(st.integers(15 * 60, 23 * 60 + 59))]))
    else:
        start = draw(st.integers(min_value=0, max_value=22 * 60))
        end = draw(st.integers(min_value=start + 1, max_value=23 * 60 + 59))
    campaign = CampaignPolicy(
        window_days=draw(
            st.one_of(st.just(frozenset(range(7))), st.frozensets(st.integers(0, 6), min_size=1))
        ),
        window_start=time(start // 60, start % 60),
        window_end=time(end // 60, end % 60),
        fallback_zone=draw(st.one_of(st.none(), st.sampled_from(ZONES))),
        requires_consent=draw(st.booleans()),
        accepted_consent=draw(
            st.sampled_from([frozenset({ConsentType.EXPRESS_WRITTEN}), frozenset(ConsentType)])
        ),
        requires_scrub=draw(st.booleans()),
        daily_cap=draw(st.one_of(st.none(), st.integers(min_value=1, max_value=4))),
        max_attempts=draw(st.one_of(st.none(), st.integers(min_value=1, max_value=6))),
    )
    emergencies = frozenset(draw(st.sets(st.sampled_from(["LA", "FL"]))))
    if callable_lead:
        # Mostly leads only time, windows and caps stand between: so (b) and (c) get exercised.
        lead = replace(
            lead,
            phone="+12125550123",
            dnc=False,
            consent=ConsentRecord(type=ConsentType.EXPRESS_WRITTEN, source="web_form", granted_at=START),
            dnc_scrubbed_at=at - timedelta(days=1),
            attempts=0,
        )
        emergencies = frozenset()
    return lead, campaign, at, emergencies


def _minute_grid(after: datetime, until: datetime, rng: random.Random) -> list[datetime]:
    """Minute-aligned instants in (after, until), all of them when few, else a sample and both ends."""
    first = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    count = int((until - first) / timedelta(minutes=1)) + 1
    if count <= 0:
        return []
    if count <= 12 * 60:
        indices: range | list[int] = range(count)
    else:
        indices = sorted({*range(120), *range(count - 120, count), *rng.sample(range(count), 600)})
    grid = [first + timedelta(minutes=i) for i in indices]
    return [t for t in grid if after < t < until]


# --- Properties -----------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(scenarios())
def test_evaluate_agrees_with_the_oracle(scenario):
    lead, campaign, at, emergencies = scenario
    decision = evaluate(lead, campaign, at, emergencies=emergencies)
    # (a) eligible => inside every applicable window and nothing blocks; and the converse.
    assert decision.eligible == oracle_allows(lead, campaign, at, emergencies)
    assert decision.eligible == (decision.reasons == ())
    assert len(set(decision.reasons)) == len(decision.reasons)


@PROPERTY_SETTINGS
@given(scenarios(), st.randoms(use_true_random=False))
def test_next_legal_time_is_eligible_and_earliest(scenario, rng):
    lead, campaign, after, emergencies = scenario
    found = next_legal_time(lead, campaign, after, emergencies=emergencies)
    if found is None:
        # Nothing eligible at `after` nor on any sampled minute of the horizon.
        assert not evaluate(lead, campaign, after, emergencies=emergencies).eligible
        for t in _minute_grid(after, after + HORIZON, rng)[::3]:
            assert not evaluate(lead, campaign, t, emergencies=emergencies).eligible, t
        return
    # (b) eligible, within the horizon, and nothing eligible before it
    assert after <= found <= after + HORIZON
    assert evaluate(lead, campaign, found, emergencies=emergencies).eligible
    assert oracle_allows(lead, campaign, found, emergencies)
    if found > after:
        assert not evaluate(lead, campaign, after, emergencies=emergencies).eligible
    for t in _minute_grid(after, found, rng):
        assert not evaluate(lead, campaign, t, emergencies=emergencies).eligible, t


@PROPERTY_SETTINGS
@given(scenarios())
def test_eligible_now_means_next_legal_time_is_now(scenario):
    lead, campaign, at, emergencies = scenario
    if evaluate(lead, campaign, at, emergencies=emergencies).eligible:
        # (c)
        assert next_legal_time(lead, campaign, at, emergencies=emergencies) == at


@PROPERTY_SETTINGS
@given(
    zone=st.sampled_from(ZONES),
    state=st.sampled_from(RULE_STATES),
    day=st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31)),
)
def test_a_lead_with_only_window_rules_is_called_at_its_first_legal_minute(zone, state, day):
    # From local midnight the answer is the day's (or a later day's) window opening, on a whole minute.
    lead = LeadFacts(phone="+12125550123", zone=zone, address_state=state, area_code_state=state)
    campaign = CampaignPolicy(requires_consent=False, requires_scrub=False)
    after = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone))
    found = next_legal_time(lead, campaign, after)
    assert found is not None  # every state allows some day within two weeks
    local = found.astimezone(ZoneInfo(zone))
    assert (local.second, local.microsecond) == (0, 0)
    assert evaluate(lead, campaign, found).eligible
    assert not evaluate(lead, campaign, found - timedelta(minutes=1)).eligible


@st.composite
def edge_scenarios(draw: st.DrawFn) -> tuple[LeadFacts, CampaignPolicy, datetime]:
    """A lead only the windows stand between, at an instant within 45 minutes of a window edge.

    Mostly one zone and no state or one state, so nothing but the edge under test decides: a
    federal edge moved by 30 minutes either way flips several of these answers in every run.
    """
    zones = draw(st.lists(st.sampled_from(ZONES), min_size=1, max_size=3, unique=True))
    if draw(st.sampled_from([True] * 3 + [False] * 2)):
        zones = zones[:1]
    # No state rule at all half the time (so a federal edge shows through even where every state
    # window is narrower), else the address and area code agreeing, or two different states.
    state, other = draw(
        st.one_of(
            st.just((None, None)),
            st.just((None, None)),
            st.sampled_from(RULE_STATES).map(lambda s: (s, s)),
            st.tuples(st.sampled_from([None, *RULE_STATES]), st.sampled_from([None, *RULE_STATES])),
        )
    )
    lead = LeadFacts(
        phone="+12125550123",
        zone=zones[0],
        zones=tuple(zones[1:]),
        address_state=state,
        area_code_state=other,
    )
    campaign = draw(
        st.sampled_from(
            [
                CampaignPolicy(requires_consent=False, requires_scrub=False),
                CampaignPolicy(
                    window_start=time(0, 0),
                    window_end=time(23, 59),
                    requires_consent=False,
                    requires_scrub=False,
                ),
            ]
        )
    )
    return lead, campaign, draw(instants_near_edges(zones))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edge_scenarios())
def test_window_edges_agree_with_the_oracle(scenario):
    lead, campaign, at = scenario
    decision = evaluate(lead, campaign, at)
    assert decision.eligible == oracle_allows(lead, campaign, at, frozenset())
    # A blocking window reason names the candidate zones it blocks in, and only those.
    for reason in decision.reasons:
        assert decision.where(reason)
        assert set(decision.where(reason)) <= {lead.zone, *lead.zones}

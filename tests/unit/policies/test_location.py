"""Lead location: explicit zone > address state (refined by the number) > the number."""

from __future__ import annotations

import pytest

from dialer.domain.location import (
    STATE_ZONES,
    LocationIssue,
    LocationSource,
    is_valid_zone,
    normalize_state,
    resolve_location,
    zones_for_state,
)
from dialer.policies.compliance import rule_book

PENSACOLA = "+18504341234"  # FL, America/Chicago
TALLAHASSEE = "+18502221234"  # FL, America/New_York
MANHATTAN = "+12125550123"  # NY, America/New_York
EL_PASO = "+19159151234"  # TX, America/Denver
TUBA_CITY = "+19282831234"  # AZ, (America/Denver, America/Phoenix)
TOLL_FREE = "+18005551234"


def test_explicit_zone_wins_over_address_and_number():
    loc = resolve_location(MANHATTAN, explicit_zone="America/Denver", address_state="CA")
    assert loc.zone == "America/Denver"
    assert loc.source is LocationSource.EXPLICIT_ZONE
    # The states are still both reported: both states' rules apply.
    assert (loc.address_state, loc.area_code_state) == ("CA", "NY")


def test_invalid_explicit_zone_is_ignored_and_recorded():
    loc = resolve_location(MANHATTAN, explicit_zone="Mars/Olympus", address_state="CA")
    assert loc.zone == "America/Los_Angeles"
    assert loc.source is LocationSource.ADDRESS_STATE
    assert loc.issues == (LocationIssue.INVALID_ZONE,)


def test_single_zone_address_state_beats_the_number():
    loc = resolve_location(MANHATTAN, address_state="California")
    assert loc.zone == "America/Los_Angeles"
    assert loc.source is LocationSource.ADDRESS_STATE
    assert (loc.address_state, loc.area_code_state) == ("CA", "NY")


def test_multi_zone_state_uses_the_number_zone_when_it_lies_in_the_state():
    loc = resolve_location(PENSACOLA, address_state="FL")
    assert loc.zone == "America/Chicago"
    assert loc.source is LocationSource.ADDRESS_STATE_AND_NUMBER
    loc = resolve_location(TALLAHASSEE, address_state="FL")
    assert loc.zone == "America/New_York"
    loc = resolve_location(EL_PASO, address_state="TX")
    assert loc.zone == "America/Denver"


def test_multi_zone_state_with_an_out_of_state_number_is_ambiguous():
    loc = resolve_location(MANHATTAN, address_state="TX")
    assert loc.zone is None
    assert loc.source is LocationSource.NONE
    assert loc.issues == (LocationIssue.STATE_SPANS_ZONES,)
    assert (loc.address_state, loc.area_code_state) == ("TX", "NY")


def test_multi_zone_state_with_a_multi_zone_number_is_ambiguous():
    loc = resolve_location(TUBA_CITY, address_state="AZ")
    assert loc.zone is None
    assert loc.issues == (LocationIssue.STATE_SPANS_ZONES,)


def test_number_alone():
    assert resolve_location(PENSACOLA).zone == "America/Chicago"
    assert resolve_location(PENSACOLA).source is LocationSource.NUMBER
    loc = resolve_location(TUBA_CITY)
    assert loc.zone is None
    assert loc.issues == (LocationIssue.NUMBER_SPANS_ZONES,)
    loc = resolve_location(TOLL_FREE)
    assert loc.zone is None
    assert loc.issues == (LocationIssue.NUMBER_SPANS_ZONES,)


def test_nothing_to_go_on():
    loc = resolve_location(None)
    assert loc.zone is None
    assert loc.issues == (LocationIssue.NO_LOCATION,)


def test_unknown_address_state_falls_through_to_the_number():
    loc = resolve_location(PENSACOLA, address_state="Atlantis")
    assert loc.zone == "America/Chicago"
    assert loc.source is LocationSource.NUMBER
    assert loc.address_state is None
    assert loc.issues == (LocationIssue.UNKNOWN_STATE,)


@pytest.mark.parametrize(
    ("value", "code"),
    [("fl", "FL"), (" Florida ", "FL"), ("rhode island", "RI"), ("DC", "DC"), ("Atlantis", None), ("", None)],
)
def test_normalize_state(value, code):
    assert normalize_state(value) == code


def test_every_state_zone_is_a_real_iana_zone_and_every_rule_state_has_zones():
    for state, zones in STATE_ZONES.items():
        assert zones, state
        for zone in zones:
            assert is_valid_zone(zone), (state, zone)
    for state in rule_book().states:
        assert zones_for_state(state)


def test_multi_zone_states_are_the_known_ones():
    multi = {state for state, zones in STATE_ZONES.items() if len(zones) > 1}
    assert multi == {"AK", "AZ", "FL", "ID", "IN", "KS", "KY", "MI", "NE", "NV", "ND", "OR", "SD", "TN", "TX"}

"""Lead location: an explicit zone alone, else the address state's zones and the number's zones."""

from __future__ import annotations

import pytest

from dialer.domain.location import (
    STATE_ZONES,
    LocationIssue,
    LocationSource,
    ZoneEvidence,
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
WEST_TEXAS = "+14322668574"  # TX, America/Chicago


ADDRESS = ZoneEvidence.ADDRESS_STATE
NUMBER = ZoneEvidence.NUMBER


def evidence(loc):
    return {c.zone: c.evidence for c in loc.candidates}


def test_explicit_zone_is_trusted_alone():
    loc = resolve_location(MANHATTAN, explicit_zone="America/Denver", address_state="CA")
    assert loc.zone == "America/Denver"
    assert loc.zones == ("America/Denver",)
    assert loc.source is LocationSource.EXPLICIT_ZONE
    assert evidence(loc) == {"America/Denver": (ZoneEvidence.EXPLICIT_ZONE,)}
    # The states are still both reported: both states' rules apply.
    assert (loc.address_state, loc.area_code_state) == ("CA", "NY")


def test_invalid_explicit_zone_is_ignored_and_recorded():
    loc = resolve_location(MANHATTAN, explicit_zone="Mars/Olympus", address_state="CA")
    assert loc.zone == "America/Los_Angeles"
    assert loc.source is LocationSource.ADDRESS_STATE
    assert loc.issues[0] is LocationIssue.INVALID_ZONE


def test_address_and_number_in_different_zones_are_both_candidates():
    # The address may be old and the number may have moved: the person may be at either place.
    loc = resolve_location(MANHATTAN, address_state="California")
    assert loc.zone == "America/Los_Angeles"  # the address zone is the lead-local one
    assert loc.source is LocationSource.ADDRESS_STATE
    assert evidence(loc) == {"America/Los_Angeles": (ADDRESS,), "America/New_York": (NUMBER,)}
    assert LocationIssue.ADDRESS_NUMBER_DIFFER in loc.issues
    assert (loc.address_state, loc.area_code_state) == ("CA", "NY")


def test_address_and_number_that_agree_give_one_candidate():
    loc = resolve_location(MANHATTAN, address_state="NY")
    assert evidence(loc) == {"America/New_York": (ADDRESS, NUMBER)}
    assert loc.source is LocationSource.ADDRESS_STATE_AND_NUMBER
    assert loc.issues == ()


def test_multi_zone_state_is_narrowed_by_a_number_from_that_state():
    loc = resolve_location(PENSACOLA, address_state="FL")
    assert evidence(loc) == {"America/Chicago": (ADDRESS, NUMBER)}
    assert loc.source is LocationSource.ADDRESS_STATE_AND_NUMBER
    assert resolve_location(TALLAHASSEE, address_state="FL").zones == ("America/New_York",)
    assert resolve_location(EL_PASO, address_state="TX").zones == ("America/Denver",)


def test_multi_zone_state_is_not_narrowed_by_an_out_of_state_number():
    # Issue 13: a West Texas (Central) number with a Michigan address used to resolve to Chicago,
    # so a Detroit resident was called at 21:06 EDT. Every Michigan zone stays a candidate.
    loc = resolve_location(WEST_TEXAS, address_state="MI")
    assert set(loc.zones) == set(STATE_ZONES["MI"])
    assert loc.zone == "America/Detroit"
    assert evidence(loc)["America/Chicago"] == (ADDRESS, NUMBER)
    assert LocationIssue.STATE_SPANS_ZONES in loc.issues
    loc = resolve_location(MANHATTAN, address_state="TX")
    assert evidence(loc) == {
        "America/Chicago": (ADDRESS,),
        "America/Denver": (ADDRESS,),
        "America/New_York": (NUMBER,),
    }
    assert (loc.address_state, loc.area_code_state) == ("TX", "NY")


def test_multi_zone_state_with_a_multi_zone_in_state_number_keeps_both_zones():
    loc = resolve_location(TUBA_CITY, address_state="AZ")
    assert set(loc.zones) == {"America/Denver", "America/Phoenix"}
    assert loc.zone == "America/Phoenix"  # AZ's main zone first


def test_number_alone():
    loc = resolve_location(PENSACOLA)
    assert (loc.zones, loc.source) == (("America/Chicago",), LocationSource.NUMBER)
    loc = resolve_location(TUBA_CITY)
    assert set(loc.zones) == {"America/Denver", "America/Phoenix"}
    assert loc.issues == (LocationIssue.NUMBER_SPANS_ZONES,)


def test_a_toll_free_number_gives_no_zone():
    loc = resolve_location(TOLL_FREE)
    assert (loc.zone, loc.zones) == (None, ())
    assert loc.issues == (LocationIssue.NON_GEOGRAPHIC_NUMBER, LocationIssue.NO_LOCATION)
    # With an address, the address alone decides (a Texas address: both Texas zones).
    loc = resolve_location(TOLL_FREE, address_state="TX")
    assert loc.zones == ("America/Chicago", "America/Denver")
    assert all(c.evidence == (ADDRESS,) for c in loc.candidates)


def test_nothing_to_go_on():
    loc = resolve_location(None)
    assert (loc.zone, loc.zones, loc.source) == (None, (), LocationSource.NONE)
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

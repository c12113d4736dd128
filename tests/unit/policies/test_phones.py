"""Phone normalisation and what a NANP number says about its owner's state and zone."""

from __future__ import annotations

import phonenumbers
import pytest

from dialer.domain.phones import (
    InvalidPhoneNumber,
    PhoneRejection,
    area_code_state,
    area_code_table,
    normalize_phone,
    number_time_zones,
    phone_facts,
    state_from_description,
)
from dialer.errors import InvalidInput


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("(212) 555-0123", "+12125550123"),
        ("212.555.0123", "+12125550123"),
        ("1-212-555-0123", "+12125550123"),
        ("+1 212 555 0123", "+12125550123"),
        ("  +12125550123  ", "+12125550123"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_normalize_phone_gives_e164(raw, e164):
    assert normalize_phone(raw) == e164


def test_default_region_is_configurable():
    assert normalize_phone("020 7946 0958", default_region="GB") == "+442079460958"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", PhoneRejection.EMPTY),
        ("   ", PhoneRejection.EMPTY),
        ("not a number", PhoneRejection.UNPARSEABLE),
        ("12", PhoneRejection.NOT_POSSIBLE),
        ("+1 212 555 01", PhoneRejection.NOT_POSSIBLE),
        ("+1 555 555 1234", PhoneRejection.INVALID),  # 555 is not an area code
        ("+1 212 055 0123", PhoneRejection.INVALID),  # exchanges never start with 0
    ],
)
def test_invalid_numbers_are_rejected_with_a_stable_reason(raw, reason):
    with pytest.raises(InvalidPhoneNumber) as caught:
        normalize_phone(raw)
    assert caught.value.reason is reason
    assert isinstance(caught.value, InvalidInput)
    assert caught.value.errors[0]["loc"] == ["phone"]
    assert caught.value.errors[0]["type"] == f"phone_{reason.value}"
    # The raw number (personal data) never appears in the message.
    assert raw.strip() == "" or raw.strip() not in str(caught.value)


@pytest.mark.parametrize(
    ("e164", "state"),
    [
        ("+12125550123", "NY"),  # "New York, NY"
        ("+18504341234", "FL"),  # "Pensacola, FL"
        ("+14055551234", "OK"),
        ("+12025550123", "DC"),  # "Washington D.C."
        ("+15095551234", "WA"),  # "Washington State"
        ("+19075551234", "AK"),
        ("+17875551234", "PR"),  # a NANP territory: its own region
        ("+14165551234", None),  # Canada: no US state rule presumes it
        ("+18005551234", None),  # toll-free: no location
        ("+442079460958", None),
    ],
)
def test_area_code_state(e164, state):
    assert area_code_state(e164) == state


def test_geocoder_descriptions_map_to_states():
    assert state_from_description("Chicago, IL") == "IL"
    assert state_from_description("Florida") == "FL"
    assert state_from_description("Washington State") == "WA"
    assert state_from_description("Washington D.C.") == "DC"
    assert state_from_description("United States") is None
    assert state_from_description("") is None


def test_country_only_description_falls_back_to_the_checked_in_table(monkeypatch):
    # GIVEN a geocoder that knows only the country (as it does for area codes newer than its data)
    from phonenumbers import geocoder

    from dialer.domain import phones

    monkeypatch.setattr(geocoder, "description_for_number", lambda *_a, **_k: "United States")
    phones._area_code_state.cache_clear()
    try:
        # WHEN / THEN the area code decides
        assert area_code_state("+14055550199") == "OK"
        assert area_code_state("+13055550199") == "FL"
    finally:
        phones._area_code_state.cache_clear()


def test_checked_in_area_code_table_agrees_with_the_geocoder():
    from phonenumbers import geocoder

    table = area_code_table()
    assert len(table) > 300
    disagreements = []
    for code, state in table.items():
        # A sample of exchanges per area code: every one the geocoder places must agree.
        for exchange in ("555", "221", "398", "634", "872"):
            number = phonenumbers.parse(f"+1{code}{exchange}0100")
            if not phonenumbers.is_valid_number(number):
                continue
            found = state_from_description(geocoder.description_for_number(number, "en"))
            if found is not None and found != state and (code, found) != ("201", "NY"):
                disagreements.append((code, exchange, state, found))
    assert disagreements == []


@pytest.mark.parametrize(
    ("e164", "zones"),
    [
        ("+12125550123", ("America/New_York",)),
        ("+18504341234", ("America/Chicago",)),  # Pensacola: Central, though FL is mostly Eastern
        ("+18502221234", ("America/New_York",)),  # Tallahassee
        ("+16025551234", ("America/Phoenix",)),
        ("+18085551234", ("Pacific/Honolulu",)),
    ],
)
def test_number_time_zones(e164, zones):
    assert number_time_zones(e164) == zones


def test_unknown_zone_is_dropped_and_toll_free_spans_many():
    assert number_time_zones("+15555551234") == ()
    assert len(number_time_zones("+18005551234")) > 5


def test_phone_facts_bundles_everything():
    facts = phone_facts("(850) 434-1234")
    assert facts.e164 == "+18504341234"
    assert facts.region == "US"
    assert facts.area_code_state == "FL"
    assert facts.time_zones == ("America/Chicago",)

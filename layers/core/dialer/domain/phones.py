"""Phone numbers: E.164 normalisation, and what a NANP number says about where its owner lives.

``phonenumbers`` does the parsing and validation. Its geocoder (state-level description) and time
zone tables are large, so they are imported on first use, not at cold start (geocoder ~0.4 s).
The number is only a presumption of location (numbers port and move); :mod:`dialer.domain.location`
ranks it below an explicit zone and the address.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, lru_cache
from importlib import resources

import phonenumbers

from dialer.errors import InvalidInput

DEFAULT_REGION = "US"

#: Time zone ``phonenumbers`` returns when it knows none.
_UNKNOWN_ZONE = "Etc/Unknown"
# Geocoder descriptions are "City, ST" for most US exchanges and a state name for the rest.
_CITY_STATE = re.compile(r", ([A-Z]{2})$")
# Shape of an E.164 number (ITU-T E.164: "+", country code, at most 15 digits).
E164_SHAPE = re.compile(r"\+[1-9][0-9]{6,14}")

#: State and territory names as the ``phonenumbers`` geocoder spells them (English), to USPS codes.
STATE_NAMES: dict[str, str] = {
    "Alabama": "AL",
    "Alaska": "AK",
    "Arizona": "AZ",
    "Arkansas": "AR",
    "California": "CA",
    "Colorado": "CO",
    "Connecticut": "CT",
    "Delaware": "DE",
    "Florida": "FL",
    "Georgia": "GA",
    "Hawaii": "HI",
    "Idaho": "ID",
    "Illinois": "IL",
    "Indiana": "IN",
    "Iowa": "IA",
    "Kansas": "KS",
    "Kentucky": "KY",
    "Louisiana": "LA",
    "Maine": "ME",
    "Maryland": "MD",
    "Massachusetts": "MA",
    "Michigan": "MI",
    "Minnesota": "MN",
    "Mississippi": "MS",
    "Missouri": "MO",
    "Montana": "MT",
    "Nebraska": "NE",
    "Nevada": "NV",
    "New Hampshire": "NH",
    "New Jersey": "NJ",
    "New Mexico": "NM",
    "New York": "NY",
    "North Carolina": "NC",
    "North Dakota": "ND",
    "Ohio": "OH",
    "Oklahoma": "OK",
    "Oregon": "OR",
    "Pennsylvania": "PA",
    "Rhode Island": "RI",
    "South Carolina": "SC",
    "South Dakota": "SD",
    "Tennessee": "TN",
    "Texas": "TX",
    "Utah": "UT",
    "Vermont": "VT",
    "Virginia": "VA",
    "Washington": "WA",
    "Washington State": "WA",
    "West Virginia": "WV",
    "Wisconsin": "WI",
    "Wyoming": "WY",
    "Washington D.C.": "DC",
    "District of Columbia": "DC",
    "Puerto Rico": "PR",
    "U.S. Virgin Islands": "VI",
    "Guam": "GU",
    "Northern Mariana Islands": "MP",
    "American Samoa": "AS",
}

# NANP regions that are US territories: their "state" is the region itself.
_US_TERRITORY_REGIONS = frozenset({"PR", "VI", "GU", "MP", "AS"})


class PhoneRejection(StrEnum):
    """Why a raw phone number was refused (stable: stored on rejected import rows)."""

    EMPTY = "empty"
    UNPARSEABLE = "unparseable"
    NOT_POSSIBLE = "not_possible"  # wrong length for its country
    INVALID = "invalid"  # right length, but not an assigned range


class InvalidPhoneNumber(InvalidInput):
    """A phone number could not be normalised to a valid E.164 number (a 422 naming the field)."""

    def __init__(self, reason: PhoneRejection, *, field: str = "phone") -> None:
        # The raw input stays out of the message: it is personal data and may end up in logs.
        message = f"invalid phone number: {reason.value}"
        super().__init__(message, [{"loc": [field], "msg": message, "type": f"phone_{reason.value}"}])
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PhoneFacts:
    """What a valid number tells us: E.164 form, ISO region, area-code state, candidate zones."""

    e164: str
    region: str | None
    area_code_state: str | None
    time_zones: tuple[str, ...]


def normalize_phone(raw: str, *, default_region: str = DEFAULT_REGION) -> str:
    """Return ``raw`` as an E.164 string, or raise :class:`InvalidPhoneNumber` with a stable reason.

    National formats are read in ``default_region`` ("US": ``(212) 555-0123``); a leading ``+``
    overrides it. Possible-but-unassigned ranges (e.g. ``555-01xx`` is fine, ``+1 555 ...`` is not)
    are refused as ``invalid``.
    """
    return _parse_valid(raw, default_region).e164


def phone_facts(raw: str, *, default_region: str = DEFAULT_REGION) -> PhoneFacts:
    """Normalise ``raw`` and describe it: region, area-code state (US/territories), time zones.

    Raises :class:`InvalidPhoneNumber` like :func:`normalize_phone`.
    """
    parsed = _parse_valid(raw, default_region)
    return PhoneFacts(
        e164=parsed.e164,
        region=parsed.region,
        area_code_state=area_code_state(parsed.e164),
        time_zones=number_time_zones(parsed.e164),
    )


def area_code_state(e164: str) -> str | None:
    """Return the two-letter US state (or territory) a NANP number's area code presumes, or ``None``.

    The geocoder's state-level description is mapped to a USPS code; when it says only the country
    (or nothing) for a US number, the checked-in area-code table decides. Non-US numbers (Canada,
    the Caribbean, the rest of the world) give ``None``: no US state rule presumes them.
    """
    return _area_code_state(e164)


def number_time_zones(e164: str) -> tuple[str, ...]:
    """Return the IANA zones ``phonenumbers`` associates with the number (empty when unknown).

    Several zones mean the exchange (or, for non-geographic numbers, the whole plan) spans them.
    """
    return _number_time_zones(e164)


def geographic_time_zones(e164: str) -> tuple[str, ...]:
    """The number's zones when it is geographic, else ``()``.

    Toll-free, premium-rate and other non-geographic numbers map to every zone of their plan:
    that says nothing about where the person is, so it is no evidence of a zone.
    """
    return _geographic_time_zones(e164)


@dataclass(frozen=True, slots=True)
class _Parsed:
    e164: str
    region: str | None
    number: phonenumbers.PhoneNumber


def _parse_valid(raw: str, default_region: str) -> _Parsed:
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        raise InvalidPhoneNumber(PhoneRejection.EMPTY)
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        reason = (
            PhoneRejection.NOT_POSSIBLE
            if exc.error_type
            in (
                phonenumbers.NumberParseException.TOO_SHORT_NSN,
                phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD,
                phonenumbers.NumberParseException.TOO_LONG,
            )
            else PhoneRejection.UNPARSEABLE
        )
        raise InvalidPhoneNumber(reason) from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidPhoneNumber(PhoneRejection.NOT_POSSIBLE)
    # is_valid_number() is exactly these two calls; the region is kept instead of being looked up
    # again (the lookup tests the number against every region of its calling code: NANP has 25).
    region = phonenumbers.region_code_for_number(number)
    if region is None or not phonenumbers.is_valid_number_for_region(number, region):
        raise InvalidPhoneNumber(PhoneRejection.INVALID)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    _remember(e164, number, region)
    return _Parsed(e164=e164, region=region, number=number)


# Numbers parsed lately, by E.164: the location helpers below ask about the number just validated
# (an import normalises, then locates, every row), and parsing it again costs more than the rest.
_PARSED: dict[str, tuple[phonenumbers.PhoneNumber, str | None]] = {}
_PARSED_MAX = 4096


def _remember(e164: str, number: phonenumbers.PhoneNumber, region: str | None) -> None:
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.clear()
    _PARSED[e164] = (number, region)


def _parsed(e164: str) -> tuple[phonenumbers.PhoneNumber, str | None] | None:
    """The number and its region: remembered from validation, else parsed (None if it cannot be)."""
    found = _PARSED.get(e164)
    if found is not None:
        return found
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    return number, phonenumbers.region_code_for_number(number)


@lru_cache(maxsize=65536)
def _area_code_state(e164: str) -> str | None:
    if not e164.startswith("+1"):
        return None
    found = _parsed(e164)
    if found is None:
        return None
    number, region = found
    if region in _US_TERRITORY_REGIONS:
        return region
    if region != "US":
        return None
    from phonenumbers import geocoder  # ~0.4 s of data: only when a location is asked for

    state = state_from_description(geocoder.description_for_number(number, "en"))
    if state is None:
        # compliance.md: the area code presumes residence; the geocoder knew only the country.
        state = _area_code_table().get(e164[2:5])
    return state


def state_from_description(description: str) -> str | None:
    """Map a geocoder description ("Chicago, IL", "Florida", "Washington D.C.") to a state code."""
    match = _CITY_STATE.search(description)
    if match:
        return match.group(1)
    return STATE_NAMES.get(description.strip())


@lru_cache(maxsize=65536)
def _number_time_zones(e164: str) -> tuple[str, ...]:
    found = _parsed(e164)
    if found is None:
        return ()
    from phonenumbers import timezone

    zones = timezone.time_zones_for_number(found[0])
    return tuple(zone for zone in zones if zone != _UNKNOWN_ZONE)


@lru_cache(maxsize=65536)
def _geographic_time_zones(e164: str) -> tuple[str, ...]:
    found = _parsed(e164)
    if found is None or not phonenumbers.is_number_geographical(found[0]):
        return ()
    from phonenumbers import timezone

    # What time_zones_for_number answers for a geographic number, without typing it once more.
    zones = timezone.time_zones_for_geographical_number(found[0])
    return tuple(zone for zone in zones if zone != _UNKNOWN_ZONE)


@cache
def _area_code_table() -> dict[str, str]:
    """Area code -> state, from the checked-in table (loaded once)."""
    text = resources.files("dialer.domain").joinpath("data/nanp_area_codes.json").read_text("utf-8")
    doc = json.loads(text)
    return {code: state for state, codes in doc["states"].items() for code in codes}


def area_code_table() -> dict[str, str]:
    """Return a copy of the checked-in US area code -> state table (the geocoder fallback)."""
    return dict(_area_code_table())

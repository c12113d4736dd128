"""Where a lead is: the IANA zone its calling window is evaluated in, and the states whose rules apply.

Order (compliance.md, "How the product should apply them"):

1. an explicit IANA zone on the lead;
2. the address state: its zone when the state has one; for a state spanning several zones, the
   number's zone when that lies in the state; otherwise the lead is ambiguous (no zone);
3. the phone number's zone, when ``phonenumbers`` gives exactly one.

The area-code state is always kept beside the address state: when they differ, both states' rules
apply (FL and OK presume residence from the area code). A lead without a zone is not dialled
(``unknown_timezone``) unless the campaign names a fallback zone.

ZIP codes are deliberately not used: 3-digit ZIP prefixes straddle zone lines (e.g. FL 324xx holds
both Central and Eastern counties), so a small prefix table cannot decide a zone reliably.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dialer.domain.phones import STATE_NAMES, area_code_state, number_time_zones

_ET = "America/New_York"
_CT = "America/Chicago"
_MT = "America/Denver"
_PT = "America/Los_Angeles"

#: IANA zones in use in each state (official time; first = the state's zone when it has only one).
#: Multi-zone states list every zone a resident can be in, including the names ``phonenumbers``
#: uses for them (America/Boise, America/Juneau, America/North_Dakota/Center, ...).
STATE_ZONES: dict[str, tuple[str, ...]] = {
    "AL": (_CT,),
    "AK": (
        "America/Anchorage",
        "America/Juneau",
        "America/Sitka",
        "America/Yakutat",
        "America/Nome",
        "America/Metlakatla",
        "America/Adak",  # Aleutians west of 169.5 W: Hawaii-Aleutian time
    ),
    "AZ": ("America/Phoenix", _MT),  # the Navajo Nation observes DST
    "AR": (_CT,),
    "CA": (_PT,),
    "CO": (_MT,),
    "CT": (_ET,),
    "DE": (_ET,),
    "DC": (_ET,),
    "FL": (_ET, _CT),  # panhandle west of the Apalachicola
    "GA": (_ET,),
    "HI": ("Pacific/Honolulu",),
    "ID": ("America/Boise", _MT, _PT),  # north of the Salmon River: Pacific
    "IL": (_CT,),
    "IN": (
        "America/Indiana/Indianapolis",
        _ET,
        "America/Indiana/Vincennes",
        "America/Indiana/Winamac",
        "America/Indiana/Marengo",
        "America/Indiana/Petersburg",
        "America/Indiana/Vevay",
        _CT,
        "America/Indiana/Knox",
        "America/Indiana/Tell_City",
    ),
    "IA": (_CT,),
    "KS": (_CT, _MT),
    "KY": (_ET, "America/Kentucky/Louisville", "America/Kentucky/Monticello", _CT),
    "LA": (_CT,),
    "ME": (_ET,),
    "MD": (_ET,),
    "MA": (_ET,),
    "MI": ("America/Detroit", _ET, "America/Menominee", _CT),
    "MN": (_CT,),
    "MS": (_CT,),
    "MO": (_CT,),
    "MT": (_MT,),
    "NE": (_CT, _MT),
    "NV": (_PT, _MT, "America/Boise"),  # West Wendover and Jackpot keep Mountain time
    "NH": (_ET,),
    "NJ": (_ET,),
    "NM": (_MT,),
    "NY": (_ET,),
    "NC": (_ET,),
    "ND": (
        _CT,
        "America/North_Dakota/Center",
        "America/North_Dakota/New_Salem",
        "America/North_Dakota/Beulah",
        _MT,
    ),
    "OH": (_ET,),
    "OK": (_CT,),
    "OR": (_PT, "America/Boise", _MT),  # Malheur County: Mountain
    "PA": (_ET,),
    "RI": (_ET,),
    "SC": (_ET,),
    "SD": (_CT, _MT),
    "TN": (_CT, _ET),
    "TX": (_CT, _MT),  # El Paso and Hudspeth: Mountain
    "UT": (_MT,),
    "VT": (_ET,),
    "VA": (_ET,),
    "WA": (_PT,),
    "WV": (_ET,),
    "WI": (_CT,),
    "WY": (_MT,),
    "PR": ("America/Puerto_Rico",),
    "VI": ("America/St_Thomas",),
    "GU": ("Pacific/Guam",),
    "MP": ("Pacific/Saipan",),
    "AS": ("Pacific/Pago_Pago",),
}


class LocationSource(StrEnum):
    """Which fact decided the lead's zone."""

    EXPLICIT_ZONE = "explicit_zone"
    ADDRESS_STATE = "address_state"
    ADDRESS_STATE_AND_NUMBER = "address_state+number"  # multi-zone state, number picked the zone
    NUMBER = "number"
    NONE = "none"


class LocationIssue(StrEnum):
    """Why a fact was ignored or the zone stayed unresolved (stable: shown to operators)."""

    INVALID_ZONE = "invalid_zone"  # the explicit zone is not an IANA key
    UNKNOWN_STATE = "unknown_state"  # the address state is not a US state/territory
    STATE_SPANS_ZONES = "state_spans_zones"  # address state has several zones, the number no help
    NUMBER_SPANS_ZONES = "number_spans_zones"  # the number maps to several zones
    NO_LOCATION = "no_location"  # nothing to go on


@dataclass(frozen=True, slots=True)
class LeadLocation:
    """The resolved location of a lead.

    ``zone`` is ``None`` when unresolved (the lead is then not callable without a campaign fallback
    zone); ``issues`` says why, and also records facts that were ignored on the way.
    """

    zone: str | None
    source: LocationSource
    address_state: str | None
    area_code_state: str | None
    issues: tuple[LocationIssue, ...] = ()


def normalize_state(value: str | None) -> str | None:
    """Return the USPS code for a state/territory given as a code or a name ("fl", "Florida")."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    code = text.upper()
    if code in STATE_ZONES:
        return code
    for name, named_code in STATE_NAMES.items():
        if name.casefold() == text.casefold():
            return named_code
    return None


def zones_for_state(state: str) -> tuple[str, ...]:
    """Return the IANA zones in use in ``state`` (empty for an unknown code)."""
    return STATE_ZONES.get(state, ())


def is_valid_zone(key: str | None) -> bool:
    """True when ``key`` names an IANA zone this runtime knows (tzdata ships with the layer)."""
    return key is not None and _zone_or_none(key) is not None


def resolve_location(
    phone_e164: str | None,
    *,
    explicit_zone: str | None = None,
    address_state: str | None = None,
) -> LeadLocation:
    """Resolve a lead's zone: explicit zone > address state (refined by the number) > the number.

    ``phone_e164`` should already be normalised (:func:`dialer.domain.phones.normalize_phone`);
    ``address_state`` may be a code or a name. The area-code state is derived from the number and
    returned beside the (normalised) address state, whichever source decided the zone.
    """
    issues: list[LocationIssue] = []
    ac_state = area_code_state(phone_e164) if phone_e164 else None
    number_zones = number_time_zones(phone_e164) if phone_e164 else ()
    state = normalize_state(address_state)
    if address_state and address_state.strip() and state is None:
        issues.append(LocationIssue.UNKNOWN_STATE)

    def done(zone: str | None, source: LocationSource) -> LeadLocation:
        return LeadLocation(
            zone=zone,
            source=source,
            address_state=state,
            area_code_state=ac_state,
            issues=tuple(issues),
        )

    if explicit_zone is not None and explicit_zone.strip():
        key = explicit_zone.strip()
        if is_valid_zone(key):
            return done(key, LocationSource.EXPLICIT_ZONE)
        issues.append(LocationIssue.INVALID_ZONE)

    if state is not None:
        state_zones = STATE_ZONES[state]
        if len(state_zones) == 1:
            return done(state_zones[0], LocationSource.ADDRESS_STATE)
        # A multi-zone state: the number may say which part, but only if it agrees with the address.
        if len(number_zones) == 1 and number_zones[0] in state_zones:
            return done(number_zones[0], LocationSource.ADDRESS_STATE_AND_NUMBER)
        issues.append(LocationIssue.STATE_SPANS_ZONES)
        return done(None, LocationSource.NONE)

    if len(number_zones) == 1:
        return done(number_zones[0], LocationSource.NUMBER)
    issues.append(LocationIssue.NUMBER_SPANS_ZONES if number_zones else LocationIssue.NO_LOCATION)
    return done(None, LocationSource.NONE)


@lru_cache(maxsize=1024)
def _zone_or_none(key: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory such as "America"
        return None

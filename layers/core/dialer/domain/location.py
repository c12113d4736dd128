"""Where a lead may be: the candidate IANA zones (each with its evidence) and the states whose rules apply.

A lead is callable only when every rule holds in *every* zone the person may be in
(``docs/decisions.md``, issue 13): an address may be old and a number may have moved with its
owner, and FL and OK presume residence from the area code, so neither fact outranks the other.

Candidates (compliance.md, "How the product should apply them"):

1. an explicit IANA zone on the lead is trusted alone (the user asserted it);
2. otherwise the address state's zones: its one zone, or every zone of a state spanning several,
   narrowed to the number's zone(s) only when the number is from that same state;
3. together with the number's zone(s) when the number is geographic (toll-free and other
   non-geographic numbers say nothing about where the person is).

The area-code state is always kept beside the address state: when they differ, both states' rules
apply. A lead without any candidate is not dialled (``unknown_timezone``) unless the campaign
names a fallback zone.

The *primary* zone (:attr:`LeadLocation.zone`) is the one shown as "lead-local" (to operators and
to the assistant): the explicit zone, else the address zone (preferring one the number confirms),
else the single or first number zone. It does not decide legality on its own.

ZIP codes are deliberately not used: 3-digit ZIP prefixes straddle zone lines (e.g. FL 324xx holds
both Central and Eastern counties), so a small prefix table cannot decide a zone reliably.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from dialer.domain.instants import zone_info
from dialer.domain.phones import STATE_NAMES, area_code_state, geographic_time_zones, number_time_zones

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
    """The evidence behind the primary zone (``zone_source`` on lead records)."""

    EXPLICIT_ZONE = "explicit_zone"
    ADDRESS_STATE = "address_state"
    ADDRESS_STATE_AND_NUMBER = "address_state+number"  # the address and the number agree on it
    NUMBER = "number"
    NONE = "none"


class ZoneEvidence(StrEnum):
    """One fact that puts a lead in a candidate zone (stable: stored and shown to operators)."""

    EXPLICIT_ZONE = "explicit_zone"
    ADDRESS_STATE = "address_state"
    NUMBER = "number"


class LocationIssue(StrEnum):
    """Why a fact was ignored or the location is uncertain (stable: shown to operators)."""

    INVALID_ZONE = "invalid_zone"  # the explicit zone is not an IANA key
    UNKNOWN_STATE = "unknown_state"  # the address state is not a US state/territory
    STATE_SPANS_ZONES = "state_spans_zones"  # address state has several zones, the number no help
    NUMBER_SPANS_ZONES = "number_spans_zones"  # the (geographic) number maps to several zones
    NON_GEOGRAPHIC_NUMBER = "non_geographic_number"  # toll-free etc.: the number gives no zone
    ADDRESS_NUMBER_DIFFER = "address_number_differ"  # the number adds zones the address does not
    NO_LOCATION = "no_location"  # nothing to go on


@dataclass(frozen=True, slots=True)
class ZoneCandidate:
    """A zone the person may be in, and the facts that say so."""

    zone: str
    evidence: tuple[ZoneEvidence, ...]


@dataclass(frozen=True, slots=True)
class LeadLocation:
    """The resolved location of a lead.

    ``candidates`` holds every zone the person may be in (empty when there is no evidence: the lead
    is then not callable without a campaign fallback zone); ``zone`` is the primary one (module
    docstring), ``None`` exactly when there are no candidates. ``issues`` records facts that were
    ignored and why the location is uncertain.
    """

    zone: str | None
    source: LocationSource
    address_state: str | None
    area_code_state: str | None
    issues: tuple[LocationIssue, ...] = ()
    candidates: tuple[ZoneCandidate, ...] = ()

    @property
    def zones(self) -> tuple[str, ...]:
        """The candidate zone keys, primary first."""
        return tuple(c.zone for c in self.candidates)


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
    return key is not None and zone_info(key) is not None


def resolve_location(
    phone_e164: str | None,
    *,
    explicit_zone: str | None = None,
    address_state: str | None = None,
) -> LeadLocation:
    """Resolve a lead's candidate zones: an explicit zone alone, else address zones + number zones.

    ``phone_e164`` should already be normalised (:func:`dialer.domain.phones.normalize_phone`);
    ``address_state`` may be a code or a name. The area-code state is derived from the number and
    returned beside the (normalised) address state.
    """
    issues: list[LocationIssue] = []
    ac_state = area_code_state(phone_e164) if phone_e164 else None
    state = normalize_state(address_state)
    if address_state and address_state.strip() and state is None:
        issues.append(LocationIssue.UNKNOWN_STATE)

    if explicit_zone is not None and explicit_zone.strip():
        key = explicit_zone.strip()
        if is_valid_zone(key):
            only = ZoneCandidate(key, (ZoneEvidence.EXPLICIT_ZONE,))
            return LeadLocation(key, LocationSource.EXPLICIT_ZONE, state, ac_state, tuple(issues), (only,))
        issues.append(LocationIssue.INVALID_ZONE)

    number_zones = geographic_time_zones(phone_e164) if phone_e164 else ()
    if phone_e164 and not number_zones and number_time_zones(phone_e164):
        issues.append(LocationIssue.NON_GEOGRAPHIC_NUMBER)
    elif len(number_zones) > 1:
        issues.append(LocationIssue.NUMBER_SPANS_ZONES)

    address_zones: tuple[str, ...] = ()
    if state is not None:
        address_zones = STATE_ZONES[state]
        if len(address_zones) > 1:
            # The number narrows a multi-zone state only when it is from that state: a West Texas
            # number says nothing about which part of Michigan the address is in.
            inside = tuple(z for z in address_zones if z in number_zones) if ac_state == state else ()
            if inside:
                address_zones = inside
            else:
                issues.append(LocationIssue.STATE_SPANS_ZONES)

    evidence: dict[str, list[ZoneEvidence]] = {}
    for zone in address_zones:
        evidence.setdefault(zone, []).append(ZoneEvidence.ADDRESS_STATE)
    for zone in number_zones:
        evidence.setdefault(zone, []).append(ZoneEvidence.NUMBER)
    if address_zones and any(zone not in address_zones for zone in number_zones):
        issues.append(LocationIssue.ADDRESS_NUMBER_DIFFER)
    if not evidence:
        issues.append(LocationIssue.NO_LOCATION)
        return LeadLocation(None, LocationSource.NONE, state, ac_state, tuple(issues))

    # Dict order puts the address zones first (STATE_ZONES order: the state's main zone first, or
    # the zone an in-state number narrowed it to), so the primary zone is the first candidate.
    candidates = tuple(ZoneCandidate(zone, tuple(kinds)) for zone, kinds in evidence.items())
    primary = candidates[0]
    both = (ZoneEvidence.ADDRESS_STATE, ZoneEvidence.NUMBER)
    source = {
        (ZoneEvidence.ADDRESS_STATE,): LocationSource.ADDRESS_STATE,
        (ZoneEvidence.NUMBER,): LocationSource.NUMBER,
        both: LocationSource.ADDRESS_STATE_AND_NUMBER,
    }[primary.evidence]
    return LeadLocation(primary.zone, source, state, ac_state, tuple(issues), candidates)

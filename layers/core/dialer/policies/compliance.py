"""The compliance engine: may this lead be dialled at this instant, and if not, when?

Pure functions over frozen dataclasses; the dialer calls :func:`evaluate` before claiming a lead
and again right before dialling (compliance.md: DNC and consent can change in between), and
:func:`next_legal_time` to schedule a deferred lead.

What is checked (each reason code is documented in :mod:`dialer.domain.compliance_reasons`):

* the number is E.164 (full validation happens at intake with ``phonenumbers``);
* internal DNC (47 CFR 64.1200(d)); consent required by the campaign, in force, of an accepted
  type (FCC 24-17) and never revoked (FCC 24-18: a revocation blocks every campaign);
* national-DNC scrub no older than 31 days when the campaign requires one (64.1200(c)(2));
* the campaign's max attempts; a declared state of emergency where the state forbids calls (LA);
* the legal window, evaluated with ``zoneinfo`` (so DST is exact) in *every* zone the person may
  be in (the lead's candidate zones, :mod:`dialer.domain.location`): federal 08:00-21:00
  (64.1200(c)(1)) ∩ every applicable state's window for that day of the week ∩ the campaign's
  days and hours; Sunday and holiday bans per state, holidays from ``holidays``
  (``observed=True``, so AL's weekend holidays moved to Fri/Mon block too);
* frequency caps per person (phone) across campaigns: the state's rolling-24-hour cap (FL, OK,
  MD: 3) and the campaign's daily cap (lead-local calendar day, in every candidate zone).

A lead whose address and number point to different zones (or whose address state spans several)
is called only when the call is legal wherever the person may be; a window reason says which
zones block (:attr:`Decision.blocked_in`), the reason string itself stays the stable code.

Applicable states are the address state and the area-code state; when they differ both apply
(compliance.md: FL and OK presume residence from the area code). Windows are half-open: a call may
start at 08:00:00 and at 20:59:59, not at 21:00:00 (the stricter reading of "after 21:00").

Rules come from ``state_rules.json`` beside this module, loaded once on first use; holiday sets
are cached per (state, year) and ``ZoneInfo`` objects per key, so a decision is a few
microseconds (see ``bench/policy.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cache, lru_cache
from importlib import resources
from types import MappingProxyType
from zoneinfo import ZoneInfo

from dialer.domain import compliance_reasons as reasons_
from dialer.domain.compliance_reasons import Reason, ReasonCode
from dialer.domain.instants import zone_info

#: Every day of the week, Monday = 0 (``date.weekday()``).
ALL_DAYS: frozenset[int] = frozenset(range(7))
#: How far ahead :func:`next_legal_time` looks before answering "not within reach".
DEFAULT_HORIZON = timedelta(days=14)
#: Window of the state frequency caps (compliance.md: "per 24 h").
CAP_PERIOD = timedelta(hours=24)

_SUNDAY = 6
_MINUTES_PER_DAY = 24 * 60
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
# A local calendar day is at most 25 h long in any zone with DST; calls further away than this
# from the instant cannot be on its local date (used to skip needless zone conversions).
_DAY_REACH = timedelta(hours=26)


class ConsentType(StrEnum):
    """The consent a person gave (FCC 24-17: AI voice telemarketing needs prior express written)."""

    EXPRESS_WRITTEN = "express_written"
    EXPRESS = "express"


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """A person's consent to be called: what kind, where it came from, when, and any revocation."""

    type: ConsentType
    source: str
    granted_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class LeadFacts:
    """Everything about a lead the engine needs, mapped from the stored lead by the caller.

    * ``phone``: E.164, already normalised (:func:`dialer.domain.phones.normalize_phone`).
    * ``zone``: the primary ("lead-local") zone (:func:`dialer.domain.location.resolve_location`),
      or ``None`` when unresolved.
    * ``zones``: every other zone the person may be in (the candidates); windows must hold in all
      of them and in ``zone``. Unknown keys are ignored; with no known key at all the campaign's
      fallback zone is used, else the lead is ``unknown_timezone``.
    * ``address_state`` / ``area_code_state``: USPS codes; both states' rules apply.
    * ``dnc``: the number is on the tenant's internal do-not-call list.
    * ``consent``: the consent record for this person, if any.
    * ``dnc_scrubbed_at``: when the number was last checked against the national registry.
    * ``attempts``: dial attempts already made for this lead in this campaign.
    * ``recent_calls``: start instants of calls to this *person* (phone number) across all
      campaigns; the last 48 hours are enough (the longest look-back is one local day or 24 h).
      Calls recorded after the instant being evaluated also count (clock skew errs on the safe side).

    All datetimes are timezone-aware.
    """

    phone: str
    zone: str | None = None
    address_state: str | None = None
    area_code_state: str | None = None
    zones: tuple[str, ...] = ()
    dnc: bool = False
    consent: ConsentRecord | None = None
    dnc_scrubbed_at: datetime | None = None
    attempts: int = 0
    recent_calls: tuple[datetime, ...] = ()


@dataclass(frozen=True, slots=True)
class CampaignPolicy:
    """The campaign's own constraints, intersected with the law.

    * ``window_days`` (Monday = 0) and ``window_start``/``window_end`` (half-open), lead-local.
    * ``fallback_zone``: zone used for leads whose zone is unresolved; only when the operator chose
      one explicitly (compliance.md). ``None``: such leads are not called (``unknown_timezone``).
    * ``requires_consent`` / ``accepted_consent``: consent must exist, be in force and be of one of
      these types. Defaults to prior express written consent (FCC 24-17, telemarketing).
    * ``requires_scrub``: the number must have been scrubbed against the national DNC registry
      within 31 days.
    * ``daily_cap``: calls per person per lead-local calendar day, across campaigns.
    * ``max_attempts``: attempts per lead in this campaign.
    """

    window_days: frozenset[int] = ALL_DAYS
    window_start: time = time(8, 0)
    window_end: time = time(21, 0)
    fallback_zone: str | None = None
    requires_consent: bool = True
    accepted_consent: frozenset[ConsentType] = frozenset({ConsentType.EXPRESS_WRITTEN})
    requires_scrub: bool = True
    daily_cap: int | None = None
    max_attempts: int | None = None
    _start_minute: int = field(init=False, repr=False, compare=False)
    _end_minute: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.window_days or not self.window_days <= ALL_DAYS:
            raise ValueError("window_days must be a non-empty subset of 0..6 (Monday = 0)")
        start, end = _minute_of(self.window_start), _minute_of(self.window_end)
        if not start < end:
            raise ValueError("window_start must be before window_end (overnight windows are not legal)")
        if self.fallback_zone is not None and zone_info(self.fallback_zone) is None:
            raise ValueError(f"unknown fallback zone {self.fallback_zone!r}")
        for name in ("daily_cap", "max_attempts"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1 (or None for no cap)")
        # Frozen dataclass: derived fields are set once here, through object.__setattr__.
        object.__setattr__(self, "_start_minute", start)
        object.__setattr__(self, "_end_minute", end)


@dataclass(frozen=True, slots=True)
class Decision:
    """The engine's answer: eligible, or every reason that blocks (in a stable order).

    ``zone`` is the primary ("lead-local") zone (the lead's, or the campaign fallback) and
    ``local_time`` the evaluated instant there; both ``None`` when no zone could be resolved.
    ``zones`` lists every zone the windows were evaluated in (primary first), and ``blocked_in``
    names, for each zone-dependent reason (window, Sunday, holiday, daily cap), the zones where it
    blocks: ``outside_window:federal`` blocked in ``("America/Detroit",)``.
    """

    eligible: bool
    reasons: tuple[Reason, ...]
    zone: str | None = None
    local_time: datetime | None = None
    zones: tuple[str, ...] = ()
    blocked_in: tuple[tuple[Reason, tuple[str, ...]], ...] = ()

    def where(self, reason: str) -> tuple[str, ...]:
        """The zones where ``reason`` blocks (empty for a reason that does not depend on the zone)."""
        for blocked, zones in self.blocked_in:
            if blocked == reason:
                return zones
        return ()

    def detail(self, reason: str) -> str:
        """``reason`` with the zones that block it: ``outside_window:federal@America/Chicago``."""
        zones = self.where(reason)
        return f"{reason}@{','.join(zones)}" if zones else str(reason)


@dataclass(frozen=True, slots=True)
class StateRule:
    """One state's calling rules, compiled from ``state_rules.json``.

    ``windows`` holds a lead-local ``(start_minute, end_minute)`` per day of the week (Monday
    first), ``None`` where the state forbids calls that day.
    """

    state: str
    name: str
    windows: tuple[tuple[int, int] | None, ...]
    no_holidays: bool
    cap_24h: int | None
    no_calls_in_emergency: bool
    source: str
    outside_reason: Reason
    sunday_reason: Reason
    holiday_reason: Reason
    cap_reason: Reason
    emergency_reason: Reason


@dataclass(frozen=True, slots=True)
class RuleBook:
    """The federal window, the scrub age limit and the state rules (read-only)."""

    federal_window: tuple[int, int]
    scrub_max_age: timedelta
    states: Mapping[str, StateRule]


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def evaluate(
    lead: LeadFacts,
    campaign: CampaignPolicy,
    at: datetime,
    *,
    emergencies: frozenset[str] = frozenset(),
) -> Decision:
    """Decide whether ``lead`` may be dialled at instant ``at`` under ``campaign``.

    Returns a :class:`Decision` listing *all* blocking reasons (not just the first), each a stable
    :class:`~dialer.domain.compliance_reasons.Reason` such as ``outside_window:FL``, ``dnc`` or
    ``cap_24h:OK``. ``emergencies`` holds the states currently under a declared state of
    emergency (an operator input; only states whose rule forbids calls then are affected, i.e. LA).

    The windows are evaluated in the lead's zone, else the campaign's fallback zone; with neither,
    the decision carries ``unknown_timezone`` and no window or daily-cap reason. Raises
    ``ValueError`` when ``at`` is naive.
    """
    _require_aware(at, "at")
    book = rule_book()
    out: list[Reason] = []

    if _E164.fullmatch(lead.phone) is None:
        out.append(reasons_.INVALID_NUMBER)
    if lead.dnc:
        out.append(reasons_.DNC)
    _consent_reasons(lead.consent, campaign, at, out)
    if campaign.requires_scrub:
        scrubbed = lead.dnc_scrubbed_at
        if scrubbed is None:
            out.append(reasons_.SCRUB_MISSING)
        elif at - scrubbed > book.scrub_max_age:
            out.append(reasons_.SCRUB_STALE)
    if campaign.max_attempts is not None and lead.attempts >= campaign.max_attempts:
        out.append(reasons_.MAX_ATTEMPTS)

    rules = applicable_rules(lead.address_state, lead.area_code_state)
    if emergencies:
        for rule in rules:
            if rule.no_calls_in_emergency and rule.state in emergencies:
                out.append(rule.emergency_reason)

    zones = _candidate_zones(lead.zone, lead.zones, campaign.fallback_zone)
    calls = lead.recent_calls
    if zones is None:
        out.append(reasons_.UNKNOWN_TIMEZONE)
        if calls:
            _cap_24h_reasons(calls, rules, at, out)
        return Decision(eligible=False, reasons=tuple(out))

    blocked: list[tuple[Reason, tuple[str, ...]]] = []
    local = at.astimezone(zones.primary)
    if zones.single:  # the common case, kept free of the merging below
        before = len(out)
        _window_reasons(local, rules, campaign, book.federal_window, out)
        if len(out) > before:
            blocked.extend((reason, zones.keys) for reason in out[before:])
    else:
        _zones_window_reasons(at, zones.pairs, rules, campaign, book.federal_window, out, blocked)
    if calls:
        _cap_24h_reasons(calls, rules, at, out)
        cap = campaign.daily_cap
        if cap is not None:
            full = tuple(
                key
                for key, zone in zones.pairs
                if _count_on_local_day(calls, at, at.astimezone(zone).date(), zone) >= cap
            )
            if full:
                out.append(reasons_.CAP_DAILY)
                blocked.append((reasons_.CAP_DAILY, full))

    return Decision(
        not out, tuple(out), zones.primary_key, local, zones.keys, tuple(blocked) if blocked else ()
    )


def next_legal_time(
    lead: LeadFacts,
    campaign: CampaignPolicy,
    after: datetime,
    *,
    emergencies: frozenset[str] = frozenset(),
    horizon: timedelta = DEFAULT_HORIZON,
) -> datetime | None:
    """Return the earliest instant ``>= after`` at which :func:`evaluate` says eligible, or ``None``.

    ``after`` itself is returned when the lead is eligible then. Otherwise the answer is the exact
    instant the last blocking rule lifts: a window opening (a whole lead-local minute; DST gaps
    and repeated hours are handled), a cap expiring (24 h after the call that fills it, or the
    next lead-local midnight for the daily cap), or consent taking effect. Rules are re-checked
    at every candidate, so the result is always eligible.

    ``None`` means no legal instant within ``horizon`` (default 14 days) of ``after``, including
    every block that time alone does not lift: invalid number, DNC, missing/revoked/insufficient
    consent, missing or stale scrub (it only gets staler), max attempts, a declared emergency, an
    unresolved zone without fallback, or a campaign window that never meets the legal one.
    """
    _require_aware(after, "after")
    limit = after + horizon
    t = after
    while True:
        decision = evaluate(lead, campaign, t, emergencies=emergencies)
        if decision.eligible:
            return t
        candidate = _lift_time(lead, campaign, decision, t, limit)
        if candidate is None or candidate > limit:
            return None
        # Defensive: every lift time is strictly later than t; this only guarantees progress.
        t = candidate if candidate > t else t + timedelta(minutes=1)


def legal_window_on(lead: LeadFacts, campaign: CampaignPolicy, day: date) -> tuple[time, time] | None:
    """Return the lead-local ``[start, end)`` window on ``day`` (federal ∩ states ∩ campaign).

    The wall-clock window each candidate zone's local time must be in on its local ``day`` (the
    rules do not depend on the zone; the instants they allow do).

    ``None`` when no call is allowed that day (a Sunday or holiday ban, a day outside the
    campaign, or windows that do not overlap). Caps, consent and DNC are not considered.
    """
    rules = applicable_rules(lead.address_state, lead.area_code_state)
    interval = _day_interval(rules, campaign, day)
    if interval is None:
        return None
    return _time_of(interval[0]), _time_of(interval[1])


def applicable_rules(address_state: str | None, area_code_state: str | None) -> tuple[StateRule, ...]:
    """Return the state rules that apply to a lead: its address state's and its area code's."""
    return _applicable_rules(address_state, area_code_state)


@cache
def rule_book() -> RuleBook:
    """Load and compile ``state_rules.json`` (once per process)."""
    text = resources.files("dialer.policies").joinpath("state_rules.json").read_text("utf-8")
    doc = json.loads(text)
    federal = doc["federal"]
    states = {code: _compile_state(code, spec) for code, spec in doc["states"].items()}
    return RuleBook(
        federal_window=_window(federal["window"]),
        scrub_max_age=timedelta(days=int(federal["national_dnc_scrub_max_age_days"])),
        states=MappingProxyType(states),
    )


def holiday_dates(state: str, year: int) -> frozenset[date]:
    """Return the dates in ``year`` that are holidays in ``state``, observed days included."""
    return _holiday_dates(state, year)


def preload_holidays(years: Iterable[int]) -> None:
    """Compute the holiday dates of every holiday-ban state for ``years`` now, ahead of the first
    window evaluated. The first one costs ~0.1 s of CPU (the ``holidays`` package imports every
    country's module), which otherwise fell on a request: in a burst of calls, on each new
    environment of the dispatcher, the dialer and the event processor."""
    states = [code for code, rule in rule_book().states.items() if rule.no_holidays]
    for year in years:
        for state in states:
            _holiday_dates(state, year)


def candidate_zones(
    zone: str | None, zones: tuple[str, ...] = (), fallback_zone: str | None = None
) -> tuple[tuple[str, ZoneInfo], ...]:
    """The zones a lead's windows are evaluated in: ``zone`` then ``zones`` (known keys, no repeats),
    else the fallback zone alone; empty when there is none."""
    found = _candidate_zones(zone, zones, fallback_zone)
    return () if found is None else found.pairs


@dataclass(frozen=True, slots=True)
class _ZoneSet:
    """A lead's candidate zones, resolved once per distinct (zone, zones, fallback)."""

    pairs: tuple[tuple[str, ZoneInfo], ...]
    keys: tuple[str, ...]
    primary_key: str
    primary: ZoneInfo
    single: bool


@lru_cache(maxsize=4096)
def _candidate_zones(zone: str | None, zones: tuple[str, ...], fallback_zone: str | None) -> _ZoneSet | None:
    found: dict[str, ZoneInfo] = {}
    for key in (zone, *zones):
        if key is not None and key not in found and (info := zone_info(key)) is not None:
            found[key] = info
    if not found and fallback_zone is not None and (info := zone_info(fallback_zone)) is not None:
        found[fallback_zone] = info
    if not found:
        return None
    pairs = tuple(found.items())
    return _ZoneSet(pairs, tuple(found), pairs[0][0], pairs[0][1], len(pairs) == 1)


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------


def _compile_state(code: str, spec: Mapping[str, object]) -> StateRule:
    weekday = _window_or_ban(spec["weekday"])
    saturday = _window_or_ban(spec["saturday"])
    sunday = _window_or_ban(spec["sunday"])
    cap = spec["cap_24h"]
    return StateRule(
        state=code,
        name=str(spec["name"]),
        windows=(weekday, weekday, weekday, weekday, weekday, saturday, sunday),
        no_holidays=bool(spec["no_holidays"]),
        cap_24h=int(cap) if isinstance(cap, int) else None,
        no_calls_in_emergency=bool(spec["no_calls_in_emergency"]),
        source=str(spec["source"]),
        outside_reason=Reason.of(ReasonCode.OUTSIDE_WINDOW, code),
        sunday_reason=Reason.of(ReasonCode.SUNDAY, code),
        holiday_reason=Reason.of(ReasonCode.HOLIDAY, code),
        cap_reason=Reason.of(ReasonCode.CAP_24H, code),
        emergency_reason=Reason.of(ReasonCode.EMERGENCY, code),
    )


def _window_or_ban(value: object) -> tuple[int, int] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValueError(f"a window is [start, end] or null, not {value!r}")
    return _window(value)


def _window(value: list[str]) -> tuple[int, int]:
    start, end = (_parse_minute(v) for v in value)
    if not 0 <= start < end <= _MINUTES_PER_DAY:
        raise ValueError(f"bad window {value!r}")
    return start, end


def _parse_minute(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _minute_of(value: time) -> int:
    return value.hour * 60 + value.minute


def _time_of(minute: int) -> time:
    return time(23, 59, 59, 999999) if minute >= _MINUTES_PER_DAY else time(minute // 60, minute % 60)


@lru_cache(maxsize=4096)
def _applicable_rules(address_state: str | None, area_code_state: str | None) -> tuple[StateRule, ...]:
    states = rule_book().states
    found: list[StateRule] = []
    for value in (address_state, area_code_state):
        if value is None:
            continue
        rule = states.get(value.strip().upper())
        if rule is not None and rule not in found:
            found.append(rule)
    return tuple(found)


@lru_cache(maxsize=2048)
def _holiday_dates(state: str, year: int) -> frozenset[date]:
    import holidays  # ~0.1 s; only needed once a holiday-ban state is evaluated

    return frozenset(holidays.country_holidays("US", subdiv=state, years=year, observed=True))


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


def _consent_reasons(
    consent: ConsentRecord | None, campaign: CampaignPolicy, at: datetime, out: list[Reason]
) -> None:
    # FCC 24-18: a revocation is an opt-out, honoured whether or not the campaign needs consent.
    if consent is not None and consent.revoked_at is not None and consent.revoked_at <= at:
        out.append(reasons_.CONSENT_REVOKED)
        return
    if not campaign.requires_consent:
        return
    if consent is None or consent.granted_at > at:
        out.append(reasons_.NO_CONSENT)
    elif consent.type not in campaign.accepted_consent:
        out.append(reasons_.CONSENT_INSUFFICIENT)


def _window_reasons(
    local: datetime,
    rules: tuple[StateRule, ...],
    campaign: CampaignPolicy,
    federal: tuple[int, int],
    out: list[Reason],
) -> None:
    minute = local.hour * 60 + local.minute
    weekday = local.weekday()
    if not federal[0] <= minute < federal[1]:
        out.append(reasons_.OUTSIDE_WINDOW_FEDERAL)  # 47 CFR 64.1200(c)(1)
    for rule in rules:
        if rule.no_holidays and local.date() in _holiday_dates(rule.state, local.year):
            out.append(rule.holiday_reason)
        window = rule.windows[weekday]
        if window is None:
            out.append(rule.sunday_reason if weekday == _SUNDAY else rule.outside_reason)
        elif not window[0] <= minute < window[1]:
            out.append(rule.outside_reason)
    if weekday not in campaign.window_days or not (campaign._start_minute <= minute < campaign._end_minute):
        out.append(reasons_.OUTSIDE_WINDOW_CAMPAIGN)


def _zones_window_reasons(
    at: datetime,
    zones: tuple[tuple[str, ZoneInfo], ...],
    rules: tuple[StateRule, ...],
    campaign: CampaignPolicy,
    federal: tuple[int, int],
    out: list[Reason],
    blocked: list[tuple[Reason, tuple[str, ...]]],
) -> None:
    """The window reasons of every zone, each once, in the single-zone order, with where it blocks."""
    found: list[Reason] = []
    ends: list[int] = []
    for _, zone in zones:
        _window_reasons(at.astimezone(zone), rules, campaign, federal, found)
        ends.append(len(found))
    if not found:  # open in every zone: the usual answer, nothing to merge
        return
    where: dict[Reason, list[str]] = {}
    start = 0
    for (key, _), end in zip(zones, ends, strict=True):
        for reason in found[start:end]:
            where.setdefault(reason, []).append(key)
        start = end
    for reason in _window_reason_order(rules):
        keys = where.get(reason)
        if keys is not None:
            out.append(reason)
            blocked.append((reason, tuple(keys)))


@lru_cache(maxsize=1024)
def _window_reason_order(rules: tuple[StateRule, ...]) -> tuple[Reason, ...]:
    # The order _window_reasons reports in: federal, each state's (holiday, Sunday, window), campaign.
    order = [reasons_.OUTSIDE_WINDOW_FEDERAL]
    for rule in rules:
        order += [rule.holiday_reason, rule.sunday_reason, rule.outside_reason]
    order.append(reasons_.OUTSIDE_WINDOW_CAMPAIGN)
    return tuple(order)


def _cap_24h_reasons(
    calls: tuple[datetime, ...], rules: tuple[StateRule, ...], at: datetime, out: list[Reason]
) -> None:
    count = -1
    for rule in rules:
        if rule.cap_24h is not None:
            if count < 0:
                count = _count_since(calls, at - CAP_PERIOD)
            if count >= rule.cap_24h:
                out.append(rule.cap_reason)


def _count_since(calls: Iterable[datetime], cutoff: datetime) -> int:
    count = 0
    for call in calls:
        if call > cutoff:
            count += 1
    return count


def _count_on_local_day(calls: Iterable[datetime], at: datetime, day: date, zone: ZoneInfo) -> int:
    low, high = at - _DAY_REACH, at + _DAY_REACH
    count = 0
    for call in calls:
        if low < call < high and call.astimezone(zone).date() == day:
            count += 1
    return count


# --------------------------------------------------------------------------------------------
# Next legal time
# --------------------------------------------------------------------------------------------

_WINDOW_CODES = frozenset({ReasonCode.OUTSIDE_WINDOW, ReasonCode.SUNDAY, ReasonCode.HOLIDAY})


def _lift_time(
    lead: LeadFacts, campaign: CampaignPolicy, decision: Decision, t: datetime, limit: datetime
) -> datetime | None:
    """The earliest instant after ``t`` at which every reason in ``decision`` could have lifted.

    Each bound is a lower bound on the next eligible instant (nothing earlier can satisfy that
    rule), so their maximum is too; ``None`` when some reason never lifts by itself. With several
    candidate zones the window bound is the latest of the zones' next openings: no instant before
    it is inside the window in all of them. The caller re-evaluates there, so a zone whose window
    closed meanwhile moves the bound on again (exact, never stepped).
    """
    zones = candidate_zones(lead.zone, lead.zones, campaign.fallback_zone)
    bound = t
    window_done = False
    rules = applicable_rules(lead.address_state, lead.area_code_state)
    for reason in decision.reasons:
        code = reason.code
        if code in _WINDOW_CODES:
            if window_done:
                continue
            window_done = True
            if not zones:
                return None
            for _, zone in zones:
                opening = _next_window_opening(rules, campaign, zone, t, limit)
                if opening is None:
                    return None
                bound = max(bound, opening)
        elif code is ReasonCode.CAP_24H:
            rule = rule_book().states[reason.scope or ""]
            if rule.cap_24h is None:
                return None
            bound = max(bound, _cap_frees_at(lead.recent_calls, rule.cap_24h, t))
        elif code is ReasonCode.CAP_DAILY:
            full = decision.where(reason)
            for key, zone in zones:
                if key not in full:
                    continue
                day = t.astimezone(zone).date() + timedelta(days=1)
                midnight = _first_instant_at(day, 0, zone, t)
                if midnight is None:
                    return None
                bound = max(bound, midnight)
        elif code is ReasonCode.NO_CONSENT:
            consent = lead.consent
            if consent is None or consent.granted_at <= t:
                return None
            bound = max(bound, consent.granted_at)  # consent recorded with a future start
        else:
            return None  # DNC, revoked consent, scrub, attempts, emergency, zone: time won't help
    return bound


def _cap_frees_at(calls: tuple[datetime, ...], cap: int, t: datetime) -> datetime:
    # Count(x) = calls later than x - 24 h, non-increasing in x: below the cap once the cap-th
    # most recent of them is 24 h old.
    recent = sorted((call for call in calls if call > t - CAP_PERIOD), reverse=True)
    return recent[cap - 1] + CAP_PERIOD


def _next_window_opening(
    rules: tuple[StateRule, ...], campaign: CampaignPolicy, zone: ZoneInfo, t: datetime, limit: datetime
) -> datetime | None:
    """First instant ``>= t`` inside the combined window (federal ∩ states ∩ campaign, bans)."""
    local = t.astimezone(zone)
    today = local.date()
    minute = local.hour * 60 + local.minute
    last = limit.astimezone(zone).date()
    day = today
    while day <= last:
        interval = _day_interval(rules, campaign, day)
        if interval is not None:
            start, end = interval
            if day == today and minute >= start:
                if minute < end:
                    return t
            else:
                opening = _first_instant_at(day, start, zone, t)
                if opening is not None:
                    return opening
        day += timedelta(days=1)
    return None


def _day_interval(
    rules: tuple[StateRule, ...], campaign: CampaignPolicy, day: date
) -> tuple[int, int] | None:
    weekday = day.weekday()
    interval = _weekly_intervals(rules, campaign.window_days, campaign._start_minute, campaign._end_minute)[
        weekday
    ]
    if interval is None:
        return None
    for rule in rules:
        if rule.no_holidays and day in _holiday_dates(rule.state, day.year):
            return None
    return interval


@lru_cache(maxsize=1024)
def _weekly_intervals(
    rules: tuple[StateRule, ...], days: frozenset[int], start: int, end: int
) -> tuple[tuple[int, int] | None, ...]:
    federal = rule_book().federal_window
    week: list[tuple[int, int] | None] = []
    for weekday in range(7):
        if weekday not in days:
            week.append(None)
            continue
        low, high = max(federal[0], start), min(federal[1], end)
        for rule in rules:
            window = rule.windows[weekday]
            if window is None:
                low, high = 0, 0
                break
            low, high = max(low, window[0]), min(high, window[1])
        week.append((low, high) if low < high else None)
    return tuple(week)


def _first_instant_at(day: date, minute: int, zone: ZoneInfo, not_before: datetime) -> datetime | None:
    """Earliest instant ``>= not_before`` whose lead-local wall time is ``day`` at ``minute`` or later.

    A wall time in a DST gap starts at the transition; a repeated wall time (fall back) is tried
    at its first occurrence, then its second.
    """
    wall = datetime(day.year, day.month, day.day, minute // 60, minute % 60)
    for fold in (0, 1):
        instant = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) != wall:
            instant = _gap_end(wall, zone)
        if instant >= not_before:
            return instant
    return None


def _gap_end(wall: datetime, zone: ZoneInfo) -> datetime:
    """The transition instant that skips over ``wall`` (a wall time inside a DST gap)."""
    a = wall.replace(tzinfo=zone, fold=0).timestamp()
    b = wall.replace(tzinfo=zone, fold=1).timestamp()
    # Transitions fall on whole seconds: search them. wall(low) < wall <= wall(high).
    low, high = int(min(a, b)), int(max(a, b)) + 1
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)

"""Compliance engine throughput on one core: evaluate() and next_legal_time() per second.

Prints ``name value unit`` lines. Inputs: a fixed-seed population of leads across every rule
state plus rule-free ones, every US zone (and some unresolved with or without a campaign fallback),
with DNC hits, consent (missing / revoked / wrong type), scrubs (fresh / stale / missing) and
recent calls that trip the 24 h and daily caps; 200 instants, 70% within two days around
2026-03-01 (so the caps bite), 30% spread over 2026-2027 (DST, holidays, weekends). Run: ``.venv/bin/python bench/policy.py``.

Candidate zones (issue 13): the same population and work measured with every lead in one zone, and
with every lead in two (its zone plus a different US zone, as for an address and a number that
disagree); and a mixed sample of 10,000 leads resolved from raw facts the way intake does (92%
US geographic numbers drawn from the area-code table, 5% toll-free, 3% Canadian; 75% with an
address state, 15% of those a state other than the number's; 5% with an explicit zone), of which
the share the engine answers ``unknown_timezone`` (default campaign, no fallback zone).
"""

from __future__ import annotations

import random
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from datetime import time as wall_time

from dialer.domain.location import resolve_location
from dialer.domain.phones import InvalidPhoneNumber, area_code_table, normalize_phone
from dialer.policies.compliance import (
    CampaignPolicy,
    ConsentRecord,
    ConsentType,
    LeadFacts,
    evaluate,
    next_legal_time,
    rule_book,
)

POPULATION = 10_000
ZONE_EVALUATIONS = 200_000
SAMPLE = 10_000
INSTANTS = 200
EVALUATIONS = 400_000
NEXT_CALLS = 20_000
SEED = 20260101

ZONES = {
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
    "NY": "America/New_York",
    "TX": "America/Chicago",
    "CA": "America/Los_Angeles",
    "AZ": "America/Phoenix",
    "HI": "Pacific/Honolulu",
    "AK": "America/Anchorage",
}


def population(rng: random.Random, base: datetime) -> list[LeadFacts]:
    """Build the mixed lead population (sizes and mix in the module docstring)."""
    states = list(ZONES)
    leads = []
    for i in range(POPULATION):
        state = rng.choice(states)
        ac_state = state if rng.random() < 0.8 else rng.choice(states)
        zone: str | None = ZONES[state] if rng.random() < 0.95 else None
        roll = rng.random()
        consent = (
            None
            if roll < 0.05
            else ConsentRecord(
                type=ConsentType.EXPRESS if roll < 0.08 else ConsentType.EXPRESS_WRITTEN,
                source="web_form",
                granted_at=base - timedelta(days=60),
                revoked_at=base - timedelta(days=1) if roll < 0.1 else None,
            )
        )
        scrub_roll = rng.random()
        scrubbed = (
            None
            if scrub_roll < 0.03
            else base - timedelta(days=40 if scrub_roll < 0.06 else 2, hours=rng.randrange(24))
        )
        calls = tuple(
            base - timedelta(minutes=rng.randrange(0, 36 * 60)) for _ in range(rng.choice((0, 0, 1, 2, 3, 4)))
        )
        leads.append(
            LeadFacts(
                phone=f"+1{rng.randrange(201, 989)}555{i % 10000:04d}",
                zone=zone,
                address_state=state,
                area_code_state=ac_state,
                dnc=rng.random() < 0.03,
                consent=consent,
                dnc_scrubbed_at=scrubbed,
                attempts=rng.randrange(0, 4),
                recent_calls=calls,
            )
        )
    return leads


def main() -> None:
    """Run both measurements and print one line per figure."""
    rng = random.Random(SEED)
    base = datetime(2026, 3, 1, tzinfo=UTC)
    leads = population(rng, base)
    # Calls in the population are relative to `base`: most instants stay near it so caps matter;
    # the rest spread over 2026-2027 (DST, holidays, weekends; holiday sets get built and cached).
    instants = [base + timedelta(minutes=rng.randrange(-12 * 60, 36 * 60)) for _ in range(INSTANTS * 7 // 10)]
    instants += [
        base + timedelta(minutes=rng.randrange(-59 * 24 * 60, 600 * 24 * 60))
        for _ in range(INSTANTS * 3 // 10)
    ]
    campaigns = [
        CampaignPolicy(),
        CampaignPolicy(
            window_days=frozenset(range(5)),
            window_start=wall_time(10),
            window_end=wall_time(18),
            daily_cap=2,
            max_attempts=3,
        ),
        CampaignPolicy(fallback_zone="America/Chicago", requires_scrub=False, daily_cap=3),
    ]
    rule_book()
    for lead in leads[:200]:  # warm the caches (rules, zones, holiday sets) outside the timing
        for campaign in campaigns:
            evaluate(lead, campaign, instants[0])

    work = [
        (leads[rng.randrange(POPULATION)], campaigns[rng.randrange(3)], instants[rng.randrange(INSTANTS)])
        for _ in range(EVALUATIONS)
    ]
    started = time.perf_counter()
    eligible = 0
    for lead, campaign, at in work:
        if evaluate(lead, campaign, at).eligible:
            eligible += 1
    elapsed = time.perf_counter() - started
    print(f"policy.population {POPULATION} leads")
    print(f"policy.evaluate_calls {EVALUATIONS} calls")
    print(f"policy.evaluate_eligible_share {eligible / EVALUATIONS:.3f} ratio")
    print(f"policy.evaluate_per_s {EVALUATIONS / elapsed:,.0f} per_s".replace(",", ""))
    print(f"policy.evaluate_mean {elapsed / EVALUATIONS * 1e6:.2f} us")
    print(f"policy.evaluate_vs_target_50k {EVALUATIONS / elapsed / 50_000:.2f} ratio")

    next_work = work[:NEXT_CALLS]
    started = time.perf_counter()
    found = 0
    for lead, campaign, at in next_work:
        if next_legal_time(lead, campaign, at) is not None:
            found += 1
    elapsed = time.perf_counter() - started
    print(f"policy.next_legal_time_calls {NEXT_CALLS} calls")
    print(f"policy.next_legal_time_found_share {found / NEXT_CALLS:.3f} ratio")
    print(f"policy.next_legal_time_per_s {NEXT_CALLS / elapsed:,.0f} per_s".replace(",", ""))
    print(f"policy.next_legal_time_mean {elapsed / NEXT_CALLS * 1e6:.2f} us")

    # Only the leads a scheduler actually asks about: blocked now by time-bound rules alone.
    deferred = [
        item
        for item in work[NEXT_CALLS:]
        if (decision := evaluate(*item)).reasons and all(reason.deferrable for reason in decision.reasons)
    ][:NEXT_CALLS]
    started = time.perf_counter()
    for lead, campaign, at in deferred:
        next_legal_time(lead, campaign, at)
    elapsed = time.perf_counter() - started
    print(f"policy.next_legal_time_deferred_calls {len(deferred)} calls")
    print(f"policy.next_legal_time_deferred_per_s {len(deferred) / elapsed:.0f} per_s")

    zone_throughput(leads, work)
    sample = mixed_sample(random.Random(SEED))
    print(f"policy.mixed_sample {len(sample)} leads")
    print(f"policy.mixed_sample_unknown_timezone_share {unknown_share(sample, base):.4f} ratio")


def zone_throughput(leads: list[LeadFacts], work: list[tuple[LeadFacts, CampaignPolicy, datetime]]) -> None:
    """evaluate() per second with every lead in exactly one zone, then in exactly two."""
    us_zones = sorted(set(ZONES.values()))
    one = {id(lead): replace(lead, zone=lead.zone or ZONES[lead.address_state or "NY"]) for lead in leads}
    two = {
        key: replace(lead, zones=(us_zones[(us_zones.index(lead.zone or "") + 3) % len(us_zones)],))
        for key, lead in one.items()
    }
    for name, variant in (("one_zone", one), ("two_zones", two)):
        items = [(variant[id(lead)], campaign, at) for lead, campaign, at in work[:ZONE_EVALUATIONS]]
        for item in items[:2000]:  # warm the per-zone-set caches
            evaluate(*item)
        started = time.perf_counter()
        for lead, campaign, at in items:
            evaluate(lead, campaign, at)
        elapsed = time.perf_counter() - started
        print(f"policy.evaluate_per_s_{name} {len(items) / elapsed:.0f} per_s")
        if name == "two_zones":
            print(f"policy.evaluate_two_zones_vs_target_50k {len(items) / elapsed / 50_000:.2f} ratio")


def mixed_sample(rng: random.Random) -> list[tuple[str, str | None, str | None]]:
    """``SAMPLE`` leads as intake sees them: (E.164 number, address state, explicit zone)."""
    table = area_code_table()
    codes = sorted(table)
    states = sorted(set(table.values()))
    zones = sorted(set(ZONES.values()))
    sample: list[tuple[str, str | None, str | None]] = []
    while len(sample) < SAMPLE:
        roll = rng.random()
        if roll < 0.05:
            raw = f"+1{rng.choice(('800', '833', '844', '855', '866', '877', '888'))}{rng.randrange(2000000, 9999999)}"
        elif roll < 0.08:
            raw = f"+1{rng.choice(('416', '604', '514', '403'))}{rng.randrange(2000000, 9999999)}"
        else:
            raw = f"+1{rng.choice(codes)}{rng.randrange(2000000, 9999999)}"
        try:
            phone = normalize_phone(raw)
        except InvalidPhoneNumber:  # an unassigned exchange: intake refuses it, draw again
            continue
        state: str | None = None
        if rng.random() < 0.75:
            home = table.get(phone[2:5])
            state = home if home is not None and rng.random() < 0.85 else rng.choice(states)
        zone = rng.choice(zones) if rng.random() < 0.05 else None
        sample.append((phone, state, zone))
    return sample


def unknown_share(sample: list[tuple[str, str | None, str | None]], at: datetime) -> float:
    """Share of the sample the engine answers ``unknown_timezone``."""
    campaign = CampaignPolicy(requires_consent=False, requires_scrub=False)
    unknown = 0
    for phone, state, zone in sample:
        loc = resolve_location(phone, explicit_zone=zone, address_state=state)
        facts = LeadFacts(
            phone=phone,
            zone=loc.zone,
            zones=loc.zones,
            address_state=loc.address_state,
            area_code_state=loc.area_code_state,
        )
        if "unknown_timezone" in evaluate(facts, campaign, at).reasons:
            unknown += 1
    return unknown / len(sample)


if __name__ == "__main__":
    main()

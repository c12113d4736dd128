"""Campaign analytics from counters: what one call contributes, and the figures counters give.

Stats must never scan calls. Each call record therefore carries what it has added to its
campaign's counters (``totals``); whenever the record changes, the difference between what it
*should* contribute (a pure function of the record, :func:`contribution`) and what it *has*
contributed is added to the counters in the same transaction that updates ``totals``. However
often and in whatever order a call's events arrive, the counters end at the sum of
:func:`contribution` over the calls: exactly once, order-independent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from dialer.domain.outcomes import CallOutcome, Disposition

#: Dispositions that count as a conversion when comparing A/B variants.
CONVERSIONS = frozenset({Disposition.INTERESTED.value, Disposition.APPOINTMENT_SET.value})

#: Below this many ended calls per variant, or 5 expected successes/failures, no verdict.
MIN_SAMPLE = 30

# Counter names (DynamoDB attributes of a totals shard).
CALLS = "calls"  # ended calls
CONNECTED = "connected"  # answered (a person or a machine picked up)
TALK_S = "talk_s"  # conversation seconds (the assistant's duration, else answer → hangup)
COST = "cost"  # money, exact (DynamoDB numbers are decimal)
BILLED_S = "billed_s"
CONVERTED = "converted"
HUMAN = "out:answered_human"

#: Counters also kept per UTC hour (``t:<YYYY-MM-DDTHH>:<counter>``, the hour the call ended):
#: the stats' hourly timeline. Not per variant: a campaign's hours times its variants would grow
#: a totals shard for little use.
TIMELINE_COUNTERS = (CALLS, CONNECTED, HUMAN, CONVERTED, COST)


def contribution(call: Mapping[str, Any]) -> dict[str, Decimal]:
    """What one stored call record adds to its campaign's counters (zero entries left out).

    Counted once the call has ended (cost counts as soon as it is known: a cost report may come
    before the hangup). Per A/B variant the same figures under ``v:<assistant_id>:``.
    """
    out: dict[str, Decimal] = {}
    cost = call.get("cost")
    if cost is not None:
        out[COST] = Decimal(str(cost))
        if call.get("billed_s"):
            out[BILLED_S] = Decimal(int(call["billed_s"]))
    if call.get("state") == "ended" and call.get("outcome"):
        out[CALLS] = Decimal(1)
        out[f"out:{call['outcome']}"] = Decimal(1)
        if cost is not None:  # spend by outcome, once both are known (either may come first)
            out[f"cost:{call['outcome']}"] = Decimal(str(cost))
        if call.get("answered_at"):
            out[CONNECTED] = Decimal(1)
        talk = talk_seconds(call)
        if talk:
            out[TALK_S] = Decimal(talk)
    disposition = call.get("disposition")
    if disposition:
        out[f"disp:{disposition}"] = Decimal(1)
        if disposition in CONVERSIONS and CALLS in out:
            out[CONVERTED] = Decimal(1)  # of ended calls: the conversion rate's denominator
    variant = call.get("assistant_id")
    hour = _hour(call.get("ended_at")) if CALLS in out else None
    if variant:
        for name in list(out):
            out[f"v:{variant}:{name}"] = out[name]
    if hour:
        for name in TIMELINE_COUNTERS:
            if name in out:
                out[f"t:{hour}:{name}"] = out[name]
    return {k: v for k, v in out.items() if v}


def _hour(instant: Any) -> str | None:
    """``YYYY-MM-DDTHH`` of an ISO instant in UTC (our records keep instants in UTC, ``Z``)."""
    text = str(instant or "")
    if len(text) < 13 or text[10] != "T" or not (text[:4] + text[5:7] + text[8:10] + text[11:13]).isdigit():
        return None
    return text[:13]


def talk_seconds(call: Mapping[str, Any]) -> int:
    """Seconds of conversation: the assistant's own duration, else answer to hangup of a human call."""
    conversation = call.get("conversation") or {}
    if conversation.get("duration_sec") not in (None, ""):
        try:
            return max(0, int(float(str(conversation["duration_sec"]))))
        except ValueError:
            pass
    if call.get("outcome") == CallOutcome.ANSWERED_HUMAN.value and call.get("duration_s") is not None:
        return max(0, int(call["duration_s"]))
    return 0


def delta(target: Mapping[str, Decimal], counted: Mapping[str, Any]) -> dict[str, Decimal]:
    """What to ADD to the counters to move them from ``counted`` to ``target``."""
    names = set(target) | set(counted)
    change = {n: target.get(n, Decimal(0)) - Decimal(str(counted.get(n, 0))) for n in names}
    return {n: v for n, v in change.items() if v}


# --- figures ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Figures:
    """The headline figures of one set of counters (a campaign or a variant)."""

    calls: int
    connected: int
    answered_human: int
    voicemail: int
    connect_rate: float | None
    human_rate: float | None
    voicemail_rate: float | None
    average_talk_s: float | None
    cost_total: Decimal
    cost_per_call: Decimal | None
    cost_per_connected_minute: Decimal | None
    converted: int
    conversion_rate: float | None
    by_outcome: dict[str, int]
    by_disposition: dict[str, int]
    cost_by_outcome: dict[str, Decimal]


def figures(counters: Mapping[str, Decimal], prefix: str = "") -> Figures:
    """Headline figures from summed counters (``prefix``: a variant's ``v:<id>:``)."""

    def get(name: str) -> Decimal:
        return Decimal(counters.get(prefix + name, 0))

    calls = int(get(CALLS))
    connected = int(get(CONNECTED))
    human = int(get(f"out:{CallOutcome.ANSWERED_HUMAN.value}"))
    # Machine answers, a message left on them or not (by_outcome splits the two).
    voicemail = int(get(f"out:{CallOutcome.VOICEMAIL.value}")) + int(
        get(f"out:{CallOutcome.VOICEMAIL_LEFT.value}")
    )
    talk = get(TALK_S)
    cost = get(COST)
    converted = int(get(CONVERTED))
    by_outcome = _grouped(counters, prefix + "out:")
    by_disposition = _grouped(counters, prefix + "disp:")
    minutes = talk / 60
    return Figures(
        calls=calls,
        connected=connected,
        answered_human=human,
        voicemail=voicemail,
        connect_rate=_rate(connected, calls),
        human_rate=_rate(human, calls),
        voicemail_rate=_rate(voicemail, calls),
        average_talk_s=round(float(talk) / human, 1) if human else None,
        cost_total=cost,
        cost_per_call=(cost / calls).quantize(Decimal("0.000001")) if calls else None,
        cost_per_connected_minute=(cost / minutes).quantize(Decimal("0.000001")) if minutes else None,
        converted=converted,
        conversion_rate=_rate(converted, calls),
        by_outcome=by_outcome,
        by_disposition=by_disposition,
        cost_by_outcome={
            name[len(prefix) + 5 :]: Decimal(value)
            for name, value in sorted(counters.items())
            if name.startswith(prefix + "cost:") and ":" not in name[len(prefix) + 5 :] and value
        },
    )


@dataclass(frozen=True, slots=True)
class Hour:
    """One hour of a campaign's calls (by the UTC hour they ended)."""

    hour: str  # ISO instant of the hour's start, UTC
    calls: int
    connected: int
    answered_human: int
    converted: int
    cost: Decimal


def timeline(counters: Mapping[str, Decimal]) -> list[Hour]:
    """The hourly timeline from summed counters, oldest hour first (hours with calls only)."""
    hours: dict[str, dict[str, Decimal]] = {}
    for name, value in counters.items():
        if name.startswith("t:"):
            hour, _, counter = name[2:].partition(":")
            hours.setdefault(hour, {})[counter] = Decimal(value)
    return [
        Hour(
            hour=f"{hour}:00:00Z",
            calls=int(c.get(CALLS, 0)),
            connected=int(c.get(CONNECTED, 0)),
            answered_human=int(c.get(HUMAN, 0)),
            converted=int(c.get(CONVERTED, 0)),
            cost=c.get(COST, Decimal(0)),
        )
        for hour, c in sorted(hours.items())
        if c.get(CALLS, 0) > 0
    ]


def _grouped(counters: Mapping[str, Decimal], prefix: str) -> dict[str, int]:
    return {
        name[len(prefix) :]: int(value)
        for name, value in sorted(counters.items())
        if name.startswith(prefix) and ":" not in name[len(prefix) :] and int(value) > 0
    }


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True, slots=True)
class Comparison:
    """A variant's conversion against the baseline's: two-proportion z-test (pooled)."""

    difference: float | None
    z: float | None
    p_value: float | None
    significant: bool
    sample_too_small: bool


def two_proportion_test(
    success_a: int, n_a: int, success_b: int, n_b: int, *, alpha: float = 0.05
) -> Comparison:
    """Is B's conversion rate different from A's? ``sample_too_small`` when the normal
    approximation is not trustworthy (fewer than :data:`MIN_SAMPLE` calls in a group, or fewer
    than 5 expected successes or failures)."""
    if not n_a or not n_b:
        return Comparison(None, None, None, False, True)
    # A rate is at most 1 (counters of one campaign are summed shard by shard: never trust them
    # to be a proportion on their own).
    success_a, success_b = min(max(success_a, 0), n_a), min(max(success_b, 0), n_b)
    p_a, p_b = success_a / n_a, success_b / n_b
    pooled = (success_a + success_b) / (n_a + n_b)
    small = min(n_a, n_b) < MIN_SAMPLE or any(
        expected < 5 for n in (n_a, n_b) for expected in (n * pooled, n * (1 - pooled))
    )
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if spread == 0:
        return Comparison(round(p_b - p_a, 4), None, None, False, small)
    z = (p_b - p_a) / spread
    p_value = math.erfc(abs(z) / math.sqrt(2))  # two-sided
    return Comparison(
        round(p_b - p_a, 4), round(z, 3), round(p_value, 4), (not small) and p_value < alpha, small
    )


# --- budget ----------------------------------------------------------------------------------

#: What a call in flight is expected to cost before the campaign has any cost of its own.
DEFAULT_EXPECTED_CALL_COST = Decimal("0.05")


def budget_reached(
    cap: Decimal,
    totals: Mapping[str, Decimal],
    in_flight: int,
    *,
    default_call_cost: Decimal = DEFAULT_EXPECTED_CALL_COST,
) -> bool:
    """True when spend plus the expected cost of the calls in flight reaches ``cap``.

    A call in flight is expected to cost what the campaign's calls have cost on average so far
    (every call with a cost report), or ``default_call_cost`` before the first report.
    """
    spent = Decimal(totals.get(COST, 0))
    reported = Decimal(totals.get(CALLS, 0))
    expected = spent / reported if reported and spent else default_call_cost
    return spent + max(0, in_flight) * expected >= cap

"""Figures of a report, derived from :class:`ReportData` only (pure functions, unit-tested).

The time series come from the attempts' own timestamps: a dial is an attempt Telnyx accepted
(``accepted_at``), a call is in progress from ``accepted_at`` to ``ended_at``.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dialer_cli.report.model import ReportData

MAX_POINTS = 240  # buckets in a time series: enough to see a shape, small enough for an inline SVG
MIN_GROUP = 30  # below this many leads in a variant, a significance test means nothing
MIN_EXPECTED = 5  # the normal approximation needs >= 5 expected successes and failures per group


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Series:
    """A time series in buckets of ``step`` seconds from ``start``; ``limit`` is the line to compare with."""

    start: datetime | None
    step: float
    values: list[float]
    limit: float | None
    label: str
    unit: str

    @property
    def peak(self) -> float:
        return max(self.values, default=0.0)


def _spans(data: ReportData) -> list[tuple[datetime, datetime | None]]:
    spans = []
    for lead in data.leads:
        for attempt in lead.get("history") or []:
            dialled = parse_time(attempt.get("accepted_at"))
            if dialled is not None:
                spans.append((dialled, parse_time(attempt.get("ended_at"))))
    return sorted(spans, key=lambda span: span[0])


def _grid(spans: list[tuple[datetime, datetime | None]]) -> tuple[datetime | None, float, int]:
    if not spans:
        return None, 1.0, 0
    start = spans[0][0]
    end = max(max(s for s, _ in spans), max((e for _, e in spans if e is not None), default=start))
    total = max((end - start).total_seconds(), 1.0)
    step = max(1.0, math.ceil(total / MAX_POINTS))
    return start, step, int(total // step) + 1


def dial_rate(data: ReportData) -> Series:
    """Dials per second (averaged over each bucket) against the campaign's dial limit."""
    spans = _spans(data)
    start, step, count = _grid(spans)
    values = [0.0] * count
    for dialled, _ in spans:
        assert start is not None
        values[int((dialled - start).total_seconds() // step)] += 1 / step
    per_minute = data.progress.get("dial_limit_per_minute")
    limit = per_minute / 60 if per_minute else None
    return Series(start, step, values, limit, "dials per second", "dials/s")


def concurrency(data: ReportData) -> Series:
    """Calls in progress (the most at any instant of each bucket) against the channel limit."""
    spans = _spans(data)
    start, step, count = _grid(spans)
    values = [0.0] * count
    if start is not None:
        events = []
        for dialled, ended in spans:
            events.append(((dialled - start).total_seconds(), 1))
            events.append((((ended or dialled) - start).total_seconds(), -1))
        events.sort(key=lambda e: (e[0], e[1]))  # at a tie, an end frees its channel before a start
        live, i = 0, 0
        for bucket in range(count):
            peak = live  # calls still going when the bucket starts count in it
            while i < len(events) and events[i][0] < (bucket + 1) * step:
                live += events[i][1]
                peak = max(peak, live)
                i += 1
            values[bucket] = float(peak)
    return Series(start, step, values, data.progress.get("slot_limit"), "calls in progress", "calls")


def outcomes(data: ReportData) -> dict[str, int]:
    """Calls by outcome: the progress counters, else counted from the attempts."""
    counted = {k: int(v) for k, v in (data.progress.get("outcomes") or {}).items() if v}
    if counted:
        return counted
    return dict(
        Counter(
            attempt["outcome"]
            for lead in data.leads
            for attempt in lead.get("history") or []
            if attempt.get("outcome")
        )
    )


def compliance_reasons(data: ReportData) -> dict[str, int]:
    """Leads held back by compliance: deferrals now (time lifts them) and blocks (it does not)."""
    reasons: Counter[str] = Counter()
    for reason, count in (data.progress.get("deferred_by_reason") or {}).items():
        if count:
            reasons[f"deferred: {reason}"] += int(count)
    for lead in data.leads:
        if lead.get("status") == "blocked":
            for reason in lead.get("last_reasons") or ["unspecified"]:
                reasons[f"blocked: {reason}"] += 1
    return dict(reasons)


def dispositions(data: ReportData) -> dict[str, int] | None:
    """Calls by disposition (from the stats API; None when the API has no stats)."""
    if not data.stats:
        return None
    found = (data.stats.get("calls") or {}).get("by_disposition")
    return {k: int(v) for k, v in found.items()} if isinstance(found, dict) else None


@dataclass(frozen=True)
class Costs:
    currency: str
    total: float
    per_call: float | None
    per_connected_minute: float | None
    by_outcome: dict[str, float]


def costs(data: ReportData) -> Costs | None:
    """Spend (from the stats API; None when the API has no stats or no cost figures)."""
    calls = (data.stats or {}).get("calls")
    if not isinstance(calls, dict) or calls.get("cost_total") is None:
        return None

    def num(value: Any) -> float | None:
        return None if value is None else float(value)

    # Money arrives as decimal strings (as Telnyx sends it); the report only draws and rounds it.
    return Costs(
        currency=str((data.campaign.get("budget") or {}).get("currency") or "USD"),
        total=float(calls["cost_total"]),
        per_call=num(calls.get("cost_per_call")),
        per_connected_minute=num(calls.get("cost_per_connected_minute")),
        by_outcome={k: float(v) for k, v in (calls.get("cost_by_outcome") or {}).items()},
    )


@dataclass(frozen=True)
class Variant:
    assistant_id: str
    name: str
    leads: int  # leads whose first call used this variant
    reached: int

    @property
    def rate(self) -> float:
        return self.reached / self.leads if self.leads else 0.0


@dataclass(frozen=True)
class Significance:
    """A two-proportion z-test of the first two variants' reach rates."""

    z: float | None
    p_value: float | None
    too_small: bool
    note: str


def variants(data: ReportData) -> list[Variant]:
    """Per assistant variant: the leads it called first, and how many of them were reached."""
    leads: Counter[str] = Counter()
    reached: Counter[str] = Counter()
    for lead in data.leads:
        first = next(
            (a.get("assistant_id") for a in lead.get("history") or [] if a.get("assistant_id")), None
        )
        if first is None:
            continue
        leads[first] += 1
        reached[first] += lead.get("status") == "reached"
    configured = [v["assistant_id"] for v in data.campaign.get("assistant_variants") or []]
    order = configured + sorted(set(leads) - set(configured))
    return [Variant(a, data.assistants.get(a, a), leads[a], reached[a]) for a in order]


def two_proportion_test(a: Variant, b: Variant) -> Significance:
    """Pooled two-proportion z-test (two-sided); says so when the sample is too small for it."""
    n1, n2, x1, x2 = a.leads, b.leads, a.reached, b.reached
    pooled = (x1 + x2) / (n1 + n2) if n1 + n2 else 0.0
    small = (
        min(n1, n2) < MIN_GROUP
        or min(n1 * pooled, n2 * pooled, n1 * (1 - pooled), n2 * (1 - pooled)) < MIN_EXPECTED
    )
    if n1 == 0 or n2 == 0 or pooled in (0.0, 1.0):
        return Significance(None, None, True, "sample too small: no difference can be measured yet")
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = (x1 / n1 - x2 / n2) / se
    p = math.erfc(abs(z) / math.sqrt(2))
    if small:
        note = f"sample too small for a reliable test (need ≥{MIN_GROUP} leads and ≥{MIN_EXPECTED} expected reached and not reached per variant)"
    elif p < 0.05:
        note = f"significant at 5% ({_p(p)})"
    else:
        note = f"not significant at 5% ({_p(p)})"
    return Significance(z, p, small, note)


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


@dataclass(frozen=True)
class Accounting:
    """Every lead of the campaign, by where it ended (or is)."""

    by_status: dict[str, int]
    listed: int  # leads the report read
    expected: int  # the campaign's lead count

    @property
    def complete(self) -> bool:
        return self.listed == self.expected and sum(self.by_status.values()) == self.expected


def accounting(data: ReportData) -> Accounting:
    by_status = Counter(str(lead.get("status")) for lead in data.leads)
    expected = int(data.progress.get("lead_count", data.campaign.get("lead_count", len(data.leads))))
    return Accounting(dict(by_status), len(data.leads), expected)


@dataclass(frozen=True)
class CallerIdRow:
    """One caller ID of the campaign: its dials in this campaign and its health (pool-wide)."""

    phone_number: str
    state: str
    campaign_dials: int
    window_calls: int | None
    answer_rate: float | None
    short_share: float | None
    rest: str


def caller_ids(data: ReportData) -> list[CallerIdRow]:
    """The campaign's caller IDs: dials from each (attempts Telnyx accepted) and the health the API
    reports (the rule's window over every campaign of the tenant, its state and rest)."""
    dials: Counter[str] = Counter(
        str(a["caller_id_id"])
        for lead in data.leads
        for a in lead.get("history") or []
        if a.get("caller_id_id") and a.get("accepted_at")
    )
    rows = []
    for c in data.caller_ids:
        health = c.get("health") or {}
        rest = ""
        if health.get("state") == "rested":
            rest = (
                f"until {health.get('rested_until')} ({health.get('rested_by')}: {health.get('rest_reason')})"
            )
        rows.append(
            CallerIdRow(
                c["phone_number"],
                str(health.get("state") or ("active" if c.get("enabled") else "disabled")),
                dials[c["id"]],
                health.get("calls"),
                health.get("answer_rate"),
                health.get("short_share"),
                rest,
            )
        )
    return sorted(rows, key=lambda r: (-r.campaign_dials, r.phone_number))

"""A clock offset for runs on this machine that must dial whatever the wall clock says (the demo,
the dialing end-to-end test): it moves "now" to a Tuesday-Thursday at 21:00 UTC that is nobody's
holiday, i.e. 16:00 in New York and 11:00 in Honolulu (17:00/11:00 in summer). That is inside
every US zone's calling window, hours from either edge, never on a DST switch (always a Sunday) and
never on a day with a Sunday rule. The product honours the offset only on ``Stage=local``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

TARGET_UTC_HOUR = 21
# Every state and DC: their holidays (the compliance engine's table) are avoided, with a day of margin.
STATES = [
    "AL",
    "AK",
    "AZ",
    "AR",
    "CA",
    "CO",
    "CT",
    "DE",
    "DC",
    "FL",
    "GA",
    "HI",
    "ID",
    "IL",
    "IN",
    "IA",
    "KS",
    "KY",
    "LA",
    "ME",
    "MD",
    "MA",
    "MI",
    "MN",
    "MS",
    "MO",
    "MT",
    "NE",
    "NV",
    "NH",
    "NJ",
    "NM",
    "NY",
    "NC",
    "ND",
    "OH",
    "OK",
    "OR",
    "PA",
    "RI",
    "SC",
    "SD",
    "TN",
    "TX",
    "UT",
    "VT",
    "VA",
    "WA",
    "WV",
    "WI",
    "WY",
]


def target_instant(after: datetime) -> datetime:
    """The first Tuesday-Thursday at 21:00 UTC after ``after`` that is nobody's holiday."""
    from dialer.policies.compliance import holiday_dates

    day = (after + timedelta(days=1)).date()
    while True:
        if day.weekday() in (1, 2, 3) and not _near_holiday(day, holiday_dates):
            return datetime(day.year, day.month, day.day, TARGET_UTC_HOUR, tzinfo=UTC)
        day += timedelta(days=1)


def _near_holiday(day: date, holiday_dates: Any) -> bool:
    around = {day - timedelta(days=1), day, day + timedelta(days=1)}
    return any(around & holiday_dates(state, day.year) for state in STATES)


def clock_offset(now: datetime | None = None) -> float:
    """Seconds to add to the wall clock so "now" is :func:`target_instant` (always > 0, so leads
    created at the real time are already due on the shifted clock)."""
    real = now or datetime.now(UTC)
    return (target_instant(real) - real).total_seconds()

"""The one set of parsers for instants, dates and time zones read from requests.

Everything a user or Telnyx sends as a time goes through here, so a hostile value is refused the
same way everywhere and raises only the project's validation error (:class:`InvalidInput`), never
the standard library's: ``ZoneInfo("x" * 300)`` raises ``OSError`` (file name too long),
``ZoneInfo("../etc")`` ``ValueError``, converting ``0001-01-01T00:00:00+14:00`` to UTC
``OverflowError``, and near datetime's own ends (years 1 and 9999) the engine's look-back and
look-ahead arithmetic overflows too. Stdlib only (the Telnyx-facing routes import it).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dialer.errors import InvalidInput

#: Instants the engine accepts. It looks back two days and ahead two weeks (and keeps records a
#: year or so); near datetime's own ends (years 1 and 9999) that arithmetic would overflow.
EARLIEST_AT = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_AT = datetime(2200, 1, 1, tzinfo=UTC)
#: Longest IANA zone key (the longest real one, America/Argentina/ComodRivadavia, is 32).
MAX_ZONE_KEY = 64
#: Longest ISO 8601 text accepted (2026-12-01T15:00:00.000000+05:30 is 32 characters).
MAX_INSTANT_TEXT = 64


@lru_cache(maxsize=1024)
def zone_info(key: str) -> ZoneInfo | None:
    """The (cached) ``ZoneInfo`` for an IANA key, or None for anything that is not one: unknown,
    too long, a path (``../``), a directory such as ``America``."""
    if not key or len(key) > MAX_ZONE_KEY:
        return None
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def in_range(at: datetime, loc: list[str | int]) -> datetime:
    """``at`` (aware) in UTC; InvalidInput naming ``loc`` when it is outside
    [:data:`EARLIEST_AT`, :data:`LATEST_AT`)."""
    # The year is checked first: converting 0001-01-01T00:00:00+14:00 to UTC itself overflows.
    if not EARLIEST_AT.year <= at.year < LATEST_AT.year or not EARLIEST_AT <= at.astimezone(UTC) < LATEST_AT:
        message = f"must be from {EARLIEST_AT:%Y-%m-%d} to before {LATEST_AT:%Y-%m-%d} (UTC)"
        raise InvalidInput(
            f"{loc[-1]} {message}", [{"loc": loc, "msg": message, "type": "value_out_of_range"}]
        )
    return at.astimezone(UTC)


def parse_datetime(value: Any, loc: list[str | int]) -> datetime:
    """ISO 8601 date-time text (``Z`` allowed) as a datetime, naive if it has no offset (the caller
    decides whose local time that is); an aware one is checked with :func:`in_range`. A date alone
    is its midnight. InvalidInput naming ``loc`` otherwise."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_INSTANT_TEXT:
        raise _invalid(loc, "not an ISO 8601 date-time")
    text = value.strip()
    try:
        parsed = (
            datetime.combine(date.fromisoformat(text), datetime.min.time())
            if len(text) == 10
            else datetime.fromisoformat(text.replace("Z", "+00:00"))
        )
    except ValueError:
        raise _invalid(loc, "not an ISO 8601 date-time") from None
    if parsed.tzinfo is not None:
        in_range(parsed, loc)
    return parsed


def localize(at: datetime, zone: ZoneInfo, loc: list[str | int]) -> datetime:
    """A naive ``at`` read as wall time in ``zone`` (an aware one is kept), checked in range."""
    if at.tzinfo is not None:
        return in_range(at, loc)
    if not EARLIEST_AT.year <= at.year < LATEST_AT.year:
        in_range(at.replace(tzinfo=UTC), loc)  # raises: the same message as any instant
    return in_range(at.replace(tzinfo=zone), loc)


def zone_named(value: Any, loc: list[str | int]) -> ZoneInfo:
    """The zone an IANA key names; InvalidInput naming ``loc`` otherwise."""
    zone = zone_info(value.strip()) if isinstance(value, str) else None
    if zone is None:
        raise _invalid(loc, "not an IANA time zone (such as America/New_York)")
    return zone


def _invalid(loc: list[str | int], message: str) -> InvalidInput:
    return InvalidInput(f"{loc[-1]} is {message}", [{"loc": loc, "msg": message, "type": "value_error"}])

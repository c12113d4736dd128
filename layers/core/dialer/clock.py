"""The one source of "now" for the dialing engine (dispatcher, dialer, reaper, lead effects).

``CLOCK_OFFSET_SECONDS`` shifts it, and the settings refuse that outside ``STAGE=local``: a
shifted clock in production would move the legal calling window.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def now() -> datetime:
    """The current instant (UTC), shifted by the local-only offset when one is set."""
    from dialer.settings import get_settings

    offset = get_settings().clock_offset_seconds
    current = datetime.now(UTC)
    return current + timedelta(seconds=offset) if offset else current

"""The dialing engine's only source of "now".

The legal calling window depends on the wall clock, so tests, the local run and the demo shift
it (``CLOCK_OFFSET_SECONDS``) to place "now" inside every US zone's window whatever time it
really is. A shifted clock in production would dial outside the law, so the offset is honoured
only on the ``local`` stage; anywhere else it is refused (here, and at settings validation).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

OFFSET_ENV = "CLOCK_OFFSET_SECONDS"
LOCAL_STAGE = "local"


class ClockOffsetRefused(ValueError):
    """A clock offset outside the local stage, or one that is not a number."""


def checked_offset(stage: str | None, offset: float | str | None) -> float:
    """``offset`` in seconds if ``stage`` may have one (0 when unset); raises otherwise."""
    if offset is None or (isinstance(offset, str) and not offset.strip()):
        return 0.0
    try:
        seconds = float(offset)
    except ValueError:
        raise ClockOffsetRefused(f"{OFFSET_ENV} must be a number of seconds, got {offset!r}") from None
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        raise ClockOffsetRefused(f"{OFFSET_ENV} must be finite, got {offset!r}")
    if seconds and stage != LOCAL_STAGE:
        raise ClockOffsetRefused(
            f"{OFFSET_ENV} is honoured only when STAGE is {LOCAL_STAGE!r} (STAGE is {stage!r}): "
            "a shifted clock would dial outside the legal window"
        )
    return seconds


def offset_seconds(environ: Mapping[str, str] | None = None) -> float:
    """The configured offset (read on every call: cheap, and tests may change the environment)."""
    env = os.environ if environ is None else environ
    return checked_offset(env.get("STAGE"), env.get(OFFSET_ENV))


def now() -> datetime:
    """Timezone-aware UTC "now", shifted by the local-only offset."""
    offset = offset_seconds()
    moment = datetime.now(UTC)
    return moment + timedelta(seconds=offset) if offset else moment

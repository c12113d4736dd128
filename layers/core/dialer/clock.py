"""The one source of "now" for every function: the dialing engine, the management API, the
webhooks and the in-call tools all read the same instant.

``CLOCK_OFFSET_SECONDS`` shifts it, and the settings refuse that outside ``STAGE=local``: a
shifted clock in production would move the legal calling window. Only what an outside party times
by the wall clock reads the wall clock: a webhook signature's age, a presigned link's expiry and
DynamoDB's TTL.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta


def now() -> datetime:
    """The current instant (UTC), shifted by the local-only offset when one is set."""
    if not os.environ.get("CLOCK_OFFSET_SECONDS"):
        return datetime.now(UTC)  # the deployed case: no settings needed to tell the time
    from dialer.settings import get_settings  # validates the offset (local stage only)

    offset = get_settings().clock_offset_seconds
    current = datetime.now(UTC)
    return current + timedelta(seconds=offset) if offset else current

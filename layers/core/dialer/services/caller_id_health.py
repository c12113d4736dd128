"""Caller-ID health at settlement (issue 23): count the settled call on its caller ID, judge the
number, rest it when the rule says so (metric ``CallerIdRested``, alarmed in template.yaml).

:class:`~dialer.services.lead_effects.LeadEffects` calls :meth:`CallerIdHealth.count_call` once
its settling transaction succeeded: one update counts the call and returns the number's
counters, which the rule judges (:meth:`CallerIdHealth.judge`). The count is therefore at most
once (issue 21): a crash between the settlement and the count loses the call's count, and a
redelivery finds the call settled and counts nothing. Health is a rolling statistic over the
number's last 50-100+ calls that rests bad numbers; one lost count can move a judgment by at
most one call, which is not worth a transaction item (two write units) on every settlement.
The rule is :mod:`dialer.domain.caller_id_health`'s.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from dialer.adapters.caller_id_health import CallerIdHealthTable
from dialer.domain.caller_id_health import (
    RESTED_BY_HEALTH,
    CallerIdHealthSettings,
    HealthWindow,
    call_counts,
    may_rest,
    rest_end,
    rest_reason,
)
from dialer.observability import CALLER_ID_RESTED, get_logger, record_metric

logger = get_logger()

#: How long a process keeps a tenant's rule (a change applies within this).
_SETTINGS_SECONDS = 5.0
_settings_cache: dict[str, tuple[float, CallerIdHealthSettings]] = {}
_settings_lock = threading.Lock()

#: How long a process keeps a tenant's pool (every caller ID's window, one Query of its health
#: partition), on the engine's clock. The pool is the yardstick a number is measured against: a
#: sum over its other numbers' last 50-100+ calls each, which 30 s of settlements barely move.
#: The number's own window is never cached (its roll returns it with every settlement), and a
#: rest is conditional on the number not being rested, so a stale pool can delay or hasten a
#: rest by a few calls but never rest a number twice.
POOL_STALENESS = timedelta(seconds=30)
_pools: dict[str, tuple[datetime, dict[str, HealthWindow]]] = {}
_pools_lock = threading.Lock()


def forget_pools() -> None:
    """Drop every cached pool (a process that must see the counters as stored now)."""
    with _pools_lock:
        _pools.clear()


class CallerIdHealth:
    """Counts settled calls per caller ID and rests numbers whose calls stopped being answered."""

    def __init__(self, table: CallerIdHealthTable, clock: Callable[[], datetime]) -> None:
        self.table = table
        self.clock = clock

    def settings(self, tenant_id: str) -> CallerIdHealthSettings:
        """The tenant's rule, cached for a few seconds (settlement is hot; the rule rarely changes)."""
        hit = _settings_cache.get(tenant_id)
        if hit is not None and time.monotonic() - hit[0] < _SETTINGS_SECONDS:
            return hit[1]
        settings = self.table.settings(tenant_id)
        with _settings_lock:
            _settings_cache[tenant_id] = (time.monotonic(), settings)
        return settings

    def _windows(self, tenant_id: str) -> dict[str, HealthWindow]:
        """Every caller ID's window of the tenant, cached :data:`POOL_STALENESS`."""
        now = self.clock()
        hit = _pools.get(tenant_id)
        if hit is not None and hit[0] <= now < hit[0] + POOL_STALENESS:
            return hit[1]
        windows = self.table.windows(tenant_id)
        with _pools_lock:
            _pools[tenant_id] = (now, windows)
        return windows

    def count_call(
        self, tenant_id: str, caller_id_id: str | None, outcome: str, call: Mapping[str, Any] | None
    ) -> str | None:
        """After a successful settlement: count the call on its caller ID (when its outcome
        counts) and judge the number from the counters that update returned. Returns the rest's
        reason when this call rested it."""
        if not caller_id_id:
            return None
        settings = self.settings(tenant_id)
        duration = (call or {}).get("duration_s")
        counts = call_counts(
            outcome, int(duration) if duration is not None else None, settings.short_call_seconds
        )
        if counts is None:
            return None
        own = self.table.count(tenant_id, caller_id_id, counts, settings.window_calls)
        return self.judge(tenant_id, caller_id_id, own)

    def judge(self, tenant_id: str, caller_id_id: str, own: HealthWindow) -> str | None:
        """Rest the number if the rule says so, given its window ``own`` as its count left it.
        Returns the rest's reason when this call rested it."""
        settings = self.settings(tenant_id)
        if not may_rest(settings, own):
            return None  # decided without reading the pool
        windows = self._windows(tenant_id)
        pool = HealthWindow()
        for other, window in windows.items():
            if other != caller_id_id:
                pool = pool + window
        reason = rest_reason(settings, own, pool)
        if reason is None:
            return None
        now = self.clock()
        if not self.table.rest(
            tenant_id,
            caller_id_id,
            until=rest_end(now, settings.rest_hours),
            reason=reason,
            by=RESTED_BY_HEALTH,
            now=now,
            only_if_not_rested=True,
        ):
            return None  # rested already (another settlement), or the number was removed
        with _pools_lock:
            _pools.pop(tenant_id, None)  # its counters were reset: the next judgment reads them
        record_metric(
            CALLER_ID_RESTED,
            1,
            tenant_id=tenant_id,
            caller_id_id=caller_id_id,
            rested_by=RESTED_BY_HEALTH.value,
        )
        logger.warning(
            "caller ID rested", caller_id_id=caller_id_id, reason=reason, hours=settings.rest_hours
        )
        return reason

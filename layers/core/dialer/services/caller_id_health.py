"""Caller-ID health at settlement (issue 23): count the settled call on its caller ID, judge the
number, rest it when the rule says so (metric ``CallerIdRested``, alarmed in template.yaml).

:class:`~dialer.services.lead_effects.LeadEffects` asks :meth:`CallerIdHealth.count_op` for the
item that counts the call, and writes it in the settlement's own transaction: a call counts
exactly once, whatever the redeliveries and races, at no request of its own (issue 21). A
transaction returns nothing, so once it committed :meth:`CallerIdHealth.counted` judges the
number on this process's view of the tenant's counters: the pool as last read (at most
:data:`POOL_STALENESS` old on the engine's clock) plus the calls this process counted since.
The view decides alone only when it sees nothing to do; a roll it asks for is conditional on the
stored bucket being full, and a rest it sees is confirmed on the number's counters as stored
(one read) before :meth:`CallerIdHealth.judge` rests it. Other processes' calls since the pool
was read are missing from the view, so a rest or a roll can come up to that staleness late,
never twice and never on counts that do not hold. The rule is
:mod:`dialer.domain.caller_id_health`'s.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from dialer.adapters.caller_id_health import CallerIdHealthTable, NumberCounters
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

#: How long a process keeps a tenant's pool (every caller ID's counters, one Query of its health
#: partition), on the engine's clock. The pool is the yardstick a number is measured against: a
#: sum over its other numbers' last 50-100+ calls each, which 30 s of settlements barely move.
#: The calls this process counts are added to its view as they commit; a rest is confirmed on
#: the number's counters as stored and is conditional on the number not being rested, so a stale
#: pool can delay or hasten a rest by a few calls but never rest a number twice.
POOL_STALENESS = timedelta(seconds=30)
_pools: dict[str, tuple[datetime, dict[str, NumberCounters]]] = {}
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

    def _pool(self, tenant_id: str) -> tuple[dict[str, NumberCounters], bool]:
        """Every caller ID's counters of the tenant as this process sees them (read at most
        :data:`POOL_STALENESS` ago, plus what this process counted since), and whether they were
        read just now."""
        now = self.clock()
        hit = _pools.get(tenant_id)
        if hit is not None and hit[0] <= now < hit[0] + POOL_STALENESS:
            return hit[1], False
        counters = self.table.counters(tenant_id)
        with _pools_lock:
            _pools[tenant_id] = (now, counters)
        return counters, True

    def _seen(self, tenant_id: str, caller_id_id: str, counters: NumberCounters) -> None:
        """Put a number's counters into this process's view (read, rolled, or counted on). The
        view is replaced, not changed in place: another thread may be summing the pool over it."""
        with _pools_lock:
            hit = _pools.get(tenant_id)
            if hit is not None:
                _pools[tenant_id] = (hit[0], {**hit[1], caller_id_id: counters})

    def count_op(
        self, tenant_id: str, caller_id_id: str | None, outcome: str, call: Mapping[str, Any] | None
    ) -> tuple[dict[str, Any], HealthWindow] | None:
        """The settlement transaction's item that counts the call on its caller ID, and what it
        adds (None: no caller ID, or an outcome that does not count)."""
        if not caller_id_id:
            return None
        settings = self.settings(tenant_id)
        duration = (call or {}).get("duration_s")
        counts = call_counts(
            outcome, int(duration) if duration is not None else None, settings.short_call_seconds
        )
        if counts is None:
            return None
        return self.table.count_op(tenant_id, caller_id_id, counts), counts

    def counted(self, tenant_id: str, caller_id_id: str, counts: HealthWindow) -> str | None:
        """After the settlement that counted ``counts`` committed: roll the number's bucket when
        it is full, rest the number when the rule says so (see the module doc). Returns the
        rest's reason when this call rested it."""
        settings = self.settings(tenant_id)
        pool, fresh = self._pool(tenant_id)
        view = pool.get(caller_id_id, NumberCounters())
        if not fresh:  # a pool read after the settlement committed holds its count already
            view = view.plus(counts)
            self._seen(tenant_id, caller_id_id, view)
        if view.cur_calls >= settings.window_calls:
            # Conditional on the stored bucket being full: it returns the counters as stored.
            stored = self.table.roll(tenant_id, caller_id_id, settings.window_calls)
        elif may_rest(settings, view.window) and self._rest_reason(tenant_id, caller_id_id, view.window):
            stored = self.table.number(tenant_id, caller_id_id)  # the view sees a rest: confirm it
        else:
            return None
        self._seen(tenant_id, caller_id_id, stored)
        return self.judge(tenant_id, caller_id_id, stored.window)

    def _rest_reason(self, tenant_id: str, caller_id_id: str, own: HealthWindow) -> str | None:
        """Why the rule would rest the number with window ``own``, against the pool as seen."""
        pool = HealthWindow()
        for other, counters in self._pool(tenant_id)[0].items():
            if other != caller_id_id:
                pool = pool + counters.window
        return rest_reason(self.settings(tenant_id), own, pool)

    def judge(self, tenant_id: str, caller_id_id: str, own: HealthWindow) -> str | None:
        """Rest the number if the rule says so, given its window ``own`` as stored.
        Returns the rest's reason when this call rested it."""
        settings = self.settings(tenant_id)
        if not may_rest(settings, own):
            return None  # decided without reading the pool
        reason = self._rest_reason(tenant_id, caller_id_id, own)
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

"""Telnyx Number Reputation sweep (issue 23): in the reaper's pass over each tenant, read the
enterprise's monitored numbers at most every ``check_every_minutes`` and rest each caller ID whose
``spam_risk`` is at or above the tenant's level, through caller-ID health's rest (metric
``CallerIdRested``, alarmed; ``rested_by`` = ``reputation``).

It never lifts a rest: a number whose risk falls keeps its rest until the rest ends, and a number
already rested (by an operator, the answer-rate rule, or an earlier sweep) is left as it is. A
failed read (any Telnyx error: 4xx, 429, 5xx, timeout; or no API key) rests nothing, is logged and
counted (``ReputationCheckFailed``), and is tried again at the next pass. The rule is
:mod:`dialer.domain.number_reputation`'s.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from dialer.adapters.caller_id_health import CallerIdHealthTable
from dialer.domain.caller_id_health import CallerIdRest, RestedBy, reputation_rests, rest_end
from dialer.domain.dialing import parse_utc
from dialer.errors import TenantNotConfigured
from dialer.observability import CALLER_ID_RESTED, REPUTATION_CHECK_FAILED, get_logger, record_metric

if TYPE_CHECKING:
    from dialer.services.dialer import TelnyxClients

logger = get_logger()


class ReputationSweep:
    """Rests a tenant's caller IDs that Telnyx Number Reputation rates spam-risky."""

    def __init__(
        self, table: CallerIdHealthTable, telnyx: TelnyxClients, clock: Callable[[], datetime]
    ) -> None:
        self.table = table
        self.telnyx = telnyx
        self.clock = clock

    def sweep(self, tenant_id: str) -> Counter[str]:
        """One tenant: nothing unless reputation is enabled and its read is due. Never raises on
        a Telnyx failure."""
        done: Counter[str] = Counter()
        health = self.table.settings(tenant_id)
        settings = health.reputation
        if not settings.enabled or settings.enterprise_id is None:
            return done
        now = self.clock()
        if not self.table.claim_reputation_check(
            tenant_id, now, timedelta(minutes=settings.check_every_minutes)
        ):
            return done
        snapshots = self._read(tenant_id, settings.enterprise_id, now)
        if snapshots is None:
            done["reputation_failed"] += 1
            return done
        done["reputation_checked"] += 1
        caller_ids = [
            CallerIdRest(
                r.caller_id_id, r.phone_number, parse_utc(r.rested_until) if r.rested_until else None
            )
            for r in self.table.caller_ids(tenant_id)
        ]
        for caller_id_id, reason in reputation_rests(settings.rest_at_spam_risk, snapshots, caller_ids, now):
            if not self.table.rest(  # conditional: a rest written since the read above stands
                tenant_id,
                caller_id_id,
                until=rest_end(now, health.rest_hours),
                reason=reason,
                by=RestedBy.REPUTATION,
                now=now,
                only_if_not_rested=True,
            ):
                continue
            done["reputation_rested"] += 1
            record_metric(
                CALLER_ID_RESTED,
                1,
                tenant_id=tenant_id,
                caller_id_id=caller_id_id,
                rested_by=RestedBy.REPUTATION.value,
            )
            logger.warning(
                "caller ID rested", caller_id_id=caller_id_id, reason=reason, hours=health.rest_hours
            )
        return done

    def _read(
        self, tenant_id: str, enterprise_id: str, claimed_at: datetime
    ) -> dict[str, tuple[str | None, str | None]] | None:
        """Every monitored number's ``(spam_risk, spam_category)`` by E.164 number, read whole
        before anything is rested (a failure on page 3 rests nothing); None when the read failed
        (and was given back)."""
        from pydantic import ValidationError

        from telnyx_client.errors import TelnyxError

        try:
            client = self.telnyx.client_for(tenant_id)
            return {
                n.phone_number: (n.reputation_data.spam_risk, n.reputation_data.spam_category)
                for n in client.reputation.iter_numbers(enterprise_id)
                if n.phone_number and n.reputation_data is not None
            }
        except (
            TelnyxError,
            TenantNotConfigured,
            ValidationError,
        ) as exc:  # ValidationError: a malformed page
            status = getattr(exc, "status", None)
            record_metric(REPUTATION_CHECK_FAILED, 1, tenant_id=tenant_id, status=status)
            logger.warning(
                "Telnyx Number Reputation read failed; nothing rested, retried at the next pass",
                error=type(exc).__name__,
                status=status,
            )
            self.table.release_reputation_check(tenant_id, claimed_at)
            return None

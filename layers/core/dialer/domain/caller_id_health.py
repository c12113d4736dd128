"""Caller-ID health (issue 23): when a number's calls stop being answered, it is rested and the
dialer moves to the others. Pure: the callers supply the counts and the clock.

A number is judged on its own recent calls (a window of at least ``window_calls`` settled calls)
against the pool's (the tenant's other caller IDs over their windows). Its answer rate falling
below ``rest_below_ratio`` of the pool's, or (when configured) its share of very short answered
calls reaching ``max_short_share``, rests it for ``rest_hours``. A number is never judged on
fewer than ``window_calls`` calls, nor against a pool with fewer than that: one bad hour of a
small sample, or a tenant with one number, rests nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from dialer.domain.number_reputation import ReputationSettings, SpamRisk, reputation_rest_reason
from dialer.domain.outcomes import CallOutcome

#: Settled outcomes that say something about the number: the call reached the callee's network
#: and was answered by a person, a machine, or nobody. Failed, invalid and canceled dials (and
#: an unknown outcome) are ours or the lead's, not the caller ID's reputation.
COUNTED_OUTCOMES = frozenset(
    {
        CallOutcome.ANSWERED_HUMAN,
        CallOutcome.ASSISTANT_FAILED,
        CallOutcome.VOICEMAIL,
        CallOutcome.VOICEMAIL_LEFT,
        CallOutcome.NO_ANSWER,
        CallOutcome.BUSY,
    }
)
#: A person picked up (the assistant failing afterwards does not change that).
ANSWERED_OUTCOMES = frozenset({CallOutcome.ANSWERED_HUMAN, CallOutcome.ASSISTANT_FAILED})


class RestedBy(StrEnum):
    """Who rested a number (``rested_by`` on the caller-ID record)."""

    HEALTH = "health"  # the answer-rate rule
    REPUTATION = "reputation"  # Telnyx Number Reputation's spam_risk
    OPERATOR = "operator"


RESTED_BY_HEALTH = RestedBy.HEALTH
RESTED_BY_OPERATOR = RestedBy.OPERATOR


class CallerIdHealthSettings(BaseModel):
    """A tenant's caller-ID health rule (``PUT /tenants/me/caller-id-health``)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=True, description="Rest numbers automatically.")
    window_calls: Annotated[
        int,
        Field(
            ge=50,
            le=10_000,
            description="Settled calls a number (and the pool) needs before it is judged; the "
            "rule reads its last window_calls to 2 x window_calls calls.",
        ),
    ] = 50
    short_call_seconds: Annotated[
        int, Field(ge=1, le=120, description="An answered call that ended within this is very short.")
    ] = 6
    rest_below_ratio: Annotated[
        float,
        Field(
            gt=0,
            lt=1,
            description="Rest a number whose answer rate is below this share of the pool's.",
        ),
    ] = 0.5
    max_short_share: Annotated[
        float | None,
        Field(
            gt=0,
            le=1,
            description="Also rest a number when this share of its answered calls is very short (null: off).",
        ),
    ] = None
    rest_hours: Annotated[int, Field(ge=1, le=720, description="How long a rest lasts.")] = 24
    reputation: ReputationSettings = Field(
        default_factory=ReputationSettings,
        description="Telnyx Number Reputation: also rest numbers Telnyx rates spam-risky (off by default).",
    )


@dataclass(frozen=True, slots=True)
class HealthWindow:
    """Settled calls of a number (or a pool) and what became of them."""

    calls: int = 0
    answered: int = 0
    short: int = 0  # answered calls that ended within ``short_call_seconds``

    def __add__(self, other: HealthWindow) -> HealthWindow:
        return HealthWindow(
            self.calls + other.calls, self.answered + other.answered, self.short + other.short
        )

    @property
    def answer_rate(self) -> float | None:
        """Answered share of the calls (None without calls)."""
        return self.answered / self.calls if self.calls else None

    @property
    def short_share(self) -> float | None:
        """Very short share of the answered calls (None without answered calls)."""
        return self.short / self.answered if self.answered else None


def call_counts(outcome: str, duration_s: int | None, short_call_seconds: int) -> HealthWindow | None:
    """What one settled call adds to its caller ID's window (None: it does not count)."""
    if outcome not in COUNTED_OUTCOMES:
        return None
    answered = outcome in ANSWERED_OUTCOMES
    short = answered and duration_s is not None and duration_s < short_call_seconds
    return HealthWindow(1, int(answered), int(short))


def may_rest(settings: CallerIdHealthSettings, own: HealthWindow) -> bool:
    """Whether the number's own window could rest it, whatever the pool's (so the pool is read
    only then): the rule is on, the number has its minimum sample, and its answer rate is below
    ``rest_below_ratio`` (the pool's rate is at most 100 %) or a short-share limit is set."""
    if not settings.enabled or own.calls < settings.window_calls:
        return False
    return own.answered < own.calls * settings.rest_below_ratio or settings.max_short_share is not None


def rest_reason(settings: CallerIdHealthSettings, own: HealthWindow, pool: HealthWindow) -> str | None:
    """Why the number should be rested now, or None. ``pool``: the tenant's other caller IDs."""
    if not may_rest(settings, own):
        return None
    rate = own.answered / own.calls
    if pool.calls >= settings.window_calls and pool.answered:
        pool_rate = pool.answered / pool.calls
        if rate < pool_rate * settings.rest_below_ratio:
            return (
                f"answer rate {rate:.0%} over its last {own.calls} calls, below "
                f"{settings.rest_below_ratio:.0%} of the pool's {pool_rate:.0%} ({pool.calls} calls)"
            )
    share = own.short_share
    if settings.max_short_share is not None and share is not None and share >= settings.max_short_share:
        return (
            f"{share:.0%} of its {own.answered} answered calls ended within "
            f"{settings.short_call_seconds} s (limit {settings.max_short_share:.0%})"
        )
    return None


def rested(rested_until: datetime | None, now: datetime) -> bool:
    """True while a rest is in force: it ends at ``rested_until`` on the engine's clock."""
    return rested_until is not None and now < rested_until


def rest_end(now: datetime, hours: float) -> datetime:
    """When a rest that starts ``now`` ends."""
    return now + timedelta(hours=hours)


@dataclass(frozen=True, slots=True)
class CallerIdRest:
    """A caller ID as a rest decision sees it: its number and the end of its current rest."""

    caller_id_id: str
    phone_number: str
    rested_until: datetime | None = None


def reputation_rests(
    rest_at: SpamRisk,
    spam_risks: Mapping[str, tuple[str | None, str | None]],
    caller_ids: Iterable[CallerIdRest],
    now: datetime,
) -> list[tuple[str, str]]:
    """(caller ID, reason) for each caller ID to rest on Telnyx Number Reputation: its number's
    ``(spam_risk, spam_category)`` in ``spam_risks`` is at or above ``rest_at``. A number already
    rested (an operator's rest, the answer-rate rule's or an earlier sweep's) keeps its rest, and a
    number Telnyx does not monitor or has no data for is left alone."""
    out: list[tuple[str, str]] = []
    for caller_id in caller_ids:
        snapshot = spam_risks.get(caller_id.phone_number)
        if snapshot is None or rested(caller_id.rested_until, now):
            continue
        reason = reputation_rest_reason(rest_at, *snapshot)
        if reason is not None:
            out.append((caller_id.caller_id_id, reason))
    return out

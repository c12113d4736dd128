"""The campaign circuit breaker (issue 24): when a campaign's dials start failing, it pauses
itself instead of dialling on until someone looks. Pure: the caller supplies the counts.

Two triggers:

* **An error no retry can fix** (Telnyx refuses the API key, the account cannot pay, the
  connection is disabled or unknown) pauses at its first occurrence: every further dial would
  fail the same way.
* **A sliding window** (default: at least 20 dials in the last 2 minutes) whose failed-or-refused
  share reaches the threshold (50 %), or whose answer rate collapsed below a quarter of the
  campaign's own baseline (once the baseline has 50 dials behind it): a revoked number, a broken
  assistant, a number flagged as spam.

The pause reason starts with ``circuit_breaker:`` and carries the numbers; the operator resumes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from dialer.domain.outcomes import CallOutcome

PREFIX = "circuit_breaker: "
#: Call outcomes that count as failed dials (besides dials Telnyx refused): the call failed, or
#: the assistant never started. A person's no-answer or busy line is not a failure of ours.
BREAKER_FAILURES = frozenset({CallOutcome.FAILED, CallOutcome.ASSISTANT_FAILED})

#: Telnyx statuses no retry can fix: the key (401), the account's balance (402), the account or
#: connection refused (403).
_UNFIXABLE_STATUS = {
    401: "Telnyx refused the API key (401)",
    402: "the Telnyx account cannot pay for calls (402)",
    403: "Telnyx refused the account or its connection (403)",
}
#: Request fields whose refusal is our configuration, not the number (a 422 naming them).
_CONFIGURATION_POINTERS = {"/connection_id": "Telnyx refused the connection_id"}


class CircuitBreaker(BaseModel):
    """A campaign's breaker settings (on by default)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    window_seconds: Annotated[int, Field(ge=30, le=3600)] = 120
    min_dials: Annotated[int, Field(ge=5, le=10_000)] = 20
    max_failed_share: Annotated[float, Field(gt=0, le=1)] = 0.5
    answer_collapse_ratio: Annotated[
        float,
        Field(
            ge=0,
            lt=1,
            description="Pause when the window's answer rate falls below this share of the baseline.",
        ),
    ] = 0.25
    baseline_min_dials: Annotated[int, Field(ge=10, le=100_000)] = 50


@dataclass(frozen=True)
class DialCounts:
    """Dials and what became of them (over a window, or since the campaign started)."""

    dials: int = 0
    failed: int = 0  # refused by Telnyx, or a call that failed (not a person's no-answer/busy)
    answered: int = 0

    def __add__(self, other: DialCounts) -> DialCounts:
        return DialCounts(
            self.dials + other.dials, self.failed + other.failed, self.answered + other.answered
        )


def total(counts: Iterable[DialCounts]) -> DialCounts:
    """The sum of several counts (the window's buckets)."""
    out = DialCounts()
    for c in counts:
        out = out + c
    return out


def unfixable_dial_error(status: int | None, pointers: Iterable[str]) -> str | None:
    """The pause reason for a refused dial no retry can fix, else None."""
    if status in _UNFIXABLE_STATUS:
        return PREFIX + _UNFIXABLE_STATUS[status]
    for pointer in pointers:
        if pointer in _CONFIGURATION_POINTERS:
            return f"{PREFIX}{_CONFIGURATION_POINTERS[pointer]} ({status})"
    return None


def window_verdict(settings: CircuitBreaker, window: DialCounts, baseline: DialCounts) -> str | None:
    """The pause reason when the window trips the breaker, else None."""
    if not settings.enabled or window.dials < settings.min_dials:
        return None
    share = window.failed / window.dials
    if share >= settings.max_failed_share:
        return (
            f"{PREFIX}{window.failed} of {window.dials} dials failed in {settings.window_seconds} s "
            f"({share:.0%} >= {settings.max_failed_share:.0%})"
        )
    if settings.answer_collapse_ratio and baseline.dials >= settings.baseline_min_dials and baseline.answered:
        base_rate = baseline.answered / baseline.dials
        rate = window.answered / window.dials
        if rate < base_rate * settings.answer_collapse_ratio:
            return (
                f"{PREFIX}answer rate {rate:.0%} over the last {window.dials} dials, "
                f"below {settings.answer_collapse_ratio:.0%} of the campaign's {base_rate:.0%}"
            )
    return None

"""When to retry a Telnyx request, how long to wait, and when to give up.

Pure policy over plain data (stdlib only), so it is testable without a network and the clock and
the sleep are injectable. The rules:

* Only requests whose repetition cannot place a second call are retried at all: GET/DELETE, and
  commands that carry a ``command_id`` (Telnyx ignores a repeat with the same id). The caller, not
  this module, decides that per request (``RetryPolicy`` is consulted only when ``retry_safe``).
* Retried outcomes: HTTP 408, 429, 5xx, and transport errors.
* Backoff: exponential with *full jitter* (``uniform(0, min(cap, base * 2**n))``), never shorter
  than the server's ``Retry-After``/``x-ratelimit-reset`` hint.
* A caller deadline (``time.monotonic()`` based) bounds everything: no sleep and no attempt may
  run past it, so a Lambda with 1 s left gives up instead of being killed mid-sleep.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class RetryPolicy:
    """How many times and how patiently to retry a retry-safe request.

    ``max_retries`` counts retries after the first attempt. ``min_attempt_seconds`` is the least
    time an attempt needs to be worth starting: with less left before the deadline we give up.
    (A plain class, not a dataclass: ``dataclasses`` costs ~10 ms of cold import.)
    """

    __slots__ = ("base_delay", "max_delay", "max_retries", "min_attempt_seconds", "random")

    def __init__(
        self,
        max_retries: int = 2,
        base_delay: float = 0.25,
        max_delay: float = 4.0,
        min_attempt_seconds: float = 0.05,
        random: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.max_retries = max_retries
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.min_attempt_seconds = min_attempt_seconds
        self.random = random

    def backoff(self, retry_number: int, hint: float | None = None) -> float:
        """Seconds to wait before retry ``retry_number`` (1-based), honouring a server hint."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** max(retry_number - 1, 0)))
        delay = self.random(0.0, ceiling)
        if hint is not None and hint > delay:
            # The server knows when its window resets; waiting less only earns another 429.
            delay = hint
        return max(delay, 0.0)


NO_RETRY = RetryPolicy(max_retries=0)


def is_retryable_status(status: int) -> bool:
    """True for statuses a retry may cure (408, 429, 5xx)."""
    return status in RETRYABLE_STATUSES or status >= 500


def parse_retry_after(headers: Mapping[str, str], *, now_wall: float | None = None) -> float | None:
    """Seconds to wait according to the response headers, or ``None`` without a usable hint.

    ``Retry-After`` is either delta seconds or an HTTP date. Telnyx documents ``x-ratelimit-reset``
    without saying whether it is a delta or a unix time (WIRE §2.2), so a value above 10^9 is read
    as a unix timestamp and anything smaller as seconds from now.
    """
    wall = time.time() if now_wall is None else now_wall
    value = _header(headers, "retry-after")
    if value:
        seconds = _number(value)
        if seconds is not None:
            return max(seconds, 0.0)
        # Imported here: the HTTP-date form is rare and email.utils is not free at cold start.
        import email.utils

        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            return max(when.timestamp() - wall, 0.0)
    reset = _header(headers, "x-ratelimit-reset")
    if reset:
        seconds = _number(reset)
        if seconds is not None:
            return max(seconds - wall, 0.0) if seconds > 1e9 else max(seconds, 0.0)
    return None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        # Plain dicts (tests, other transports) are case-sensitive; httpx.Headers is not.
        for key, val in headers.items():
            if key.lower() == name:
                return val
    return value


def _number(text: str) -> float | None:
    try:
        return float(text.strip())
    except ValueError:
        return None


class Deadline:
    """An absolute point on the monotonic ``clock`` after which no work may continue."""

    __slots__ = ("at", "clock")

    def __init__(self, at: float, clock: Clock = time.monotonic) -> None:
        self.at = at
        self.clock = clock

    @classmethod
    def after(cls, seconds: float, clock: Clock = time.monotonic) -> Deadline:
        """A deadline ``seconds`` from now on ``clock``."""
        return cls(clock() + seconds, clock)

    def remaining(self) -> float:
        """Seconds left (negative once passed)."""
        return self.at - self.clock()

    def expired(self) -> bool:
        """True once the deadline has passed."""
        return self.remaining() <= 0

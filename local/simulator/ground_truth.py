"""What the simulator dialled: one record per placed call, for tests and benchmarks to check the
product against (a lead dialled twice for one attempt, a dial outside the legal window, a dial
the product does not know about).

A replayed ``command_id`` (same id inside the de-duplication window) is not a new dial and adds
no record; the same ``command_id`` dialled again after the window is, and shows up twice.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Dial:
    """One call the simulator placed (accepted), as the ground truth sees it."""

    kind: str  # "call_control" | "texml" (scheduled events' calls are call_control without a command_id)
    at: str  # simulated wall clock (clock offset applied), Telnyx format
    monotonic: float  # real monotonic seconds, for rates
    call_control_id: str
    to: str
    from_: str
    command_id: str | None
    client_state: str | None
    scenario: str

    def as_dict(self) -> dict[str, Any]:
        """JSON view (``from`` as on the wire)."""
        out = asdict(self)
        out["from"] = out.pop("from_")
        return out


def dials_view(dials: list[Dial], *, since: float | None = None) -> dict[str, Any]:
    """``GET /_sim/dials``: every dial, plus the command ids and numbers dialled more than once."""
    selected = [d for d in dials if since is None or d.monotonic >= since]
    by_command = Counter(d.command_id for d in selected if d.command_id)
    return {
        "count": len(selected),
        "dials": [d.as_dict() for d in selected],
        "command_ids_dialled_twice": sorted(c for c, n in by_command.items() if n > 1),
    }


def occupancy(spans: list[tuple[float, float | None]], since: float, until: float) -> float:
    """Average count of spans (start, end or None = still open) covering ``[since, until]``."""
    if until <= since:
        return 0.0
    covered = sum(
        max(0.0, min(end if end is not None else until, until) - max(start, since)) for start, end in spans
    )
    return covered / (until - since)


@dataclass
class Mailbox:
    """One machine answer: its greeting, and what was spoken into it (``GET /_sim/mailboxes``).

    ``heard`` is what the mailbox recorded: the text of every ``speak`` that started after the
    greeting ended; ``complete`` whether the last one was read to its end before the call ended.
    """

    call_control_id: str
    to: str
    from_: str
    greeting_seconds: float
    beep: bool
    greeting_ended: bool = False
    heard: list[str] = field(default_factory=list)
    complete: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON view (``from`` as on the wire)."""
        out = asdict(self)
        out["from"] = out.pop("from_")
        return out

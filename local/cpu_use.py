"""How busy the machine's cores were while the demo dialled: the CPU time of a process tree, sampled.

The demo's dial rate follows the machine's speed: on this 2-core VM the same code placed its
first attempts at 7.8 to 11.35 dials/s from one run to the next (docs/decisions.md, "Issue 20:
what bounds the demo's first attempts: the cores, and the channels just behind them"). Printed
beside the rate, the cores in use and the CPU seconds a dial took tell a slow run on a busy or
slow machine from a slower pipeline.

Linux only (it reads ``/proc``); elsewhere every reading is ``None`` and the demo prints none.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from bisect import bisect_left, bisect_right
from pathlib import Path

from local.sandbox import descendants

PROC = Path("/proc")


def tree_cpu_seconds(root: int, proc: Path = PROC) -> float | None:
    """User and system CPU seconds of ``root`` and every living descendant, including the children
    each of them has reaped (so a short-lived CLI process still counts once it has exited).
    ``None`` without ``/proc``."""
    if not (proc / str(root) / "stat").is_file():
        return None
    ticks = 0
    for pid in (root, *descendants(root)):
        with contextlib.suppress(OSError, IndexError):  # exited meanwhile
            # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
            fields = (proc / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
            ticks += sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


class CpuSampler(threading.Thread):
    """Samples a process tree's CPU seconds every ``period`` seconds (``time.monotonic`` instants)."""

    def __init__(self, root: int | None = None, period: float = 0.5, proc: Path = PROC) -> None:
        super().__init__(daemon=True, name="cpu-sampler")
        self.root = os.getpid() if root is None else root
        self.period, self.proc = period, proc
        self.times: list[float] = []
        self.seconds: list[float] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        while True:
            used = tree_cpu_seconds(self.root, self.proc)
            if used is None:
                return
            self.times.append(time.monotonic())
            self.seconds.append(used)
            if self._stop_event.wait(self.period):
                return

    def stop(self) -> None:
        """Stop sampling (the samples taken stay)."""
        self._stop_event.set()
        if self.is_alive():
            self.join()

    def between(self, start: float, end: float) -> tuple[float, float, float] | None:
        """(first instant, last instant, CPU seconds) over the samples that enclose ``start`` to
        ``end`` as closely as they were taken; ``None`` without two such samples."""
        first = bisect_right(self.times, start) - 1
        last = bisect_left(self.times, end)
        if first < 0 or last >= len(self.times) or first >= last:
            return None
        return self.times[first], self.times[last], self.seconds[last] - self.seconds[first]

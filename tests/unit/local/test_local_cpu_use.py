"""The demo's CPU reading: a process tree's CPU seconds, children and reaped grandchildren included."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from local.cpu_use import CpuSampler, tree_cpu_seconds

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="reads /proc (Linux)")

# A child that starts a grandchild burning ~0.4 s of CPU, waits for it, then sleeps (alive, idle):
# the grandchild's time reaches the child's reaped-children counters.
BURN = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end:\n    pass\n"
PARENT = (
    "import subprocess, sys, time\n"
    f"subprocess.run([sys.executable, '-c', {BURN!r}], check=True)\n"
    "print('burnt', flush=True)\n"
    "time.sleep(30)\n"
)


def test_a_tree_counts_its_childrens_cpu_and_the_children_they_reaped() -> None:
    before = tree_cpu_seconds(os.getpid())
    assert before is not None
    child = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "burnt"
        after = tree_cpu_seconds(os.getpid())
        assert after is not None
        # Two interpreters' start-up plus the 0.4 s burn; this process idled meanwhile.
        assert 0.4 <= after - before < 5
        # The child alone holds its reaped grandchild's 0.4 s (its cutime).
        own = tree_cpu_seconds(child.pid)
        assert own is not None
        assert own >= 0.4
    finally:
        child.kill()
        child.wait()


def test_without_proc_there_is_no_reading(tmp_path: Path) -> None:
    assert tree_cpu_seconds(os.getpid(), proc=tmp_path) is None
    sampler = CpuSampler(proc=tmp_path, period=0.01)
    sampler.start()
    sampler.join(5)
    assert not sampler.is_alive()
    assert sampler.between(0, time.monotonic()) is None


def test_the_sampler_encloses_a_window_with_the_nearest_samples() -> None:
    sampler = CpuSampler(period=0.05)
    sampler.start()
    time.sleep(0.2)
    start = time.monotonic()
    end = time.process_time() + 0.3
    while time.process_time() < end:
        pass  # this process burns 0.3 s inside the window
    stop = time.monotonic()
    time.sleep(0.2)
    sampler.stop()
    used = sampler.between(start, stop)
    assert used is not None
    since, until, seconds = used
    assert since <= start
    assert until >= stop
    assert until - since < (stop - start) + 0.5
    assert seconds >= 0.25
    # A window before the first sample or after the last has no reading.
    assert sampler.between(sampler.times[0] - 1, stop) is None
    assert sampler.between(start, sampler.times[-1] + 1) is None

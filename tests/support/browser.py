"""Headless Chromium (the Debian ``chromium`` package; ``.ci/run`` installs it) for page checks:
load a file, return its DOM after scripts ran and what the page wrote to the console."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
CONSOLE_LINE = re.compile(r":CONSOLE[:(\d)]+\]? ?(.*)")


def chromium() -> str:
    """The browser binary; a test that needs it fails (never skips) when it is missing."""
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("chromium is not installed: `apt-get install -y chromium` (.ci/run does it)")
    return found


@dataclass
class PageLoad:
    dom: str
    console: list[str]  # every console message: script errors, CSP violations, console.* calls


def _run(args: list[str], timeout: float = 90) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        return subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def load(page: Path) -> PageLoad:
    """The DOM of ``page`` once loaded (virtual time lets its scripts finish) and its console."""
    done = _run(
        ["--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000", "--dump-dom", page.as_uri()]
    )
    assert done.returncode == 0, done.stderr[-2000:]
    console = [m.group(1) for line in done.stderr.splitlines() if (m := CONSOLE_LINE.search(line))]
    return PageLoad(done.stdout, console)


def screenshot(page: Path, target: Path, width: int = 1100, height: int = 3200) -> Path:
    """A PNG of ``page`` at ``width``×``height``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    done = _run([f"--window-size={width},{height}", f"--screenshot={target}", page.as_uri()])
    assert done.returncode == 0, done.stderr[-2000:]
    assert target.is_file(), done.stderr[-2000:]
    return target

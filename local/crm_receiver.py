"""``examples/webhook_receiver.py`` run as a CRM runs it, for the demo and the e2e test: its own
process on a loopback port, the signing secret in its environment (not on a command line that
``ps`` shows), its CSV and its one line per delivery (``kept``, ``duplicate``, ``refused``) in a
folder. The port is chosen at construction, so the endpoint can be registered before it listens.
"""

from __future__ import annotations

import csv
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

from local.process import REPO
from local.sandbox import free_port

SCRIPT = REPO / "examples" / "webhook_receiver.py"
_LINE = re.compile(r"^webhook_receiver: (kept|duplicate|refused) (\S+)", re.M)


class CrmReceiver:
    """The example receiver's process, its CSV (``events.csv``) and its log (``receiver.log``)."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.csv = folder / "events.csv"
        self.log = folder / "receiver.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, secret: str, timeout: float = 20) -> None:
        """Start it (a fresh CSV and log) and return once it listens."""
        self.csv.unlink(missing_ok=True)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(SCRIPT), "--csv", str(self.csv), "--port", str(self.port)],
                env={**os.environ, "WEBHOOK_SECRETS": secret},
                stdin=subprocess.DEVNULL,
                stderr=log,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        raise RuntimeError(f"the example webhook receiver did not start: {self.log.read_text()}")

    def stop(self) -> None:
        """Stop its process (idempotent)."""
        process, self.process = self.process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def rows(self) -> list[dict[str, str]]:
        """The CSV's rows (one per webhook-id it kept)."""
        if not self.csv.exists():
            return []
        with self.csv.open(newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))

    def lines(self) -> list[tuple[str, str]]:
        """``(what, webhook-id or reason)`` of every delivery it answered, in order: kept,
        duplicate (a retry or replay of an id it kept) or refused (401/400)."""
        if not self.log.exists():
            return []
        return [(m[1], m[2]) for m in _LINE.finditer(self.log.read_text())]

"""The local stack in a subprocess (``python -m local.run`` in the tools venv), for whatever runs
outside it: the end-to-end tests, the demo. Starts it on free ports, waits for its ready file,
and stops it and every sandbox process it started."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx


class StackStartError(RuntimeError):
    """The runner exited or did not get ready in time (the message ends with its output)."""


REPO = Path(__file__).resolve().parents[1]
TOOLS_PYTHON = REPO / ".venv-tools" / "bin" / "python"
BUILT_TEMPLATE = REPO / ".aws-sam" / "build" / "template.yaml"


@dataclass
class Invocation:
    """A direct invocation's outcome: the decoded payload, and the error type if the function failed."""

    payload: Any
    error: str | None


class LocalStackProcess:
    """``python -m local.run`` in a subprocess, and helpers to talk to what it runs."""

    def __init__(self, template: Path, workdir: Path, args: list[str] | tuple[str, ...] = ()):
        self.template = template
        self.workdir = workdir
        self.args = list(args)
        self.ready_file = workdir / "ready.json"
        self.output = workdir / "runner.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.info: dict[str, Any] = {}
        self.exit_code: int | None = None

    @staticmethod
    def process_alive(pid: int) -> bool:
        """True if ``pid`` runs (a zombie waiting for its reaper counts as gone)."""
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        return state != "Z"

    @property
    def api_url(self) -> str:
        """Base URL of the API routes (served at the root, like ``sam local start-api``)."""
        return self.info["api_url"]

    @property
    def aws_endpoint(self) -> str:
        """The moto endpoint holding the stack's tables, queues, buckets and parameters."""
        return self.info["aws_endpoint"]

    @property
    def resources(self) -> dict[str, str]:
        """Logical id → physical id (queue URL, table name, bucket name...)."""
        return self.info["resources"]

    def start(self, timeout: float = 60) -> LocalStackProcess:
        """Start the runner and wait for its ready file; fails with the runner's output otherwise."""
        if not TOOLS_PYTHON.exists():
            raise StackStartError(f"{TOOLS_PYTHON} is missing: run `make setup` (scripts/bootstrap.sh)")
        command = [
            str(TOOLS_PYTHON),
            "-m",
            "local.run",
            "--template",
            str(self.template),
            "--port",
            "0",
            "--moto-port",
            "0",
            "--log-dir",
            str(self.workdir / "logs"),
            "--dev-tenant-file",
            str(self.workdir / "dev-tenant.json"),
            "--ready-file",
            str(self.ready_file),
            *self.args,
        ]
        env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "PYTHONPATH": str(REPO)}
        self.ready_file.unlink(missing_ok=True)  # a previous run's file would read as "ready" at once
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.output.open("wb") as output:
            self.process = subprocess.Popen(
                command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while not self.ready_file.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise StackStartError(
                    f"local stack did not start; runner output:\n{self.output.read_text()[-4000:]}"
                )
            time.sleep(0.05)
        self.info = json.loads(self.ready_file.read_text())
        return self

    def pids(self) -> list[int]:
        """Every sandbox process (emulators and runtimes) the runner reports right now."""
        health = httpx.get(f"{self.api_url}/_local/health", timeout=10).json()
        return [pid for fn in health["functions"].values() for pid in fn["pids"]]

    def stop(self, sig: int = signal.SIGTERM) -> list[int]:
        """Stop the runner with ``sig``; returns the sandbox pids that are still alive (should be none)."""
        if self.process is None:
            return []
        pids: list[int] = []
        if self.process.poll() is None:
            with contextlib.suppress(httpx.HTTPError, KeyError):
                pids = self.pids() if self.info else []
            self.process.send_signal(sig)
            try:
                self.exit_code = self.process.wait(20)
            except subprocess.TimeoutExpired:
                # A wedged runner: kill it and whatever it started, and let the test see it.
                os.killpg(self.process.pid, signal.SIGKILL)
                self.exit_code = self.process.wait()
        else:
            self.exit_code = self.process.returncode
        self.process = None
        deadline = time.monotonic() + 5
        while any(self.process_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)  # orphans reparented to init take a moment to be reaped
        leftovers = [pid for pid in pids if self.process_alive(pid)]
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return leftovers

    def boto3_client(self, service: str) -> Any:
        """A boto3 client for the stack's moto endpoint (dummy credentials)."""
        session = boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto accepts any credentials
            region_name=self.info["region"],
        )
        return session.client(service, endpoint_url=self.aws_endpoint)

    def _control(self, method: str, path: str, body: Any = None) -> httpx.Response:
        # An invocation or a schedule's firing answers when the function returns: its own timeout
        # (at most Lambda's 15 minutes, plus the sandbox's grace) bounds the wait.
        response = httpx.request(method, f"{self.api_url}/_local/{path}", json=body, timeout=930)
        response.raise_for_status()
        return response

    def seed_tenant(self, tenant: str, public_key_b64: str) -> list[str]:
        """Store a tenant's webhook public key in SSM; returns the parameter names."""
        return self._control("PUT", f"tenants/{tenant}", {"public_key": public_key_b64}).json()["parameters"]

    def fire_schedule(self, logical_id: str) -> list[dict[str, Any]]:
        """Fire a schedule rule now; returns each target's outcome (function, error, payload)."""
        return self._control("POST", f"schedules/{logical_id}").json()["targets"]

    def invoke(self, function_logical_id: str, event: Any) -> Invocation:
        """Invoke a function synchronously with ``event``, as ``aws lambda invoke`` would."""
        response = self._control("POST", f"invoke/{function_logical_id}", event)
        payload = response.json()
        if "X-Amz-Function-Error" not in response.headers:
            return Invocation(payload, None)
        return Invocation(
            payload, payload.get("errorType", "Unhandled") if isinstance(payload, dict) else "Unhandled"
        )

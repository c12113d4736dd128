"""``make dev``: the whole product on this machine, with no AWS account and no Docker.

1. Starts the Telnyx simulator (in the runtime venv: it signs webhooks with PyNaCl) with one
   account whose webhooks go to this stack's intake for tenant ``default``.
2. Starts the local stack (moto + every function of the ``sam build`` output in its own Lambda
   runtime process) with ``TelnyxBaseUrl`` pointing at the simulator and the simulator's public
   key as tenant ``default``'s webhook key. The dispatcher and the reaper run on their schedules
   (every minute, every 5 minutes; ``--dispatch-period``/``--reap-period``), so a campaign
   activated through the API dials by itself and the simulator plays the calls.
3. Bootstraps tenant ``default`` through ``scripts/tenant.py`` (tenant record, first management
   API key, the simulator account's key as its Telnyx API key, a Call Control connection).
4. Prints the URLs and the API key (also written to ``.local/dev.json``) and runs until Ctrl-C,
   then stops every process it started.

Run from the repository root with the tools interpreter: ``.venv-tools/bin/python -m local.dev``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from local.parameters import LOCAL_PARAMETERS
from local.run import REPO, LocalStack, parse_args
from local.tenants import bootstrap_tenant

log = logging.getLogger("local.dev")

RUNTIME_PYTHON = REPO / ".venv" / "bin" / "python"
SIM_API_KEY = "KEYSIM_default"  # the simulator account's Telnyx API key (local only)
TENANT = "default"
CONNECTION_ID = "local-call-control"  # the simulator accepts any Call Control connection id
DISPATCHER, REAPER = "DispatcherFunction", "ReaperFunction"  # their schedules' periods are options


def _get_json(url: str, headers: dict[str, str] | None = None, timeout: float = 2.0) -> Any:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - loopback URLs we built
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return json.load(response)


def start_simulator(
    port: int, api_port: int, time_scale: float, log_file: Path, clock_offset: float = 0.0
) -> tuple[subprocess.Popen[bytes], str]:
    """Start the simulator; return the process and its account's base64 webhook public key."""
    webhook_url = f"http://127.0.0.1:{api_port}/webhooks/telnyx/{TENANT}"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "layers" / "telnyx_client"), str(REPO)])}
    process = subprocess.Popen(
        [
            str(RUNTIME_PYTHON),
            "-m",
            "local.simulator",
            "--port",
            str(port),
            "--account",
            f"{SIM_API_KEY}={webhook_url}",
            "--time-scale",
            str(time_scale),
            "--clock-offset",
            str(clock_offset),
        ],
        cwd=REPO,
        env=env,
        stdout=log_file.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Telnyx simulator exited; see {log_file}")
        try:
            doc = _get_json(
                f"http://127.0.0.1:{port}/v2/public_key", {"Authorization": f"Bearer {SIM_API_KEY}"}
            )
            return process, str(doc["data"]["public"])
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("the Telnyx simulator did not start within 30 s")


def main(argv: list[str] | None = None) -> int:
    """Run simulator + stack until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m local.dev", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=3000, help="API port")
    parser.add_argument("--moto-port", type=int, default=5055)
    parser.add_argument("--simulator-port", type=int, default=8790)
    parser.add_argument(
        "--time-scale", type=float, default=0.2, help="simulated call time: real seconds per second"
    )
    parser.add_argument(
        "--dispatch-period",
        type=float,
        default=60.0,
        help="seconds between dispatcher ticks (its schedule is every minute; 0: on demand only)",
    )
    parser.add_argument(
        "--reap-period",
        type=float,
        default=300.0,
        help="seconds between reaper runs (its schedule is every 5 minutes; 0: on demand only)",
    )
    parser.add_argument(
        "--clock-offset",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="shift the product's and the simulator's clock (local only), e.g. to dial at night",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    simulator, public_key = start_simulator(
        args.simulator_port,
        args.port,
        args.time_scale,
        REPO / ".local" / "logs" / "simulator.log",
        args.clock_offset,
    )
    stack = LocalStack(
        parse_args(
            [
                "--port",
                str(args.port),
                "--moto-port",
                str(args.moto_port),
                "--parameter-overrides",
                *LOCAL_PARAMETERS,
                f"TelnyxBaseUrl=http://127.0.0.1:{args.simulator_port}/v2",
                "--tenant",
                f"{TENANT}={public_key}",
                "--schedule-period",
                f"{DISPATCHER}={args.dispatch_period}",
                "--schedule-period",
                f"{REAPER}={args.reap_period}",
                "--clock-offset",
                str(args.clock_offset),
            ]
        )
    )
    try:
        stack.start()
        info = stack.describe()
        credentials = bootstrap_tenant(
            info, TENANT, telnyx_api_key=SIM_API_KEY, connection_id=CONNECTION_ID, name="Local development"
        )
        summary = {
            "api_url": info["api_url"],
            "webhook_url": f"{info['api_url']}/webhooks/telnyx/{TENANT}",
            "docs_url": f"{info['api_url']}/docs",
            "telnyx_simulator": f"http://127.0.0.1:{args.simulator_port}/v2",
            "aws_endpoint": info["aws_endpoint"],
            "tenant": TENANT,
            **credentials,
        }
        dev_file = REPO / ".local" / "dev.json"
        fd = os.open(dev_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # holds an API key
        with os.fdopen(fd, "w") as handle:
            json.dump(summary, handle, indent=2)
        print(
            f"\nlocal product ready in {info['ready_seconds']:.1f} s\n"
            f"  management API  {summary['api_url']}   (Swagger UI: {summary['docs_url']})\n"
            f"  console         {summary['api_url']}/console   (sign in with the API key)\n"
            f"  API key         {summary['api_key']}   (tenant '{TENANT}'; also in {dev_file})\n"
            f"  Telnyx webhooks {summary['webhook_url']}\n"
            f"  Telnyx (sim)    {summary['telnyx_simulator']}   (state: http://127.0.0.1:{args.simulator_port}/_sim/state)\n"
            f"  AWS (moto)      {summary['aws_endpoint']}\n\n"
            f"  try: curl -H 'Authorization: Bearer {summary['api_key']}' {summary['api_url']}/tenants/me\n"
            "  Ctrl-C stops everything.",
            flush=True,
        )
        while not stop.wait(1):
            if simulator.poll() is not None:
                log.error("the Telnyx simulator exited")
                return 1
    except RuntimeError as exc:
        log.error("%s", exc)
        return 1
    finally:
        stack.stop()
        if simulator.poll() is None:
            os.killpg(simulator.pid, signal.SIGTERM)
            try:
                simulator.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(simulator.pid, signal.SIGKILL)
    return 0


if __name__ == "__main__":
    sys.exit(main())

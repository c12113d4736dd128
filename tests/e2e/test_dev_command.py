"""The README's run command (`make dev` → `python -m local.dev`): the product comes up with the
Telnyx simulator wired in and a bootstrapped tenant, answers with its API key, and stops cleanly."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.support import dialing

REPO = Path(__file__).resolve().parents[2]
TOOLS_PYTHON = REPO / ".venv-tools" / "bin" / "python"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children_of(pid: int) -> set[int]:
    """Every live descendant process of ``pid``."""
    found, frontier = set(), {pid}
    while frontier:
        parent = frontier.pop()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == parent and stat[0] != "Z" and int(entry.name) not in found:
                found.add(int(entry.name))
                frontier.add(int(entry.name))
    return found


def test_make_dev_serves_the_product_with_the_simulator(tmp_path):
    if not (REPO / ".aws-sam" / "build" / "template.yaml").exists():
        pytest.fail("run `make build` first")
    api, moto, sim = free_port(), free_port(), free_port()
    log = (tmp_path / "dev.log").open("wb")
    process = subprocess.Popen(
        [
            str(TOOLS_PYTHON),
            "-m",
            "local.dev",
            "--port",
            str(api),
            "--moto-port",
            str(moto),
            "--simulator-port",
            str(sim),
            "--dispatch-period",
            "5",
            "--clock-offset",
            repr(dialing.clock_offset()),
        ],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        dev_file = REPO / ".local" / "dev.json"
        deadline = time.monotonic() + 120
        summary = None
        while time.monotonic() < deadline and process.poll() is None:
            if dev_file.exists() and (doc := json.loads(dev_file.read_text() or "{}")).get(
                "api_url", ""
            ).endswith(f":{api}"):
                summary = doc
                break
            time.sleep(0.5)
        assert summary, (tmp_path / "dev.log").read_text()[-3000:]
        headers = {"Authorization": f"Bearer {summary['api_key']}"}
        me = httpx.get(f"{summary['api_url']}/tenants/me", headers=headers, timeout=60)
        assert me.status_code == 200
        assert me.json()["telnyx_configured"] is True
        created = httpx.post(
            f"{summary['api_url']}/assistants",
            headers=headers,
            timeout=60,
            json={"name": "Smoke", "instructions": "Say hello to {{first_name}}."},
        )
        assert created.status_code in (200, 201), created.text
        # the assistant exists at the (simulated) Telnyx side, not only in our mirror
        upstream = httpx.get(
            f"{summary['telnyx_simulator']}/ai/assistants/{created.json()['id']}",
            headers={"Authorization": "Bearer KEYSIM_default"},
            timeout=10,
        )
        assert upstream.status_code == 200
        assert httpx.get(f"{summary['api_url']}/tenants/me", timeout=30).status_code == 401
        # a campaign activated through the API dials by itself (the dispatcher's schedule, the dialer)
        api = httpx.Client(base_url=summary["api_url"], headers=headers, timeout=60)
        caller = api.post("/caller-ids", json={"phone_number": "+12125550100", "daily_cap": 1000}).json()[
            "id"
        ]
        campaign = api.post(
            "/campaigns", json={"name": "Dev", "assistant_id": created.json()["id"], "caller_ids": [caller]}
        ).json()["id"]
        scrubbed = (datetime.now(UTC) - timedelta(days=1)).isoformat()
        leads = [
            {
                "phone": p.phone,
                "state": p.state,
                "time_zone": p.zone,
                "consent": dialing.CONSENT,
                "dnc_scrubbed_at": scrubbed,
            }
            for p in dialing.population(3)
        ]
        assert api.post(f"/campaigns/{campaign}/leads", json={"leads": leads}).status_code in (200, 201)
        assert api.post(f"/campaigns/{campaign}/status", json={"status": "active"}).status_code == 200
        deadline = time.monotonic() + 180
        dialled: set[str] = set()
        while time.monotonic() < deadline and len(dialled) < 3:
            truth = httpx.get(f"http://127.0.0.1:{sim}/_sim/dials", timeout=10).json()
            dialled = {d["to"] for d in truth["dials"]}
            time.sleep(1)
        assert dialled == {p.phone for p in dialing.population(3)}
        spawned = children_of(process.pid)
        assert spawned  # the simulator and the function sandboxes
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    time.sleep(0.5)
    leftovers = {
        pid
        for pid in spawned
        if Path(f"/proc/{pid}").exists()
        and (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z")
    }
    assert not leftovers, f"processes outlived `make dev`: {leftovers}"
    assert process.returncode == 0

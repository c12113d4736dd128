"""The dialing engine's numbers, in one run; prints ``name value unit`` lines.

Run (after ``make build``): ``PYTHONPATH=layers/telnyx_client:layers/core:. .venv/bin/python bench/dialing.py``
(``--only local|inprocess`` to run one half). The Telnyx simulator runs at its default limits
(30 dials/s, 150 per rolling 5 s) and is the ground truth of what was dialled and when.

Local stack (``python -m local.run`` on the ``sam build`` output: moto's server, one Lambda-like
process per function, the dispatcher and reaper on their schedules, webhooks through the intake):

- ``local.pacing.*``: 3,000 leads of one campaign, one attempt each, channel limit out of the way
  (3,000) and no webhooks sent back (dialling alone): achieved dials/s (first to last dial,
  ground truth) / 30, and the 429s.
- ``local.slots.*``: a tenant limited to 20 channels, calls of ~60 s played at a time scale
  (``--slot-time-scale``, default 0.25: 15 s of wall clock): mean channels in use (ground
  truth, from the first call to the last call's start) / 20.
- ``local.e2e.*``: the "done when" campaign at 1,000 leads (tests/e2e/test_dialing.py runs fewer
  in CI): wall time to ``completed`` and whether every check held.

In-process (moto + the simulator + the engine's services on threads, as the engine's tests run
them), where this machine cannot drive 30 dials/s through the whole local stack:

- ``inprocess.pacing.*``: the same 3,000-lead pacing run.
- ``inprocess.dispatch.items_read_per_lead``: one dispatcher tick over 100,000 leads of which 500
  are due, next to a paused campaign with 50,000 due leads: items read (DynamoDB ScannedCount,
  counted from botocore hooks) / leads claimed or deferred.
- ``inprocess.per_dial.*``: DynamoDB requests, write and read units per dial (dispatcher, dialer,
  event processor, everything), Telnyx requests per dial, and the hottest partition's write units
  per dial (the input of docs/scale.md).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from local.simulator import AccountConfig, Simulator, SimulatorConfig
from tests.support import dialing

LIMIT_DPS = 30
PACING_LEADS = 3_000
SLOT_CHANNELS = 20
SLOT_CALL_SECONDS = 60.0
E2E_LEADS = 1_000


def emit(name: str, value: float | int | str, unit: str) -> None:
    """One benchmark line."""
    text = f"{value:.4f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
    print(f"{name} {text} {unit}", flush=True)


def dial_rate(dials: list[dict[str, Any]]) -> float:
    """Dials per second from the first dial to the last (ground truth, real seconds)."""
    times = sorted(d["monotonic"] for d in dials)
    if len(times) < 2:
        return 0.0
    return (len(times) - 1) / (times[-1] - times[0])


# --- local stack ---------------------------------------------------------------------------------
def local_stack(args: argparse.Namespace) -> int:
    """The local-stack figures; returns the number of failed expectations."""
    from tests.e2e.conftest import BUILT_TEMPLATE, LocalStackProcess

    failures = 0
    offset = dialing.clock_offset()
    api_port = dialing.free_port()
    plan_e2e = dialing.population(args.e2e_leads)
    accounts = (
        AccountConfig(
            api_key="KEYSIM_pace",
            webhook_url=f"http://127.0.0.1:{api_port}/webhooks/telnyx/pace",
            channel_limit=PACING_LEADS,
            phone_numbers=dialing.CALLER_IDS,
            deliver_webhooks=False,  # dialling alone: 3,000 calls' webhooks would measure the intake
        ),
        AccountConfig(
            api_key="KEYSIM_slots",
            webhook_url=f"http://127.0.0.1:{api_port}/webhooks/telnyx/slots",
            channel_limit=SLOT_CHANNELS,
            phone_numbers=dialing.CALLER_IDS,
        ),
        AccountConfig(
            api_key="KEYSIM_e2e",
            webhook_url=f"http://127.0.0.1:{api_port}/webhooks/telnyx/e2e",
            channel_limit=20,
            phone_numbers=dialing.CALLER_IDS,
        ),
    )
    config = SimulatorConfig(
        accounts=accounts,
        seed=11,
        time_scale=0.01,
        scenario_mix={"busy": 1.0},
        clock_offset_s=offset,
    )
    with Simulator(config) as sim, tempfile.TemporaryDirectory() as workdir:
        extra = [f"DefaultChannelLimit={SLOT_CHANNELS}"]
        stack_args = dialing.stack_args(
            api_port, sim.base_url, "pace", sim.public_key_for("KEYSIM_pace"), offset, *extra
        )
        stack_args += ["--tenant", f"slots={sim.public_key_for('KEYSIM_slots')}"]
        stack_args += ["--tenant", f"e2e={sim.public_key_for('KEYSIM_e2e')}"]
        stack = LocalStackProcess(BUILT_TEMPLATE, Path(workdir), stack_args).start(timeout=120)
        try:
            failures += _local_pacing(stack, sim)
            failures += _local_slots(stack, sim, args.slot_time_scale)
            failures += _local_e2e(stack, sim, plan_e2e)
        finally:
            stack.stop()
    return failures


def _set_channel_limit(stack: Any, tenant: str, limit: int) -> None:
    from dialer.adapters.dialing_table import DialingTable

    DialingTable(stack.resources["StateTable"], client=stack.boto3_client("dynamodb")).set_tenant_limits(
        tenant, channel_limit=limit
    )


def _local_pacing(stack: Any, sim: Simulator) -> int:
    plan = [p for p in dialing.population(PACING_LEADS * 2) if p.kind is dialing.Kind.CALLABLE][:PACING_LEADS]
    with dialing.tenant_client(stack, "pace", "KEYSIM_pace") as http:
        _set_channel_limit(stack, "pace", PACING_LEADS)
        cid = dialing.create_campaign(http, max_attempts=1, name="pacing")
        dialing.add_leads(http, cid, plan)
        started = time.monotonic()
        http.post(f"/campaigns/{cid}/status", json={"status": "active"}).raise_for_status()
        deadline = started + PACING_LEADS / 3 + 120  # at worst 3 dials/s
        while time.monotonic() < deadline and sim.dials("KEYSIM_pace")["count"] < PACING_LEADS:
            time.sleep(1)
        elapsed = time.monotonic() - started
    truth = sim.dials("KEYSIM_pace")
    rate = dial_rate(truth["dials"])
    emit("local.pacing.leads", PACING_LEADS, "count")
    emit("local.pacing.dials", truth["count"], "count")
    emit("local.pacing.wall_time", elapsed, "s")
    emit("local.pacing.dials_per_s", rate, "per_s")
    emit("local.pacing.efficiency", rate / LIMIT_DPS, "ratio")
    emit("local.pacing.rate_limited_429", sim.stats("KEYSIM_pace")["rate_limited_429"], "count")
    emit("local.pacing.dialled_twice", len(truth["command_ids_dialled_twice"]), "count")
    return int(bool(truth["command_ids_dialled_twice"]))


def _local_slots(stack: Any, sim: Simulator, time_scale: float) -> int:
    # Calls of ~60 simulated seconds: answered after 4-12 s, then a 50-54 s conversation.
    sim.configure(time_scale=time_scale, scenario_mix={"human": 1.0}, conversation_secs=(50.0, 54.0))
    calls = SLOT_CHANNELS * 6
    plan = [p for p in dialing.population(calls * 2) if p.kind is dialing.Kind.CALLABLE][:calls]
    with dialing.tenant_client(stack, "slots", "KEYSIM_slots") as http:
        cid = dialing.create_campaign(http, max_attempts=1, name="slots")
        dialing.add_leads(http, cid, plan)
        started = time.monotonic()
        http.post(f"/campaigns/{cid}/status", json={"status": "active"}).raise_for_status()
        deadline = started + calls * SLOT_CALL_SECONDS * time_scale / SLOT_CHANNELS * 3 + 120
        while time.monotonic() < deadline and sim.dials("KEYSIM_slots")["count"] < calls:
            time.sleep(0.5)
    truth = sim.dials("KEYSIM_slots")["dials"]
    first, last = truth[0]["monotonic"], truth[-1]["monotonic"]
    used = sim.channel_occupancy(first, last, "KEYSIM_slots")
    emit("local.slots.channels", SLOT_CHANNELS, "count")
    emit("local.slots.call_seconds_simulated", SLOT_CALL_SECONDS, "s")
    emit("local.slots.time_scale", time_scale, "ratio")
    emit("local.slots.calls", len(truth), "count")
    emit("local.slots.mean_in_use", used, "channels")
    emit("local.slots.utilization", used / SLOT_CHANNELS, "ratio")
    emit(
        "local.slots.channel_limit_rejections", sim.stats("KEYSIM_slots")["channel_limit_rejections"], "count"
    )
    sim.configure(time_scale=0.01, scenario_mix={"busy": 1.0})
    return 0


def _local_e2e(stack: Any, sim: Simulator, plan: list[dialing.PlannedLead]) -> int:
    sim.configure(
        time_scale=0.02,
        conversation_secs=(5.0, 15.0),
        scenario_mix={"human": 0.5, "voicemail": 0.2, "no_answer": 0.15, "busy": 0.15},
        number_scenarios={p.phone: "invalid_number" for p in plan if p.kind is dialing.Kind.INVALID},
    )
    with dialing.tenant_client(stack, "e2e", "KEYSIM_e2e") as http:
        _set_channel_limit(stack, "e2e", 20)
        cid = dialing.create_campaign(http, max_attempts=3, name="e2e")
        dialing.add_leads(http, cid, plan)
        started = time.monotonic()
        http.post(f"/campaigns/{cid}/status", json={"status": "active"}).raise_for_status()
        status = dialing.wait_status(http, cid, "completed", timeout=60 + len(plan) * 1.5)
        elapsed = time.monotonic() - started
        leads = dialing.pages(http, f"/campaigns/{cid}/leads")
    truth = sim.dials("KEYSIM_e2e")
    terminal = sum(1 for lead in leads if lead["status"] in ("reached", "exhausted", "invalid", "blocked"))
    emit("local.e2e.leads", len(plan), "count")
    emit("local.e2e.completed", int(status == "completed"), "bool")
    emit("local.e2e.wall_time", elapsed, "s")
    emit("local.e2e.leads_terminal", terminal, "count")
    emit("local.e2e.dials", truth["count"], "count")
    emit("local.e2e.dialled_twice", len(truth["command_ids_dialled_twice"]), "count")
    return int(status != "completed" or terminal != len(plan) or bool(truth["command_ids_dialled_twice"]))


def main(argv: list[str] | None = None) -> int:
    """Run the selected halves; exit 1 if a hard expectation (no double dial, completion) failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("local", "inprocess"))
    parser.add_argument("--slot-time-scale", type=float, default=0.25)
    parser.add_argument("--e2e-leads", type=int, default=E2E_LEADS)
    args = parser.parse_args(argv)
    failures = 0
    if args.only in (None, "local"):
        failures += local_stack(args)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

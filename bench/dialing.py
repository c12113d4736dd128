"""The dialing engine's numbers, in one run; prints ``name value unit`` lines.

Run (after ``make build``): ``PYTHONPATH=layers/telnyx_client:layers/core:. .venv/bin/python bench/dialing.py``
(``--only local|inprocess`` to run one half). The Telnyx simulator runs at its default limits
(30 dials/s, 150 per rolling 5 s) and is the ground truth of what was dialled and when.

Local stack (``python -m local.run`` on the ``sam build`` output: moto's server, one Lambda-like
process per function, the dispatcher and reaper on their schedules, webhooks through the intake):

- ``local.pacing.*``: 3,000 leads of one campaign, one attempt each, channel limit out of the way
  (3,000) and no webhooks sent back (dialling alone): achieved dials/s (first to last dial,
  ground truth) / the limit (``--local-dps``, default 30, on the tenant and the simulator
  account), and the 429s.
- ``local.slots.*``: a tenant limited to 20 channels, calls of ~60 s played at a time scale
  (``--slot-time-scale``, default 0.25: 15 s of wall clock): mean channels in use (ground
  truth, from the first call to the last call's start) / 20.
- ``local.e2e.*``: the "done when" campaign at 1,000 leads (tests/e2e/test_dialing.py runs fewer
  in CI): wall time to ``completed`` and whether every check held.

In-process (moto + the simulator + the engine's services on threads, as the engine's tests run
them), where this machine cannot drive 30 dials/s through the whole local stack:

- ``inprocess.pacing.*``: the same 3,000-lead pacing run.
- ``inprocess.pacing_at_scaled_limit.*``: the pacing logic at a limit this machine's moto can
  serve (``--scaled-dps``, default 2/s and 10 per 5 s, on the tenant and the simulator account;
  a minute of leads): achieved dials/s ÷ that limit, and the 429s.
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
            dials_per_second=args.local_dps,
            dials_per_5s=5 * args.local_dps,
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
            if args.pacing_leads:
                failures += _local_pacing(stack, sim, args.pacing_leads, args.local_dps)
            failures += _local_slots(stack, sim, args.slot_time_scale)
            if plan_e2e:
                failures += _local_e2e(stack, sim, plan_e2e)
        finally:
            stack.stop()
    return failures


def _set_channel_limit(stack: Any, tenant: str, limit: int) -> None:
    dialing.set_dialing(stack, tenant, channel_limit=limit)


def _local_pacing(stack: Any, sim: Simulator, leads: int, dps: int) -> int:
    plan = [p for p in dialing.population(leads * 2) if p.kind is dialing.Kind.CALLABLE][:leads]
    with dialing.tenant_client(stack, "pace", "KEYSIM_pace") as http:
        dialing.set_dialing(stack, "pace", channel_limit=leads, dials_per_second=dps, dials_per_5s=5 * dps)
        cid = dialing.create_campaign(http, max_attempts=1, name="pacing")
        dialing.add_leads(http, cid, plan)
        started = time.monotonic()
        http.post(f"/campaigns/{cid}/status", json={"status": "active"}).raise_for_status()
        deadline = started + leads / 3 + 120  # at worst 3 dials/s
        while time.monotonic() < deadline and sim.dials("KEYSIM_pace")["count"] < leads:
            time.sleep(1)
        elapsed = time.monotonic() - started
    truth = sim.dials("KEYSIM_pace")
    rate = dial_rate(truth["dials"])
    emit("local.pacing.leads", leads, "count")
    emit("local.pacing.dials", truth["count"], "count")
    emit("local.pacing.wall_time", elapsed, "s")
    emit("local.pacing.dials_per_s", rate, "per_s")
    emit("local.pacing.limit", dps, "per_s")
    emit("local.pacing.efficiency", rate / dps, "ratio")
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


# --- in-process -----------------------------------------------------------------------------------
def in_process(args: argparse.Namespace) -> int:
    """The in-process figures (moto as the local stack runs it: serialised per request, with its
    faster paths; see ``local.moto_dynamo.embedded_moto``)."""
    import os

    import boto3
    from moto import mock_aws

    from bench.dynamo_meter import DynamoMeter
    from local.moto_shims import embedded_moto
    from tests.support.aws import aws_env_defaults, function_environment, provision

    aws_env_defaults()
    # No handler flushes the engine's business metrics here, but a full group of values (webhook
    # lag) would still be written: the bench prints only its results.
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    from dialer.observability import get_logger

    get_logger().setLevel("WARNING")  # nor the engine's INFO lines (a 429 re-queued, ...)
    failures = 0
    with mock_aws(), embedded_moto():
        meter = DynamoMeter().install()  # after mock_aws: it replaces the default session
        stack = provision(lambda service: boto3.client(service, region_name="us-east-1"))
        os.environ.update(function_environment(stack))
        if args.pacing_leads:
            failures += _inprocess_pacing(stack, meter, args.pacing_leads)
        # The pacing logic itself, at a limit moto on this machine can serve (each dial costs ~28
        # DynamoDB requests before issue 21, and moto serves ~100 a second here): does the engine use all of it?
        if args.scaled_dps:
            failures += _inprocess_pacing(
                stack, meter, args.scaled_dps * 60, dps=args.scaled_dps, name="pacing_at_scaled_limit"
            )
        failures += _inprocess_dispatch_reads(stack, meter, args.dispatch_leads, args.paused_leads)
    return failures


def _harness(
    stack: Any, tenant: str, *, channel_limit: int, dials_per_second: int = LIMIT_DPS, **sim_config: Any
) -> Any:
    """The engine's own test harness (tests/integration/dialing) on a fresh table and simulator."""
    from local.simulator import WebhookReceiver
    from tests.integration.dialing.conftest import (
        Harness,
        ShiftedClock,
        SimAccounts,
        afternoon_offset,
        fresh_table,
    )

    receiver = WebhookReceiver(public_keys=[]).start()
    account = AccountConfig(
        api_key=f"KEY_{tenant}",
        webhook_url=f"{receiver.url}/webhooks/telnyx/{tenant}",
        channel_limit=channel_limit,
        dials_per_second=dials_per_second,
        dials_per_5s=5 * dials_per_second,
    )
    config = SimulatorConfig(accounts=(account,), strict_assistant_ids=False, **sim_config)
    sim = Simulator(config).start()
    receiver.public_keys.append(sim.public_key_b64)
    harness = Harness(
        stack,
        sim,
        receiver,
        ShiftedClock(afternoon_offset()),
        SimAccounts(sim),
        tenant=tenant,
        table_name=fresh_table(f"bench-{tenant}"),
    )
    harness.seed_tenant(
        channel_limit=channel_limit, dials_per_second=dials_per_second, dials_per_5s=5 * dials_per_second
    )
    return harness


def _inprocess_pacing(
    stack: Any, meter: Any, leads: int, *, dps: int = LIMIT_DPS, name: str = "pacing"
) -> int:
    """``leads`` one-attempt leads dialled against an account (and tenant) limit of ``dps``."""
    import threading

    harness = _harness(
        stack,
        f"pace{dps}",
        channel_limit=leads,
        dials_per_second=dps,
        time_scale=0.01,
        scenario_mix={"busy": 1.0},
    )
    sim = harness.sim
    try:
        harness.campaign(leads)
        meter.reset()
        done = threading.Event()

        def dispatch() -> None:
            dispatcher = harness.dispatcher(tick_seconds=1.0)
            while not done.is_set():
                dispatcher.run(seconds=2.0)

        thread = threading.Thread(target=dispatch, daemon=True)
        started = time.monotonic()
        thread.start()
        deadline = started + leads / 3 + 60
        watcher = threading.Thread(target=lambda: _wait_dials(sim, leads, deadline, done), daemon=True)
        watcher.start()
        harness.pump_dials(
            [harness.dialer(), harness.dialer()], workers=16, max_idle_rounds=10**9, should_stop=done.is_set
        )
        thread.join(10)
        elapsed = time.monotonic() - started
        harness.settle(60)  # every call's webhooks through the event processor: its writes count too
        used = meter.reset()
        truth = sim.dials()
        dials = truth["count"]
        rate = dial_rate(truth["dials"])
        emit(f"inprocess.{name}.limit", dps, "per_s")
        emit(f"inprocess.{name}.leads", leads, "count")
        emit(f"inprocess.{name}.dials", dials, "count")
        emit(f"inprocess.{name}.wall_time", elapsed, "s")
        emit(f"inprocess.{name}.dials_per_s", rate, "per_s")
        emit(f"inprocess.{name}.efficiency", rate / dps, "ratio")
        emit(f"inprocess.{name}.rate_limited_429", sim.stats()["rate_limited_429"], "count")
        emit(f"inprocess.{name}.dialled_twice", len(truth["command_ids_dialled_twice"]), "count")
        # Every call settled: every slot is back, and the counter agrees with the leases.
        held = harness.dialing.slots_in_use(harness.tenant)
        leases = len(harness.dialing.held_slots(harness.tenant))
        emit(f"inprocess.{name}.slots_held_after", held, "count")
        emit(f"inprocess.{name}.slot_leases_after", leases, "count")
        if dps == LIMIT_DPS:
            _per_dial(used, sim, dials)
        return int(bool(truth["command_ids_dialled_twice"]) or held != 0 or leases != 0)
    finally:
        sim.stop()
        harness.receiver.stop()


def _wait_dials(sim: Simulator, count: int, deadline: float, done: Any) -> None:
    while time.monotonic() < deadline and sim.dials()["count"] < count:
        time.sleep(0.5)
    done.set()


def _per_dial(used: Any, sim: Simulator, dials: int) -> None:
    """Requests and units per dial, and the partitions that take the most writes per dial."""
    if not dials:
        return
    writes = sum(used.write_units.values())
    reads = sum(used.read_units.values())
    telnyx = sum(sim.stats()["requests"].values())
    emit("inprocess.per_dial.dynamodb_requests", used.total_requests() / dials, "requests")
    for operation, count in sorted(used.requests.items()):
        emit(f"inprocess.per_dial.dynamodb_requests.{operation}", count / dials, "requests")
    for target, count in used.targets.most_common(30):
        print(f"# {count / dials:.2f} requests/dial: {target}", flush=True)
    emit("inprocess.per_dial.dynamodb_write_units", writes / dials, "WCU")
    emit("inprocess.per_dial.dynamodb_read_units", reads / dials, "RCU")
    emit("inprocess.per_dial.telnyx_requests", telnyx / dials, "requests")
    (index, partition), units = used.hottest(used.write_units)
    emit("inprocess.per_dial.hottest_partition_write_units", units / dials, "WCU")
    print(f"# hottest partition: {index} {dialing_class(partition)}", flush=True)
    for (index, cls), value in used.by_class(used.write_units).most_common():
        emit(f"inprocess.per_dial.write_units.{index}.{cls}", value / dials, "WCU")


def dialing_class(partition: str) -> str:
    """A partition key without its ids (printed, never a phone number)."""
    from bench.dynamo_meter import partition_class

    return partition_class(partition)


def _add_leads(harness: Any, campaign_id: str, start: int, count: int) -> None:
    """``count`` consented, scrubbed leads through the real lead service (due at the harness's "now")."""
    from datetime import timedelta

    from dialer.services.campaign_models import LeadInput
    from dialer.services.campaigns import CampaignsService
    from dialer.services.leads import LeadsService
    from tests.integration.dialing.conftest import phone

    now = harness.clock()
    service = CampaignsService(harness.tenant, harness.campaigns, harness.management, clock=harness.clock)
    leads = LeadsService(harness.tenant, harness.campaigns, service, clock=harness.clock)
    consent = {
        "type": "express_written",
        "source": "web",
        "granted_at": (now - timedelta(days=3)).isoformat(),
    }
    for i in range(start, start + count, 1000):
        batch = [
            LeadInput.model_validate(
                {
                    "phone": phone(j),
                    "consent": consent,
                    "dnc_scrubbed_at": (now - timedelta(days=1)).isoformat(),
                }
            )
            for j in range(i, min(start + count, i + 1000))
        ]
        result = leads.add_batch(campaign_id, batch)
        assert result.rejected == 0, result.errors[:3]


def _inprocess_dispatch_reads(stack: Any, meter: Any, leads: int, paused: int) -> int:
    """Items a dispatcher reads per lead it claims or defers, with 100k leads of which 500 are due
    and a paused campaign holding 50k due leads."""
    from datetime import timedelta

    from dialer.domain.campaigns import CampaignStatus

    due = 500
    harness = _harness(stack, "reads", channel_limit=10_000, time_scale=0.01, scenario_mix={"busy": 1.0})
    try:
        seeding = time.monotonic()
        big = harness.campaign(0)
        held = harness.campaign(0)
        harness.clock.offset += timedelta(days=1)  # created (hence first due) tomorrow
        _add_leads(harness, big, 0, leads - due)
        harness.clock.offset -= timedelta(days=1)
        _add_leads(harness, big, leads - due, due)
        _add_leads(harness, held, leads, paused)
        harness.move(held, CampaignStatus.PAUSED)
        emit("inprocess.dispatch.leads", leads, "count")
        emit("inprocess.dispatch.due", due, "count")
        emit("inprocess.dispatch.paused_due", paused, "count")
        emit("inprocess.dispatch.seed_time", time.monotonic() - seeding, "s")
        meter.reset()
        dispatcher = harness.dispatcher(tick_seconds=1.0)
        first = None
        total_read = total_done = ticks = 0
        deadline = time.monotonic() + 120
        while total_done < due and time.monotonic() < deadline:
            report = dispatcher.tick(ticks)
            ticks += 1
            done = report.claimed + report.deferred + report.ended
            total_read += report.items_read
            total_done += done
            if first is None and done:
                first = report.items_read / done
            time.sleep(max(0.0, 1.0 - 0.001))
        used = meter.reset()
        emit("inprocess.dispatch.ticks", ticks, "count")
        emit("inprocess.dispatch.leads_claimed_or_deferred", total_done, "count")
        emit("inprocess.dispatch.items_read_per_lead", total_read / max(1, total_done), "ratio")
        emit("inprocess.dispatch.items_read_per_lead_first_tick", first or 0.0, "ratio")
        emit(
            "inprocess.dispatch.dynamodb_items_scanned_per_lead",
            used.items_read / max(1, total_done),
            "ratio",
        )
        return int(total_done < due)
    finally:
        harness.sim.stop()
        harness.receiver.stop()


def main(argv: list[str] | None = None) -> int:
    """Run the selected halves; exit 1 if a hard expectation (no double dial, completion) failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("local", "inprocess"))
    parser.add_argument("--slot-time-scale", type=float, default=0.25)
    parser.add_argument("--e2e-leads", type=int, default=E2E_LEADS, help="0 skips the local e2e run")
    parser.add_argument("--pacing-leads", type=int, default=PACING_LEADS, help="0 skips the local pacing run")
    parser.add_argument("--local-dps", type=int, default=LIMIT_DPS, help="limit of the local pacing run")
    parser.add_argument("--scaled-dps", type=int, default=2, help="limit of the scaled pacing run")
    parser.add_argument("--dispatch-leads", type=int, default=100_000)
    parser.add_argument("--paused-leads", type=int, default=50_000)
    args = parser.parse_args(argv)
    failures = 0
    if args.only in (None, "inprocess"):
        failures += in_process(args)
    if args.only in (None, "local"):
        failures += local_stack(args)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

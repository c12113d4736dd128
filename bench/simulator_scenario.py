"""Scripted scenario against the Telnyx simulator; prints ``name value unit`` lines.

Run: ``PYTHONPATH=layers/telnyx_client:. .venv/bin/python bench/simulator_scenario.py``

Inputs (printed too): 200 Call Control dials paced at 50/s on one account with Telnyx's default
limits (30 dials/s, 150 per rolling 5 s); channel limit raised to 1000 so the dial limit is what
shows; default scenario mix; time_scale 0.01 (a 2-minute call plays in 1.2 s); webhook
duplicate rate 0.10 and reorder rate 0.20. Webhooks go to a local receiver that verifies every
signature with ``telnyx_client.signature.verify`` (``local.simulator.WebhookReceiver``).
Measured rates are computed from what the receiver saw, next to the configured ones and the
simulator's own ground truth.
"""

from __future__ import annotations

import statistics
import sys
import time

import httpx

from local.simulator import AccountConfig, Simulator, SimulatorConfig, WebhookReceiver
from local.simulator.testing import dial_body

DIALS = 200
RATE = 50.0
DUPLICATE_RATE = 0.10
REORDER_RATE = 0.20
TIME_SCALE = 0.01


def emit(name: str, value: float | int, unit: str) -> None:
    """One benchmark line."""
    text = f"{value:.4f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
    print(f"{name} {text} {unit}")


def main() -> int:
    """Run the scenario; return a process exit code (1 if a hard expectation fails)."""
    receiver = WebhookReceiver(public_keys=[]).start()
    config = SimulatorConfig(
        accounts=(
            AccountConfig(api_key="KEY_BENCH", webhook_url=receiver.url + "/webhooks", channel_limit=1000),
        ),
        time_scale=TIME_SCALE,
        duplicate_rate=DUPLICATE_RATE,
        reorder_rate=REORDER_RATE,
        seed=7,
        strict_assistant_ids=False,
    )
    sim = Simulator(config).start()
    receiver.public_keys.append(sim.public_key_b64)
    failures = 0
    try:
        emit("input.dials", DIALS, "count")
        emit("input.dial_rate", RATE, "per_s")
        emit("input.time_scale", TIME_SCALE, "ratio")
        statuses: list[int] = []
        latencies: list[float] = []
        with httpx.Client(base_url=sim.base_url, headers={"Authorization": "Bearer KEY_BENCH"}) as client:
            started = time.monotonic()
            for i in range(DIALS):
                due = started + i / RATE
                time.sleep(max(0.0, due - time.monotonic()))
                t0 = time.perf_counter()
                response = client.post(
                    "/calls", json=dial_body(f"+1555100{i:04d}", assistant={"id": "assistant-b"})
                )
                latencies.append((time.perf_counter() - t0) * 1000)
                statuses.append(response.status_code)
            elapsed = time.monotonic() - started
            accepted = statuses.count(200)
            limited = statuses.count(429)
            emit("dial.wall_time", elapsed, "s")
            emit("dial.accepted", accepted, "count")
            emit("dial.rejected_429", limited, "count")
            emit("dial.accepted_rate", accepted / elapsed, "per_s")
            emit("dial.latency_p50", statistics.median(latencies), "ms")
            emit("dial.latency_p95", statistics.quantiles(latencies, n=20)[18], "ms")
            failures += int(limited == 0 or accepted / elapsed > 31)

            # A repeated command_id inside 60 s returns the first answer and places no call.
            time.sleep(1.1)  # let the 1-second window drain so the dial limit is not what we measure
            before = sim.stats()["calls_by_number"].get("+15559990001", 0)
            first = client.post("/calls", json=dial_body("+15559990001", command_id="bench-attempt-1"))
            second = client.post("/calls", json=dial_body("+15559990001", command_id="bench-attempt-1"))
            placed = sim.stats()["calls_by_number"].get("+15559990001", 0) - before
            same = first.json() == second.json()
            emit("command_id.requests", 2, "count")
            emit("command_id.calls_placed", placed, "count")
            emit("command_id.same_response", int(same), "bool")
            failures += int(placed != 1 or not same)

        idle = sim.wait_idle(120)
        time.sleep(0.2)
        items = receiver.items()
        stats = sim.stats()
        first_seen: dict[str, str] = {}
        latest: dict[str, str] = {}
        inversions = 0
        for item in items:
            doc = item.json()
            event_id = doc["data"]["id"]
            if event_id in first_seen:
                continue
            first_seen[event_id] = doc["data"]["occurred_at"]
            call = doc["data"]["payload"]["call_control_id"]
            if doc["data"]["occurred_at"] < latest.get(call, ""):
                inversions += 1
            latest[call] = max(latest.get(call, ""), doc["data"]["occurred_at"])
        distinct = len(first_seen)
        emit("webhooks.all_played_out", int(idle), "bool")
        emit("webhooks.received", len(items), "count")
        emit("webhooks.distinct_events", distinct, "count")
        emit("webhooks.events_emitted_ground_truth", sum(stats["events_emitted"].values()), "count")
        emit("webhooks.signature_valid", sum(1 for r in items if r.verified) / max(1, len(items)), "ratio")
        emit("webhooks.duplicate_rate_configured", DUPLICATE_RATE, "ratio")
        emit("webhooks.duplicate_rate_measured", (len(items) - distinct) / max(1, distinct), "ratio")
        emit("webhooks.duplicates_ground_truth", stats["duplicates_sent"], "count")
        emit("webhooks.reorder_rate_configured", REORDER_RATE, "ratio")
        emit("webhooks.reorder_rate_measured", inversions / max(1, distinct), "ratio")
        emit("webhooks.reordered_ground_truth", stats["reordered"], "count")
        emit("webhooks.reordered_measured", inversions, "count")
        for scenario, count in sorted(stats["scenarios"].items()):
            emit(f"calls.scenario.{scenario}", count, "count")
        failures += int(not idle or any(not r.verified for r in items) or inversions != stats["reordered"])
    finally:
        sim.stop()
        receiver.stop()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

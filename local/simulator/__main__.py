"""CLI: ``PYTHONPATH=layers/telnyx_client:. .venv/bin/python -m local.simulator --port 8790 [...]``.

The simulator imports ``telnyx_client.signature`` from the layer, hence the ``PYTHONPATH``.
Each ``--account KEY[=WEBHOOK_URL]`` is one Telnyx account (tenant) with its own state, limits
and signing key; the public keys are printed at start and served at ``GET /_sim/public_keys``
and, per account, at ``GET /v2/public_key``.
"""

from __future__ import annotations

import argparse
import json
import logging

from local.simulator.config import AccountConfig, Scenario, SimulatorConfig, parse_mix
from local.simulator.server import Simulator


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(prog="python -m local.simulator", description="Local Telnyx simulator")
    p.add_argument("--port", type=int, default=8790)
    p.add_argument(
        "--account",
        action="append",
        default=[],
        metavar="KEY[=WEBHOOK_URL]",
        help="an API key (repeatable); optional default webhook URL of that account",
    )
    p.add_argument(
        "--scenario-mix",
        type=parse_mix,
        default=None,
        metavar="human=0.5,voicemail=0.2,...",
        help=f"scenario weights; names: {', '.join(s.value for s in Scenario)}",
    )
    p.add_argument(
        "--number-scenario",
        action="append",
        default=[],
        metavar="+1555...=busy",
        help="force the scenario of a callee number (repeatable)",
    )
    p.add_argument("--time-scale", type=float, default=1.0, help="real seconds per simulated second")
    p.add_argument(
        "--clock-offset",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="shift event timestamps (the product's local CLOCK_OFFSET_SECONDS)",
    )
    p.add_argument(
        "--conversation-secs",
        default=None,
        metavar="MIN,MAX",
        help="simulated length of an answered conversation (default 30,150)",
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--channel-limit", type=int, default=10)
    p.add_argument("--duplicate-rate", type=float, default=0.0)
    p.add_argument("--reorder-rate", type=float, default=0.0)
    p.add_argument("--extra-delay", type=float, default=0.0, help="simulated seconds, jittered 0..x")
    p.add_argument("--error-5xx-rate", type=float, default=0.0)
    p.add_argument("--slow-rate", type=float, default=0.0)
    p.add_argument("--slow-seconds", type=float, default=0.0)
    p.add_argument(
        "--lenient-assistants",
        action="store_true",
        help="unknown assistant ids start normally instead of call.conversation.start_failed",
    )
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def main(argv: list[str] | None = None) -> None:
    """Start the simulator and block."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(message)s"
    )
    accounts = []
    for spec in args.account or ["KEYSIM_default"]:
        key, _, url = spec.partition("=")
        accounts.append(AccountConfig(api_key=key, webhook_url=url or None, channel_limit=args.channel_limit))
    config = SimulatorConfig(
        accounts=tuple(accounts),
        seed=args.seed,
        time_scale=args.time_scale,
        port=args.port,
        number_scenarios={
            k: Scenario(v).value for k, _, v in (s.partition("=") for s in args.number_scenario)
        },
        duplicate_rate=args.duplicate_rate,
        reorder_rate=args.reorder_rate,
        extra_delay_s=args.extra_delay,
        error_5xx_rate=args.error_5xx_rate,
        slow_response_rate=args.slow_rate,
        slow_response_s=args.slow_seconds,
        strict_assistant_ids=not args.lenient_assistants,
        clock_offset_s=args.clock_offset,
    )
    if args.conversation_secs:
        low, _, high = args.conversation_secs.partition(",")
        config.conversation_secs = (float(low), float(high or low))
    if args.scenario_mix:
        config.scenario_mix = args.scenario_mix
    sim = Simulator(config)
    sim.start()
    print(f"telnyx simulator on {sim.base_url} (control: {sim.root_url}/_sim/state)")
    print(json.dumps({a.api_key[-4:]: sim.public_key_for(a.api_key) for a in accounts}, indent=None))
    try:
        sim.serve_forever()
    finally:
        sim.stop()


if __name__ == "__main__":
    main()

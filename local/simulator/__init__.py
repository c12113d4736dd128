"""A local Telnyx simulator: REST v2 with state, and calls played out as signed webhooks.

It stands in for ``https://api.telnyx.com/v2`` for the product, the demo and load tests:
AI assistants (+ versions, scheduled events), Call Control dial and actions, TeXML AI calls, AI
conversations and insights, phone numbers; per-account API keys, limits (30 dials/s, 150 per
5 s, channel limit), ``command_id`` de-duplication, fault injection, and Telnyx-like webhook
delivery (Ed25519-signed, retried, optionally duplicated, reordered and delayed). Wire facts come
from the team's wire notes (WIRE.md, cited by section), Telnyx's spec and the example events in
``tests/fixtures/telnyx``.

Run it::

    PYTHONPATH=layers/telnyx_client:. .venv/bin/python -m local.simulator --port 8790 \\
        --account KEYSIM_default=http://127.0.0.1:3000/webhooks/telnyx/default --time-scale 0.1

or in-process::

    from local.simulator import Simulator, SimulatorConfig
    with Simulator(SimulatorConfig(time_scale=0.001)) as sim:
        ...  # sim.base_url, sim.api_key, sim.public_key_b64, sim.wait_idle(), sim.stats()
"""

from local.simulator.config import AccountConfig, Scenario, SimulatorConfig, parse_mix
from local.simulator.receiver import Received, WebhookReceiver
from local.simulator.server import Simulator

__all__ = [
    "AccountConfig",
    "Received",
    "Scenario",
    "Simulator",
    "SimulatorConfig",
    "WebhookReceiver",
    "parse_mix",
]

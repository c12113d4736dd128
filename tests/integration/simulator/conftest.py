"""Fixtures: an in-process simulator (time runs 1000x faster) and a verifying webhook receiver."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from local.simulator import AccountConfig, Simulator, SimulatorConfig, WebhookReceiver

FAST = 0.001  # a 2-minute conversation plays in 0.12 s


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    """A webhook receiver; the ``sim`` fixture adds its account keys."""
    rx = WebhookReceiver(public_keys=[]).start()
    yield rx
    rx.stop()


@pytest.fixture
def make_sim(receiver: WebhookReceiver) -> Iterator[Callable[..., Simulator]]:
    """Factory: ``make_sim(**config)`` starts a simulator whose accounts deliver to ``receiver``."""
    started: list[Simulator] = []

    def make(**changes: Any) -> Simulator:
        accounts = changes.pop("accounts", None) or (
            AccountConfig(api_key="KEY_A", webhook_url=receiver.url + "/a"),
        )
        config = SimulatorConfig(
            accounts=accounts,
            time_scale=changes.pop("time_scale", FAST),
            retry_delays_s=changes.pop("retry_delays_s", (1.0, 2.0, 4.0)),
            **changes,
        )
        sim = Simulator(config).start()
        receiver.public_keys.extend(sim.public_key_for(a.api_key) for a in accounts)
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(make_sim: Callable[..., Simulator]) -> Simulator:
    """A default simulator: one account ``KEY_A``, default mix, no faults."""
    return make_sim()


@pytest.fixture
def api(sim: Simulator) -> Iterator[httpx.Client]:
    """An httpx client authenticated as the first account."""
    with httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Bearer {sim.api_key}"}) as client:
        yield client

"""Fixtures for the client unit tests (fakes live in ``telnyx_fakes``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from telnyx_fakes import FakeClock, Script

from telnyx_client.client import TelnyxClient


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(clock: FakeClock) -> Callable[..., tuple[TelnyxClient, Script]]:
    """A client over a scripted transport; jitter is pinned to its ceiling so delays are exact."""

    def build(*replies: Any, **kwargs: Any) -> tuple[TelnyxClient, Script]:
        script = Script(list(replies))
        kwargs.setdefault("jitter", lambda low, high: high)
        client = TelnyxClient(
            "KEY_TEST",
            transport=httpx.MockTransport(script),
            clock=clock,
            sleep=clock.sleep,
            wall_clock=lambda: 1_700_000_000.0,
            **kwargs,
        )
        return client, script

    return build

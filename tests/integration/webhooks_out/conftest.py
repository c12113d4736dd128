"""Two tenants of their own for the webhook-endpoints tests (no Telnyx needed)."""

from __future__ import annotations

import pytest

from tests.integration.management.conftest import Tenant, bootstrap
from tests.support.aws import MotoStack


@pytest.fixture(scope="session")
def tenants(moto_stack: MotoStack) -> dict[str, Tenant]:
    return {"alpha": bootstrap("whalpha", "KEY_WHALPHA"), "bravo": bootstrap("whbravo", "KEY_WHBRAVO")}


@pytest.fixture
def alpha(tenants: dict[str, Tenant]) -> Tenant:
    return tenants["alpha"]


@pytest.fixture
def bravo(tenants: dict[str, Tenant]) -> Tenant:
    return tenants["bravo"]

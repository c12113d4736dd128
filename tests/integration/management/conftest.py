"""Management API in-process: the authorizer and assistants_api handlers against moto, with the Telnyx
simulator (two accounts, one per tenant) as Telnyx. Tenants are bootstrapped with the same service the
CLI uses."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest

from local.simulator import AccountConfig, Simulator, SimulatorConfig
from tests.integration.conftest import load_handler
from tests.support.aws import PARAM_PREFIX, MotoStack
from tests.support.management import InProcessApi


@dataclass(frozen=True)
class Tenant:
    """A bootstrapped tenant: its id, API key and Telnyx (simulator) account key."""

    tenant_id: str
    api_key: str
    telnyx_key: str
    key_id: str


@pytest.fixture(scope="session")
def telnyx_sim() -> Iterator[Simulator]:
    """The Telnyx simulator with one account per tenant (different numbers, so ids never overlap)."""
    sim = Simulator(
        SimulatorConfig(
            accounts=(
                AccountConfig(api_key="KEY_ALPHA", phone_numbers=("+15550001001", "+15550001002")),
                AccountConfig(api_key="KEY_BRAVO", phone_numbers=("+15550002001",)),
            ),
            time_scale=0.001,
        )
    ).start()
    yield sim
    sim.stop()


@pytest.fixture(scope="session")
def mgmt_env(moto_stack: MotoStack, telnyx_sim: Simulator) -> Iterator[None]:
    """Point the functions at the simulator."""
    saved = os.environ.get("TELNYX_BASE_URL")
    os.environ["TELNYX_BASE_URL"] = telnyx_sim.base_url
    os.environ["TELNYX_TIMEOUT_SECONDS"] = "5"
    yield
    if saved is None:
        os.environ.pop("TELNYX_BASE_URL", None)
    else:
        os.environ["TELNYX_BASE_URL"] = saved


def bootstrap(tenant_id: str, telnyx_key: str) -> Tenant:
    """Create a tenant, its first API key and its secrets, as ``scripts/tenant.py bootstrap`` does."""
    from dialer.adapters.secrets import TenantSecrets
    from dialer.adapters.tenants_table import TenantsTable
    from dialer.services.tenants import TenantAdmin
    from dialer.settings import get_settings

    get_settings.cache_clear()
    admin = TenantAdmin(
        TenantsTable(get_settings().table_name, client=boto3.client("dynamodb")),
        TenantSecrets(PARAM_PREFIX, client=boto3.client("ssm")),
    )
    admin.create_tenant(tenant_id)
    issued = admin.issue_api_key(tenant_id, "first key")
    admin.set_secrets(tenant_id, telnyx_api_key=telnyx_key, generate_tool_secret=True)
    return Tenant(tenant_id, issued.plaintext, telnyx_key, issued.record.key_id)


@pytest.fixture(scope="session")
def tenants(mgmt_env: None) -> dict[str, Tenant]:
    """Two tenants, alpha and bravo, each with its own Telnyx account."""
    return {"alpha": bootstrap("alpha", "KEY_ALPHA"), "bravo": bootstrap("bravo", "KEY_BRAVO")}


def _fresh(module: ModuleType) -> ModuleType:
    for name in ("authenticator", "_table", "_secrets", "_accounts", "_admin"):
        cached = getattr(module, name, None)
        if cached is not None and hasattr(cached, "cache_clear"):
            cached.cache_clear()
    return module


@pytest.fixture
def api(aws: dict[str, Any], tenants: dict[str, Tenant]) -> InProcessApi:
    """The management API, with fresh caches."""
    return InProcessApi(_fresh(load_handler("authorizer")), _fresh(load_handler("assistants_api")))


@pytest.fixture
def alpha(tenants: dict[str, Tenant]) -> Tenant:
    return tenants["alpha"]


@pytest.fixture
def bravo(tenants: dict[str, Tenant]) -> Tenant:
    return tenants["bravo"]


MINIMAL_ASSISTANT = {"name": "Lead qualifier", "instructions": "You are Ava. Qualify {{first_name}}."}

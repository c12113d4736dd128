"""The management API over HTTP on the local stack, with the Telnyx simulator as Telnyx.

Needs the local gateway to run the template's Lambda authorizer (``Auth.DefaultAuthorizer``, TOKEN,
``Authorization`` header) and pass ``requestContext.authorizer`` on, as API Gateway does.

1. "Done when": bootstrap a tenant, then with its API key create, list, patch (one field changes
   upstream, the rest do not), clone, version, sync and delete an assistant.
2. schemathesis over every operation of docs/openapi.json: no 5xx, no response that violates it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis

from local.simulator import AccountConfig, Simulator, SimulatorConfig
from tests.support.conformance import assert_operation_conforms

pytestmark = pytest.mark.e2e
STAGE = "local"
DOCUMENT_PATH = "docs/openapi.json"


@pytest.fixture(scope="module")
def telnyx() -> Iterator[Simulator]:
    sim = Simulator(SimulatorConfig(accounts=(AccountConfig(api_key="KEY_E2E"),), time_scale=0.001)).start()
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def stack(
    local_stack_process: Any, telnyx: Simulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """A stack of our own: its functions must call the simulator (TelnyxBaseUrl)."""
    from tests.e2e.conftest import BUILT_TEMPLATE

    args = [
        "--parameter-overrides",
        f"Stage={STAGE}",
        f"TelnyxBaseUrl={telnyx.base_url}",
        "--schedule-period",
        "0",
    ]
    running = local_stack_process(BUILT_TEMPLATE, tmp_path_factory.mktemp("mgmt-stack"), args).start()
    yield running
    assert not running.stop()


@pytest.fixture(scope="module")
def api_key(stack: Any) -> str:
    """Bootstrap a tenant the way the CLI does (scripts/tenant.py bootstrap) and return its first key."""
    from dialer.adapters.secrets import TenantSecrets
    from dialer.adapters.tenants_table import TenantsTable
    from dialer.services.tenants import TenantAdmin

    admin = TenantAdmin(
        TenantsTable(stack.resources["StateTable"], client=stack.boto3_client("dynamodb")),
        TenantSecrets(f"/telnyx-ai-dialer/{STAGE}", client=stack.boto3_client("ssm")),
    )
    admin.create_tenant("e2e")
    admin.set_secrets("e2e", telnyx_api_key="KEY_E2E", generate_tool_secret=True)
    return admin.issue_api_key("e2e", "e2e").plaintext


@pytest.fixture(scope="module")
def http(stack: Any, api_key: str) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=stack.api_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30
    ) as client:
        yield client


def test_done_when(http: httpx.Client, stack: Any, telnyx: Simulator) -> None:
    account = telnyx.account("KEY_E2E")
    # Nothing answers without credentials.
    assert httpx.get(f"{stack.api_url}/assistants", timeout=30).status_code == 401

    created = http.post(
        "/assistants",
        json={
            "name": "Lead qualifier",
            "instructions": "Qualify {{first_name}}.",
            "telephony_settings": {"time_limit_secs": 600, "user_idle_timeout_secs": 30},
        },
    )
    assert created.status_code == 201, created.text
    assistant_id = created.json()["id"]
    assert assistant_id in {a["id"] for a in http.get("/assistants").json()["data"]}

    with account.lock:
        before = json.loads(json.dumps(account.assistants[assistant_id]))
    patched = http.patch(f"/assistants/{assistant_id}", json={"telephony_settings": {"time_limit_secs": 900}})
    assert patched.status_code == 200, patched.text
    with account.lock:
        after = json.loads(json.dumps(account.assistants[assistant_id]))
    assert after["telephony_settings"] == {**before["telephony_settings"], "time_limit_secs": 900}
    versioning = {"telephony_settings", "version_id", "version_created_at", "version_name"}
    assert {k: v for k, v in after.items() if k not in versioning} == {
        k: v for k, v in before.items() if k not in versioning
    }

    clone = http.post(f"/assistants/{assistant_id}/clone")
    assert clone.status_code == 201
    versions = http.get(f"/assistants/{assistant_id}/versions").json()["data"]
    assert len(versions) == 2
    promoted = http.post(f"/assistants/{assistant_id}/versions/{versions[-1]['version_id']}/promote")
    assert promoted.status_code == 200
    synced = http.post("/assistants/sync").json()
    assert synced["total_upstream"] >= 2
    assert http.delete(f"/assistants/{assistant_id}").status_code == 204
    assert http.get(f"/assistants/{assistant_id}").status_code == 404

    docs = httpx.get(f"{stack.api_url}/docs", params={"format": "json"}, timeout=30)
    assert docs.status_code == 200
    assert "/assistants" in docs.json()["paths"]


OPERATIONS = [
    f"{method.upper()} {path}"
    for path, ops in json.loads(open(DOCUMENT_PATH).read())["paths"].items()  # noqa: SIM115
    for method in ops
]


@pytest.mark.parametrize("label", OPERATIONS)
def test_schemathesis(stack: Any, api_key: str, label: str) -> None:
    schema = schemathesis.openapi.from_path(DOCUMENT_PATH)
    schema.config.update(base_url=stack.api_url)
    operation = schema.find_operation_by_label(label)
    assert_operation_conforms(operation, api_key, max_examples=20)

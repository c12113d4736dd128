"""Every route of template.yaml against the hostile corpus, over HTTP on the local stack (issue 22).

The same corpus as tests/integration/management/test_hostile_routes.py (tests/support/hostile.py),
sent through the local gateway with valid credentials: an API key for the management routes, the
tenant's Ed25519 key and tool secret for the Telnyx-facing ones. Asserts: no 5xx, no stack trace in a
body, and the dead-letter queues unchanged once the events the intake accepted have been processed.
The tenant has no Telnyx API key, so no request can reach Telnyx (a route that would is a 409).
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.support.hostile import Probe, assert_no_crash, probes
from tests.support.signing import new_signer

pytestmark = pytest.mark.e2e
STAGE = "local"


def _admin(local_stack: Any) -> Any:
    from dialer.adapters.secrets import TenantSecrets
    from dialer.adapters.tenants_table import TenantsTable
    from dialer.services.tenants import TenantAdmin

    return TenantAdmin(
        TenantsTable(local_stack.resources["StateTable"], client=local_stack.boto3_client("dynamodb")),
        TenantSecrets(f"/telnyx-ai-dialer/{STAGE}", client=local_stack.boto3_client("ssm")),
    )


def _tenant(local_stack: Any, tenant_id: str) -> tuple[str, dict[str, str]]:
    """A tenant with an API key, a tool secret, an assistant mirror, a caller ID, a campaign and a
    lead of its own; returns its key and its ids by path-parameter name."""
    from datetime import UTC, datetime

    from dialer.adapters.management_table import AssistantMirror, CallerIdRecord, ManagementTable

    admin = _admin(local_stack)
    admin.create_tenant(tenant_id)
    admin.set_secrets(tenant_id, generate_tool_secret=True)
    key = admin.issue_api_key(tenant_id, "hostile").plaintext
    table = ManagementTable(local_stack.resources["StateTable"], client=local_stack.boto3_client("dynamodb"))
    now = datetime.now(UTC).isoformat()
    ids = {"assistant_id": f"assistant-hostile-{tenant_id}", "caller_id_id": f"cid_hostile_{tenant_id}"}
    table.put_mirror(
        AssistantMirror(tenant_id, ids["assistant_id"], "Ava", "v1", "main", "texml-1", now, now)
    )
    table.put_caller_id(
        CallerIdRecord(tenant_id, ids["caller_id_id"], "+15550009001", 100, True, now, now), new=True
    )
    with httpx.Client(
        base_url=local_stack.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
    ) as http:
        body = {"name": "Hostile", "assistant_id": ids["assistant_id"], "caller_ids": [ids["caller_id_id"]]}
        campaign = http.post("/campaigns", json=body)
        assert campaign.status_code == 201, campaign.text
        ids["campaign_id"] = campaign.json()["id"]
        leads = http.post(
            f"/campaigns/{ids['campaign_id']}/leads",
            json={"leads": [{"phone": "+12125550142", "time_zone": "America/New_York"}]},
        )
        assert leads.status_code == 200, leads.text
        ids["lead_id"] = leads.json()["lead_ids"][0]
    return key, ids


def _dead_letters(local_stack: Any) -> dict[str, int]:
    sqs = local_stack.boto3_client("sqs")
    counts = {}
    for logical, url in local_stack.resources.items():
        if "DeadLetter" in logical and str(url).startswith("http"):
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            counts[logical] = int(attributes["ApproximateNumberOfMessages"]) + int(
                attributes["ApproximateNumberOfMessagesNotVisible"]
            )
    return counts


def _wait_until_processed(local_stack: Any, timeout: float = 45.0) -> None:
    sqs = local_stack.boto3_client("sqs")
    url = local_stack.resources["EventsQueue"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        if (
            int(attributes["ApproximateNumberOfMessages"])
            + int(attributes["ApproximateNumberOfMessagesNotVisible"])
            == 0
        ):
            return
        time.sleep(0.5)
    raise AssertionError("the events the intake accepted were not all processed (one keeps failing)")


@pytest.fixture(scope="module")
def hostile_setup(local_stack: Any) -> dict[str, Any]:
    key, own = _tenant(local_stack, "hostile-a")
    _, other = _tenant(local_stack, "hostile-b")
    signer = new_signer(seed=41)
    local_stack.seed_tenant("hostile-a", signer.public_key_b64)
    secret = _admin(local_stack).secrets.tool_secret("hostile-a")
    return {"key": key, "own": own, "other": other, "signer": signer, "secret": secret}


def test_every_route_survives_the_hostile_corpus(local_stack: Any, hostile_setup: dict[str, Any]) -> None:
    # GIVEN the dead-letter queues as they are, and the corpus for tenant hostile-a
    before = _dead_letters(local_stack)
    corpus = sorted(
        probes(hostile_setup["own"], hostile_setup["other"], "hostile-a"), key=lambda p: p.method == "DELETE"
    )
    signer, secret = hostile_setup["signer"], hostile_setup["secret"]

    def send(http: httpx.Client, probe: Probe) -> httpx.Response:
        headers = {"content-type": probe.content_type}
        if probe.route.telnyx_facing:
            if probe.body is not None:
                headers = {
                    **signer.headers(probe.body, content_type=probe.content_type),
                    "X-Tool-Secret": secret,
                }
        else:
            headers["Authorization"] = f"Bearer {hostile_setup['key']}"
        return http.request(
            probe.method, probe.concrete_path(), params=probe.query, content=probe.body, headers=headers
        )

    # WHEN every probe is sent through the local gateway
    failures: list[str] = []
    started = time.monotonic()
    with httpx.Client(base_url=local_stack.api_url, timeout=60) as http:
        for probe in corpus:
            response = send(http, probe)
            crash = assert_no_crash(probe, response.status_code, response.text)
            if crash:
                failures.append(crash)
    elapsed = time.monotonic() - started

    # THEN nothing crashed, and what the intake accepted was applied without a dead letter
    assert not failures, "\n".join(failures[:40]) + f"\n({len(failures)} of {len(corpus)})"
    _wait_until_processed(local_stack)
    assert _dead_letters(local_stack) == before
    print(f"hostile_e2e.requests {len(corpus)} count\nhostile_e2e.elapsed {elapsed:.1f} s")

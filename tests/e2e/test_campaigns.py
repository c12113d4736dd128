"""Campaigns over HTTP on the local stack: "done when" for issue 6.

A campaign is created, leads are imported from a CSV through the presigned S3 URL (moto's server)
→ S3 notification → import queue → lead_import (its own Lambda-like process), with a per-row
error report; DNC and consent are applied; eligibility explains a lead. The full 100,000-row run
is the benchmark (bench/import.py); this test uses 2,000 rows to stay quick.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.lead_csv import generate

pytestmark = pytest.mark.e2e
STAGE = "local"
ROWS = 2_000
CONSENT = {"type": "express_written", "source": "form", "granted_at": "2026-01-05T10:00:00Z"}


@pytest.fixture(scope="module")
def stack(local_stack_process: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.e2e.conftest import BUILT_TEMPLATE

    args = ["--parameter-overrides", f"Stage={STAGE}", "--schedule-period", "0"]
    running = local_stack_process(BUILT_TEMPLATE, tmp_path_factory.mktemp("campaigns-stack"), args).start()
    yield running
    assert not running.stop()


@pytest.fixture(scope="module")
def http(stack: Any) -> Iterator[httpx.Client]:
    """A tenant bootstrapped as the CLI does, with an assistant mirror and a caller ID."""
    from datetime import UTC, datetime

    from dialer.adapters.management_table import AssistantMirror, CallerIdRecord, ManagementTable
    from dialer.adapters.secrets import TenantSecrets
    from dialer.adapters.tenants_table import TenantsTable
    from dialer.services.tenants import TenantAdmin

    table = stack.resources["StateTable"]
    admin = TenantAdmin(
        TenantsTable(table, client=stack.boto3_client("dynamodb")),
        TenantSecrets(f"/telnyx-ai-dialer/{STAGE}", client=stack.boto3_client("ssm")),
    )
    admin.create_tenant("e2e-campaigns")
    key = admin.issue_api_key("e2e-campaigns", "e2e").plaintext
    mirrors = ManagementTable(table, client=stack.boto3_client("dynamodb"))
    now = datetime.now(UTC).isoformat()
    mirrors.put_mirror(
        AssistantMirror("e2e-campaigns", "assistant-e2e", "Ava", "v1", "main", "texml", now, now)
    )
    mirrors.put_caller_id(
        CallerIdRecord("e2e-campaigns", "cid_e2e", "+15550005001", 100, True, now, now), new=True
    )
    with httpx.Client(
        base_url=stack.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=60
    ) as client:
        yield client


def test_done_when(http: httpx.Client) -> None:
    # GIVEN a campaign, activated (its assistant exists in the tenant's mirror)
    campaign = http.post(
        "/campaigns", json={"name": "E2E", "assistant_id": "assistant-e2e", "caller_ids": ["cid_e2e"]}
    )
    assert campaign.status_code == 201, campaign.text
    cid = campaign.json()["id"]
    assert http.post(f"/campaigns/{cid}/status", json={"status": "active"}).json()["status"] == "active"
    # WHEN a CSV with bad rows is PUT to the presigned URL (pointing at the stack's S3)
    csv_file = generate(ROWS)
    created = http.post(f"/campaigns/{cid}/imports", json={"filename": "leads.csv"}).json()
    put = httpx.put(created["upload_url"], content=csv_file.data, timeout=60)
    assert put.status_code == 200, put.text
    # THEN the import function completes it, counting every row, with a per-row error report
    deadline = time.monotonic() + 120
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = http.get(
            f"/campaigns/{cid}/imports/{created['import_id']}", params={"errors_limit": 1000}
        ).json()
        if body["status"] in ("completed", "failed"):
            break
        time.sleep(0.5)
    assert body["status"] == "completed", body
    progress = body["progress"]
    assert (progress["rows"], progress["imported"], progress["merged"], progress["rejected"]) == (
        ROWS,
        csv_file.imported,
        csv_file.merged,
        len(csv_file.rejected),
    )
    assert {e["line"]: e["reason"] for e in body["errors"]} == csv_file.rejected
    # AND DNC and consent apply to an imported lead, and eligibility explains it
    phone = "+12122011000"
    lead = http.get("/leads", params={"phone": phone}).json()["data"][0]
    assert http.post("/dnc", json={"phone": phone, "reason": "asked"}).status_code == 201
    revoked = http.put(f"/leads/{lead['id']}/consent", json={**CONSENT, "revoked_at": "2026-02-01T00:00:00Z"})
    assert revoked.status_code == 200
    eligibility = http.get(f"/leads/{lead['id']}/eligibility", params={"at": "2026-03-04T03:00:00Z"}).json()
    assert eligibility["eligible"] is False
    assert {"dnc", "consent_revoked", "outside_window:federal"} <= set(eligibility["reasons"])
    assert all(d["message"] for d in eligibility["details"])
    audit = http.get("/dnc/audit", params={"phone": phone}).json()["data"]
    assert [a["action"] for a in audit] == ["added"]

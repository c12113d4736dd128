"""Tenant isolation for every campaigns_api route in docs/openapi.json: tenant B with tenant A's ids
gets 404, lists and searches never show A's items, and no route answers without credentials."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.integration.campaigns.conftest import CampaignTenant, campaign_body, object_key, upload
from tests.support.management import InProcessApi, served_by_campaigns_api
from tests.support.signing import REPO

DOCUMENT = json.loads((REPO / "docs" / "openapi.json").read_text())
OPERATIONS = [
    (method.upper(), path)
    for path, ops in DOCUMENT["paths"].items()
    for method in ops
    if served_by_campaigns_api(path)
]
PHONE = "+16175550142"
CONSENT = {"type": "express_written", "source": "form", "granted_at": "2026-01-05T10:00:00Z"}
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/campaigns"): {"name": "theirs"},
    ("PATCH", "/campaigns/{campaign_id}"): {"name": "from another tenant"},
    ("POST", "/campaigns/{campaign_id}/status"): {"status": "canceled"},
    ("POST", "/campaigns/{campaign_id}/leads"): {"leads": [{"phone": "+16175550143"}]},
    ("POST", "/campaigns/{campaign_id}/imports"): {"filename": "x.csv"},
    ("PUT", "/leads/{lead_id}/consent"): CONSENT,
    ("POST", "/leads/{lead_id}/callback"): {"at": "2030-01-06T15:00:00Z"},
    ("POST", "/leads/{lead_id}/scheduled-calls"): {"at": "2030-01-06T15:00:00Z"},
    ("POST", "/leads/{lead_id}/scheduled-texts"): {"at": "2030-01-06T15:00:00Z", "text": "hello"},
    ("POST", "/dnc"): {"phone": PHONE},
    ("POST", "/dnc/bulk"): {"phones": [PHONE]},
    ("POST", "/dnc/remove"): {"phone": PHONE, "reason": "another tenant"},
}
QUERIES: dict[tuple[str, str], dict[str, str]] = {
    ("GET", "/leads"): {"phone": PHONE},
    ("GET", "/dnc/check"): {"phone": PHONE},
    ("GET", "/dnc/audit"): {"phone": PHONE},
}


@pytest.fixture
def a_ids(
    api: InProcessApi, ta: CampaignTenant, importer: Any, moto_stack: Any, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Things tenant A owns: a campaign with a lead, an import, a results export and a number on
    its DNC list."""
    campaign = api.post("/campaigns", ta.key, campaign_body(ta)).body
    lead_id = api.post(f"/campaigns/{campaign['id']}/leads", ta.key, {"leads": [{"phone": PHONE}]}).body[
        "lead_ids"
    ][0]
    created = api.post(f"/campaigns/{campaign['id']}/imports", ta.key, {"filename": "a.csv"}).body
    upload(object_key(created["upload_url"]), b"phone\n+16175550144\n")
    importer.run()
    with monkeypatch.context() as m:  # any campaign is "big": A's results become an export
        m.setattr("dialer.services.results_export.INLINE_MAX_LEADS", 0)
        export = api.get(f"/campaigns/{campaign['id']}/results", ta.key)
    assert export.status == 202, export.body
    importer.run()
    assert api.post("/dnc", ta.key, {"phone": PHONE, "reason": "A's"}).status in (200, 201)
    # call_id: A's call (issue 10); B must not see it either.
    call_id = "v3:a-call-0001"
    boto3.client("dynamodb").put_item(
        TableName=moto_stack.table_name,
        Item={
            "pk": {"S": f"T#{ta.tenant.tenant_id}#CALL#{call_id}"},
            "sk": {"S": "CALL"},
            "call_control_id": {"S": call_id},
            "tenant_id": {"S": ta.tenant.tenant_id},
        },
    )
    # These tenants' Telnyx keys are not simulator accounts, so A has no real scheduled event here
    # (tests/integration/management/test_scheduled_events.py isolates real ones): B naming A's
    # lead with any event id must still be a 404.
    return {
        "campaign_id": campaign["id"],
        "lead_id": lead_id,
        "import_id": created["import_id"],
        "export_id": export.body["id"],
        "call_id": call_id,
        "event_id": "00000000-0000-4000-8000-000000000000",
    }


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_route_answers_without_credentials(api: InProcessApi, method: str, path: str) -> None:
    concrete = path.replace("{", "").replace("}", "")
    body = BODIES.get((method, path))
    assert api.request(method, concrete, token=None, body=body).status == 401
    assert api.request(method, concrete, token="tdk_0123456789abcdef_" + "x" * 43, body=body).status == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [op for op in OPERATIONS if "{" in op[1]],
    ids=[f"{m} {p}" for m, p in OPERATIONS if "{" in p],
)
def test_other_tenants_ids_are_not_found(
    api: InProcessApi, ta: CampaignTenant, tb: CampaignTenant, a_ids: dict[str, str], method: str, path: str
) -> None:
    # GIVEN tenant B's credentials and tenant A's ids
    concrete = path.format(**a_ids)
    # WHEN B calls the route
    response = api.request(method, concrete, token=tb.key, body=BODIES.get((method, path)))
    # THEN it is a 404, and A's things are untouched
    assert response.status == 404, (method, concrete, response.status, response.body)
    campaign = api.get(f"/campaigns/{a_ids['campaign_id']}", ta.key).body
    assert campaign["name"] == "Renewals"
    assert campaign["status"] == "draft"
    assert api.get(f"/leads/{a_ids['lead_id']}", ta.key).body["consent"] is None


def test_lists_and_searches_never_show_another_tenants_items(
    api: InProcessApi, ta: CampaignTenant, tb: CampaignTenant, a_ids: dict[str, str]
) -> None:
    # B has a lead with the same phone number in its own campaign
    b_campaign = api.post("/campaigns", tb.key, campaign_body(tb)).body["id"]
    b_lead = api.post(f"/campaigns/{b_campaign}/leads", tb.key, {"leads": [{"phone": PHONE}]}).body[
        "lead_ids"
    ][0]
    assert {c["id"] for c in api.get("/campaigns?limit=100", tb.key).body["data"]}.isdisjoint(
        {a_ids["campaign_id"]}
    )
    assert [lead["id"] for lead in api.get("/leads", tb.key, query={"phone": PHONE}).body["data"]] == [b_lead]
    assert api.get("/dnc/check", tb.key, query={"phone": PHONE}).body["dnc"] is False
    assert PHONE not in {e["phone"] for e in api.get("/dnc?limit=100", tb.key).body["data"]}
    assert api.get("/dnc/audit", tb.key, query={"phone": PHONE}).body["data"] == []
    # and B's DNC removal cannot touch A's list
    assert api.post("/dnc/remove", tb.key, {"phone": PHONE, "reason": "not mine"}).status == 404
    assert api.get("/dnc/check", ta.key, query={"phone": PHONE}).body["dnc"] is True


def test_tenant_comes_only_from_the_authorizer(
    api: InProcessApi, tb: CampaignTenant, a_ids: dict[str, str]
) -> None:
    response = api.request(
        "GET", "/campaigns", token=tb.key, query={"tenant_id": "cmp-alpha", "limit": "100"}
    )
    assert a_ids["campaign_id"] not in {c["id"] for c in response.body["data"]}

"""Tenant isolation, for every route in docs/openapi.json: tenant B with tenant A's ids gets 404, lists never
show A's items, and nothing answers without credentials."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.management.conftest import MINIMAL_ASSISTANT, Tenant
from tests.support.management import InProcessApi, served_by_campaigns_api
from tests.support.signing import REPO

DOCUMENT = json.loads((REPO / "docs" / "openapi.json").read_text())
# campaigns_api's routes have their own isolation suite (tests/integration/campaigns).
OPERATIONS = [
    (method.upper(), path)
    for path, ops in DOCUMENT["paths"].items()
    for method in ops
    if not served_by_campaigns_api(path)
]
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/assistants"): MINIMAL_ASSISTANT,
    ("PATCH", "/assistants/{assistant_id}"): {"greeting": "from another tenant"},
    ("PUT", "/numbers/{number_id}/assignment"): {"assistant_id": "placeholder", "force": True},
    ("POST", "/caller-ids"): {"phone_number": "+15550009999"},
    ("PATCH", "/caller-ids/{caller_id_id}"): {"enabled": False},
    ("POST", "/caller-ids/{caller_id_id}/rest"): {"reason": "from another tenant"},
    ("POST", "/tenants/me/api-keys"): {"name": "other"},
    ("POST", "/webhook-endpoints"): {"url": "https://crm.example.com/other"},
    ("PATCH", "/webhook-endpoints/{endpoint_id}"): {"description": "from another tenant"},
    ("POST", "/webhook-endpoints/{endpoint_id}/replay"): {"since": "2026-01-01T00:00:00Z"},
    ("POST", "/webhook-endpoints/{endpoint_id}/rotate-secret"): {"overlap_hours": 0},
}


@pytest.fixture
def alpha_ids(api: InProcessApi, alpha: Tenant) -> Iterator[dict[str, str]]:
    """Ids of things tenant alpha owns, one per path parameter."""
    assistant = api.post("/assistants", alpha.api_key, MINIMAL_ASSISTANT).body
    versions = api.get(f"/assistants/{assistant['id']}/versions", alpha.api_key).body["data"]
    number = api.get("/numbers", alpha.api_key).body["data"][0]
    assert (
        api.put(
            f"/numbers/{number['id']}/assignment",
            alpha.api_key,
            {"assistant_id": assistant["id"], "force": True},
        ).status
        == 200
    )
    caller_id = api.post("/caller-ids", alpha.api_key, {"phone_number": "+15550001001"}).body
    endpoint = api.post("/webhook-endpoints", alpha.api_key, {"url": "https://crm.example.com/alpha"}).body
    yield {
        "endpoint_id": endpoint["id"],
        "assistant_id": assistant["id"],
        "version_id": versions[0]["version_id"],
        "number_id": number["id"],
        "caller_id_id": caller_id["id"],
        "key_id": alpha.key_id,
    }
    api.delete(f"/webhook-endpoints/{endpoint['id']}", alpha.api_key)  # a tenant has at most 20


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_route_answers_without_credentials(api: InProcessApi, method: str, path: str) -> None:
    concrete = path.replace("{", "").replace("}", "")
    assert api.request(method, concrete, token=None, body=BODIES.get((method, path))).status == 401
    assert (
        api.request(
            method, concrete, token="tdk_0123456789abcdef_" + "x" * 43, body=BODIES.get((method, path))
        ).status
        == 401
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [op for op in OPERATIONS if "{" in op[1]],
    ids=[f"{m} {p}" for m, p in OPERATIONS if "{" in p],
)
def test_other_tenants_ids_are_not_found(
    api: InProcessApi, alpha: Tenant, bravo: Tenant, alpha_ids: dict[str, str], method: str, path: str
) -> None:
    # GIVEN tenant bravo's credentials and tenant alpha's ids
    concrete = path.format(**alpha_ids)
    body = BODIES.get((method, path))
    if body and "assistant_id" in body:
        body = {**body, "assistant_id": alpha_ids["assistant_id"]}
    # WHEN bravo calls the route
    response = api.request(method, concrete, token=bravo.api_key, body=body)
    # THEN it is a 404, and alpha's thing is untouched
    assert response.status == 404, (method, concrete, response.status, response.body)
    assert api.get(f"/assistants/{alpha_ids['assistant_id']}", alpha.api_key).status == 200
    caller = api.get(f"/caller-ids/{alpha_ids['caller_id_id']}", alpha.api_key)
    assert caller.status == 200
    assert caller.body["health"]["state"] == "active"
    endpoint = api.get(f"/webhook-endpoints/{alpha_ids['endpoint_id']}", alpha.api_key)
    assert endpoint.status == 200, endpoint.body
    assert endpoint.body["enabled"] is True
    assert endpoint.body["description"] == ""
    assert endpoint.body["secret_rotation_ends_at"] is None


def test_lists_never_show_another_tenants_items(
    api: InProcessApi, alpha: Tenant, bravo: Tenant, alpha_ids: dict[str, str]
) -> None:
    api.post("/assistants/sync", bravo.api_key)
    lists = {
        "/assistants?include_deleted=true&limit=100": "id",
        "/caller-ids?limit=100": "id",
        "/numbers": "id",
        "/tenants/me/api-keys": "key_id",
    }
    alpha_values = set(alpha_ids.values())
    for path, field in lists.items():
        response = api.get(path, bravo.api_key)
        assert response.status == 200, (path, response.body)
        assert not {item[field] for item in response.body["data"]} & alpha_values, path
    assert api.get("/tenants/me", bravo.api_key).body["tenant_id"] == "bravo"


def test_tenant_comes_only_from_the_authorizer(
    api: InProcessApi, bravo: Tenant, alpha_ids: dict[str, str]
) -> None:
    # A tenant named in a header, query or body is ignored.
    response = api.request(
        "GET", "/assistants", token=bravo.api_key, query={"tenant_id": "alpha", "limit": "100"}
    )
    assert alpha_ids["assistant_id"] not in {a["id"] for a in response.body["data"]}

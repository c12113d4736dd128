"""The tenant's insight group through the management API and the bootstrap CLI, against moto and the
Telnyx simulator: created once, found again by name, attached to assistants, tenant-scoped, and a
tenant's own group plugged in."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from dialer.domain.insight_group import DEFAULT_GROUP_NAME
from dialer.domain.insights import FIELDS
from local.simulator import AccountConfig, Simulator
from tests.integration.management.conftest import MINIMAL_ASSISTANT, Tenant, bootstrap
from tests.support.aws import PARAM_PREFIX, MotoStack
from tests.support.management import InProcessApi


@pytest.fixture(scope="module")
def own_tenants(telnyx_sim: Simulator, tenants: dict[str, Tenant]) -> dict[str, Tenant]:
    """Two tenants of this module only, each with its own (new, empty) Telnyx account."""
    existing = {a.api_key for a in telnyx_sim.config.accounts}
    added = tuple(AccountConfig(api_key=k) for k in ("KEY_INS_ONE", "KEY_INS_TWO") if k not in existing)
    telnyx_sim.configure(accounts=(*telnyx_sim.config.accounts, *added))
    return {"one": bootstrap("ins-one", "KEY_INS_ONE"), "two": bootstrap("ins-two", "KEY_INS_TWO")}


def _groups(sim: Simulator, key: str) -> list[dict[str, Any]]:
    """The account's groups, but the one every simulated account starts with."""
    account = sim.account(key)
    with account.lock:
        return [dict(g) for g in account.insight_groups.values() if g["id"] != account.default_group_id]


def _templates(sim: Simulator, key: str) -> list[dict[str, Any]]:
    """The account's templates, but the one every simulated account starts with."""
    account = sim.account(key)
    with account.lock:
        return [dict(t) for t in account.insights.values() if t["id"] != account.default_insight_id]


def test_ensure_creates_the_group_once_and_attaches_the_tenants_assistants(
    api: InProcessApi, own_tenants: dict[str, Tenant], telnyx_sim: Simulator
) -> None:
    one, two = own_tenants["one"], own_tenants["two"]
    # GIVEN an assistant created before the tenant had an insight group
    before = api.request("POST", "/assistants", token=one.api_key, body=MINIMAL_ASSISTANT)
    assert before.status == 201, before.body
    assert not (before.json()["settings"].get("insight_settings") or {}).get("insight_group_id")

    # WHEN the tenant asks for its insight group
    first = api.request("POST", "/tenants/me/insight-group", token=one.api_key, body={})
    assert first.status == 200, first.body
    group_id = first.json()["group_id"]

    # THEN one group with our five structured templates exists on its Telnyx account
    [group] = _groups(telnyx_sim, one.telnyx_key)
    assert (group["id"], group["name"]) == (group_id, DEFAULT_GROUP_NAME)
    assert sorted(t["name"] for t in group["insights"]) == sorted(FIELDS)
    assert all(isinstance(t["json_schema"], dict | str) and t["json_schema"] for t in group["insights"])
    # its webhook is this tenant's insights route, with a token
    assert f"/webhooks/telnyx/{one.tenant_id}/insights?token=" in group["webhook"]
    assert first.json()["source"] == "default"
    assert sorted(first.json()["insights"].values()) == sorted(FIELDS)
    # and the existing assistant now reports to it
    assert first.json()["assistants_attached"] == [before.json()["id"]]
    upstream = telnyx_sim.account(one.telnyx_key).assistants[before.json()["id"]]
    assert upstream["insight_settings"]["insight_group_id"] == group_id

    # WHEN asked again (a second bootstrap, a retry)
    again = api.request("POST", "/tenants/me/insight-group", token=one.api_key, body={})
    # THEN nothing new is created and nothing is re-attached
    assert again.status == 200
    assert again.json()["group_id"] == group_id
    assert again.json()["assistants_attached"] == []
    assert len(_groups(telnyx_sim, one.telnyx_key)) == 1
    assert len(_templates(telnyx_sim, one.telnyx_key)) == len(FIELDS)

    # AND an assistant created afterwards gets the group by default
    after = api.request("POST", "/assistants", token=one.api_key, body=MINIMAL_ASSISTANT)
    assert after.status == 201
    assert after.json()["settings"]["insight_settings"]["insight_group_id"] == group_id

    # AND the other tenant has no group and sees none (isolation)
    assert api.request("GET", "/tenants/me/insight-group", token=two.api_key).status == 404
    assert _groups(telnyx_sim, two.telnyx_key) == []
    mine = api.request("GET", "/tenants/me/insight-group", token=one.api_key)
    assert mine.status == 200
    assert mine.json()["group_id"] == group_id


def test_a_tenant_plugs_in_its_own_group_with_a_field_map(
    api: InProcessApi, own_tenants: dict[str, Tenant], telnyx_sim: Simulator
) -> None:
    from telnyx_client.client import TelnyxClient

    two = own_tenants["two"]
    # GIVEN a group the tenant made itself on Telnyx, with its own insight names
    with TelnyxClient(two.telnyx_key, telnyx_sim.base_url) as client:
        group = client.insight_groups.create({"name": "Our own"})
        outcome = client.insight_templates.create({"name": "Call Outcome", "instructions": "How did it go?"})
        recap = client.insight_templates.create({"name": "Summary", "instructions": "Recap."})
        for template in (outcome, recap):
            client.insight_groups.assign(str(group.id), str(template.id))
    # WHEN it names that group and maps its names to our fields (a bad field is a 422 first)
    bad = api.request(
        "POST",
        "/tenants/me/insight-group",
        token=two.api_key,
        body={"group_id": group.id, "fields": {"Call Outcome": "mood"}},
    )
    assert bad.status == 422
    response = api.request(
        "POST",
        "/tenants/me/insight-group",
        token=two.api_key,
        body={"group_id": group.id, "fields": {"Call Outcome": "disposition"}},
    )
    # THEN it is stored as the tenant's (custom) group, and no default group was created
    assert response.status == 200, response.body
    body = response.json()
    assert (body["group_id"], body["source"]) == (group.id, "custom")
    assert body["insights"] == {outcome.id: "Call Outcome", recap.id: "Summary"}
    assert [g["name"] for g in _groups(telnyx_sim, two.telnyx_key)] == ["Our own"]
    # AND asking for "the default" later keeps the tenant's choice
    kept = api.request("POST", "/tenants/me/insight-group", token=two.api_key, body={})
    assert kept.json()["group_id"] == group.id
    assert len(_groups(telnyx_sim, two.telnyx_key)) == 1


def test_bootstrap_cli_creates_the_group_once(moto_stack: MotoStack, telnyx_sim: Simulator) -> None:
    from scripts import tenant as cli

    existing = {a.api_key for a in telnyx_sim.config.accounts}
    if "KEY_INS_CLI" not in existing:
        telnyx_sim.configure(accounts=(*telnyx_sim.config.accounts, AccountConfig(api_key="KEY_INS_CLI")))
    common = ["--table", moto_stack.table_name, "--param-prefix", PARAM_PREFIX]
    insight = ["--telnyx-base-url", telnyx_sim.base_url, "--public-url", "https://api.example.test/dev"]
    # GIVEN a tenant bootstrapped with its Telnyx key
    assert cli.main([*common, "bootstrap", "ins-cli", "--telnyx-api-key", "KEY_INS_CLI", *insight]) == 0
    [group] = _groups(telnyx_sim, "KEY_INS_CLI")
    assert len(group["insights"]) == len(FIELDS)
    assert group["webhook"].startswith("https://api.example.test/dev/webhooks/telnyx/ins-cli/insights?token=")
    token = boto3.client("ssm").get_parameter(
        Name=f"{PARAM_PREFIX}/tenants/ins-cli/insights_token", WithDecryption=True
    )["Parameter"]
    assert token["Type"] == "SecureString"
    assert group["webhook"].endswith(token["Value"])
    # WHEN the group is asked for again (a second bootstrap step)
    assert cli.main([*common, "insight-group", "ins-cli", *insight]) == 0
    # THEN nothing new exists on Telnyx
    assert [g["id"] for g in _groups(telnyx_sim, "KEY_INS_CLI")] == [group["id"]]
    assert len(_templates(telnyx_sim, "KEY_INS_CLI")) == len(FIELDS)


def test_the_post_sample_event_answers_for_the_authorizers_tenant(
    api: InProcessApi, own_tenants: dict[str, Tenant]
) -> None:
    import json

    from tests.support.aws import LambdaContextStub
    from tests.support.signing import REPO

    event = json.loads((REPO / "events/assistants_api/post_insight_group.json").read_text())
    event["requestContext"]["authorizer"]["tenant_id"] = own_tenants["one"].tenant_id
    response = api.api.lambda_handler(event, LambdaContextStub())
    assert response["statusCode"] == 200, response["body"]
    assert json.loads(response["body"])["source"] == "default"


def test_sync_points_assistants_made_elsewhere_at_the_tenants_group(
    api: InProcessApi, own_tenants: dict[str, Tenant], telnyx_sim: Simulator
) -> None:
    from telnyx_client.client import TelnyxClient

    one = own_tenants["one"]
    group_id = api.request("POST", "/tenants/me/insight-group", token=one.api_key, body={}).json()["group_id"]
    # GIVEN an assistant created in the portal (not through the API), reporting to no group
    with TelnyxClient(one.telnyx_key, telnyx_sim.base_url) as client:
        made = client.assistants.create({"name": "Portal-made", "instructions": "Hello.", "model": "x"})
    # WHEN the tenant syncs
    assert api.request("POST", "/assistants/sync", token=one.api_key).status == 200
    # THEN it reports to the tenant's group
    upstream = telnyx_sim.account(one.telnyx_key).assistants[str(made.id)]
    assert upstream["insight_settings"]["insight_group_id"] == group_id


def test_names_of_an_unknown_group_come_from_telnyx_once_per_process(
    moto_stack: MotoStack, own_tenants: dict[str, Tenant], telnyx_sim: Simulator
) -> None:
    from dialer.adapters.insights_table import InsightsTable
    from dialer.adapters.secrets import TenantSecrets
    from dialer.services.insight_groups import InsightLookups
    from dialer.services.telnyx_accounts import TelnyxAccounts
    from telnyx_client.client import TelnyxClient

    two = own_tenants["two"]
    # GIVEN a group the tenant's stored map does not describe
    with TelnyxClient(two.telnyx_key, telnyx_sim.base_url) as client:
        group = client.insight_groups.create({"name": "Elsewhere"})
        template = client.insight_templates.create({"name": "Appointment", "instructions": "When?"})
        client.insight_groups.assign(str(group.id), str(template.id))
    accounts = TelnyxAccounts(
        TenantSecrets(PARAM_PREFIX, client=boto3.client("ssm")), base_url=telnyx_sim.base_url, timeout=5
    )
    calls: list[str] = []

    def telnyx_for(tenant_id: str) -> Any:
        calls.append(tenant_id)
        return accounts.client_for(tenant_id)

    lookups = InsightLookups(InsightsTable(moto_stack.table_name), telnyx_for)
    # WHEN its names are looked up twice
    first = lookups.names_for(two.tenant_id, str(group.id))
    second = lookups.names_for(two.tenant_id, str(group.id))
    # THEN Telnyx was asked once, and the name maps to our field
    assert first == second == {str(template.id): "appointment_at"}
    assert calls == [two.tenant_id]
    # AND an unknown group (Telnyx 404) maps nothing rather than failing the event
    assert lookups.names_for(two.tenant_id, "no-such-group") == {}

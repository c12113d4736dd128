"""Campaigns API in-process: CRUD, lifecycle moves, leads in JSON batches, search, consent, DNC
(with its audit trail) and eligibility that explains a lead."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.campaigns.conftest import CampaignTenant, campaign_body
from tests.support.management import InProcessApi

# A Tuesday 22:00 in New York (Wednesday 03:00 UTC): outside every calling window there.
LATE_EVENING_NY = "2026-03-04T03:00:00Z"
# A Wednesday 11:00 in New York.
MORNING_NY = "2026-03-04T16:00:00Z"
CONSENT = {
    "type": "express_written",
    "source": "https://example.com/form",
    "granted_at": "2026-01-05T10:00:00Z",
}


def _campaign(api: InProcessApi, t: CampaignTenant, **overrides: Any) -> dict[str, Any]:
    response = api.post("/campaigns", t.key, campaign_body(t, **overrides))
    assert response.status == 201, response.body
    return response.body


def _move(api: InProcessApi, t: CampaignTenant, campaign_id: str, status: str) -> Any:
    return api.post(f"/campaigns/{campaign_id}/status", t.key, {"status": status})


# --- CRUD -------------------------------------------------------------------------------------------
def test_create_get_list_patch_and_delete_a_campaign(api: InProcessApi, ta: CampaignTenant) -> None:
    # GIVEN a campaign with A/B variants, a window, pacing, retries, budget and variables
    created = _campaign(
        api,
        ta,
        assistant_id=None,
        assistant_variants=[
            {"assistant_id": ta.assistant_id, "weight": 3},
            {"assistant_id": "assistant-b", "weight": 1},
        ],
        dial_method="texml_ai",
        window={"days": ["mon", "tue", "wed", "thu", "fri"], "start": "10:00", "end": "18:00"},
        pacing={"max_dials_per_minute": 60, "max_concurrent": 5},
        retry={"max_attempts": 4, "outcomes": {"no_answer": {"delay_minutes": 60, "max_attempts": 2}}},
        budget={"max_cost": 250.5},
        variables={"first_name": "first_name", "policy": "custom.policy_number"},
    )
    # THEN it is a draft with everything as given
    assert created["status"] == "draft"
    assert created["id"].startswith("cmp_")
    assert created["retry"]["outcomes"] == {"no_answer": {"delay_minutes": 60, "max_attempts": 2}}
    assert api.get(f"/campaigns/{created['id']}", ta.key).body == created
    assert created["id"] in {c["id"] for c in api.get("/campaigns?limit=100", ta.key).body["data"]}
    # WHEN it is patched (variants cleared, one assistant set)
    patched = api.patch(
        f"/campaigns/{created['id']}", ta.key, {"assistant_variants": None, "assistant_id": ta.assistant_id}
    )
    assert patched.status == 200, patched.body
    assert patched.body["assistant_id"] == ta.assistant_id
    assert patched.body["assistant_variants"] is None
    assert patched.body["pacing"]["max_concurrent"] == 5  # untouched fields survive
    # AND deleted while a draft without leads
    assert api.delete(f"/campaigns/{created['id']}", ta.key).status == 204
    assert api.get(f"/campaigns/{created['id']}", ta.key).status == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"window": {"start": "20:00", "end": "09:00"}}, "window"),
        ({"window": {"fallback_zone": "Mars/Base"}}, "fallback_zone"),
        ({"dial_method": "carrier_pigeon"}, "dial_method"),
        ({"retry": {"outcomes": {"abducted": {"delay_minutes": 1}}}}, "outcomes"),
        ({"variables": {"x": "lead.password"}}, "variables"),
        ({"assistant_variants": [{"assistant_id": "a"}]}, "assistant"),
    ],
)
def test_invalid_campaigns_are_422_naming_the_field(
    api: InProcessApi, ta: CampaignTenant, body: dict[str, Any], field: str
) -> None:
    response = api.post("/campaigns", ta.key, campaign_body(ta, **body))
    assert response.status == 422
    assert field in str(response.body["detail"])


# --- lifecycle ------------------------------------------------------------------------------------------
def test_lifecycle_moves_and_illegal_moves(api: InProcessApi, ta: CampaignTenant) -> None:
    campaign = _campaign(api, ta)
    cid = campaign["id"]
    # draft → paused / completed are illegal, with a message naming the allowed moves
    response = _move(api, ta, cid, "paused")
    assert response.status == 409
    assert "draft" in response.body["message"]
    assert "active" in response.body["message"]
    assert _move(api, ta, cid, "completed").status == 409
    # draft → active → paused → active → completed
    for status in ("active", "paused", "active", "completed"):
        response = _move(api, ta, cid, status)
        assert response.status == 200, (status, response.body)
        assert response.body["status"] == status
    # completed is final
    for status in ("active", "paused", "canceled"):
        assert _move(api, ta, cid, status).status == 409
    assert api.patch(f"/campaigns/{cid}", ta.key, {"name": "x"}).status == 409
    assert api.delete(f"/campaigns/{cid}", ta.key).status == 409
    # paused → canceled, and canceled is final
    other = _campaign(api, ta)["id"]
    assert _move(api, ta, other, "active").status == 200
    assert _move(api, ta, other, "paused").status == 200
    assert _move(api, ta, other, "canceled").status == 200
    assert _move(api, ta, other, "active").status == 409
    assert _move(api, ta, other, "bogus").status == 422


def test_activation_needs_an_assistant_of_the_tenant_and_caller_ids(
    api: InProcessApi, ta: CampaignTenant
) -> None:
    unknown = _campaign(api, ta, assistant_id="assistant-not-mirrored")["id"]
    response = _move(api, ta, unknown, "active")
    assert response.status == 409
    assert "assistant-not-mirrored" in response.body["message"]
    without = _campaign(api, ta, assistant_id=None)["id"]
    assert "needs an assistant" in _move(api, ta, without, "active").body["message"]
    no_callers = _campaign(api, ta, caller_ids=[])["id"]
    assert "caller ID" in _move(api, ta, no_callers, "active").body["message"]
    # and a canceled draft takes no leads
    assert _move(api, ta, unknown, "canceled").status == 200
    assert (
        api.post(f"/campaigns/{unknown}/leads", ta.key, {"leads": [{"phone": "+12125550123"}]}).status == 409
    )


# --- leads -------------------------------------------------------------------------------------------
def test_json_batch_normalises_merges_duplicates_and_reports_rejects(
    api: InProcessApi, ta: CampaignTenant
) -> None:
    cid = _campaign(api, ta)["id"]
    leads = [
        {
            "phone": "(212) 555-0123",
            "first_name": "Ada",
            "state": "FL",
            "tags": ["vip"],
            "custom_fields": {"a": "1"},
        },
        {
            "phone": "+1 212 555 0123",
            "last_name": "Lovelace",
            "tags": ["renewal"],
            "custom_fields": {"b": "2"},
        },
        {"phone": "12"},
        {"phone": "+15551234567"},
        {"phone": "+13055550100", "time_zone": "Mars/Base"},
        {"phone": "+13055550101", "consent": {**CONSENT, "revoked_at": "2025-01-01T00:00:00Z"}},
        {"phone": "+13055550102", "email": "not-an-email"},
        {"phone": "+13055550103", "state": "Atlantis"},
        {
            "phone": "+14155550199",
            "time_zone": "America/Chicago",
            "consent": CONSENT,
            "dnc_scrubbed_at": "2026-03-01",
        },
    ]
    response = api.post(f"/campaigns/{cid}/leads", ta.key, {"leads": leads})
    assert response.status == 200, response.body
    body = response.body
    assert (body["received"], body["imported"], body["merged"], body["rejected"]) == (9, 2, 1, 6)
    assert {e["index"]: e["reason"] for e in body["errors"]} == {
        2: "phone_not_possible",
        3: "phone_invalid",
        4: "invalid_time_zone",
        5: "invalid_consent_timestamp",
        6: "invalid_email",
        7: "invalid_state",
    }
    assert body["lead_ids"][0] == body["lead_ids"][1]
    # The merged lead has both records' fields; location: address state FL beside area code NY.
    lead = api.get(f"/leads/{body['lead_ids'][0]}", ta.key).body
    assert lead["phone"] == "+12125550123"
    assert (lead["first_name"], lead["last_name"]) == ("Ada", "Lovelace")
    assert set(lead["tags"]) == {"vip", "renewal"}
    assert lead["custom_fields"] == {"a": "1", "b": "2"}
    assert (lead["state"], lead["area_code_state"]) == ("FL", "NY")
    explicit = api.get(f"/leads/{body['lead_ids'][8]}", ta.key).body
    assert (explicit["zone"], explicit["zone_source"]) == ("America/Chicago", "explicit_zone")
    assert explicit["consent"]["type"] == "express_written"
    # Re-sending merges again, never duplicates.
    again = api.post(
        f"/campaigns/{cid}/leads", ta.key, {"leads": [{"phone": "212-555-0123", "company": "ACME"}]}
    )
    assert (again.body["imported"], again.body["merged"]) == (0, 1)
    assert api.get(f"/campaigns/{cid}", ta.key).body["lead_count"] == 2
    # Search by phone (any format) across campaigns; list the campaign's leads in pages.
    other = _campaign(api, ta)["id"]
    api.post(f"/campaigns/{other}/leads", ta.key, {"leads": [{"phone": "2125550123"}]})
    found = api.get("/leads", ta.key, query={"phone": "+1 (212) 555-0123"}).body["data"]
    assert {f["campaign_id"] for f in found} >= {cid, other}
    assert api.get("/leads", ta.key, query={"phone": "nope"}).status == 422
    first = api.get(f"/campaigns/{cid}/leads", ta.key, query={"limit": "1"}).body
    second = api.get(
        f"/campaigns/{cid}/leads", ta.key, query={"limit": "1", "cursor": first["next_cursor"]}
    ).body
    assert len(first["data"]) == len(second["data"]) == 1
    assert first["data"][0]["id"] != second["data"][0]["id"]


def test_batches_are_capped_at_1000(api: InProcessApi, ta: CampaignTenant) -> None:
    cid = _campaign(api, ta)["id"]
    response = api.post(f"/campaigns/{cid}/leads", ta.key, {"leads": [{"phone": "+12125550123"}] * 1001})
    assert response.status == 422


# --- DNC ---------------------------------------------------------------------------------------------
def test_dnc_add_check_remove_and_every_change_is_audited(api: InProcessApi, ta: CampaignTenant) -> None:
    phone = "+13125550147"
    assert api.post("/dnc", ta.key, {"phone": "(312) 555-0147", "reason": "asked on call"}).status == 201
    assert api.post("/dnc", ta.key, {"phone": phone}).status == 200  # already there: no change, no audit
    check = api.get("/dnc/check", ta.key, query={"phone": phone}).body
    assert check["dnc"] is True
    assert check["entry"]["reason"] == "asked on call"
    # removing needs a reason
    assert api.post("/dnc/remove", ta.key, {"phone": phone}).status == 422
    assert (
        api.post("/dnc/remove", ta.key, {"phone": phone, "reason": "consent renewed in writing"}).status
        == 204
    )
    assert api.post("/dnc/remove", ta.key, {"phone": phone, "reason": "again"}).status == 404
    assert api.get("/dnc/check", ta.key, query={"phone": phone}).body["dnc"] is False
    bulk = api.post(
        "/dnc/bulk", ta.key, {"phones": [phone, "+13125550148", "bad", phone], "reason": "list"}
    ).body
    assert (bulk["added"], bulk["already_listed"], bulk["rejected"]) == (2, 1, 1)
    assert bulk["errors"][0]["index"] == 2
    # THEN the audit trail holds one append-only item per change, newest first, with actor and reason
    trail = api.get("/dnc/audit", ta.key, query={"phone": phone}).body["data"]
    assert [(a["action"], a["reason"]) for a in trail] == [
        ("added", "list"),
        ("removed", "consent renewed in writing"),
        ("added", "asked on call"),
    ]
    assert all(a["actor"].startswith("api_key:") for a in trail)
    listed = {e["phone"] for e in api.get("/dnc?limit=100", ta.key).body["data"]}
    assert {phone, "+13125550148"} <= listed


# --- eligibility ---------------------------------------------------------------------------------------
def test_eligibility_explains_dnc_and_outside_window_then_clears(
    api: InProcessApi, ta: CampaignTenant
) -> None:
    # GIVEN a New York lead with written consent and a fresh scrub, in an active campaign
    cid = _campaign(api, ta)["id"]
    assert _move(api, ta, cid, "active").status == 200
    phone = "+12125550188"
    lead = {"phone": phone, "state": "NY", "consent": CONSENT, "dnc_scrubbed_at": "2026-03-01"}
    lead_id = api.post(f"/campaigns/{cid}/leads", ta.key, {"leads": [lead]}).body["lead_ids"][0]
    api.post("/dnc", ta.key, {"phone": phone, "reason": "opt-out"})
    # WHEN its eligibility is asked at 22:00 New York time
    body = api.get(f"/leads/{lead_id}/eligibility", ta.key, query={"at": LATE_EVENING_NY}).body
    # THEN it is blocked by DNC and deferred by the windows, each reason explained
    assert body["eligible"] is False
    assert "dnc" in body["reasons"]
    assert "outside_window:federal" in body["reasons"]
    assert "outside_window:campaign" in body["reasons"]
    details = {d["reason"]: d for d in body["details"]}
    assert details["dnc"]["deferrable"] is False
    assert "do-not-call" in details["dnc"]["message"]
    assert details["outside_window:federal"]["deferrable"] is True
    assert body["next_window_start"] is None  # time alone does not lift DNC
    assert body["zone"] == "America/New_York"
    assert body["dnc"] is True
    # WHEN the number leaves the DNC list, the lead is deferred to the next window (09:00 campaign start)
    api.post("/dnc/remove", ta.key, {"phone": phone, "reason": "consent renewed"})
    body = api.get(f"/leads/{lead_id}/eligibility", ta.key, query={"at": LATE_EVENING_NY}).body
    assert body["reasons"] == ["outside_window:federal", "outside_window:campaign"]
    assert body["next_window_start"] == "2026-03-04T14:00:00Z"
    # AND at 11:00 it is eligible now
    body = api.get(f"/leads/{lead_id}/eligibility", ta.key, query={"at": MORNING_NY}).body
    assert body["eligible"] is True
    assert body["next_window_start"] == "2026-03-04T16:00:00Z"
    # WHEN consent is revoked, it is blocked again
    revoked = api.put(f"/leads/{lead_id}/consent", ta.key, {**CONSENT, "revoked_at": "2026-03-02T00:00:00Z"})
    assert revoked.status == 200
    assert revoked.body["consent"]["revoked_at"]
    body = api.get(f"/leads/{lead_id}/eligibility", ta.key, query={"at": MORNING_NY}).body
    assert body["reasons"] == ["consent_revoked"]


def test_eligibility_names_the_zone_that_blocks_a_lead_in_two_zones(
    api: InProcessApi, ta: CampaignTenant
) -> None:
    # GIVEN a lead with a New York address and a Chicago number: the person may be in either zone
    cid = _campaign(api, ta)["id"]
    lead = {"phone": "+13125550166", "state": "NY", "consent": CONSENT, "dnc_scrubbed_at": "2026-03-01"}
    lead_id = api.post(f"/campaigns/{cid}/leads", ta.key, {"leads": [lead]}).body["lead_ids"][0]
    view = api.get(f"/leads/{lead_id}", ta.key).body
    assert (view["zone"], view["zone_source"]) == ("America/New_York", "address_state")
    assert view["zones"] == [
        {"zone": "America/New_York", "evidence": ["address_state"]},
        {"zone": "America/Chicago", "evidence": ["number"]},
    ]
    assert "address_number_differ" in view["location_issues"]
    # WHEN eligibility is asked at 09:30 in New York (08:30 in Chicago, before the 09:00 campaign start)
    body = api.get(f"/leads/{lead_id}/eligibility", ta.key, query={"at": "2026-03-04T14:30:00Z"}).body
    # THEN the Chicago zone blocks, and the answer says so; lead-local time is New York's
    assert body["reasons"] == ["outside_window:campaign"]
    (detail,) = body["details"]
    assert detail["zones"] == ["America/Chicago"]
    assert detail["detail"] == "outside_window:campaign@America/Chicago"
    assert "America/Chicago" in detail["message"]
    assert (body["zone"], body["zones"]) == ("America/New_York", ["America/New_York", "America/Chicago"])
    assert body["local_time"].startswith("2026-03-04T09:30:00")
    assert body["next_window_start"] == "2026-03-04T15:00:00Z"  # 09:00 in Chicago


def test_a_lead_stored_with_one_zone_is_read_with_every_zone_it_may_be_in(
    api: InProcessApi, ta: CampaignTenant
) -> None:
    import json

    import boto3

    from dialer import keys
    from dialer.settings import get_settings

    # GIVEN a lead stored before candidate zones: a Michigan address with a West Texas number,
    # resolved then to the number's zone alone (America/Chicago)
    cid = _campaign(api, ta)["id"]
    lead = {"phone": "+14322668574", "state": "MI", "consent": CONSENT, "dnc_scrubbed_at": "2026-03-01"}
    lead_id = api.post(f"/campaigns/{cid}/leads", ta.key, {"leads": [lead]}).body["lead_ids"][0]
    table = boto3.resource("dynamodb").Table(get_settings().table_name)
    key = keys.lead_key(ta.tenant.tenant_id, lead_id)
    item = table.get_item(Key=key)["Item"]
    data = json.loads(item["data"])
    del data["zones"]
    data.update(zone="America/Chicago", zone_source="address_state+number")
    table.update_item(
        Key=key,
        UpdateExpression="SET #d = :d",
        ExpressionAttributeNames={"#d": "data"},
        ExpressionAttributeValues={":d": json.dumps(data)},
    )
    # WHEN it is read
    view = api.get(f"/leads/{lead_id}", ta.key).body
    # THEN every Michigan zone is a candidate again, and 21:06 in Detroit is refused
    assert view["zone"] == "America/Detroit"
    assert {z["zone"] for z in view["zones"]} >= {"America/Detroit", "America/Chicago"}
    body = api.get(f"/leads/{lead_id}/eligibility", ta.key, query={"at": "2026-03-16T01:06:22Z"}).body
    assert "outside_window:federal" in body["reasons"]
    assert "America/Detroit" in {z for d in body["details"] for z in d["zones"]}


def test_frequency_caps_count_calls_to_the_person_across_campaigns(
    api: InProcessApi, ta: CampaignTenant
) -> None:
    from datetime import UTC, datetime, timedelta

    import boto3

    from dialer.adapters.people_table import ContactHistory
    from dialer.settings import get_settings

    # GIVEN a Florida lead (3 calls per 24 h) that was called 3 times today from other campaigns
    cid = _campaign(api, ta)["id"]
    phone = "+13055550177"
    lead = {"phone": phone, "state": "FL", "consent": CONSENT, "dnc_scrubbed_at": "2026-03-01"}
    lead_id = api.post(f"/campaigns/{cid}/leads", ta.key, {"leads": [lead]}).body["lead_ids"][0]
    history = ContactHistory(get_settings().table_name, client=boto3.client("dynamodb"))
    at = datetime(2026, 3, 4, 16, 0, tzinfo=UTC)
    for hours in (1, 2, 3):
        history.append(
            "cmp-alpha",
            phone,
            at - timedelta(hours=hours),
            call_id=f"c{hours}",
            campaign_id="other",
            lead_id="x",
        )
    history.append("cmp-bravo", phone, at, call_id="theirs", campaign_id="other", lead_id="y")  # not ours
    # WHEN eligibility is asked
    body = api.get(f"/leads/{lead_id}/eligibility", ta.key, query={"at": at.isoformat()}).body
    # THEN the state cap blocks; the oldest call is 24 h old at 08:00 New York time tomorrow, and
    # the campaign's window opens at 09:00
    assert body["reasons"] == ["cap_24h:FL"]
    assert body["calls_last_24h"] == 3
    assert body["next_window_start"] == "2026-03-05T14:00:00Z"

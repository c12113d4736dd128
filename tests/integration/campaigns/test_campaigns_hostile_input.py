"""Hostile input against the campaigns API in-process (issue 14): instants at the ends of the
calendar and consent from the future are 422s naming the field, and change nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.campaigns.conftest import CampaignTenant, campaign_body
from tests.support.management import InProcessApi

CONSENT = {
    "type": "express_written",
    "source": "https://example.com/form",
    "granted_at": "2026-01-05T10:00:00Z",
}


def _lead(api: InProcessApi, t: CampaignTenant, **fields: Any) -> str:
    campaign = api.post("/campaigns", t.key, campaign_body(t)).body["id"]
    added = api.post(f"/campaigns/{campaign}/leads", t.key, {"leads": [{"phone": "+12125550188", **fields}]})
    assert (added.status, added.body["imported"]) == (200, 1), added.body
    return str(added.body["lead_ids"][0])


@pytest.mark.parametrize(
    "at",
    [
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59-12:00",
        "9999-12-31T23:59:59Z",
        "1969-12-31T23:59:59Z",
        "2200-01-01T00:00:00Z",
        "1970-01-01T04:00:00+05:00",
    ],
)
@pytest.mark.parametrize("existing", [True, False], ids=["existing-lead", "unknown-lead"])
def test_eligibility_at_the_ends_of_the_calendar_is_a_422(
    api: InProcessApi, ta: CampaignTenant, at: str, existing: bool
) -> None:
    lead_id = _lead(api, ta) if existing else "lead_that_does_not_exist"
    response = api.get(f"/leads/{lead_id}/eligibility", ta.key, query={"at": at})
    assert response.status == 422, response.body
    assert response.body["detail"][0]["loc"] == ["query", "at"]


def test_eligibility_at_the_edges_of_the_range_answers(api: InProcessApi, ta: CampaignTenant) -> None:
    lead_id = _lead(api, ta)
    for at in ("1970-01-01T00:00:00Z", "2199-12-31T23:59:59Z"):
        response = api.get(f"/leads/{lead_id}/eligibility", ta.key, query={"at": at})
        assert response.status == 200, (at, response.body)


@pytest.mark.parametrize(
    ("consent", "field"),
    [
        ({**CONSENT, "granted_at": "9999-12-31T00:00:00Z"}, "granted_at"),
        ({**CONSENT, "granted_at": "2999-01-01T00:00:00Z"}, "granted_at"),
        ({**CONSENT, "revoked_at": "9999-12-31T23:59:59-12:00"}, "revoked_at"),
    ],
)
def test_consent_from_the_future_is_refused_and_changes_nothing(
    api: InProcessApi, ta: CampaignTenant, consent: dict[str, str], field: str
) -> None:
    # GIVEN a lead with consent given in January
    lead_id = _lead(api, ta, consent=CONSENT)
    before = api.get(f"/leads/{lead_id}", ta.key).body
    # WHEN consent "given" (or revoked) in a far future year is put
    response = api.put(f"/leads/{lead_id}/consent", ta.key, consent)
    # THEN it is a 422 naming the field, and the lead still has its January consent
    assert response.status == 422, response.body
    assert response.body["detail"][0]["loc"] == ["body", field]
    assert api.get(f"/leads/{lead_id}", ta.key).body["consent"] == before["consent"]


def test_a_batch_lead_with_consent_from_the_future_is_rejected(api: InProcessApi, ta: CampaignTenant) -> None:
    campaign = api.post("/campaigns", ta.key, campaign_body(ta)).body["id"]
    lead = {"phone": "+12125550177", "consent": {**CONSENT, "granted_at": "9999-01-01T00:00:00Z"}}
    body = api.post(f"/campaigns/{campaign}/leads", ta.key, {"leads": [lead]}).body
    assert (body["imported"], body["rejected"]) == (0, 1)
    assert (body["errors"][0]["reason"], body["errors"][0]["field"]) == (
        "invalid_consent_timestamp",
        "consent_granted_at",
    )


def test_consent_a_few_hours_ahead_is_clock_skew_and_accepted(api: InProcessApi, ta: CampaignTenant) -> None:
    from datetime import UTC, datetime, timedelta

    lead_id = _lead(api, ta)
    soon = (datetime.now(UTC) + timedelta(hours=12)).isoformat()
    response = api.put(f"/leads/{lead_id}/consent", ta.key, {**CONSENT, "granted_at": soon})
    assert response.status == 200, response.body


# --- issue 22 -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "at",
    ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00", "9999-12-31T23:59:59"],
)
def test_a_callback_at_the_ends_of_the_calendar_is_a_422_naming_at(
    api: InProcessApi, ta: CampaignTenant, at: str
) -> None:
    lead_id = _lead(api, ta)
    response = api.post(f"/leads/{lead_id}/callback", ta.key, {"at": at})
    assert response.status == 422, response.body
    assert response.body["detail"][0]["loc"] == ["body", "at"]


def test_a_callback_with_an_empty_note_is_booked_not_a_503(api: InProcessApi, ta: CampaignTenant) -> None:
    # GIVEN a lead, and a callback whose note is empty (an update that both set and removed the
    # note: DynamoDB refused it every time, and the API answered "try again")
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    lead_id = _lead(api, ta, time_zone="America/New_York", consent=CONSENT, dnc_scrubbed_at=now.isoformat())
    at = (now + timedelta(days=1)).replace(hour=19, minute=0, second=0, microsecond=0)  # 2-3 PM in New York
    response = api.post(f"/leads/{lead_id}/callback", ta.key, {"at": at.isoformat(), "note": ""})
    # THEN it is booked, with no note
    assert response.status == 200, response.body
    lead = api.get(f"/leads/{lead_id}", ta.key).body
    assert lead.get("callback_note") in (None, "")


@pytest.mark.parametrize(
    ("method", "path"),
    [("PATCH", "/campaigns"), ("PUT", "/dnc"), ("DELETE", "/campaigns/{id}/leads"), ("PUT", "/assistants")],
)
def test_a_method_a_route_does_not_serve_is_a_405_naming_the_ones_it_does(
    api: InProcessApi, ta: CampaignTenant, method: str, path: str
) -> None:
    response = api.request(method, path.replace("{id}", "cmp_x"), token=ta.key, body={})
    assert response.status == 405, response.body
    assert response.body["error"] == "method_not_allowed"
    assert "GET" in response.headers["allow"] or "POST" in response.headers["allow"]

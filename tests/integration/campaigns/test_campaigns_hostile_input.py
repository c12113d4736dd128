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

"""Caller-ID health through the management API and the CLI (issue 23): each number's health in
the listing, an operator's rest and restore, the tenant's rule; bad input is a 422 naming the
field and changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.integration.management.conftest import Tenant
from tests.integration.webhooks_out.test_cli import cli  # noqa: F401 - the CLI on the in-process API
from tests.support.management import InProcessApi

FRESH = {
    "state": "active",
    "calls": 0,
    "answer_rate": None,
    "short_share": None,
    "rested_until": None,
    "rest_reason": None,
    "rested_by": None,
    "rested_at": None,
}


def _hours(health: dict[str, Any]) -> float:
    span = datetime.fromisoformat(health["rested_until"]) - datetime.fromisoformat(health["rested_at"])
    return span / timedelta(hours=1)


def test_an_operator_rests_and_restores_a_caller_id(api: InProcessApi, alpha: Tenant) -> None:
    key = alpha.api_key
    cid = api.post("/caller-ids", key, {"phone_number": "+15550007001"}).body["id"]
    assert api.get(f"/caller-ids/{cid}", key).body["health"] == FRESH
    # WHEN an operator rests it for three hours
    rested = api.post(f"/caller-ids/{cid}/rest", key, {"reason": "carrier complaint", "hours": 3})
    # THEN it says so, with the reason and who rested it, in the answer and in the listing
    assert rested.status == 200, rested.body
    health = rested.body["health"]
    assert (health["state"], health["rested_by"], health["rest_reason"]) == (
        "rested",
        "operator",
        "carrier complaint",
    )
    assert _hours(health) == 3
    listed = {c["id"]: c for c in api.every("/caller-ids", key)}
    assert listed[cid]["health"] == health
    # AND changing its cap keeps the rest
    assert api.patch(f"/caller-ids/{cid}", key, {"daily_cap": 70}).body["health"] == health
    # AND bad input is refused, naming the field, and changes nothing
    for bad, field in [
        ({"reason": ""}, "reason"),
        ({"reason": "   "}, "reason"),
        ({"reason": "x" * 301}, "reason"),
        ({"hours": 2}, "reason"),
        ({"reason": "x", "hours": 0}, "hours"),
        ({"reason": "x", "hours": 721}, "hours"),
        ({"reason": "x", "until": "tomorrow"}, "until"),
    ]:
        refused = api.post(f"/caller-ids/{cid}/rest", key, bad)
        assert refused.status == 422, (bad, refused.status, refused.body)
        assert field in str(refused.body["detail"]), (bad, refused.body)
    assert api.get(f"/caller-ids/{cid}", key).body["health"] == health
    # WHEN it is restored (twice: a restore is idempotent)
    assert api.post(f"/caller-ids/{cid}/restore", key).body["health"] == FRESH
    assert api.post(f"/caller-ids/{cid}/restore", key).body["health"] == FRESH
    # AND an unknown caller ID is a 404 for both
    assert api.post("/caller-ids/cid_nope/rest", key, {"reason": "x"}).status == 404
    assert api.post("/caller-ids/cid_nope/restore", key).status == 404
    assert api.delete(f"/caller-ids/{cid}", key).status == 204


def test_the_tenants_health_rule_is_validated_and_sets_the_default_rest(
    api: InProcessApi, bravo: Tenant
) -> None:
    key = bravo.api_key
    defaults = api.get("/tenants/me/caller-id-health", key).body
    assert defaults == {
        "enabled": True,
        "window_calls": 50,
        "short_call_seconds": 6,
        "rest_below_ratio": 0.5,
        "max_short_share": None,
        "rest_hours": 24,
        "reputation": {  # Telnyx Number Reputation: off by default
            "enabled": False,
            "enterprise_id": None,
            "rest_at_spam_risk": "high",
            "check_every_minutes": 60,
        },
    }
    changed = api.put("/tenants/me/caller-id-health", key, {"window_calls": 80, "rest_hours": 12})
    assert changed.status == 200, changed.body
    assert changed.body == {**defaults, "window_calls": 80, "rest_hours": 12}
    for bad, field in [
        ({"window_calls": 49}, "window_calls"),
        ({"rest_below_ratio": 1}, "rest_below_ratio"),
        ({"max_short_share": 2}, "max_short_share"),
        ({"rest_hours": "soon"}, "rest_hours"),
        ({"windows": 50}, "windows"),
        ({"reputation": {"enabled": True}}, "enterprise_id is required"),
        ({"reputation": {"enterprise_id": "ENT-1"}}, "lowercase UUID"),
        ({"reputation": {"rest_at_spam_risk": "low"}}, "medium or high"),
        ({"reputation": {"check_every_minutes": 5}}, "check_every_minutes"),
    ]:
        refused = api.put("/tenants/me/caller-id-health", key, bad)
        assert refused.status == 422, (bad, refused.status, refused.body)
        assert field in str(refused.body["detail"]), (bad, refused.body)
    assert api.get("/tenants/me/caller-id-health", key).body == changed.body
    # A rest without hours lasts the tenant's rest_hours.
    cid = api.post("/caller-ids", key, {"phone_number": "+15550007002"}).body["id"]
    assert _hours(api.post(f"/caller-ids/{cid}/rest", key, {"reason": "test"}).body["health"]) == 12
    assert api.delete(f"/caller-ids/{cid}", key).status == 204


@pytest.mark.usefixtures("aws")
def test_the_caller_ids_commands(cli: Any, api: InProcessApi, alpha: Tenant) -> None:  # noqa: F811
    number = "+15550007003"
    cid = api.post("/caller-ids", alpha.api_key, {"phone_number": number}).body["id"]
    code, listed = cli("caller-ids")
    assert code == 0
    assert {c["id"]: c["health"]["state"] for c in listed}[cid] == "active"
    code, rested = cli("caller-ids", "rest", number, "--reason", "spam label", "--hours", "5")
    assert code == 0
    assert (rested["id"], rested["health"]["state"], rested["health"]["rest_reason"]) == (
        cid,
        "rested",
        "spam label",
    )
    assert _hours(rested["health"]) == 5
    code, listed = cli("caller-ids", "list")
    assert {c["id"]: c["health"]["state"] for c in listed}[cid] == "rested"
    code, restored = cli("caller-ids", "restore", cid)
    assert (code, restored["health"]["state"]) == (0, "active")
    code, rule = cli("caller-ids", "rule", "--window-calls", "60", "--max-short-share", "0.8")
    assert (code, rule["window_calls"], rule["max_short_share"], rule["rest_hours"]) == (0, 60, 0.8, 24)
    code, rule = cli("caller-ids", "rule", "--max-short-share", "0")  # 0: off; the rest stays
    assert (code, rule["window_calls"], rule["max_short_share"]) == (0, 60, None)
    assert cli("caller-ids", "rule", "--window-calls", "10")[0] == 2  # the API refuses it
    assert cli("caller-ids", "rule", "--reputation")[0] == 2  # no enterprise: refused
    enterprise = "4a6192a4-573d-446d-b3ce-aff9117272a6"
    code, rule = cli("caller-ids", "rule", "--reputation", "--enterprise-id", enterprise)
    assert (code, rule["reputation"], rule["window_calls"]) == (
        0,
        {
            "enabled": True,
            "enterprise_id": enterprise,
            "rest_at_spam_risk": "high",
            "check_every_minutes": 60,
        },
        60,
    )
    code, rule = cli("caller-ids", "rule", "--rest-at-spam-risk", "medium")  # the other fields stay
    assert (code, rule["reputation"]["enabled"], rule["reputation"]["rest_at_spam_risk"]) == (
        0,
        True,
        "medium",
    )
    assert cli("caller-ids", "rest", "+15550000000", "--reason", "x")[0] == 4  # not in the pool
    assert cli("caller-ids", "rest", cid, "--reason", "x", "--hours", "0")[0] == 2  # refused
    assert api.delete(f"/caller-ids/{cid}", alpha.api_key).status == 204
    assert api.put("/tenants/me/caller-id-health", alpha.api_key, {}).status == 200  # back to the defaults

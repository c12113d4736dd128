"""Scheduled calls and texts in-process: the scheduled_events function (and the DNC, consent and
opt-out paths that cancel events) against moto, with the Telnyx simulator as Telnyx. The
simulator's account is the ground truth of what exists at Telnyx."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest

from local.simulator import Simulator
from tests.integration.management.conftest import MINIMAL_ASSISTANT, Tenant
from tests.support.aws import PARAM_PREFIX, LambdaContextStub
from tests.support.management import InProcessApi
from tests.support.signing import api_gateway_event

NY = ZoneInfo("America/New_York")
CONSENT = {"type": "express_written", "source": "web form", "granted_at": "2026-01-05T10:00:00Z"}
_PHONES = itertools.count(300)


@pytest.fixture(autouse=True)
def _fresh_accounts() -> None:
    """The Telnyx clients are cached per process; point them at this session's simulator."""
    from dialer.services.scheduled_events import _accounts

    _accounts.cache_clear()


def wednesday(hour: int) -> str:
    """Lead-local (New York) wall time, a Wednesday at least two days ahead (no offset)."""
    local = datetime.now(UTC).astimezone(NY) + timedelta(days=2)
    while local.weekday() != 2:
        local += timedelta(days=1)
    return local.replace(hour=hour, minute=0, second=0, microsecond=0, tzinfo=None).isoformat()


def setup_lead(api: InProcessApi, tenant: Tenant, caller: str, **lead: Any) -> dict[str, str]:
    """An assistant, a caller ID, a campaign and one consented, scrubbed New York lead."""
    key = tenant.api_key
    assistant = api.post("/assistants", key, MINIMAL_ASSISTANT).body["id"]
    caller_id = api.post("/caller-ids", key, {"phone_number": caller}).body
    if "id" not in caller_id:  # the number is already this tenant's caller ID
        listed = api.every("/caller-ids", key)
        caller_id = next(c for c in listed if c["phone_number"] == caller)
    body = {"name": "Renewals", "assistant_id": assistant, "caller_ids": [caller_id["id"]]}
    campaign = api.post("/campaigns", key, body).body["id"]
    phone = f"+1212555{next(_PHONES):04d}"
    fields = {
        "phone": phone,
        "first_name": "Ada",
        "state": "NY",
        "consent": CONSENT,
        "dnc_scrubbed_at": (datetime.now(UTC) - timedelta(days=1)).date().isoformat(),
        **lead,
    }
    fields = {k: v for k, v in fields.items() if v is not None}  # None: leave the field out
    lead_id = api.post(f"/campaigns/{campaign}/leads", key, {"leads": [fields]}).body["lead_ids"][0]
    return {"lead_id": lead_id, "phone": phone, "assistant_id": assistant, "campaign_id": campaign}


def telnyx_events(sim: Simulator, tenant: Tenant) -> dict[str, dict[str, Any]]:
    """Every scheduled event at Telnyx for the tenant's account, pending or not (ground truth)."""
    account = sim.account(tenant.telnyx_key)
    with account.lock:
        return {eid: dict(e) for events in account.scheduled_events.values() for eid, e in events.items()}


def test_a_legal_call_is_scheduled_at_telnyx_listed_and_canceled(
    api: InProcessApi, alpha: Tenant, telnyx_sim: Simulator
) -> None:
    lead = setup_lead(api, alpha, "+15550001001")
    # WHEN the client schedules a call at 3 PM lead-local on a Wednesday
    created = api.post(f"/leads/{lead['lead_id']}/scheduled-calls", alpha.api_key, {"at": wednesday(15)})
    # THEN Telnyx has the event: the lead's number, the campaign's caller ID and assistant, that instant
    assert created.status == 201, created.body
    event = created.body
    at_telnyx = telnyx_events(telnyx_sim, alpha)[event["event_id"]]
    assert at_telnyx["assistant_id"] == lead["assistant_id"] == event["assistant_id"]
    assert at_telnyx["telnyx_conversation_channel"] == "phone_call"
    assert at_telnyx["telnyx_end_user_target"] == lead["phone"]
    assert at_telnyx["telnyx_agent_target"] == "+15550001001" == event["from_number"]
    expected = datetime.fromisoformat(wednesday(15)).replace(tzinfo=NY)
    assert datetime.fromisoformat(at_telnyx["scheduled_at_fixed_datetime"]) == expected
    assert at_telnyx["dynamic_variables"]["first_name"] == "Ada"
    assert at_telnyx["conversation_metadata"]["lead_id"] == lead["lead_id"]
    assert at_telnyx["status"] == "pending"
    # AND it is listed under the lead
    listed = api.get(f"/leads/{lead['lead_id']}/scheduled-events", alpha.api_key).body["data"]
    assert [(e["event_id"], e["status"]) for e in listed] == [(event["event_id"], "scheduled")]
    # WHEN it is canceled (twice: idempotent)
    path = f"/leads/{lead['lead_id']}/scheduled-events/{event['event_id']}"
    assert api.delete(path, alpha.api_key).status == 204
    assert api.delete(path, alpha.api_key).status == 204
    # THEN it is gone at Telnyx and canceled here
    assert event["event_id"] not in telnyx_events(telnyx_sim, alpha)
    listed = api.get(f"/leads/{lead['lead_id']}/scheduled-events", alpha.api_key).body["data"]
    assert [(e["status"], e["cancel_reason"]) for e in listed] == [("canceled", "api")]


def test_a_text_is_scheduled_with_its_message(
    api: InProcessApi, alpha: Tenant, telnyx_sim: Simulator
) -> None:
    lead = setup_lead(api, alpha, "+15550001001")
    body = {"at": wednesday(11), "text": "Hi Ada, your renewal is due."}
    created = api.post(f"/leads/{lead['lead_id']}/scheduled-texts", alpha.api_key, body)
    assert created.status == 201, created.body
    at_telnyx = telnyx_events(telnyx_sim, alpha)[created.body["event_id"]]
    assert at_telnyx["telnyx_conversation_channel"] == "sms_chat"
    assert at_telnyx["text"] == "Hi Ada, your renewal is due."


@pytest.mark.parametrize(
    ("lead_fields", "route", "body", "status", "reason"),
    [
        ({}, "scheduled-calls", {"at": wednesday(22)}, 422, "outside_window:federal"),
        ({}, "scheduled-texts", {"at": wednesday(7), "text": "early"}, 422, "outside_window:federal"),
        ({"consent": None}, "scheduled-calls", {"at": wednesday(15)}, 409, "no_consent"),
        (
            {"consent": {**CONSENT, "revoked_at": "2026-02-01T00:00:00Z"}},
            "scheduled-calls",
            {"at": wednesday(15)},
            409,
            "consent_revoked",
        ),
        ({"dnc_scrubbed_at": None}, "scheduled-calls", {"at": wednesday(15)}, 409, "scrub_missing"),
    ],
    ids=["call at 22h", "text at 7h", "no consent", "consent revoked", "never scrubbed"],
)
def test_an_illegal_contact_is_refused_with_its_reason_and_nothing_is_created(
    api: InProcessApi,
    alpha: Tenant,
    telnyx_sim: Simulator,
    lead_fields: dict[str, Any],
    route: str,
    body: dict[str, Any],
    status: int,
    reason: str,
) -> None:
    lead = setup_lead(api, alpha, "+15550001001", **lead_fields)
    before = set(telnyx_events(telnyx_sim, alpha))
    refused = api.post(f"/leads/{lead['lead_id']}/{route}", alpha.api_key, body)
    assert refused.status == status, refused.body
    if status == 422:
        assert reason in [d["type"] for d in refused.body["detail"]]
        assert "next legal time" in refused.body["detail"][0]["msg"]
    else:
        assert refused.body["error"] == "not_callable"
        assert reason in refused.body["reasons"]
    assert set(telnyx_events(telnyx_sim, alpha)) == before
    assert api.get(f"/leads/{lead['lead_id']}/scheduled-events", alpha.api_key).body["data"] == []


def test_a_dnc_number_is_refused(api: InProcessApi, alpha: Tenant, telnyx_sim: Simulator) -> None:
    lead = setup_lead(api, alpha, "+15550001001")
    assert api.post("/dnc", alpha.api_key, {"phone": lead["phone"], "reason": "asked"}).status == 201
    refused = api.post(f"/leads/{lead['lead_id']}/scheduled-calls", alpha.api_key, {"at": wednesday(15)})
    assert refused.status == 409
    assert refused.body["reasons"] == ["dnc"]


def _schedule(api: InProcessApi, tenant: Tenant, lead: dict[str, str], hour: int = 15) -> str:
    created = api.post(f"/leads/{lead['lead_id']}/scheduled-calls", tenant.api_key, {"at": wednesday(hour)})
    assert created.status == 201, created.body
    return str(created.body["event_id"])


def _statuses(api: InProcessApi, tenant: Tenant, lead: dict[str, str]) -> list[tuple[str, str | None]]:
    data = api.get(f"/leads/{lead['lead_id']}/scheduled-events", tenant.api_key).body["data"]
    return [(e["status"], e["cancel_reason"]) for e in data]


@pytest.mark.parametrize("how", ["single", "bulk"])
def test_a_dnc_add_cancels_the_numbers_pending_events_in_every_campaign(
    api: InProcessApi, alpha: Tenant, telnyx_sim: Simulator, how: str
) -> None:
    lead = setup_lead(api, alpha, "+15550001001")
    # the same person in a second campaign, with an event there too
    key = alpha.api_key
    other_campaign = api.post(
        "/campaigns",
        key,
        {
            "name": "Second",
            "assistant_id": lead["assistant_id"],
            "caller_ids": api.get(f"/campaigns/{lead['campaign_id']}", key).body["caller_ids"],
        },
    ).body["id"]
    second = {
        "lead_id": api.post(
            f"/campaigns/{other_campaign}/leads",
            key,
            {
                "leads": [
                    {
                        "phone": lead["phone"],
                        "state": "NY",
                        "consent": CONSENT,
                        "dnc_scrubbed_at": datetime.now(UTC).date().isoformat(),
                    }
                ]
            },
        ).body["lead_ids"][0]
    }
    events = [_schedule(api, alpha, lead), _schedule(api, alpha, lead, 16), _schedule(api, alpha, second)]
    assert set(events) <= set(telnyx_events(telnyx_sim, alpha))
    # WHEN the number joins the DNC list
    if how == "single":
        assert api.post("/dnc", key, {"phone": lead["phone"], "reason": "asked by email"}).status == 201
    else:
        assert api.post("/dnc/bulk", key, {"phones": [lead["phone"]], "reason": "bulk"}).body["added"] == 1
    # THEN every pending event of that number is gone at Telnyx and canceled (reason dnc) here
    assert set(events).isdisjoint(telnyx_events(telnyx_sim, alpha))
    assert _statuses(api, alpha, lead) == [("canceled", "dnc")] * 2
    assert _statuses(api, alpha, second) == [("canceled", "dnc")]


def test_a_consent_revocation_cancels_the_leads_pending_events(
    api: InProcessApi, alpha: Tenant, telnyx_sim: Simulator
) -> None:
    lead = setup_lead(api, alpha, "+15550001001")
    event = _schedule(api, alpha, lead)
    revoked = {**CONSENT, "revoked_at": datetime.now(UTC).isoformat()}
    assert api.put(f"/leads/{lead['lead_id']}/consent", alpha.api_key, revoked).status == 200
    assert event not in telnyx_events(telnyx_sim, alpha)
    assert _statuses(api, alpha, lead) == [("canceled", "consent_revoked")]


def test_an_opt_out_on_a_call_cancels_the_numbers_pending_events(
    api: InProcessApi, alpha: Tenant, telnyx_sim: Simulator
) -> None:
    from dialer.adapters.secrets import TenantSecrets
    from tests.integration.conftest import load_handler

    lead = setup_lead(api, alpha, "+15550001001")
    event = _schedule(api, alpha, lead)
    tools = load_handler("assistant_tools")
    tools.tools.cache_clear()
    secret = TenantSecrets(PARAM_PREFIX, client=boto3.client("ssm")).tool_secret(alpha.tenant_id)
    raw = json.dumps({"call_control_id": "v3:inbound-opt-out", "end_user": lead["phone"]}).encode()
    request = api_gateway_event(
        alpha.tenant_id, raw, {"content-type": "application/json", "X-Tool-Secret": str(secret)}
    )
    request["resource"] = request["requestContext"]["resourcePath"] = "/tools/{tenant_id}/{tool}"
    request["path"] = f"/tools/{alpha.tenant_id}/opt_out"
    request["pathParameters"] = {"tenant_id": alpha.tenant_id, "tool": "opt_out"}
    answer = tools.lambda_handler(request, LambdaContextStub())
    assert answer["statusCode"] == 200, answer["body"]
    assert json.loads(answer["body"])["result"] == "opted_out"
    assert event not in telnyx_events(telnyx_sim, alpha)
    assert _statuses(api, alpha, lead) == [("canceled", "dnc")]


def test_another_tenant_cannot_schedule_list_or_cancel(
    api: InProcessApi, alpha: Tenant, bravo: Tenant, telnyx_sim: Simulator
) -> None:
    lead = setup_lead(api, alpha, "+15550001001")
    event = _schedule(api, alpha, lead)
    base = f"/leads/{lead['lead_id']}"
    bravo_before = telnyx_events(telnyx_sim, bravo)
    # WHEN bravo names alpha's lead and event
    assert api.post(f"{base}/scheduled-calls", bravo.api_key, {"at": wednesday(15)}).status == 404
    assert (
        api.post(f"{base}/scheduled-texts", bravo.api_key, {"at": wednesday(15), "text": "x"}).status == 404
    )
    assert api.get(f"{base}/scheduled-events", bravo.api_key).status == 404
    assert api.delete(f"{base}/scheduled-events/{event}", bravo.api_key).status == 404
    # THEN nothing changed for alpha, and nothing was created in either account
    assert telnyx_events(telnyx_sim, alpha)[event]["status"] == "pending"
    assert _statuses(api, alpha, lead) == [("scheduled", None)]
    assert telnyx_events(telnyx_sim, bravo) == bravo_before


def test_an_event_we_could_not_record_is_taken_back_at_telnyx(
    api: InProcessApi, alpha: Tenant, telnyx_sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dialer.adapters.scheduled_events_table import ScheduledEventsTable
    from dialer.errors import TemporarilyUnavailable

    lead = setup_lead(api, alpha, "+15550001001")
    before = {e for e, v in telnyx_events(telnyx_sim, alpha).items() if v["status"] == "pending"}

    def table_down(self: Any, record: Any) -> None:  # an injected DynamoDB outage
        raise TemporarilyUnavailable("could not write to the state table")

    monkeypatch.setattr(ScheduledEventsTable, "put", table_down)
    # WHEN Telnyx created the event but our record could not be written
    failed = api.post(f"/leads/{lead['lead_id']}/scheduled-calls", alpha.api_key, {"at": wednesday(15)})
    # THEN the request fails and no event is left at Telnyx that a DNC add could not find
    assert failed.status == 503, failed.body
    after = {e for e, v in telnyx_events(telnyx_sim, alpha).items() if v["status"] == "pending"}
    assert after == before


def test_a_rested_caller_id_is_not_scheduled_from(
    api: InProcessApi, alpha: Tenant, telnyx_sim: Simulator
) -> None:
    # GIVEN a campaign whose only caller ID an operator rested
    lead = setup_lead(api, alpha, "+15550001077")
    caller = next(c for c in api.every("/caller-ids", alpha.api_key) if c["phone_number"] == "+15550001077")
    assert api.post(f"/caller-ids/{caller['id']}/rest", alpha.api_key, {"reason": "spam label"}).status == 200
    before = telnyx_events(telnyx_sim, alpha)
    # WHEN a call is scheduled for the lead
    refused = api.post(f"/leads/{lead['lead_id']}/scheduled-calls", alpha.api_key, {"at": wednesday(15)})
    # THEN it is refused with the reason and nothing is scheduled at Telnyx
    assert refused.status == 409, refused.body
    assert "rested" in str(refused.body)
    assert telnyx_events(telnyx_sim, alpha) == before
    # AND once the number is restored it is used again
    assert api.post(f"/caller-ids/{caller['id']}/restore", alpha.api_key).status == 200
    created = api.post(f"/leads/{lead['lead_id']}/scheduled-calls", alpha.api_key, {"at": wednesday(15)})
    assert created.status == 201, created.body
    assert created.body["from_number"] == "+15550001077"

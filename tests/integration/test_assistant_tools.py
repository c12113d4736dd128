"""assistant_tools in-process against moto: authenticated, idempotent in-call tools whose effects
stay inside the tenant that made the call."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from dialer.adapters.campaigns_table import CampaignsTable
from dialer.adapters.people_table import DncTable
from dialer.adapters.secrets import TOOL_SECRET, TenantSecrets
from tests.integration.conftest import TENANT, load_handler
from tests.support.aws import PARAM_PREFIX, LambdaContextStub, seed_tenant
from tests.support.seed import Seeder, init_event
from tests.support.signing import WebhookSigner, api_gateway_event, new_signer

OTHER = "initech"
SECRET_A = "tool-secret-a-0123456789"
SECRET_B = "tool-secret-b-9876543210"
CONTEXT = LambdaContextStub()


@pytest.fixture(scope="session")
def tool_secrets(moto_stack, signer) -> None:
    secrets = TenantSecrets(PARAM_PREFIX, client=boto3.client("ssm"))
    secrets.put(TENANT, TOOL_SECRET, SECRET_A)
    secrets.put(OTHER, TOOL_SECRET, SECRET_B)


@pytest.fixture(scope="session")
def other_signer(moto_stack) -> WebhookSigner:
    key = new_signer(seed=11)
    seed_tenant(boto3.client("ssm"), OTHER, key.public_key_b64)
    return key


@pytest.fixture
def handler(aws: dict[str, Any], tool_secrets):
    module = load_handler("assistant_tools")
    module.tools.cache_clear()
    return module


@pytest.fixture
def seed(moto_stack) -> Seeder:
    return Seeder(CampaignsTable(moto_stack.table_name))


@pytest.fixture
def dnc(moto_stack) -> DncTable:
    return DncTable(moto_stack.table_name)


def call_tool(
    handler,
    tool: str,
    body: dict[str, Any] | bytes,
    *,
    tenant: str = TENANT,
    signer: WebhookSigner | None = None,
    secret: str | None = SECRET_A,
    extra: dict[str, str] | None = None,
) -> dict[str, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = signer.headers(raw) if signer else {"content-type": "application/json"}
    if secret is not None:
        headers["X-Tool-Secret"] = secret
    headers.update(extra or {})
    event = api_gateway_event(tenant, raw, headers)
    event["resource"] = event["requestContext"]["resourcePath"] = "/tools/{tenant_id}/{tool}"
    event["path"] = f"/tools/{tenant}/{tool}"
    event["pathParameters"] = {"tenant_id": tenant, "tool": tool}
    response = handler.lambda_handler(event, CONTEXT)
    response["json"] = json.loads(response["body"]) if response.get("body") else None
    return response


def lead_status(seed: Seeder, tenant: str, lead_id: str) -> str:
    lead = seed.table.get_lead(tenant, lead_id)
    assert lead is not None
    return lead.status


def test_opt_out_lists_the_number_ends_its_pending_leads_everywhere_and_is_idempotent(
    handler, signer, seed, dnc
):
    # GIVEN one person in two of A's campaigns (dialled now in the first) and in B's campaign
    phone = "+13125550101"
    seed.campaign(TENANT, "cmp_oo1")
    seed.campaign(TENANT, "cmp_oo2")
    seed.campaign(OTHER, "cmp_oo_b")
    dialled = seed.lead(TENANT, "cmp_oo1", phone, first_name="Pat")
    other_campaign = seed.lead(TENANT, "cmp_oo2", phone)
    b_lead = seed.lead(OTHER, "cmp_oo_b", phone)
    seed.attempt(dialled, 1)
    seed.linked_call(dialled, 1, "v3:oo-call")
    body = {"call_control_id": "v3:oo-call", "lead_id": dialled.lead_id, "end_user": phone}
    # WHEN the assistant calls opt_out (signed and with the tool secret)
    response = call_tool(handler, "opt_out", body, signer=signer)
    # THEN the number is on A's DNC list, audited with the call, and A's pending leads ended
    assert response["statusCode"] == 200
    assert response["json"]["ok"] is True
    assert "end the call" in response["json"]["message"]
    entry = dnc.get(TENANT, phone)
    assert entry is not None
    assert entry.added_by == "call:v3:oo-call"
    audit, _ = dnc.audit_trail(TENANT, phone, limit=10, after=None)
    assert [(a.action, a.actor) for a in audit] == [("added", "call:v3:oo-call")]
    assert lead_status(seed, TENANT, dialled.lead_id) == "blocked"
    assert lead_status(seed, TENANT, other_campaign.lead_id) == "blocked"
    # AND B's list and lead are untouched
    assert dnc.get(OTHER, phone) is None
    assert lead_status(seed, OTHER, b_lead.lead_id) == "pending"
    # WHEN Telnyx retries the tool call, THEN same answer, nothing written twice
    again = call_tool(handler, "opt_out", body, signer=signer)
    assert again["statusCode"] == 200
    assert again["json"]["already_listed"] is True
    assert len(dnc.audit_trail(TENANT, phone, limit=10, after=None)[0]) == 1


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("secret_only", 200),
        ("signature_and_secret", 200),
        ("no_secret", 401),
        ("wrong_secret", 401),
        ("bad_signature", 401),
        ("other_tenants_secret", 401),
        ("unknown_tenant", 401),
    ],
)
def test_authentication(handler, signer, other_signer, dnc, seed, case, expected):
    # A call of this tenant's (a disposition for a call it has no record of is a 404 of its own)
    seed.campaign(TENANT, "cmp_auth")
    lead = seed.lead(TENANT, "cmp_auth", "+13125550199")
    seed.attempt(lead, 1)
    seed.linked_call(lead, 1, "v3:auth")
    body = {"call_control_id": "v3:auth", "end_user": "+13125550199"}
    kwargs: dict[str, Any] = {}
    if case == "signature_and_secret":
        kwargs["signer"] = signer
    elif case == "no_secret":
        kwargs["secret"] = None
    elif case == "wrong_secret":
        kwargs["secret"] = SECRET_A[:-1] + "x"
    elif case == "bad_signature":
        kwargs["signer"] = other_signer
    elif case == "other_tenants_secret":
        kwargs["secret"] = SECRET_B
    elif case == "unknown_tenant":
        kwargs["tenant"] = "nobody-here"
    response = call_tool(handler, "set_disposition", {**body, "disposition": "interested"}, **kwargs)
    assert response["statusCode"] == expected, response["body"]
    if expected == 401:
        assert response["json"] == {
            "error": "unauthorized",
            "message": "tool call could not be authenticated",
        }


def test_unrendered_template_values_identify_nobody_and_change_nothing(handler, signer, seed, dnc):
    body = {
        "call_control_id": "{{call_control_id}}",
        "lead_id": "{{lead_id}}",
        "end_user": "{{telnyx_end_user_target}}",
    }
    response = call_tool(handler, "opt_out", body, signer=signer)
    assert response["statusCode"] == 200
    assert response["json"]["ok"] is False
    assert response["json"]["result"] == "caller_unknown"
    # AND a disposition with unrendered identity writes no call record named "{{call_control_id}}"
    response = call_tool(handler, "set_disposition", {**body, "disposition": "interested"}, signer=signer)
    assert response["json"]["result"] == "caller_unknown"
    assert seed.table.items.get({"pk": f"T#{TENANT}#CALL#{{{{call_control_id}}}}", "sk": "CALL"}) is None


def test_a_request_naming_another_tenants_lead_learns_and_changes_nothing(handler, signer, seed, dnc):
    phone = "+13125550102"
    seed.campaign(OTHER, "cmp_iso_b")
    b_lead = seed.lead(OTHER, "cmp_iso_b", phone, first_name="Hidden")
    seed.attempt(b_lead, 1)
    seed.linked_call(b_lead, 1, "v3:b-only")
    body = {"call_control_id": "v3:b-only", "lead_id": b_lead.lead_id}
    # opt_out answers the model (caller unknown); set_disposition on a call that is not this
    # tenant's is a 404, and creates no call record in this tenant's data either
    for tool, extra, status in (
        ("opt_out", {}, 200),
        ("set_disposition", {"disposition": "do_not_call"}, 404),
    ):
        response = call_tool(handler, tool, {**body, **extra}, signer=signer)
        assert response["statusCode"] == status, response["body"]
        assert "Hidden" not in response["body"]
        assert phone not in response["body"]
    assert seed.table.items.get({"pk": f"T#{TENANT}#CALL#v3:b-only", "sk": "CALL"}) is None
    assert dnc.get(OTHER, phone) is None
    assert dnc.get(TENANT, phone) is None
    assert lead_status(seed, OTHER, b_lead.lead_id) == "pending"
    b_item = seed.table.items.get({"pk": f"T#{OTHER}#LEAD#{b_lead.lead_id}", "sk": "LEAD"})
    assert "last_disposition" not in b_item


def test_set_disposition_records_on_call_and_lead_and_the_next_init_greets_with_it(
    handler, signer, seed, monkeypatch
):
    phone = "+13125550103"
    seed.campaign(TENANT, "cmp_disp")
    lead = seed.lead(TENANT, "cmp_disp", phone, first_name="Dana")
    seed.attempt(lead, 1)
    seed.linked_call(lead, 1, "v3:disp-call")
    # WHEN the assistant records a disposition (call id from the header, as async tools send it)
    response = call_tool(
        handler,
        "set_disposition",
        {"disposition": "Callback_Requested", "note": "after 5pm", "lead_id": "{{lead_id}}"},
        signer=signer,
        extra={"x-telnyx-call-control-id": "v3:disp-call"},
    )
    assert response["statusCode"] == 200
    assert response["json"] == {"ok": True, "result": "recorded", "disposition": "callback_requested"}
    call = seed.table.items.get({"pk": f"T#{TENANT}#CALL#v3:disp-call", "sk": "CALL"})
    assert call["disposition"] == "callback_requested"
    assert call["disposition_note"] == "after 5pm"
    assert call["lead_id"] == lead.lead_id  # the dialer's link is kept
    # THEN the next init webhook for this person carries it
    from dialer.settings import get_settings

    monkeypatch.setenv("INIT_DEADLINE_MS", "5000")  # about the answer, not timing
    get_settings.cache_clear()
    init = load_handler("dynamic_variables")
    init.init_webhook.cache_clear()
    raw = init_event(call_control_id="v3:next", end_user=phone)
    event = api_gateway_event(TENANT, raw, signer.headers(raw))
    variables = json.loads(init.lambda_handler(event, CONTEXT)["body"])["dynamic_variables"]
    assert variables["last_disposition"] == "callback_requested"
    assert variables["last_disposition_note"] == "after 5pm"


def test_do_not_call_disposition_has_the_opt_out_effects(handler, signer, seed, dnc):
    phone = "+13125550104"
    seed.campaign(TENANT, "cmp_dnc_disp")
    lead = seed.lead(TENANT, "cmp_dnc_disp", phone)
    seed.linked_call(lead, 1, "v3:dnc-disp")
    response = call_tool(
        handler,
        "set_disposition",
        {"call_control_id": "v3:dnc-disp", "disposition": "do_not_call"},
        signer=signer,
    )
    assert response["json"]["ok"] is True
    assert dnc.get(TENANT, phone) is not None
    assert lead_status(seed, TENANT, lead.lead_id) == "blocked"


def test_model_mistakes_get_answers_it_can_act_on(handler, signer):
    bad = call_tool(
        handler, "set_disposition", {"call_control_id": "v3:x", "disposition": "maybe"}, signer=signer
    )
    assert bad["statusCode"] == 200
    assert bad["json"]["error"] == "invalid_disposition"
    assert "do_not_call" in bad["json"]["allowed"]
    assert call_tool(handler, "no_such_tool", {}, signer=signer)["statusCode"] == 404
    assert call_tool(handler, "opt_out", b"[1, 2]", signer=signer)["statusCode"] == 400
    assert call_tool(handler, "opt_out", b"not json", signer=signer)["statusCode"] == 400


def _eligible_lead(seed: Seeder, campaign_id: str, phone: str):
    from datetime import UTC, datetime

    seed.campaign(TENANT, campaign_id)
    today = datetime.now(UTC).date().isoformat()
    return seed.lead(
        TENANT,
        campaign_id,
        phone,
        first_name="Cal",
        state="NY",
        consent_type="express_written",
        consent_source="web form",
        consent_granted_at="2026-01-01T00:00:00Z",
        dnc_scrubbed_at=today,
    )


def _next_wednesday_local(hour: int) -> str:
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    local = datetime.now(UTC).astimezone(ZoneInfo("America/New_York")) + timedelta(days=2)
    while local.weekday() != 2:
        local += timedelta(days=1)
    return local.replace(hour=hour, minute=0, second=0, microsecond=0, tzinfo=None).isoformat(
        timespec="minutes"
    )


def test_schedule_callback_books_the_lead_at_the_confirmed_time_and_reads_it_back(handler, signer, seed):
    lead = _eligible_lead(seed, "cmp_cb1", "+12125550171")
    seed.linked_call(lead, 1, "v3:cb-call")
    when = _next_wednesday_local(15)
    body = {"call_control_id": "v3:cb-call", "lead_id": "{{lead_id}}", "when": when, "note": "after lunch"}
    # WHEN the assistant schedules the callback the person asked for (lead-local time)
    response = call_tool(handler, "schedule_callback", body, signer=signer)
    # THEN it is booked at that instant, and the answer reads it back in the lead's zone
    assert response["statusCode"] == 200, response["body"]
    answer = response["json"]
    assert answer["ok"] is True
    assert answer["adjusted"] is False
    assert answer["callback_at_local"].startswith("Wednesday, ")
    assert "3:00 PM (America/New_York)" in answer["callback_at_local"]
    item = seed.table.items.get({"pk": f"T#{TENANT}#LEAD#{lead.lead_id}", "sk": "LEAD"})
    from datetime import datetime

    booked = datetime.fromisoformat(answer["callback_at"])
    assert item["due_sk"].startswith("0#")  # a callback: before every ordinary due lead
    assert item["next_attempt_at"] == booked.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # AND Telnyx retrying the tool call books the same instant again
    again = call_tool(handler, "schedule_callback", body, signer=signer)
    assert again["json"]["callback_at"] == answer["callback_at"]


def test_schedule_callback_outside_legal_hours_moves_to_the_next_legal_instant(handler, signer, seed):
    lead = _eligible_lead(seed, "cmp_cb2", "+12125550172")
    body = {"lead_id": lead.lead_id, "when": _next_wednesday_local(22)}
    answer = call_tool(handler, "schedule_callback", body, signer=signer)["json"]
    assert answer["ok"] is True
    assert answer["adjusted"] is True
    assert "Thursday, " in answer["callback_at_local"]
    assert "next allowed time" in answer["message"]


@pytest.mark.parametrize(
    ("when", "error"),
    [
        ("2020-01-01T10:00", "invalid_time"),
        ("next tuesday-ish", "unparseable_time"),
        ("2031-01-01T10:00", "too_far_ahead"),
    ],
)
def test_schedule_callback_answers_times_the_model_got_wrong(handler, signer, seed, when, error):
    lead = _eligible_lead(seed, "cmp_cb3", "+12125550173")
    before = seed.table.items.get({"pk": f"T#{TENANT}#LEAD#{lead.lead_id}", "sk": "LEAD"})
    response = call_tool(handler, "schedule_callback", {"lead_id": lead.lead_id, "when": when}, signer=signer)
    assert response["statusCode"] == 200
    assert response["json"]["ok"] is False
    assert response["json"]["error"] == error
    after = seed.table.items.get({"pk": f"T#{TENANT}#LEAD#{lead.lead_id}", "sk": "LEAD"})
    assert after.get("due_sk") == before.get("due_sk")


def test_schedule_callback_on_a_call_we_did_not_dial_finds_the_lead_by_number(handler, signer, seed):
    # An inbound caller (or a Telnyx scheduled event): no attempt link, the preset fields render
    # only the call and the person's number.
    lead = _eligible_lead(seed, "cmp_cb4", "+12125550174")
    body = {
        "call_control_id": "v3:inbound-call",
        "lead_id": "{{lead_id}}",
        "end_user": "+12125550174",
        "when": _next_wednesday_local(15),
    }
    answer = call_tool(handler, "schedule_callback", body, signer=signer)["json"]
    assert answer["ok"] is True, answer
    item = seed.table.items.get({"pk": f"T#{TENANT}#LEAD#{lead.lead_id}", "sk": "LEAD"})
    assert item["callback_at"] == item["next_attempt_at"]
    assert item["due_sk"].startswith("0#")
    # AND another tenant's route with the same number finds nobody (its own tenant has no such lead)
    other = call_tool(handler, "schedule_callback", body, tenant=OTHER, signer=None, secret=SECRET_B)
    assert other["json"]["result"] == "caller_unknown"


# --- hostile input (issue 22): answers the model can act on or a 400, never a crash ------------------
@pytest.mark.parametrize(
    ("body", "zone"),
    [
        ("0001-01-01T00:00:00+14:00", None),  # converting it to UTC overflows
        ("2026-12-02T15:00", "x" * 300),  # ZoneInfo raises OSError (file name too long)
        ("2026-12-02T15:00", "../../etc/passwd"),
        ("2026-12-02T15:00", "Mars/Olympus"),
        ("9999-12-31T23:59:59-12:00", None),
    ],
    ids=["year 1 at +14:00", "300-char zone", "path zone", "unknown zone", "year 9999 at -12:00"],
)
def test_schedule_callback_with_a_hostile_time_or_zone_answers_and_books_nothing(
    handler, signer, seed, body, zone
):
    lead = _eligible_lead(seed, "cmp_cb5", "+12125550175")
    before = seed.table.items.get({"pk": f"T#{TENANT}#LEAD#{lead.lead_id}", "sk": "LEAD"})
    request = {"lead_id": lead.lead_id, "when": body, **({"time_zone": zone} if zone else {})}
    response = call_tool(handler, "schedule_callback", request, signer=signer)
    assert response["statusCode"] == 200, response["body"]
    assert response["json"]["ok"] is False
    assert response["json"]["error"] in {"unparseable_time", "invalid_time", "too_far_ahead"}
    after = seed.table.items.get({"pk": f"T#{TENANT}#LEAD#{lead.lead_id}", "sk": "LEAD"})
    assert after.get("due_sk") == before.get("due_sk")


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 2_000 + b"]" * 2_000,
        b'{"disposition":"interested","n":' + b"9" * 5_000 + b"}",
        b'{"disposition":"interested","note":"\xff\xfe"}',
        b'{"disposition":"interested","call_control_id":"v3:auth","note":"\\ud800"}',
    ],
    ids=["deep", "5000-digit integer", "not UTF-8", "lone surrogate"],
)
def test_a_tool_body_that_cannot_be_read_is_a_400(handler, signer, raw):
    response = call_tool(handler, "set_disposition", raw, signer=signer)
    assert response["statusCode"] == 400, response["body"]
    assert response["json"]["error"] == "bad_request"


def test_a_tool_called_with_get_is_a_405(handler):
    event = {"httpMethod": "GET", "pathParameters": {"tenant_id": TENANT, "tool": "opt_out"}, "body": None}
    response = handler.lambda_handler(event, CONTEXT)
    assert response["statusCode"] == 405
    assert response["headers"]["Allow"] == "POST"

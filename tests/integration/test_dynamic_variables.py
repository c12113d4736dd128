"""dynamic_variables (the init webhook) in-process against moto: every branch answers 200 in time
with string variables; other tenants' data is never reachable; nothing a caller sends makes it 5xx."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialer.adapters.campaigns_table import CampaignsTable
from dialer.adapters.init_context import InitContextTable
from dialer.adapters.tenant_config import SsmTenantConfig
from dialer.domain.campaigns import CampaignStatus
from dialer.errors import TemporarilyUnavailable
from dialer.services.init_webhook import InitBranch, InitWebhook
from tests.integration.conftest import TENANT, load_handler
from tests.support.aws import PARAM_PREFIX, LambdaContextStub, seed_tenant
from tests.support.seed import Seeder, client_state, init_event
from tests.support.signing import WebhookSigner, api_gateway_event, new_signer

OTHER = "globex"
CONTEXT = LambdaContextStub()


@pytest.fixture
def handler(aws: dict[str, Any], signer: WebhookSigner, monkeypatch: pytest.MonkeyPatch):
    # A deadline no loaded CI machine can miss: these tests are about answers, not timing (the
    # deadline has its own test below, on a table that is slow on purpose).
    from dialer.settings import get_settings

    monkeypatch.setenv("INIT_DEADLINE_MS", "5000")
    get_settings.cache_clear()
    module = load_handler("dynamic_variables")
    module.init_webhook.cache_clear()
    yield module
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def other_signer(moto_stack) -> WebhookSigner:
    key = new_signer(seed=9)
    seed_tenant(boto3.client("ssm"), OTHER, key.public_key_b64)
    return key


@pytest.fixture
def seed(moto_stack) -> Seeder:
    return Seeder(CampaignsTable(moto_stack.table_name))


def post(handler, raw: bytes, headers: dict[str, str], tenant: str = TENANT) -> dict[str, Any]:
    event = api_gateway_event(tenant, raw, headers)
    event["resource"] = event["requestContext"]["resourcePath"] = "/webhooks/telnyx/{tenant_id}/init"
    event["path"] = f"/webhooks/telnyx/{tenant}/init"
    response = handler.lambda_handler(event, CONTEXT)
    response["json"] = json.loads(response["body"])
    return response


def assert_flat_strings(body: dict[str, Any]) -> None:
    variables = body["dynamic_variables"]
    assert variables
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in variables.items())
    assert all(isinstance(v, str) for v in body.get("conversation", {}).get("metadata", {}).values())


def unique_phone(n: int) -> str:
    return f"+1212555{n:04d}"


def test_call_of_an_attempt_gets_its_lead_campaign_mapping_and_attempt(handler, signer, seed):
    # GIVEN a lead dialled by the engine (attempt 2, a callback) and its linked call
    seed.campaign(TENANT, "cmp_attempt", variables={"customer": "first_name", "product": "custom.product"})
    lead = seed.lead(
        TENANT,
        "cmp_attempt",
        unique_phone(1),
        first_name="Ada",
        last_name="Lovelace",
        state="NY",
        custom_fields={"product": "solar"},
    )
    seed.set_lead(
        TENANT, lead.lead_id, last_disposition="callback_requested", last_summary="Asked for a call after 5"
    )
    seed.attempt(lead, 2, callback=True, callback_note="after work", assistant_id="asst-b")
    seed.linked_call(lead, 2, "v3:attempt-call", assistant_id="asst-b")
    raw = init_event(call_control_id="v3:attempt-call", end_user=lead.lead.phone)
    # WHEN Telnyx asks for the call's variables
    response = post(handler, raw, signer.headers(raw))
    # THEN the answer names this lead, its campaign mapping, the attempt and the variant
    assert response["statusCode"] == 200
    body = response["json"]
    assert_flat_strings(body)
    variables = body["dynamic_variables"]
    assert variables["first_name"] == "Ada"
    assert variables["customer"] == "Ada"
    assert variables["product"] == "solar"
    assert variables["custom_product"] == "solar"
    assert variables["attempt_number"] == "2"
    assert variables["is_callback"] == "true"
    assert variables["callback_note"] == "after work"
    assert variables["time_zone"] == "America/New_York"
    assert variables["local_time"]
    assert variables["last_disposition"] == "callback_requested"
    assert variables["last_summary"] == "Asked for a call after 5"
    assert variables["caller_known"] == "true"
    assert body["conversation"]["metadata"] == {
        "tenant_id": TENANT,
        "campaign_id": "cmp_attempt",
        "lead_id": lead.lead_id,
        "attempt": "2",
        "variant": "asst-b",
    }
    assert body["memory"]["conversation_query"].startswith(
        f"metadata->telnyx_end_user_target=eq.{lead.lead.phone}&"
    )


def test_client_state_is_used_only_when_our_attempt_record_confirms_it(handler, signer, seed):
    seed.campaign(TENANT, "cmp_state")
    lead = seed.lead(TENANT, "cmp_state", unique_phone(2), first_name="Grace")
    seed.attempt(lead, 1)
    # GIVEN no call link yet, but the dialer's client_state naming the attempt
    good = init_event(
        call_control_id="v3:not-linked",
        end_user="+15550009999",
        client_state=client_state(TENANT, "cmp_state", lead.lead_id, 1),
    )
    body = post(handler, good, signer.headers(good))["json"]
    assert body["dynamic_variables"]["first_name"] == "Grace"
    assert body["conversation"]["metadata"]["attempt"] == "1"
    # AND a client_state naming an attempt we never made (or another tenant) is ignored
    for forged in (
        client_state(TENANT, "cmp_state", lead.lead_id, 7),
        client_state(OTHER, "cmp_state", lead.lead_id, 1),
    ):
        raw = init_event(call_control_id="v3:not-linked", end_user="+15550009999", client_state=forged)
        body = post(handler, raw, signer.headers(raw))["json"]
        assert body["dynamic_variables"]["caller_known"] == "false"
        assert "first_name" not in body["dynamic_variables"]


def test_number_branch_prefers_the_most_recent_active_campaign(handler, signer, seed):
    phone = unique_phone(3)
    seed.campaign(TENANT, "cmp_n1")
    seed.campaign(TENANT, "cmp_n2")
    seed.campaign(TENANT, "cmp_n3", status=CampaignStatus.COMPLETED)
    seed.lead(TENANT, "cmp_n1", phone, first_name="Old")
    newest_active = seed.lead(TENANT, "cmp_n2", phone, first_name="Active")
    seed.lead(TENANT, "cmp_n3", phone, first_name="Finished")
    # GIVEN an inbound caller (no attempt, no client_state) whose number has three leads
    raw = init_event(call_control_id="v3:inbound-1", end_user=phone, variant="edge")
    body = post(handler, raw, signer.headers(raw))["json"]
    # THEN the lead of the most recent *active* campaign answers
    assert body["dynamic_variables"]["first_name"] == "Active"
    assert body["conversation"]["metadata"]["lead_id"] == newest_active.lead_id
    assert "attempt" not in body["conversation"]["metadata"]


def test_unknown_caller_gets_safe_defaults_and_memory_of_their_number(handler, signer):
    raw = init_event(call_control_id="v3:who", end_user="+15550001111")
    response = post(handler, raw, signer.headers(raw))
    assert response["statusCode"] == 200
    body = response["json"]
    assert_flat_strings(body)
    assert body["dynamic_variables"]["caller_known"] == "false"
    assert body["conversation"]["metadata"]["tenant_id"] == TENANT
    assert body["memory"]["conversation_query"].startswith(
        "metadata->telnyx_end_user_target=eq.+15550001111&"
    )


def test_bad_signature_and_unknown_tenant_are_401_alike(handler, signer, other_signer):
    raw = init_event()
    tampered = raw.replace(b"+15550000200", b"+15550000201")
    assert post(handler, tampered, signer.headers(raw))["statusCode"] == 401
    assert post(handler, raw, {"content-type": "application/json"})["statusCode"] == 401
    unknown = post(handler, raw, signer.headers(raw), tenant="nobody-here")
    bad = post(handler, raw, other_signer.headers(raw))
    assert unknown["statusCode"] == bad["statusCode"] == 401
    assert unknown["json"] == bad["json"]


def test_tenant_isolation_a_request_for_b_learns_nothing(handler, signer, other_signer, seed):
    # GIVEN tenant B's lead, its attempt and its linked call
    seed.campaign(OTHER, "cmp_b")
    lead_b = seed.lead(OTHER, "cmp_b", unique_phone(4), first_name="Secret")
    seed.attempt(lead_b, 1)
    seed.linked_call(lead_b, 1, "v3:b-call")
    raw = init_event(
        call_control_id="v3:b-call",
        end_user=lead_b.lead.phone,
        client_state=client_state(OTHER, "cmp_b", lead_b.lead_id, 1),
    )
    # WHEN A's key signs it for B's route, THEN 401
    assert post(handler, raw, signer.headers(raw), tenant=OTHER)["statusCode"] == 401
    # WHEN A asks on its own route about B's call, number and attempt, THEN it learns nothing
    body = post(handler, raw, signer.headers(raw), tenant=TENANT)["json"]
    assert body["dynamic_variables"]["caller_known"] == "false"
    assert "Secret" not in json.dumps(body)
    assert lead_b.lead_id not in json.dumps(body)
    # AND B, properly signed, gets its own lead
    assert (
        post(handler, raw, other_signer.headers(raw), tenant=OTHER)["json"]["dynamic_variables"]["first_name"]
        == "Secret"
    )


class _SlowContext:
    def __init__(self, inner: InitContextTable, delay: float) -> None:
        self.inner, self.delay = inner, delay

    def __getattr__(self, name: str):
        def slow(*args: Any, **kwargs: Any):
            time.sleep(self.delay)
            return getattr(self.inner, name)(*args, **kwargs)

        return slow


class _FailingContext:
    def __getattr__(self, name: str):
        def fail(*args: Any, **kwargs: Any):
            raise TemporarilyUnavailable("state table down")

        return fail


@pytest.mark.parametrize("context", ["slow", "failing"])
def test_slow_or_failing_table_still_answers_200_before_the_deadline(aws, moto_stack, signer, seed, context):
    seed.campaign(TENANT, "cmp_slow")
    lead = seed.lead(TENANT, "cmp_slow", unique_phone(5), first_name="Late")
    seed.linked_call(lead, 1, "v3:slow")
    table = InitContextTable(moto_stack.table_name)
    service = InitWebhook(
        tenant_keys=SsmTenantConfig(PARAM_PREFIX),
        context=_SlowContext(table, 3.0) if context == "slow" else _FailingContext(),  # type: ignore[arg-type]
        deadline_seconds=0.3,
    )
    raw = init_event(call_control_id="v3:slow", end_user=lead.lead.phone)
    service.answer(TENANT, raw, signer.headers(raw))  # warm the key cache, as a warm Lambda has it
    start = time.monotonic()
    answer = service.answer(TENANT, raw, signer.headers(raw))
    elapsed = time.monotonic() - start
    assert answer.branch == InitBranch.FALLBACK
    assert answer.body["dynamic_variables"]["caller_known"] == "false"
    assert elapsed < 1.5  # the deadline (0.3 s) and scheduling slack, never the 3 s lookup


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
_payload_keys = st.sampled_from(
    ["call_control_id", "telnyx_end_user_target", "client_state", "telnyx_agent_target", "assistant_id"]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    shape=st.sampled_from(["raw", "json", "payload"]),
    junk=st.binary(max_size=200),
    doc=_json,
    payload=st.dictionaries(_payload_keys, _json, max_size=5),
)
def test_fuzzed_signed_bodies_never_5xx(handler, signer, shape, junk, doc, payload):
    if shape == "raw":
        raw = junk
    elif shape == "json":
        raw = json.dumps(doc).encode()
    else:
        raw = json.dumps({"data": {"event_type": "assistant.initialization", "payload": payload}}).encode()
    event_body_ok = True
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        event_body_ok = False
    if not event_body_ok:
        raw = raw.decode("utf-8", errors="replace").encode()
    response = post(handler, raw, signer.headers(raw))
    assert response["statusCode"] == 200
    assert_flat_strings(response["json"])


# --- hostile bodies (issue 22) -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 2_000 + b"]" * 2_000,
        b'{"data":{"payload":{"call_control_id":"v3:x","n":' + b"9" * 5_000 + b"}}}",
        b'{"data":{"payload":{"call_control_id":"\xff\xfe"}}}',
        b'{"data":{"payload":{"telnyx_end_user_target":"\\ud800"}}}',
    ],
    ids=["deep", "5000-digit integer", "not UTF-8", "lone surrogate"],
)
def test_a_signed_init_body_that_cannot_be_read_gets_the_safe_defaults(handler, signer, raw):
    # GIVEN a correctly signed body no parser should be trusted with
    response = post(handler, raw, signer.headers(raw))
    # THEN Telnyx still gets its answer in time: the defaults for a caller nobody knows
    assert response["statusCode"] == 200, response["body"]
    assert_flat_strings(response["json"])
    assert response["json"]["dynamic_variables"]["caller_known"] == "false"


def test_the_init_webhook_called_with_get_is_a_405(handler):
    response = handler.lambda_handler({"httpMethod": "GET", "body": None}, CONTEXT)
    assert response["statusCode"] == 405
    assert response["headers"]["Allow"] == "POST"

"""The insight-group webhook (top-level JSON, no call_control_id) through the real intake and event
processor on moto: authenticated by signature or by the tenant's token, joined to its call through the
conversation, and converging with ``call.conversation_insights.generated`` on one conclusion applied
once, in either order."""

from __future__ import annotations

import copy
import json
from typing import Any

import boto3
import pytest

from dialer.adapters.calls_table import CallsTable
from dialer.adapters.secrets import INSIGHTS_TOKEN, TenantSecrets
from tests.integration.conftest import TENANT
from tests.integration.test_event_processor import message_for, run
from tests.support.aws import PARAM_PREFIX, LambdaContextStub, drain
from tests.support.seed import Seeder
from tests.support.signing import api_gateway_event, load_fixture, new_signer

CONTEXT = LambdaContextStub()
TOKEN = "tok-acme-insights-0123456789abcdef"
OTHER = "other-insights"
OTHER_TOKEN = "tok-other-insights-0123456789abcdef"
GROUP = "grp-acme-default"


@pytest.fixture
def tokens(aws: dict[str, Any]) -> None:
    secrets = TenantSecrets(PARAM_PREFIX, client=boto3.client("ssm"))
    secrets.put(TENANT, INSIGHTS_TOKEN, TOKEN)
    secrets.put(OTHER, INSIGHTS_TOKEN, OTHER_TOKEN)


@pytest.fixture
def seed(moto_stack) -> Seeder:  # type: ignore[no-untyped-def]
    from dialer.adapters.campaigns_table import CampaignsTable

    return Seeder(CampaignsTable(moto_stack.table_name))


def group_webhook(conversation_id: str, disposition: str = "interested") -> bytes:
    return json.dumps(
        {
            "event_type": "conversation.insights.completed",
            "conversation_id": conversation_id,
            "insight_group_id": GROUP,
            "insight_group_name": "telnyx-ai-dialer default",
            "insights": [
                {
                    "insight_id": "i-disposition",
                    "insight_name": "disposition",
                    "result": json.dumps({"disposition": disposition}),
                },
                {"insight_id": "i-summary", "insight_name": "summary", "result": {"summary": "Keen."}},
            ],
        }
    ).encode()


def post_insights(
    handler: Any, raw: bytes, *, tenant: str = TENANT, token: str | None = None, headers: dict | None = None
) -> dict[str, Any]:
    event = api_gateway_event(tenant, raw, {"content-type": "application/json", **(headers or {})})
    event["resource"] = event["requestContext"]["resourcePath"] = "/webhooks/telnyx/{tenant_id}/insights"
    event["path"] = f"/webhooks/telnyx/{tenant}/insights"
    if token is not None:
        event["queryStringParameters"] = {"token": token}
        event["multiValueQueryStringParameters"] = {"token": [token]}
    return handler.lambda_handler(event, CONTEXT)


def conversation_created(call_control_id: str, conversation_id: str) -> dict[str, Any]:
    doc = copy.deepcopy(load_fixture("call.conversation.created"))
    doc["data"]["id"] = f"conv-created-{call_control_id}"
    doc["data"]["payload"].update(call_control_id=call_control_id, conversation_id=conversation_id)
    doc["data"]["payload"].pop("client_state", None)
    return doc


def insights_event(call_control_id: str, disposition: str = "interested") -> dict[str, Any]:
    doc = copy.deepcopy(load_fixture("call.conversation_insights.generated"))
    doc["data"]["id"] = f"insights-{call_control_id}"
    doc["data"]["payload"].update(
        call_control_id=call_control_id,
        insight_group_id=GROUP,
        results=[{"insight_id": "i-disposition", "result": {"disposition": disposition}}],
    )
    doc["data"]["payload"].pop("client_state", None)
    return doc


def queued_bodies(aws: dict[str, Any], moto_stack: Any) -> list[str]:
    return [m["Body"] for m in drain(aws["sqs"], moto_stack.events_queue_url)]


def call_of(moto_stack: Any, call_control_id: str) -> dict[str, Any]:
    item = CallsTable(moto_stack.table_name).get_call_item(TENANT, call_control_id)
    assert item is not None
    return item


@pytest.mark.parametrize("webhook_first", [True, False], ids=["group-webhook-first", "call-event-first"])
def test_both_channels_land_on_one_call_and_apply_the_disposition_once(
    intake_handler, processor_handler, aws, moto_stack, tokens, seed, webhook_first
):
    call_id, conversation = f"v3:ins-both-{webhook_first}", f"conv-both-{webhook_first}"
    seed.campaign(TENANT, f"cmp_ins_{webhook_first}")
    lead = seed.lead(TENANT, f"cmp_ins_{webhook_first}", "+13125550171" if webhook_first else "+13125550172")
    seed.linked_call(lead, 1, call_id)
    processor = processor_handler.event_processor()
    # GIVEN the call's conversation is known (call.conversation.created)
    processor.process(message_for(conversation_created(call_id, conversation))["Body"])
    # AND the group webhook came in through the intake with the tenant's token
    response = post_insights(intake_handler, group_webhook(conversation), token=TOKEN)
    assert response["statusCode"] == 200, response["body"]
    [webhook_body] = queued_bodies(aws, moto_stack)
    call_event_body = message_for(insights_event(call_id))["Body"]

    # WHEN both channels are processed, in either order
    first, second = (webhook_body, call_event_body) if webhook_first else (call_event_body, webhook_body)
    done_first = processor.process(first)
    done_second = processor.process(second)

    # THEN both land on the one call record
    assert done_first.call_control_id == done_second.call_control_id == call_id
    item = call_of(moto_stack, call_id)
    assert item["insights"]["disposition"] == "interested"
    # AND the disposition's effects ran once: by the first channel, not again by the second
    assert any(e.startswith(("disposition_", "lead_")) for e in done_first.after_call)
    assert not any(e.startswith(("disposition_", "lead_")) for e in done_second.after_call)
    assert item["insights_applied"] == f"group:{GROUP}"
    stored = seed.table.items.get({"pk": f"T#{TENANT}#LEAD#{lead.lead_id}", "sk": "LEAD"})
    assert stored["result"] == "interested"
    # AND a redelivered group webhook is a duplicate (one id per conversation and group)
    assert processor.process(webhook_body).result.value == "duplicate"


def test_an_unknown_conversation_is_retried_not_lost(
    intake_handler, processor_handler, aws, moto_stack, tokens, seed
):
    call_id, conversation = "v3:ins-late-link", "conv-late-link"
    seed.campaign(TENANT, "cmp_ins_late")
    seed.linked_call(seed.lead(TENANT, "cmp_ins_late", "+13125550173"), 1, call_id)
    assert post_insights(intake_handler, group_webhook(conversation), token=TOKEN)["statusCode"] == 200
    [body] = queued_bodies(aws, moto_stack)
    # WHEN the group webhook is processed before any event named its conversation
    mate = {**message_for(conversation_created("v3:ins-batch-mate", "conv-batch-mate")), "MessageId": "m-ok"}
    failed = run(processor_handler, [{"Body": body, "MessageId": "m-late"}, mate])
    # THEN the record fails alone (SQS redelivers it, then parks it in the DLQ): nothing is recorded
    assert failed == {"batchItemFailures": [{"itemIdentifier": "m-late"}]}
    calls = CallsTable(moto_stack.table_name)
    assert not calls.receipt_exists(TENANT, f"insights:{conversation}:{GROUP}")
    assert "insights" not in call_of(moto_stack, call_id)
    assert "receipts" not in call_of(moto_stack, call_id)  # no event applied to it either
    # WHEN the conversation's call event arrives and SQS redelivers the webhook
    run(processor_handler, [message_for(conversation_created(call_id, conversation))])
    assert run(processor_handler, [{"Body": body, "MessageId": "m-late"}]) == {"batchItemFailures": []}
    # THEN it lands on the call
    assert call_of(moto_stack, call_id)["insights"]["disposition"] == "interested"


@pytest.mark.parametrize(
    ("tenant", "token"),
    [(TENANT, None), (TENANT, "wrong-token"), (TENANT, ""), (OTHER, TOKEN), ("nobody", TOKEN)],
    ids=["no-token", "bad-token", "empty-token", "another-tenants-token", "unknown-tenant"],
)
def test_an_unauthenticated_group_webhook_is_401_and_nothing_is_stored(
    intake_handler, aws, moto_stack, tokens, tenant, token
):
    response = post_insights(intake_handler, group_webhook("conv-401"), tenant=tenant, token=token)
    assert response["statusCode"] == 401
    assert queued_bodies(aws, moto_stack) == []


def test_a_signed_group_webhook_needs_no_token_but_a_bad_signature_is_refused_even_with_one(
    intake_handler, aws, moto_stack, tokens, signer
):
    raw = group_webhook("conv-signed")
    assert post_insights(intake_handler, raw, headers=signer.headers(raw))["statusCode"] == 200
    assert len(queued_bodies(aws, moto_stack)) == 1
    forged = new_signer(seed=99).headers(raw)
    assert post_insights(intake_handler, raw, headers=forged, token=TOKEN)["statusCode"] == 401
    assert queued_bodies(aws, moto_stack) == []


def test_a_call_event_on_the_insights_route_is_refused(intake_handler, aws, moto_stack, tokens):
    raw = json.dumps(insights_event("v3:wrong-route")).encode()
    assert post_insights(intake_handler, raw, token=TOKEN)["statusCode"] == 400
    assert queued_bodies(aws, moto_stack) == []


def test_the_token_may_come_as_a_header(intake_handler, aws, moto_stack, tokens):
    response = post_insights(
        intake_handler, group_webhook("conv-header"), headers={"x-insights-token": TOKEN}
    )
    assert response["statusCode"] == 200
    assert len(queued_bodies(aws, moto_stack)) == 1

"""The sample events `sam local invoke -e` uses are the ones the tests run, through the real handlers."""

from __future__ import annotations

import json

from dialer.adapters.calls_table import CallsTable
from scripts.sign_event import TEST_SEED, resign
from tests.support.aws import LambdaContextStub, drain, seed_tenant
from tests.support.signing import REPO

EVENTS = REPO / "events"
CONTEXT = LambdaContextStub()


def load(path: str) -> dict:
    return json.loads((EVENTS / path).read_text())


def test_checked_in_intake_event_is_stale_until_resigned(intake_handler, aws, moto_stack, signer):
    seed_tenant(aws["ssm"], "default", signer.public_key_b64)
    event = load("webhook_intake/call_hangup.json")
    assert intake_handler.lambda_handler(event, CONTEXT)["statusCode"] == 401
    assert intake_handler.lambda_handler(resign(event, TEST_SEED), CONTEXT)["statusCode"] == 200
    assert len(drain(aws["sqs"], moto_stack.events_queue_url)) == 1


def test_texml_sample_is_accepted_when_signed(intake_handler, aws, moto_stack, signer):
    seed_tenant(aws["ssm"], "default", signer.public_key_b64)
    event = resign(load("webhook_intake/texml_status_completed.json"), TEST_SEED)
    assert intake_handler.lambda_handler(event, CONTEXT)["statusCode"] == 200


def test_unsigned_sample_is_401(intake_handler, aws, moto_stack, signer):
    seed_tenant(aws["ssm"], "default", signer.public_key_b64)
    assert intake_handler.lambda_handler(load("webhook_intake/unsigned.json"), CONTEXT)["statusCode"] == 401
    assert drain(aws["sqs"], moto_stack.events_queue_url) == []


def test_processor_samples(processor_handler, aws, moto_stack):
    assert processor_handler.lambda_handler(load("event_processor/call_lifecycle.json"), CONTEXT) == {
        "batchItemFailures": []
    }
    item = CallsTable(moto_stack.table_name, client=aws["dynamodb"]).get_call_item(
        "default", "v3:TEST-fake-call-control-id-0000000000000000000001"
    )
    assert (item["state"], item["outcome"]) == ("ended", "answered_human")
    result = processor_handler.lambda_handler(load("event_processor/batch_with_poison.json"), CONTEXT)
    assert result == {"batchItemFailures": [{"itemIdentifier": "msg-poison"}]}


def test_init_sample_is_stale_until_resigned_then_answers(aws, moto_stack, signer):
    from tests.integration.conftest import load_handler

    handler = load_handler("dynamic_variables")
    handler.init_webhook.cache_clear()
    seed_tenant(aws["ssm"], "default", signer.public_key_b64)
    event = load("dynamic_variables/assistant_initialization.json")
    assert handler.lambda_handler(event, CONTEXT)["statusCode"] == 401
    response = handler.lambda_handler(resign(event, TEST_SEED), CONTEXT)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["dynamic_variables"]["caller_known"] == "false"


def test_tool_sample_is_stale_until_resigned_then_records(processor_handler, aws, moto_stack, signer):
    from tests.integration.conftest import load_handler

    # The sample's call, as the processor sample records it (a disposition for a call the tenant
    # has no record or lead of is a 404)
    assert processor_handler.lambda_handler(load("event_processor/call_lifecycle.json"), CONTEXT) == {
        "batchItemFailures": []
    }
    handler = load_handler("assistant_tools")
    handler.tools.cache_clear()
    seed_tenant(aws["ssm"], "default", signer.public_key_b64)
    event = load("assistant_tools/set_disposition.json")
    assert handler.lambda_handler(event, CONTEXT)["statusCode"] == 401
    response = handler.lambda_handler(resign(event, TEST_SEED), CONTEXT)
    assert response["statusCode"] == 200, response["body"]
    assert json.loads(response["body"]) == {"ok": True, "result": "recorded", "disposition": "interested"}


def test_dialing_engine_samples(aws, moto_stack, monkeypatch):
    """The dispatcher (schedule and kick), dialer and reaper samples, through the real handlers."""
    from tests.integration.conftest import load_handler

    monkeypatch.setenv("DISPATCH_LOOP_SECONDS", "0.5")
    monkeypatch.setenv("DIALS_QUEUE_URL", moto_stack.physical["DialsQueue"])
    monkeypatch.setenv("DISPATCH_QUEUE_URL", moto_stack.physical["DispatchQueue"])
    dispatcher = load_handler("dispatcher")
    dispatcher.dispatcher.cache_clear()
    dispatcher.dispatch_queue.cache_clear()
    assert "ticks" in dispatcher.lambda_handler(load("dispatcher/schedule.json"), CONTEXT)
    assert dispatcher.lambda_handler(load("dispatcher/kick.json"), CONTEXT) == {"batchItemFailures": []}
    dialer = load_handler("dialer")
    dialer.dialer.cache_clear()
    assert dialer.lambda_handler(load("dialer/dial_jobs.json"), CONTEXT) == {"batchItemFailures": []}
    reaper = load_handler("reaper")
    reaper.reaper.cache_clear()
    assert isinstance(reaper.lambda_handler(load("reaper/schedule.json"), CONTEXT), dict)


def test_scheduled_events_sample_answers_for_the_authorizers_tenant(aws, moto_stack):
    from tests.integration.conftest import load_handler

    handler = load_handler("scheduled_events")
    response = handler.lambda_handler(load("scheduled_events/list_scheduled_events.json"), CONTEXT)
    assert response["statusCode"] == 404, response["body"]
    assert json.loads(response["body"])["error"] == "not_found"


def test_transcript_samples(aws, moto_stack):
    """The transcripts consumer's samples (a job for a call this stack never saw: nothing to do;
    a poison record fails alone) and the transcript route's sample (the sample call has none: 404)."""
    from tests.integration.conftest import load_handler

    transcripts = load_handler("transcripts")
    transcripts.fetcher.cache_clear()
    assert transcripts.lambda_handler(load("transcripts/transcript_job.json"), CONTEXT) == {
        "batchItemFailures": []
    }
    result = transcripts.lambda_handler(load("transcripts/batch_with_poison.json"), CONTEXT)
    assert result == {"batchItemFailures": [{"itemIdentifier": "msg-poison"}]}
    listed = aws["s3"].list_objects_v2(
        Bucket=moto_stack.physical["TranscriptBucket"], Prefix="tenants/default/"
    )
    assert listed.get("KeyCount") == 0

    analytics = load_handler("analytics_api")
    analytics._tables.cache_clear()
    response = analytics.lambda_handler(load("analytics_api/get_call_transcript.json"), CONTEXT)
    assert response["statusCode"] == 404, response["body"]
    # Not found, or found without a transcript (when the processor's sample created the call).
    assert json.loads(response["body"])["message"].startswith(
        "call v3:TEST-fake-call-control-id-0000000000000000000001 "
    )


def test_insight_group_samples_enqueue_then_land_on_the_call(
    intake_handler, processor_handler, aws, moto_stack
):
    from dialer.adapters.secrets import INSIGHTS_TOKEN, TenantSecrets
    from tests.support.aws import PARAM_PREFIX

    TenantSecrets(PARAM_PREFIX, client=aws["ssm"]).put("default", INSIGHTS_TOKEN, "sample-insights-token")
    # The intake sample carries the tenant's insights token (the group webhook may be unsigned).
    assert (
        intake_handler.lambda_handler(load("webhook_intake/insight_group_webhook.json"), CONTEXT)[
            "statusCode"
        ]
        == 200
    )
    [queued] = drain(aws["sqs"], moto_stack.events_queue_url)
    assert json.loads(queued["Body"])["event_id"].startswith("insights:")
    # The processor sample: the conversation's call event, then the group webhook joined through it.
    result = processor_handler.lambda_handler(load("event_processor/insight_group_webhook.json"), CONTEXT)
    assert result == {"batchItemFailures": []}
    item = CallsTable(moto_stack.table_name, client=aws["dynamodb"]).get_call_item(
        "default", "v3:TEST-fake-call-control-id-0000000000000000000002"
    )
    assert item["insights"]["disposition"] == "callback_requested"
    assert item["insights"]["callback_at"] == "2026-12-08T15:00:00"


def test_campaigns_api_samples_answer_for_the_authorizers_tenant(aws, moto_stack):
    from tests.integration.conftest import load_handler

    handler = load_handler("campaigns_api")
    listed = handler.lambda_handler(load("campaigns_api/list_campaigns.json"), CONTEXT)
    assert listed["statusCode"] == 200, listed["body"]
    assert isinstance(json.loads(listed["body"])["data"], list)
    # The sample lead does not exist: a 404 (the empty note is no note, never a 503)
    callback = handler.lambda_handler(load("campaigns_api/post_lead_callback.json"), CONTEXT)
    assert callback["statusCode"] == 404, callback["body"]
    assert json.loads(callback["body"])["error"] == "not_found"


def test_lead_import_sample_skips_what_is_not_an_import_and_fails_only_the_poison(aws, moto_stack):
    from tests.integration.conftest import load_handler

    handler = load_handler("lead_import")
    handler.import_processor.cache_clear()
    result = handler.lambda_handler(load("lead_import/batch_with_poison.json"), CONTEXT)
    assert result == {"batchItemFailures": [{"itemIdentifier": "msg-poison"}]}

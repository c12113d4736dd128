"""Transcripts end to end in-process: the simulator plays a call out, its webhooks go through the
real event processor (moto, resources from template.yaml), which hands the ended conversation to
the real transcripts consumer; that fetches the messages from the simulator into S3, and the real
analytics API serves them to the call's tenant only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import httpx
import pytest

from local.simulator import AccountConfig, Simulator, SimulatorConfig, WebhookReceiver
from local.simulator.testing import dial_body, events_for
from tests.integration.conftest import load_handler
from tests.support.aws import PARAM_PREFIX, LambdaContextStub, MotoStack, drain, sqs_event
from tests.support.management import rest_event

TENANT = "transcript-co"
OTHER = "other-co"
KEEPS = "+15550007001"
FORGETS = "+15550007002"
CONTEXT = LambdaContextStub()


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    """A simulator whose two callees answer and talk (fast: a conversation plays in ~0.1 s)."""
    receiver = WebhookReceiver(public_keys=[]).start()
    config = SimulatorConfig(
        accounts=(AccountConfig(api_key="KEY_TRANSCRIPTS", webhook_url=receiver.url + "/t"),),
        time_scale=0.001,
        number_scenarios={KEEPS: "human", FORGETS: "human"},
        tool_calls=False,
    )
    simulator = Simulator(config).start()
    receiver.public_keys.append(simulator.public_key_for(simulator.api_key))
    simulator.receiver = receiver  # type: ignore[attr-defined]
    yield simulator
    simulator.stop()
    receiver.stop()


@pytest.fixture
def stack(
    aws: dict[str, Any], moto_stack: MotoStack, sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> MotoStack:
    """The tenant's Telnyx key in SSM, Telnyx = the simulator, empty transcript queue."""
    from dialer.settings import get_settings

    monkeypatch.setenv("TELNYX_BASE_URL", sim.base_url)
    get_settings.cache_clear()
    aws["ssm"].put_parameter(
        Name=f"{PARAM_PREFIX}/tenants/{TENANT}/telnyx_api_key",
        Value=sim.api_key,
        Type="SecureString",
        Overwrite=True,
    )
    drain(aws["sqs"], moto_stack.physical["TranscriptsQueue"])
    return moto_stack


def play_call(sim: Simulator, to: str, *, data_retention: bool) -> tuple[str, list[dict[str, Any]]]:
    """Create an assistant (retention on or off), dial ``to`` with it, wait for the playout; the
    call control id and the call's webhooks."""
    with httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Bearer {sim.api_key}"}) as api:
        assistant = api.post(
            "/ai/assistants",
            json={"name": "T", "instructions": "i", "privacy_settings": {"data_retention": data_retention}},
        ).json()
        ccid = api.post("/calls", json=dial_body(to, assistant={"id": assistant["id"]})).json()["data"][
            "call_control_id"
        ]
    assert sim.wait_idle(10)
    return ccid, events_for(sim.receiver, ccid)  # type: ignore[attr-defined]


def deliver(processor: ModuleType, events: list[dict[str, Any]]) -> None:
    """Feed webhooks to the event processor as the intake would have enqueued them."""
    from dialer.domain.webhook_message import WebhookMessage

    messages = []
    for event in events:
        body = json.dumps(event)
        message = WebhookMessage(
            tenant_id=TENANT,
            event_id=event["data"]["id"],
            event_type=event["data"]["event_type"],
            content_type="application/json",
            received_at="2026-11-30T00:00:00Z",
            signed_at=0,
            body=body,
            body_bytes=len(body),
        )
        messages.append({"Body": message.to_json()})
    for i in range(0, len(messages), 10):
        assert processor.lambda_handler(sqs_event(messages[i : i + 10]), CONTEXT) == {"batchItemFailures": []}


def run_jobs(aws: dict[str, Any], stack: MotoStack) -> list[dict[str, Any]]:
    """Hand what is on the transcripts queue to the transcripts function; the jobs it ran."""
    jobs = drain(aws["sqs"], stack.physical["TranscriptsQueue"])
    if jobs:
        assert transcripts_handler().lambda_handler(sqs_event(jobs), CONTEXT) == {"batchItemFailures": []}
    return jobs


def transcripts_handler() -> ModuleType:
    module = load_handler("transcripts")
    module.fetcher.cache_clear()
    return module


def get_transcript(tenant: str, call_id: str) -> tuple[int, Any]:
    """GET /calls/{call_id}/transcript through the analytics function, as tenant ``tenant``."""
    module = load_handler("analytics_api")
    module._tables.cache_clear()
    event = rest_event(
        "GET",
        f"/calls/{call_id}/transcript",
        "/calls/{call_id}/transcript",
        {"call_id": call_id},
        authorizer={"tenant_id": tenant, "principalId": tenant},
    )
    out = module.lambda_handler(event, CONTEXT)
    return out["statusCode"], json.loads(out["body"])


def stored_keys(aws: dict[str, Any], stack: MotoStack, tenant: str) -> list[str]:
    listed = aws["s3"].list_objects_v2(Bucket=stack.physical["TranscriptBucket"], Prefix=f"tenants/{tenant}/")
    return [o["Key"] for o in listed.get("Contents", [])]


def call_item(stack: MotoStack, call_id: str) -> dict[str, Any]:
    from dialer.adapters.calls_table import CallsTable

    item = CallsTable(stack.table_name).get_call_item(TENANT, call_id)
    assert item is not None
    return item


def test_an_ended_conversation_is_fetched_once_stored_under_the_tenant_and_served(
    stack: MotoStack, aws: dict[str, Any], sim: Simulator, processor_handler: ModuleType
) -> None:
    # GIVEN a call whose assistant keeps data, played out by Telnyx (the simulator)
    ccid, events = play_call(sim, KEEPS, data_retention=True)
    with httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Bearer {sim.api_key}"}) as api:
        conversation_id = next(
            e["data"]["payload"]["conversation_id"]
            for e in events
            if e["data"]["event_type"] == "call.conversation.ended"
        )
        upstream = api.get(f"/ai/conversations/{conversation_id}/messages").json()["data"]
    assert len(upstream) >= 2

    # WHEN its webhooks are processed and the job runs
    deliver(processor_handler, events)
    jobs = run_jobs(aws, stack)

    # THEN exactly one job was sent, and one object holds the messages, oldest first
    assert len(jobs) == 1
    key = f"tenants/{TENANT}/transcripts/{ccid}.json"
    assert stored_keys(aws, stack, TENANT) == [key]
    first = aws["s3"].get_object(Bucket=stack.physical["TranscriptBucket"], Key=key)["Body"].read()
    document = json.loads(first)
    assert document["conversation_id"] == conversation_id
    assert [m["text"] for m in document["messages"]] == [m["text"] for m in reversed(upstream)]
    times = [m["created_at"] for m in document["messages"]]
    assert times == sorted(times)
    # AND the call links to it
    call = call_item(stack, ccid)
    assert (call["transcript_status"], call["transcript_key"]) == ("stored", key)
    assert int(call["transcript_messages"]) == len(upstream)

    # WHEN Telnyx redelivers every webhook of the call
    deliver(processor_handler, events)
    # THEN no new job is sent (the call has its transcript)
    assert drain(aws["sqs"], stack.physical["TranscriptsQueue"]) == []

    # WHEN the job runs again after a crash between the object's write and the call's link
    aws["dynamodb"].update_item(
        TableName=stack.table_name,
        Key={"pk": {"S": f"T#{TENANT}#CALL#{ccid}"}, "sk": {"S": "CALL"}},
        UpdateExpression="REMOVE transcript_status, transcript_key, transcript_messages",
    )
    aws["sqs"].send_message(QueueUrl=stack.physical["TranscriptsQueue"], MessageBody=jobs[0]["Body"])
    run_jobs(aws, stack)
    # THEN it overwrote the same key with the same bytes and linked it again: nothing duplicated
    assert stored_keys(aws, stack, TENANT) == [key]
    again = aws["s3"].get_object(Bucket=stack.physical["TranscriptBucket"], Key=key)["Body"].read()
    assert again == first
    assert call_item(stack, ccid)["transcript_key"] == key

    # AND a job for a call already settled does nothing
    aws["sqs"].send_message(QueueUrl=stack.physical["TranscriptsQueue"], MessageBody=jobs[0]["Body"])
    run_jobs(aws, stack)
    assert stored_keys(aws, stack, TENANT) == [key]

    # AND the API serves it to the tenant, oldest first
    status, body = get_transcript(TENANT, ccid)
    assert status == 200, body
    assert body["call_id"] == ccid
    assert body["conversation_id"] == conversation_id
    assert [m["text"] for m in body["messages"]] == [m["text"] for m in reversed(upstream)]
    assert {m["role"] for m in body["messages"]} >= {"assistant", "user"}

    # AND another tenant asking for the same call id gets a 404 that names the call
    status, body = get_transcript(OTHER, ccid)
    assert status == 404
    assert body["message"] == f"call {ccid} not found"
    assert stored_keys(aws, stack, OTHER) == []


def test_an_assistant_that_keeps_no_data_gets_no_transcript(
    stack: MotoStack, aws: dict[str, Any], sim: Simulator, processor_handler: ModuleType
) -> None:
    # GIVEN a call whose assistant does not retain data
    ccid, events = play_call(sim, FORGETS, data_retention=False)

    # WHEN its webhooks are processed and the job runs
    deliver(processor_handler, events)
    assert len(run_jobs(aws, stack)) == 1

    # THEN nothing is stored for the call, and the call says why
    assert f"tenants/{TENANT}/transcripts/{ccid}.json" not in stored_keys(aws, stack, TENANT)
    call = call_item(stack, ccid)
    assert call["transcript_status"] == "not_kept"
    assert "transcript_key" not in call
    # AND the API answers 404, saying the call exists but has no transcript, and why
    status, body = get_transcript(TENANT, ccid)
    assert status == 404
    assert (
        body["message"] == f"call {ccid} has no transcript (the assistant does not retain conversation data)"
    )


def test_unknown_call_is_404(stack: MotoStack) -> None:
    status, body = get_transcript(TENANT, "v3:no-such-call")
    assert (status, body["message"]) == (404, "call v3:no-such-call not found")


def cli_api(tenant: str) -> Any:
    """The CLI's API client for ``tenant`` (a fresh API key), over the real authorizer and
    functions in-process (the transport plays API Gateway)."""
    import boto3

    from dialer.adapters.secrets import TenantSecrets
    from dialer.adapters.tenants_table import TenantsTable
    from dialer.services.tenants import TenantAdmin
    from dialer.settings import get_settings
    from dialer_cli.api import Api
    from dialer_cli.config import Config
    from tests.support.management import InProcessApi

    admin = TenantAdmin(
        TenantsTable(get_settings().table_name, client=boto3.client("dynamodb")),
        TenantSecrets(PARAM_PREFIX, client=boto3.client("ssm")),
    )
    if admin.table.get_tenant(tenant) is None:
        admin.create_tenant(tenant)
    key = admin.issue_api_key(tenant, "cli").plaintext
    authorizer = load_handler("authorizer")
    authorizer.authenticator.cache_clear()
    api = InProcessApi(authorizer, load_handler("assistants_api"))

    def gateway(request: httpx.Request) -> httpx.Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ") or None
        answer = api.request(request.method, request.url.raw_path.decode(), token=token)
        return httpx.Response(answer.status, json=answer.body, headers={"x-amzn-requestid": "local"})

    return Api(Config("https://api.invalid", key, "test", "test"), transport=httpx.MockTransport(gateway))


def test_cli_calls_show_prints_the_transcript_or_why_there_is_none(
    stack: MotoStack, aws: dict[str, Any], sim: Simulator, processor_handler: ModuleType
) -> None:
    from dialer_cli import calls as cli

    # GIVEN a call with a transcript and one whose assistant keeps no data
    kept, kept_events = play_call(sim, KEEPS, data_retention=True)
    forgot, forgot_events = play_call(sim, FORGETS, data_retention=False)
    deliver(processor_handler, kept_events + forgot_events)
    assert len(run_jobs(aws, stack)) == 2
    api = cli_api(TENANT)

    # WHEN the CLI reads them
    transcript, why = cli.transcript_of(api, kept)
    with cli.out.capture() as shown:
        cli.print_transcript(transcript, why)
    none, reason = cli.transcript_of(api, forgot)

    # THEN the first prints every message, oldest first, with who said it
    assert why is None
    lines = shown.get().splitlines()
    assert len(lines) == len(transcript["messages"]) >= 2
    assert lines[0].split(" ", 1)[1].startswith(f"{transcript['messages'][0]['role']}: ")
    # AND the second says why it has none (the API's reason)
    assert none is None
    assert reason == f"call {forgot} has no transcript (the assistant does not retain conversation data)"


def test_messages_not_there_yet_are_asked_for_again_by_a_delayed_job(
    stack: MotoStack, aws: dict[str, Any], sim: Simulator, processor_handler: ModuleType
) -> None:
    # GIVEN an ended conversation whose messages Telnyx has not written yet
    ccid, events = play_call(sim, KEEPS, data_retention=True)
    conversation_id = next(
        e["data"]["payload"]["conversation_id"]
        for e in events
        if e["data"]["event_type"] == "call.conversation.ended"
    )
    account = sim.account(sim.api_key)
    with account.lock:
        written, account.messages[conversation_id] = account.messages[conversation_id], []
    queue = stack.physical["TranscriptsQueue"]
    try:
        # WHEN the job runs
        deliver(processor_handler, events)
        assert len(run_jobs(aws, stack)) == 1
        # THEN nothing is stored or linked, and the record did not fail (no Lambda error): a
        # second ask waits on the queue, delayed
        assert f"tenants/{TENANT}/transcripts/{ccid}.json" not in stored_keys(aws, stack, TENANT)
        assert "transcript_status" not in call_item(stack, ccid)
        counts = aws["sqs"].get_queue_attributes(
            QueueUrl=queue,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"],
        )["Attributes"]
        assert (counts["ApproximateNumberOfMessages"], counts["ApproximateNumberOfMessagesDelayed"]) == (
            "0",
            "1",
        )
    finally:
        aws["sqs"].purge_queue(QueueUrl=queue)
        with account.lock:
            account.messages[conversation_id] = written

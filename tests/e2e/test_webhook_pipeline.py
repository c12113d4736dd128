"""The webhook pipeline end to end on the local stack: signed HTTP → intake → SQS → processor → DynamoDB.

Every shared Telnyx fixture is posted three times in shuffled order, as Telnyx retries and
reorders; each event must be applied exactly once and the call must end in the right state.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any

import httpx
import pytest

from dialer.adapters.calls_table import receipt_tag
from tests.support.signing import fixture_paths, load_fixture, new_signer

TENANT = "e2e"
CALL = "v3:TEST-fake-call-control-id-0000000000000000000001"


@pytest.fixture(scope="module")
def signer(local_stack):
    key = new_signer(seed=11)
    local_stack.seed_tenant(TENANT, key.public_key_b64)
    return key


@pytest.fixture(scope="module")
def ddb(local_stack):
    return local_stack.boto3_client("dynamodb"), local_stack.resources["StateTable"]


def webhook_url(local_stack, tenant: str = TENANT) -> str:
    return f"{local_stack.api_url}/webhooks/telnyx/{tenant}"


def get(ddb, pk: str, sk: str) -> dict[str, Any] | None:
    client, table = ddb
    return client.get_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True).get(
        "Item"
    )


def wait_for(predicate, timeout: float = 90.0, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def tenant_receipts(ddb, tenant: str) -> list[dict[str, Any]]:
    client, table = ddb
    items, kwargs = [], {"TableName": table}
    while True:
        page = client.scan(**kwargs)
        items += [
            i for i in page["Items"] if i["sk"]["S"] == "RECEIPT" and i["pk"]["S"].startswith(f"T#{tenant}#")
        ]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_every_fixture_three_times_shuffled_is_applied_once(local_stack, signer, ddb):
    # GIVEN every shared fixture, delivered three times in a random order
    bodies = [p.read_bytes() for p in fixture_paths()]
    ids = {json.loads(b)["data"]["id"] for b in bodies}
    deliveries = bodies * 3
    random.Random(2026).shuffle(deliveries)
    # WHEN Telnyx posts them (each delivery signed when sent, as Telnyx does on retries)
    with httpx.Client(timeout=30) as http:
        for raw in deliveries:
            response = http.post(webhook_url(local_stack), content=raw, headers=signer.headers(raw))
            assert response.status_code == 200, response.text

    # THEN every event is recorded exactly once, and nothing else is: a call's events on the call
    # record (the tags of its ``receipts``), the others as receipt items
    def recorded() -> list[str]:
        call = get(ddb, f"T#{TENANT}#CALL#{CALL}", "CALL") or {}
        items = [receipt_tag(r["event_id"]["S"]) for r in tenant_receipts(ddb, TENANT)]
        return sorted(call.get("receipts", {}).get("SS", []) + items)

    wait_for(lambda: len(recorded()) >= len(ids))
    time.sleep(1.0)  # let any straggling duplicate finish; it must not record anything again
    assert recorded() == sorted(receipt_tag(i) for i in ids)
    # AND the call ends as the richest facts say: answered by a human, 116 s, normal clearing
    call = get(ddb, f"T#{TENANT}#CALL#{CALL}", "CALL")
    assert call["state"]["S"] == "ended"
    assert call["outcome"]["S"] == "answered_human"
    assert call["hangup_cause"]["S"] == "normal_clearing"
    assert int(call["duration_s"]["N"]) == 116
    # AND each call event changed the record exactly once (the version counts applications):
    # the lifecycle and every AI event (conversation, insights, cost) land on the call record;
    # assistant.initialization only gets a receipt item
    on_the_record = {
        "call.initiated",
        "call.answered",
        "call.hangup",
        "call.machine.detection.ended",
        "call.machine.premium.detection.ended",
        "call.machine.premium.greeting.ended",
        "call.conversation.created",
        "call.conversation.ended",
        "call.conversation.start_failed",
        "call.conversation_insights.generated",
        "call.cost",
    }
    docs = [json.loads(b) for b in bodies]
    applied = {
        d["data"]["id"]
        for d in docs
        if d["data"]["event_type"] in on_the_record and d["data"]["payload"].get("call_control_id") == CALL
    }
    assert len(applied) == 13  # every fixture but assistant.initialization (and its response)
    assert sorted(call["receipts"]["SS"]) == sorted(receipt_tag(i) for i in applied)
    assert int(call["version"]["N"]) == len(applied)
    # AND nothing was parked in the dead-letter queue
    sqs = local_stack.boto3_client("sqs")
    dlq = sqs.get_queue_attributes(
        QueueUrl=local_stack.resources["EventsDeadLetterQueue"],
        AttributeNames=["ApproximateNumberOfMessages"],
    )
    assert dlq["Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_one_mib_body_becomes_a_call_record(local_stack, signer, ddb):
    # GIVEN a conversation.ended with a long history (over 1 MiB) for a new call
    doc = load_fixture("call.conversation.ended")
    doc["data"]["id"] = "e2e-big-1"
    doc["data"]["payload"]["call_control_id"] = "v3:e2e-big-call"
    doc["data"]["payload"]["messages"] = [{"role": "user", "content": "y" * 1000}] * 1100
    raw = json.dumps(doc).encode()
    assert len(raw) > 1024 * 1024
    hangup = load_fixture("call.hangup")
    hangup["data"]["id"] = "e2e-big-hangup"
    hangup["data"]["payload"]["call_control_id"] = "v3:e2e-big-call"
    hangup_raw = json.dumps(hangup).encode()
    # WHEN both are posted
    for body in (raw, hangup_raw):
        response = httpx.post(
            webhook_url(local_stack), content=body, headers=signer.headers(body), timeout=60
        )
        assert response.status_code == 200, response.text
    # THEN the large one went through the claim check and was applied (it is in the call's
    # receipts), and so was the hangup
    call = wait_for(
        lambda: (
            (c := get(ddb, f"T#{TENANT}#CALL#v3:e2e-big-call", "CALL"))
            and len(c.get("receipts", {}).get("SS", [])) == 2
            and c
        )
    )
    assert receipt_tag("e2e-big-1") in call["receipts"]["SS"]
    assert call["state"]["S"] == "ended"
    assert call["conversation"]["M"]  # the conversation's facts are on it, not its 1 MiB of messages
    assert int(call["version"]["N"]) == 2


@pytest.mark.parametrize("case", ["unsigned", "tampered", "stale", "unknown tenant"])
def test_unverifiable_webhooks_get_401_and_leave_no_trace(local_stack, signer, ddb, case):
    doc = load_fixture("call.answered")
    doc["data"]["id"] = f"e2e-reject-{case.replace(' ', '-')}"
    doc["data"]["payload"]["call_control_id"] = f"v3:e2e-reject-{case.replace(' ', '-')}"
    raw = json.dumps(doc).encode()
    headers, tenant, body = signer.headers(raw), TENANT, raw
    if case == "unsigned":
        headers = {"content-type": "application/json"}
    elif case == "tampered":
        body = raw.replace(b"answered", b"answeree")
    elif case == "stale":
        headers = signer.headers(raw, timestamp=int(time.time()) - 600)
    else:
        tenant = "no-such-tenant"
    response = httpx.post(webhook_url(local_stack, tenant), content=body, headers=headers, timeout=30)
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized", "message": "signature could not be verified"}
    time.sleep(1.5)  # had anything been enqueued, the processor would have applied it by now
    assert get(ddb, f"T#{TENANT}#EVENT#{doc['data']['id']}", "RECEIPT") is None  # nor a receipt item
    assert get(ddb, f"T#{TENANT}#CALL#{doc['data']['payload']['call_control_id']}", "CALL") is None


def test_texml_form_callback_end_to_end(local_stack, signer, ddb):
    from urllib.parse import urlencode

    raw = urlencode(
        {
            "CallSid": "v3:e2e-texml-1",
            "CallStatus": "busy",
            "From": "+15550000100",
            "To": "+15550000200",
            "Timestamp": "2026-11-24 15:00:05.000000Z",
        }
    ).encode()
    headers = signer.headers(raw, content_type="application/x-www-form-urlencoded")
    assert httpx.post(webhook_url(local_stack), content=raw, headers=headers, timeout=30).status_code == 200
    call = wait_for(lambda: get(ddb, f"T#{TENANT}#CALL#v3:e2e-texml-1", "CALL"))
    assert (call["state"]["S"], call["outcome"]["S"]) == ("ended", "busy")


def test_insight_group_webhook_joins_its_call_through_the_conversation(local_stack, signer, ddb):
    # GIVEN the tenant's insights token in SSM, where the stack reads it
    [parameter] = [p for p in local_stack.seed_tenant(TENANT, signer.public_key_b64) if "/tenants/" in p][:1]
    prefix = parameter.rsplit("/tenants/", 1)[0]
    local_stack.boto3_client("ssm").put_parameter(
        Name=f"{prefix}/tenants/{TENANT}/insights_token",
        Value="e2e-token",
        Type="SecureString",
        Overwrite=True,
    )
    # AND a call whose conversation the stack has seen (call.conversation.created)
    created = load_fixture("call.conversation.created")
    created["data"]["id"] = "e2e-insights-conv-created"
    created["data"]["payload"].update(call_control_id="v3:e2e-insights", conversation_id="conv-e2e-insights")
    raw = json.dumps(created).encode()
    assert (
        httpx.post(webhook_url(local_stack), content=raw, headers=signer.headers(raw), timeout=30).status_code
        == 200
    )
    wait_for(lambda: get(ddb, f"T#{TENANT}#CONV#conv-e2e-insights", "CONV"))
    body = json.dumps(
        {
            "event_type": "conversation.insights.completed",
            "conversation_id": "conv-e2e-insights",
            "insight_group_id": "grp-e2e",
            "insights": [
                {
                    "insight_id": "i-1",
                    "insight_name": "disposition",
                    "result": '{"disposition": "not_interested"}',
                }
            ],
        }
    ).encode()
    url = f"{webhook_url(local_stack)}/insights"
    # WHEN the group webhook arrives with a wrong token, then with the tenant's
    wrong = httpx.post(
        url, params={"token": "nope"}, content=body, headers={"content-type": "application/json"}
    )
    assert wrong.status_code == 401
    right = httpx.post(
        url, params={"token": "e2e-token"}, content=body, headers={"content-type": "application/json"}
    )
    assert right.status_code == 200, right.text
    assert right.json()["event_id"] == "insights:conv-e2e-insights:grp-e2e"
    # THEN its conclusion lands on the conversation's call
    call = wait_for(
        lambda: (c := get(ddb, f"T#{TENANT}#CALL#v3:e2e-insights", "CALL")) and "insights" in c and c
    )
    assert call["insights"]["M"]["disposition"]["S"] == "not_interested"

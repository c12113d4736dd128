"""event_processor in-process against moto: exactly-once effects, claim checks, partial failures, crashes."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dialer.adapters.calls_table import ApplyResult, CallsTable, EventReceipt
from dialer.domain.calls import facts_from_event
from dialer.domain.webhook_message import WebhookMessage
from dialer.services.processing import EventProcessor
from tests.integration.conftest import TENANT
from tests.support.aws import LambdaContextStub, drain, sqs_event
from tests.support.signing import fixture_paths, load_fixture

CONTEXT = LambdaContextStub()
CALL = "v3:TEST-fake-call-control-id-0000000000000000000001"


def message_for(doc: dict[str, Any], *, tenant: str = TENANT) -> dict[str, str]:
    raw = json.dumps(doc)
    msg = WebhookMessage(
        tenant_id=tenant,
        event_id=doc["data"]["id"],
        event_type=doc["data"]["event_type"],
        content_type="application/json",
        received_at="2026-11-24T15:00:00.000000Z",
        signed_at=0,
        body=raw,
        body_bytes=len(raw),
    )
    return {"Body": msg.to_json()}


def with_call(doc: dict[str, Any], call_control_id: str) -> dict[str, Any]:
    doc = json.loads(json.dumps(doc))
    doc["data"]["id"] = f"{doc['data']['id']}-{call_control_id}"
    doc["data"]["payload"]["call_control_id"] = call_control_id
    return doc


def call_item(aws, moto_stack, call_control_id: str, tenant: str = TENANT) -> dict[str, Any] | None:
    table = CallsTable(moto_stack.table_name, client=aws["dynamodb"])
    return table.get_call_item(tenant, call_control_id)


def receipts_for(aws, moto_stack, call_control_id: str) -> list[str]:
    """The call's applied events (the tags in its ``receipts``) and any receipt item naming it."""
    items = aws["dynamodb"].scan(TableName=moto_stack.table_name)["Items"]
    on_call = [
        tag
        for i in items
        if i["sk"]["S"] == "CALL" and i.get("call_control_id", {}).get("S") == call_control_id
        for tag in i.get("receipts", {}).get("SS", [])
    ]
    return on_call + [
        i["event_id"]["S"]
        for i in items
        if i["sk"]["S"] == "RECEIPT" and i.get("call_control_id", {}).get("S") == call_control_id
    ]


def run(handler, messages: list[dict[str, str]]) -> dict:
    return handler.lambda_handler(sqs_event(messages), CONTEXT)


def test_a_full_call_ends_answered_human(processor_handler, aws, moto_stack):
    call = "v3:full-call-1"
    docs = [with_call(json.loads(p.read_text()), call) for p in fixture_paths()]
    result = run(processor_handler, [message_for(d) for d in docs])
    assert result == {"batchItemFailures": []}
    item = call_item(aws, moto_stack, call)
    assert item["state"] == "ended"
    assert item["outcome"] == "answered_human"
    assert item["duration_s"] == 116
    assert item["to"] == "+15550000200"
    assert len(receipts_for(aws, moto_stack, call)) == len(docs)


def test_duplicates_and_shuffles_apply_once(processor_handler, aws, moto_stack):
    # GIVEN each event of a call delivered three times in a shuffled order
    call = "v3:dup-call-1"
    names = [
        "call.initiated",
        "call.answered",
        "call.machine.premium.detection.ended",
        "call.hangup--user_busy",
    ]
    docs = [with_call(load_fixture(n), call) for n in names]
    delivered = [message_for(d) for d in docs] * 3
    random.Random(4).shuffle(delivered)
    # WHEN processed in batches of 10, as SQS would
    for start in range(0, len(delivered), 10):
        assert run(processor_handler, delivered[start : start + 10]) == {"batchItemFailures": []}
    # THEN one receipt per event, and the same state as in-order single delivery
    assert len(receipts_for(aws, moto_stack, call)) == len(docs)
    item = call_item(aws, moto_stack, call)
    assert (item["state"], item["outcome"]) == ("ended", "answered_human")
    assert item["version"] == len(docs)  # each event changed the record exactly once


def test_events_without_a_call_effect_are_recorded(processor_handler, aws, moto_stack):
    doc = {"data": {"id": "evt-unknown-1", "event_type": "call.brand_new", "payload": {}}}
    assert run(processor_handler, [message_for(doc)]) == {"batchItemFailures": []}
    got = aws["dynamodb"].get_item(
        TableName=moto_stack.table_name,
        Key={"pk": {"S": f"T#{TENANT}#EVENT#evt-unknown-1"}, "sk": {"S": "RECEIPT"}},
    )
    assert got["Item"]["event_type"]["S"] == "call.brand_new"
    assert int(got["Item"]["expires_at"]["N"]) > 0


def _form_message(body: str) -> dict[str, str]:
    """A TeXML callback (form-encoded) as the intake enqueues it."""
    msg = WebhookMessage(
        tenant_id=TENANT,
        event_id="",
        event_type="",
        content_type="application/x-www-form-urlencoded",
        received_at="2026-11-24T15:00:00.000000Z",
        signed_at=0,
        body=body,
        body_bytes=len(body),
    )
    return {"Body": msg.to_json()}


@pytest.mark.parametrize(
    "message",
    [
        message_for({"data": {"id": "evt-unknown-twice", "event_type": "call.brand_new", "payload": {}}}),
        _form_message("AccountSid=acct-1&Digits=5&From=%2B15550000100"),
    ],
    ids=["unknown-type", "texml-callback-without-call"],
)
def test_an_event_without_a_call_effect_delivered_twice_is_recorded_once(aws, moto_stack, message):
    # GIVEN an event that changes no call (an unknown type; a TeXML callback with no CallSid)
    processor = EventProcessor(calls=CallsTable(moto_stack.table_name, client=aws["dynamodb"]), payloads=None)  # type: ignore[arg-type]
    # WHEN SQS delivers it twice
    first = processor.process(message["Body"])
    second = processor.process(message["Body"])
    # THEN the first delivery records its receipt and the second is a duplicate
    assert first.call_control_id is None
    assert (first.result, second.result) == (ApplyResult.RECORDED, ApplyResult.DUPLICATE)
    receipts = [
        i
        for i in aws["dynamodb"].scan(TableName=moto_stack.table_name)["Items"]
        if i["sk"]["S"] == "RECEIPT" and i["event_id"]["S"] == first.event_id
    ]
    assert len(receipts) == 1


def test_claim_checked_body_is_read_back_from_s3(processor_handler, aws, moto_stack):
    call = "v3:claim-1"
    doc = with_call(load_fixture("call.hangup"), call)
    raw = json.dumps(doc).encode()
    aws["s3"].put_object(Bucket=moto_stack.bucket, Key="webhooks/acme/x/big-1", Body=raw)
    msg = WebhookMessage(
        tenant_id=TENANT,
        event_id=doc["data"]["id"],
        event_type="call.hangup",
        content_type="application/json",
        received_at="",
        signed_at=0,
        body_key="webhooks/acme/x/big-1",
        body_bytes=len(raw),
    )
    assert run(processor_handler, [{"Body": msg.to_json()}]) == {"batchItemFailures": []}
    assert call_item(aws, moto_stack, call)["state"] == "ended"


def test_one_bad_record_never_fails_its_batch_mates(processor_handler, aws, moto_stack):
    call = "v3:batch-1"
    good = [message_for(with_call(load_fixture(n), call)) for n in ("call.initiated", "call.answered")]
    poison = {"Body": "this is not a webhook message", "MessageId": "poison"}
    missing = {
        "Body": WebhookMessage(
            tenant_id=TENANT,
            event_id="gone",
            event_type="call.hangup",
            content_type="application/json",
            received_at="",
            signed_at=0,
            body_key="webhooks/none/missing",
        ).to_json(),
        "MessageId": "missing-blob",
    }
    event = sqs_event([good[0], poison, missing, good[1]])
    result = processor_handler.lambda_handler(event, CONTEXT)
    failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
    assert failed == {"poison", "missing-blob"}
    assert call_item(aws, moto_stack, call)["state"] == "answered"


def test_tenants_never_share_call_records(processor_handler, aws, moto_stack):
    call = "v3:shared-id"
    run(processor_handler, [message_for(with_call(load_fixture("call.initiated"), call), tenant="globex")])
    assert call_item(aws, moto_stack, call, tenant=TENANT) is None
    assert call_item(aws, moto_stack, call, tenant="globex")["state"] == "initiated"


class CrashingClient:
    """A DynamoDB client that dies on the first commit, as a Lambda timeout or crash would."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.crashes_left = 1

    def update_item(self, **kwargs: Any) -> Any:
        if self.crashes_left:
            self.crashes_left -= 1
            raise ConnectionResetError("simulated crash before the commit")
        return self.inner.update_item(**kwargs)

    def transact_write_items(self, **kwargs: Any) -> Any:
        if self.crashes_left:
            self.crashes_left -= 1
            raise ConnectionResetError("simulated crash before the commit")
        return self.inner.transact_write_items(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_crash_before_the_commit_loses_nothing(aws, moto_stack):
    # GIVEN a processor that crashes mid-way through applying an event
    call = "v3:crash-1"
    body = message_for(with_call(load_fixture("call.hangup"), call))["Body"]
    crashing = CrashingClient(aws["dynamodb"])
    processor = EventProcessor(calls=CallsTable(moto_stack.table_name, client=crashing), payloads=None)  # type: ignore[arg-type]
    # WHEN it crashes, no receipt exists that would make the redelivery a "duplicate"
    with pytest.raises(ConnectionResetError):
        processor.process(body)
    assert receipts_for(aws, moto_stack, call) == []
    assert call_item(aws, moto_stack, call) is None
    # THEN the SQS redelivery applies the effect exactly once
    assert processor.process(body).result is ApplyResult.APPLIED
    assert processor.process(body).result is ApplyResult.DUPLICATE
    assert call_item(aws, moto_stack, call)["outcome"] == "no_answer"
    assert len(receipts_for(aws, moto_stack, call)) == 1


class RacingClient:
    """Lets another event of the same call commit (from another process: its own CallsTable)
    just before our write, once: our write is made against a guess of the call that is stale."""

    def __init__(self, inner: Any, table: str, rival: EventReceipt, rival_facts: list) -> None:
        self.inner, self.rival, self.rival_facts, self.table = inner, rival, rival_facts, table
        self.raced = False
        self.operations: list[str] = []

    def update_item(self, **kwargs: Any) -> Any:
        self._race()
        self.operations.append("update_item")
        return self.inner.update_item(**kwargs)

    def transact_write_items(self, **kwargs: Any) -> Any:
        self._race()
        self.operations.append("transact_write_items")
        return self.inner.transact_write_items(**kwargs)

    def _race(self) -> None:
        if not self.raced:
            self.raced = True
            CallsTable(self.table, client=self.inner).apply_event(self.rival, self.rival_facts)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_concurrent_events_of_one_call_both_apply(aws, moto_stack):
    call = "v3:race-1"
    answered = with_call(load_fixture("call.answered"), call)
    rival = EventReceipt(TENANT, "rival-initiated", "call.initiated", call, "", None)
    init_payload = {**load_fixture("call.initiated")["data"]["payload"], "call_control_id": call}
    rival_facts = facts_from_event("call.initiated", "rival-initiated", None, init_payload)
    client = RacingClient(aws["dynamodb"], moto_stack.table_name, rival, rival_facts)
    processor = EventProcessor(calls=CallsTable(moto_stack.table_name, client=client), payloads=None)  # type: ignore[arg-type]
    assert processor.process(message_for(answered)["Body"]).result is ApplyResult.APPLIED
    item = call_item(aws, moto_stack, call)
    assert set(item["facts"]) == {"initiated", "answered"}
    assert item["version"] == 2
    # the stale guess was refused, merged again onto the item the refusal returned (no read)
    assert client.operations == ["update_item", "update_item"]
    assert len(receipts_for(aws, moto_stack, call)) == 2


class DuplicateFirstClient:
    """Lets a concurrent delivery of the SAME event (another process) commit just before our
    write (the window two Lambda instances handling one SQS message twice share), and records
    what we ask of DynamoDB."""

    def __init__(self, inner: Any, table: str, body: str) -> None:
        self.inner, self.table, self.body = inner, table, body
        self.raced = False
        self.operations: list[str] = []

    def update_item(self, **kwargs: Any) -> Any:
        if not self.raced:
            self.raced = True
            rival = EventProcessor(calls=CallsTable(self.table, client=self.inner), payloads=None)  # type: ignore[arg-type]
            assert rival.process(self.body).result is ApplyResult.APPLIED
        self.operations.append("update_item")
        return self.inner.update_item(**kwargs)

    def get_item(self, **kwargs: Any) -> Any:
        self.operations.append("get_item")
        return self.inner.get_item(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_duplicate_delivery_racing_the_first_changes_nothing(aws, moto_stack):
    # GIVEN one event delivered twice at once: the other delivery commits just before this one's
    # write, which knows no version of the call (so only the receipts can tell)
    call = "v3:dup-race-1"
    body = message_for(with_call(load_fixture("call.answered"), call))["Body"]
    client = DuplicateFirstClient(aws["dynamodb"], moto_stack.table_name, body)
    processor = EventProcessor(calls=CallsTable(moto_stack.table_name, client=client), payloads=None)  # type: ignore[arg-type]
    # WHEN this delivery applies it
    result = processor.process(body).result
    # THEN the receipts' condition tells: a duplicate, applied once (no second version, so no
    # second lead effect or total), answered from the item the refusal returned (no read)
    assert client.raced
    assert result is ApplyResult.DUPLICATE
    assert client.operations == ["update_item"]
    assert call_item(aws, moto_stack, call)["version"] == 1
    assert len(receipts_for(aws, moto_stack, call)) == 1


def test_other_writers_attributes_survive(processor_handler, aws, moto_stack):
    # GIVEN the dialer created the call record with its own attributes before any event
    call = "v3:dialer-made-1"
    aws["dynamodb"].put_item(
        TableName=moto_stack.table_name,
        Item={"pk": {"S": f"T#{TENANT}#CALL#{call}"}, "sk": {"S": "CALL"}, "lead_id": {"S": "lead-1"}},
    )
    # WHEN events arrive
    run(
        processor_handler,
        [message_for(with_call(load_fixture(n), call)) for n in ("call.initiated", "call.hangup")],
    )
    # THEN our attributes are added and the dialer's kept
    item = call_item(aws, moto_stack, call)
    assert item["lead_id"] == "lead-1"
    assert item["state"] == "ended"


def test_dlq_is_wired_in_the_template(aws, moto_stack):
    attrs = aws["sqs"].get_queue_attributes(QueueUrl=moto_stack.events_queue_url, AttributeNames=["All"])[
        "Attributes"
    ]
    redrive = json.loads(attrs["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith("EventsDeadLetterQueue")
    assert int(redrive["maxReceiveCount"]) == 5
    assert drain(aws["sqs"], moto_stack.dlq_url) == []


def test_client_errors_become_retryable_failures(aws, moto_stack):
    table = CallsTable("no-such-table", client=aws["dynamodb"])
    from dialer.errors import TemporarilyUnavailable

    with pytest.raises(TemporarilyUnavailable) as err:
        table.get_call(TENANT, "x")
    assert isinstance(err.value.__cause__, ClientError)

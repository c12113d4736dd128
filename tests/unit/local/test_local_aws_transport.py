"""The local stack's AWS transport (``local/runtime_plugins/local_aws_transport.py``) gives a
caller what botocore's own HTTP stack gives: the same answers and the same errors (codes,
messages, cancellation reasons, a failed condition's item, binary values; SQS's query-compatible
error codes, failed batch entries, binary message attributes) for every DynamoDB item operation
and SQS message operation the product uses, against the local moto server the runner starts. It
is loaded the way the runner loads it (botocore's client plugin variable), and it does answer
where it claims to (a transport that always fell back would pass the comparison too)."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local import moto_wire
from tests.unit.local.test_local_moto_wire import run_operations

REPO = Path(__file__).resolve().parents[3]
PLUGINS = REPO / "local" / "runtime_plugins"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """The moto server as the runner starts it (it stops when its stdin closes)."""
    server = subprocess.Popen(
        [sys.executable, "-m", "local.moto_server"],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    assert server.stdin is not None
    line = server.stdout.readline()
    assert line.startswith("MOTO_READY "), line
    try:
        yield f"http://127.0.0.1:{line.split()[1]}"
    finally:
        server.stdin.close()
        server.wait(timeout=10)


def _client(
    endpoint: str, monkeypatch: pytest.MonkeyPatch, *, plugin: bool, service: str = "dynamodb"
) -> Any:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    if plugin:
        monkeypatch.syspath_prepend(str(PLUGINS))
        monkeypatch.setenv("BOTOCORE_EXPERIMENTAL__PLUGINS", "local_aws=local_aws_transport")
    else:
        monkeypatch.delenv("BOTOCORE_EXPERIMENTAL__PLUGINS", raising=False)
    return boto3.Session().client(service, region_name="us-east-1", endpoint_url=endpoint)


def _answered(client: Any) -> Counter[str]:
    """Counts, by operation, the answers the transport gave itself (not botocore's ``AWSResponse``)."""
    answered: Counter[str] = Counter()

    def seen(http_response: Any, model: Any, **_: Any) -> None:
        if type(http_response).__name__ == "Answer":
            answered[model.name] += 1

    client.meta.events.register(f"after-call.{client.meta.service_model.service_name}", seen)
    return answered


def _run(ddb: Any) -> tuple[list[tuple[str, Any]], Counter[str]]:
    """Every step's answer (metadata dropped) or error; and which operations the transport
    answered itself."""
    answered = _answered(ddb)
    return run_operations(ddb), answered


def test_every_answer_and_error_is_the_same_as_botocores_own(
    endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    vanilla, untouched = _run(_client(endpoint, monkeypatch, plugin=False))
    fast, answered = _run(_client(endpoint, monkeypatch, plugin=True))
    assert untouched == Counter()
    assert [name for name, _ in fast] == [name for name, _ in vanilla]
    for (name, want), (_, got) in zip(vanilla, fast, strict=True):
        assert got == want, name
    # the comparison saw what it is meant to: binary values, errors with their modelled fields
    answers = dict(vanilla)
    assert answers["get binary"]["Item"]["b"] == {"B": b"\x00\xff"}
    assert answers["transaction canceled"][1]["CancellationReasons"][1]["Code"] == "ConditionalCheckFailed"
    assert answers["update, condition fails, old item returned"][1]["Item"]["pk"] == {"S": "a"}
    assert answers["unknown table"][1]["Error"]["Code"] == "ResourceNotFoundException"
    # and the transport answered every item operation (errors included), the table calls not
    from local_aws_transport import DATA_PLANE

    assert DATA_PLANE == moto_wire.ITEM_OPERATIONS  # one list of item operations, kept in step
    for operation in sorted(DATA_PLANE):
        assert answered[operation] >= 1, operation
    assert answered["CreateTable"] == 0
    assert answered["DeleteTable"] == 0


def _sqs_operations(sqs: Any, queue: str) -> list[tuple[str, Any]]:
    """The SQS steps the stack takes (sends, batches, receives, visibility, deletes), with the
    ways they fail, on a fresh queue: each answer (metadata dropped) or error."""
    url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    seen: list[tuple[str, Any]] = []

    def step(name: str, call: Any) -> Any:
        try:
            answer = call()
            answer.pop("ResponseMetadata", None)
        except ClientError as error:
            answer = dict(error.response)
            answer.pop("ResponseMetadata", None)
            answer = ("error", answer)
        seen.append((name, answer))
        return answer

    text = {"DataType": "String", "StringValue": "call.hangup"}
    step("send", lambda: sqs.send_message(QueueUrl=url, MessageBody='{"a": 1}'))
    step(
        "send, attributes",
        lambda: sqs.send_message(QueueUrl=url, MessageBody="b", MessageAttributes={"t": text}),
    )
    step(
        "send batch",
        lambda: sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": "1", "MessageBody": "c"}, {"Id": "2", "MessageBody": "d", "DelaySeconds": 0}],
        ),
    )
    step(
        "send batch, ids not distinct",
        lambda: sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": "1", "MessageBody": "e"}, {"Id": "1", "MessageBody": "f"}]
        ),
    )
    got = step(
        "receive",
        lambda: sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
            MessageAttributeNames=["All"],
        ),
    )
    handles = [m["ReceiptHandle"] for m in got.get("Messages", [])] if isinstance(got, dict) else []
    assert len(handles) == 4, got
    step(
        "change visibility",
        lambda: sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handles[0], VisibilityTimeout=0),
    )
    step(
        "change visibility batch",
        lambda: sqs.change_message_visibility_batch(
            QueueUrl=url, Entries=[{"Id": "x", "ReceiptHandle": handles[1], "VisibilityTimeout": 0}]
        ),
    )
    step("delete", lambda: sqs.delete_message(QueueUrl=url, ReceiptHandle=handles[2]))
    step(
        "delete batch, one handle unknown",
        lambda: sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": "ok", "ReceiptHandle": handles[3]},
                {"Id": "bad", "ReceiptHandle": "not-a-handle"},
            ],
        ),
    )
    step(
        "receive again", lambda: sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    )
    step(
        "send, binary attribute",
        lambda: sqs.send_message(
            QueueUrl=url,
            MessageBody="g",
            MessageAttributes={"b": {"DataType": "Binary", "BinaryValue": b"\x00\xff"}},
        ),
    )
    step(
        "receive binary",
        lambda: sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=1
        ),
    )
    step("receive, empty", lambda: sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0))
    missing = url.rsplit("/", 1)[0] + "/no-such-queue"
    step("send, no such queue", lambda: sqs.send_message(QueueUrl=missing, MessageBody="h"))
    step("receive, no such queue", lambda: sqs.receive_message(QueueUrl=missing))
    sqs.delete_queue(QueueUrl=url)
    return seen


def _anonymous(value: Any, queue: str) -> Any:
    """An answer with what differs between two runs by design (ids, receipt handles, the queue's
    name) replaced by placeholders."""
    if isinstance(value, dict):
        return {
            k: "<id>" if k in ("MessageId", "ReceiptHandle") else _anonymous(v, queue)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(_anonymous(v, queue) for v in value)
    return value.replace(queue, "<queue>") if isinstance(value, str) else value


def test_every_sqs_answer_and_error_is_the_same_as_botocores_own(
    endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = _client(endpoint, monkeypatch, plugin=False, service="sqs")
    untouched = _answered(plain)
    vanilla = _anonymous(_sqs_operations(plain, "vanilla"), "vanilla")
    fast_client = _client(endpoint, monkeypatch, plugin=True, service="sqs")
    answered = _answered(fast_client)
    fast = _anonymous(_sqs_operations(fast_client, "fast"), "fast")
    assert untouched == Counter()
    assert [name for name, _ in fast] == [name for name, _ in vanilla]
    for (name, want), (_, got) in zip(vanilla, fast, strict=True):
        assert got == want, name
    # the comparison saw what it is meant to: attributes, binary values, failed entries, errors
    answers = dict(vanilla)
    assert answers["receive"]["Messages"][1]["MessageAttributes"]["t"]["StringValue"] == "call.hangup"
    assert answers["receive binary"]["Messages"][0]["MessageAttributes"]["b"]["BinaryValue"] == b"\x00\xff"
    assert answers["delete batch, one handle unknown"]["Failed"][0]["Id"] == "bad"
    assert (
        answers["send batch, ids not distinct"][1]["Error"]["Code"]
        == "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"
    )
    assert answers["send, no such queue"][1]["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    # and the transport answered every message operation (errors included), the queue calls not
    from local_aws_transport import MESSAGES

    for operation in sorted(MESSAGES):
        assert answered[operation] >= 1, operation
    assert answered["CreateQueue"] == 0
    assert answered["DeleteQueue"] == 0

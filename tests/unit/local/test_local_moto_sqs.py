"""moto's SQS receives the same messages with ``local.moto_sqs.lean_sqs`` as without it, an
expired message included, and the shim does not rebuild the queue's attributes per message; the
queue's counts and a send read the clock once, and count what moto alone counts."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.utils import unix_time_millis
from moto.sqs.models import Queue, SQSBackend, sqs_backends

from local.moto_sqs import _QUEUE_COUNTS, lean_sqs

# moto's own check, as imported (collection runs before any fixture: a session fixture of another
# suite may hold the shim installed while this module's tests run in the same worker).
MOTO_CHECK = SQSBackend.is_message_valid_based_on_retention_period
MOTO_COUNTS = {name: Queue.__dict__[name] for name in _QUEUE_COUNTS}


@contextlib.contextmanager
def _moto_alone() -> Iterator[None]:
    installed = SQSBackend.is_message_valid_based_on_retention_period
    installed_counts = {name: Queue.__dict__[name] for name in _QUEUE_COUNTS}
    SQSBackend.is_message_valid_based_on_retention_period = MOTO_CHECK  # type: ignore[method-assign]
    for name, value in MOTO_COUNTS.items():
        setattr(Queue, name, value)
    try:
        yield
    finally:
        SQSBackend.is_message_valid_based_on_retention_period = installed  # type: ignore[method-assign]
        for name, value in installed_counts.items():
            setattr(Queue, name, value)


def _session(shimmed: bool) -> tuple[list[list[str]], int]:
    """Receives from a queue with an expired message among fresh ones; also how many times the
    queue's attribute map was built by the receives."""
    built = 0
    original = SQSBackend.get_queue_attributes

    def counting(self: Any, queue_name: str, attribute_names: list[str]) -> Any:
        nonlocal built
        built += 1
        return original(self, queue_name, attribute_names)

    with mock_aws(), lean_sqs() if shimmed else _moto_alone():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="q", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
        for n in range(6):
            sqs.send_message(QueueUrl=url, MessageBody=f"m{n}")
        queue = sqs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].queues["q"]
        queue._messages[3].sent_timestamp = int(unix_time_millis()) - 61_000  # past its retention
        SQSBackend.get_queue_attributes = counting  # type: ignore[method-assign]
        try:
            got = []
            for _ in range(3):
                answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
                got.append([m["Body"] for m in answer.get("Messages", [])])
        finally:
            SQSBackend.get_queue_attributes = original  # type: ignore[method-assign]
    return got, built


def test_receives_are_the_same_as_moto_alone() -> None:
    plain, built_plain = _session(shimmed=False)
    lean, built_lean = _session(shimmed=True)
    assert lean == plain
    assert plain[0] == ["m0", "m1", "m2"]  # moto stops a receive at an expired message
    assert built_plain > 0  # moto alone rebuilt the attributes for every message it handed out
    assert built_lean == 0


@pytest.mark.parametrize(("age_ms", "valid"), [(59_000, True), (61_000, False)])
def test_the_retention_rule_is_moto_s(age_ms: int, valid: bool) -> None:
    with mock_aws(), lean_sqs():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="r", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="x")
        backend = sqs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
        message = backend.queues["r"]._messages[0]
        message.sent_timestamp = int(unix_time_millis()) - age_ms
        assert backend.is_message_valid_based_on_retention_period("r", message) is valid


COUNTED = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


def _counts(shimmed: bool) -> tuple[list[dict[str, str]], int]:
    """A queue's three counts as messages are sent, delayed, received (in flight) and deleted; and
    how many clock readings one more send made."""
    from moto.sqs import models

    readings = 0
    clock = models.unix_time_millis

    def counting_clock(*args: Any) -> float:
        nonlocal readings
        readings += 1
        return clock(*args)

    seen: list[dict[str, str]] = []
    with mock_aws(), lean_sqs() if shimmed else _moto_alone():
        sqs = boto3.client("sqs", region_name="us-east-1")
        # A queue of its own: a session fixture of another suite may hold moto (and its queues) open.
        url = sqs.create_queue(QueueName=f"counts-{uuid.uuid4().hex}")["QueueUrl"]

        def look() -> None:
            got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(COUNTED))["Attributes"]
            seen.append({name: got[name] for name in COUNTED})

        for n in range(40):
            sqs.send_message(QueueUrl=url, MessageBody=f"m{n}")
        look()
        sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
        look()
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)
        look()
        sqs.delete_message(QueueUrl=url, ReceiptHandle=answer["Messages"][0]["ReceiptHandle"])
        look()
        models.unix_time_millis = counting_clock  # type: ignore[assignment]
        try:
            sqs.send_message(QueueUrl=url, MessageBody="one more")
        finally:
            models.unix_time_millis = clock  # type: ignore[assignment]
    return seen, readings


def test_a_queues_counts_are_moto_s_and_a_send_does_not_read_the_clock_per_message() -> None:
    plain, plain_readings = _counts(shimmed=False)
    lean, lean_readings = _counts(shimmed=True)
    assert lean == plain
    assert plain[-1] == {
        "ApproximateNumberOfMessages": "30",
        "ApproximateNumberOfMessagesNotVisible": "9",
        "ApproximateNumberOfMessagesDelayed": "1",
    }
    assert plain_readings > 80  # moto alone: twice per queued message, for a flag the send reads
    assert lean_readings < 10

"""moto's SQS receives the same messages with ``local.moto_sqs.lean_sqs`` as without it, an
expired message included, and the shim does not rebuild the queue's attributes per message."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.utils import unix_time_millis
from moto.sqs.models import SQSBackend, sqs_backends

from local.moto_sqs import lean_sqs

# moto's own check, as imported (collection runs before any fixture: a session fixture of another
# suite may hold the shim installed while this module's tests run in the same worker).
MOTO_CHECK = SQSBackend.is_message_valid_based_on_retention_period


@contextlib.contextmanager
def _moto_alone() -> Iterator[None]:
    installed = SQSBackend.is_message_valid_based_on_retention_period
    SQSBackend.is_message_valid_based_on_retention_period = MOTO_CHECK  # type: ignore[method-assign]
    try:
        yield
    finally:
        SQSBackend.is_message_valid_based_on_retention_period = installed  # type: ignore[method-assign]


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
